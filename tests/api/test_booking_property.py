"""Booking rules never let a breaking plan slip through, and never name a rule or its owner to someone
the owner does not show it to: a property over generated rules, plans and answers.

Hypothesis chooses, for a proposer and two of their partners (metamours of each other), whether each
keeps Friday nights free and how (refuse or warn; shown to nobody or to partners), which partners are
invited, and whether the plan is on a Friday night or a Saturday afternoon. The proposer proposes, then
each invitee accepts. An oracle written here, independent of domain.policy, says what each answer must
be: refused (409 `booking_rule`) exactly when a refusing rule of a participant is broken, with each
breach named exactly when its owner is the caller, or shows it to partners and is the caller's partner.

SQLite only, one app for the module, fresh people for every example.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.policy import UNSHOWN_BREACH
from service.app import create_app
from tests import plans
from tests.api.conftest import Api, Person, settings_for, wait_until_ready

PROPOSER, FIRST, SECOND = 0, 1, 2
#: Friday 4 December 2026, 19:00 in Berlin: a Friday night; the next afternoon is not.
FRIDAY_NIGHT = plans.START
SATURDAY_AFTERNOON = plans.START + timedelta(hours=19)


@dataclass(frozen=True)
class Rule:
    mode: str
    shown_to: str


@dataclass(frozen=True)
class Case:
    rules: tuple[Rule | None, Rule | None, Rule | None]
    invitees: tuple[int, ...]
    friday: bool


rules = st.none() | st.builds(Rule, st.sampled_from(("refuse", "warn")), st.sampled_from(("nobody", "partners")))
cases = st.builds(
    Case,
    st.tuples(rules, rules, rules),
    st.sampled_from(((FIRST,), (FIRST, SECOND), (SECOND, FIRST))),
    st.booleans(),
)


@pytest.fixture(scope="module")
async def booking_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    path: Path = tmp_path_factory.mktemp("booking") / "accord.db"
    async with AsyncTestClient(create_app(settings_for(f"sqlite:///{path}"))) as client:
        await wait_until_ready(client)
        yield client


def partners(a: int, b: int) -> bool:
    """The proposer is each invitee's partner; the two invitees are metamours."""
    return PROPOSER in (a, b) and a != b


def expected(case: Case, caller: int, modes: tuple[str, ...], people: list[Person]) -> list[dict[str, Any]]:
    """The breaches of `modes` the caller hears of, in participants' order; two unnamed ones read alike, so once."""
    if not case.friday:
        return []
    found: list[dict[str, Any]] = []
    for owner in (PROPOSER, *case.invitees):
        rule = case.rules[owner]
        if rule is None or rule.mode not in modes:
            continue
        if owner == caller or (rule.shown_to == "partners" and partners(owner, caller)):
            view = {"mode": rule.mode, "owner": people[owner].sid, "rule": "quiet_nights"}
        else:
            view = {"mode": rule.mode, "owner": None, "rule": None}
        if view not in found:
            found.append(view)
    return found


def heard(breaches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for b in breaches:
        owner = b["owner"]["person_id"] if b["owner"] else None
        assert (b["rule"] is None) == (owner is None) == (b["detail"] == UNSHOWN_BREACH), b
        found.append({"mode": b["mode"], "owner": owner, "rule": b["rule"]})
    return found


async def answer(api: Api, method: str, path: str, who: Person, body: dict[str, Any], refused: bool) -> list[dict[str, Any]]:
    """What `who` hears: the refusing breaches (nothing appended), or the warnings."""
    before = await api.position()
    r = await api.client.request(method, path, headers=who.headers, json=body)
    if refused:
        assert r.status_code == 409 and r.json()["type"].endswith("/booking_rule"), r.text
        assert await api.position() == before
        return heard(r.json()["current"]["breaches"])
    assert r.status_code in (200, 201), r.text
    return heard(r.json()["warnings"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases)
async def test_a_breaking_plan_never_slips_through_and_no_rule_is_named_to_whom_it_is_not_shown(
    booking_client: AsyncTestClient[Litestar], case: Case
) -> None:
    api = Api(booking_client)
    people = [await api.person(n) for n in ("pia", "ivo", "ida")]
    for invitee in (FIRST, SECOND):
        await api.link(people[PROPOSER], people[invitee])
    for person, rule in zip(people, case.rules, strict=True):
        if rule is not None:
            body = {"time_zone": "Europe/Berlin", "rules": {"quiet_nights": {"weekdays": ["friday"], "mode": rule.mode, "shown_to": rule.shown_to}}}
            await api.call("PUT", "/api/me/availability", person, 200, json=body)
    start = FRIDAY_NIGHT if case.friday else SATURDAY_AFTERNOON
    times = {"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()}
    refused = case.friday and any(
        (rule := case.rules[p]) is not None and rule.mode == "refuse" for p in (PROPOSER, *case.invitees)
    )

    body = plans.plan_body(*(people[i] for i in case.invitees), **times)
    modes = ("refuse",) if refused else ("warn",)
    assert await answer(api, "POST", "/api/plans", people[PROPOSER], body, refused) == expected(case, PROPOSER, modes, people)
    if refused:
        assert await api.call("GET", "/api/plans", people[PROPOSER], 200) == []
        return
    [plan] = await api.call("GET", "/api/plans", people[PROPOSER], 200)
    for invitee in case.invitees:
        path = f"/api/plans/{plan['plan_id']}/answer"
        heard_by = await answer(api, "POST", path, people[invitee], {"answer": "accepted"}, False)
        assert heard_by == expected(case, invitee, ("warn",), people)
