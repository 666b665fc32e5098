"""The calendar: reading a week of a busy network's time, and proposing a plan that booking rules judge.

Mina has `PARTNERS` partners; each of them shows her their other time as
busy, and has a partner of their own with whom they have `PLANS_EACH` plans
in the coming `WEEKS` weeks; Mina has a date with each partner too. So
Mina's calendar over those weeks holds her own plans in full and
`PARTNERS * PLANS_EACH` busy entries, worked out on every read by the one
view function from the plans' times, the links, the availability choices and
the blocks (service/visibility.py `CalendarViews`).

Reads: GET /api/calendar over the weeks, by `CONNECTIONS` connections from
bench/loadgen.py, against GET /api/plans by the same person (her own plans,
the plain list), and GET /api/me, at the same concurrency, in turn.

Proposals: one at a time, a date proposed to a partner who set all four
booking rules (to warn, so each is judged and none refuses), against the
same proposal to a partner with no rules: what judging costs (the per-person
hold, reading every plan appended before, the rules over the owner's weeks).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from domain.network import PartnerLink

from . import procs, profile, seed
from .harness import Context, Figure
from .measure import Load

CONNECTIONS = 8
PARTNERS = 10
PLANS_EACH = 30
WEEKS = 8
RULES = {
    "quiet_nights": {"weekdays": ["sunday"], "mode": "warn"},
    "overnight_notice": {"hours": 48, "mode": "warn"},
    "plans_per_week": {"limit": 40, "mode": "warn"},
    "buffer_after_date": {"hours": 2, "mode": "warn"},
}


async def link(client: httpx.AsyncClient, a: seed.Person, b: seed.Person) -> None:
    await seed.call(client, "POST", "/api/links", a, {"handle": b.handle})
    await seed.call(client, "POST", f"/api/links/{PartnerLink.id_for(a.person_id, b.person_id)}/confirm", b)


def plan(invitee: seed.Person, start: datetime, title: str, hours: int = 2) -> dict:
    return {
        "kind": "date", "title": title, "place": "Somewhere quiet", "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(), "time_zone": "Europe/Berlin", "invitees": [invitee.handle],
    }  # fmt: skip


async def network(client: httpx.AsyncClient, monday: datetime) -> tuple[seed.Person, list[seed.Person]]:
    """Mina, her partners (each showing her busy time), and their plans with partners of their own."""
    mina, *partners = await seed.people(client, "cal", PARTNERS + 1)
    others = await seed.people(client, "calother", PARTNERS)
    for partner, other in zip(partners, others, strict=True):
        await link(client, mina, partner)
        await link(client, partner, other)
        await seed.call(client, "PUT", "/api/me/availability", partner, {
            "time_zone": "Europe/Berlin", "partners": [{"person_id": str(mina.person_id), "shows": "busy"}],
        })  # fmt: skip
    for i, (partner, other) in enumerate(zip(partners, others, strict=True)):
        for n in range(PLANS_EACH):
            start = monday + timedelta(days=(n * WEEKS * 7) // PLANS_EACH, hours=9 + i)
            made = await seed.call(client, "POST", "/api/plans", partner, plan(other, start, f"Plan {n}"))
            await seed.call(client, "POST", f"/api/plans/{made['plan_id']}/answer", other, {"answer": "accepted"})
        start = monday + timedelta(days=i % 7, hours=19)
        await seed.call(client, "POST", "/api/plans", mina, plan(partner, start, f"Date with {partner.handle}"))
    return mina, partners


async def proposals(client: httpx.AsyncClient, by: seed.Person, to: seed.Person, start: datetime, count: int) -> list[float]:
    """Milliseconds per proposal, one at a time, each a week apart from the one before."""
    took = []
    for n in range(count):
        body = plan(to, start + timedelta(days=7 * n), f"Proposal {n}")
        began = time.perf_counter()
        await seed.call(client, "POST", "/api/plans", by, body)
        took.append((time.perf_counter() - began) * 1000)
    return sorted(took)


async def run(ctx: Context) -> list[Figure]:
    seconds, warmup, count = (2.0, 0.5, 15) if ctx.quick else (4.0, 1.0, 40)
    dsn = ctx.server.create_database("bench_calendar")
    server = procs.accord(dsn, ctx.scratch, "accord")
    try:
        await server.wait_http("/health/ready")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        monday = today + timedelta(days=7 - today.weekday())
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            mina, partners = await network(client, monday)
            window = f"from={monday.strftime('%Y-%m-%dT%H:%M:%SZ')}&to={(monday + timedelta(weeks=WEEKS)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            seen = await seed.call(client, "GET", f"/api/calendar?{window}", mina)
            busy = sum(e["sight"] == "busy" for e in seen["entries"])
            ctx.say(f"calendar: {len(seen['entries'])} entries on Mina's calendar, {busy} of them busy time")
        loads = {kind: Load(ctx, server) for kind in ("calendar", "plans", "me")}
        paths = {"calendar": f"/api/calendar?{window}", "plans": "/api/plans", "me": "/api/me"}
        for kind, load in loads.items():
            sampling = await profile.start(ctx, server.pid, f"calendar-{kind}", seconds) if kind == "calendar" else None
            spec = {"kind": "get", "path": paths[kind], "token": mina.token}
            await load.run({"warmup": warmup, "duration": seconds, "connections": [spec] * CONNECTIONS})
            await profile.finish(ctx, sampling, f"calendar-{kind}")
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            ruled, plain = partners[0], partners[1]
            await seed.call(client, "PUT", "/api/me/availability", ruled, {"rules": RULES})
            far = monday + timedelta(weeks=WEEKS + 1, hours=18)
            judged = await proposals(client, mina, ruled, far, count)
            unjudged = await proposals(client, mina, plain, far, count)
    finally:
        server.stop()
        ctx.server.drop_database(dsn)

    n = f"{CONNECTIONS} connections"
    cal = Figure("calendar", f"accord: GET /api/calendar, {WEEKS} weeks, {busy} busy entries of {PARTNERS} partners, {n}",
                 loads["calendar"].rate, "requests/s")  # fmt: skip
    plans = Figure("calendar", f"accord: GET /api/plans (her own {PARTNERS} plans), {n}", loads["plans"].rate, "requests/s")
    me = Figure("calendar", f"accord: GET /api/me, {n}", loads["me"].rate, "requests/s")
    cal.against(plans).against(me)
    c50, c99 = loads["calendar"].latency_figures("calendar", "accord: GET /api/calendar")
    j50 = Figure("calendar", "accord: propose a plan to a partner with four booking rules, p50", procs.percentile(judged, 0.5), "ms")
    u50 = Figure("calendar", "accord: propose a plan to a partner with no rules, p50", procs.percentile(unjudged, 0.5), "ms")
    j99 = Figure("calendar", "accord: propose a plan to a partner with four booking rules, p99", procs.percentile(judged, 0.99), "ms")
    u99 = Figure("calendar", "accord: propose a plan to a partner with no rules, p99", procs.percentile(unjudged, 0.99), "ms")
    j50.against(u50)
    j99.against(u99)
    ctx.note(f"calendar: {loads['calendar'].cpu_note('GET /api/calendar')}")
    return [cal, plans, me, c50, c99, j50, u50, j99, u99]
