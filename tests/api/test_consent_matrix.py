"""The authorization matrix: every /api route, for every kind of caller, over HTTP.

One world per module and store (built lazily on the `client` the module shares):

- Mina and Jo: partners, the two parties of agreement A (in force at version 4,
  with clauses on safer_sex, scheduling and privacy; an adopted renegotiation;
  an open renegotiation with a comment; a repair note; a pending invitation to
  Lee; a pending grant to a handle without an account) and of agreement D
  (drafting: one draft clause, Mina's consent given, Jo's not).
- Lee: invited to A, not yet a party.
- Sam: Jo's partner (so Mina's metamour) with a holding grant on A for
  `clauses:safer_sex` (and one on D for the same scope).
- Ira: Jo's partner with a holding grant on A for `clauses:safer_sex` + `identity`.
- Alex: Jo's partner with a holding grant on A for `clauses:scheduling` only.
- Kai: Jo's partner with no grant.
- Robin: was Jo's partner when given a grant for `clauses:safer_sex`; the link then ended.
- Sky: a stranger with an account.
- anon: no token.

Each cell of `MATRIX` is one of:

- `R`: a read answered 200, whose body must equal exactly what `expected_read` says;
- an int: a refusal with exactly that status, appending nothing (the log position
  in GET /health is unchanged); a 404 is byte-identical to the same request on
  random ids, a 401 to an anonymous request on random ids;
- `E`: a permitted change. It runs on a scratch copy (a second cast and fresh
  agreements per cell), so the world itself is never changed, and must answer
  the route's success status and append.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain import policy
from service.library import load_library
from tests import checkins, plans
from tests.api.conftest import (
    MARKER,
    PROBLEM,
    Api,
    Person,
    is_pseudonym,
    mark,
    marker,
    named,
    unique_handle,
    wait_until_ready,
)

# --------------------------------------------------------------------------
# Refs
# --------------------------------------------------------------------------


def pseudo(secret: bytes, person: UUID, viewer: Person) -> dict[str, Any]:
    ref = policy.pseudonym(person, viewer.id, secret)
    shown = {"key": ref.key, "name": ref.name, "person_id": None}
    # Independently of how it is derived: it names nobody and carries no id.
    assert is_pseudonym(shown), ref
    assert str(person) not in ref.key
    return shown


class _AnyPseudonym:
    """Equal to any pseudonymous person ref."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and set(other) == {"key", "name", "person_id"} and is_pseudonym(other)

    def __repr__(self) -> str:
        return "<any pseudonym>"


ANY_PSEUDONYM = _AnyPseudonym()

CAST = ("mina", "jo", "lee", "sam", "ira", "alex", "kai", "robin", "sky")
CALLERS = (*CAST, "anon")
PARTNERS_OF_JO = ("sam", "ira", "alex", "kai", "robin")


# --------------------------------------------------------------------------
# Building the world
# --------------------------------------------------------------------------


@dataclass
class World:
    client: AsyncTestClient[Litestar]
    people: dict[str, Person]
    secret: bytes
    ids: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    party_view_a: dict[str, Any] = field(default_factory=dict)
    party_view_d: dict[str, Any] = field(default_factory=dict)
    #: Check-in K as each participant reads it, and their lists of check-ins.
    check_in_views: dict[str, Any] = field(default_factory=dict)
    check_in_lists: dict[str, Any] = field(default_factory=dict)
    #: Mina's care plan M as each person it is shared with reads it, their lists, and its history.
    document_views: dict[str, Any] = field(default_factory=dict)
    document_lists: dict[str, Any] = field(default_factory=dict)
    document_history: list[Any] = field(default_factory=list)
    #: GET /api/signals as each of the cast reads it.
    signal_lists: dict[str, Any] = field(default_factory=dict)
    #: GET /api/calendar (the next 90 days) as each of the cast reads it.
    calendars: dict[str, Any] = field(default_factory=dict)
    #: Plan PL as each participant reads it, and GET /api/plans as each of the cast reads it.
    plan_views: dict[str, Any] = field(default_factory=dict)
    plan_lists: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    @property
    def api(self) -> Api:
        return Api(self.client)

    def markers(self) -> set[str]:
        return {marker(t) for t in self.texts.values()}

    def hidden_ids(self) -> set[str]:
        """Ids a non-party never needs: clauses, proposals, notes, grants."""
        keys = ("S", "C", "P", "DS", "P0", "P1", "N", "K", "AP", "SG", *(k for k in self.ids if k.startswith("G_")))
        return {self.ids[k] for k in keys if k in self.ids}


async def link(api: Api, proposer: Person, other: Person) -> str:
    """`proposer` asks `other` by handle; `other` finds it in their network and confirms."""
    link_id = await api.propose_link(proposer, other)
    network = await api.call("GET", "/api/network", other, 200)
    asked = [l for l in network["links"] if l["link_id"] == link_id]
    assert len(asked) == 1 and asked[0]["status"] == "proposed" and not asked[0]["proposed_by_me"], network
    await api.confirm_link(other, link_id)
    return link_id


async def grant(
    api: Api,
    agreement_id: str,
    proposer: Person,
    audience_handle: str,
    scopes: list[str],
    consenters: tuple[Person, ...] = (),
) -> str:
    view = await api.call(
        "POST",
        f"/api/agreements/{agreement_id}/grants",
        proposer,
        201,
        json={"audience": audience_handle, "scopes": scopes},
    )
    for person in consenters:
        view = await api.call(
            "POST", f"/api/agreements/{agreement_id}/grants/{view['grant_id']}/consent", person, 200
        )
    return view["grant_id"]


async def build_cast(client: AsyncTestClient[Litestar]) -> World:
    await wait_until_ready(client)
    api = Api(client)
    people = {name: await api.person(name) for name in CAST}
    secret = client.app.state.accord.visibility.secret()
    return World(client=client, people=people, secret=secret)


