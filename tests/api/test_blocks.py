"""Blocking, over the API, on both stores: a blocked person cannot tell, and reaches nobody.

Everything a blocked person sends their blocker (a link proposal, an invitation,
a grant) is answered exactly as the same request to a handle without an
account, and never shows to the blocker: not in their views, their inbox, nor
on their open socket. Link proposals are also limited per sender (429) and per
recipient (silence).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from domain.network import PartnerLink
from tests.api.conftest import (
    PSEUDONYM_KEY,
    PSEUDONYM_NAME,
    Api,
    Person,
    assert_problem,
    comparable_headers,
    is_pseudonym,
    unique_handle,
)

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def masked(r: Any) -> tuple[int, str, dict[str, str]]:
    """Status, body with ids, handles and pseudonyms masked, and the headers that do not name the request."""
    text = UUID_TEXT.sub("<id>", r.text)
    text = re.sub(r'"audience_handle":"[^"]*"', '"audience_handle":"<handle>"', text)
    text = PSEUDONYM_KEY.sub("<pseudonym>", PSEUDONYM_NAME.sub("<pseudonym>", text))
    return r.status_code, text, comparable_headers(r)


async def block(api: Api, blocker: Person, handle: str) -> dict[str, Any]:
    return await api.call("POST", "/api/me/blocks", blocker, 201, json={"handle": handle})


async def position_of(r: Any) -> int:
    return int(r.headers["accord-position"])


# --------------------------------------------------------------------------
# Answered as for a handle without an account
# --------------------------------------------------------------------------


async def test_a_blocked_persons_link_proposal_answers_as_for_a_missing_handle(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    await block(api, mina, ex.handle)
    ghost = unique_handle("mina")

    async def propose(handle: str) -> Any:
        return await api.client.post("/api/links", json={"handle": handle}, headers=ex.headers)

    blocked = await propose(mina.handle)
    unknown = await propose(ghost)
    assert (blocked.status_code, blocked.content) == (unknown.status_code, unknown.content) == (
        202,
        b'{"status":"proposed"}',
    )
    assert masked(blocked) == masked(unknown)
    # Each appended one event, as a proposal to a missing handle does.
    assert await position_of(unknown) == await position_of(blocked) + 1
    # Again: refused alike.
    blocked, unknown = await propose(mina.handle), await propose(ghost)
    assert blocked.status_code == 409
    assert masked(blocked) == masked(unknown)
    # The blocked person sees two pending proposals to nobody they know, alike.
    links = (await api.call("GET", "/api/network", ex, 200))["links"]
    assert sorted(link["status"] for link in links) == ["proposed", "proposed"]
    assert all(is_pseudonym(link["other"]) for link in links)
    # Mina sees nothing of it.
    assert (await api.call("GET", "/api/network", mina, 200))["links"] == []
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["count"] == 0


async def test_a_blocked_persons_invitation_answers_as_for_a_missing_handle(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    await block(api, mina, ex.handle)
    agreement_id = (await api.create(ex, "Us again"))["agreement_id"]
    path = f"/api/agreements/{agreement_id}/invitations"
    ghost = unique_handle("mina")

    blocked = await api.client.post(path, json={"handle": mina.handle}, headers=ex.headers)
    unknown = await api.client.post(path, json={"handle": ghost}, headers=ex.headers)
    assert (blocked.status_code, blocked.content) == (unknown.status_code, unknown.content) == (
        202,
        b'{"status":"invited"}',
    )
    assert masked(blocked) == masked(unknown)
    assert await position_of(unknown) == await position_of(blocked) + 1
    # The inviter sees both pending, by the handle typed, as for any invitation.
    assert (await api.view(ex, agreement_id))["invitations"] == [{"handle": mina.handle}, {"handle": ghost}]
    # Inviting again is refused alike.
    blocked = await api.client.post(path, json={"handle": mina.handle}, headers=ex.headers)
    unknown = await api.client.post(path, json={"handle": ghost}, headers=ex.headers)
    assert blocked.status_code == 409
    assert UUID_TEXT.sub("<id>", blocked.text) == UUID_TEXT.sub("<id>", unknown.text)
    # Mina: not in her list, not in her inbox, 404 as for an agreement that does not exist.
    assert await api.call("GET", "/api/agreements", mina, 200) == []
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["count"] == 0
    nothing = await api.client.get(f"/api/agreements/{uuid.uuid4()}", headers=mina.headers)
    for route in (f"/api/agreements/{agreement_id}", f"/api/agreements/{agreement_id}/invitation"):
        r = await api.client.get(route, headers=mina.headers)
        assert (r.status_code, UUID_TEXT.sub("<id>", r.text)) == (404, UUID_TEXT.sub("<id>", nothing.text))
    # Accepting what she cannot see is refused as for something that is not there.
    r = await api.client.post(f"/api/agreements/{agreement_id}/invitation/accept", headers=mina.headers)
    assert r.status_code == 404


async def test_a_blocked_persons_grant_answers_as_for_a_missing_handle(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    mina = await api.person("mina")
    await block(api, mina, ana.handle)
    path = f"/api/agreements/{agreement_id}/grants"
    ghost = unique_handle("mina")

    blocked = await api.client.post(path, json={"audience": mina.handle, "scopes": ["clauses:boundaries"]}, headers=ana.headers)
    unknown = await api.client.post(path, json={"audience": ghost, "scopes": ["clauses:boundaries"]}, headers=ana.headers)
    assert blocked.status_code == unknown.status_code == 201
    assert masked(blocked) == masked(unknown)
    assert blocked.json()["audience_handle"] == mina.handle
    # Even consented by both parties, it holds for nobody: Mina's views are as before.
    for r in (blocked, unknown):
        await api.call("POST", f"{path}/{r.json()['grant_id']}/consent", ben, 200)
    grants = await api.call("GET", path, ana, 200)
    assert masked_grants(grants[0]) == masked_grants(grants[1])
    assert await api.call("GET", "/api/agreements", mina, 200) == []
    r = await api.client.get(f"/api/agreements/{agreement_id}", headers=mina.headers)
    assert r.status_code == 404


def masked_grants(grant: dict[str, Any]) -> str:
    text = UUID_TEXT.sub("<id>", str({k: v for k, v in grant.items() if k != "audience_handle"}))
    return PSEUDONYM_KEY.sub("<pseudonym>", PSEUDONYM_NAME.sub("<pseudonym>", text))


# --------------------------------------------------------------------------
# What a block does to what was there before, and after an unblock
# --------------------------------------------------------------------------


async def test_a_pending_proposal_from_the_blocked_person_hides_from_the_blocker_only(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    await api.propose_link(ex, mina)
    assert [link["status"] for link in (await api.call("GET", "/api/network", mina, 200))["links"]] == ["proposed"]

    made = await block(api, mina, ex.handle)
    # Mina no longer sees it; Ex still sees it pending, as if unanswered.
    assert (await api.call("GET", "/api/network", mina, 200))["links"] == []
    [pending] = (await api.call("GET", "/api/network", ex, 200))["links"]
    assert (pending["status"], pending["proposed_by_me"]) == ("proposed", True)

    # Unblocking shows again what is still pending; nothing Ex sent during the block reaches her.
    agreement_id = (await api.create(ex))["agreement_id"]
    await api.invite(ex, agreement_id, mina.handle)
    await api.call("DELETE", f"/api/me/blocks/{made['block_id']}", mina, 200)
    [link] = (await api.call("GET", "/api/network", mina, 200))["links"]
    assert (link["status"], link["proposed_by_me"]) == ("proposed", False)
    assert await api.call("GET", "/api/agreements", mina, 200) == []


async def test_an_invitation_pending_before_the_block_hides_until_unblocked(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    agreement_id = (await api.create(ex))["agreement_id"]
    await api.invite(ex, agreement_id, mina.handle)
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["count"] == 1

    made = await block(api, mina, ex.handle)
    assert await api.call("GET", "/api/agreements", mina, 200) == []
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["count"] == 0
    assert (await api.view(ex, agreement_id))["invitations"] == [{"handle": mina.handle}]

    await api.call("DELETE", f"/api/me/blocks/{made['block_id']}", mina, 200)
    assert [a["relation"] for a in await api.call("GET", "/api/agreements", mina, 200)] == ["invited"]


async def test_a_block_does_not_end_a_live_link(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    link_id = await api.link(ex, mina)
    await block(api, mina, ex.handle)
    for who in (mina, ex):
        [link] = (await api.call("GET", "/api/network", who, 200))["links"]
        assert (link["link_id"], link["status"]) == (link_id, "live")
    # Ending it stays a separate act, which the other sees.
    await api.call("POST", f"/api/links/{link_id}/end", mina, 200)
    [link] = (await api.call("GET", "/api/network", ex, 200))["links"]
    assert link["status"] == "ended"


# --------------------------------------------------------------------------
# The block list: only its owner ever sees it
# --------------------------------------------------------------------------


async def test_my_blocks_are_mine_alone(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    made = await block(api, mina, ex.handle)
    assert made["handle"] == ex.handle and made["person"] is None
    assert await api.call("GET", "/api/me/blocks", mina, 200) == [made]
    assert await api.call("GET", "/api/me/blocks", ex, 200) == []
    # Someone else's block id is not found, exactly as an id that never existed.
    theirs = await api.client.delete(f"/api/me/blocks/{made['block_id']}", headers=ex.headers)
    nothing = await api.client.delete(f"/api/me/blocks/{uuid.uuid4()}", headers=ex.headers)
    assert theirs.status_code == nothing.status_code == 404
    assert UUID_TEXT.sub("<id>", theirs.text) == UUID_TEXT.sub("<id>", nothing.text)
    assert await api.call("GET", "/api/me/blocks", mina, 200) == [made]


async def test_blocking_a_handle_without_an_account_answers_the_same(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    real = await api.client.post("/api/me/blocks", json={"handle": ex.handle}, headers=mina.headers)
    ghost = await api.client.post("/api/me/blocks", json={"handle": unique_handle("ex")}, headers=mina.headers)
    unlike = lambda r: re.sub(r'"(since|handle)":"[^"]*"', "<differs>", UUID_TEXT.sub("<id>", r.text))  # noqa: E731
    assert (real.status_code, unlike(real)) == (ghost.status_code, unlike(ghost))
    assert comparable_headers(real) == comparable_headers(ghost)
    assert real.json()["block_id"] != str(ex.id)
    # Blocking again appends nothing and answers the same block.
    before = await api.position()
    again = await api.client.post("/api/me/blocks", json={"handle": ex.handle}, headers=mina.headers)
    assert again.json() == real.json()
    assert await api.position() == before


async def test_blocking_from_a_persons_page_by_id(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    await api.link(ex, mina)
    made = await api.call("POST", "/api/me/blocks", mina, 201, json={"person_id": ex.sid})
    assert made["handle"] is None and made["person"]["name"] == ex.name
    r = await api.client.post("/api/links", json={"handle": mina.handle}, headers=ex.headers)
    assert r.status_code == 202
    # The proposal went nowhere: Mina still has only the live link.
    assert [link["status"] for link in (await api.call("GET", "/api/network", mina, 200))["links"]] == ["live"]


async def test_bad_blocks_are_refused_and_append_nothing(api: Api) -> None:
    mina = await api.person("mina")
    before = await api.position()
    for body, field in (({}, "handle"), ({"handle": mina.handle}, "handle"), ({"person_id": mina.sid}, "person")):
        r = await api.client.post("/api/me/blocks", json=body, headers=mina.headers)
        problem = assert_problem(r, 422)
        assert [e["field"] for e in problem["errors"]] == [field]
    r = await api.client.post("/api/me/blocks", json={"handle": "x"}, headers=mina.headers)
    assert_problem(r, 400)
    assert await api.position() == before


async def test_block_is_idempotent_by_key(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.client.post("/api/me/blocks", json={"handle": ex.handle}, headers={**mina.headers, **key})
    again = await api.client.post("/api/me/blocks", json={"handle": ex.handle}, headers={**mina.headers, **key})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and again.headers["idempotent-replayed"] == "true"


# --------------------------------------------------------------------------
# The blocker's socket hears nothing of it
# --------------------------------------------------------------------------


async def test_the_blockers_socket_gets_nothing_of_what_the_blocked_person_sends(api: Api) -> None:
    mina, ex, sam = await api.person("mina"), await api.person("ex"), await api.person("sam")
    await block(api, mina, ex.handle)
    agreement_id = (await api.create(ex))["agreement_id"]
    with await api.client.websocket_connect("/api/live") as socket:
        synced(socket, mina)
        await api.call("POST", "/api/links", ex, 202, json={"handle": mina.handle})
        await api.invite(ex, agreement_id, mina.handle)
        # Then something that is Mina's business: the next frame she gets is about it, and nothing came before.
        await api.propose_link(sam, mina)
        proposed_at = await api.position()
        frame = socket.receive_json(timeout=20)
        assert frame["type"] == "update" and frame["position"] == proposed_at, frame
        assert str(ex.id) not in str(frame) and agreement_id not in str(frame)


# --------------------------------------------------------------------------
# Abuse limits on link proposals
# --------------------------------------------------------------------------


async def test_link_proposals_over_the_senders_limit_are_refused_with_429(api: Api, make_client) -> None:
    async with make_client(link_proposals_per_sender_per_hour=2) as client:
        limited = Api(client)
        sky = await limited.person("sky")
        for handle in (unique_handle(), unique_handle()):
            await limited.call("POST", "/api/links", sky, 202, json={"handle": handle})
        before = await limited.position()
        r = await client.post("/api/links", json={"handle": unique_handle()}, headers=sky.headers)
        problem = assert_problem(r, 429, code="link_proposals_per_sender")
        assert "link proposals" in problem["detail"] and int(r.headers["retry-after"]) > 0
        assert await limited.position() == before
        # Someone else is not limited by Sky's count.
        other = await limited.person("kai")
        await limited.call("POST", "/api/links", other, 202, json={"handle": unique_handle()})


async def test_link_proposals_over_the_recipients_limit_answer_as_usual_and_never_arrive(api: Api, make_client) -> None:
    async with make_client(link_proposals_per_recipient_per_hour=1) as client:
        limited = Api(client)
        mina, first, second = await limited.person("mina"), await limited.person("a"), await limited.person("b")
        answers = [
            await client.post("/api/links", json={"handle": mina.handle}, headers=who.headers) for who in (first, second)
        ]
        assert [masked(r) for r in answers] == [masked(answers[0])] * 2
        [link] = (await limited.call("GET", "/api/network", mina, 200))["links"]
        assert link["link_id"] == str(PartnerLink.id_for(first.id, mina.id))
        [pending] = (await limited.call("GET", "/api/network", second, 200))["links"]
        assert pending["status"] == "proposed" and pending["proposed_by_me"]


def synced(socket: Any, who: Person) -> Any:
    """`who` signs in on an open socket, which then catches up."""
    socket.send_json({"type": "auth", "token": who.headers["Authorization"].removeprefix("Bearer "), "since": None})
    assert socket.receive_json(timeout=20)["type"] == "ready"
    while socket.receive_json(timeout=20)["type"] != "synced":
        pass


async def test_a_block_updates_the_blockers_open_page_at_once(api: Api) -> None:
    mina, ex = await api.person("mina"), await api.person("ex")
    await api.propose_link(ex, mina)
    with await api.client.websocket_connect("/api/live") as socket:
        synced(socket, mina)
        await block(api, mina, ex.handle)
        blocked_at = await api.position()
        frame = socket.receive_json(timeout=20)
        assert frame["type"] == "update" and frame["position"] == blocked_at, frame
        [change] = [c for c in frame["changes"] if c["key"] == "network"]
        assert change["view"]["links"] == []


async def test_a_block_sends_the_blocked_person_nothing(api: Api) -> None:
    mina, ex, sam = await api.person("mina"), await api.person("ex"), await api.person("sam")
    await api.propose_link(ex, mina)
    with await api.client.websocket_connect("/api/live") as socket:
        synced(socket, ex)
        await block(api, mina, ex.handle)
        # The next frame is about Ex's own next step: nothing came before it.
        await api.propose_link(ex, sam)
        proposed_at = await api.position()
        frame = socket.receive_json(timeout=20)
        assert frame["type"] == "update" and frame["position"] == proposed_at, frame


async def test_a_repeated_link_proposal_counts_once_against_the_senders_limit(api: Api, make_client) -> None:
    async with make_client(link_proposals_per_sender_per_hour=1) as client:
        limited = Api(client)
        sky = await limited.person("sky")
        headers = {**sky.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"handle": unique_handle()}
        first = await client.post("/api/links", json=body, headers=headers)
        again = await client.post("/api/links", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (202, 202) and again.headers["idempotent-replayed"] == "true"
        r = await client.post("/api/links", json={"handle": unique_handle()}, headers=sky.headers)
        assert_problem(r, 429, code="link_proposals_per_sender")
