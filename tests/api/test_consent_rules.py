"""The consent rules of issue 4, end to end over HTTP, on both stores.

Each test builds its own small network on the module's shared app: Mina and Jo
are partners and the two parties of an agreement in force with a safer_sex
and a scheduling clause; Sam is Jo's partner, so Mina's metamour. Every text
carries a unique marker, so "Sam does not see X" is a substring search over
everything Sam receives.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain import policy
from domain.network import PartnerLink
from tests.api.conftest import (
    MARKER,
    PROBLEM,
    PSEUDONYM_KEY,
    PSEUDONYM_NAME,
    Api,
    Person,
    is_pseudonym,
    mark,
    marker,
    named,
    unique_handle,
    wait_until_ready,
)

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_FOUND = {
    "type": "https://accord.example/problems/not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "not found",
}


# --------------------------------------------------------------------------
# A small network per test
# --------------------------------------------------------------------------


@dataclass
class Net:
    api: Api
    secret: bytes
    people: dict[str, Person] = field(default_factory=dict)
    a: str = ""
    s: str = ""
    c: str = ""
    texts: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    @property
    def client(self) -> AsyncTestClient[Litestar]:
        return self.api.client

    def pseudo(self, person: str, viewer: str) -> dict[str, Any]:
        ref = policy.pseudonym(self[person].id, self[viewer].id, self.secret)
        return {"key": ref.key, "name": ref.name, "person_id": None}

    async def get(self, path: str, who: str | None) -> Any:
        headers = self[who].headers if who else {}
        return await self.client.get(path, headers=headers)

    async def view(self, who: str, status: int = 200) -> Any:
        return await self.api.call("GET", f"/api/agreements/{self.a}", self[who], status)

    async def position(self) -> int:
        return await self.api.position()


async def end(api: Api, who: Person, link_id: str) -> None:
    state = await api.call("POST", f"/api/links/{link_id}/end", who, 200)
    assert state["status"] == "ended"


async def network(client: AsyncTestClient[Litestar], *extra: str) -> Net:
    """Mina - Jo - Sam, plus `extra` people with no links; A ratified between Mina and Jo."""
    await wait_until_ready(client)
    api = Api(client)
    net = Net(api=api, secret=client.app.state.accord.visibility.secret())
    for name in ("mina", "jo", "sam", *extra):
        net.people[name] = await api.person(name)
    await api.link(net["mina"], net["jo"])
    await api.link(net["jo"], net["sam"])
    net.texts = {"title": mark("Mina and Jo"), "S": mark("condoms always"), "C": mark("Tuesdays")}
    net.a = (await api.create(net["mina"], net.texts["title"]))["agreement_id"]
    await api.invite(net["mina"], net.a, net["jo"].handle)
    await api.accept_invitation(net["jo"], net.a)
    net.s = (await api.add_clause(net["mina"], net.a, net.texts["S"], "safer_sex"))["clause_id"]
    net.c = (await api.add_clause(net["mina"], net.a, net.texts["C"], "scheduling"))["clause_id"]
    await api.ratify(net["mina"], net["jo"], net.a)
    return net


@pytest.fixture
def make_network(client: AsyncTestClient[Litestar]) -> Callable[..., Awaitable[Net]]:
    return lambda *extra: network(client, *extra)


async def propose_grant(
    net: Net, proposer: str, audience: str, scopes: list[str], until: datetime | None = None
) -> dict[str, Any]:
    handle = net[audience].handle if audience in net.people else audience
    body: dict[str, Any] = {"audience": handle, "scopes": scopes}
    if until is not None:
        body["until"] = until.isoformat()
    return await net.api.call("POST", f"/api/agreements/{net.a}/grants", net[proposer], 201, json=body)


async def consent(net: Net, who: str, grant_id: str, status: int = 200) -> dict[str, Any]:
    return await net.api.call("POST", f"/api/agreements/{net.a}/grants/{grant_id}/consent", net[who], status)


async def revoke(net: Net, who: str, grant_id: str, status: int = 200) -> dict[str, Any]:
    return await net.api.call("POST", f"/api/agreements/{net.a}/grants/{grant_id}/revoke", net[who], status)


async def shared_grant(net: Net, scopes: list[str], audience: str = "sam") -> str:
    """Mina proposes, Jo consents: active and holding."""
    grant = await propose_grant(net, "mina", audience, scopes)
    grant = await consent(net, "jo", grant["grant_id"])
    assert grant["active"] is True
    return grant["grant_id"]


def sams_view(net: Net, clauses: list[dict[str, Any]], scopes: list[str] | None = None) -> dict[str, Any]:
    scopes = scopes or ["clauses:safer_sex"]
    return {
        "agreement_id": net.a,
        "access": "metamour",
        "title": None,
        "parties": sorted([net.pseudo("mina", "sam"), net.pseudo("jo", "sam")], key=lambda r: r["key"]),
        "scopes": sorted(scopes),
        "clauses": clauses,
        "history": [],
        "links": [],
        "no_reshare": False,
    }


def s_clause(net: Net, text: str | None = None) -> dict[str, Any]:
    return {"clause_id": net.s, "topic": "safer_sex", "text": text or net.texts["S"]}


async def assert_hidden_from(net: Net, who: str) -> None:
    """404 exactly as for an agreement that does not exist, and absent from their list."""
    r = await net.get(f"/api/agreements/{net.a}", who)
    other = await net.get(f"/api/agreements/{uuid4()}", who)
    assert r.status_code == 404 and r.json() == NOT_FOUND, r.text
    assert (r.status_code, r.headers["content-type"], r.content) == (
        other.status_code,
        other.headers["content-type"],
        other.content,
    )
    mine = await net.api.call("GET", "/api/agreements", net[who], 200)
    assert net.a not in [s["agreement_id"] for s in mine]


async def grant_of(net: Net, who: str, grant_id: str) -> dict[str, Any]:
    grants = await net.api.call("GET", f"/api/agreements/{net.a}/grants", net[who], 200)
    [found] = [g for g in grants if g["grant_id"] == grant_id]
    return found


# --------------------------------------------------------------------------
# Every party consents, and every current party
# --------------------------------------------------------------------------


async def test_a_grant_is_inactive_until_every_party_consents(make_network) -> None:
    net = await make_network()
    mina, jo = net["mina"], net["jo"]
    proposed = await propose_grant(net, "mina", "sam", ["clauses:safer_sex"])
    assert proposed["consented_by"] == [mina.sid] and proposed["waiting_for"] == [jo.sid]
    assert proposed["active"] is False and proposed["holds_through"] is None
    assert (proposed["holds"], proposed["why_not"]) == (False, "awaiting_consent")
    await assert_hidden_from(net, "sam")

    consented = await consent(net, "jo", proposed["grant_id"])
    assert consented["consented_by"] == [mina.sid, jo.sid] and consented["waiting_for"] == []
    assert consented["active"] is True
    assert (consented["holds"], consented["why_not"]) == (True, None)
    # Jo sees Sam, his partner, by name; the path runs Mina - Jo - Sam.
    assert consented["holds_through"] == {
        "audience": named(net["sam"]),
        "grant_id": proposed["grant_id"],
        "party": named(mina),
        "partner": named(jo),
    }
    assert await net.view("sam") == sams_view(net, [s_clause(net)])
    assert {"agreement_id": net.a, "relation": "shared"} in await net.api.call("GET", "/api/agreements", net["sam"], 200)
    # Consent counts once.
    problem = await consent(net, "jo", proposed["grant_id"], 409)
    assert problem["type"].endswith("/already_done")


async def test_a_party_who_joins_later_makes_the_grant_inactive_until_they_consent(make_network) -> None:
    net = await make_network("lee")
    lee = net["lee"]
    grant_id = await shared_grant(net, ["clauses:safer_sex"])
    assert await net.view("sam") == sams_view(net, [s_clause(net)])

    await net.api.invite(net["mina"], net.a, lee.handle)
    assert await net.view("sam") == sams_view(net, [s_clause(net)]), "an invitation alone changes nothing"
    await net.api.accept_invitation(lee, net.a)
    await assert_hidden_from(net, "sam")
    waiting = await grant_of(net, "mina", grant_id)
    assert waiting["waiting_for"] == [lee.sid] and waiting["active"] is False
    assert (waiting["holds"], waiting["why_not"]) == (False, "awaiting_consent")

    await consent(net, "lee", grant_id)
    # Active again, but a change of parties took the agreement back to drafting:
    # nothing is in force, so there is no clause text to show.
    view = await net.view("sam")
    assert view["clauses"] == [] and view["scopes"] == ["clauses:safer_sex"] and len(view["parties"]) == 3

    version = (await net.view("mina"))["version"]
    for who in ("mina", "jo", "lee"):
        await net.api.consent(net[who], net.a, version)
    assert (await net.view("sam"))["clauses"] == [s_clause(net)]


async def test_revocation_is_immediate(make_network) -> None:
    net = await make_network()
    grant_id = await shared_grant(net, ["clauses:safer_sex"])
    assert (await net.view("sam"))["clauses"] == [s_clause(net)]

    revoked = await revoke(net, "jo", grant_id)
    assert revoked["revoked"] is True and revoked["active"] is False and revoked["holds_through"] is None
    assert (revoked["holds"], revoked["why_not"]) == (False, "revoked")
    assert await grant_of(net, "jo", grant_id) == revoked, "the command answers what GET says"
    await assert_hidden_from(net, "sam")  # the very next read
    network = await net.api.call("GET", "/api/network", net["sam"], 200)
    assert marker(net.texts["S"]) not in str(network)
    # Revocation is final.
    assert (await consent(net, "mina", grant_id, 409))["type"].endswith("/grant_revoked")
    assert (await revoke(net, "mina", grant_id, 409))["type"].endswith("/grant_revoked")
    await assert_hidden_from(net, "sam")


# --------------------------------------------------------------------------
# End dates
# --------------------------------------------------------------------------


async def wait_for_position_above(net: Net, position: int, timeout: float = 10.0) -> int:
    """Poll GET /health until the log moves past `position`, or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        now = await net.position()
        if now > position:
            return now
        assert asyncio.get_running_loop().time() < deadline, f"nothing was appended after {position}"
        await asyncio.sleep(0.1)