async def build_world(client: AsyncTestClient[Litestar]) -> World:
    w = await build_cast(client)
    api, ids, t = w.api, w.ids, w.texts
    mina, jo, lee = w["mina"], w["jo"], w["lee"]

    ids["L_mina_jo"] = await link(api, mina, jo)
    for name in PARTNERS_OF_JO:
        ids[f"L_jo_{name}"] = await link(api, jo, w[name])

    # Agreement A: in force at version 4, with talk around it.
    t.update(
        title_a=mark("Mina and Jo"),
        S1=mark("condoms always"),
        S2=mark("condoms always"),
        S3=mark("condoms always"),
        C=mark("Tuesdays are ours"),
        P=mark("no photos"),
        R0=mark("we tested together"),
        R1=mark("new partner soon"),
        comment=mark("can we talk first"),
        what=mark("I forgot to text"),
        impact=mark("Jo waited alone"),
        intentions=mark("I will set reminders"),
        title_d=mark("Mina and Jo, next"),
        DS=mark("draft only: dental dams"),
    )
    a = ids["A"] = (await api.create(mina, t["title_a"]))["agreement_id"]
    await api.invite(mina, a, jo.handle)
    await api.accept_invitation(jo, a)
    ids["S"] = (await api.add_clause(mina, a, t["S1"], "safer_sex"))["clause_id"]
    ids["C"] = (await api.add_clause(mina, a, t["C"], "scheduling"))["clause_id"]
    ids["P"] = (await api.add_clause(mina, a, t["P"], "privacy"))["clause_id"]
    ratified = await api.ratify(mina, jo, a)
    assert ratified["in_force_version"] == 3
    ids["P0"], _ = await api.propose(
        mina, a, [{"kind": "edit", "clause_id": ids["S"], "text": t["S2"]}], reason=t["R0"]
    )
    adopted = await api.call("POST", f"/api/agreements/{a}/proposals/{ids['P0']}/accept", jo, 200)
    assert adopted["in_force_version"] == 4 and adopted["status"] == "in_force"
    ids["P1"], _ = await api.propose(
        jo, a, [{"kind": "edit", "clause_id": ids["S"], "text": t["S3"]}], reason=t["R1"]
    )
    await api.call(
        "POST", f"/api/agreements/{a}/proposals/{ids['P1']}/comments", mina, 201, json={"text": t["comment"]}
    )
    await api.invite(mina, a, lee.handle)
    w.party_view_a = await api.call(
        "POST",
        f"/api/agreements/{a}/repair-notes",
        mina,
        201,
        json={
            "clause_id": ids["C"],
            "what_happened": t["what"],
            "impact": t["impact"],
            "intentions": t["intentions"],
        },
    )
    [note] = w.party_view_a["repair_notes"]
    ids["N"] = note["note_id"]

    # Agreement D: drafting, Mina has consented, Jo has not.
    d = ids["D"] = (await api.create(mina, t["title_d"]))["agreement_id"]
    await api.invite(mina, d, jo.handle)
    await api.accept_invitation(jo, d)
    ids["DS"] = (await api.add_clause(mina, d, t["DS"], "safer_sex"))["clause_id"]
    w.party_view_d = await api.consent(mina, d, 1)
    assert w.party_view_d["status"] == "drafting" and w.party_view_d["consented"] == [mina.sid]

    # Grants, all proposed by Mina; Jo consents to all but the last.
    ids["G_sam"] = await grant(api, a, mina, w["sam"].handle, ["clauses:safer_sex"], (jo,))
    ids["G_ira"] = await grant(api, a, mina, w["ira"].handle, ["clauses:safer_sex", "identity"], (jo,))
    ids["G_alex"] = await grant(api, a, mina, w["alex"].handle, ["clauses:scheduling"], (jo,))
    ids["G_robin"] = await grant(api, a, mina, w["robin"].handle, ["clauses:safer_sex"], (jo,))
    ids["nobody"] = unique_handle("nobody")
    ids["G_nobody"] = await grant(api, a, mina, ids["nobody"], ["clauses:safer_sex"])
    ids["G_sam_d"] = await grant(api, d, mina, w["sam"].handle, ["clauses:safer_sex"], (jo,))

    await documents_world(w)

    # Robin stops being anyone's metamour.
    ended = await api.call("POST", f"/api/links/{ids['L_jo_robin']}/end", jo, 200)
    assert ended == {"link_id": ids["L_jo_robin"], "status": "ended", "proposed_by_me": True}

    # Check-in K among A's parties: occurrence one closed with a plan and an action point;
    # in the open one Mina has prepared without sharing, Jo has shared.
    t.update(K_plan=mark("walks on Sunday"), K_ap=mark("talk about overnights"), K_mina=mark("mina alone"), K_jo=mark("jo shared"))
    ids |= await check_in_scratch(w, a, plan=t["K_plan"], action_point=t["K_ap"], mina_says=t["K_mina"])
    answers = {"answers": [t["K_jo"], "", "", "", ""]}
    await api.call("PUT", f"/api/check-ins/{ids['K']}/occurrences/{ids['KI']}/preparation", jo, 200, json=answers)
    await api.call("POST", f"/api/check-ins/{ids['K']}/occurrences/{ids['KI']}/share", jo, 200)
    for name in ("mina", "jo"):
        w.check_in_views[name] = await api.call("GET", f"/api/check-ins/{ids['K']}", w[name], 200)
        w.check_in_lists[name] = await api.call("GET", "/api/check-ins", w[name], 200)
    # Mina's preparation is hers alone until she shares it.
    assert marker(t["K_mina"]) in str(w.check_in_views["mina"])
    assert marker(t["K_mina"]) not in str(w.check_in_views["jo"]) + str(w.check_in_lists["jo"])
    assert marker(t["K_jo"]) in str(w.check_in_views["mina"])
    await documents_read(w)

    # Signal SG: Mina and Jo opened a channel to each other; Jo sent one, Mina has seen it.
    await api.call("PUT", f"/api/signals/channels/{jo.sid}", mina, 200, json={"open": True})
    await api.call("PUT", f"/api/signals/channels/{mina.sid}", jo, 200, json={"open": True})
    t["SG_note"] = mark("home by midnight")
    body = {"to": [mina.sid], "kind": "home_safe", "note": t["SG_note"]}
    ids["SG"] = (await api.call("POST", "/api/signals", jo, 201, json=body))["signal_id"]
    await api.call("POST", f"/api/signals/{ids['SG']}/seen", mina, 200)
    for name in CAST:
        w.signal_lists[name] = await api.call("GET", "/api/signals", w[name], 200)
    assert marker(t["SG_note"]) in str(w.signal_lists["mina"]) and marker(t["SG_note"]) in str(w.signal_lists["jo"])

    # Plan PL: Jo proposed a date to two of his partners, Mina and Sam; both accepted.
    t.update(PL_title=mark("dinner for three"), PL_place=mark("the old harbour"), PL_note=mark("bringing wine"))
    ids |= await plan_scratch(w, title=t["PL_title"], place=t["PL_place"])
    await api.call("POST", f"/api/plans/{ids['PL']}/answer", mina, 200, json={"answer": "accepted", "note": t["PL_note"]})
    view = await api.call("POST", f"/api/plans/{ids['PL']}/answer", w["sam"], 200, json={"answer": "accepted"})
    assert view["status"] == "accepted"
    for name in ("mina", "jo", "sam"):
        w.plan_views[name] = await api.call("GET", f"/api/plans/{ids['PL']}", w[name], 200)
    for name in CAST:
        w.plan_lists[name] = await api.call("GET", "/api/plans", w[name], 200)

    # Availability: Mina's zone is Berlin, Jo sees her time as busy; one rule shown to partners, one to nobody.
    ids["mina_id"] = mina.sid
    body = {"time_zone": "Europe/Berlin", "partners": [{"person_id": jo.sid, "shows": "busy"}], "rules": MINA_RULES}
    await api.call("PUT", "/api/me/availability", mina, 200, json=body)
    # The calendar: check-in K's occurrences and plan PL are their participants' in full; Jo shows Kai his
    # time as busy, so Kai sees Jo busy then, and nothing else; nobody else sees anything of them.
    await api.call("PUT", "/api/me/availability", jo, 200, json={"partners": [{"person_id": w["kai"].sid, "shows": "busy"}]})
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time())
    ids["cal_from"], ids["cal_to"] = (f"{(today + timedelta(days=d)).isoformat()}Z" for d in (0, 90))
    for name in CAST:
        w.calendars[name] = await api.call("GET", ROUTES["calendar"].url(ids), w[name], 200)
    for name in ("mina", "jo"):
        entries = w.calendars[name]["entries"]
        assert {e["check_in_id"] or e["plan_id"] for e in entries} == {ids["K"], ids["PL"]}
        assert all(e["sight"] == "full" for e in entries)
    assert w.calendars["mina"]["entries"] == w.calendars["jo"]["entries"]
    [sams] = w.calendars["sam"]["entries"]
    assert (sams["plan_id"], sams["title"], sams["place"]) == (ids["PL"], t["PL_title"], t["PL_place"])
    busy = w.calendars["kai"]["entries"]
    assert len(busy) == len(w.calendars["jo"]["entries"])
    assert all(e["sight"] == "busy" and e["people"] == [named(jo)] and e["check_in_id"] is None for e in busy)
    assert all(not w.calendars[name]["entries"] for name in CAST if name not in ("mina", "jo", "sam", "kai"))
    return w


MINA_RULES: dict[str, Any] = {
    "quiet_nights": {"weekdays": ["sunday"], "mode": "refuse", "shown_to": "partners"},
    "overnight_notice": None,
    "plans_per_week": {"limit": 2, "mode": "warn", "shown_to": "nobody"},
    "buffer_after_date": None,
}
#: Each person's live partners in the world (Robin's link to Jo ended).
WORLD_PARTNERS: dict[str, tuple[str, ...]] = {
    "mina": ("jo",), "jo": ("mina", "sam", "ira", "alex", "kai"), "sam": ("jo",), "ira": ("jo",), "alex": ("jo",), "kai": ("jo",),
}  # fmt: skip


def expected_availability(w: World, caller: str) -> dict[str, Any]:
    partners = [
        {"person": named(w[p]), "shows": "busy" if (caller, p) in (("mina", "jo"), ("jo", "kai")) else "nothing"}
        for p in WORLD_PARTNERS.get(caller, ())
    ]
    partners.sort(key=lambda p: (p["person"]["name"], p["person"]["key"]))
    if caller == "mina":
        return {"time_zone": "Europe/Berlin", "partners": partners, "rules": MINA_RULES, "theirs": []}
    # Mina's partners read the rule she shows partners (the only rules set in this world).
    theirs = [mina_rules_shown(w, caller)] if caller in WORLD_PARTNERS["mina"] else []
    return {"time_zone": "UTC", "partners": partners, "rules": dict.fromkeys(MINA_RULES), "theirs": theirs}


def mina_rules_shown(w: World, caller: str) -> dict[str, Any]:
    """Mina's booking rules as `caller`, herself or a live partner of hers, may see them."""
    shown = MINA_RULES if caller == "mina" else {**dict.fromkeys(MINA_RULES), "quiet_nights": MINA_RULES["quiet_nights"]}
    return {"person": named(w["mina"]), "time_zone": "Europe/Berlin", "rules": shown}


async def plan_scratch(w: World, *, title: str = "", place: str = "") -> dict[str, str]:
    """A date Jo proposes to his partners Mina and Sam."""
    body = plans.plan_body(w["mina"], w["sam"], title=title or mark("date"), place=place or mark("somewhere"))
    return {"PL": (await w.api.call("POST", "/api/plans", w["jo"], 201, json=body))["plan_id"]}


