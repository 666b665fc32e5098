"""No view carries anything its viewer may not see: a property over generated networks.

Every clause text, history text, title and display name carries a unique
marker. For every person and every agreement, the rendered views are encoded
exactly as they would leave the server and searched for markers that a
simpler, independent oracle says the person may not see. The oracle works on
the raw generated world (days as integers, links as tuples) and checks paths
by brute force, so it shares no code with the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from uuid import UUID

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.agreement import Clause
from domain.network import Interval
from domain.policy import (
    AgreementFact,
    GrantFact,
    HistoryFact,
    LinkFact,
    Network,
    agreement_access,
    grant_standing,
    view_agreement,
    view_network,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SECRET = b"property secret"
TOPICS = ("boundaries", "safer_sex", "scheduling", "privacy")
SCOPES = ("identity", "relationship", "history", *(f"clauses:{t}" for t in TOPICS))
# Live links are drawn most often, so that metamours (and holding grants) are common.
LINK_KINDS = (
    *("none", "proposed", "declined", "withdrawn", "ended", "relinked", "reproposed"),
    *("live",) * 5,
)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@dataclass(frozen=True)
class RawLink:
    a: int
    b: int
    status: str
    proposer: int
    intervals: tuple[tuple[int, int | None], ...]


@dataclass(frozen=True)
class RawClause:
    key: int
    topic: str
    in_force: bool  # else only in the history: removed before now


@dataclass(frozen=True)
class RawAgreement:
    key: int
    parties: tuple[int, ...]
    clauses: tuple[RawClause, ...]


@dataclass(frozen=True)
class RawGrant:
    key: int
    agreement: int
    audience: int
    scopes: frozenset[str]
    consents: dict[int, int]
    until: int | None
    revoked: bool
    no_reshare: bool


@dataclass(frozen=True)
class World:
    people: tuple[int, ...]
    links: tuple[RawLink, ...]
    disclosures: dict[int, dict[int, bool]]
    agreements: tuple[RawAgreement, ...]
    grants: tuple[RawGrant, ...]
    now: int


# Ids and markers: distinct ranges, so no marker or id is part of another.


def person_id(p: int) -> UUID:
    return UUID(int=0x1000 + p)


def agreement_id(a: int) -> UUID:
    return UUID(int=0x2000 + a)


def clause_id(c: int) -> UUID:
    return UUID(int=0x3000 + c)


def grant_id(g: int) -> UUID:
    return UUID(int=0x4000 + g)


def name(p: int) -> str:
    return f"NAME_{p}_END"


def clause_text(c: int) -> str:
    return f"CLAUSE_{c}_END"


def history_text(c: int) -> str:
    return f"EARLIER_{c}_END"


def title(a: int) -> str:
    return f"TITLE_{a}_END"


# Generating worlds


@st.composite
def links(draw: st.DrawFn, people: tuple[int, ...]) -> tuple[RawLink, ...]:
    result = []
    for a, b in combinations(people, 2):
        kind = draw(st.sampled_from(LINK_KINDS))
        if kind == "none":
            continue
        t1, t2, t3 = sorted(draw(st.lists(st.integers(0, 30), min_size=3, max_size=3, unique=True)))
        proposer = draw(st.sampled_from((a, b)))
        status, intervals = {
            "proposed": ("proposed", ()),
            "declined": ("declined", ()),
            "withdrawn": ("withdrawn", ()),
            "live": ("live", ((t1, None),)),
            "ended": ("ended", ((t1, t2),)),
            "relinked": ("live", ((t1, t2), (t3, None))),
            "reproposed": ("proposed", ((t1, t2),)),
        }[kind]
        result.append(RawLink(a, b, status, proposer, intervals))
    return tuple(result)


def raw_metamours(links: tuple[RawLink, ...], person: int) -> set[int]:
    def partners(p: int) -> set[int]:
        return {l.b if l.a == p else l.a for l in links if l.status == "live" and p in (l.a, l.b)}

    return {m for partner in partners(person) for m in partners(partner)} - {person}


@st.composite
def worlds(draw: st.DrawFn) -> World:
    people = tuple(range(draw(st.integers(4, 7))))
    raw_links = draw(links(people))
    disclosures: dict[int, dict[int, bool]] = {}
    choices = st.tuples(st.sampled_from(people), st.sampled_from(people), st.booleans())
    for person, audience, shown in draw(st.lists(choices, max_size=6)):
        if person != audience:
            disclosures.setdefault(person, {})[audience] = shown

    agreements = []
    clause_keys = iter(range(1000))
    for a in range(draw(st.integers(1, 2))):
        parties = tuple(
            draw(st.lists(st.sampled_from(people), min_size=1, max_size=3, unique=True))
        )
        clauses = tuple(
            RawClause(next(clause_keys), topic, in_force)
            for topic, in_force in draw(
                st.lists(st.tuples(st.sampled_from(TOPICS), st.booleans()), max_size=5)
            )
        )
        agreements.append(RawAgreement(a, parties, clauses))

    grants = []
    for g in range(draw(st.integers(0, 8))):
        agreement = draw(st.sampled_from(agreements))
        outsiders = sorted(set(people) - set(agreement.parties))
        if not outsiders:
            continue
        # Mostly to a metamour of a party, as the application would allow.
        metamours = sorted(
            set().union(*(raw_metamours(raw_links, p) for p in agreement.parties)) & set(outsiders)
        )
        audiences = metamours if metamours and draw(st.integers(0, 3)) else outsiders
        # Mostly every party, sometimes also someone who since left, sometimes too few.
        consenting = draw(st.lists(st.sampled_from(people), max_size=4, unique=True))
        if draw(st.integers(0, 3)):
            consenting = sorted({*consenting, *agreement.parties})
        grants.append(
            RawGrant(
                key=g,
                agreement=agreement.key,
                audience=draw(st.sampled_from(audiences)),
                scopes=frozenset(draw(st.lists(st.sampled_from(SCOPES), min_size=1, unique=True))),
                consents={p: draw(st.integers(5, 35)) for p in consenting},
                until=draw(st.none() | st.none() | st.integers(0, 40)),
                revoked=draw(st.booleans()) and draw(st.booleans()),
                no_reshare=draw(st.booleans()),
            )
        )
    return World(
        people=people,
        links=raw_links,
        disclosures=disclosures,
        agreements=tuple(agreements),
        grants=tuple(grants),
        now=draw(st.integers(0, 40)),
    )


# The world as facts for the policy


def network_of(world: World) -> Network:
    return Network(
        links=tuple(
            LinkFact(
                a=person_id(link.a),
                b=person_id(link.b),
                status=link.status,  # type: ignore[arg-type]
                proposer=person_id(link.proposer),
                intervals=tuple(
                    Interval(day(start), None if end is None else day(end))
                    for start, end in link.intervals
                ),
            )
            for link in world.links
        ),
        disclosures={
            person_id(p): {person_id(a): shown for a, shown in choices.items()}
            for p, choices in world.disclosures.items()
        },
    )


def agreement_fact(agreement: RawAgreement) -> AgreementFact:
    return AgreementFact(
        agreement_id=agreement_id(agreement.key),
        title=title(agreement.key),
        parties=tuple(person_id(p) for p in agreement.parties),
        clauses_in_force=tuple(
            Clause(clause_id(c.key), c.topic, clause_text(c.key))
            for c in agreement.clauses
            if c.in_force
        ),
        history=tuple(
            HistoryFact(
                clause_id=clause_id(c.key),
                topic=c.topic,
                change="added",
                text=history_text(c.key),
                at=day(0),
            )
            for c in agreement.clauses
        ),
    )


def grant_fact(grant: RawGrant) -> GrantFact:
    return GrantFact(
        grant_id=grant_id(grant.key),
        agreement_id=agreement_id(grant.agreement),
        audience=person_id(grant.audience),
        scopes=grant.scopes,
        consents={person_id(p): day(t) for p, t in grant.consents.items()},
        until=None if grant.until is None else day(grant.until),
        no_reshare=grant.no_reshare,
        revoked=grant.revoked,
    )


# The oracle


def live_since(world: World, a: int, b: int) -> int | None:
    for link in world.links:
        if {link.a, link.b} == {a, b} and link.status == "live":
            return link.intervals[-1][0]
    return None


def oracle_scopes(world: World, viewer: int, agreement: RawAgreement) -> set[str] | None:
    """All scopes for a party, the union of holding grants for others, None for no access."""
    if viewer in agreement.parties:
        return set(SCOPES)
    scopes: set[str] = set()
    for grant in world.grants:
        if grant.agreement != agreement.key or grant.audience != viewer or grant.revoked:
            continue
        if grant.until is not None and world.now >= grant.until:
            continue
        if not all(p in grant.consents for p in agreement.parties):
            continue
        earliest = min(grant.consents[p] for p in agreement.parties)

        def unbroken(a: int, b: int) -> bool:
            since = live_since(world, a, b)
            return since is not None and since <= earliest

        if any(
            unbroken(party, partner) and unbroken(partner, viewer)
            for party in agreement.parties
            for partner in world.people
            if partner not in (party, viewer)
        ):
            scopes |= grant.scopes
    return scopes or None


def oracle_why_not(world: World, grant: RawGrant, agreement: RawAgreement) -> str | None:
    """Why a grant does not hold now, by brute force over the raw world (None: it holds)."""
    parties = agreement.parties
    if grant.revoked:
        return "revoked"
    if grant.until is not None and world.now >= grant.until:
        return "lapsed"
    if grant.audience in parties:
        return "audience_is_party"
    if not all(p in grant.consents for p in parties):
        return "awaiting_consent"
    earliest = min(grant.consents[p] for p in parties)

    def intervals(a: int, b: int) -> tuple[tuple[int, int | None], ...]:
        return next((l.intervals for l in world.links if {l.a, l.b} == {a, b}), ())

    def path(linked) -> bool:  # noqa: ANN001
        return any(
            linked(party, partner) and linked(partner, grant.audience)
            for party in parties
            for partner in world.people
            if partner not in (party, grant.audience)
        )

    def unbroken(a: int, b: int) -> bool:
        since = live_since(world, a, b)
        return since is not None and since <= earliest

    def at_consent(a: int, b: int) -> bool:
        return any(start <= earliest and (end is None or earliest < end) for start, end in intervals(a, b))

    if path(unbroken):
        return None
    if path(at_consent):
        return "link_ended"
    if path(lambda a, b: live_since(world, a, b) is not None):
        return "linked_after_consent"
    return "not_a_metamour"


def oracle_discloses(world: World, person: int, viewer: int) -> bool:
    if person == viewer:
        return True
    choice = world.disclosures.get(person, {}).get(viewer)
    if choice is not None:
        return choice
    return any(
        {link.a, link.b} == {person, viewer}
        and (link.status == "live" or (link.status == "proposed" and link.proposer == person))
        for link in world.links
    )


# The property


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_no_view_carries_what_its_viewer_may_not_see(world: World) -> None:
    network = network_of(world)
    agreements = [agreement_fact(a) for a in world.agreements]
    grants = [grant_fact(g) for g in world.grants]
    names = {person_id(p): name(p) for p in world.people}
    now = day(world.now)

    for viewer in world.people:
        # Which names and links this viewer may come across at all.
        nameable = {p for p in world.people if oracle_discloses(world, p, viewer)}
        known_pairs = set()

        for raw, fact in zip(world.agreements, agreements, strict=True):
            view = view_agreement(person_id(viewer), fact, grants, network, names, SECRET, now)
            sent = msgspec.json.encode(view).decode()
            scopes = oracle_scopes(world, viewer, raw)

            if scopes is None:
                assert view is None
                continue
            assert view is not None
            topics = {s.removeprefix("clauses:") for s in scopes if s.startswith("clauses:")}
            is_party = viewer in raw.parties

            assert (title(raw.key) in sent) == is_party
            for clause in raw.clauses:
                visible = clause.topic in topics
                assert (clause_text(clause.key) in sent) == (visible and clause.in_force)
                assert (history_text(clause.key) in sent) == (visible and "history" in scopes)
                if not visible:
                    assert str(clause_id(clause.key)) not in sent
            for person in world.people:
                named = person in raw.parties and (is_party or "identity" in scopes)
                assert (name(person) in sent) == named
                if not named:
                    assert str(person_id(person)) not in sent

            if "identity" in scopes:
                nameable |= set(raw.parties)
            if "relationship" in scopes:
                known_pairs |= {
                    frozenset((a, b))
                    for a, b in combinations(raw.parties, 2)
                    if viewer not in (a, b) and live_since(world, a, b) is not None
                }

        network_view = view_network(
            person_id(viewer), network, names, agreements, grants, SECRET, now
        )
        sent = msgspec.json.encode(network_view).decode()
        for marker in ("CLAUSE_", "EARLIER_", "TITLE_"):
            assert marker not in sent
        for person in world.people:
            if person not in nameable:
                assert name(person) not in sent
                assert str(person_id(person)) not in sent
        assert len(network_view.links) == sum(viewer in (l.a, l.b) for l in world.links)
        assert len(network_view.known_links) == len(known_pairs)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_what_the_parties_are_told_of_a_grant_is_what_the_audience_gets(world: World) -> None:
    """Every grant's standing: why not as the oracle says, holding exactly when it gives access,
    and the same from the links of the parties and the audience alone."""
    network = network_of(world)
    now = day(world.now)
    for raw in world.grants:
        agreement = next(a for a in world.agreements if a.key == raw.agreement)
        fact = agreement_fact(agreement)
        grant = grant_fact(raw)
        found = grant_standing(grant, fact.parties, network, now)

        assert found.why_not == oracle_why_not(world, raw, agreement)
        assert found.holds == (found.why_not is None)
        alone = agreement_access(grant.audience, fact, [grant], network, now)
        assert found.holds == (alone.kind == "metamour")
        if found.holds:
            assert found.through is not None and found.through.grant_id == grant.grant_id

        people = {*fact.parties, grant.audience}
        near = Network(links=tuple(l for l in network.links if {l.a, l.b} & people))
        assert grant_standing(grant, fact.parties, near, now) == found
