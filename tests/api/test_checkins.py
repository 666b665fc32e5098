"""Check-ins over HTTP: a series between partners or an agreement's parties, private preparation,
sharing, the plan, an action point becoming a renegotiation, and who may see any of it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem

C = "/api/check-ins"


def weekly(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "weekly", "weekday": 1, "at": "19:00", "time_zone": "Europe/Berlin",
        "starts_on": date.today().isoformat(), **overrides,
    }  # fmt: skip


async def partners(api: Api) -> tuple[Person, Person, dict[str, Any]]:
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    view = await api.call("POST", C, mina, 201, json=weekly(partner_id=theo.sid, prompts=["Good", "Hard"]))
    return mina, theo, view


async def test_two_partners_prepare_privately_share_and_agree_a_plan(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    check_in = view["check_in_id"]
    assert view["status"] == "active" and view["open_index"] == 0
    [occurrence] = view["occurrences"]
    assert occurrence["prompts"] == ["Good", "Hard"] and occurrence["status"] == "open"
    assert {p["person_id"] for p in view["participants"]} == {mina.sid, theo.sid}

    path = f"{C}/{check_in}/occurrences/0"
    await api.call("PUT", f"{path}/preparation", mina, 200, json={"answers": ["mina-secret-walk", ""]})
    seen = await api.call("GET", f"{C}/{check_in}", theo, 200)
    assert "mina-secret-walk" not in str(seen)
    mine = await api.call("GET", f"{C}/{check_in}", mina, 200)
    assert mine["occurrences"][0]["my_answers"] == ["mina-secret-walk", ""]

    await api.call("POST", f"{path}/share", mina, 200)
    seen = await api.call("GET", f"{C}/{check_in}", theo, 200)
    [shared] = seen["occurrences"][0]["shared"]
    assert shared["person"]["person_id"] == mina.sid and shared["answers"] == ["mina-secret-walk", ""]
    assert not seen["occurrences"][0]["i_shared"]

    closed = await api.call(
        "POST", f"{path}/close", theo, 200, json={"plan": "Dinner on Friday", "action_points": ["Talk overnights"]}
    )
    assert closed["open_index"] == 1
    past = closed["occurrences"][1]
    assert past["status"] == "closed" and past["plan"] == "Dinner on Friday"
    assert [p["text"] for p in past["action_points"]] == ["Talk overnights"]
    listed = await api.call("GET", C, theo, 200)
    assert [s["check_in_id"] for s in listed] == [check_in]


async def test_nobody_else_sees_it(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    sam = await api.person("sam")
    await api.link(theo, sam)  # a metamour of Mina's
    check_in = view["check_in_id"]
    for who in (sam, await api.person("sky")):
        r = await client.get(f"{C}/{check_in}", headers=who.headers)
        other = await client.get(f"{C}/{uuid.uuid4()}", headers=who.headers)
        assert (r.status_code, r.content) == (other.status_code, other.content) and r.status_code == 404
        assert await api.call("GET", C, who, 200) == []
        assert_problem(await client.post(f"{C}/{check_in}/pause", headers=who.headers), 404)


async def test_a_series_needs_a_live_link(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, stranger = await api.person("mina"), await api.person("sky")
    assert_problem(await client.post(C, json=weekly(partner_id=stranger.sid), headers=mina.headers), 404)
    theo = await api.person("theo")
    await api.propose_link(mina, theo)
    assert_problem(await client.post(C, json=weekly(partner_id=theo.sid), headers=mina.headers), 409)


async def test_bad_cadence_names_the_field_and_appends_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    before = await api.position()
    problem = assert_problem(
        await client.post(C, json=weekly(partner_id=theo.sid, time_zone="Mars/Olympus"), headers=mina.headers), 422
    )
    assert problem["errors"] == [{"field": "time_zone", "rule": "must be an IANA time zone name, like Europe/Berlin"}]
    problem = assert_problem(
        await client.post(C, json=weekly(partner_id=theo.sid, weekday=None), headers=mina.headers), 422
    )
    assert problem["errors"][0]["field"] == "weekday"
    assert await api.position() == before


async def test_when_the_link_ends_neither_sees_the_series(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    await api.call("POST", f"/api/links/{view['link_id']}/end", theo, 200)
    for who in (mina, theo):
        assert_problem(await client.get(f"{C}/{view['check_in_id']}", headers=who.headers), 404)
        assert await api.call("GET", C, who, 200) == []


async def test_pause_resume_end_are_seen_by_the_others(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    check_in = view["check_in_id"]
    await api.call("POST", f"{C}/{check_in}/pause", theo, 200)
    seen = await api.call("GET", f"{C}/{check_in}", mina, 200)
    assert seen["status"] == "paused" and seen["status_by"]["person_id"] == theo.sid
    problem = assert_problem(await client.post(f"{C}/{check_in}/pause", headers=mina.headers), 409)
    assert problem["current"] == {"check_in_id": check_in, "status": "paused"}
    await api.call("POST", f"{C}/{check_in}/resume", mina, 200)
    ended = await api.call("POST", f"{C}/{check_in}/end", mina, 200)
    assert ended["status"] == "ended"


async def test_move_and_skip(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    check_in = view["check_in_id"]
    to = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    moved = await api.call("POST", f"{C}/{check_in}/occurrences/0/move", mina, 200, json={"to": to, "reason": "travel"})
    assert moved["occurrences"][0]["moved_reason"] == "travel"
    skipped = await api.call("POST", f"{C}/{check_in}/occurrences/0/skip", theo, 200, json={"reason": "ill"})
    assert skipped["occurrences"][1]["status"] == "skipped" and skipped["open_index"] == 1


async def test_an_action_point_opens_a_renegotiation_linked_both_ways(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, agreement_id = await api.pair()
    clause = await api.add_clause(mina, agreement_id, "We talk on Sundays.")
    await api.ratify(mina, theo, agreement_id)
    view = await api.call("POST", C, mina, 201, json=weekly(agreement_id=agreement_id))
    check_in = view["check_in_id"]
    closed = await api.call(
        "POST", f"{C}/{check_in}/occurrences/0/close", theo, 200,
        json={"plan": "Try Mondays", "action_points": ["Move our talk to Mondays"]},
    )  # fmt: skip
    [point] = closed["occurrences"][1]["action_points"]
    body = {
        "agreement_id": agreement_id,
        "changes": [{"kind": "edit", "clause_id": clause["clause_id"], "text": "We talk on Mondays."}],
    }
    path = f"{C}/{check_in}/action-points/{point['action_point_id']}/proposal"
    linked = await api.call("POST", path, theo, 201, json=body, headers={"Idempotency-Key": "ap-1"})
    [point] = linked["occurrences"][1]["action_points"]
    assert point["agreement_id"] == agreement_id and point["proposal_id"]
    agreement = await api.view(mina, agreement_id)
    [proposal] = [p for p in agreement["proposals"] if p["proposal_id"] == point["proposal_id"]]
    assert proposal["reason"] == "Move our talk to Mondays"
    timeline = await api.call("GET", f"/api/agreements/{agreement_id}/timeline", mina, 200)
    [entry] = [e for e in timeline if e.get("proposal_id") == point["proposal_id"] and e["kind"] == "proposed"]
    assert entry["check_in_id"] == check_in
    # A repeat with the same key answers the same; proposing it again is refused.
    again = await api.call("POST", path, theo, 201, json=body, headers={"Idempotency-Key": "ap-1"})
    assert again == linked
    assert_problem(await client.post(path, json=body, headers=mina.headers), 409)



async def test_the_export_holds_my_check_ins_and_nobody_elses_preparation(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, view = await partners(api)
    path = f"{C}/{view['check_in_id']}/occurrences/0"
    await api.call("PUT", f"{path}/preparation", mina, 200, json={"answers": ["minas-own-words", ""]})
    await api.call("PUT", f"{path}/preparation", theo, 200, json={"answers": ["theos-shared-words", ""]})
    await api.call("POST", f"{path}/share", theo, 200)
    for who, present, absent in ((mina, "minas-own-words", None), (theo, "theos-shared-words", "minas-own-words")):
        exported = await api.call("GET", "/api/me/export", who, 200)
        assert exported["check_ins"] == [await api.call("GET", f"{C}/{view['check_in_id']}", who, 200)]
        md = (await client.get("/api/me/export.md", headers=who.headers)).text
        assert present in md and "theos-shared-words" in md
        if absent:
            assert absent not in str(exported) and absent not in md
    sam = await api.person("sam")
    assert (await api.call("GET", "/api/me/export", sam, 200))["check_ins"] == []