async def test_a_grant_lapses_at_its_end_date(make_network) -> None:
    net = await make_network()
    until = datetime.now(UTC) + timedelta(seconds=2)
    proposed = await propose_grant(net, "mina", "sam", ["clauses:safer_sex"], until=until)
    assert datetime.fromisoformat(proposed["until"]) == until
    assert (await consent(net, "jo", proposed["grant_id"]))["active"] is True
    assert (await net.view("sam"))["clauses"] == [s_clause(net)]

    # The service appends the lapse itself: the log moves without anyone doing anything.
    before = await net.position()
    await wait_for_position_above(net, before)
    assert datetime.now(UTC) >= until
    await assert_hidden_from(net, "sam")
    lapsed = await grant_of(net, "mina", proposed["grant_id"])
    assert lapsed["active"] is False and lapsed["holds_through"] is None
    assert (lapsed["holds"], lapsed["why_not"]) == (False, "lapsed")
    assert (await consent(net, "jo", proposed["grant_id"], 409))["type"].endswith("/grant_lapsed")
    # Appended once: later polls find nothing more to do.
    after = await net.position()
    await asyncio.sleep(0.3)
    assert await net.position() == after


async def test_moving_the_clock_past_the_end_date_lapses_the_grant(make_network, client) -> None:
    net = await make_network()
    until = datetime.now(UTC) + timedelta(days=1)
    proposed = await propose_grant(net, "mina", "sam", ["clauses:safer_sex"], until=until)
    await consent(net, "jo", proposed["grant_id"])
    assert (await net.view("sam"))["clauses"] == [s_clause(net)]

    accord = client.app.state.accord
    original = accord.clock
    later = until + timedelta(hours=1)
    before = await net.position()
    accord.clock = lambda: later
    try:
        await wait_for_position_above(net, before)  # the Lapsed event: this part works
        lapsed = await grant_of(net, "mina", proposed["grant_id"])
        assert lapsed["active"] is False
        assert (lapsed["holds"], lapsed["why_not"]) == (False, "lapsed")
        await assert_hidden_from(net, "sam")
    finally:
        accord.clock = original


