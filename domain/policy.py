"""Who may see what, and why: the one place Accord decides it.

Every function here is pure. Inputs are frozen facts (built by projections from
the log) and `now`; outputs are the only shapes in which the network or an
agreement leaves the server. `agreement_access` is the decision; the views are
built from it and from nothing else, so a route, a list and a websocket push
cannot disagree about what a person may see.

The rules, in short:

- A party of an agreement sees all of it.
- A metamour sees what holding grants give them (`grant_holds`): every current
  party consented, the grant is neither revoked nor lapsed, and the audience is
  a partner of a partner of some party through two links that have been live,
  without a break, since before every current party gave their consent. So a
  link that ends kills the grant for good; re-confirming the link starts a new
  live interval and only a fresh grant (fresh consent) covers it.
  `grant_standing` says the same to the parties, with the reason a grant does
  not hold (`WhyNot`).
- Everyone else sees nothing, not even that the agreement exists.
- A name is shown to its person, to audiences the person chose, by default to
  the person's live partners and to whoever they are asking to be partners
  with; inside an agreement, to its parties and to holders of `identity`.
  Otherwise a stable pseudonym derived from a server secret stands in, and the
  person's id is left out, so nothing ties the pseudonym to the person.
- Someone invited to an agreement sees its title, who invited them and who its
  parties are (`view_invitation`). Inviting someone is introducing oneself, as
  asking to link is, so the inviter is named; the other parties are named only
  as `person_ref` decides, since the invitee is not a party yet.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from domain.agreement import TOPICS, Clause
from domain.availability import RULES as BOOKING_RULES
from domain.availability import Availability, BookingRules, Breach, Mode, ShownTo
from domain.cadence import Cadence
from domain.cadence import starts_at as cadence_starts_at
from domain.calendar import CHECK_IN, PLAN_KINDS, Shows, Slot
from domain.checkins import CheckIn, Occurrence
from domain.documents import KIND_NAMES as DOCUMENT_KINDS
from domain.documents import PersonalDocument
from domain.documents import Section as DocumentSection
from domain.errors import NotFound, NotToBeShared
from domain.grants import (
    CLAUSES,
    EVENTS,
    EVENTS_BUSY,
    HISTORY,
    IDENTITY,
    RELATIONSHIP,
    SCOPES,
    SharingGrant,
    clauses_scope,
)
from domain.network import Interval, LinkStatus, PartnerLink
from domain.plans import Plan, PlanTime
from domain.signals import KINDS as SIGNAL_KINDS
from domain.signals import Signal

ClauseChangeKind = Literal["added", "edited", "removed"]
AccessKind = Literal["party", "metamour", "none"]

# Facts


class LinkFact(msgspec.Struct, frozen=True, kw_only=True):
    """A partner link as the log tells it; one per pair of people."""

    a: UUID
    b: UUID
    status: LinkStatus
    #: Who proposed the current cycle.
    proposer: UUID
    intervals: tuple[Interval, ...] = ()

    @property
    def live(self) -> bool:
        return self.status == "live"

    @property
    def live_since(self) -> datetime | None:
        return self.intervals[-1].confirmed_at if self.live and self.intervals else None

    def live_at(self, moment: datetime) -> bool:
        """Whether one of its live intervals covers `moment` (whatever it is now)."""
        return any(
            i.confirmed_at <= moment and (i.ended_at is None or moment < i.ended_at)
            for i in self.intervals
        )

    def involves(self, person: UUID) -> bool:
        return person in (self.a, self.b)

    def other_than(self, person: UUID) -> UUID:
        return self.b if person == self.a else self.a


class Network(msgspec.Struct, frozen=True, kw_only=True):
    links: tuple[LinkFact, ...] = ()
    #: person -> audience -> whether the person's display name is shown to that audience.
    disclosures: dict[UUID, dict[UUID, bool]] = msgspec.field(default_factory=dict)


class GrantFact(msgspec.Struct, frozen=True, kw_only=True):
    grant_id: UUID
    agreement_id: UUID
    audience: UUID
    scopes: frozenset[str]
    #: Who consented, and when: when decides which links a grant can hold through.
    consents: dict[UUID, datetime]
    until: datetime | None = None
    no_reshare: bool = False
    revoked: bool = False
    #: A `Lapsed` event is in the log: over for every process, whatever its clock says.
    lapsed: bool = False

    @property
    def consented_by(self) -> frozenset[UUID]:
        return frozenset(self.consents)

    def has_ended(self, now: datetime) -> bool:
        """Lapsed: recorded so, or its end date has come."""
        return self.lapsed or (self.until is not None and now >= self.until)


def grant_fact(grant: SharingGrant) -> GrantFact:
    """The policy's fact of a grant aggregate (a read model's replica, or a command's result)."""
    return GrantFact(
        grant_id=grant.id,
        agreement_id=grant.agreement_id,
        audience=grant.audience,
        scopes=frozenset(grant.scopes),
        consents=dict(grant.consents),
        until=grant.until,
        no_reshare=grant.no_reshare,
        revoked=grant.is_revoked,
        lapsed=grant.lapsed,
    )


class HistoryFact(msgspec.Struct, frozen=True, kw_only=True):
    """One clause's change between two versions in force (see `in_force_history`)."""

    clause_id: UUID
    topic: str
    change: ClauseChangeKind
    #: None for a removal.
    text: str | None
    #: When the version carrying the change came into force.
    at: datetime


class AgreementFact(msgspec.Struct, frozen=True, kw_only=True):
    """What a consented view may draw on: content in force only, never drafts or talk."""

    agreement_id: UUID
    title: str
    parties: tuple[UUID, ...]
    clauses_in_force: tuple[Clause, ...] = ()
    history: tuple[HistoryFact, ...] = ()


def in_force_history(
    versions_in_force: Iterable[tuple[datetime, Mapping[UUID, Clause]]],
) -> tuple[HistoryFact, ...]:
    """Each version in force, oldest first with the moment it came into force, as clause changes.

    Diffing versions in force against each other, never drafts, keeps edits
    that were made and dropped while drafting out of every audience's sight.
    """
    entries: list[HistoryFact] = []
    before: Mapping[UUID, Clause] = {}
    for at, content in versions_in_force:
        for clause_id, clause in content.items():
            old = before.get(clause_id)
            if old is None or old.text != clause.text:
                change: ClauseChangeKind = "added" if old is None else "edited"
                entries.append(
                    HistoryFact(
                        clause_id=clause_id,
                        topic=clause.topic,
                        change=change,
                        text=clause.text,
                        at=at,
                    )
                )
        for clause_id, old in before.items():
            if clause_id not in content:
                entries.append(
                    HistoryFact(
                        clause_id=clause_id, topic=old.topic, change="removed", text=None, at=at
                    )
                )
        before = content
    return tuple(entries)


# The network


def partners_of(person: UUID, links: Iterable[LinkFact]) -> frozenset[UUID]:
    return frozenset(
        link.other_than(person) for link in links if link.live and link.involves(person)
    )


def metamours_of(person: UUID, links: Iterable[LinkFact]) -> frozenset[UUID]:
    """Partners of one's live partners. In a triad a partner is a metamour too."""
    links = tuple(links)
    return frozenset(
        metamour
        for partner in partners_of(person, links)
        for metamour in partners_of(partner, links)
        if metamour != person
    )


# Names


class PersonRef(msgspec.Struct, frozen=True):
    """A person as one viewer sees them: named with their id, or a pseudonym without it."""

    key: str
    name: str
    person_id: UUID | None = None


def discloses(person: UUID, viewer: UUID, network: Network) -> bool:
    """The person's explicit choice for this viewer, else the default."""
    choice = network.disclosures.get(person, {}).get(viewer)
    if choice is not None:
        return choice
    # Asking someone to be partners is introducing oneself; the answer is theirs to give.
    return any(
        link.involves(person)
        and link.involves(viewer)
        and (link.live or (link.status == "proposed" and link.proposer == person))
        for link in network.links
    )


