"""Discarding a draft, and deleting an account (crypto-shredding), on both stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.policy import FORMER_MEMBER
from service.store import connect
from tests import checkins, plans
from tests.api.conftest import PASSWORD, Api, Person
from tests.api.test_at_rest import leaked, marker, person, raw_dump
from tests.servers import sealed


@asynccontextmanager
async def opened(store_url: str) -> AsyncIterator[Any]:
    """The database as a service reads it (sealed, opened with the master key), on this test's loop."""
    store = connect(store_url)
    await store.open()
    try:
        yield sealed(store)
    finally:
        await store.close()


async def has_key(store_url: str, owner: uuid.UUID | str) -> bool:
    owner = uuid.UUID(str(owner))
    async with opened(store_url) as store:
        return owner in await store.data_keys([owner])


# Discarding a draft


async def test_a_sole_party_discards_a_draft_at_once_and_its_key_is_destroyed(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    ana = await api.person("ana")
    agreement_id = (await api.create(ana, "Just an idea"))["agreement_id"]
    await api.add_clause(ana, agreement_id, "A first thought.")
    assert await has_key(store_url, agreement_id)
    gone = await api.call("POST", f"/api/agreements/{agreement_id}/discard", ana, 200)
    assert gone == {"agreement_id": agreement_id, "relation": "former", "title": "Just an idea", "status": "discarded"}
    for path in ("", "/timeline", "/versions/1", "/grants"):
        await api.call("GET", f"/api/agreements/{agreement_id}{path}", ana, 404)
    # Nor can anything be added to it: no process decides on what it kept of the stream.
    await api.call("POST", f"/api/agreements/{agreement_id}/clauses", ana, 404, json={"topic": "other", "text": "More."})
    await api.call("POST", f"/api/agreements/{agreement_id}/discard", ana, 404)
    assert agreement_id not in [a["agreement_id"] for a in await api.call("GET", "/api/agreements", ana, 200)]
    assert not await has_key(store_url, agreement_id)
    # Its events keep their places in the log, unreadable by anyone now.
    async with opened(store_url) as store:
        stream = await store.inner.read_stream(uuid.UUID(agreement_id))
        assert len(stream) == 4 and all(e.state[:1] == b"\x01" for e in stream)
        assert await store.read_stream(uuid.UUID(agreement_id)) == []


async def test_a_draft_is_discarded_when_every_party_has_asked(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    ana, ben, agreement_id = await api.pair("Ours to drop")
    cid = await api.person("cid")
    await api.invite(ana, agreement_id, cid.handle)
    base = f"/api/agreements/{agreement_id}"
    asked = await api.call("POST", f"{base}/discard", ana, 200)
    assert asked["discard_asked"] == [ana.sid] and asked["status"] == "drafting"
    assert (await api.view(ben, agreement_id))["discard_asked"] == [ana.sid]
    problem = await api.call("POST", f"{base}/discard", ana, 409)
    assert problem["type"].endswith("/already_done")
    assert (await api.call("DELETE", f"{base}/discard", ana, 200))["discard_asked"] == []
    problem = await api.call("DELETE", f"{base}/discard", ana, 409)
    assert problem["current"] == {"id": agreement_id, "asked_to_discard": False}
    await api.call("POST", f"{base}/discard", ana, 200)
    gone = await api.call("POST", f"{base}/discard", ben, 200)
    assert gone["relation"] == "former"
    for who in (ana, ben):
        await api.call("GET", base, who, 404)
    # The invitee's invitation is gone with it.
    await api.call("GET", f"{base}/invitation", cid, 404)
    assert agreement_id not in [a["agreement_id"] for a in await api.call("GET", "/api/agreements", cid, 200)]
    assert not await has_key(store_url, agreement_id)


async def test_an_agreement_in_force_is_not_discarded(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    ana, ben, agreement_id = await api.pair()
    await api.add_clause(ana, agreement_id, "Text.")
    await api.ratify(ana, ben, agreement_id)
    problem = await api.call("POST", f"/api/agreements/{agreement_id}/discard", ana, 409)
    assert problem["type"].endswith("/in_force")
    assert await has_key(store_url, agreement_id)


async def test_the_last_party_to_leave_takes_the_agreements_key(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    ana, ben, agreement_id = await api.pair()
    await api.call("POST", f"/api/agreements/{agreement_id}/leave", ana, 200)
    assert await has_key(store_url, agreement_id)  # Ben is still in it: the text is his too
    assert (await api.view(ben, agreement_id))["parties"] == [{"person_id": ben.sid, "name": ben.name}]
    await api.call("POST", f"/api/agreements/{agreement_id}/leave", ben, 200)
    assert not await has_key(store_url, agreement_id)


# Deleting an account


async def test_deleting_an_account_needs_the_password_and_appends_nothing_without_it(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana = await api.person("ana")
    before = await api.position()
    problem = await api.call("DELETE", "/api/me", ana, 422, json={"password": "not it"})
    assert problem["errors"] == [{"field": "password", "rule": "is not this account's password"}]
    problem = await api.call("DELETE", "/api/me", ana, 400, json={})
    assert problem["errors"][0]["field"] == "password"
    await api.call("DELETE", "/api/me", None, 401, json={"password": PASSWORD})
    assert await api.position() == before
    assert (await api.call("GET", "/api/me", ana, 200))["handle"] == ana.handle


async def test_a_deleted_account_leaves_a_former_member_and_nothing_of_them(
    client: AsyncTestClient[Litestar], store_url: str
) -> None:
    api = Api(client)
    m = {k: marker(k) for k in ("benhandle", "benname", "ours", "solo", "bencomment", "benclause")}
    ana, sol, cid, dee = [await api.person(n) for n in ("ana", "sol", "cid", "dee")]
    ben = await person(api, m["benhandle"], m["benname"])
    # Ours: Ana and Ben, in force, with Ben's words in it; Sol (Ana's partner) sees it through a grant.
    ours = (await api.create(ana, m["ours"]))["agreement_id"]
    await api.invite(ana, ours, ben.handle)
    await api.accept_invitation(ben, ours)
    await api.add_clause(ben, ours, m["benclause"])
    await api.ratify(ana, ben, ours)
    proposal, _ = await api.propose(ana, ours, [{"kind": "add", "topic": "privacy", "text": "No photos."}])
    await api.call("POST", f"/api/agreements/{ours}/proposals/{proposal}/comments", ben, 201, json={"text": m["bencomment"]})
    await api.link(ana, sol)
    grant = await api.call("POST", f"/api/agreements/{ours}/grants", ana, 201, json={"audience": sol.handle, "scopes": ["identity", "clauses:boundaries"]})
    await api.call("POST", f"/api/agreements/{ours}/grants/{grant['grant_id']}/consent", ben, 200)
    # A grant Ben proposed that Ana has not answered: it ends with him.
    pending = await api.call("POST", f"/api/agreements/{ours}/grants", ben, 201, json={"audience": sol.handle, "scopes": ["history"]})
    # Ben's alone, a pending invitation to him, a live link and a link proposal to him.
    solo = (await api.create(ben, m["solo"]))["agreement_id"]
    theirs = (await api.create(cid, "Cid's"))["agreement_id"]
    await api.invite(cid, theirs, ben.handle)
    await api.link(ben, dee)
    await api.propose_link(cid, ben)
    ben_id = ben.id

    await api.call("DELETE", "/api/me", ben, 204, json={"password": PASSWORD})

    # He is signed out everywhere and cannot sign in; his handle is free.
    await api.call("GET", "/api/me", ben, 401)
    r = await client.post("/api/sessions", json={"handle": ben.handle, "password": PASSWORD})
    assert r.status_code == 401
    # His key is gone: what was sealed with it cannot be read, with the master key or without.
    assert not await has_key(store_url, ben_id)
    assert not await has_key(store_url, solo)  # nobody is left in it
    assert await has_key(store_url, ours)  # Ana's too: it stays with her
    # The agreement goes on for Ana: she reads its text, Ben's words included, and sees that a member left.
    view = await api.view(ana, ours)
    assert [p["person_id"] for p in view["parties"]] == [ana.sid]
    assert m["benclause"] in str(view) and m["bencomment"] in str(view)
    assert view["status"] == "drafting"  # consent starts afresh, as when anyone leaves
    timeline = await api.call("GET", f"/api/agreements/{ours}/timeline", ana, 200)
    assert [e["kind"] for e in timeline][-1] == "left"
    # The timeline page names who left as a former member (the API gives ids; ids name nobody now).
    token = ana.headers["Authorization"].removeprefix("Bearer ")
    page = await client.get(f"/agreements/{ours}/timeline", headers={"Cookie": f"accord_session={token}"})
    assert page.status_code == 200 and f"<strong>{FORMER_MEMBER}</strong> left;" in page.text, page.text
    assert m["benname"] not in page.text
    grants = await api.call("GET", f"/api/agreements/{ours}/grants", ana, 200)
    assert {g["grant_id"]: g["revoked"] for g in grants} == {grant["grant_id"]: False, pending["grant_id"]: True}
    # Nothing anyone may see names him any more.
    seen = [
        view, timeline, grants,
        await api.call("GET", "/api/network", ana, 200), await api.call("GET", "/api/network", dee, 200),
        await api.call("GET", "/api/network", cid, 200), await api.call("GET", "/api/network", sol, 200),
        await api.view(cid, theirs), await api.call("GET", f"/api/agreements/{theirs}/timeline", cid, 200),
        await api.call("GET", f"/api/agreements/{ours}", sol, 404), await api.call("GET", "/api/agreements", sol, 200),
    ]  # fmt: skip
    for shown in seen:
        assert m["benname"] not in str(shown) and m["benhandle"] not in str(shown).casefold(), shown
    assert (await api.view(cid, theirs))["invitations"] == []
    # Ana's export says who left as the pages do, and nothing of who he was.
    exported = await api.call("GET", "/api/me/export", ana, 200)
    (entry,) = [a for a in exported["agreements"] if a["agreement_id"] == ours]
    assert entry["names"][ben.sid] == FORMER_MEMBER
    assert m["benname"] not in str(exported) and m["benhandle"] not in str(exported).casefold()
    markdown = (await client.get("/api/me/export.md", headers=ana.headers)).text
    assert FORMER_MEMBER in markdown and m["benname"] not in markdown
    # Nor does the database, read with the master key: every stream, every account.
    async with opened(store_url) as store:
        every = await store.read_log(0, limit=100_000)
        accounts = await store.accounts_by_ids([ben_id])
    assert accounts[ben_id].display_name == FORMER_MEMBER and accounts[ben_id].handle == ""
    plain = b"".join(e.state for e in every)
    assert m["benname"].encode() not in plain and m["benhandle"].casefold().encode() not in plain
    assert leaked(raw_dump(store_url), {k: m[k] for k in ("benhandle", "benname")}) == []


async def test_deleting_twice_is_refused_once_signed_out(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana: Person = await api.person("ana")
    await api.call("DELETE", "/api/me", ana, 204, json={"password": PASSWORD})
    await api.call("DELETE", "/api/me", ana, 401, json={"password": PASSWORD})


async def test_a_deleted_account_takes_its_check_ins_between_partners_with_it(
    client: AsyncTestClient[Litestar], store_url: str
) -> None:
    api = Api(client)
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    check_in = (await api.call("POST", "/api/check-ins", ana, 201, json=checkins.weekly(partner_id=ben.sid)))["check_in_id"]
    assert await has_key(store_url, check_in)

    await api.call("DELETE", "/api/me", ben, 204, json={"password": PASSWORD})

    await api.call("GET", f"/api/check-ins/{check_in}", ana, 404)
    assert not await has_key(store_url, check_in)


async def test_a_deleted_account_takes_its_personal_documents_with_it(
    client: AsyncTestClient[Litestar], store_url: str
) -> None:
    """Their documents are deleted for everyone they were shared with, and the documents' keys destroyed;
    a document someone else shared with them stays that person's."""
    api = Api(client)
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    plan = {"kind": "care_plan", "sections": [{"text": "Racing heart."}, {"text": ""}, {"text": ""}, {"text": ""}]}
    bens = (await api.call("POST", "/api/documents", ben, 201, json=plan))["document_id"]
    anas = (await api.call("POST", "/api/documents", ana, 201, json=plan))["document_id"]
    await api.call("POST", f"/api/documents/{bens}/shares", ben, 200, json={"partner_id": ana.sid})
    await api.call("POST", f"/api/documents/{anas}/shares", ana, 200, json={"partner_id": ben.sid})
    await api.call("GET", f"/api/documents/{bens}", ana, 200)

    await api.call("DELETE", "/api/me", ben, 204, json={"password": PASSWORD})
    await api.call("GET", f"/api/documents/{bens}", ana, 404)
    assert [d["document_id"] for d in await api.call("GET", "/api/documents", ana, 200)] == [anas]
    assert not await has_key(store_url, bens)
    assert await has_key(store_url, anas)


async def test_a_deleted_account_takes_the_plans_it_was_in_with_it(
    client: AsyncTestClient[Litestar], store_url: str
) -> None:
    """A plan's text is partly theirs (their answer's note here): it is cancelled, so it holds nobody's
    time (as the calendar and booking rules read plans by time), and its key destroyed, for everyone
    who was in it."""
    api = Api(client)
    mina, theo, sam = await api.person("mina"), await api.person("theo"), await api.person("sam")
    await api.link(mina, theo)
    await api.link(mina, sam)
    plan_id = (await api.call("POST", "/api/plans", mina, 201, json=plans.plan_body(theo, sam)))["plan_id"]
    await api.call("POST", f"/api/plans/{plan_id}/answer", sam, 200, json={"answer": "accepted", "note": "wine!"})

    def slots(who: Person) -> list[uuid.UUID]:
        """The read side asked directly, on the app's own loop (its database pool lives there)."""
        window = (plans.START - timedelta(days=1), plans.START + timedelta(days=1))
        found = client.blocking_portal.call(client.app.state.accord.visibility.plan_slots, who.id, *window)
        return [slot.id for slot in found]

    assert slots(mina) == [uuid.UUID(plan_id)]

    await api.call("DELETE", "/api/me", sam, 204, json={"password": PASSWORD})

    for who in (mina, theo):
        await api.call("GET", f"/api/plans/{plan_id}", who, 404)
        assert await api.call("GET", "/api/plans", who, 200) == []
        assert slots(who) == []
    assert not await has_key(store_url, plan_id)