def sections(*texts: str) -> dict[str, Any]:
    return {"sections": [{"text": t} for t in texts]}


def care_plan(*texts: str) -> dict[str, Any]:
    return {"kind": "care_plan", **sections(*texts)}


async def documents_world(w: World) -> None:
    """Mina's care plan M at version 2, shared with Jo (her partner), Sam (a metamour, by handle) and
    Robin (by handle, whose link to Jo then ends); Ira, Alex and Kai are metamours it is not shared with."""
    api, ids, t, mina = w.api, w.ids, w.texts, w["mina"]
    t.update(M1=mark("racing heart"), M2=mark("a slow walk"), M3=mark("a long walk"))
    view = await api.call("POST", "/api/documents", mina, 201, json=care_plan(t["M1"], t["M2"], "", ""))
    m = ids["M"] = view["document_id"]
    await api.call("PUT", f"/api/documents/{m}", mina, 200, json={"based_on_version": 1, **sections(t["M1"], t["M3"], "", "")})
    await api.call("POST", f"/api/documents/{m}/shares", mina, 200, json={"partner_id": w["jo"].sid})
    for name in ("sam", "robin"):
        await api.call("POST", f"/api/documents/{m}/shares", mina, 200, json={"handle": w[name].handle})
    ids["M_share"] = w["jo"].sid  # Jo is Mina's partner: named by id in her view


async def documents_read(w: World) -> None:
    """After the world is built (Robin's link has ended): the views of M, as each reader has them."""
    api, m = w.api, w.ids["M"]
    for name in ("mina", "jo", "sam"):
        w.document_views[name] = await api.call("GET", f"/api/documents/{m}", w[name], 200)
    for name in CAST:
        w.document_lists[name] = await api.call("GET", "/api/documents", w[name], 200)
    w.document_history = await api.call("GET", f"/api/documents/{m}/history", w["mina"], 200)
    mine = w.document_views["mina"]
    assert [(s["person"]["key"], s["holds"]) for s in mine["shares"]][0] == (w["jo"].sid, True)
    assert [s["holds"] for s in mine["shares"]] == [True, True, False]  # Robin's ended with his link
    for name in ("jo", "sam"):
        theirs = w.document_views[name]
        assert theirs["access"] == "shared" and theirs["shares"] is None and theirs["version"] == 2
        assert {k: v for k, v in theirs.items() if k not in ("access", "shares", "owner")} == {
            k: v for k, v in mine.items() if k not in ("access", "shares", "owner")
        }
        assert w.document_lists[name] == [theirs]
    assert marker(w.texts["M2"]) in str(w.document_history) and marker(w.texts["M2"]) not in str(w.document_views["jo"])
    for name in ("lee", "ira", "alex", "kai", "robin", "sky"):
        assert w.document_lists[name] == []


async def scratch_document(w: World) -> dict[str, str]:
    """Mina's care plan at version 1, shared with Jo by handle."""
    api, mina = w.api, w["mina"]
    view = await api.call("POST", "/api/documents", mina, 201, json=care_plan(mark("racing heart"), "", "", ""))
    m = view["document_id"]
    view = await api.call("POST", f"/api/documents/{m}/shares", mina, 200, json={"handle": w["jo"].handle})
    return {"M": m, "M_share": view["shares"][0]["person"]["key"]}


async def check_in_scratch(
    w: World, agreement_id: str, *, plan: str = "", action_point: str = "", mina_says: str = ""
) -> dict[str, str]:
    """A weekly check-in among the parties of `agreement_id` (Mina and Jo): its first occurrence
    closed with a plan and one action point, and Mina's unshared answers to the open one."""
    api, mina = w.api, w["mina"]
    view = await api.call("POST", "/api/check-ins", mina, 201, json=checkins.weekly(agreement_id=agreement_id))
    k = view["check_in_id"]
    body = {"plan": plan or mark("plan"), "action_points": [action_point or mark("point")]}
    view = await api.call("POST", f"/api/check-ins/{k}/occurrences/0/close", mina, 200, json=body)
    index = str(view["open_index"])
    answers = {"answers": [mina_says or mark("mine"), "", "", "", ""]}
    await api.call("PUT", f"/api/check-ins/{k}/occurrences/{index}/preparation", mina, 200, json=answers)
    point = view["occurrences"][-1]["action_points"][0]["action_point_id"]
    return {"K": k, "KI": index, "AP": point}


_WORLDS: dict[tuple[int, str], tuple[AsyncTestClient[Litestar], World]] = {}


async def cached(client: AsyncTestClient[Litestar], kind: str, build: Callable[..., Awaitable[World]]) -> World:
    """One world per app (the module's shared client); a new client gets a new world."""
    found = _WORLDS.get((id(client), kind))
    if found is None or found[0] is not client:
        found = (client, await build(client))
        _WORLDS[(id(client), kind)] = found
    return found[1]


@pytest.fixture
async def world(client: AsyncTestClient[Litestar]) -> World:
    return await cached(client, "world", build_world)


async def build_actors(client: AsyncTestClient[Litestar]) -> World:
    w = await build_cast(client)
    w.ids["L_jo_sam"] = await link(w.api, w["jo"], w["sam"])
    return w


@pytest.fixture
async def actors(client: AsyncTestClient[Litestar]) -> World:
    """A second cast for permitted changes, so the world's reads never see them."""
    return await cached(client, "actors", build_actors)


# --------------------------------------------------------------------------
# The routes
# --------------------------------------------------------------------------

Body = Callable[[dict[str, str]], Any]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    ok: int = 200
    body: Body | None = None
    #: For `E` cells: which scratch state the change needs.
    scratch: str | None = None

    def url(self, ids: dict[str, str]) -> str:
        return self.path.format(**ids)


def edit_s(ids: dict[str, str]) -> dict[str, Any]:
    return {"changes": [{"kind": "edit", "clause_id": ids["S"], "text": mark("renegotiated")}], "reason": mark("why")}


