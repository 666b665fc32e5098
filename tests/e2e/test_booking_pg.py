"""Booking rules across two `accord serve` processes on one PostgreSQL: two plans at once, one allowed.

Mina allows one date a week. Theo proposes her one through one process and
Sam another, for the same week, through the other, at the same moment, round
after round: each round exactly one is made and the other is refused with
the rule named, because a plan is judged and appended while no other plan of
its participants is, in any process, and only once the judging process reads
every plan appended before (service/commands/availability.py
`BookingCheck.held`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from tests import plans
from tests.e2e.conftest import Api, Server, Servers

pytestmark = pytest.mark.postgres

ROUNDS = 6


@pytest.fixture
def two(servers: Servers, new_pg_database: Callable[[], str]) -> tuple[Server, Server]:
    url = new_pg_database()
    return servers.start(url), servers.start(url)


async def test_two_proposals_at_once_through_two_processes_never_both_pass_a_rule(two: tuple[Server, Server]) -> None:
    a, b = two
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as on_a, httpx.AsyncClient(base_url=b.url, timeout=30) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        mina, theo, sam = await api_a.person("mina"), await api_a.person("theo"), await api_a.person("sam")
        for partner in (theo, sam):
            await api_a.link(mina, partner)
        rule = {"plans_per_week": {"limit": 1, "mode": "refuse", "shown_to": "partners"}}
        await api_a.call("PUT", "/api/me/availability", mina, 200, json={"time_zone": "Europe/Berlin", "rules": rule})
        await api_b.caught_up(api_a.position)
        for week in range(ROUNDS):
            start = plans.START + timedelta(weeks=week)
            body = plans.plan_body(mina, start=start.isoformat(), end=(start + timedelta(hours=2)).isoformat())
            answers = await asyncio.gather(
                on_a.post("/api/plans", headers=theo.headers, json={**body, "title": f"Theo, week {week}"}),
                on_b.post("/api/plans", headers=sam.headers, json={**body, "title": f"Sam, week {week}"}),
            )
            assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
            refused = next(r for r in answers if r.status_code == 409).json()
            assert refused["type"].endswith("/booking_rule") and refused["current"]["breaches"][0]["rule"] == "plans_per_week"
            made = [p for p in await api_a.call("GET", "/api/plans", mina, 200) if p["title"].endswith(f"week {week}")]
            assert len(made) == 1