# --------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ended", ["jo-sam", "mina-jo"])
async def test_an_ended_link_ends_the_view_and_only_a_fresh_grant_restores_it(make_network, ended: str) -> None:
    net = await make_network()
    first, second = ended.split("-")
    grant_id = await shared_grant(net, ["clauses:safer_sex"])
    assert (await net.view("sam"))["clauses"] == [s_clause(net)]
    link_id = str(PartnerLink.id_for(net[first].id, net[second].id))

    await end(net.api, net[second], link_id)
    await assert_hidden_from(net, "sam")
    ended = await grant_of(net, "mina", grant_id)
    assert ended["holds_through"] is None
    # Nobody withdrew consent, but the grant is over: the parties are told so, and why.
    assert (ended["active"], ended["holds"], ended["why_not"]) == (True, False, "link_ended")
    audience = f"/api/agreements/{net.a}/clauses/{net.s}/audience"
    assert await net.api.call("GET", audience, net["mina"], 200) == []

    # Mended, the link is live again, but nobody consented to this new stretch of it.
    await net.api.link(net[first], net[second])  # proposed again and confirmed: a new live stretch
    await assert_hidden_from(net, "sam")
    assert await net.api.call("GET", audience, net["mina"], 200) == []
    assert (await grant_of(net, "mina", grant_id))["why_not"] == "link_ended"

    # Fresh consent: a new grant, proposed by Jo this time.
    fresh = await propose_grant(net, "jo", "sam", ["clauses:safer_sex"])
    await assert_hidden_from(net, "sam")
    fresh = await net.api.call(
        "POST", f"/api/agreements/{net.a}/grants/{fresh['grant_id']}/consent", net["mina"], 200
    )
    assert fresh["active"] is True and fresh["holds_through"] is not None
    assert (fresh["holds"], fresh["why_not"]) == (True, None)
    assert await net.view("sam") == sams_view(net, [s_clause(net)])
    [seen] = await net.api.call("GET", audience, net["mina"], 200)
    assert seen["grant_id"] == fresh["grant_id"]
    old = await grant_of(net, "mina", grant_id)
    assert (old["holds_through"], old["why_not"]) == (None, "link_ended"), "the old grant stays dead"