def pseudonym(person: UUID, viewer: UUID, secret: bytes) -> PersonRef:
    """Stable per (person, viewer); without the secret it cannot be traced back to either."""
    digest = hmac.new(secret, b"pseudonym:" + person.bytes + viewer.bytes, hashlib.sha256)
    tag = digest.hexdigest()
    return PersonRef(key=f"p-{tag[:16]}", name=f"Someone ({tag[:4].upper()})")


class FormerMember(str):
    """The name of someone who deleted their account: shown alike to everyone, never a pseudonym."""


#: What views say in place of an erased person's name.
FORMER_MEMBER = FormerMember("a former member")


def person_ref(
    person: UUID,
    viewer: UUID,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
    *,
    identity: bool = False,
) -> PersonRef:
    """Named for themselves, for whom they disclose to, and when the caller passes `identity`
    (an access with the identity scope that covers this person); otherwise a pseudonym."""
    name = names.get(person)
    if isinstance(name, FormerMember):
        # Their id stays out too: it named someone who asked to be gone.
        return PersonRef(key=pseudonym(person, viewer, secret).key, name=str(name))  # plain text on the wire
    if name is not None and (identity or person == viewer or discloses(person, viewer, network)):
        return PersonRef(key=str(person), name=name, person_id=person)
    return pseudonym(person, viewer, secret)


def display_name(
    person: UUID,
    viewer: UUID,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
    *,
    identity: bool = False,
) -> str:
    return person_ref(person, viewer, network, names, secret, identity=identity).name


# Grants and access


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """Why an audience sees something: this grant, through party - partner - audience."""

    grant_id: UUID
    party: UUID
    partner: UUID
    audience: UUID


class Access(msgspec.Struct, frozen=True, kw_only=True):
    kind: AccessKind
    scopes: frozenset[str] = frozenset()
    reasons: tuple[Reason, ...] = ()
    no_reshare: bool = False

    @property
    def is_party(self) -> bool:
        return self.kind == "party"

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(s.removeprefix(CLAUSES) for s in self.scopes if s.startswith(CLAUSES))


NO_ACCESS = Access(kind="none")


#: Why a grant does not hold now; `grant_standing` gives the first that applies, in this order.
WhyNot = Literal[
    # A party revoked it: final.
    "revoked",
    # Its end date came (or its `Lapsed` event is in the log): final.
    "lapsed",
    # The audience has since become a party, and sees the whole agreement as one.
    "audience_is_party",
    # Some current party has not consented (a party who joined later must too).
    "awaiting_consent",
    # Every party consented, and the audience was a partner of a partner when the
    # consent dates from, but a link of that path has ended since: final, even if mended.
    "link_ended",
    # The audience is a partner of a partner now, but only through links made after
    # the consent dates from: nobody consented to those. A fresh grant covers them.
    "linked_after_consent",
    # The audience is not a partner of a partner of any party, and was not when the
    # consent dates from.
    "not_a_metamour",
]


