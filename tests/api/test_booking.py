"""Booking rules at work over HTTP: a plan proposed, rescheduled or accepted against every participant's
rules; a refusing rule is 409 `booking_rule` and appends nothing, a warning rule lets it through with
`warnings`; either names the rule and its owner only as far as the owner shows it to the caller.

The plans are tests/plans.py's: a three-hour date from Friday 4 December 2026, 19:00 in Berlin."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.errors import BookingRefused
from domain.policy import UNSHOWN_BREACH
from tests import plans
from tests.api.conftest import Api, Person, assert_problem, in_app

ME = "/api/me/availability"
P = "/api/plans"
QUIET_FRIDAYS = {"weekdays": ["friday"], "mode": "refuse"}


async def rules(api: Api, who: Person, **set_: Any) -> None:
    await api.call("PUT", ME, who, 200, json={"time_zone": "Europe/Berlin", "rules": set_})


async def partners(api: Api, *names: str) -> list[Person]:
    """People, the first a partner of each of the others."""
    people = [await api.person(n) for n in names]
    for other in people[1:]:
        await api.link(people[0], other)
    return people


def saturday(hour: int) -> dict[str, str]:
    """Times for a plan on Saturday 5 December 2026 at `hour` UTC, two hours long."""
    start = plans.START + timedelta(days=1, hours=hour - plans.START.hour)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}


async def refused(api: Api, method: str, path: str, who: Person, body: dict[str, Any]) -> dict[str, Any]:
    before = await api.position()
    r = await api.client.request(method, path, headers=who.headers, json=body)
    problem = assert_problem(r, 409, code="booking_rule")
    assert await api.position() == before, "a refused plan appends nothing"
    return problem


async def test_a_rule_shown_to_partners_refuses_a_plan_naming_the_rule_and_its_owner(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    await rules(api, mina, quiet_nights={**QUIET_FRIDAYS, "shown_to": "partners"})
    problem = await refused(api, "POST", P, theo, plans.plan_body(mina))
    assert mina.name in problem["detail"] and "Friday nights are kept free" in problem["detail"]
    [breach] = problem["current"]["breaches"]
    assert breach["rule"] == "quiet_nights" and breach["label"] == "Quiet nights" and breach["mode"] == "refuse"
    assert breach["owner"]["person_id"] == mina.sid
    assert await api.call("GET", P, theo, 200) == [] and await api.call("GET", P, mina, 200) == []
    # Saturday afternoon is free.
    made = await api.call("POST", P, theo, 201, json=plans.plan_body(mina, **saturday(13)))
    assert made["warnings"] == [] and made["status"] == "proposed"


async def test_a_rule_shown_to_nobody_refuses_without_saying_which_or_whose(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    await rules(api, mina, quiet_nights=QUIET_FRIDAYS)
    problem = await refused(api, "POST", P, theo, plans.plan_body(mina))
    assert problem["detail"] == UNSHOWN_BREACH
    assert problem["current"]["breaches"] == [{"mode": "refuse", "detail": UNSHOWN_BREACH, "rule": None, "label": None, "owner": None}]
    text = str(problem).lower()
    assert "quiet" not in text and "friday" not in text and mina.sid not in text and mina.name.lower() not in text


async def test_a_warning_rule_lets_the_plan_through_with_the_warning(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await partners(api, "mina", "theo", "sam")
    await rules(api, mina, plans_per_week={"limit": 1, "mode": "warn", "shown_to": "partners"})
    first = await api.call("POST", P, theo, 201, json=plans.plan_body(mina, **saturday(13)))
    assert first["warnings"] == []
    second = await api.call("POST", P, sam, 201, json=plans.plan_body(mina, **saturday(9)))
    [warning] = second["warnings"]
    assert warning["rule"] == "plans_per_week" and warning["mode"] == "warn" and warning["owner"]["person_id"] == mina.sid
    # The warning is for the answer only: the plan itself reads as any other.
    assert "warnings" not in await api.call("GET", f"{P}/{second['plan_id']}", sam, 200)
    # A call weighs on no week.
    call = await api.call("POST", P, sam, 201, json=plans.plan_body(mina, kind="call", **saturday(16)))
    assert call["warnings"] == []


async def test_a_reschedule_is_checked_like_a_proposal(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    made = await api.call("POST", P, theo, 201, json=plans.plan_body(mina, **saturday(13)))
    await rules(api, mina, quiet_nights={**QUIET_FRIDAYS, "shown_to": "partners"})
    friday = {k: v for k, v in plans.plan_body().items() if k in ("start", "end", "time_zone")}
    problem = await refused(api, "POST", f"{P}/{made['plan_id']}/reschedule", theo, friday)
    assert problem["current"]["breaches"][0]["rule"] == "quiet_nights"
    assert (await api.call("GET", f"{P}/{made['plan_id']}", theo, 200))["proposal"] == 1
    moved = await api.call("POST", f"{P}/{made['plan_id']}/reschedule", mina, 200, json={**saturday(15), "time_zone": "Europe/Berlin"})
    assert moved["proposal"] == 2 and moved["warnings"] == []


async def test_accepting_is_checked_too_against_rules_set_since(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    made = await api.call("POST", P, theo, 201, json=plans.plan_body(mina))
    # Theo keeps Friday nights free from now on, and shows it: Mina's acceptance is refused, naming it.
    await rules(api, theo, quiet_nights={**QUIET_FRIDAYS, "shown_to": "partners"})
    problem = await refused(api, "POST", f"{P}/{made['plan_id']}/answer", mina, {"answer": "accepted"})
    assert problem["current"]["breaches"][0]["owner"]["person_id"] == theo.sid
    # Declining is never refused.
    declined = await api.call("POST", f"{P}/{made['plan_id']}/answer", mina, 200, json={"answer": "declined"})
    assert declined["status"] == "declined" and declined["warnings"] == []


async def test_my_own_rule_holds_for_plans_i_propose(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    theo, mina = await partners(api, "theo", "mina")
    await rules(api, theo, quiet_nights=QUIET_FRIDAYS)
    problem = await refused(api, "POST", P, theo, plans.plan_body(mina))
    assert problem["detail"].startswith("your rule: ") and problem["current"]["breaches"][0]["rule"] == "quiet_nights"


async def test_notice_before_an_overnight_counts_from_the_proposal(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    # The plans start on 5 December 2026; far more than 10 days' notice is asked.
    await rules(api, mina, overnight_notice={"hours": 24 * 60, "mode": "warn", "shown_to": "partners"})
    overnight = plans.plan_body(mina, kind="overnight", **saturday(13))
    made = await api.call("POST", P, theo, 201, json=overnight)
    assert [w["rule"] for w in made["warnings"]] == ["overnight_notice"]
    accepted = await api.call("POST", f"{P}/{made['plan_id']}/answer", mina, 200, json={"answer": "accepted"})
    assert [w["rule"] for w in accepted["warnings"]] == ["overnight_notice"] and accepted["status"] == "accepted"
    date = await api.call("POST", P, theo, 201, json=plans.plan_body(mina, **saturday(9)))
    assert date["warnings"] == []


async def test_a_metamours_rule_is_never_named_to_the_other_invitee(client: AsyncTestClient[Litestar]) -> None:
    """Jo proposes a date to his partners Mina and Sam (metamours to each other). Sam shows his partners
    his quiet Fridays: Jo hears it named; Mina, answering, only that the time does not work for someone."""
    api = Api(client)
    jo, mina, sam = await partners(api, "jo", "mina", "sam")
    made = await api.call("POST", P, jo, 201, json=plans.plan_body(mina, sam))
    await rules(api, sam, quiet_nights={**QUIET_FRIDAYS, "mode": "warn", "shown_to": "partners"})
    again = await api.call("POST", f"{P}/{made['plan_id']}/reschedule", jo, 200, json={k: v for k, v in plans.plan_body().items() if k in ("start", "end", "time_zone")})
    assert [(w["rule"], w["owner"]["person_id"]) for w in again["warnings"]] == [("quiet_nights", sam.sid)]
    answered = await api.call("POST", f"{P}/{made['plan_id']}/answer", mina, 200, json={"answer": "accepted"})
    assert answered["warnings"] == [{"mode": "warn", "detail": UNSHOWN_BREACH, "rule": None, "label": None, "owner": None}]
    assert sam.sid not in str(answered["warnings"])


async def test_a_repeat_answers_with_the_same_warnings_and_appends_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    await rules(api, mina, quiet_nights={**QUIET_FRIDAYS, "mode": "warn", "shown_to": "partners"})
    body = plans.plan_body(mina)
    first = await client.post(P, headers=theo.with_key("friday-1"), json=body)
    position = await api.position()
    again = await client.post(P, headers=theo.with_key("friday-1"), json=body)
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    assert [w["rule"] for w in again.json()["warnings"]] == ["quiet_nights"]
    assert await api.position() == position


async def test_someone_who_blocked_the_proposer_is_checked_as_anyone(client: AsyncTestClient[Litestar]) -> None:
    """The plan never reaches someone who blocked its proposer, and the proposer cannot tell: their
    rules answer exactly as if there were no block."""
    api = Api(client)
    theo, mina, ex = await partners(api, "theo", "mina", "ex")
    for who in (mina, ex):
        await rules(api, who, quiet_nights=QUIET_FRIDAYS)
    await api.call("POST", "/api/me/blocks", ex, 201, json={"person_id": theo.sid})
    answers = [await refused(api, "POST", P, theo, plans.plan_body(who)) for who in (mina, ex)]
    assert [a["detail"] for a in answers] == [UNSHOWN_BREACH] * 2
    unshown = {"mode": "refuse", "detail": UNSHOWN_BREACH, "rule": None, "label": None, "owner": None}
    assert [a["current"]["breaches"] for a in answers] == [[unshown]] * 2


async def test_two_proposals_at_once_cannot_both_pass_a_rule_only_one_may(client: AsyncTestClient[Litestar]) -> None:
    """Theo and Sam each propose Mina a date in the same week, at the same moment, and her rule allows one:
    one is made, the other is judged with it among her plans and refused (booking is held per person).
    The two go to the use case side by side, so each gets as far as it can before the other appends."""
    api = Api(client)
    accord = client.app.state.accord
    mina, theo, sam = await partners(api, "mina", "theo", "sam")
    await rules(api, mina, plans_per_week={"limit": 1, "mode": "refuse", "shown_to": "partners"})
    for week in range(3):
        start = plans.START + timedelta(days=1, weeks=week)

        async def propose(who: Person, start: datetime = start, week: int = week) -> object:
            return await accord.plans.propose(
                who.id, [mina.handle], [], "date", f"{who.name}, week {week}", None,
                start, start + timedelta(hours=2), "Europe/Berlin", None,
            )  # fmt: skip

        async def both() -> list[object]:
            return await asyncio.gather(propose(theo), propose(sam), return_exceptions=True)

        answers = await in_app(client, both)
        refused = [a for a in answers if isinstance(a, BookingRefused)]
        assert len(refused) == 1 and len(answers) == 2, answers
        assert [b.rule for b in refused[0].breaches] == ["plans_per_week"]
        made = [p for p in await api.call("GET", P, mina, 200) if p["title"].endswith(f"week {week}")]
        assert len(made) == 1