async def test_a_grant_to_someone_who_is_not_a_metamour_says_so_to_every_party(make_network) -> None:
    net = await make_network("sky")
    proposed = await propose_grant(net, "mina", "sky", ["clauses:safer_sex"])
    # Until every party consented, it only waits: Mina alone learns nothing of Jo's partners' links.
    assert (proposed["active"], proposed["holds"], proposed["why_not"]) == (False, False, "awaiting_consent")

    consented = await consent(net, "jo", proposed["grant_id"])
    assert (consented["active"], consented["holds"], consented["why_not"]) == (True, False, "not_a_metamour")
    assert consented["holds_through"] is None
    for party in ("mina", "jo"):
        assert (await grant_of(net, party, proposed["grant_id"]))["why_not"] == "not_a_metamour"
    await assert_hidden_from(net, "sky")

    # Sky and Jo become partners only now: Sky is Mina's metamour, through a link nobody consented to.
    await net.api.link(net["jo"], net["sky"])
    later = await grant_of(net, "mina", proposed["grant_id"])
    assert (later["active"], later["holds"], later["why_not"]) == (True, False, "linked_after_consent")
    await assert_hidden_from(net, "sky")
    # A fresh grant covers the new link.
    fresh = await propose_grant(net, "jo", "sky", ["clauses:safer_sex"])
    fresh = await consent(net, "mina", fresh["grant_id"])
    assert (fresh["holds"], fresh["why_not"]) == (True, None)
    assert (await net.view("sky"))["clauses"] == [s_clause(net)]


# --------------------------------------------------------------------------
# Scopes: history, relationship, identity
# --------------------------------------------------------------------------


