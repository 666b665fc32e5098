"""Faults under load, on real PostgreSQL and real `accord serve` processes.

(a) PostgreSQL stops (`pg_ctl stop -m fast`) for about two seconds and starts
again while four clients (two pairs of partners) add clauses to their
agreements, and each pair's first partner follows them live. (b) The service
process is killed with SIGKILL mid-load and started again on the same port.

In both, every client behaves as a careful one: each command has its own
Idempotency-Key, and a 503 or a broken connection (outcome unknown) is retried
with the same key until a 2xx. The accounting afterwards: every command that
got a 2xx is in the log exactly once, at the position its 2xx named, nothing
else is; a repeat of any of them returns the first result; every failure was
a 503 problem+json (never a false 2xx, never a 500); the service recovered by
itself; live clients hold what GET shows and were told of every position, in
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.ops.conftest import Api, FaultPostgres, Follower, Person, Servers, wait_for
from tests.ops.load import Load, verify_live, verify_log, verify_replays

pytestmark = pytest.mark.postgres

#: Load before the fault, length of the PostgreSQL outage, load after recovery (seconds).
BEFORE, OUTAGE, AFTER = 1.0, 2.0, 1.5

#: Agreements per pair of clients (each takes at most 48 of the load's clauses).
AGREEMENTS = 4


async def _world(api: Api) -> tuple[dict[str, Person], list[tuple[Person, list[str]]]]:
    """Two pairs of partners, each pair with its agreements; the first of each pair owns them."""
    people = [await api.person(f"c{i}") for i in range(4)]
    x = [await api.agreement(people[0], f"Spring {n}", people[1]) for n in range(AGREEMENTS)]
    y = [await api.agreement(people[2], f"Summer {n}", people[3]) for n in range(AGREEMENTS)]
    owners = {**{a: people[0] for a in x}, **{a: people[2] for a in y}}
    clients = [(people[0], x), (people[1], x), (people[2], y), (people[3], y)]
    return owners, clients


@contextlib.asynccontextmanager
async def _following(followers: dict[str, Follower]) -> AsyncIterator[dict[str, int]]:
    """The live clients run until the block ends; it gets the position each first synced at (by person id)."""
    tasks = [asyncio.create_task(f.run()) for f in followers.values()]
    try:
        for f in followers.values():
            await asyncio.wait_for(f.synced.wait(), 10)
        yield {a: f.position or 0 for a, f in followers.items()}
    finally:
        await _stop(tasks)


async def _verify(
    api: Api, load: Load, owners: dict[str, Person], followers: dict[str, Follower], since: dict[str, int]
) -> None:
    """The accounting: the log holds exactly what was acknowledged, repeats replay the first answers,
    and each owner's live client holds what GET shows and was told of every position, in order."""
    views = await verify_log(api, load, owners)
    async with httpx.AsyncClient(base_url=load.base_url, timeout=15) as replays:
        await verify_replays(replays, load)
    for agreement_id, owner in owners.items():
        follower = followers[owner.id]
        timeline = await api.timeline(owner, agreement_id)
        await follower.reached(timeline[-1]["position"])
        verify_live(follower, agreement_id, views[agreement_id], timeline, since[owner.id])


async def _ready_status(http: httpx.AsyncClient) -> int:
    try:
        return (await http.get("/health/ready", timeout=2)).status_code
    except httpx.HTTPError:
        return 0


async def _async_eq(awaitable: object, expected: int) -> bool:
    return (await awaitable) == expected  # type: ignore[misc]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_postgres_restart_under_load(running_pg: FaultPostgres, servers: Servers) -> None:
    server = servers.start(running_pg.database())
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        api = Api(http)
        owners, clients = await _world(api)
        followers = {who.id: Follower(server, who) for who in {o.id: o for o in owners.values()}.values()}
        async with _following(followers) as since:
            load = Load(server.url, clients)
            load.start()
            await asyncio.sleep(BEFORE)
            acked_before = len(load.acked)
            halt_seconds = await asyncio.to_thread(running_pg.halt)
            down_at = time.monotonic()

            ready_while_down: list[int] = []
            liveness_while_down: list[int] = []
            while time.monotonic() - down_at < OUTAGE:
                ready_while_down.append(await _ready_status(http))
                with contextlib.suppress(httpx.HTTPError):
                    liveness_while_down.append((await http.get("/health", timeout=2)).status_code)
                await asyncio.sleep(0.2)
            acked_while_down = [c for c in load.acked if c.ack and c.ack.at > down_at]

            start_seconds = await asyncio.to_thread(running_pg.resume)
            up_at = time.monotonic()
            recovery = await wait_for(
                lambda: _async_eq(_ready_status(http), 200), 20, "ready again after PostgreSQL came back", 0.02
            )
            await asyncio.sleep(AFTER)
            await load.finish()
            after_up = sorted(c.ack.at - up_at for c in load.acked if c.ack and c.ack.at > up_at)

            await _verify(api, load, owners, followers, since)

    print(
        f"\nFIGURES pg-restart: {load.summary()}; acked before stop {acked_before}; "
        f"pg stop {halt_seconds:.2f} s, pg start {start_seconds:.2f} s; "
        f"ready again {recovery:.2f} s after PostgreSQL accepted connections; "
        f"first 2xx {after_up[0] if after_up else float('nan'):.2f} s after; "
        f"2xx received while down {len(acked_while_down)} (each checked in the log like the rest); "
        f"/health/ready while down {sorted(set(ready_while_down))}, /health while down {sorted(set(liveness_while_down))}; "
        f"live reconnects {[len(f.closes) for f in followers.values()]}, "
        f"resyncs {[len(f.resyncs) for f in followers.values()]}"
    )
    assert load.problems == [], "\n".join(load.problems[:10])
    tally = load.tally()
    assert tally["503"] > 0, f"no command met the outage; the test proved nothing: {load.summary()}"
    assert set(ready_while_down) <= {503}, f"readiness while PostgreSQL was down: {ready_while_down}"
    # The process kept its read models and live history: resuming clients needed no full resync.
    for follower in followers.values():
        assert len(follower.resyncs) == 1, f"a resync after the first: {follower.closes}"
    assert server.process is not None and server.process.poll() is None, "the service died"
    assert server.unhandled_errors() == [], server.unhandled_errors()[:5]