class GrantStanding(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a grant is in effect now, for the agreement's parties to read.

    `active`: every current party consented, and it is neither revoked nor
    lapsed. `through`: the path it holds through now, or None. `why_not`: None
    exactly when it holds.
    """

    active: bool
    through: Reason | None = None
    why_not: WhyNot | None = None

    @property
    def holds(self) -> bool:
        return self.through is not None


def grant_is_active(grant: GrantFact, parties: Sequence[UUID], now: datetime) -> bool:
    """Every current party consented (so a newcomer must too), not revoked, not lapsed.

    The only definition of an active grant: the access decision, the views and
    the parties' grant lists all ask here (the aggregate keeps none of its own).
    """
    return (
        bool(parties)
        and all(party in grant.consents for party in parties)
        and not grant.revoked
        and not grant.has_ended(now)
    )


def grant_holds(
    grant: GrantFact, agreement: AgreementFact, network: Network, now: datetime
) -> Reason | None:
    """The path a grant holds through (parties and partners in id order), or None."""
    return _holds(grant, agreement, network, now, prefer=None)


def _holds(
    grant: GrantFact,
    agreement: AgreementFact,
    network: Network,
    now: datetime,
    prefer: UUID | None,
) -> Reason | None:
    if grant.agreement_id != agreement.agreement_id:
        return None
    return _holding(grant, agreement.parties, network.links, now, prefer)


def _holding(
    grant: GrantFact,
    parties: Sequence[UUID],
    links: Sequence[LinkFact],
    now: datetime,
    prefer: UUID | None,
) -> Reason | None:
    """THE rule of a holding grant: active, and a path unbroken since consent. Its path, or None."""
    if grant.audience in parties or not grant_is_active(grant, parties, now):
        return None
    # Consent was given to a metamour relation that existed then; a link that
    # broke since, even if it was mended, is not what anyone consented to.
    consented = _consented(grant, parties)

    def unbroken(link: LinkFact) -> bool:
        since = link.live_since
        return since is not None and since <= consented

    path = _path(parties, grant.audience, links, unbroken, prefer)
    if path is None:
        return None
    party, partner = path
    return Reason(grant_id=grant.grant_id, party=party, partner=partner, audience=grant.audience)


def _consented(grant: GrantFact, parties: Sequence[UUID]) -> datetime:
    """When a grant's consent dates from: the earliest consent of a current party.
    The links it holds through must have been live, unbroken, since then."""
    return min(grant.consents[party] for party in parties)


def grant_standing(
    grant: GrantFact,
    parties: Sequence[UUID],
    network: Network,
    now: datetime,
    *,
    prefer: UUID | None = None,
) -> GrantStanding:
    """Whether `grant`, on an agreement of `parties`, holds now: through which path, or why not.

    It holds exactly when `agreement_access` gives its audience what it grants
    (both ask `_holding`). The path is deterministic (parties and partners in
    id order), preferring `prefer`'s own, which they can recognise. Why not is
    told only as far as the parties' consent reaches: until every party
    consented it is `awaiting_consent`, whatever the links are, so a party
    proposing grants alone cannot probe whom another party's partners are
    partners with. `network` needs only the links (of any status) of the
    parties and the audience.
    """
    links = network.links
    through = _holding(grant, parties, links, now, prefer)
    if through is not None:
        return GrantStanding(active=True, through=through)
    active = grant_is_active(grant, parties, now)
    why_not: WhyNot
    if grant.revoked:
        why_not = "revoked"
    elif grant.has_ended(now):
        why_not = "lapsed"
    elif grant.audience in parties:
        why_not = "audience_is_party"
    elif not active:
        why_not = "awaiting_consent"
    else:
        consented = _consented(grant, parties)
        if _path(parties, grant.audience, links, lambda link: link.live_at(consented), prefer):
            why_not = "link_ended"
        elif _path(parties, grant.audience, links, lambda link: link.live, prefer):
            why_not = "linked_after_consent"
        else:
            why_not = "not_a_metamour"
    return GrantStanding(active=active, why_not=why_not)


def _path(
    parties: Sequence[UUID],
    audience: UUID,
    links: Sequence[LinkFact],
    counts: Callable[[LinkFact], bool],
    prefer: UUID | None,
) -> tuple[UUID, UUID] | None:
    """The first (party, partner) with party - partner - audience along two links that `counts`."""

    def linked(a: UUID, b: UUID) -> bool:
        return any(counts(link) for link in links if link.involves(a) and link.involves(b))

    for party in sorted(parties, key=lambda p: (p != prefer, p)):
        partners = {link.other_than(party) for link in links if link.involves(party) and counts(link)}
        for partner in sorted(partners - {audience}):
            if linked(partner, audience):
                return party, partner
    return None


Relation = Literal["party", "invitee"]


def relation(viewer: UUID, parties: Collection[UUID], invitees: Collection[UUID] = ()) -> Relation | None:
    """How `viewer` stands to an agreement by its own membership: a party, someone invited, or neither.

    The first question of every decision about an agreement. A party sees and
    may do everything; an invitee sees its title and their invitation, and may
    answer it; anyone else reaches it only through a holding grant
    (`agreement_access`) and otherwise gets what a random id gets: not found.
    """
    if viewer in parties:
        return "party"
    if viewer in invitees:
        return "invitee"
    return None


def check_party(viewer: UUID, agreement_id: UUID, parties: Collection[UUID]) -> None:
    """What only a party may see or do: anyone else is told it does not exist."""
    if relation(viewer, parties) != "party":
        raise NotFound("agreement", agreement_id)


def check_involved(
    viewer: UUID, agreement_id: UUID, parties: Collection[UUID], invitees: Collection[UUID]
) -> Relation:
    """What a party or an invitee may do (each command then checks its own rule): others, not found."""
    found = relation(viewer, parties, invitees)
    if found is None:
        raise NotFound("agreement", agreement_id)
    return found


def agreement_access(
    viewer: UUID,
    agreement: AgreementFact,
    grants: Iterable[GrantFact],
    network: Network,
    now: datetime,
) -> Access:
    """THE decision: what `viewer` may see of `agreement`, and why."""
    if relation(viewer, agreement.parties) == "party":
        return Access(kind="party", scopes=frozenset(SCOPES) | own_topic_scopes(agreement))
    holding = [
        (grant, reason)
        for grant in sorted(grants, key=lambda g: g.grant_id)
        if grant.audience == viewer
        and (reason := grant_holds(grant, agreement, network, now)) is not None
    ]
    if not holding:
        return NO_ACCESS
    return Access(
        kind="metamour",
        scopes=frozenset().union(*(grant.scopes for grant, _ in holding)),
        reasons=tuple(reason for _, reason in holding),
        no_reshare=any(grant.no_reshare for grant, _ in holding),
    )


def own_topic_scopes(agreement: AgreementFact) -> frozenset[str]:
    """The `clauses:` scopes of the topics the parties named themselves, which a party sees like any other."""
    return frozenset(
        clauses_scope(item.topic)
        for item in (*agreement.clauses_in_force, *agreement.history)
        if item.topic not in TOPICS
    )


def who_can_see(
    asker: UUID,
    agreement: AgreementFact,
    clause_id: UUID,
    grants: Iterable[GrantFact],
    network: Network,
    now: datetime,
) -> tuple[Reason, ...]:
    """For a party: every audience that sees this clause, through which grant and which links.

    Anyone else gets NotFound, exactly as for a clause that does not exist. A
    clause no longer in force is seen only by holders of `history` as well.
    """
    if asker not in agreement.parties:
        raise NotFound("clause", clause_id)
    in_force = next((c for c in agreement.clauses_in_force if c.clause_id == clause_id), None)
    topic = (
        in_force.topic
        if in_force is not None
        else next((e.topic for e in agreement.history if e.clause_id == clause_id), None)
    )
    if topic is None:
        raise NotFound("clause", clause_id)
    needed = {clauses_scope(topic)} | (set() if in_force is not None else {HISTORY})
    return tuple(
        reason
        for grant in sorted(grants, key=lambda g: g.grant_id)
        if needed <= grant.scopes
        and (reason := _holds(grant, agreement, network, now, prefer=asker)) is not None
    )


# Views


class ClauseView(msgspec.Struct, frozen=True):
    clause_id: UUID
    topic: str
    text: str


class HistoryView(msgspec.Struct, frozen=True, kw_only=True):
    clause_id: UUID
    topic: str
    change: ClauseChangeKind
    text: str | None
    at: datetime


class PairView(msgspec.Struct, frozen=True):
    """A live link between two people, named by their `PersonRef` keys."""

    a: str
    b: str


class SharedView(msgspec.Struct, frozen=True, kw_only=True):
    """One agreement as one person may see it. No revision or version numbers:
    they would count the drafts and the changes to topics the viewer may not see."""

    agreement_id: UUID
    access: Literal["party", "metamour"]
    #: Parties only: a title can name people or say what hidden clauses say.
    title: str | None
    parties: tuple[PersonRef, ...]
    scopes: tuple[str, ...]
    clauses: tuple[ClauseView, ...]
    history: tuple[HistoryView, ...]
    links: tuple[PairView, ...]
    no_reshare: bool


def view_agreement(
    viewer: UUID,
    agreement: AgreementFact,
    grants: Iterable[GrantFact],
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
    now: datetime,
) -> SharedView | None:
    """None means 404: the viewer may not know the agreement exists.

    A party gets the in-force content of the facts in full; drafts, proposals,
    comments, consents and repair notes are the party's own view, built from the
    timeline after `agreement_access(...).is_party`.
    """
    access = agreement_access(viewer, agreement, grants, network, now)
    if access.kind == "none":
        return None
    return _shared_view(viewer, agreement, access, network, names, secret)


def _shared_view(
    viewer: UUID,
    agreement: AgreementFact,
    access: Access,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> SharedView:
    """The view `access` gives `viewer`: what `view_agreement` shows, and what `preview_grant` shows."""
    # Parties name each other: writing an agreement together is an introduction.
    # Anyone else learns who is in it only from `identity`, even about a person
    # whose name they know from elsewhere: that person is in it is the secret.
    identity = access.is_party or IDENTITY in access.scopes
    refs = {
        party: person_ref(party, viewer, network, names, secret, identity=True)
        if identity
        else pseudonym(party, viewer, secret)
        for party in agreement.parties
    }
    topics = access.topics
    links: tuple[PairView, ...] = ()
    if RELATIONSHIP in access.scopes:
        links = _pairs(
            (refs[link.a], refs[link.b])
            for link in network.links
            if link.live and link.a in refs and link.b in refs
        )
    return SharedView(
        agreement_id=agreement.agreement_id,
        access="party" if access.is_party else "metamour",
        title=agreement.title if access.is_party else None,
        # Sorted by key, so the order does not tell who created the agreement.
        parties=tuple(sorted(refs.values(), key=lambda ref: ref.key)),
        scopes=tuple(sorted(access.scopes)),
        clauses=tuple(
            ClauseView(clause.clause_id, clause.topic, clause.text)
            for clause in agreement.clauses_in_force
            if clause.topic in topics
        ),
        history=tuple(
            HistoryView(
                clause_id=entry.clause_id,
                topic=entry.topic,
                change=entry.change,
                text=entry.text,
                at=entry.at,
            )
            for entry in agreement.history
            if entry.topic in topics
        )
        if HISTORY in access.scopes
        else (),
        links=links,
        no_reshare=access.no_reshare,
    )


class InvitationView(msgspec.Struct, frozen=True, kw_only=True):
    """An agreement as someone invited to it sees it before answering."""

    agreement_id: UUID
    title: str
    #: `drafting` or `in_force`: joining one in force means every party consents afresh.
    status: str
    invited_by: PersonRef
    #: Sorted by key, so the order does not tell who created the agreement.
    parties: tuple[PersonRef, ...]


def view_invitation(
    viewer: UUID,
    agreement_id: UUID,
    title: str,
    status: str,
    parties: Sequence[UUID],
    invitations: Mapping[UUID, UUID],
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> InvitationView | None:
    """What `viewer` sees of an agreement they are invited to; None (404) if they are not.

    `invitations` maps each open invitee to who invited them. The inviter is
    named: inviting someone is introducing oneself. The parties are named as
    `person_ref` decides (the invitee is not a party, so no `identity`).
    """
    inviter = invitations.get(viewer)
    if inviter is None:
        return None

    def ref(person: UUID) -> PersonRef:
        return person_ref(person, viewer, network, names, secret, identity=person == inviter)

    return InvitationView(
        agreement_id=agreement_id,
        title=title,
        status=status,
        invited_by=ref(inviter),
        parties=tuple(sorted((ref(party) for party in parties), key=lambda r: r.key)),
    )


def _pairs(pairs: Iterable[tuple[PersonRef, PersonRef]]) -> tuple[PairView, ...]:
    unique = {PairView(*sorted((a.key, b.key))) for a, b in pairs}
    return tuple(sorted(unique, key=lambda pair: (pair.a, pair.b)))


class MyLink(msgspec.Struct, frozen=True, kw_only=True):
    link_id: UUID
    other: PersonRef
    status: LinkStatus
    proposed_by_me: bool
    intervals: tuple[Interval, ...]


class KnownLink(msgspec.Struct, frozen=True):
    """Someone else's live link, known through a holding grant with `relationship`."""

    a: PersonRef
    b: PersonRef


class NetworkView(msgspec.Struct, frozen=True, kw_only=True):
    me: PersonRef
    links: tuple[MyLink, ...]
    known_links: tuple[KnownLink, ...]

    def live_partners(self) -> list[PersonRef]:
        """My live partners whom I see by name: whom a form of mine may name (a check-in, a plan, a share)."""
        return [link.other for link in self.links if link.status == "live" and link.other.person_id]


def view_network(
    viewer: UUID,
    network: Network,
    names: Mapping[UUID, str],
    agreements: Iterable[AgreementFact],
    grants: Sequence[GrantFact],
    secret: bytes,
    now: datetime,
    blocked: Collection[UUID] = (),
) -> NetworkView:
    """The people and links `viewer` may see.

    - Their own links, whatever became of them: proposed, declined, withdrawn,
      live or ended, with the live intervals; but not a proposal, still
      pending, from someone who may not reach them (`may_reach`, `blocked`:
      the viewer's own block list).
    - Someone else's link, only while it is live and both its people are
      parties of an agreement the viewer may see with `relationship` scope (as
      a party, or through a holding grant). A partner's other partners are not
      shown otherwise, not even as a count. No dates: only that the link exists.
    - Names as `person_ref` decides; in someone else's link also when the
      access that shows the link includes `identity`, the same as the
      agreement's view shows it. Access to one agreement never names anyone in
      a link shown because of another.
    """

    def ref(person: UUID, identity: bool = False) -> PersonRef:
        return person_ref(person, viewer, network, names, secret, identity=identity)

    mine = tuple(
        sorted(
            (
                MyLink(
                    link_id=PartnerLink.id_for(link.a, link.b),
                    other=ref(link.other_than(viewer)),
                    status=link.status,
                    proposed_by_me=link.proposer == viewer,
                    intervals=link.intervals,
                )
                for link in network.links
                if link.involves(viewer)
                and not (link.status == "proposed" and not may_reach(link.proposer, viewer, blocked))
            ),
            key=lambda link: link.link_id,
        )
    )
    # Pair of people -> whether some access showing their link also names them.
    shown: dict[frozenset[UUID], bool] = {}
    for agreement in agreements:
        access = agreement_access(viewer, agreement, grants, network, now)
        if RELATIONSHIP not in access.scopes:
            continue
        for link in network.links:
            pair = frozenset((link.a, link.b))
            if link.live and viewer not in pair and pair <= set(agreement.parties):
                shown[pair] = shown.get(pair, False) or IDENTITY in access.scopes
    known = []
    for pair, identity in shown.items():
        # Without `identity` both are pseudonyms, even a partner the viewer knows:
        # naming one would tell the viewer which pseudonym is them, and so who is a party.
        a, b = sorted(
            (ref(person, True) if identity else pseudonym(person, viewer, secret) for person in pair),
            key=lambda r: r.key,
        )
        known.append(KnownLink(a, b))
    return NetworkView(
        me=ref(viewer),
        links=mine,
        known_links=tuple(sorted(known, key=lambda k: (k.a.key, k.b.key))),
    )


# Check-ins


class CheckInBasis(msgspec.Struct, frozen=True, kw_only=True):
    """What a check-in series stands on now: its partner link, or its agreement's parties."""

    link: LinkFact | None = None
    agreement_parties: tuple[UUID, ...] = ()


def check_in_participants(check_in: CheckIn, basis: CheckInBasis) -> frozenset[UUID]:
    """Who takes part in a check-in now; everyone else is told it does not exist.

    Between partners: both, while their link has been live without a break since
    the series started; once it ends, neither (a mended link is a new start, and
    takes a new series), so nothing of it stays on show to either. Among an
    agreement's parties: those of its participants who are still parties; one
    who leaves stops seeing it, and the others keep what was shared with them.
    """
    if check_in.link_id is not None:
        since = basis.link.live_since if basis.link is not None else None
        if since is None or since > check_in.started_at:
            return frozenset()
        return frozenset(check_in.participants)
    parties = set(basis.agreement_parties)
    return frozenset(p for p in check_in.participants if p in parties)


def check_in_access(viewer: UUID, check_in: CheckIn, basis: CheckInBasis) -> bool:
    """THE decision for a check-in: a participant sees it; nobody else, not even that it exists."""
    return viewer in check_in_participants(check_in, basis)


class SharedAnswersView(msgspec.Struct, frozen=True, kw_only=True):
    person: PersonRef
    answers: tuple[str, ...]
    shared_at: datetime


class ActionPointView(msgspec.Struct, frozen=True, kw_only=True):
    action_point_id: UUID
    text: str
    #: The renegotiation it opened, once someone proposed it.
    agreement_id: UUID | None = None
    proposal_id: UUID | None = None


class OccurrenceView(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    starts_at: datetime
    #: Where the cadence put it, before any move.
    scheduled_at: datetime
    #: `open` (being prepared for), `closed` (a plan was agreed), `skipped`, or `missed`.
    status: str
    prompts: tuple[str, ...]
    #: The viewer's own answers, shared or not: nobody else's unshared ones are ever here.
    my_answers: tuple[str, ...]
    i_shared: bool
    #: What the participants have shared, the viewer's own included.
    shared: tuple[SharedAnswersView, ...]
    plan: str | None
    closed_by: PersonRef | None
    action_points: tuple[ActionPointView, ...]
    moved_reason: str | None
    skipped_reason: str | None
    skipped_by: PersonRef | None


class CheckInView(msgspec.Struct, frozen=True, kw_only=True):
    check_in_id: UUID
    #: `active`, `paused` or `ended`; `status_by` started, paused, resumed or ended it last.
    status: str
    status_by: PersonRef
    participants: tuple[PersonRef, ...]
    link_id: UUID | None
    agreement_id: UUID | None
    cadence: Cadence
    prompts: tuple[str, ...]
    open_index: int | None
    #: Newest first.
    occurrences: tuple[OccurrenceView, ...]
    #: Why it ended by itself, if it did: `link_ended`, or `too_few_participants`.
    stopped_because: str | None = None


def view_check_in(
    viewer: UUID,
    check_in: CheckIn,
    basis: CheckInBasis,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> CheckInView | None:
    """A check-in as a participant sees it, or None (404). Each participant's unshared
    preparation is left out for everyone but its author."""
    if not check_in_access(viewer, check_in, basis):
        return None

    def ref(person: UUID) -> PersonRef:
        # Taking part in a check-in together is an introduction, as writing an agreement is.
        return person_ref(person, viewer, network, names, secret, identity=True)

    def occurrence_view(o: Occurrence) -> OccurrenceView:
        return OccurrenceView(
            index=o.index,
            starts_at=o.starts_at,
            scheduled_at=o.scheduled_at,
            status=o.status,
            prompts=o.prompts,
            my_answers=o.answers.get(viewer, ("",) * len(o.prompts)),
            i_shared=viewer in o.shared,
            shared=tuple(
                SharedAnswersView(person=ref(person), answers=o.answers.get(person, ()), shared_at=at)
                for person, at in sorted(o.shared.items(), key=lambda item: item[1])
            ),
            plan=o.plan,
            closed_by=None if o.closed_by is None else ref(o.closed_by),
            action_points=tuple(
                ActionPointView(
                    action_point_id=point.action_point_id,
                    text=point.text,
                    agreement_id=link.agreement_id if (link := check_in.proposals.get(point.action_point_id)) else None,
                    proposal_id=link.proposal_id if link else None,
                )
                for point in o.action_points
            ),
            moved_reason=o.moved_reason,
            skipped_reason=o.skipped_reason,
            skipped_by=None if o.skipped_by is None else ref(o.skipped_by),
        )

    return CheckInView(
        check_in_id=check_in.id,
        status=check_in.status,
        status_by=ref(check_in.status_by),
        participants=tuple(sorted((ref(p) for p in check_in_participants(check_in, basis)), key=lambda r: r.key)),
        link_id=check_in.link_id,
        agreement_id=check_in.agreement_id,
        cadence=check_in.cadence,
        prompts=check_in.prompts,
        open_index=check_in.open_index,
        occurrences=tuple(
            occurrence_view(o) for o in sorted(check_in.occurrences.values(), key=lambda o: -o.index)
        ),
        stopped_because=check_in.stopped_because,
    )


# See what they see


class GrantPreview(msgspec.Struct, frozen=True, kw_only=True):
    """What a grant's audience sees of an agreement, shown to one of its parties.

    `view` is built by the same function as the audience's own read
    (`view_agreement`, GET /api/agreements/{id}), with the audience as viewer:
    for a grant every party consented to, it is exactly what they get now.
    """

    grant_id: UUID
    audience: PersonRef
    #: Some party has not consented yet: `view` is what the audience would see once every party has.
    pending: bool
    #: For a grant every party consented to: why it shows the audience nothing now (`grant_standing`).
    why_not: WhyNot | None
    #: What the audience sees (or would), or None: nothing, not even that the agreement exists.
    view: SharedView | None


def preview_grant(
    asker: UUID,
    grant_id: UUID,
    agreement: AgreementFact,
    grants: Sequence[GrantFact],
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
    now: datetime,
) -> GrantPreview:
    """For a party: the agreement as a grant's audience sees it, or would once every party consents.

    Anyone else gets NotFound, as for a grant that does not exist. A grant in
    effect (or one revoked or lapsed) previews the audience's own view now,
    with every grant they hold, so the preview is never kinder or harsher than
    the truth. A pending grant previews the view as if it held: its scopes
    added to what the audience sees already. Whether it will hold (whether the
    audience is a partner of a partner through links that stay live) is not
    told: `grant_standing` keeps that from a party until every party consented,
    so proposing grants alone cannot probe whom another party's partners are
    partners with. The page says so in words instead.
    """
    check_party(asker, agreement.agreement_id, agreement.parties)
    grant = next((g for g in grants if g.grant_id == grant_id and g.agreement_id == agreement.agreement_id), None)
    if grant is None:
        raise NotFound("grant", grant_id)
    standing = grant_standing(grant, agreement.parties, network, now, prefer=asker)
    pending = standing.why_not == "awaiting_consent"
    audience = grant.audience
    access = agreement_access(audience, agreement, grants, network, now)
    if pending:
        access = Access(
            kind="metamour",
            scopes=access.scopes | grant.scopes,
            reasons=access.reasons,
            no_reshare=access.no_reshare or grant.no_reshare,
        )
    shown = access.kind == "metamour"
    return GrantPreview(
        grant_id=grant.grant_id,
        audience=person_ref(audience, asker, network, names, secret),
        pending=pending,
        why_not=None if pending else standing.why_not,
        view=_shared_view(audience, agreement, access, network, names, secret) if shown else None,
    )


def check_may_export(view: SharedView, version: int | None = None) -> None:
    """A metamour may export what they see, unless a grant they see it through asks not to pass it on.

    They know the agreement exists (they are reading it), so that refusal says
    why rather than pretending it is not there. Their view counts no versions
    (`SharedView`), so naming one is asking for something they may not see.
    """
    if view.access != "metamour":
        return
    if version is not None:
        raise NotFound("version", view.agreement_id)
    if view.no_reshare:
        raise NotToBeShared(view.agreement_id)


# Personal documents

DocumentAccess = Literal["owner", "shared"]


def _live_since_before(link: LinkFact | None, moment: datetime) -> bool:
    since = None if link is None else link.live_since
    return since is not None and since <= moment


def document_share_holds(owner: UUID, person: UUID, shared_at: datetime, network: Network) -> bool:
    """Whether a share lets its person see the document now: they are the owner's partner, or a partner of
    one of the owner's partners, through links live without a break since the share was made.

    So a link that ends ends the share with it (an ex does not keep a care plan), and a mended link
    is not what the owner chose: sharing again is a fresh choice. `network` must hold the links of
    the owner and of the owner's live partners (`ReadModels.network_around`).
    """

    def between(a: UUID, b: UUID) -> LinkFact | None:
        return next((link for link in network.links if link.involves(a) and link.involves(b)), None)

    if _live_since_before(between(owner, person), shared_at):
        return True
    return any(
        _live_since_before(between(owner, partner), shared_at) and _live_since_before(between(partner, person), shared_at)
        for partner in partners_of(owner, network.links)
        if partner != person
    )


def document_access(viewer: UUID, document: PersonalDocument, network: Network) -> DocumentAccess | None:
    """THE decision for a personal document: its owner sees all of it; a person the owner shared it with
    sees its current version while the share holds (`document_share_holds`); anyone else nothing,
    not even that it exists."""
    if document.deleted:
        return None
    if viewer == document.owner:
        return "owner"
    share = document.shares.get(viewer)
    if share is not None and document_share_holds(document.owner, viewer, share[0], network):
        return "shared"
    return None


class DocumentShareView(msgspec.Struct, frozen=True, kw_only=True):
    """One person the owner shared a document with, as the owner sees them."""

    person: PersonRef
    #: The handle the owner chose them by (empty: picked among their partners).
    handle: str
    shared_at: datetime
    #: They see it now (a partner, or a metamour, through links live since the share).
    holds: bool


class DocumentView(msgspec.Struct, frozen=True, kw_only=True):
    """A personal document: GET /api/documents/{id} and the `document:<id>` push alike.

    Its owner gets the shares; a person it is shared with gets the current version only, with
    `shares` None: who else may read it is the owner's to know."""

    document_id: UUID
    kind: str
    title: str
    access: DocumentAccess
    owner: PersonRef
    version: int
    updated_at: datetime
    sections: tuple[DocumentSection, ...]
    shares: tuple[DocumentShareView, ...] | None


def view_document(
    viewer: UUID,
    document: PersonalDocument,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
    handles: Mapping[UUID, str],
) -> DocumentView | None:
    """A personal document as `viewer` may see it, or None (404). `handles`: each share's handle, opened."""
    access = document_access(viewer, document, network)
    if access is None:
        return None
    shares = None
    if access == "owner":
        shares = tuple(
            sorted(
                (
                    DocumentShareView(
                        person=person_ref(person, viewer, network, names, secret),
                        handle=handles.get(person, ""),
                        shared_at=at,
                        holds=document_share_holds(document.owner, person, at, network),
                    )
                    for person, (at, _) in document.shares.items()
                ),
                key=lambda s: (s.shared_at, s.person.key),
            )
        )
    current = document.current
    return DocumentView(
        document_id=document.id,
        kind=document.kind,
        title=DOCUMENT_KINDS[document.kind],
        access=access,
        # Sharing one's own document with someone is introducing oneself, as inviting is.
        owner=person_ref(document.owner, viewer, network, names, secret, identity=True),
        version=current.version,
        updated_at=current.at,
        sections=current.sections,
        shares=shares,
    )


# Signals


ChannelOffer = Literal["partner", "metamour"]


def channel_offer(person: UUID, other: UUID, links: Iterable[LinkFact]) -> ChannelOffer | None:
    """Whom `person` may open a signal channel to: a live partner (offered first), or a metamour
    (a channel with a metamour opens only when both choose it, like every channel). Anyone else
    cannot even be offered: the answer is as for someone who does not exist."""
    links = tuple(links)
    if other == person:
        return None
    if other in partners_of(person, links):
        return "partner"
    if other in metamours_of(person, links):
        return "metamour"
    return None


def channel_open(a: UUID, b: UUID, opened_by: Mapping[UUID, Collection[UUID]]) -> bool:
    """A channel exists only while each of the two has it open to the other."""
    return b in opened_by.get(a, ()) and a in opened_by.get(b, ())


def may_signal(
    sender: UUID, recipient: UUID, opened_by: Mapping[UUID, Collection[UUID]], links: Iterable[LinkFact]
) -> bool:
    """Whether a signal from `sender` reaches `recipient` now: the one place that decides it.

    Along an open channel only, with someone one may still offer a channel to (a partner or a
    metamour: when the links that made them one end, so does the channel). A signal that may not reach someone is not refused: it is
    dropped for them, and the sender is answered as if it went, so nobody learns from a send
    that the other closed their side (or, later, blocked them)."""
    return channel_open(sender, recipient, opened_by) and channel_offer(sender, recipient, links) is not None


SignalRelation = Literal["sender", "recipient"]


def signal_access(viewer: UUID, by: UUID, recipients: Collection[UUID]) -> SignalRelation | None:
    """THE decision for a signal: its sender and the people it reached see it; nobody else,
    not even that it exists."""
    if viewer == by:
        return "sender"
    if viewer in recipients:
        return "recipient"
    return None


class SignalRecipientView(msgspec.Struct, frozen=True, kw_only=True):
    person: PersonRef
    #: When they saw it: only when they allow read receipts, and only to the sender.
    seen_at: datetime | None = None


class SignalView(msgspec.Struct, frozen=True, kw_only=True):
    """A signal as its sender or one of its recipients sees it (HTTP and the `signals` push alike)."""

    signal_id: UUID
    kind: str
    label: str
    note: str | None
    sender: PersonRef
    sent_at: datetime
    expires_at: datetime
    relation: str
    #: The sender sees whom they addressed (never whether it reached them); a recipient sees nobody else.
    to: tuple[SignalRecipientView, ...] = ()
    #: A recipient's own "seen" (they know what they did).
    seen_by_me: bool = False


def view_signal(
    viewer: UUID,
    signal: Signal,
    read_receipts: Mapping[UUID, bool],
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> SignalView | None:
    """`read_receipts`: each recipient's choice."""
    by: UUID = signal.by
    recipients: tuple[UUID, ...] = signal.recipients
    relation = signal_access(viewer, by, recipients)
    if relation is None:
        return None
    seen: Mapping[UUID, datetime] = signal.seen

    def ref(person: UUID) -> PersonRef:
        return person_ref(person, viewer, network, names, secret)

    to: tuple[SignalRecipientView, ...] = ()
    if relation == "sender":
        to = tuple(
            SignalRecipientView(
                person=ref(person),
                seen_at=seen.get(person) if person in recipients and read_receipts.get(person, False) else None,
            )
            for person in signal.addressed
        )
    kind: str = signal.kind
    return SignalView(
        signal_id=signal.id,
        kind=kind,
        label=SIGNAL_KINDS[kind],
        note=signal.note,
        sender=ref(by),
        sent_at=signal.sent_at,
        expires_at=signal.expires_at,
        relation=relation,
        to=to,
        seen_by_me=relation == "recipient" and viewer in seen,
    )


class SignalRemainsView(msgspec.Struct, frozen=True, kw_only=True):
    """What stays of an expired signal whose sender chose to keep its kind and time."""

    signal_id: UUID
    kind: str
    label: str
    sender: PersonRef
    sent_at: datetime


# Blocks


def may_reach(sender: UUID, recipient: UUID, blocked_by_recipient: Collection[UUID]) -> bool:
    """Whether `sender` may reach `recipient` now: invite them, propose a link or a grant to them,
    signal them, propose a plan with them. `blocked_by_recipient` is the recipient's own block list
    (domain/blocks.py), which nobody else ever sees.

    No: what the sender sends is answered exactly as for a handle without an account
    (service/commands/network.py `person_for`), so the sender cannot tell a block from a
    missing account; and requests they sent before the block (a pending link proposal, an
    open invitation) no longer show to the recipient, who sees them again only if they unblock
    while the request is still pending. A block ends nothing: live links and grants stay
    until someone ends them, visibly.
    """
    return sender == recipient or sender not in blocked_by_recipient


# The calendar: the events layer of consent


class CalendarEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One thing on one viewer's calendar, as much of it as they may see.

    `full`: the viewer takes part (or holds the `events` scope every participant
    consented to): what it is, who is in it, and its title and place. `busy`:
    only that `people` (one person) are busy from `start` to `end`; its
    `entry_id` is opaque and stable for this viewer, so it names nothing and
    cannot be matched with anyone else's calendar.
    """

    entry_id: str
    sight: Literal["full", "busy"]
    start: datetime
    end: datetime
    #: `full`: the participants; `busy`: the one person whose time it is.
    people: tuple[PersonRef, ...]
    #: Full sight only from here on: a plan kind or `check_in`, the plan's or check-in's id.
    kind: str | None = None
    plan_id: UUID | None = None
    check_in_id: UUID | None = None
    #: A check-in occurrence's number.
    index: int | None = None
    title: str | None = None
    place: str | None = None
    status: str | None = None
    time_zone: str | None = None
    #: A check-in series' cadence, so a feed can carry it as one recurring event.
    cadence: Cadence | None = None
    #: Entry ids of the viewer's own entries it overlaps (shown as a conflict).
    conflicts: tuple[str, ...] = ()
    #: A check-in series given as one entry (`calendar_view(series=True)`): no occurrence of it starts at
    #: or after this (it was paused or ended); None while it goes on.
    until: datetime | None = None


class PlanDetails(msgspec.Struct, frozen=True, kw_only=True):
    """A plan's intimate text, opened only for viewers who see the plan in full."""

    title: str
    place: str = ""


class CalendarFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What one viewer's calendar turns on, beside the slots themselves."""

    #: The links of the viewer and of everyone in the slots, and of the parties of `agreements`.
    network: Network
    #: What each person shows this viewer of their time (their Availability); absent: nothing.
    shows: dict[UUID, Shows] = msgspec.field(default_factory=dict)
    #: Agreements with a grant naming the viewer as audience, and those grants.
    agreements: tuple[AgreementFact, ...] = ()
    grants: tuple[GrantFact, ...] = ()
    #: Each person's own block list: the viewer's (whose time they no longer see), and those of the
    #: people in the slots (a plan never reaches someone who blocked its proposer).
    blocks: dict[UUID, frozenset[UUID]] = msgspec.field(default_factory=dict)
    #: Each check-in series' cadence (for `series`).
    cadences: dict[UUID, Cadence] = msgspec.field(default_factory=dict)
    #: Each check-in series that will not go on (paused or ended): occurrences after its last known one hold no time.
    stopped: frozenset[UUID] = frozenset()


class EventsAccess(msgspec.Struct, frozen=True, kw_only=True):
    """What holding grants give a viewer of the plans among one agreement's parties."""

    parties: frozenset[UUID]
    full: bool
    identity: bool


class SlotSight(msgspec.Struct, frozen=True, kw_only=True):
    """How much of one slot one viewer sees: all of it, or the time of some of its people, or nothing."""

    full: bool = False
    #: Full sight: whether the people in it are named (a participant, or `identity` through a grant).
    identity: bool = False
    #: Otherwise: the people the viewer sees busy then, each with whether they are named by `identity`.
    busy: tuple[tuple[UUID, bool], ...] = ()


NOTHING_SEEN = SlotSight()


def taking_part(slot: Slot, blocks: Mapping[UUID, Collection[UUID]]) -> tuple[UUID, ...]:
    """The participants a slot reaches: all but those who blocked a plan's proposer (`may_reach`).

    A plan to someone who blocked the proposer answers like any other, and never reaches
    them: it is not on their calendar (so they never commit it, and it shows them busy to
    nobody). A check-in reaches its participants whatever either blocks, as its page does."""
    if slot.kind == CHECK_IN:
        return slot.participants  # a check-in is its participants' whatever either blocks (`check_in_access`)
    proposer = slot.participants[0]
    return tuple(p for p in slot.participants if may_reach(proposer, p, blocks.get(p, ())))


def events_access(
    viewer: UUID, agreements: Iterable[AgreementFact], grants: Iterable[GrantFact], network: Network, now: datetime
) -> tuple[EventsAccess, ...]:
    """The `events` and `events:busy` scopes that reach `viewer` through holding grants (`grant_holds`)."""
    grants = tuple(grants)
    found = []
    for agreement in agreements:
        access = agreement_access(viewer, agreement, grants, network, now)
        if access.kind != "metamour" or not {EVENTS, EVENTS_BUSY} & access.scopes:
            continue
        found.append(
            EventsAccess(
                parties=frozenset(agreement.parties),
                full=EVENTS in access.scopes,
                identity=IDENTITY in access.scopes,
            )
        )
    return tuple(found)


class Onlooker(msgspec.Struct, frozen=True, kw_only=True):
    """What one viewer's sight of every slot turns on, worked out once per calendar."""

    viewer: UUID
    #: The `events` scopes that reach them (`events_access`).
    granted: tuple[EventsAccess, ...]
    #: Their live partners, whose shown busy time they may see.
    partners: frozenset[UUID]


def onlooker(viewer: UUID, facts: CalendarFacts, now: datetime) -> Onlooker:
    return Onlooker(
        viewer=viewer,
        granted=events_access(viewer, facts.agreements, facts.grants, facts.network, now),
        partners=partners_of(viewer, facts.network.links),
    )


def slot_sight(looking: Onlooker, slot: Slot, facts: CalendarFacts) -> SlotSight:
    """THE decision for one slot on one viewer's calendar.

    - Time it no longer holds (declined, cancelled) is on nobody's calendar: the plan's page keeps it.
    - A participant it reaches sees it in full (`taking_part`).
    - A metamour sees it through a holding grant on an agreement whose parties include every
      participant: in full with `events` (a plan; a check-in's content is its participants' only,
      so it shows busy), busy with `events:busy`.
    - A live partner of a participant sees that participant busy, iff the participant shows them
      "busy" (`Shows`; the default is nothing).
    - Busy time is committed time: a participant who has not accepted the times on the table (an
      invitation they may not have seen yet) is shown busy in it to nobody (`Slot.committed`).
    - A viewer sees nothing of the time of someone they blocked, and nothing in full that
      they are in. A block changes nothing the blocked person sees: they cannot tell.
    - Everyone else: nothing, not even that it exists.
    """
    viewer, granted = looking.viewer, looking.granted
    if not slot.holds_time:
        return NOTHING_SEEN
    present = taking_part(slot, facts.blocks)
    if viewer in present:
        return SlotSight(full=True, identity=True)
    mine = facts.blocks.get(viewer, frozenset())

    def apart(person: UUID) -> bool:
        return person in mine

    everyone = frozenset(slot.participants)
    covering = [access for access in granted if everyone <= access.parties]
    if (
        slot.kind != CHECK_IN
        and any(access.full for access in covering)
        and not any(apart(p) for p in slot.participants)
    ):
        return SlotSight(full=True, identity=any(a.identity for a in covering if a.full))
    busy: dict[UUID, bool] = {}
    # Busy time is what people committed, blocks or not: a block changes nothing anyone else sees.
    committed = [person for person in slot.participants if slot.commits(person)]
    if covering:
        named = any(access.identity for access in covering)
        busy.update((person, named) for person in committed)
    for person in committed:
        if person in looking.partners and facts.shows.get(person, "nothing") == "busy":
            busy[person] = busy.get(person, False)
    return SlotSight(
        busy=tuple(sorted((p, named) for p, named in busy.items() if not apart(p)))
    )


def introduced(slot: Slot, person: UUID) -> bool:
    """Whether the others in a slot see `person` named: planning time together introduces whoever
    proposed, rescheduled or accepted it, but being invited alongside someone does not (a partner's
    name is theirs to give). Otherwise `person_ref` decides as everywhere."""
    return slot.named is None or person in slot.named


def busy_entry_id(viewer: UUID, person: UUID, slot: Slot, secret: bytes) -> str:
    """Stable for this viewer, person and slot; without the secret it names none of them."""
    index = b"" if slot.index is None else str(slot.index).encode()
    digest = hmac.new(secret, b"busy:" + viewer.bytes + person.bytes + slot.id.bytes + index, hashlib.sha256)
    return f"busy-{digest.hexdigest()[:24]}"


def full_entry_id(slot: Slot) -> str:
    if slot.kind == CHECK_IN:
        return f"checkin:{slot.id}:{slot.index}"
    return f"plan:{slot.id}"


def calendar_view(
    viewer: UUID,
    slots: Iterable[Slot],
    facts: CalendarFacts,
    names: Mapping[UUID, str],
    secret: bytes,
    now: datetime,
    details: Mapping[UUID, PlanDetails] | None = None,
    *,
    series: bool = False,
) -> tuple[CalendarEntry, ...]:
    """Everything on `viewer`'s calendar among `slots`, as much of each as they may see (`slot_sight`).

    `details`: the title and place of the plans the viewer sees in full (`full_plans`). Busy entries
    carry the time and the one person only: no plan id, no title, no other participant, and an
    entry id that cannot be matched with anyone else's calendar. A viewer's own entries that
    overlap each other name each other in `conflicts`.

    `series`: a check-in the viewer takes part in is one entry with its cadence (for a feed's
    recurring event), starting at its first occurrence among `slots`, with `until` once it stopped,
    plus an entry for each occurrence that moved off its cadence or no longer holds time (skipped).
    """
    details = details or {}
    looking = onlooker(viewer, facts, now)

    def ref(person: UUID, identity: bool) -> PersonRef:
        return person_ref(person, viewer, facts.network, names, secret, identity=identity)

    entries: list[CalendarEntry] = []
    own: list[CalendarEntry] = []
    seen_series: set[UUID] = set()
    ordered = sorted(slots, key=lambda s: (s.start, s.id, s.index or 0))
    for slot in ordered:
        if series and slot.kind == CHECK_IN and slot.id in facts.cadences:
            entry = _series_entry(viewer, slot, ordered, facts, seen_series, ref)
            if entry is not None:
                entries.extend(entry)
            if viewer in slot.participants:
                continue
        sight = slot_sight(looking, slot, facts)
        if sight.full:
            found = details.get(slot.id) if slot.kind != CHECK_IN else None
            entry = CalendarEntry(
                entry_id=full_entry_id(slot),
                sight="full",
                start=slot.start,
                end=slot.end,
                people=tuple(
                    ref(p, introduced(slot, p) if viewer in slot.participants else sight.identity)
                    for p in slot.participants
                ),
                kind=slot.kind,
                plan_id=None if slot.kind == CHECK_IN else slot.id,
                check_in_id=slot.id if slot.kind == CHECK_IN else None,
                index=slot.index,
                title=None if found is None else found.title,
                place=None if found is None else found.place or None,
                status=slot.status,
                time_zone=slot.time_zone,
            )
            entries.append(entry)
            if viewer in slot.participants:
                own.append(entry)
            continue
        for person, named in sight.busy:
            entries.append(
                CalendarEntry(
                    entry_id=busy_entry_id(viewer, person, slot, secret),
                    sight="busy",
                    start=slot.start,
                    end=slot.end,
                    people=(ref(person, named),),
                )
            )
    clashes = {
        entry.entry_id: tuple(
            other.entry_id
            for other in own
            if other.entry_id != entry.entry_id and other.start < entry.end and entry.start < other.end
        )
        for entry in own
    }
    return tuple(
        sorted(
            (msgspec.structs.replace(e, conflicts=clashes[e.entry_id]) if clashes.get(e.entry_id) else e for e in entries),
            key=lambda e: (e.start, e.entry_id),
        )
    )


def _series_entry(
    viewer: UUID,
    slot: Slot,
    ordered: Sequence[Slot],
    facts: CalendarFacts,
    seen: set[UUID],
    ref: Callable[[UUID, bool], PersonRef],
) -> list[CalendarEntry] | None:
    """A check-in series as a feed carries it: its first occurrence with the cadence, then exceptions."""
    if viewer not in taking_part(slot, facts.blocks):
        return None
    cadence = facts.cadences[slot.id]
    people = tuple(ref(p, True) for p in slot.participants)
    found: list[CalendarEntry] = []
    if slot.id not in seen:
        seen.add(slot.id)
        occurrences = [s for s in ordered if s.kind == CHECK_IN and s.id == slot.id]
        held = [s for s in occurrences if s.holds_time]
        until = None
        if slot.id in facts.stopped and occurrences:
            last = max(occurrences, key=lambda s: s.index or 0)
            until = cadence_starts_at(cadence, (last.index or 0) + 1)
        first = held[0] if held else slot
        found.append(
            CalendarEntry(
                entry_id=f"checkin:{slot.id}",
                sight="full",
                start=cadence_starts_at(cadence, first.index or 0),
                end=cadence_starts_at(cadence, first.index or 0) + (first.end - first.start),
                people=people,
                kind=CHECK_IN,
                check_in_id=slot.id,
                index=first.index,
                status="accepted",
                time_zone=cadence.time_zone,
                cadence=cadence,
                until=until,
            )
        )
    moved = slot.start != cadence_starts_at(cadence, slot.index or 0)
    if moved or not slot.holds_time:
        found.append(
            CalendarEntry(
                entry_id=full_entry_id(slot),
                sight="full",
                start=slot.start,
                end=slot.end,
                people=people,
                kind=CHECK_IN,
                check_in_id=slot.id,
                index=slot.index,
                status=slot.status,
                time_zone=slot.time_zone,
            )
        )
    return found


def full_plans(viewer: UUID, slots: Iterable[Slot], facts: CalendarFacts, now: datetime) -> tuple[UUID, ...]:
    """The plans among `slots` that `viewer` sees in full: whose details a calendar must open."""
    looking = onlooker(viewer, facts, now)
    return tuple(slot.id for slot in slots if slot.kind != CHECK_IN and slot_sight(looking, slot, facts).full)


# Booking rules: whom a person shows them to


class SharedRules(msgspec.Struct, frozen=True, kw_only=True):
    """A person's booking rules as one viewer may see them: every rule to the owner; to a live
    partner, the rules the owner shows partners, with the time zone they are read in (None when
    no rule is shown)."""

    person: PersonRef
    time_zone: str | None
    rules: BookingRules


def rules_access(viewer: UUID, owner: UUID, links: Iterable[LinkFact]) -> bool:
    """The owner and their live partners; anyone else: 404.

    A block changes nothing here: it ends no link (`may_reach`), and a partner
    whose view of the rules went away would know they were blocked."""
    return viewer == owner or viewer in partners_of(owner, links)


def rule_shown(viewer: UUID, owner: UUID, shown_to: ShownTo, links: Iterable[LinkFact]) -> bool:
    """Whether `viewer` may know of one rule of `owner`'s (its name, and whose it is)."""
    if viewer == owner:
        return True
    return shown_to == "partners" and rules_access(viewer, owner, links)


def view_rules(
    viewer: UUID,
    availability: Availability,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> SharedRules | None:
    owner = availability.person
    if not rules_access(viewer, owner, network.links):
        return None
    shown = {
        name: rule
        for name, rule in availability.rules.set().items()
        if rule_shown(viewer, owner, rule.shown_to, network.links)
    }
    return SharedRules(
        person=person_ref(owner, viewer, network, names, secret),
        time_zone=availability.time_zone if shown or viewer == owner else None,
        rules=BookingRules(**shown),
    )


#: What a proposer hears of a rule its owner does not show them.
UNSHOWN_BREACH = "this time does not work for a participant"


class BreachView(msgspec.Struct, frozen=True, kw_only=True):
    """A booking rule a plan breaks, as the person proposing (rescheduling, accepting) may know it:
    the rule and its owner when the owner shows them that rule, else only that the time does not
    work for a participant (`rule`, `label` and `owner` None)."""

    mode: Mode
    detail: str
    rule: str | None = None
    label: str | None = None
    owner: PersonRef | None = None


def view_breach(
    viewer: UUID,
    breach: Breach,
    network: Network,
    names: Mapping[UUID, str],
    secret: bytes,
) -> BreachView:
    if not rule_shown(viewer, breach.owner, breach.shown_to, network.links):
        return BreachView(mode=breach.mode, detail=UNSHOWN_BREACH)
    owner = person_ref(breach.owner, viewer, network, names, secret)
    return BreachView(
        mode=breach.mode,
        detail=f"{owner.name}: {breach.detail}" if breach.owner != viewer else f"your rule: {breach.detail}",
        rule=breach.rule,
        label=BOOKING_RULES[breach.rule],
        owner=owner,
    )


# Plans


def plan_participants(plan: PlanTime, network: Network) -> frozenset[UUID]:
    """Who takes part in a plan now; everyone else is told it does not exist.

    A plan stands on the links between its proposer and each invitee, as a check-in
    between partners stands on its link: an invitee takes part while their link with
    the proposer has been live without a break since the plan was proposed. Once it
    ends, they no longer see the plan and it no longer holds their time (a mended link
    is a new start, and takes a new plan); the others keep it among themselves, and
    their answers alone decide it. With no invitee left, nobody sees it.
    """

    theirs = {link.other_than(plan.proposer): link for link in network.links if link.involves(plan.proposer)}
    counted = {i for i in plan.invitees if _live_since_before(theirs.get(i), plan.proposed_at)}
    return frozenset({plan.proposer, *counted}) if counted else frozenset()


def plan_access(viewer: UUID, plan: PlanTime, network: Network, blocked_by_viewer: Collection[UUID]) -> bool:
    """THE decision for a plan: a participant who counts now sees it in full; nobody else, not even
    that it exists. An invitee who blocked the proposer never sees it (`may_reach`), and the plan
    waits for their answer like any other, so the proposer cannot tell."""
    if viewer not in plan_participants(plan, network):
        return False
    return viewer == plan.proposer or may_reach(plan.proposer, viewer, blocked_by_viewer)


def plan_slot(plan: PlanTime, network: Network) -> Slot | None:
    """The plan as time on the calendars of the participants who count now (None: on nobody's)."""
    among = plan_participants(plan, network)
    return plan.slot(among) if among else None


class PlanParticipantView(msgspec.Struct, frozen=True, kw_only=True):
    person: PersonRef
    #: `pending`, `accepted` or `declined`, for the times on the table now.
    answer: str
    note: str | None = None


class PlanStepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a plan's history: `proposed`, `accepted`, `declined`, `rescheduled` or `cancelled`."""

    at: datetime
    by: PersonRef
    step: str
    start: datetime | None = None
    end: datetime | None = None
    place: str | None = None
    note: str | None = None


class PlanView(msgspec.Struct, frozen=True, kw_only=True):
    """A plan as a participant sees it: GET /api/plans/{id} and the `plan:<id>` push alike."""

    plan_id: UUID
    kind: str
    kind_label: str
    title: str
    place: str | None
    start: datetime
    end: datetime
    time_zone: str
    #: `proposed`, `accepted` (by every participant), `declined` (by one) or `cancelled`.
    status: str
    #: The number of the proposal on the table (an answer may name it, see POST …/answer).
    proposal: int
    proposer: PersonRef
    #: Who put the times on the table now (the proposer, or whoever rescheduled last).
    proposed_by: PersonRef
    participants: tuple[PlanParticipantView, ...]
    my_answer: str
    #: Oldest first.
    history: tuple[PlanStepView, ...]


def view_plan(
    viewer: UUID,
    plan: Plan,
    network: Network,
    blocked_by_viewer: Collection[UUID],
    names: Mapping[UUID, str],
    secret: bytes,
) -> PlanView | None:
    """A plan as `viewer` may see it, or None (404)."""
    if not plan_access(viewer, plan.time, network, blocked_by_viewer):
        return None
    among = plan_participants(plan.time, network)

    slot = plan.slot(among)

    def ref(person: UUID) -> PersonRef:
        return person_ref(person, viewer, network, names, secret, identity=introduced(slot, person))

    return PlanView(
        plan_id=plan.id,
        kind=plan.kind,
        kind_label=PLAN_KINDS[plan.kind],
        title=plan.title,
        place=plan.place,
        start=plan.start,
        end=plan.end,
        time_zone=plan.time_zone,
        status=slot.status,
        proposal=plan.proposal,
        proposer=ref(plan.proposer),
        proposed_by=ref(plan.proposed_by),
        participants=tuple(
            PlanParticipantView(person=ref(p), answer=plan.answers[p], note=plan.notes.get(p))
            for p in slot.participants
        ),
        my_answer=plan.answers[viewer],
        history=tuple(
            PlanStepView(at=s.at, by=ref(s.by), step=s.step, start=s.start, end=s.end, place=s.place, note=s.note)
            for s in plan.history
        ),
    )


class PlannedView(PlanView, frozen=True, kw_only=True):
    """A plan as the participant who just proposed, rescheduled or answered it sees it, with the
    booking rules it breaks that are set to warn (`BreachView`: named as far as their owners show them)."""

    warnings: tuple[BreachView, ...] = ()
