"""Revisit dates and temporary agreements through the API: due reviews, reaffirmation, lapses, the scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from service.application import Accord
from service.store import connect
from tests.api.conftest import Api, Person, assert_problem, settings_for

A = "/api/agreements"


def tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).date().isoformat()


async def reaffirm(api: Api, who: Person, agreement_id: str, clause_id: str, expect: int = 200, **body: Any) -> Any:
    body = {"revision": 1, **body}
    return await api.call("POST", f"{A}/{agreement_id}/clauses/{clause_id}/reaffirm", who, expect, json=body)


async def kinds(api: Api, who: Person, agreement_id: str) -> list[str]:
    return [e["kind"] for e in await api.call("GET", f"{A}/{agreement_id}/timeline", who, 200)]


async def test_a_revisit_date_is_set_while_drafting_and_consented_to(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause_id = (await api.add_clause(ana, agreement_id, "We check in on Sundays."))["clause_id"]
    await api.consent(ana, agreement_id, 1)

    view = await api.set_revisit_date(ben, agreement_id, clause_id, tomorrow())

    assert view["revisits"] == [{"clause_id": clause_id, "revisit_on": tomorrow()}]
    # Part of what the parties consent to: a new version, and Ana's consent is to the old one.
    assert (view["version"], view["consented"]) == (2, [])
    assert "revisit_date_set" in await kinds(api, ana, agreement_id)
    cleared = await api.set_revisit_date(ana, agreement_id, clause_id, None)
    assert cleared["revisits"] == []


async def test_a_date_that_is_not_later_than_today_is_refused_and_appends_nothing(api: Api) -> None:
    ana, _, agreement_id = await api.pair()
    clause_id = (await api.add_clause(ana, agreement_id, "We check in on Sundays."))["clause_id"]
    before = await api.position()
    today = datetime.now(UTC).date().isoformat()
    r = await api.client.put(
        f"{A}/{agreement_id}/clauses/{clause_id}/revisit", json={"revisit_on": today}, headers=ana.headers
    )
    body = assert_problem(r, 422, code="validation_failed")
    assert body["errors"] == [{"field": "revisit_on", "rule": "must be a later date than today (UTC)"}]
    r = await api.client.put(f"{A}/{agreement_id}/end-date", json={"until": "someday"}, headers=ana.headers)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    assert await api.position() == before


async def test_a_due_review_is_reaffirmed_by_every_party(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await api.due_for_review()
    view = await api.view(ben, agreement_id)
    [review] = view["due_reviews"]
    assert (review["clause_id"], review["revision"], review["reaffirmed_by"]) == (clause_id, 1, [])

    headers = ana.with_key("reaffirm-1")
    path = f"{A}/{agreement_id}/clauses/{clause_id}/reaffirm"
    first = await api.client.post(path, json={"revision": 1}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["due_reviews"][0]["reaffirmed_by"] == [ana.sid]
    # The same key again: the first answer, nothing appended.
    position = await api.position()
    again = await api.client.post(path, json={"revision": 1}, headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert await api.position() == position
    assert_problem(await api.client.post(path, json={"revision": 1}, headers=ana.headers), 409, code="already_done")

    settled = await reaffirm(api, ben, agreement_id, clause_id)

    assert (settled["due_reviews"], settled["revisits"], settled["status"]) == ([], [], "in_force")
    found = await kinds(api, ana, agreement_id)
    assert found[-4:] == ["due_for_review", "reaffirmed", "reaffirmed", "review_settled"]


async def test_a_next_revisit_date_needs_everyone_to_name_it(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await api.due_for_review()
    later = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    await reaffirm(api, ana, agreement_id, clause_id)
    named = await reaffirm(api, ben, agreement_id, clause_id, next_revisit_on=later)
    # Ben named another next date than Ana: the review waits for Ana to reaffirm with it.
    assert named["due_reviews"][0]["reaffirmed_by"] == [ben.sid]
    settled = await reaffirm(api, ana, agreement_id, clause_id, next_revisit_on=later)
    assert settled["due_reviews"] == []
    assert settled["revisits"] == [{"clause_id": clause_id, "revisit_on": later}]


async def test_only_a_due_clause_is_reaffirmed(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause_id = (await api.add_clause(ana, agreement_id, "We check in on Sundays."))["clause_id"]
    await api.ratify(ana, ben, agreement_id)
    before = await api.position()
    r = await api.client.post(f"{A}/{agreement_id}/clauses/{clause_id}/reaffirm", json={"revision": 1}, headers=ana.headers)
    body = assert_problem(r, 409, code="not_due_for_review")
    assert body["current"] == {"clause_id": clause_id, "due_for_review": False}
    assert await api.position() == before


async def test_a_renegotiation_of_a_due_clause_ends_its_review(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await api.due_for_review()
    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    change = {"kind": "edit", "clause_id": clause_id, "text": "We check in every other Sunday.", "revisit_on": later}
    proposal_id, _ = await api.propose(ben, agreement_id, [change], reason="Weekly is a lot.")
    adopted = await api.call("POST", f"{A}/{agreement_id}/proposals/{proposal_id}/accept", ana, 200)
    assert adopted["due_reviews"] == []
    assert adopted["revisits"] == [{"clause_id": clause_id, "revisit_on": later}]
    await reaffirm(api, ana, agreement_id, clause_id, 409, revision=2)


async def test_a_temporary_agreement_lapses_at_its_end_date(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    await api.add_clause(ana, agreement_id, "Only this summer.")
    view = await api.call("PUT", f"{A}/{agreement_id}/end-date", ben, 200, json={"until": tomorrow()})
    assert view["until"] == tomorrow()
    await api.ratify(ana, ben, agreement_id)
    # Sam, Ben's partner and so Ana's metamour, is shown the clause while it is in force.
    sam = await api.person("sam")
    await api.link(ana, ben)
    await api.link(ben, sam)
    body = {"audience": sam.handle, "scopes": ["clauses:boundaries"]}
    grant_id = (await api.call("POST", f"{A}/{agreement_id}/grants", ana, 201, json=body))["grant_id"]
    await api.call("POST", f"{A}/{agreement_id}/grants/{grant_id}/consent", ben, 200)
    shared = await api.view(sam, agreement_id)
    assert [c["text"] for c in shared["clauses"]] == ["Only this summer."]
    assert "until" not in shared and "revisits" not in shared

    accord = api.client.app.state.accord
    real = accord.clock
    end = datetime.fromisoformat(tomorrow()).replace(tzinfo=UTC)
    accord.clock = lambda: end
    try:
        view = await wait_for(lambda: api.view(ana, agreement_id), lambda view: view["status"] == "lapsed")
        assert view["in_force_version"] is None
        assert (await kinds(api, ben, agreement_id))[-1] == "lapsed"
        # Nothing is in force, so nothing is shown.
        assert (await api.view(sam, agreement_id))["clauses"] == []
        # The page says so, and offers to renew it: a later end date, or none, then consent.
        session = ana.headers["Authorization"].removeprefix("Bearer ")
        page = await api.client.get(f"/agreements/{agreement_id}", headers={"Cookie": f"accord_session={session}"})
        assert page.status_code == 200, page.text
        assert "It lapsed at its end date" in page.text and 'action="/agreements/' in page.text
        assert f"/agreements/{agreement_id}/end-date" in page.text
        # Renewing is drafting again: a version that would lapse at once takes no consent.
        r = await api.client.post(f"{A}/{agreement_id}/consents", json={"version": view["version"]}, headers=ana.headers)
        assert assert_problem(r, 422)["errors"][0]["field"] == "until"
    finally:
        accord.clock = real
    renewed = await api.call("PUT", f"{A}/{agreement_id}/end-date", ana, 200, json={"until": None})
    assert renewed["status"] == "lapsed"
    assert (await api.ratify(ana, ben, agreement_id))["status"] == "in_force"


async def test_each_due_time_fires_once_across_two_processes_and_a_restart(api: Api, store_url: str) -> None:
    ana, ben, agreement_id = await api.pair()
    clause_id = (await api.add_clause(ana, agreement_id, "We check in on Sundays."))["clause_id"]
    await api.set_revisit_date(ana, agreement_id, clause_id, tomorrow())
    await api.ratify(ana, ben, agreement_id)
    due = datetime.fromisoformat(tomorrow()).replace(tzinfo=UTC) + timedelta(minutes=5)

    def process() -> Accord:
        """Another service process on the same log, its clock at the revisit date."""
        settings = settings_for(store_url)
        return Accord(connect(store_url, poll_interval=settings.poll_interval), settings, clock=lambda: due)

    first, second = process(), process()
    await first.start()
    await second.start()
    try:
        # Both schedulers, at once and again, beside their own loops: one store, two users of it.
        await asyncio.gather(*(p.scheduler.fire_due() for p in (first, second, first, second)))
        await wait_for(lambda: api.view(ana, agreement_id), lambda view: bool(view["due_reviews"]))
    finally:
        await first.stop()
        await second.stop()
    assert (await kinds(api, ana, agreement_id)).count("due_for_review") == 1

    # A restarted process at the same time finds nothing more to fire.
    position = await api.position()
    restarted = process()
    await restarted.start()
    try:
        assert await restarted.wait_until_tracking(10)
        await restarted.scheduler.fire_due()
    finally:
        await restarted.stop()
    assert await api.position() == position
    assert (await kinds(api, ana, agreement_id)).count("due_for_review") == 1


async def wait_for(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 10) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done(found := await read()):
        assert asyncio.get_running_loop().time() < deadline, f"still {found}"
        await asyncio.sleep(0.05)
    return found


async def test_a_renegotiation_extends_a_temporary_agreement(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    await api.add_clause(ana, agreement_id, "Only this summer.")
    await api.call("PUT", f"{A}/{agreement_id}/end-date", ben, 200, json={"until": tomorrow()})
    await api.ratify(ana, ben, agreement_id)
    later = (datetime.now(UTC) + timedelta(days=120)).date().isoformat()

    body = {"changes": [], "reason": "One more season.", "end_date": {"until": later}}
    proposed = await api.call("POST", f"{A}/{agreement_id}/proposals", ben, 201, json=body)
    assert proposed["proposals"][0]["end_date"] == {"until": later}
    adopted = await api.call(
        "POST", f"{A}/{agreement_id}/proposals/{proposed['proposals'][0]['proposal_id']}/accept", ana, 200
    )
    assert (adopted["status"], adopted["until"], adopted["in_force_version"]) == ("in_force", later, 3)
    # Open-ended from here on needs everyone again.
    body = {"changes": [], "reason": "Let's not end it.", "end_date": {"until": None}}
    assert (await api.call("POST", f"{A}/{agreement_id}/proposals", ana, 201, json=body))["until"] == later


async def test_my_export_says_which_clauses_are_due_for_review(api: Api) -> None:
    ana, _, agreement_id, clause_id = await api.due_for_review()
    r = await api.client.get("/api/me/export.md", headers=ana.headers)
    assert r.status_code == 200, r.text
    assert f"Clause `{clause_id}` is due for review" in r.text
    exported = await api.call("GET", "/api/me/export", ana, 200)
    [mine] = [a for a in exported["agreements"] if a["agreement_id"] == agreement_id]
    assert [review["clause_id"] for review in mine["party"]["due_reviews"]] == [clause_id]


async def test_a_metamour_hears_nothing_of_a_review_of_a_clause_they_see(api: Api) -> None:
    """Not even a push: the first update Sam's socket gets is the renegotiation that changes what Sam sees."""
    ana, ben, agreement_id = await api.pair()
    clause_id = (await api.add_clause(ana, agreement_id, "We check in on Sundays."))["clause_id"]
    await api.set_revisit_date(ana, agreement_id, clause_id, tomorrow())
    await api.ratify(ana, ben, agreement_id)
    sam = await api.person("sam")
    await api.link(ana, ben)
    await api.link(ben, sam)
    body = {"audience": sam.handle, "scopes": ["clauses:boundaries", "history"]}
    grant_id = (await api.call("POST", f"{A}/{agreement_id}/grants", ana, 201, json=body))["grant_id"]
    await api.call("POST", f"{A}/{agreement_id}/grants/{grant_id}/consent", ben, 200)

    socket = await api.client.websocket_connect("/api/live")
    with socket:
        token = sam.headers["Authorization"].removeprefix("Bearer ")
        socket.send_json({"type": "auth", "token": token, "since": None})
        assert socket.receive_json()["type"] == "ready"
        while (frame := socket.receive_json())["type"] != "synced":
            assert frame["type"] in ("update", "resync"), frame
        shown = await api.view(sam, agreement_id)
        assert [c["clause_id"] for c in shown["clauses"]] == [clause_id]

        await api.wait_due(ana, agreement_id)
        await reaffirm(api, ana, agreement_id, clause_id)
        await reaffirm(api, ben, agreement_id, clause_id)
        change = {"kind": "edit", "clause_id": clause_id, "text": "We check in every other Sunday."}
        proposal_id, _ = await api.propose(ana, agreement_id, [change])
        await api.call("POST", f"{A}/{agreement_id}/proposals/{proposal_id}/accept", ben, 200)
        adopted_at = await api.position()

        frame = socket.receive_json()
        assert frame["type"] == "update" and frame["position"] == adopted_at, frame
        [pushed] = frame["changes"]
        assert pushed["view"] == await api.view(sam, agreement_id)
        for word in ("revisit", "due_review", "reaffirm", "until"):
            assert word not in str(frame), frame