async def test_sigkill_under_load_loses_no_acknowledged_command(running_pg: FaultPostgres, servers: Servers) -> None:
    server = servers.start(running_pg.database())
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        api = Api(http)
        owners, clients = await _world(api)
        # Live clients come back through a readiness-gated proxy (deploy/k8s): a process still catching up
        # gets none (what it would tell them is test_client_resuming_while_the_restarted_process_catches_up's).
        people = {o.id: o for o in owners.values()}.values()
        followers = {who.id: Follower(server, who, only_when_ready=True) for who in people}
        async with _following(followers) as since:
            load = Load(server.url, clients)
            load.start()
            await asyncio.sleep(BEFORE)
            while load.in_flight < 2:  # kill with requests under way (their outcome unknown to the clients)
                await asyncio.sleep(0.001)
            server.kill()
            killed_at = time.monotonic()
            acked_before_kill = {c.key for c in load.acked if c.ack and c.ack.at < killed_at}
            await asyncio.to_thread(server.start)
            restart = time.monotonic() - killed_at
            await asyncio.sleep(AFTER)
            await load.finish()

            await _verify(api, load, owners, followers, since)
            assert acked_before_kill <= {c.key for c in load.acked}

    unknown = [c for c in load.acked if any(not a.isdigit() for a in c.attempts)]
    replayed = [c for c in unknown if c.ack and c.ack.replayed]
    print(
        f"\nFIGURES sigkill: {load.summary()}; acked before the kill {len(acked_before_kill)}; "
        f"restart to /health {restart:.2f} s; {len(unknown)} commands met the kill "
        f"({len(replayed)} had been recorded and were answered from the record); "
        f"live closes {[f.closes[:3] for f in followers.values()]}, resyncs {[len(f.resyncs) for f in followers.values()]}"
    )
    assert load.problems == [], "\n".join(load.problems[:10])
    assert unknown, f"no command was in flight at the kill; the test proved nothing: {load.summary()}"
    assert server.unhandled_errors() == [], server.unhandled_errors()[:5]


# --------------------------------------------------------------------------
# A client resuming on a process that is still catching up with the log
# --------------------------------------------------------------------------

#: Agreements appended straight to the log (six events each) so a restarted process needs a moment to catch up.
BULK_AGREEMENTS = 3000


async def _append_bulk(dsn: str, agreements: int) -> int:
    """Append valid agreement events directly, as other processes would have; the log's last position."""
    import uuid
    from datetime import datetime, timezone

    from domain.agreement import Agreement
    from service.store import NewEvent
    from service.store.mapper import MsgspecMapper
    from service.store.postgres import PostgresStore

    store = PostgresStore(dsn)
    await store.open()
    try:
        mapper, now, author, batch = MsgspecMapper(), datetime.now(timezone.utc), uuid.uuid4(), []
        for n in range(agreements):
            agreement = Agreement.create(f"elsewhere {n}", author, now)
            for k in range(5):
                agreement.add_clause(author, uuid.uuid4(), "boundaries", f"clause {k}", now)
            for s in map(mapper.to_stored_event, agreement.collect_events()):
                batch.append(NewEvent(s.originator_id, s.originator_version, s.topic, s.state))
            if len(batch) >= 3000:
                await store.append(batch)
                batch = []
        if batch:
            await store.append(batch)
        return await store.max_position()
    finally:
        await store.close()


async def test_client_resuming_while_the_restarted_process_catches_up(running_pg: FaultPostgres, servers: Servers) -> None:
    dsn = running_pg.database()
    server = servers.start(dsn)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        api = Api(http)
        mina = await api.person("mina")
        agreement_id = await api.agreement(mina, "Ours")
        await api.add_clause(mina, agreement_id, "We check in on Sundays.")
        before = Follower(server, mina)
        task = asyncio.create_task(before.run())
        await asyncio.wait_for(before.synced.wait(), 10)
        await _stop([task])
        key = f"agreement:{agreement_id}"
        assert key in before.views

        server.stop()
        await _append_bulk(dsn, BULK_AGREEMENTS)  # written meanwhile by other processes
        started = time.monotonic()
        await asyncio.to_thread(server.start)  # /health answers as soon as the port is open
        health = time.monotonic() - started

        # The client had been following; it resumes from what it saw, as soon as the process answers.
        after = Follower(server, mina)
        after.position, after.views = before.position, dict(before.views)
        task = asyncio.create_task(after.run())
        try:
            await asyncio.wait_for(after.synced.wait(), 15)
            was_ready = (await http.get("/health/ready")).status_code
            ready = await wait_for(
                lambda: _async_eq(_ready_status(http), 200), 30, "ready after catching up", 0.05
            )
            print(
                f"\nFIGURES catch-up: health {health:.2f} s after start, ready {health + ready:.2f} s "
                f"(replaying {BULK_AGREEMENTS * 6} events); /health/ready when the client resumed: {was_ready}; "
                f"resyncs {[(r['position'], len(r['views'])) for r in after.resyncs]}"
            )
            assert after.order_errors == [], after.order_errors
            assert key in after.views, "the resumed client lost the agreement it had been shown"
            assert after.views[key]["clauses"] == before.views[key]["clauses"]
        finally:
            await _stop([task])