ROUTES: dict[str, Route] = {
    # Agreements
    "list agreements": Route("GET", "/api/agreements"),
    "create agreement": Route("POST", "/api/agreements", 201, lambda ids: {"title": mark("new")}),
    "view A": Route("GET", "/api/agreements/{A}"),
    "view D (drafting)": Route("GET", "/api/agreements/{D}"),
    "invite": Route(
        "POST", "/api/agreements/{A}/invitations", 202, lambda ids: {"handle": unique_handle("new")}, "A"
    ),
    "my invitation": Route("GET", "/api/agreements/{A}/invitation"),
    "accept invitation": Route("POST", "/api/agreements/{A}/invitation/accept", scratch="A"),
    "decline invitation": Route("POST", "/api/agreements/{A}/invitation/decline", scratch="A"),
    "leave": Route("POST", "/api/agreements/{A}/leave", scratch="A"),
    "ask to discard A": Route("POST", "/api/agreements/{A}/discard"),
    "ask to discard D": Route("POST", "/api/agreements/{D}/discard", scratch="D"),
    "withdraw discard of D": Route("DELETE", "/api/agreements/{D}/discard"),
    # Drafting routes, on A (in force, so refused to parties) and on D (drafting)
    "add clause to A": Route(
        "POST", "/api/agreements/{A}/clauses", 201, lambda ids: {"topic": "other", "text": mark("more")}
    ),
    "edit clause of A": Route(
        "PUT",
        "/api/agreements/{A}/clauses/{S}",
        body=lambda ids: {"text": mark("edited"), "based_on_revision": 2},
    ),
    "remove clause of A": Route("DELETE", "/api/agreements/{A}/clauses/{S}?based_on_revision=2"),
    "consent to A": Route("POST", "/api/agreements/{A}/consents", body=lambda ids: {"version": 4}),
    "withdraw consent to A": Route("DELETE", "/api/agreements/{A}/consents/mine"),
    "add clause to D": Route(
        "POST", "/api/agreements/{D}/clauses", 201, lambda ids: {"topic": "other", "text": mark("more")}, "D"
    ),
    "edit clause of D": Route(
        "PUT",
        "/api/agreements/{D}/clauses/{DS}",
        body=lambda ids: {"text": mark("edited"), "based_on_revision": 1},
        scratch="D",
    ),
    "remove clause of D": Route("DELETE", "/api/agreements/{D}/clauses/{DS}?based_on_revision=1", scratch="D"),
    "consent to D": Route("POST", "/api/agreements/{D}/consents", body=lambda ids: {"version": 1}, scratch="D"),
    "withdraw consent to D": Route("DELETE", "/api/agreements/{D}/consents/mine", scratch="D"),
    # Renegotiation and repair
    "propose": Route("POST", "/api/agreements/{A}/proposals", 201, edit_s, "A"),
    "comment": Route(
        "POST", "/api/agreements/{A}/proposals/{P1}/comments", 201, lambda ids: {"text": mark("hm")}, "A"
    ),
    "accept proposal": Route("POST", "/api/agreements/{A}/proposals/{P1}/accept", scratch="A"),
    "decline proposal": Route(
        "POST", "/api/agreements/{A}/proposals/{P1}/decline", body=lambda ids: {"reason": mark("no")}, scratch="A"
    ),
    "withdraw proposal": Route("POST", "/api/agreements/{A}/proposals/{P1}/withdraw", scratch="A"),
    "write repair note": Route(
        "POST",
        "/api/agreements/{A}/repair-notes",
        201,
        lambda ids: {
            "clause_id": ids["C"],
            "what_happened": mark("late"),
            "impact": mark("hurt"),
            "intentions": mark("be on time"),
        },
        "A",
    ),
    "acknowledge repair note": Route("POST", "/api/agreements/{A}/repair-notes/{N}/acknowledge", scratch="A"),
    "link repair note": Route(
        "POST",
        "/api/agreements/{A}/repair-notes/{N}/links",
        body=lambda ids: {"proposal_id": ids["P1"]},
        scratch="A",
    ),
    # Revisit dates and end dates: set while drafting; a due clause is reaffirmed
    "set revisit date in A": Route(
        "PUT", "/api/agreements/{A}/clauses/{S}/revisit", body=lambda ids: {"revisit_on": later_day()}
    ),
    "set revisit date in D": Route(
        "PUT", "/api/agreements/{D}/clauses/{DS}/revisit", body=lambda ids: {"revisit_on": later_day()}, scratch="D"
    ),
    "set end date of D": Route("PUT", "/api/agreements/{D}/end-date", body=lambda ids: {"until": later_day()}, scratch="D"),
    "reaffirm a clause not due": Route(
        "POST", "/api/agreements/{A}/clauses/{S}/reaffirm", body=lambda ids: {"revision": 3}
    ),
    "reaffirm a due clause": Route(
        "POST", "/api/agreements/{A}/clauses/{S}/reaffirm", body=lambda ids: {"revision": 1}, scratch="due"
    ),
    # History
    "timeline": Route("GET", "/api/agreements/{A}/timeline"),
    "version": Route("GET", "/api/agreements/{A}/versions/{in_force}"),
    "diff": Route("GET", "/api/agreements/{A}/diff?from=3&to=4"),
    # Sharing
    "list grants": Route("GET", "/api/agreements/{A}/grants"),
    "propose grant": Route(
        "POST",
        "/api/agreements/{A}/grants",
        201,
        lambda ids: {"audience": ids["kai_handle"], "scopes": ["clauses:privacy"]},
        "A",
    ),
    "consent to grant": Route("POST", "/api/agreements/{A}/grants/{G_nobody}/consent", scratch="A"),
    "revoke grant": Route("POST", "/api/agreements/{A}/grants/{G_sam}/revoke", scratch="A"),
    "who can see": Route("GET", "/api/agreements/{A}/clauses/{S}/audience"),
    "preview grant": Route("GET", "/api/agreements/{A}/grants/{G_sam}/preview"),
    # Exporting one agreement: a party's version, or what a metamour sees
    "agreement as markdown": Route("GET", "/api/agreements/{A}/export.md"),
    "agreement as pdf": Route("GET", "/api/agreements/{A}/export.pdf"),
    "agreement at version 3 as markdown": Route("GET", "/api/agreements/{A}/export.md?version=3"),
    # The network
    "network": Route("GET", "/api/network"),
    "propose link": Route("POST", "/api/links", 202, lambda ids: {"handle": unique_handle("new")}),
    "confirm link": Route("POST", "/api/links/{L_jo_robin}/confirm"),
    "decline link": Route("POST", "/api/links/{L_jo_robin}/decline"),
    "withdraw link": Route("POST", "/api/links/{L_jo_robin}/withdraw"),
    "end ended link": Route("POST", "/api/links/{L_jo_robin}/end"),
    "end live link": Route("POST", "/api/links/{L_jo_sam}/end", scratch="link"),
    "set disclosure": Route("PUT", "/api/disclosures/{sky_id}", body=lambda ids: {"disclosed": True}),
    # Check-ins
    "list check-ins": Route("GET", "/api/check-ins"),
    "start check-in": Route("POST", "/api/check-ins", 201, lambda ids: checkins.weekly(agreement_id=ids["A"]), "A"),
    "view check-in": Route("GET", "/api/check-ins/{K}"),
    "change check-in prompts": Route(
        "PUT", "/api/check-ins/{K}/prompts", body=lambda ids: {"prompts": [mark("how are we")]}, scratch="K"
    ),
    "pause check-in": Route("POST", "/api/check-ins/{K}/pause", scratch="K"),
    "resume check-in": Route("POST", "/api/check-ins/{K}/resume"),
    "end check-in": Route("POST", "/api/check-ins/{K}/end", scratch="K"),
    "prepare": Route(
        "PUT",
        "/api/check-ins/{K}/occurrences/{KI}/preparation",
        body=lambda ids: {"answers": [mark("draft"), "", "", "", ""]},
        scratch="K",
    ),
    "share": Route("POST", "/api/check-ins/{K}/occurrences/{KI}/share", scratch="K"),
    "close occurrence": Route(
        "POST", "/api/check-ins/{K}/occurrences/{KI}/close", body=lambda ids: {"plan": mark("plan")}, scratch="K"
    ),
    "move occurrence": Route(
        "POST",
        "/api/check-ins/{K}/occurrences/{KI}/move",
        body=lambda ids: {"to": checkins.LATER, "reason": mark("away")},
        scratch="K",
    ),
    "skip occurrence": Route(
        "POST", "/api/check-ins/{K}/occurrences/{KI}/skip", body=lambda ids: {"reason": mark("ill")}, scratch="K"
    ),
    "action point to proposal": Route(
        "POST",
        "/api/check-ins/{K}/action-points/{AP}/proposal",
        201,
        lambda ids: {"agreement_id": ids["A"], "changes": edit_s(ids)["changes"]},
        "K",
    ),
    # Export my data
    "export": Route("GET", "/api/me/export"),
    "export as markdown": Route("GET", "/api/me/export.md"),
    "export as zip": Route("GET", "/api/me/export.zip"),
    # What waits for me
    "inbox": Route("GET", "/api/me/inbox"),
    # Personal documents
    "list documents": Route("GET", "/api/documents"),
    "write document": Route("POST", "/api/documents", 201, lambda ids: care_plan(mark("signs"), "", "", "")),
    "view document": Route("GET", "/api/documents/{M}"),
    "document history": Route("GET", "/api/documents/{M}/history"),
    "document as markdown": Route("GET", "/api/documents/{M}/export.md"),
    "document as pdf": Route("GET", "/api/documents/{M}/export.pdf"),
    "document at version 1 as markdown": Route("GET", "/api/documents/{M}/export.md?version=1"),
    "revise document": Route(
        "PUT", "/api/documents/{M}", body=lambda ids: {"based_on_version": 1, **sections(mark("more"), "", "", "")}, scratch="M"
    ),
    "share document": Route("POST", "/api/documents/{M}/shares", body=lambda ids: {"handle": ids["kai_handle"]}, scratch="M"),
    "revoke document share": Route("DELETE", "/api/documents/{M}/shares/{M_share}", scratch="M"),
    "delete document": Route("DELETE", "/api/documents/{M}", scratch="M"),
    # The template library: Accord's own words, the same for everyone signed in
    "list templates": Route("GET", "/api/templates"),
    "view template": Route("GET", "/api/templates/{T}"),
    "create agreement from template": Route(
        "POST", "/api/agreements", 201, lambda ids: {"title": mark("new"), "template_id": "one_page_contract"}
    ),
    # Signals
    "list signals": Route("GET", "/api/signals"),
    "send signal": Route("POST", "/api/signals", 201, lambda ids: {"to": [ids["jo_id"]], "kind": "still_here"}),
    "view signal": Route("GET", "/api/signals/{SG}"),
    "mark signal seen": Route("POST", "/api/signals/{SG}/seen"),
    "open signal channel": Route("PUT", "/api/signals/channels/{jo_id}", body=lambda ids: {"open": True}, scratch="channel"),
    "signal settings": Route("GET", "/api/signals/settings"),
    "change signal settings": Route("PUT", "/api/signals/settings", body=lambda ids: {"expiry_hours": 12}),
    # The calendar
    "calendar": Route("GET", "/api/calendar?from={cal_from}&to={cal_to}"),
    # Availability and booking rules
    "my availability": Route("GET", "/api/me/availability"),
    "change availability": Route("PUT", "/api/me/availability", body=lambda ids: {"time_zone": "Europe/Berlin"}),
    "Mina's booking rules": Route("GET", "/api/people/{mina_id}/availability"),
    # Plans: a plan to Jo, and plan PL (Jo's, with Mina and Sam)
    "list plans": Route("GET", "/api/plans"),
    "propose plan": Route("POST", "/api/plans", 201, lambda ids: plans.plan_body(invitees=[ids["jo_handle"]]), "channel"),
    "view plan": Route("GET", "/api/plans/{PL}"),
    "answer plan": Route(
        "POST", "/api/plans/{PL}/answer", body=lambda ids: {"answer": "declined", "note": mark("busy")}, scratch="PL"
    ),
    "reschedule plan": Route(
        "POST",
        "/api/plans/{PL}/reschedule",
        body=lambda ids: {k: v for k, v in plans.plan_body().items() if k in ("start", "end", "time_zone")},
        scratch="PL",
    ),
    "cancel plan": Route("POST", "/api/plans/{PL}/cancel", body=lambda ids: {"note": mark("ill")}, scratch="PL"),
}

