"""Plans over HTTP: propose to live partners, answer, reschedule, cancel, the history, the inbox,
what a link's end and a block do, bad input and conflicts, and what rests in the database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem
from tests.api.test_at_rest import leaked, raw_dump
from tests.plans import START, plan_body

P = "/api/plans"


async def partners(api: Api, *names: str) -> tuple[Person, ...]:
    """The first person and a live partner link from them to each of the others."""
    people = [await api.person(n) for n in names]
    for other in people[1:]:
        await api.link(people[0], other)
    return tuple(people)


async def propose(api: Api, who: Person, *invitees: Person, **overrides: Any) -> dict[str, Any]:
    return await api.call("POST", P, who, 201, json=plan_body(*invitees, **overrides))


def answers(view: dict[str, Any]) -> dict[str, str]:
    return {p["person"]["person_id"]: p["answer"] for p in view["participants"]}


async def test_a_plan_is_accepted_when_every_invitee_accepted(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await partners(api, "mina", "theo", "sam")
    plan = await propose(api, mina, theo, sam)
    assert plan["status"] == "proposed" and plan["my_answer"] == "accepted" and plan["proposal"] == 1
    assert plan["title"] == "Dinner at the harbour" and plan["kind_label"] == "Date"
    assert answers(plan) == {mina.sid: "accepted", theo.sid: "pending", sam.sid: "pending"}
    pid = plan["plan_id"]
    # It waits for each invitee's answer, in their inbox.
    inbox = await api.call("GET", "/api/me/inbox", theo, 200)
    assert [(i["kind"], i["thing_id"]) for i in inbox["items"]] == [("plan", pid)]
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["items"] == []
    view = await api.call("POST", f"{P}/{pid}/answer", theo, 200, json={"answer": "accepted", "proposal": 1})
    assert view["status"] == "proposed"  # nobody is out-voted: Sam has not answered
    view = await api.call("POST", f"{P}/{pid}/answer", sam, 200, json={"answer": "accepted", "note": "yes!"})
    assert view["status"] == "accepted"
    assert [s["step"] for s in view["history"]] == ["proposed", "accepted", "accepted"]
    assert (await api.call("GET", "/api/me/inbox", sam, 200))["items"] == []
    assert [p["plan_id"] for p in await api.call("GET", P, theo, 200)] == [pid]


async def test_rescheduling_is_a_new_proposal_and_cancelling_is_final(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    pid = (await propose(api, mina, theo))["plan_id"]
    await api.call("POST", f"{P}/{pid}/answer", theo, 200, json={"answer": "declined", "note": "work trip"})
    assert (await api.call("GET", f"{P}/{pid}", mina, 200))["status"] == "declined"
    later = START + timedelta(days=1)
    body = {"start": later.isoformat(), "end": (later + timedelta(hours=2)).isoformat(), "time_zone": "Europe/Berlin"}
    view = await api.call("POST", f"{P}/{pid}/reschedule", theo, 200, json={**body, "note": "Saturday?"})
    assert view["status"] == "proposed" and view["proposal"] == 2 and view["proposed_by"]["person_id"] == theo.sid
    assert answers(view) == {mina.sid: "pending", theo.sid: "accepted"}
    # An answer to the first proposal is out of date: 409 with the current one, nothing appended.
    at = await api.position()
    r = await client.post(f"{P}/{pid}/answer", headers=mina.headers, json={"answer": "accepted", "proposal": 1})
    assert assert_problem(r, 409, code="plan_changed")["current"] == {"plan_id": pid, "proposal": 2}
    assert await api.position() == at
    assert (await api.call("POST", f"{P}/{pid}/answer", mina, 200, json={"answer": "accepted"}))["status"] == "accepted"
    view = await api.call("POST", f"{P}/{pid}/cancel", mina, 200, json={"note": "flu"})
    assert view["status"] == "cancelled"
    assert [s["step"] for s in view["history"]] == ["proposed", "declined", "rescheduled", "accepted", "cancelled"]
    assert view["history"][-1]["note"] == "flu"
    r = await client.post(f"{P}/{pid}/answer", headers=theo.headers, json={"answer": "declined"})
    assert assert_problem(r, 409, code="plan_status_forbids")["current"] == {"plan_id": pid, "status": "cancelled"}


async def test_only_participants_see_a_plan(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, jules = await partners(api, "mina", "theo", "jules")
    stranger = await api.person("stranger")
    pid = (await propose(api, mina, theo))["plan_id"]
    random = await client.get(f"{P}/{uuid.uuid4()}", headers=jules.headers)
    for who in (jules, stranger):  # a metamour, and someone with no link at all
        r = await client.get(f"{P}/{pid}", headers=who.headers)
        assert r.status_code == 404 and r.content == random.content
        r = await client.post(f"{P}/{pid}/answer", headers=who.headers, json={"answer": "accepted"})
        assert r.status_code == 404
        assert await api.call("GET", P, who, 200) == []
    assert (await client.get(f"{P}/{pid}")).status_code == 401


async def test_invitees_are_live_partners(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    stranger = await api.person("stranger")
    at = await api.position()
    for invitees in ([stranger.handle], ["nobody_" + uuid.uuid4().hex[:8]], []):
        r = await client.post(P, headers=mina.headers, json=plan_body(invitees=invitees))
        assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["invitees"]
    # The same answer whether the handle has an account or not.
    one = await client.post(P, headers=mina.headers, json=plan_body(stranger))
    other = await client.post(P, headers=mina.headers, json=plan_body(invitees=["nobody_" + uuid.uuid4().hex[:8]]))
    assert one.json() == other.json()
    assert await api.position() == at


async def test_bad_input_names_the_field_and_appends_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    at = await api.position()
    cases = {
        "end": {"end": (START - timedelta(hours=1)).isoformat()},
        "kind": {"kind": "brunch"},
        "time_zone": {"time_zone": "Mars/Olympus"},
        "title": {"title": ""},
    }
    for field, change in cases.items():
        r = await client.post(P, headers=mina.headers, json=plan_body(theo, **change))
        # The wire's shape is a 400, the domain's rules a 422: either names the field and the rule.
        problem = assert_problem(r, r.status_code if r.status_code in (400, 422) else 422)
        assert [e["field"] for e in problem["errors"]] == [field], problem
    assert await api.position() == at


async def test_writes_are_idempotent(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    headers = mina.with_key("plan-1")
    first = await client.post(P, headers=headers, json=plan_body(theo))
    at = await api.position()
    again = await client.post(P, headers=headers, json=plan_body(theo))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert await api.position() == at
    assert len(await api.call("GET", P, mina, 200)) == 1


async def test_a_plan_leaves_both_when_their_link_ends(client: AsyncTestClient[Litestar]) -> None:
    """As a check-in between partners: a plan stands on the links between its proposer and each
    invitee; an invitee whose link ends no longer sees it, and the others keep it among themselves."""
    api = Api(client)
    mina, theo, sam = await partners(api, "mina", "theo", "sam")
    pid = (await propose(api, mina, theo, sam))["plan_id"]
    await api.call("POST", f"{P}/{pid}/answer", theo, 200, json={"answer": "accepted"})
    link = PartnerLinkId(mina, sam)
    await api.call("POST", f"/api/links/{link}/end", sam, 200)
    assert (await client.get(f"{P}/{pid}", headers=sam.headers)).status_code == 404
    view = await api.call("GET", f"{P}/{pid}", mina, 200)
    assert answers(view) == {mina.sid: "accepted", theo.sid: "accepted"} and view["status"] == "accepted"
    link = PartnerLinkId(mina, theo)
    await api.call("POST", f"/api/links/{link}/end", mina, 200)
    assert (await client.get(f"{P}/{pid}", headers=mina.headers)).status_code == 404
    assert (await client.get(f"{P}/{pid}", headers=theo.headers)).status_code == 404


def PartnerLinkId(a: Person, b: Person) -> str:  # noqa: N802
    from domain.network import PartnerLink

    return str(PartnerLink.id_for(a.id, b.id))


async def test_a_plan_never_reaches_someone_who_blocked_the_proposer(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    await api.call("POST", "/api/me/blocks", theo, 201, json={"person_id": mina.sid})
    plan = await propose(api, mina, theo)
    # Mina's answer is as for anyone: Theo is invited and has not answered.
    assert answers(plan) == {mina.sid: "accepted", theo.sid: "pending"}
    assert (await client.get(f"{P}/{plan['plan_id']}", headers=theo.headers)).status_code == 404
    assert await api.call("GET", P, theo, 200) == []
    assert (await api.call("GET", "/api/me/inbox", theo, 200))["items"] == []


async def test_a_plans_text_rests_sealed(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    marks = {"title": f"Picnic {uuid.uuid4().hex[:10]}", "place": f"Park {uuid.uuid4().hex[:10]}"}
    pid = (await propose(api, mina, theo, **marks))["plan_id"]
    note = f"Running late {uuid.uuid4().hex[:10]}"
    await api.call("POST", f"{P}/{pid}/answer", theo, 200, json={"answer": "declined", "note": note}, headers={"Idempotency-Key": "k1"})
    assert leaked(raw_dump(store_url), {**marks, "note": note}) == []


async def test_export_holds_my_plans_as_get_shows_them(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await partners(api, "mina", "theo")
    stranger = await api.person("stranger")
    title = f"Picnic {uuid.uuid4().hex[:10]}"
    pid = (await propose(api, mina, theo, title=title))["plan_id"]
    await api.call("POST", f"{P}/{pid}/answer", theo, 200, json={"answer": "accepted", "note": "with cake"})
    for who in (mina, theo):
        export = await api.call("GET", "/api/me/export", who, 200)
        assert export["plans"] == await api.call("GET", P, who, 200)
        markdown = (await client.get("/api/me/export.md", headers=who.headers)).text
        assert "## Plans (1)" in markdown and title in markdown and f"`{pid}`" in markdown
        assert "with cake" in markdown and "Fri 4 Dec 2026, 19:00 (Europe/Berlin)" in markdown
    export = await api.call("GET", "/api/me/export", stranger, 200)
    assert export["plans"] == [] and pid not in str(export)
    assert "## Plans" not in (await client.get("/api/me/export.md", headers=stranger.headers)).text


async def test_concurrent_answers_both_apply_and_a_stale_one_is_409(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await partners(api, "mina", "theo", "sam")
    pid = (await propose(api, mina, theo, sam))["plan_id"]
    answers_sent = await asyncio.gather(
        client.post(f"{P}/{pid}/answer", headers=theo.headers, json={"answer": "accepted", "proposal": 1}),
        client.post(f"{P}/{pid}/answer", headers=sam.headers, json={"answer": "accepted", "proposal": 1}),
    )
    assert [r.status_code for r in answers_sent] == [200, 200]
    assert (await api.call("GET", f"{P}/{pid}", mina, 200))["status"] == "accepted"
    # A reschedule and an answer to the proposal it replaced, at once: one of the two orders.
    later = START + timedelta(days=2)
    body = {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat(), "time_zone": "UTC"}
    moved, answered = await asyncio.gather(
        client.post(f"{P}/{pid}/reschedule", headers=mina.headers, json=body),
        client.post(f"{P}/{pid}/answer", headers=theo.headers, json={"answer": "declined", "proposal": 1}),
    )
    assert moved.status_code == 200
    if answered.status_code == 409:
        assert answered.json()["current"] == {"plan_id": pid, "proposal": 2}
    else:
        assert answered.status_code == 200
    view = await api.call("GET", f"{P}/{pid}", mina, 200)
    assert view["proposal"] == 2 and view["status"] == "proposed"