async def test_history_shows_the_history_of_the_shared_topics_only(make_network) -> None:
    net = await make_network()
    api, mina, jo = net.api, net["mina"], net["jo"]
    # A second agreement, so that drafts, renegotiations and other topics all have a history.
    t = {k: mark(k) for k in ("S0", "S1", "S2", "C1", "C2", "reason")}
    net.a = (await api.create(mina, mark("history")))["agreement_id"]
    await api.invite(mina, net.a, jo.handle)
    await api.accept_invitation(jo, net.a)
    net.s = (await api.add_clause(mina, net.a, t["S0"], "safer_sex"))["clause_id"]
    net.c = (await api.add_clause(mina, net.a, t["C1"], "scheduling"))["clause_id"]
    await api.edit_clause(jo, net.a, net.s, t["S1"], 1)  # S0 was only ever a draft
    await api.ratify(mina, jo, net.a)
    proposal_id, _ = await api.propose(
        mina,
        net.a,
        [
            {"kind": "edit", "clause_id": net.s, "text": t["S2"]},
            {"kind": "edit", "clause_id": net.c, "text": t["C2"]},
        ],
        reason=t["reason"],
    )
    adopted = await api.call("POST", f"/api/agreements/{net.a}/proposals/{proposal_id}/accept", jo, 200)
    assert adopted["in_force_version"] == adopted["version"]

    await shared_grant(net, ["clauses:safer_sex", "history"])
    r = await net.get(f"/api/agreements/{net.a}", "sam")
    view = r.json()
    history = view.pop("history")
    expected = sams_view(net, [s_clause(net, t["S2"])], ["clauses:safer_sex", "history"])
    del expected["history"]
    assert view == expected
    assert [(h["clause_id"], h["topic"], h["change"], h["text"]) for h in history] == [
        (net.s, "safer_sex", "added", t["S1"]),
        (net.s, "safer_sex", "edited", t["S2"]),
    ]
    assert datetime.fromisoformat(history[0]["at"]) < datetime.fromisoformat(history[1]["at"])
    assert view["clauses"] == [s_clause(net, t["S2"])]
    found = set(MARKER.findall(r.text))
    assert found == {marker(t["S1"]), marker(t["S2"])}, "no draft, no other topic, no reason"
    # History of what is shared is not the timeline: that stays the parties'.
    assert (await net.get(f"/api/agreements/{net.a}/timeline", "sam")).status_code == 404


async def test_relationship_with_identity_shows_the_parties_link_by_name(make_network) -> None:
    net = await make_network()
    mina, jo = net["mina"], net["jo"]
    await shared_grant(net, ["clauses:safer_sex", "relationship", "identity"])
    view = await net.view("sam")
    pair = sorted([mina.sid, jo.sid])
    assert view["parties"] == sorted([named(mina), named(jo)], key=lambda r: r["key"])
    assert view["links"] == [{"a": pair[0], "b": pair[1]}]
    known = (await net.api.call("GET", "/api/network", net["sam"], 200))["known_links"]
    first, second = sorted([named(mina), named(jo)], key=lambda r: r["key"])
    assert known == [{"a": first, "b": second}]


async def test_do_not_reshare_is_shown_to_the_audience(make_network) -> None:
    net = await make_network()
    r = await net.client.post(
        f"/api/agreements/{net.a}/grants",
        json={"audience": net["sam"].handle, "scopes": ["clauses:safer_sex"], "no_reshare": True},
        headers=net["mina"].headers,
    )
    assert r.status_code == 201 and r.json()["no_reshare"] is True
    await consent(net, "jo", r.json()["grant_id"])
    assert await net.view("sam") == {**sams_view(net, [s_clause(net)]), "no_reshare": True}


async def test_relationship_without_identity_shows_the_link_between_pseudonyms(make_network) -> None:
    net = await make_network()
    await shared_grant(net, ["clauses:safer_sex", "relationship"])
    view = await net.view("sam")
    keys = sorted(p["key"] for p in view["parties"])
    assert view == {
        **sams_view(net, [s_clause(net)], ["clauses:safer_sex", "relationship"]),
        "links": [{"a": keys[0], "b": keys[1]}],
    }
    # Without `relationship`, no link is shown (Alex-like grant to a second metamour).
    kai = await net.api.person("kai")
    net.people["kai"] = kai
    await net.api.link(net["jo"], kai)
    await shared_grant(net, ["clauses:safer_sex"], audience="kai")
    assert (await net.view("kai"))["links"] == []
    assert (await net.api.call("GET", "/api/network", kai, 200))["known_links"] == []


async def test_relationship_without_identity_names_nobody_in_the_network(make_network) -> None:
    net = await make_network()
    await shared_grant(net, ["clauses:safer_sex", "relationship"])
    view = await net.view("sam")
    known = (await net.api.call("GET", "/api/network", net["sam"], 200))["known_links"]
    assert len(known) == 1
    # The same two people the agreement view shows, under the same pseudonyms.
    assert sorted([known[0]["a"]["key"], known[0]["b"]["key"]]) == sorted(p["key"] for p in view["parties"])
    assert all(is_pseudonym(ref) for ref in known[0].values())


