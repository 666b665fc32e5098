"""The inbox (GET /api/me/inbox) and email reminders (/api/me/email...): each person's own.

What waits is worked out by the one view function from the agreements a person
is a party of or invited to; an address is confirmed by the link sent to a real
SMTP server (tests/mailbox.py), and nobody else can see or change it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import mailbox
from tests.api.conftest import Api, Person, assert_problem


def kinds(inbox: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["kind"], item["thing_id"]) for item in inbox["items"]]


async def inbox_of(api: Api, who: Person) -> dict[str, Any]:
    found = await api.call("GET", "/api/me/inbox", who, 200)
    assert found["count"] == len(found["items"])
    return found


async def test_the_inbox_lists_what_waits_and_forgets_what_is_answered(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana, "Our weekends"))["agreement_id"]
    assert await inbox_of(api, ben) == {"count": 0, "items": []}

    await api.invite(ana, agreement_id, ben.handle)
    invited = await inbox_of(api, ben)
    assert kinds(invited) == [("invitation", agreement_id)]
    item = invited["items"][0]
    assert item["title"] == "Our weekends" and item["link"] == f"/agreements/{agreement_id}"
    assert item["agreement_id"] == agreement_id and item["since"]

    await api.accept_invitation(ben, agreement_id)
    assert kinds(await inbox_of(api, ben)) == []  # nothing to consent to yet: no clauses
    await api.add_clause(ana, agreement_id, "We keep Sundays for each other.")
    # Both parties have the new version to consent to.
    assert kinds(await inbox_of(api, ana)) == [("consent", agreement_id)]
    assert kinds(await inbox_of(api, ben)) == [("consent", agreement_id)]
    version = (await api.view(ana, agreement_id))["version"]
    await api.consent(ana, agreement_id, version)
    assert kinds(await inbox_of(api, ana)) == []
    await api.consent(ben, agreement_id, version)
    assert kinds(await inbox_of(api, ben)) == []

    # In force: a proposal waits for the other party, a repair note for whoever did not write it.
    clause_id = (await api.view(ana, agreement_id))["clauses"][0]["clause_id"]
    proposal_id, _ = await api.propose(ana, agreement_id, [{"kind": "edit", "clause_id": clause_id, "text": "Sundays, mostly."}])
    assert kinds(await inbox_of(api, ana)) == []
    assert kinds(await inbox_of(api, ben)) == [("proposal", proposal_id)]
    note = {"clause_id": clause_id, "what_happened": "x", "impact": "y", "intentions": "z"}
    written = await api.call("POST", f"/api/agreements/{agreement_id}/repair-notes", ben, 201, json=note)
    note_id = written["repair_notes"][-1]["note_id"]
    assert kinds(await inbox_of(api, ana)) == [("repair_note", note_id)]
    await api.call("POST", f"/api/agreements/{agreement_id}/repair-notes/{note_id}/acknowledge", ana, 200)
    assert kinds(await inbox_of(api, ana)) == []

    # A stranger's inbox holds nothing of it.
    assert await inbox_of(api, await api.person("cy")) == {"count": 0, "items": []}


async def test_an_address_is_confirmed_by_its_link_and_is_nobody_elses(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana, ben = await api.person("ana"), await api.person("ben")
    address = f"{ana.handle}@example.org"
    start = await api.call("GET", "/api/me/email", ana, 200)
    assert start["email_on"] is True and start["address"] is None and start["confirmed"] is False

    added = await api.call("PUT", "/api/me/email", ana, 200, json={"address": address}, headers={"Idempotency-Key": "a1"})
    assert added["address"] == address and added["confirmed"] is False
    # A repeat of the same request sends nothing more.
    await api.call("PUT", "/api/me/email", ana, 200, json={"address": address}, headers={"Idempotency-Key": "a1"})
    [message] = mailbox.shared().wait_for(address)
    text = mailbox.body(message)
    assert ana.name not in text and ana.handle not in text.replace(address, "")
    token = mailbox.confirm_token(message)

    # Nobody else sees it, or can confirm it with the token.
    assert (await api.call("GET", "/api/me/email", ben, 200))["address"] is None
    r = await client.post("/api/me/email/confirm", json={"token": token}, headers=ben.headers)
    assert_problem(r, 422)
    r = await client.post("/api/me/email/confirm", json={"token": "wrong"}, headers=ana.headers)
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "token"

    confirmed = await api.call("POST", "/api/me/email/confirm", ana, 200, json={"token": token})
    assert confirmed["confirmed"] is True
    # Single use.
    assert_problem(await client.post("/api/me/email/confirm", json={"token": token}, headers=ana.headers), 409)

    chosen = await api.call("PUT", "/api/me/email/kinds", ana, 200, json={"kinds": ["proposal", "invitation"]})
    assert chosen["kinds"] == ["invitation", "proposal"]
    r = await client.put("/api/me/email/kinds", json={"kinds": ["gossip"]}, headers=ana.headers)
    assert assert_problem(r, 422)["errors"][0]["field"] == "kinds"

    removed = await api.call("DELETE", "/api/me/email", ana, 200)
    assert removed["address"] is None and removed["confirmed"] is False


async def test_bad_addresses_are_refused_naming_the_field_and_append_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana = await api.person("ana")
    before = await api.position()
    for bad in ("no-at-sign", "a@b", "two@one.org, three@two.org", "x" * 250 + "@example.org"):
        r = await client.put("/api/me/email", json={"address": bad}, headers=ana.headers)
        assert r.status_code in (400, 422), r.text
        assert "address" in r.text
    assert await api.position() == before


async def test_email_routes_are_for_the_signed_in_only(client: AsyncTestClient[Litestar]) -> None:
    for method, path in (
        ("GET", "/api/me/inbox"), ("GET", "/api/me/email"), ("PUT", "/api/me/email"),
        ("POST", "/api/me/email/confirm"), ("PUT", "/api/me/email/kinds"), ("DELETE", "/api/me/email"),
    ):  # fmt: skip
        r = await client.request(method, path, json={} if method in ("PUT", "POST") else None)
        assert_problem(r, 401)


async def test_without_smtp_email_is_off_and_says_so(make_client: Any) -> None:
    async with make_client(smtp_url="") as off:
        api = Api(off)
        ana = await api.person("ana")
        settings = await api.call("GET", "/api/me/email", ana, 200)
        assert settings["email_on"] is False
        r = await off.put("/api/me/email", json={"address": "ana@example.org"}, headers=ana.headers)
        body = assert_problem(r, 422)
        assert "ACCORD_SMTP_URL" in body["errors"][0]["rule"]


async def test_a_confirmation_link_opened_signed_out_comes_back_with_its_token_after_sign_in(
    client: AsyncTestClient[Litestar],
) -> None:
    r = await client.get("/account/email/confirm?token=abc_DEF-1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=%2Faccount%2Femail%2Fconfirm%3Ftoken%3Dabc_DEF-1"
    page = await client.get(r.headers["location"])
    assert 'value="/account/email/confirm?token=abc_DEF-1"' in page.text



async def test_an_open_check_in_waits_for_each_participant_until_they_share(client: AsyncTestClient[Litestar]) -> None:
    from tests.api.test_checkins import C, partners

    api = Api(client)
    mina, theo, view = await partners(api)
    check_in = view["check_in_id"]
    [occurrence] = view["occurrences"]
    for who, other in ((mina, "theo"), (theo, "mina")):
        [item] = (await inbox_of(api, who))["items"]
        assert (item["kind"], item["thing_id"], item["link"]) == ("check_in", check_in, f"/check-ins/{check_in}")
        # Named as the participant sees the other; waiting, for a reminder, from a day before it starts.
        assert item["title"].startswith("with ") and other in item["title"].lower()
        assert item["since"] < occurrence["starts_at"]
    # Preparing is not sharing: it still waits; once shared, it waits for the other only.
    path = f"{C}/{check_in}/occurrences/0"
    await api.call("PUT", f"{path}/preparation", mina, 200, json={"answers": ["a walk", ""]})
    assert kinds(await inbox_of(api, mina)) == [("check_in", check_in)]
    await api.call("POST", f"{path}/share", mina, 200)
    assert kinds(await inbox_of(api, mina)) == []
    assert kinds(await inbox_of(api, theo)) == [("check_in", check_in)]
    # Closed with a plan, the next occurrence opens and waits for both again, under a new key.
    closed = await api.call("POST", f"{path}/close", theo, 200, json={"plan": "Dinner", "action_points": []})
    items = (await inbox_of(api, mina))["items"]
    assert [(i["kind"], i["thing_id"]) for i in items] == [("check_in", check_in)]
    assert items[0]["key"].startswith(f"check_in:{check_in}:{closed['open_index']}:")
    # Paused, nothing waits; a partner of Theo's who is not in it, and a stranger, never see it.
    await api.call("POST", f"{C}/{check_in}/pause", theo, 200)
    assert kinds(await inbox_of(api, mina)) == [] and kinds(await inbox_of(api, theo)) == []
    sam = await api.person("sam")
    await api.link(theo, sam)
    await api.call("POST", f"{C}/{check_in}/resume", mina, 200)
    assert kinds(await inbox_of(api, sam)) == []


async def test_a_clause_due_for_review_waits_for_each_party_until_they_reaffirm_it(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    ana, ben, agreement_id, clause_id = await api.due_for_review()
    for who in (ana, ben):
        [item] = (await inbox_of(api, who))["items"]
        assert (item["kind"], item["thing_id"], item["agreement_id"]) == ("review", clause_id, agreement_id)
        assert item["link"] == f"/agreements/{agreement_id}#clause-{clause_id}"
    path = f"/api/agreements/{agreement_id}/clauses/{clause_id}/reaffirm"
    await api.call("POST", path, ana, 200, json={"revision": 1})
    assert kinds(await inbox_of(api, ana)) == []
    assert kinds(await inbox_of(api, ben)) == [("review", clause_id)]
    await api.call("POST", path, ben, 200, json={"revision": 1})
    assert kinds(await inbox_of(api, ben)) == []
