"""Live updates, end to end: real servers, the real websockets client.

Two partners and a metamour are connected while the partners draft, consent,
renegotiate and share. Each push must be exactly the consented view the HTTP
API gives the same person at that moment, and reach only those who may see it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import (
    HIDDEN_TEXT,
    SOON,
    TITLE,
    Api,
    Live,
    Person,
    Server,
    World,
    build_world,
    share_boundaries,
)


async def connected(server: Server, *people: Person) -> list[Live]:
    return [await Live.open(server, person) for person in people]


async def assert_same_as_http(api: Api, who: Person, world: World, change: dict[str, Any]) -> None:
    assert change["view"] == await api.view(who, world.agreement_id)


async def assert_grants_same_as_http(api: Api, who: Person, world: World, change: dict[str, Any]) -> None:
    """A `grants:<id>` push is the very list GET …/grants answers (the same struct, the same order)."""
    assert change["view"] == await api.call("GET", f"/api/agreements/{world.agreement_id}/grants", who, 200)


def shown_text(frame: dict[str, Any]) -> str:
    return json.dumps(frame)


async def test_on_connect_each_gets_what_they_may_see_and_nothing_else(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo, sam = await connected(server, world.mina, world.jo, world.sam)

    for live, who in ((mina, world.mina), (jo, world.jo)):
        assert [f["type"] for f in live.catch_up] == ["resync"]
        assert live.person_id == who.id
        assert live.views[world.key] == await api.view(who, world.agreement_id)
        assert live.views["network"] == await api.network(who)
    # Sam is Mina's metamour, but nothing is shared: not even that the agreement exists.
    assert set(sam.views) == {"network", "inbox"}
    assert sam.views["inbox"] == {"count": 0, "items": []}
    assert sam.views["network"] == await api.network(world.sam)
    assert world.agreement_id not in shown_text(sam.catch_up[0])


async def test_partners_see_each_others_edits_and_the_metamour_nothing(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo, sam = await connected(server, world.mina, world.jo, world.sam)

    edited = await api.edit_clause(world.jo, world.agreement_id, world.boundary, "We say so the same day.")
    for live, who in ((mina, world.mina), (jo, world.jo)):
        update = await live.update_at(api.position)
        # A new draft version also changes what waits for them (their inbox: a version to consent to).
        [change] = [c for c in update["changes"] if c["key"] != "inbox"]
        assert change["key"] == world.key
        await assert_same_as_http(api, who, world, change)
        assert edited in change["view"]["clauses"]

    await api.add_clause(world.mina, world.agreement_id, "check_ins", "Sunday tea, phones away.")
    for live in (mina, jo):
        await live.update_at(api.position)
    await sam.nothing_pending()


async def test_metamour_receives_exactly_the_shared_clause_when_it_is_in_force(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo, sam = await connected(server, world.mina, world.jo, world.sam)

    # A proposed grant is not consent yet: nothing for Sam; the parties see it among their grants.
    world.grant_id = await api.propose_grant(world.mina, world.agreement_id, world.sam, ["clauses:boundaries"])
    await sam.nothing_pending()
    for live, who in ((mina, world.mina), (jo, world.jo)):
        grants = await live.change_to(f"grants:{world.agreement_id}")
        assert [(g["grant_id"], g["consented_by"], g["why_not"]) for g in grants["view"]] == [
            (world.grant_id, [world.mina.id], "awaiting_consent")
        ]
        await assert_grants_same_as_http(api, who, world, grants)
        assert HIDDEN_TEXT not in json.dumps(grants)
    await mina.nothing_pending(settle=0)

    # Every party consented: Sam learns the agreement exists, with nothing in force yet.
    await api.consent_to_grant(world.jo, world.agreement_id, world.grant_id)
    change = await sam.change_to(world.key)
    await assert_same_as_http(api, world.sam, world, change)
    assert change["view"]["access"] == "metamour"
    assert change["view"]["title"] is None
    assert change["view"]["clauses"] == []
    assert change["view"]["scopes"] == ["clauses:boundaries"]

    # Drafting is private: edits reach the parties, and nothing reaches Sam.
    boundary = await api.edit_clause(world.mina, world.agreement_id, world.boundary, "First dates: tell the day before.")
    await api.edit_clause(world.jo, world.agreement_id, world.schedule, HIDDEN_TEXT + " Mostly.")
    for live in (mina, jo):
        await live.update_at(api.position)
    await sam.nothing_pending()

    # Ratified: Sam receives the shared clause's text, and only that.
    await api.ratify(world.parties, world.agreement_id)
    for live in (mina, jo):
        await live.update_at(api.position)
    update = await sam.update()
    assert update["position"] == api.position
    [change] = update["changes"]
    assert change["key"] == world.key
    assert change["view"]["clauses"] == [
        {"clause_id": boundary["clause_id"], "topic": "boundaries", "text": boundary["text"]}
    ]
    await assert_same_as_http(api, world.sam, world, change)
    for secret in (HIDDEN_TEXT, TITLE, world.schedule["clause_id"]):
        assert secret not in shown_text(update)
    await sam.nothing_pending()


async def test_renegotiations_reach_the_metamour_only_when_a_shared_clause_changes(
    server: Server, api: Api
) -> None:
    world = await build_world(api)
    await share_boundaries(api, world)
    await api.ratify(world.parties, world.agreement_id)
    mina, jo, sam = await connected(server, world.mina, world.jo, world.sam)
    assert sam.views[world.key]["clauses"][0]["text"] == world.boundary["text"]

    # Proposals and comments are the parties' business.
    new_boundary = "First dates: tell each other the week before."
    changes = [{"kind": "edit", "clause_id": world.boundary["clause_id"], "text": new_boundary}]
    proposal = await api.propose(world.jo, world.agreement_id, changes)
    await api.comment(world.mina, world.agreement_id, proposal, "Yes, and let's say why.")
    for live, who in ((mina, world.mina), (jo, world.jo)):
        change = (await live.update_at(api.position))["changes"][0]
        await assert_same_as_http(api, who, world, change)
        assert change["view"]["proposals"][0]["comments"][0]["text"] == "Yes, and let's say why."
    await sam.nothing_pending()

    # Adopted by everyone: the new text is in force, and Sam sees it.
    await api.accept(world.mina, world.agreement_id, proposal)
    for live in (mina, jo):
        await live.update_at(api.position)
    update = await sam.update()
    assert update["position"] == api.position
    [change] = update["changes"]
    assert [c["text"] for c in change["view"]["clauses"]] == [new_boundary]
    await assert_same_as_http(api, world.sam, world, change)

    # A renegotiation of a clause Sam may not see changes nothing Sam may see: no push at all.
    changes = [{"kind": "edit", "clause_id": world.schedule["clause_id"], "text": "Thursdays too."}]
    proposal = await api.propose(world.mina, world.agreement_id, changes)
    await api.accept(world.jo, world.agreement_id, proposal)
    for live in (mina, jo):
        await live.update_at(api.position)
    await sam.nothing_pending()


async def test_a_grant_with_relationship_shows_the_partners_link_live(server: Server, api: Api) -> None:
    world = await build_world(api)
    sam = await Live.open(server, world.sam)
    assert sam.views["network"]["known_links"] == []

    await share_boundaries(api, world, scopes=("relationship", "identity"))
    seen = {}
    while set(seen) != {"network", world.key}:
        for change in (await sam.update())["changes"]:
            seen[change["key"]] = change
    assert seen["network"]["view"] == await api.network(world.sam)
    [known] = seen["network"]["view"]["known_links"]
    assert {known["a"]["name"], known["b"]["name"]} == {world.mina.name, world.jo.name}
    await assert_same_as_http(api, world.sam, world, seen[world.key])


async def test_revocation_removes_the_view_at_once_and_nothing_follows(server: Server, api: Api) -> None:
    world = await build_world(api)
    await share_boundaries(api, world)
    await api.ratify(world.parties, world.agreement_id)
    mina, sam = await connected(server, world.mina, world.sam)
    second_sam = await Live.open(server, world.sam)  # every open socket of Sam's
    assert world.key in sam.views

    await api.revoke_grant(world.jo, world.agreement_id, world.grant_id)
    for live in (sam, second_sam):
        update = await live.update()
        assert update["position"] == api.position
        assert {"key": world.key, "removed": True} in update["changes"]
        assert world.key not in live.views
    await api.view(world.sam, world.agreement_id, expect=404)

    # The parties carry on renegotiating the clause Sam used to see: nothing reaches Sam.
    changes = [{"kind": "edit", "clause_id": world.boundary["clause_id"], "text": "After the revocation."}]
    proposal = await api.propose(world.mina, world.agreement_id, changes)
    await api.accept(world.jo, world.agreement_id, proposal)
    await mina.update_at(api.position)
    for live in (sam, second_sam):
        await live.nothing_pending()
    fresh = await Live.open(server, world.sam)
    assert set(fresh.views) == {"network", "inbox"}


async def test_ending_the_link_that_makes_a_metamour_withdraws_the_view(server: Server, api: Api) -> None:
    world = await build_world(api)
    await share_boundaries(api, world)
    await api.ratify(world.parties, world.agreement_id)
    mina, sam = await connected(server, world.mina, world.sam)

    await api.end_link(world.sam, world.links["jo-sam"])
    change = await sam.change_to(world.key)
    assert change == {"key": world.key, "removed": True}
    # The parties are told at once, in the same words as over HTTP, that the grant no longer holds, and why.
    grants = await mina.change_to(f"grants:{world.agreement_id}")
    await assert_grants_same_as_http(api, world.mina, world, grants)
    [grant] = grants["view"]
    assert (grant["active"], grant["holds"], grant["why_not"], grant["holds_through"]) == (
        True, False, "link_ended", None
    )

    changes = [{"kind": "edit", "clause_id": world.boundary["clause_id"], "text": "After the break-up."}]
    proposal = await api.propose(world.mina, world.agreement_id, changes)
    await api.accept(world.jo, world.agreement_id, proposal)
    await mina.update_at(api.position)
    await sam.nothing_pending()

    # Together again: the old consent was given to the old relation, so Sam learns only of the link.
    await api.link(world.jo, world.sam)
    relinked = False
    while not relinked:
        update = await sam.update()
        assert [c["key"] for c in update["changes"]] == ["network"], update
        relinked = any(link["status"] == "live" for link in update["changes"][0]["view"]["links"])
    await sam.nothing_pending()
    assert world.key not in sam.views
    await api.view(world.sam, world.agreement_id, expect=404)


async def test_a_party_who_leaves_is_sent_nothing_more_about_it(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina, jo = await connected(server, world.mina, world.jo)

    await api.leave(world.jo, world.agreement_id)
    update = await jo.update_at(api.position)
    assert {"key": world.key, "removed": True} in update["changes"]
    await mina.update_at(api.position)

    await api.edit_clause(world.mina, world.agreement_id, world.boundary, "Mina's own draft now.")
    await mina.update_at(api.position)
    await jo.nothing_pending()


async def test_bad_frames_get_error_frames_and_the_socket_stays_usable(server: Server, api: Api) -> None:
    world = await build_world(api)
    mina = await Live.open(server, world.mina)

    for bad in ("not json", "[1, 2]", '{"type": "dance"}', '{"type": "ping", "extra": 1}', '{"kind": "ping"}'):
        await mina.send(bad)
        frame = await mina.recv()
        assert frame["type"] == "error" and frame["code"] == "bad_frame", (bad, frame)
    await mina.send({"type": "auth", "token": world.mina.token})
    frame = await mina.recv()
    assert frame["type"] == "error", frame

    await mina.send({"type": "ping"})
    assert await mina.recv() == {"type": "pong"}
    await api.edit_clause(world.jo, world.agreement_id, world.boundary, "Still listening.")
    await mina.update_at(api.position)


async def refused(server: Server, first_frame: str, url_suffix: str = "") -> tuple[dict[str, Any], int | None]:
    """Open a socket, send one frame: the error frame the server answers and its close code."""
    async with connect(server.ws_url + url_suffix, open_timeout=SOON) as socket:
        await socket.send(first_frame)
        error = json.loads(await socket.recv())
        with pytest.raises(ConnectionClosed):
            await socket.recv()
        return error, socket.close_code


async def test_a_token_in_the_url_is_not_accepted(server: Server, api: Api) -> None:
    mina = await api.person("mina")
    for suffix in (f"?token={mina.token}", f"?access_token={mina.token}"):
        error, code = await refused(server, json.dumps({"type": "auth"}), suffix)
        assert error["type"] == "error" and error["code"] == "unauthorized"
        assert code == 4401
        error, code = await refused(server, json.dumps({"type": "ping"}), suffix)
        assert error["code"] == "unauthorized" and code == 4401


@pytest.mark.parametrize(
    "first_frame",
    [
        json.dumps({"type": "auth", "token": "not-a-token"}),
        json.dumps({"type": "auth", "token": ""}),
        json.dumps({"type": "ping"}),
        "not json",
    ],
    ids=["unknown-token", "empty-token", "no-auth", "malformed"],
)
async def test_without_a_valid_auth_frame_the_socket_is_told_why_and_closed(
    server: Server, first_frame: str
) -> None:
    error, code = await refused(server, first_frame)
    assert error["type"] == "error" and error["code"] in ("unauthorized", "bad_frame"), error
    assert error["detail"]
    assert code == 4401


async def test_a_signed_out_token_is_refused(server: Server, api: Api) -> None:
    mina = await api.person("mina")
    await api.call("DELETE", "/api/sessions/current", mina, 204)
    error, code = await refused(server, json.dumps({"type": "auth", "token": mina.token}))
    assert error["code"] == "unauthorized" and code == 4401


async def test_an_invitation_arrives_live_and_accepting_it_brings_the_party_view(server: Server, api: Api) -> None:
    world = await build_world(api)
    kim_person = await api.person("kim")
    kim, mina = await Live.open(server, kim_person), await Live.open(server, world.mina)
    assert world.key not in kim.views

    await api.invite(world.mina, world.agreement_id, kim_person.handle)
    change = await kim.change_to(world.key)
    assert change["view"] == {"agreement_id": world.agreement_id, "relation": "invited", "title": TITLE}
    assert HIDDEN_TEXT not in json.dumps(change)
    await mina.update_at(api.position)

    await api.accept_invitation(kim_person, world.agreement_id)
    change = await kim.change_to(world.key)
    await assert_same_as_http(api, kim_person, world, change)
    assert change["view"]["view"] == "party"


async def test_a_new_party_suspends_the_grant_until_they_consent_too(server: Server, api: Api) -> None:
    world = await build_world(api)
    await share_boundaries(api, world)
    await api.ratify(world.parties, world.agreement_id)
    sam = await Live.open(server, world.sam)
    assert world.key in sam.views
    kim = await api.person("kim")
    await api.link(world.mina, kim)

    await api.invite(world.mina, world.agreement_id, kim.handle)
    await sam.nothing_pending()
    await api.accept_invitation(kim, world.agreement_id)
    assert await sam.change_to(world.key) == {"key": world.key, "removed": True}

    await api.consent_to_grant(kim, world.agreement_id, world.grant_id)
    change = await sam.change_to(world.key)
    await assert_same_as_http(api, world.sam, world, change)
    assert len(change["view"]["parties"]) == 3


async def test_a_grant_that_lapses_removes_the_view_when_its_time_is_up(server: Server, api: Api) -> None:
    world = await build_world(api)
    await api.ratify(world.parties, world.agreement_id)
    until = datetime.now(timezone.utc) + timedelta(seconds=3)
    body = {"audience": world.sam.handle, "scopes": ["clauses:boundaries"], "until": until.isoformat()}
    grant = await api.call("POST", f"/api/agreements/{world.agreement_id}/grants", world.mina, 201, json=body)
    sam = await Live.open(server, world.sam)
    await api.consent_to_grant(world.jo, world.agreement_id, grant["grant_id"])
    change = await sam.change_to(world.key)
    assert [c["text"] for c in change["view"]["clauses"]] == [world.boundary["text"]]

    change = await sam.change_to(world.key, timeout=SOON + 2)
    assert change == {"key": world.key, "removed": True}
    assert datetime.now(timezone.utc) >= until
    await api.view(world.sam, world.agreement_id, expect=404)


async def test_a_new_person_gets_the_same_network_view_as_over_http(server: Server, api: Api) -> None:
    kim = await api.person("kim")
    live = await Live.open(server, kim)
    assert live.views == {"network": await api.network(kim), "inbox": {"count": 0, "items": []}}