R, E = "R", "E"
# Refusals by the domain, with their problem codes (authorization passed, the state forbids).
NOT_ASKED = (409, "not_asked_to_discard")
IN_FORCE, DONE, NOT_INVITED, NOT_AUTHOR, OWN_NOTE, NOT_CONSENTED, OWN_LINK, LINK_STATUS, INVALID = (
    (409, "in_force"),
    (409, "already_done"),
    (409, "not_invited"),
    (409, "not_the_author"),
    (409, "own_repair_note"),
    (409, "not_consented"),
    (409, "own_proposal"),
    (409, "link_status_forbids"),
    (422, "validation_failed"),
)
NOT_DUE = (409, "not_due_for_review")
N4 = 404
CHECK_IN_ON = (409, "check_in_status_forbids")

# fmt: off
#                               mina         jo           lee          sam  ira  alex kai  robin        sky      anon
MATRIX: dict[str, tuple[Any, ...]] = {
    "list agreements":         (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "create agreement":        (E,           E,           E,           E,   E,   E,   E,   E,           E,       401),
    "view A":                  (R,           R,           R,           R,   R,   R,   N4,  N4,          N4,      401),
    "view D (drafting)":       (R,           R,           N4,          R,   N4,  N4,  N4,  N4,          N4,      401),
    "invite":                  (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "my invitation":           (N4,          N4,          R,           N4,  N4,  N4,  N4,  N4,          N4,      401),
    "accept invitation":       (NOT_INVITED, NOT_INVITED, E,           N4,  N4,  N4,  N4,  N4,          N4,      401),
    "decline invitation":      (NOT_INVITED, NOT_INVITED, E,           N4,  N4,  N4,  N4,  N4,          N4,      401),
    "leave":                   (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "ask to discard A":        (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "ask to discard D":        (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "withdraw discard of D":   (NOT_ASKED,   NOT_ASKED,   N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "add clause to A":         (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "edit clause of A":        (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "remove clause of A":      (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "consent to A":            (DONE,        DONE,        N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "withdraw consent to A":   (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "add clause to D":         (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "edit clause of D":        (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "remove clause of D":      (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "consent to D":            (DONE,        E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "withdraw consent to D":   (E,           NOT_CONSENTED, N4,        N4,  N4,  N4,  N4,  N4,          N4,      401),
    "propose":                 (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "comment":                 (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "accept proposal":         (E,           DONE,        N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "decline proposal":        (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "withdraw proposal":       (NOT_AUTHOR,  E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "write repair note":       (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "acknowledge repair note": (OWN_NOTE,    E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "link repair note":        (E,           NOT_AUTHOR,  N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "set revisit date in A":   (IN_FORCE,    IN_FORCE,    N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "set revisit date in D":   (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "set end date of D":       (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "reaffirm a clause not due": (NOT_DUE,   NOT_DUE,     N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "reaffirm a due clause":   (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "timeline":                (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "version":                 (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "diff":                    (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "list grants":             (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "propose grant":           (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "consent to grant":        (DONE,        E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "revoke grant":            (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "who can see":             (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "preview grant":           (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "agreement as markdown":   (R,           R,           N4,          R,   R,   R,   N4,  N4,          N4,      401),
    "agreement as pdf":        (R,           R,           N4,          R,   R,   R,   N4,  N4,          N4,      401),
    # A metamour's view counts no versions, so naming one is asking for what they may not see.
    "agreement at version 3 as markdown": (R, R,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "network":                 (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "propose link":            (E,           E,           E,           E,   E,   E,   E,   E,           E,       401),
    "confirm link":            (N4,          OWN_LINK,    N4,          N4,  N4,  N4,  N4,  LINK_STATUS, N4,      401),
    "decline link":            (N4,          OWN_LINK,    N4,          N4,  N4,  N4,  N4,  LINK_STATUS, N4,      401),
    "withdraw link":           (N4,          LINK_STATUS, N4,          N4,  N4,  N4,  N4,  LINK_STATUS, N4,      401),
    "end ended link":          (N4,          LINK_STATUS, N4,          N4,  N4,  N4,  N4,  LINK_STATUS, N4,      401),
    "end live link":           (N4,          E,           N4,          E,   N4,  N4,  N4,  N4,          N4,      401),
    "list check-ins":          (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "start check-in":          (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "view check-in":           (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "change check-in prompts": (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "pause check-in":          (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "resume check-in":         (CHECK_IN_ON, CHECK_IN_ON, N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "end check-in":            (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "prepare":                 (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "share":                   (E,           DONE,        N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "close occurrence":        (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "move occurrence":         (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "skip occurrence":         (E,           E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "action point to proposal": (E,          E,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "set disclosure":          (E,           E,           E,           E,   E,   E,   E,   E,           INVALID, 401),
    "export":                  (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "export as markdown":      (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "export as zip":           (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "inbox":                   (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "list documents":          (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "write document":          (E,           E,           E,           E,   E,   E,   E,   E,           E,       401),
    "view document":           (R,           R,           N4,          R,   N4,  N4,  N4,  N4,          N4,      401),
    "document history":        (R,           N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "document as markdown":    (R,           R,           N4,          R,   N4,  N4,  N4,  N4,          N4,      401),
    "document as pdf":         (R,           R,           N4,          R,   N4,  N4,  N4,  N4,          N4,      401),
    "document at version 1 as markdown": (R, N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "revise document":         (E,           N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "share document":          (E,           N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "revoke document share":   (E,           N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "delete document":         (E,           N4,          N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "list templates":          (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "view template":           (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "create agreement from template": (E,    E,           E,           E,   E,   E,   E,   E,           E,       401),
    "list signals":            (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    # Answered alike whoever it reaches: a signal that may not reach someone is dropped for them, silently.
    "send signal":             (E,           INVALID,     E,           E,   E,   E,   E,   E,           E,       401),
    "view signal":             (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "mark signal seen":        (DONE,        INVALID,     N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "open signal channel":     (E,           N4,          N4,          E,   E,   E,   E,   N4,          N4,      401),
    "signal settings":         (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "change signal settings":  (E,           E,           E,           E,   E,   E,   E,   E,           E,       401),
    # Everyone has a calendar; what is on it is the events layer's to say (tests/api/test_calendar.py).
    "calendar":                (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "my availability":         (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    "change availability":     (E,           E,           E,           E,   E,   E,   E,   E,           E,       401),
    # Her own, and her partner's as far as she shows him; metamours, an ex's partner, strangers: nothing.
    "Mina's booking rules":    (R,           R,           N4,          N4,  N4,  N4,  N4,  N4,          N4,      401),
    "list plans":              (R,           R,           R,           R,   R,   R,   R,   R,           R,       401),
    # Only a live partner of the proposer may be invited; one does not invite oneself.
    "propose plan":            (E,           INVALID,     INVALID,     E,   E,   E,   E,   INVALID,     INVALID, 401),
    "view plan":               (R,           R,           N4,          R,   N4,  N4,  N4,  N4,          N4,      401),
    # Whoever put the times on the table has accepted them: they reschedule or cancel instead.
    "answer plan":             (E,           INVALID,     N4,          E,   N4,  N4,  N4,  N4,          N4,      401),
    "reschedule plan":         (E,           E,           N4,          E,   N4,  N4,  N4,  N4,          N4,      401),
    "cancel plan":             (E,           E,           N4,          E,   N4,  N4,  N4,  N4,          N4,      401),
}
# fmt: on


#: Cells where the service is wrong today; each is a bug report.
BUGS: dict[tuple[str, str], str] = {}


def cells(kind: Callable[[Any], bool]) -> list[Any]:
    return [
        pytest.param(
            route,
            caller,
            expect,
            id=f"{route}|{caller}",
            marks=[pytest.mark.xfail(reason=BUGS[route, caller], strict=True)] if (route, caller) in BUGS else [],
        )
        for route, row in MATRIX.items()
        for caller, expect in zip(CALLERS, row, strict=True)
        if kind(expect)
    ]


async def test_the_matrix_covers_every_api_route_and_every_caller(client: AsyncTestClient[Litestar]) -> None:
    assert set(MATRIX) == set(ROUTES)
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())
    covered = {(r.method, re.sub(r"\{[^}]+\}", "{}", r.path.split("?")[0])) for r in ROUTES.values()}
    # Accounts and sessions are not about anyone else's data; /api/live is a websocket, tested elsewhere.
    # Account security (/api/me/..., passkey sign-in) is the caller's own: tests/api/test_account_security.py.
    outside = {"/api/accounts", "/api/sessions", "/api/sessions/current", "/api/me", "/api/live"}
    own = ("/api/me/sessions", "/api/me/password", "/api/me/passkeys", "/api/me/second-factor", "/api/sessions/")
    # Email reminders are the caller's own address and choices: tests/api/test_inbox.py.
    own += ("/api/me/email",)
    # Blocks are the caller's own list, which nobody else ever sees: tests/api/test_blocks.py
    # (someone else's block id is 404 like a random id; the blocked person cannot tell).
    own += ("/api/me/blocks",)
    # The calendar feed's address is the caller's own; what a feed shows is each kind of viewer's calendar,
    # compared with GET /api/calendar in tests/api/test_feeds.py.
    own += ("/api/me/calendar-feed",)
    served = {
        (method, re.sub(r"\{[^}]+\}", "{}", route.path))
        for route in client.app.routes
        if route.path.startswith("/api/") and route.path not in outside and not route.path.startswith(own)
        for method in route.methods
        if method not in ("OPTIONS", "HEAD")
    }
    assert served - covered == set(), "routes missing from the matrix"
    assert covered - served == set(), "routes in the matrix that the app does not serve"


# --------------------------------------------------------------------------
# What each reader must see, exactly
# --------------------------------------------------------------------------


def clause(w: World, key: str, text_key: str) -> dict[str, Any]:
    topic = {"S": "safer_sex", "C": "scheduling", "P": "privacy"}[key]
    return {"clause_id": w.ids[key], "topic": topic, "text": w.texts[text_key]}


def metamour_view(
    w: World, agreement: str, viewer: Person, scopes: list[str], clauses: list[dict[str, Any]]
) -> dict[str, Any]:
    parties = [w["mina"], w["jo"]]
    refs = [named(p) if "identity" in scopes else pseudo(w.secret, p.id, viewer) for p in parties]
    return {
        "agreement_id": w.ids[agreement],
        "access": "metamour",
        "title": None,
        "parties": sorted(refs, key=lambda r: r["key"]),
        "scopes": sorted(scopes),
        "clauses": clauses,
        "history": [],
        "links": [],
        "no_reshare": False,
    }


def ref(w: World, person: str, viewer: Person) -> dict[str, Any]:
    """How the world's people name each other by default: partners (live links) and oneself by name."""
    partners = {frozenset(("mina", "jo")), *(frozenset(("jo", n)) for n in ("sam", "ira", "alex", "kai"))}
    me = next(name for name, p in w.people.items() if p is viewer)
    if person == me or frozenset((person, me)) in partners:
        return named(w[person])
    return pseudo(w.secret, w[person].id, viewer)


def grant_view(w: World, viewer: Person, key: str) -> dict[str, Any]:
    mina, jo = w["mina"], w["jo"]
    audience, scopes = {
        "G_sam": ("sam", ["clauses:safer_sex"]),
        "G_ira": ("ira", ["clauses:safer_sex", "identity"]),
        "G_alex": ("alex", ["clauses:scheduling"]),
        "G_robin": ("robin", ["clauses:safer_sex"]),
        "G_nobody": (None, ["clauses:safer_sex"]),
    }[key]
    if audience is None:
        audience_ref = ANY_PSEUDONYM  # its id is derived from the handle with the server's secret
    else:
        audience_ref = ref(w, audience, viewer)
    pending = key == "G_nobody"
    holds = audience in ("sam", "ira", "alex")
    return {
        "grant_id": w.ids[key],
        "agreement_id": w.ids["A"],
        "audience": audience_ref,
        "audience_handle": (w.ids["nobody"] if audience is None else w[audience].handle).casefold(),
        "scopes": scopes,
        "until": None,
        "no_reshare": False,
        "consented_by": [mina.sid] if pending else [mina.sid, jo.sid],
        "waiting_for": [jo.sid] if pending else [],
        "revoked": False,
        "active": not pending,
        "holds": holds,
        # Robin's link to Jo ended after everyone consented: that grant is dead for good.
        "why_not": None if holds else "awaiting_consent" if pending else "link_ended",
        # Through Mina - Jo - audience: the audience is Mina's metamour.
        "holds_through": {
            "audience": audience_ref,
            "grant_id": w.ids[key],
            "party": ref(w, "mina", viewer),
            "partner": ref(w, "jo", viewer),
        }
        if holds
        else None,
    }


def own_links(w: World, viewer_name: str) -> list[dict[str, Any]]:
    """The viewer's links, with each interval reduced to whether it is still open."""
    viewer = w[viewer_name]
    pairs = {"L_mina_jo": ("mina", "jo")} | {f"L_jo_{n}": ("jo", n) for n in PARTNERS_OF_JO}
    found = []
    for key, (proposer, other) in pairs.items():
        if viewer_name not in (proposer, other):
            continue
        ended = key == "L_jo_robin"
        found.append(
            {
                "link_id": w.ids[key],
                "other": ref(w, other if viewer_name == proposer else proposer, viewer),
                "status": "ended" if ended else "live",
                "proposed_by_me": viewer_name == proposer,
                "intervals": ["ended" if ended else "open"],
            }
        )
    return sorted(found, key=lambda l: l["link_id"])


def normalise_network(body: dict[str, Any]) -> dict[str, Any]:
    for l in body["links"]:
        intervals = []
        for interval in l["intervals"]:
            assert interval["confirmed_at"]
            if interval["ended_at"] is not None:
                assert interval["ended_at"] >= interval["confirmed_at"]
            intervals.append("open" if interval["ended_at"] is None else "ended")
        l["intervals"] = intervals
    return body


def summary(w: World, key: str, relation: str) -> dict[str, Any]:
    found = {"agreement_id": w.ids[key], "relation": relation}
    if relation != "shared":
        found["title"] = w.texts["title_a" if key == "A" else "title_d"]
    return found


def expected_read(w: World, route: str, caller: str) -> Any:
    viewer = w[caller]
    match route:
        case "list agreements":
            keys = {
                "mina": [("A", "party"), ("D", "party")],
                "jo": [("A", "party"), ("D", "party")],
                "lee": [("A", "invited")],
                "sam": [("A", "shared"), ("D", "shared")],
                "ira": [("A", "shared")],
                "alex": [("A", "shared")],
            }.get(caller, [])
            return sorted((summary(w, k, rel) for k, rel in keys), key=lambda s: s["agreement_id"])
        case "view A":
            return {
                "mina": w.party_view_a,
                "jo": w.party_view_a,
                "lee": summary(w, "A", "invited"),
                "sam": metamour_view(w, "A", viewer, ["clauses:safer_sex"], [clause(w, "S", "S2")]),
                "ira": metamour_view(w, "A", viewer, ["clauses:safer_sex", "identity"], [clause(w, "S", "S2")]),
                "alex": metamour_view(w, "A", viewer, ["clauses:scheduling"], [clause(w, "C", "C")]),
            }[caller]
        case "view D (drafting)":
            # Sam's grant is active, but nothing is in force: the draft is not his to see.
            return {
                "mina": w.party_view_d,
                "jo": w.party_view_d,
                "sam": metamour_view(w, "D", viewer, ["clauses:safer_sex"], []),
            }[caller]
        case "my invitation":
            return {
                "agreement_id": w.ids["A"],
                "title": w.texts["title_a"],
                "status": "in_force",
                # Mina invited Lee, introducing herself; Jo is nobody Lee knows.
                "invited_by": named(w["mina"]),
                "parties": sorted([named(w["mina"]), ref(w, "jo", viewer)], key=lambda r: r["key"]),
            }
        case "version":
            return [
                {**clause(w, "P", "P"), "revision": 1},
                {**clause(w, "S", "S2"), "revision": 2},
                {**clause(w, "C", "C"), "revision": 1},
            ]
        case "diff":
            return {
                "added": [],
                "removed": [],
                "changed": [
                    {
                        "clause_id": w.ids["S"],
                        "topic": "safer_sex",
                        "old_revision": 1,
                        "new_revision": 2,
                        "segments": [
                            ["equal", "condoms always "],
                            ["delete", marker(w.texts["S1"])],
                            ["insert", marker(w.texts["S2"])],
                        ],
                    }
                ],
            }
        case "list grants":
            keys = ("G_sam", "G_ira", "G_alex", "G_robin", "G_nobody")
            return sorted((grant_view(w, viewer, k) for k in keys), key=lambda g: g["grant_id"])
        case "preview grant":
            # Exactly what Sam reads, built by the same view function.
            return {
                "grant_id": w.ids["G_sam"],
                "audience": ref(w, "sam", viewer),
                "pending": False,
                "why_not": None,
                "view": expected_read(w, "view A", "sam"),
            }
        case "who can see":
            # Robin's grant no longer holds; the pending one never did.
            views = [grant_view(w, viewer, k)["holds_through"] for k in ("G_sam", "G_ira")]
            return sorted(views, key=lambda v: v["grant_id"])
        case "network":
            return {"me": named(viewer), "links": own_links(w, caller), "known_links": []}
        case "inbox":
            # Jo's proposal waits for Mina, and so does check-in K (she has not shared); Mina's repair
            # note and draft D for Jo; A's invitation for Lee.
            waiting = {
                "mina": [("proposal", "P1", "A"), ("check_in", "K", "A")],
                "jo": [("repair_note", "N", "A"), ("consent", "D", "D")],
                "lee": [("invitation", "A", "A")],
            }.get(caller, [])
            return sorted((kind, w.ids[thing], w.ids[agreement]) for kind, thing, agreement in waiting)
        case "list check-ins":
            return w.check_in_lists.get(caller, [])
        case "view check-in":
            return w.check_in_views[caller]
        case "list documents":
            return w.document_lists[caller]
        case "view document":
            return w.document_views[caller]
        case "document history":
            return w.document_history
        case "list templates":
            return json.loads(msgspec.json.encode(list(load_library().values())))
        case "view template":
            return json.loads(msgspec.json.encode(load_library()["one_page_contract"]))
        case "list signals":
            return w.signal_lists[caller]
        case "view signal":
            return next(s for s in [*w.signal_lists[caller]["received"], *w.signal_lists[caller]["sent"]] if s["signal_id"] == w.ids["SG"])
        case "calendar":
            return w.calendars[caller]
        case "list plans":
            return w.plan_lists[caller]
        case "view plan":
            return w.plan_views[caller]
        case "signal settings":
            return {"expiry_hours": 24, "read_receipts": False, "quiet_from": None, "quiet_until": None, "time_zone": "UTC", "keep": "kind_and_time"}
        case "my availability":
            return expected_availability(w, caller)
        case "Mina's booking rules":
            return mina_rules_shown(w, caller)
    raise AssertionError(f"no expectation for {route}")


def visible_markers(w: World, route: str, caller: str) -> set[str]:
    """What a non-party may find in a read: only the in-force clause texts of their topics."""
    if route in ("view A", "list agreements") and caller in ("sam", "ira"):
        return {marker(w.texts["S2"])}
    if route in ("view A", "list agreements") and caller == "alex":
        return {marker(w.texts["C"])}
    if caller == "lee" and route in ("view A", "my invitation", "list agreements", "inbox"):
        return {marker(w.texts["title_a"])}  # an invitee sees the title, nothing else
    if caller == "sam" and route in ("view plan", "list plans"):
        return {marker(w.texts[k]) for k in ("PL_title", "PL_place", "PL_note")}  # he takes part in PL
    if caller == "sam" and route == "calendar":
        return {marker(w.texts[k]) for k in ("PL_title", "PL_place")}  # PL in full on his calendar
    if caller == "sam" and route in ("view document", "list documents"):
        return {marker(w.texts["M1"]), marker(w.texts["M3"])}  # M's current version, shared with him
    return set()


@pytest.mark.parametrize(("route", "caller", "expect"), cells(lambda e: e == R))
async def test_read(world: World, route: str, caller: str, expect: str) -> None:
    w = world
    spec = ROUTES[route]
    r = await w.client.get(spec.url(request_ids(w)), headers=w[caller].headers)
    assert r.status_code == 200, r.text
    if route.startswith("export"):
        await check_export(w, route, caller, r)
        return
    if route in PRINTED:
        check_printed(w, route, caller, r)
        return
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()

    if caller in ("mina", "jo"):
        if route == "timeline":
            # The parties see every step, with every word said along the way.
            other = w["mina" if caller == "jo" else "jo"]
            assert body == await w.api.call("GET", spec.url(request_ids(w)), other, 200)
            for key in ("R0", "R1", "comment", "what"):
                assert marker(w.texts[key]) in r.text, key
            return
        if route in ("view A", "view D (drafting)"):
            # Everything the world was built with is in the party's view (title, draft, talk).
            keys = {
                "view A": ("title_a", "S2", "S3", "C", "P", "R0", "R1", "comment", "what", "impact", "intentions"),
                "view D (drafting)": ("title_d", "DS"),
            }[route]
            for key in keys:
                assert marker(w.texts[key]) in r.text, key
    if route == "network":
        body = normalise_network(body)
    if route == "list grants":
        body = sorted(body, key=lambda g: g["grant_id"])  # the service's order is not specified
    if route == "inbox":
        assert body["count"] == len(body["items"])
        body = sorted((i["kind"], i["thing_id"], i["agreement_id"]) for i in body["items"])
    assert body == expected_read(w, route, caller)

    if caller not in ("mina", "jo"):
        # Nothing else leaks, in whatever field: no hidden text, no id of a hidden thing.
        assert set(MARKER.findall(r.text)) <= visible_markers(w, route, caller), r.text
        visible_ids = {c.get("clause_id") for c in body.get("clauses", [])} if isinstance(body, dict) else set()
        for hidden in w.hidden_ids() - visible_ids:
            assert hidden not in r.text, (hidden, r.text)


VIEWS = {"A": "view A", "D": "view D (drafting)"}


async def check_export(w: World, route: str, caller: str, r: Any) -> None:
    """An export, in any of its formats, is the caller's own reads put together, and nothing else.

    Each part is compared with the answer this matrix expects of the read it
    stands for; a party's timeline with the other party's (they see the same).
    """
    if route == "export as zip":
        with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
            texts = [archive.read(name).decode() for name in ("export.json", "export.md")]
    else:
        texts = [r.text]
    listed = expected_read(w, "list agreements", caller)
    party = caller in ("mina", "jo")
    if not party:
        views = [expected_read(w, VIEWS[k], caller) for k in VIEWS if w.ids[k] in {s["agreement_id"] for s in listed}]
        visible_ids = {c["clause_id"] for v in views for c in v.get("clauses", [])}
        visible = visible_markers(w, "view A", caller) | visible_markers(w, "my invitation", caller)
        visible |= visible_markers(w, "view document", caller)
        visible |= visible_markers(w, "view plan", caller)
        for text in texts:
            assert set(MARKER.findall(text)) <= visible, text
            for hidden in w.hidden_ids() - visible_ids:
                assert hidden not in text, (hidden, text)
    if route == "export as markdown":
        for summary in listed:
            assert f"`{summary['agreement_id']}`" in texts[0]
        return
    export = json.loads(texts[0])
    # Personal documents: exactly the caller's reads of each; the history for the owner only.
    assert [d["document"] for d in export["documents"]] == w.document_lists[caller]
    assert [d["history"] for d in export["documents"]] == [w.document_history if caller == "mina" else None] * len(
        export["documents"]
    )
    assert normalise_network(export["network"]) == expected_read(w, "network", caller)
    # Plans: exactly the caller's list.
    assert export["plans"] == w.plan_lists[caller]
    assert export["availability"] == expected_availability(w, caller)
    assert export["account"] == {"person_id": w[caller].sid, "handle": w[caller].handle, "display_name": w[caller].name}
    assert [(a["agreement_id"], a["relation"]) for a in export["agreements"]] == [
        (s["agreement_id"], s["relation"]) for s in listed
    ]
    for found in export["agreements"]:
        key = "A" if found["agreement_id"] == w.ids["A"] else "D"
        expected = {"party": None, "shared": None, "invitation": None}
        match found["relation"]:
            case "party":
                expected["party"] = expected_read(w, VIEWS[key], caller)
            case "shared":
                expected["shared"] = expected_read(w, VIEWS[key], caller)
            case "invited":
                expected["invitation"] = expected_read(w, "my invitation", caller)
        assert {k: found[k] for k in expected} == expected
        if not party:
            assert (found["timeline"], found["versions"], found["grants"], found["names"]) == (None, None, None, {})
        elif key == "A":
            other = w["mina" if caller == "jo" else "jo"]
            assert found["timeline"] == await w.api.call("GET", f"/api/agreements/{w.ids['A']}/timeline", other, 200)
            assert sorted(found["grants"], key=lambda g: g["grant_id"]) == expected_read(w, "list grants", caller)
            [in_force] = [v for v in found["versions"] if v["version"] == 4]
            assert in_force["clauses"] == expected_read(w, "version", caller)


PRINTED = (
    "agreement as markdown", "agreement as pdf", "agreement at version 3 as markdown",
    "document as markdown", "document as pdf", "document at version 1 as markdown",
)  # fmt: skip


def check_printed(w: World, route: str, caller: str, r: Any) -> None:
    """An export holds its reader's view and nothing else: for an agreement's party the version
    asked for (the one in force by default), for a metamour exactly their shared clauses; for a
    document's owner the version asked for, for whom it is shared with the current one."""
    if route.endswith("pdf"):
        assert r.headers["content-type"] == "application/pdf"
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    else:
        assert r.headers["content-type"].startswith("text/markdown")
        text = r.text
    assert r.headers["content-disposition"].startswith("attachment")
    if route.startswith("document"):
        # Care plan M: its owner's version asked for, or the current one for whom it is shared with.
        shown = {"M1", "M2"} if "version 1" in route else {"M1", "M3"}
    elif caller in ("mina", "jo"):
        version_3 = route.startswith("agreement at version 3")
        shown = {"title_a", "C", "P", "S1" if version_3 else "S2"}
    else:
        shown = {"S2"} if caller in ("sam", "ira") else {"C"}
    assert set(MARKER.findall(text)) == {marker(w.texts[k]) for k in shown}, text
    for hidden in w.hidden_ids():
        assert hidden not in text


# --------------------------------------------------------------------------
# Refusals: exact status, nothing appended, 404 and 401 alike for real and random ids
# --------------------------------------------------------------------------


def random_ids(ids: dict[str, str]) -> dict[str, str]:
    return {k: (str(uuid4()) if _is_uuid(v) else v) for k, v in ids.items()}


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def request_ids(w: World) -> dict[str, str]:
    return {**w.ids, "kai_handle": w["kai"].handle, "sky_id": w["sky"].sid, "in_force": "4", "T": "one_page_contract", "jo_id": w["jo"].sid, "jo_handle": w["jo"].handle}


async def send(
    w: World, route: Route, caller: str, ids: dict[str, str], body_ids: dict[str, str] | None = None
) -> Any:
    headers = {} if caller == "anon" else dict(w[caller].headers)
    kwargs: dict[str, Any] = {"headers": headers}
    if route.body is not None:
        kwargs["json"] = route.body(body_ids or ids)
    return await w.client.request(route.method, route.url(ids), **kwargs)


def assert_same_answer(r: Any, other: Any) -> None:
    assert (r.status_code, r.headers["content-type"], r.content) == (
        other.status_code,
        other.headers["content-type"],
        other.content,
    )
    assert r.headers.get("www-authenticate") == other.headers.get("www-authenticate")


@pytest.mark.parametrize(("route", "caller", "expect"), cells(lambda e: e not in (R, E)))
async def test_refused(world: World, route: str, caller: str, expect: int | tuple[int, str]) -> None:
    w = world
    spec = ROUTES[route]
    status, code = expect if isinstance(expect, tuple) else (expect, None)
    ids = request_ids(w)
    before = (await w.client.get("/health")).json()["position"]
    r = await send(w, spec, caller, ids)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "accord-position" not in r.headers
    problem = r.json()
    assert problem["status"] == status
    if code is not None:
        assert problem["type"] == f"https://accord.example/problems/{code}", problem
    if status in (401, 404):
        # Indistinguishable from the same request about things that do not exist.
        assert_same_answer(r, await send(w, spec, caller, random_ids(ids), body_ids=ids))
        assert set(MARKER.findall(r.text)) == set()
        for hidden in w.hidden_ids():
            assert hidden not in r.text
    if status == 401:
        assert r.headers["www-authenticate"] == 'Bearer realm="accord"'
    assert (await w.client.get("/health")).json()["position"] == before, f"{route} by {caller} appended"


# --------------------------------------------------------------------------
# Permitted changes, each on its own scratch state
# --------------------------------------------------------------------------


async def scratch_in_force(w: World) -> dict[str, str]:
    """Like A: in force, an open proposal by Jo with Mina's comment, Mina's repair note,
    Lee invited, a holding grant to Sam and a grant to a handle without an account
    awaiting Jo."""
    api, mina, jo = w.api, w["mina"], w["jo"]
    a = (await api.create(mina, mark("scratch")))["agreement_id"]
    await api.invite(mina, a, jo.handle)
    await api.accept_invitation(jo, a)
    s = (await api.add_clause(mina, a, mark("s"), "safer_sex"))["clause_id"]
    c = (await api.add_clause(mina, a, mark("c"), "scheduling"))["clause_id"]
    await api.ratify(mina, jo, a)
    p1, _ = await api.propose(jo, a, [{"kind": "edit", "clause_id": s, "text": mark("s2")}])
    await api.invite(mina, a, w["lee"].handle)
    view = await api.call(
        "POST",
        f"/api/agreements/{a}/repair-notes",
        mina,
        201,
        json={"clause_id": c, "what_happened": mark("w"), "impact": mark("i"), "intentions": mark("n")},
    )
    g_sam = await grant(api, a, mina, w["sam"].handle, ["clauses:safer_sex"], (jo,))
    g_nobody = await grant(api, a, mina, unique_handle("nobody"), ["clauses:safer_sex"])
    return {"A": a, "S": s, "C": c, "P1": p1, "N": view["repair_notes"][0]["note_id"], "G_sam": g_sam, "G_nobody": g_nobody}


async def scratch_drafting(w: World) -> dict[str, str]:
    """Like D: drafting, one clause, Mina has consented to version 1."""
    api, mina, jo = w.api, w["mina"], w["jo"]
    d = (await api.create(mina, mark("scratch")))["agreement_id"]
    await api.invite(mina, d, jo.handle)
    await api.accept_invitation(jo, d)
    ds = (await api.add_clause(mina, d, mark("ds"), "safer_sex"))["clause_id"]
    await api.consent(mina, d, 1)
    return {"D": d, "DS": ds}


async def scratch_due(w: World) -> dict[str, str]:
    """Mina and Jo's agreement in force whose one clause is due for review."""
    api, mina, jo = w.api, w["mina"], w["jo"]
    a = (await api.create(mina, mark("scratch")))["agreement_id"]
    await api.invite(mina, a, jo.handle)
    await api.accept_invitation(jo, a)
    s = (await api.add_clause(mina, a, mark("s"), "check_ins"))["clause_id"]
    await api.set_revisit_date(mina, a, s, later_day(1))
    await api.ratify(mina, jo, a)
    await api.wait_due(mina, a)
    return {"A": a, "S": s}


def later_day(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def scratch_live_link(w: World) -> dict[str, str]:
    """Jo and Sam's link, live again if an earlier cell ended it."""
    jo, sam = w["jo"], w["sam"]
    network = await w.api.call("GET", "/api/network", jo, 200)
    [found] = [l for l in network["links"] if l["link_id"] == w.ids["L_jo_sam"]]
    if found["status"] != "live":
        r = await w.client.post("/api/links", json={"handle": sam.handle}, headers=jo.headers)
        assert r.status_code == 202, r.text
        await w.api.call("POST", f"/api/links/{w.ids['L_jo_sam']}/confirm", sam, 200)
    return {}


async def scratch_channel(w: World) -> dict[str, str]:
    """Jo live-linked with Mina and with each partner the world gives him (Robin's link stays ended)."""
    await scratch_live_link(w)
    if "channel_links" not in w.ids:
        for name in ("mina", "ira", "alex", "kai"):
            await link(w.api, w["jo"], w[name])
        w.ids["channel_links"] = "yes"
    return {}


@pytest.mark.parametrize(("route", "caller", "expect"), cells(lambda e: e == E))
async def test_permitted(actors: World, route: str, caller: str, expect: str) -> None:
    w = actors
    spec = ROUTES[route]
    ids = request_ids(w)
    match spec.scratch:
        case "A":
            ids |= await scratch_in_force(w)
        case "D":
            ids |= await scratch_drafting(w)
        case "link":
            ids |= await scratch_live_link(w)
        case "K":
            ids |= await scratch_in_force(w)
            ids |= await check_in_scratch(w, ids["A"])
        case "due":
            ids |= await scratch_due(w)
        case "M":
            ids |= await scratch_document(w)
        case "channel":
            ids |= await scratch_channel(w)
        case "PL":
            ids |= await scratch_channel(w)
            ids |= await plan_scratch(w)
    before = (await w.client.get("/health")).json()["position"]
    r = await send(w, spec, caller, ids)
    assert r.status_code == spec.ok, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["accord-position"]) > before
    assert (await w.client.get("/health")).json()["position"] > before
