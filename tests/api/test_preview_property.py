"""See what they see: the preview of a grant is the HTTP view of its audience, a property.

Hypothesis draws a small world over HTTP: five people, links among them (live,
never confirmed, ended, ended and mended), Ana and Ben's agreement in force
with clauses on some topics, and grants to the others with random scopes,
"do not reshare", and some or all of the parties' consents; then some links
end or are mended, and some grants are revoked. That gives every kind of
audience: a metamour whose grant holds, one whose link ended or was mended
since the consent, one who was never a metamour, one holding two grants, one
whose grant was revoked, one still waiting for consent.

Then, for every grant, each party's preview must be exactly what its audience
reads (GET /api/agreements/{id}; a null view exactly when that is 404),
unless some party has not consented yet. A pending grant's preview must be
what they read once the remaining parties consent, whenever it then holds.

SQLite only, one app for the module, fresh people for every example.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, mark

# The privacy property's app: SQLite, one per module.
from tests.api.test_privacy_property import prop_client  # noqa: F401

TOPICS = ("boundaries", "safer_sex", "scheduling")
SCOPES = ("identity", "relationship", "history", *(f"clauses:{t}" for t in TOPICS))
#: 0 and 1 are the parties; 2, 3 and 4 are audiences.
PEOPLE = range(5)
LINK_KINDS = ("live", "live", "proposed", "ended", "relinked")


@dataclass(frozen=True)
class GrantPlan:
    audience: int
    scopes: tuple[str, ...]
    no_reshare: bool
    #: Which parties consent before the links change (the proposer, 0 or 1, always does).
    proposer: int
    both_consent: bool
    revoked: bool


@dataclass(frozen=True)
class Plan:
    links: dict[tuple[int, int], str]
    topics: tuple[str, ...]
    grants: tuple[GrantPlan, ...]
    #: Links changed after the grants: ended, or (if not live) made live.
    late: tuple[tuple[int, int], ...]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    # Ana and Ben are partners; the audiences link to either, or to each other.
    pairs = [p for p in itertools.combinations(PEOPLE, 2) if p != (0, 1)]
    links = {(0, 1): "live", **draw(st.dictionaries(st.sampled_from(pairs), st.sampled_from(LINK_KINDS), min_size=1, max_size=5))}
    grants = tuple(
        draw(
            st.lists(
                st.builds(
                    GrantPlan,
                    audience=st.sampled_from((2, 3, 4)),
                    scopes=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=3, unique=True).map(tuple),
                    no_reshare=st.booleans(),
                    proposer=st.sampled_from((0, 1)),
                    both_consent=st.sampled_from((True, True, False)),
                    revoked=st.sampled_from((False, False, False, True)),
                ),
                min_size=1,
                max_size=4,
            )
        )
    )
    return Plan(
        links=links,
        topics=tuple(draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3))),
        grants=grants,
        late=tuple(draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True))),
    )


class World:
    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.api = Api(client)
        self.people: list[Person] = []
        self.links: dict[tuple[int, int], str] = {}
        self.link_ids: dict[tuple[int, int], str] = {}

    async def link(self, pair: tuple[int, int]) -> None:
        a, b = (self.people[i] for i in pair)
        self.link_ids[pair] = await self.api.link(a, b)
        self.links[pair] = "live"

    async def end(self, pair: tuple[int, int]) -> None:
        await self.api.call("POST", f"/api/links/{self.link_ids[pair]}/end", self.people[pair[0]], 200)
        self.links[pair] = "ended"

    async def change(self, pair: tuple[int, int], kind: str) -> None:
        """Bring a link to `kind`."""
        if kind == "proposed":
            await self.api.propose_link(*(self.people[i] for i in pair))
            self.links[pair] = "proposed"
            return
        await self.link(pair)
        if kind in ("ended", "relinked"):
            await self.end(pair)
        if kind == "relinked":
            await self.link(pair)


async def build(w: World, plan: Plan) -> tuple[str, list[tuple[str, GrantPlan]]]:
    api = w.api
    w.people = [await api.person(f"p{i}") for i in PEOPLE]
    ana, ben = w.people[0], w.people[1]
    for pair, kind in plan.links.items():
        await w.change(pair, kind)
    agreement = (await api.create(ana, mark("title")))["agreement_id"]
    await api.invite(ana, agreement, ben.handle)
    await api.accept_invitation(ben, agreement)
    for topic in plan.topics:
        await api.add_clause(ana, agreement, mark(topic), topic)
    await api.ratify(ana, ben, agreement)
    grants = []
    for g in plan.grants:
        body = {"audience": w.people[g.audience].handle, "scopes": list(g.scopes), "no_reshare": g.no_reshare}
        view = await api.call("POST", f"/api/agreements/{agreement}/grants", w.people[g.proposer], 201, json=body)
        if g.both_consent:
            other = w.people[1 - g.proposer]
            await api.call("POST", f"/api/agreements/{agreement}/grants/{view['grant_id']}/consent", other, 200)
        grants.append((view["grant_id"], g))
    for pair in plan.late:
        if w.links.get(pair) == "live":
            await w.end(pair)
        elif w.links.get(pair) != "proposed":
            await w.link(pair)
    for grant_id, g in grants:
        if g.revoked:
            await api.call("POST", f"/api/agreements/{agreement}/grants/{grant_id}/revoke", ana, 200)
    return agreement, grants


async def audience_reads(w: World, agreement: str, audience: Person) -> Any:
    r = await w.api.client.get(f"/api/agreements/{agreement}", headers=audience.headers)
    assert r.status_code in (200, 404), r.text
    return r.json() if r.status_code == 200 else None


async def preview(w: World, agreement: str, grant_id: str, party: Person) -> Any:
    return await w.api.call("GET", f"/api/agreements/{agreement}/grants/{grant_id}/preview", party, 200)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plan=plans())
async def test_the_preview_is_what_the_audience_reads(prop_client: AsyncTestClient[Litestar], plan: Plan) -> None:
    w = World(prop_client)
    agreement, grants = await build(w, plan)
    parties = w.people[:2]
    pending = []
    for grant_id, g in grants:
        audience = w.people[g.audience]
        for party in parties:
            found = await preview(w, agreement, grant_id, party)
            event("pending" if found["pending"] else f"why not: {found['why_not']}")
            if found["pending"]:
                assert found["why_not"] is None
                pending.append((grant_id, g))
                break
            assert found["view"] == await audience_reads(w, agreement, audience), (g, found)
            if g.revoked:
                assert found["why_not"] == "revoked"
    # A pending grant's preview, just before the other party consents, is what they then read, if it holds.
    for grant_id, g in pending:
        promised = (await preview(w, agreement, grant_id, w.people[g.proposer]))["view"]
        other = w.people[1 - g.proposer]
        granted = await w.api.call("POST", f"/api/agreements/{agreement}/grants/{grant_id}/consent", other, 200)
        found = await preview(w, agreement, grant_id, w.people[0])
        reads = await audience_reads(w, agreement, w.people[g.audience])
        assert not found["pending"] and found["view"] == reads
        if granted["holds"]:
            assert promised == reads, (g, promised, reads)