async def test_disclosure_chooses_per_audience_whether_a_name_shows(make_network) -> None:
    net = await make_network("kai", "sky")
    api, mina, jo, kai, sky = net.api, net["mina"], net["jo"], net["kai"], net["sky"]
    await api.link(mina, kai)
    seen: list[dict[str, Any]] = []

    async def other_in(viewer: Person, person: Person) -> dict[str, Any]:
        body = await api.call("GET", "/api/network", viewer, 200)
        link_id = str(PartnerLink.id_for(viewer.id, person.id))
        [found] = [l["other"] for l in body["links"] if l["link_id"] == link_id]
        seen.append(found)
        return found

    async def disclose(person: Person, audience: Person, disclosed: bool) -> None:
        state = await api.call(
            "PUT", f"/api/disclosures/{audience.sid}", person, 200, json={"disclosed": disclosed}
        )
        assert state == {"audience": audience.sid, "disclosed": disclosed}

    # By default partners see each other's names.
    assert await other_in(jo, mina) == named(mina)
    assert await other_in(kai, mina) == named(mina)
    # Mina hides her name from Jo only.
    await disclose(mina, jo, False)
    hidden = await other_in(jo, mina)
    assert hidden == net.pseudo("mina", "jo")
    assert await other_in(kai, mina) == named(mina), "another audience is not affected"
    assert await other_in(mina, jo) == named(jo), "Jo's own choice is his"
    # Choosing the same again appends nothing.
    before = await net.position()
    await disclose(mina, jo, False)
    assert await net.position() == before
    await disclose(mina, jo, True)
    assert await other_in(jo, mina) == named(mina)

    # Someone who asks to be partners introduces themselves; the person asked does not, until they choose to.
    r = await net.client.post("/api/links", json={"handle": mina.handle}, headers=sky.headers)
    assert r.status_code == 202
    assert await other_in(mina, sky) == named(sky)
    stable = await other_in(sky, mina)
    assert stable == net.pseudo("mina", "sky") and await other_in(sky, mina) == stable
    assert stable["key"] != net.pseudo("mina", "jo")["key"], "pseudonyms differ per audience"
    await disclose(mina, sky, True)
    assert await other_in(sky, mina) == named(mina)
    await disclose(mina, sky, False)
    assert await other_in(sky, mina) == stable

    # Pseudonyms never carry a display name, a handle or an id.
    pseudonyms = [ref for ref in seen if ref["person_id"] is None]
    assert pseudonyms
    for ref in pseudonyms:
        assert is_pseudonym(ref), ref
        for p in net.people.values():
            for secret in (p.name, p.handle, p.sid, p.sid.replace("-", "")[:16]):
                assert secret.casefold() not in f"{ref['key']} {ref['name']}".casefold()

    # One's own name is always shown to oneself.
    before = await net.position()
    r = await net.client.put(f"/api/disclosures/{mina.sid}", json={"disclosed": False}, headers=mina.headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert await net.position() == before


async def test_a_read_after_a_command_shows_names_the_command_introduced(make_network, client) -> None:
    net = await make_network("kai", "sky")
    accord = client.app.state.accord
    store = accord.store
    real_names, real_append = store.accounts_by_ids, store.append

    async def accounts_by_ids(*args: Any, **kwargs: Any) -> Any:
        # A slow account lookup (a busy database)...
        await asyncio.sleep(1.5)
        return await real_names(*args, **kwargs)

    async def append(*args: Any, **kwargs: Any) -> Any:
        # ... and a follower that applies the event before the command settles.
        appended = await real_append(*args, **kwargs)
        for _ in range(100):
            if accord.position >= appended.last_position:
                break
            await asyncio.sleep(0.01)
        return appended

    store.accounts_by_ids, store.append = accounts_by_ids, append
    try:
        r = await net.client.post("/api/links", json={"handle": net["kai"].handle}, headers=net["sky"].headers)
        assert r.status_code == 202
        body = await net.api.call("GET", "/api/network", net["kai"], 200)
    finally:
        del store.accounts_by_ids, store.append
        # Let the follower finish before the next test relies on it.
        for _ in range(100):
            names = (await net.api.call("GET", "/api/network", net["kai"], 200))["links"][0]["other"]
            if names["person_id"] is not None:
                break
            await asyncio.sleep(0.05)
    [asked] = body["links"]
    assert asked["other"] == named(net["sky"])


# --------------------------------------------------------------------------
# Who can see
# --------------------------------------------------------------------------


async def test_who_can_see_a_clause_answers_parties_only(make_network) -> None:
    net = await make_network("sky")
    mina, jo = net["mina"], net["jo"]
    grant_id = await shared_grant(net, ["clauses:safer_sex"])
    path = f"/api/agreements/{net.a}/clauses/{net.s}/audience"

    assert await net.api.call("GET", path, mina, 200) == [
        {
            "audience": net.pseudo("sam", "mina"),  # Sam has not told Mina his name
            "grant_id": grant_id,
            "party": named(mina),
            "partner": named(jo),
        }
    ]
    assert await net.api.call("GET", path, jo, 200) == [
        {"audience": named(net["sam"]), "grant_id": grant_id, "party": named(mina), "partner": named(jo)}
    ]
    # A clause nobody shares.
    assert await net.api.call("GET", f"/api/agreements/{net.a}/clauses/{net.c}/audience", mina, 200) == []

    # Anyone else: 404, exactly as for a clause or agreement that does not exist.
    nothing = await net.get(f"/api/agreements/{uuid4()}/clauses/{uuid4()}/audience", "sam")
    for who in ("sam", "sky"):
        r = await net.get(path, who)
        assert (r.status_code, r.content) == (404, nothing.content), r.text
    r = await net.get(f"/api/agreements/{net.a}/clauses/{uuid4()}/audience", "mina")
    assert (r.status_code, r.content) == (404, nothing.content)
    anon = await net.get(path, None)
    assert anon.status_code == 401

    await revoke(net, "mina", grant_id)
    assert await net.api.call("GET", path, mina, 200) == []


# --------------------------------------------------------------------------
# Handles with and without an account answer alike
# --------------------------------------------------------------------------


def masked(r: Any) -> tuple[int, str, str, list[str]]:
    """Status, content type, body with ids and pseudonyms masked, and header names."""
    text = UUID_TEXT.sub("<id>", r.text)
    # The handle the grant was addressed to is echoed back to the parties who typed it.
    text = re.sub(r'"audience_handle":"[^"]*"', '"audience_handle":"<handle>"', text)
    text = PSEUDONYM_KEY.sub("<pseudonym>", PSEUDONYM_NAME.sub("<pseudonym>", text))
    names = sorted(k for k in r.headers if k not in ("date", "x-request-id", "content-length"))
    return r.status_code, r.headers["content-type"], text, names


async def test_link_proposals_to_handles_without_an_account_answer_the_same(make_network) -> None:
    net = await make_network("kai", "sky")
    sky, kai = net["sky"], net["kai"]
    ghost = unique_handle("kai")  # the same shape as a real handle

    async def propose(handle: str) -> Any:
        return await net.client.post("/api/links", json={"handle": handle}, headers=sky.headers)

    real, unknown = await propose(kai.handle), await propose(ghost)
    assert real.status_code == 202 and real.json() == {"status": "proposed"}
    assert (real.status_code, real.content) == (unknown.status_code, unknown.content)
    assert masked(real) == masked(unknown)
    # Again: refused alike (a proposal is open either way).
    real, unknown = await propose(kai.handle), await propose(ghost)
    assert real.status_code == 409
    assert masked(real) == masked(unknown)
    # Sky's own view lists both, the same way.
    links = (await net.api.call("GET", "/api/network", sky, 200))["links"]
    assert sorted(l["status"] for l in links) == ["proposed", "proposed"]
    assert all(is_pseudonym(l["other"]) for l in links), "neither has told Sky their name"


async def test_grants_to_handles_without_an_account_answer_the_same(make_network) -> None:
    net = await make_network("sky")
    ghost = unique_handle("sky")
    real = await net.client.post(
        f"/api/agreements/{net.a}/grants",
        json={"audience": net["sky"].handle, "scopes": ["clauses:safer_sex"]},
        headers=net["mina"].headers,
    )
    unknown = await net.client.post(
        f"/api/agreements/{net.a}/grants",
        json={"audience": ghost, "scopes": ["clauses:safer_sex"]},
        headers=net["mina"].headers,
    )
    assert real.status_code == unknown.status_code == 201
    assert masked(real) == masked(unknown)
    # Consented by both parties, both are active and neither holds (Sky is nobody's metamour).
    answers = [
        await net.client.post(
            f"/api/agreements/{net.a}/grants/{r.json()['grant_id']}/consent", headers=net["jo"].headers
        )
        for r in (real, unknown)
    ]
    assert masked(answers[0]) == masked(answers[1])
    assert answers[0].json()["active"] is True and answers[0].json()["holds_through"] is None
    assert (answers[0].json()["holds"], answers[0].json()["why_not"]) == (False, "not_a_metamour")
    await assert_hidden_from(net, "sky")
