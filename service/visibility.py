"""The one view function: what one person may see of one thing, now.

The one place the service asks `domain.policy` what someone may see: HTTP
reads, page renders and every websocket push come from here, so they cannot
disagree. Facts come from the read models (service/read/models.py), loaded on
demand; names from a bounded cache of display names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import msgspec

from domain import inbox, policy
from domain.agreement import Agreement
from domain.availability import Availability, BookingRules, Breach, default_availability
from domain.blocks import Blocks
from domain.cadence import Cadence
from domain.calendar import Shows, Slot
from domain.checkins import CheckIn, check_in_slots
from domain.documents import PersonalDocument
from domain.errors import NotFound
from domain.feeds import CalendarFeed
from domain.grants import EVENTS, EVENTS_BUSY, SharingGrant
from domain.network import PartnerLink
from domain.plans import Plan, PlanTime
from domain.signals import KINDS as SIGNAL_KINDS
from domain.signals import Signal, SignalBook, SignalSettings, default_book
from projections.documents import VersionEntry, history
from projections.plans import in_window
from projections.timeline import Entry
from service.read.models import Cache, ReadModels, link_fact
from service.store import EventStore
from service.views import AgreementSummary, AgreementView, party_view

NETWORK = "network"
AGREEMENT = "agreement:"
GRANTS = "grants:"
#: The hub key of a person's inbox (`Visibility.inbox`).
INBOX = "inbox"
CHECK_IN = "checkin:"
DOCUMENT = "document:"
PLAN = "plan:"


class AudienceView(msgspec.Struct, frozen=True, kw_only=True):
    """Who sees a clause, through which grant, and along which links."""

    audience: policy.PersonRef
    grant_id: UUID
    party: policy.PersonRef
    partner: policy.PersonRef


class GrantView(msgspec.Struct, frozen=True, kw_only=True):
    """A grant as the agreement's parties see it: GET …/grants and the `grants:<id>` push alike."""

    grant_id: UUID
    agreement_id: UUID
    audience: policy.PersonRef
    audience_handle: str
    """The handle the grant was addressed to: the parties chose the audience by it."""
    scopes: tuple[str, ...]
    until: datetime | None
    no_reshare: bool
    consented_by: tuple[UUID, ...]
    waiting_for: tuple[UUID, ...]
    revoked: bool
    active: bool
    """Every current party consented, and it is neither revoked nor lapsed."""
    holds: bool
    """The audience sees what it grants, now."""
    why_not: policy.WhyNot | None
    """None exactly when it holds; otherwise the first reason it does not (`policy.WhyNot`)."""
    holds_through: AudienceView | None
    """The grant and links it holds through now, named as the viewer may see them."""


encode_view = msgspec.json.Encoder().encode


def agreement_key(agreement_id: UUID) -> str:
    return f"{AGREEMENT}{agreement_id}"


def grants_key(agreement_id: UUID) -> str:
    return f"{GRANTS}{agreement_id}"


class InboxView(msgspec.Struct, frozen=True, kw_only=True):
    """What waits for one person, oldest first: GET /api/me/inbox and the `inbox` push alike."""

    count: int
    items: list[inbox.InboxItem]
def check_in_key(check_in_id: UUID) -> str:
    return f"{CHECK_IN}{check_in_id}"


class CheckInSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One of my check-ins in a list: with whom, how it stands, and the occurrence open now."""

    check_in_id: UUID
    status: str
    participants: tuple[policy.PersonRef, ...]
    agreement_id: UUID | None
    open_index: int | None
    next_starts_at: datetime | None
    #: Whether I have shared my answers to the open occurrence.
    i_shared: bool


class Names(Mapping[UUID, str]):
    """Display names by person, in a bounded cache; `load` before reading the ones a view needs.

    Names never change once registered, so a cached one is never stale, until an account is
    deleted: every process then forgets it (the follower, on the `Erasure` event).
    """

    def __init__(self, store: EventStore, size: int) -> None:
        self.store = store
        self._cache: Cache[UUID, str] = Cache(size)

    async def load(self, people: Iterable[UUID]) -> None:
        missing = [p for p in set(people) if self._cache.get(p) is None]
        if missing:
            for person, account in (await self.store.accounts_by_ids(missing)).items():
                self._cache.put(person, account.display_name)

    def forget(self, person: UUID) -> None:
        """Their name changed (they deleted their account): read it afresh next time."""
        self._cache.drop(person)

    def __getitem__(self, person: UUID) -> str:
        name = self._cache.get(person)
        if name is None:
            raise KeyError(person)
        return name

    def __iter__(self) -> Iterator[UUID]:
        raise TypeError("names are looked up, not listed")

    def __len__(self) -> int:
        return len(self._cache)


class Visibility:
    def __init__(
        self,
        models: ReadModels,
        names: Names,
        secret: Callable[[], bytes],
        clock: Callable[[], datetime],
        open_text: Callable[[UUID, str], Awaitable[str]],
    ) -> None:
        #: Opens a handle sealed with its person's key (service/crypto.py): empty once they are erased.
        self.open_text = open_text
        self.models = models
        self.names = names
        self.secret = secret
        self.clock = clock
        self.signal_views = SignalViews(self)
        self.calendar_views = CalendarViews(self)
        self.availability_views = AvailabilityViews(self)

    # One thing, for one person

    async def agreement(
        self, viewer: UUID, agreement_id: UUID, current: Agreement | None = None
    ) -> msgspec.Struct | None:
        """What `viewer` may see of an agreement, or None (404: not even that it exists).

        `current`: the agreement as just read from its stream, when the caller has it.
        """
        agreement = current or await self.models.agreement(agreement_id)
        if agreement is None:
            return None
        match policy.relation(viewer, agreement.parties, agreement.invitees):
            case "party":
                return await self.party_view(agreement)
            case "invitee" if not await self.invitation_hidden(viewer, agreement):
                return AgreementSummary(agreement_id=agreement_id, title=agreement.title, relation="invited")
        return await self.shared(viewer, agreement_id)

    async def party_view(self, agreement: Agreement) -> AgreementView:
        await self.names.load(agreement.parties)
        handles = {i: await self.open_text(i, agreement.invitation_handles.get(i, "")) for i in agreement.invitees}
        return party_view(agreement, self.names, handles)

    async def shared(self, viewer: UUID, agreement_id: UUID) -> policy.SharedView | None:
        fact = await self.models.agreement_fact(agreement_id)
        if fact is None or policy.relation(viewer, fact.parties) is not None:
            return None
        grants = await self.models.grant_facts(agreement_id)
        if not any(grant.audience == viewer for grant in grants):
            return None  # no grant names them: the policy could only say none
        network = await self.models.network_around(fact.parties)
        await self.names.load(fact.parties)
        return policy.view_agreement(viewer, fact, grants, network, self.names, self.secret(), self.clock())

    async def grants(
        self, viewer: UUID, agreement_id: UUID, current: Agreement | None = None
    ) -> list[GrantView] | None:
        """The agreement's grants, for its parties only.

        `current`: the agreement as just read from its stream, when the caller has it.
        """
        agreement = current or await self.models.agreement(agreement_id)
        if agreement is None or policy.relation(viewer, agreement.parties) != "party":
            return None
        return await self.grant_views(viewer, agreement_id, agreement.parties)

    async def grant_views(self, viewer: UUID, agreement_id: UUID, parties: Sequence[UUID]) -> list[GrantView]:
        return [await self.grant_view(viewer, grant, parties) for grant in await self.models.grants_for(agreement_id)]

    async def grant_view(self, viewer: UUID, grant: SharingGrant, parties: Sequence[UUID]) -> GrantView:
        """One grant for one of `parties`; whether it holds, and why not, is the policy's answer.

        The links of the parties and the audience are all the policy looks at, for
        the standing and for the names (whether someone shows a party their name
        turns on links to that party), so only those are handed to it.
        """
        network = await self.models.network_touching((*parties, grant.audience))
        standing = policy.grant_standing(policy.grant_fact(grant), parties, network, self.clock())
        through = () if standing.through is None else (standing.through.partner,)
        await self.names.load((grant.audience, *parties, *through))
        return GrantView(
            grant_id=grant.id,
            agreement_id=grant.agreement_id,
            audience=self._ref(grant.audience, viewer, network),
            audience_handle=await self.open_text(grant.audience, grant.handle),
            scopes=tuple(grant.scopes),
            until=grant.until,
            no_reshare=grant.no_reshare,
            consented_by=tuple(p for p in parties if p in grant.consents),
            waiting_for=tuple(p for p in parties if p not in grant.consents),
            revoked=grant.is_revoked,
            active=standing.active,
            holds=standing.holds,
            why_not=standing.why_not,
            holds_through=None
            if standing.through is None
            else self.audience_view(standing.through, viewer, network),
        )

    def audience_view(self, reason: policy.Reason, viewer: UUID, network: policy.Network) -> AudienceView:
        """`network` must hold every link of `viewer`, and the names must be loaded (see `ref`)."""
        return AudienceView(
            audience=self._ref(reason.audience, viewer, network),
            grant_id=reason.grant_id,
            party=self._ref(reason.party, viewer, network),
            partner=self._ref(reason.partner, viewer, network),
        )

    async def network(self, viewer: UUID) -> policy.NetworkView:
        relevant = await self.models.involved(viewer)
        facts = [f for a in sorted(relevant, key=str) if (f := await self.models.agreement_fact(a)) is not None]
        grants = [g for a in sorted(relevant, key=str) for g in await self.models.grant_facts(a)]
        parties = {party for fact in facts for party in fact.parties}
        network = await self.models.network_around({viewer, *parties})
        await self.names.load({viewer, *parties, *(p for link in network.links for p in (link.a, link.b))})
        return policy.view_network(
            viewer, network, self.names, facts, grants, self.secret(), self.clock(), await self.blocked_by(viewer)
        )

    async def ref(self, person: UUID, viewer: UUID) -> policy.PersonRef:
        """`person` as `viewer` may see them."""
        network = await self.models.network_touching((viewer, person))
        await self.names.load((person, viewer))
        return self._ref(person, viewer, network)

    async def others_named(self, viewer: UUID, entries: Iterable[Entry], parties: Iterable[UUID]) -> dict[UUID, str]:
        """People a history mentions who are not parties now (someone invited, someone who left),
        named as `viewer` may see them."""
        now_in = set(parties)
        mentioned = {p for e in entries for p in (e.actor, e.subject) if p is not None and p not in now_in}
        return {person: (await self.ref(person, viewer)).name for person in sorted(mentioned, key=str)}

    def _ref(self, person: UUID, viewer: UUID, network: policy.Network) -> policy.PersonRef:
        """`discloses` looks only at links between the two, so any `network` holding every link
        of `viewer` (with the disclosures) answers alike."""
        return policy.person_ref(person, viewer, network, self.names, self.secret())

    async def inbox(self, viewer: UUID) -> InboxView:
        """What waits for `viewer`: the items of each kind (domain/inbox.py) over the agreements they
        are a party of or invited to; a grant's audience is asked nothing."""
        found: list[inbox.InboxItem] = []
        for agreement_id in sorted(await self.models.involved(viewer), key=str):
            agreement = await self.models.agreement(agreement_id)
            if (
                agreement is not None
                and policy.relation(viewer, agreement.parties, agreement.invitees) is not None
                and not await self.invitation_hidden(viewer, agreement)
            ):
                found.extend(inbox.items(viewer, agreement))
        for check_in_id in await self.models.check_ins_of(viewer):
            if (view := await self.check_in(viewer, check_in_id)) is not None:
                found.extend(inbox.check_in(viewer, view))
        for signal_id in await self.models.signals_of(viewer):
            if (seen := await self.signal_views.signal(viewer, signal_id)) is not None:
                found.extend(inbox.signal(seen))
        now = self.clock()
        for timed in await self.models.plan_times(await self.models.plans_of(viewer)):
            if timed.cancelled or timed.answers.get(viewer) != "pending" or timed.end <= now:
                continue  # it cannot wait for their answer (`inbox.plan`): not worth opening its sealed stream
            if (plan := await self.plan(viewer, timed.plan_id)) is not None:
                found.extend(inbox.plan(plan, now))
        items = inbox.ordered(found)
        return InboxView(count=len(items), items=items)

    # Every view of one person, encoded for the hub

    async def view(self, viewer: UUID, key: str) -> bytes | None:
        found: object
        if key == NETWORK:
            found = await self.network(viewer)
        elif key == INBOX:
            found = await self.inbox(viewer)
        elif key == SIGNALS:
            found = await self.signal_views.live(viewer)
        elif key == CALENDAR:
            found = await self.calendar_views.live(viewer)
        elif key == AVAILABILITY:
            found = await self.availability_views.live(viewer)
        elif key.startswith(GRANTS):
            found = await self.grants(viewer, UUID(key.removeprefix(GRANTS)))
        elif key.startswith(CHECK_IN):
            found = await self.check_in(viewer, UUID(key.removeprefix(CHECK_IN)))
        elif key.startswith(DOCUMENT):
            found = await self.document(viewer, UUID(key.removeprefix(DOCUMENT)))
        elif key.startswith(PLAN):
            found = await self.plan(viewer, UUID(key.removeprefix(PLAN)))
        else:
            found = await self.agreement(viewer, UUID(key.removeprefix(AGREEMENT)))
        return None if found is None else encode_view(found)

    async def keys(self, person: UUID) -> set[str]:
        """Every key `person` may have a view of: their network, and each agreement they are involved in."""
        involved = await self.models.involved(person)
        check_ins = {check_in_key(c) for c in await self.models.check_ins_of(person)}
        mine = await self.models.documents_of(person)
        documents = {document_key(d) for d in (*mine.owned, *mine.shared)}
        plans = {plan_key(p) for p in await self.models.plans_of(person)}
        return {
            NETWORK, INBOX, SIGNALS, CALENDAR, AVAILABILITY, *(agreement_key(a) for a in involved), *(grants_key(a) for a in involved), *check_ins,
            *documents, *plans,
        }  # fmt: skip

    async def views(self, person: UUID, keys: Iterable[str]) -> dict[str, bytes | None]:
        return {key: await self.view(person, key) for key in keys}

    async def everything(self, person: UUID) -> dict[str, bytes]:
        """What `person` may see now, by key."""
        views = await self.views(person, await self.keys(person))
        return {key: view for key, view in views.items() if view is not None}

    # Check-ins (a method group of `Visibility`, kept together)
    async def check_in_basis(self, check_in: CheckIn) -> policy.CheckInBasis:
        """What the series stands on now, read from the log: its link, or its agreement's parties."""
        if check_in.link_id is not None:
            link = await self.models.aggregate(PartnerLink, check_in.link_id)
            return policy.CheckInBasis(link=None if link is None else link_fact(link))
        agreement = None if check_in.agreement_id is None else await self.models.agreement(check_in.agreement_id)
        return policy.CheckInBasis(agreement_parties=() if agreement is None else tuple(agreement.parties))

    async def check_in_participants(self, check_in: CheckIn) -> frozenset[UUID]:
        return policy.check_in_participants(check_in, await self.check_in_basis(check_in))

    async def check_in(
        self, viewer: UUID, check_in_id: UUID, current: CheckIn | None = None
    ) -> policy.CheckInView | None:
        """What `viewer` may see of a check-in, or None (404: not even that it exists).

        `current`: the series as just read from its stream, when the caller has it."""
        check_in = current or await self.models.aggregate(CheckIn, check_in_id)
        if check_in is None:
            return None
        basis = await self.check_in_basis(check_in)
        if not policy.check_in_access(viewer, check_in, basis):
            return None
        people = {*check_in.participants}
        network = await self.models.network_touching((viewer, *people))
        await self.names.load(people)
        return policy.view_check_in(viewer, check_in, basis, network, self.names, self.secret())

    async def my_check_ins(self, viewer: UUID) -> list[CheckInSummary]:
        found = []
        for check_in_id in await self.models.check_ins_of(viewer):
            view = await self.check_in(viewer, check_in_id)
            if view is None:
                continue
            current = next((o for o in view.occurrences if o.index == view.open_index), None)
            found.append(
                CheckInSummary(
                    check_in_id=view.check_in_id,
                    status=view.status,
                    participants=view.participants,
                    agreement_id=view.agreement_id,
                    open_index=view.open_index,
                    next_starts_at=None if current is None else current.starts_at,
                    i_shared=current is not None and current.i_shared,
                )
            )
        return sorted(found, key=lambda s: (s.status != "active", str(s.check_in_id)))

    # See what they see (a method group of `Visibility`, kept together)
    async def sharing_network(self, parties: Sequence[UUID], audiences: Iterable[UUID]) -> policy.Network:
        """What the policy needs to tell the parties about audiences: the network the audiences'
        own views turn on (`network_around` the parties), and every link of the parties and the
        audiences, of any status, for why a grant does not hold (as `grant_view` reads it).

        A superset of what a view reads cannot change the view: it looks only at live paths
        through the parties' partners, which `network_around` holds already."""
        around = await self.models.network_around(parties)
        touching = await self.models.network_touching((*parties, *audiences))
        links = {(link.a, link.b): link for link in (*touching.links, *around.links)}
        disclosures = {**touching.disclosures, **around.disclosures}
        return policy.Network(links=tuple(links[key] for key in sorted(links, key=str)), disclosures=disclosures)

    async def preview(self, viewer: UUID, agreement_id: UUID, grant_id: UUID) -> policy.GrantPreview:
        """For a party: the agreement as a grant's audience sees it (`policy.preview_grant`).

        Raises NotFound for anyone else, and for a grant that is not this agreement's."""
        fact = await self.models.agreement_fact(agreement_id)
        if fact is None:
            raise NotFound("agreement", agreement_id)
        grants = await self.models.grant_facts(agreement_id)
        audiences = {grant.audience for grant in grants if grant.grant_id == grant_id}
        network = await self.sharing_network(fact.parties, audiences)
        await self.names.load((*fact.parties, *audiences))
        return policy.preview_grant(
            viewer, grant_id, fact, grants, network, self.names, self.secret(), self.clock()
        )


    # Personal documents (a method group of `Visibility`, kept together)

    async def document(
        self, viewer: UUID, document_id: UUID, current: PersonalDocument | None = None
    ) -> policy.DocumentView | None:
        """What `viewer` may see of a personal document, or None (404: not even that it exists).

        `current`: the document as just read from its stream, when the caller has it."""
        document = current or await self.models.aggregate(PersonalDocument, document_id)
        if document is None:
            return None
        network = await self.models.network_around((document.owner,))
        if policy.document_access(viewer, document, network) is None:
            return None
        await self.names.load((document.owner, viewer, *document.shares))
        handles = {}
        if viewer == document.owner:
            handles = {p: await self.open_text(p, handle) for p, (_, handle) in document.shares.items() if handle}
        return policy.view_document(viewer, document, network, self.names, self.secret(), handles)

    async def document_history(self, viewer: UUID, document_id: UUID) -> tuple[VersionEntry, ...] | None:
        """Every version with its diff, for the owner only: a person it is shared with reads the current one."""
        document = await self.models.aggregate(PersonalDocument, document_id)
        if document is None:
            return None
        network = await self.models.network_around((document.owner,))
        if policy.document_access(viewer, document, network) != "owner":
            return None
        return history(document)

    async def my_documents(self, viewer: UUID) -> list[policy.DocumentView]:
        """The documents `viewer` owns, then those shared with them that they see now."""
        mine = await self.models.documents_of(viewer)
        found = []
        for document_id in (*mine.owned, *mine.shared):
            if (view := await self.document(viewer, document_id)) is not None:
                found.append(view)
        return sorted(found, key=lambda v: (v.access != "owner", v.title, str(v.document_id)))

    async def calendar(
        self, viewer: UUID, start: datetime, end: datetime, *, series: bool = False
    ) -> CalendarView:
        """`viewer`'s calendar from `start` to `end`: what the events layer of consent lets them see."""
        return await self.calendar_views.calendar(viewer, start, end, series=series)

    # Plans (a method group of `Visibility`, kept together)

    async def plan(self, viewer: UUID, plan_id: UUID, current: Plan | None = None) -> policy.PlanView | None:
        """What `viewer` may see of a plan, or None (404: not even that it exists).

        `current`: the plan as just read from its stream, when the caller has it."""
        plan = current or await self.models.aggregate(Plan, plan_id)
        if plan is None:
            return None
        network = await self.models.network_touching(plan.participants)
        blocked = await self.blocked_by(viewer)
        if not policy.plan_access(viewer, plan.time, network, blocked):
            return None  # before any name is loaded for it
        await self.names.load(plan.participants)
        return policy.view_plan(viewer, plan, network, blocked, self.names, self.secret())

    async def plan_participants(self, plan: PlanTime) -> frozenset[UUID]:
        """Who takes part in `plan` now (`policy.plan_participants`)."""
        return policy.plan_participants(plan, await self.models.network_touching(plan.participants))

    async def my_plans(self, viewer: UUID) -> list[policy.PlanView]:
        """The plans `viewer` sees, soonest first."""
        found = [v for p in await self.models.plans_of(viewer) if (v := await self.plan(viewer, p)) is not None]
        return sorted(found, key=lambda v: (v.start, str(v.plan_id)))

    async def plan_slots(self, person: UUID, start: datetime, end: datetime) -> list[Slot]:
        """`person`'s plans that overlap [start, end), as time on their calendar (for the calendar and booking
        rules): only those they see (`policy.plan_access`), among the participants who count now. No plan's
        sealed stream is opened."""
        found = []
        blocked = await self.blocked_by(person)
        times = in_window(await self.models.plan_times(await self.models.plans_of(person)), start, end)
        network = await self.models.network_touching({p for timed in times for p in timed.participants})
        for timed in times:
            if timed.cancelled and await self.models.aggregate(Plan, timed.plan_id) is None:
                continue  # cancelled as someone in it deleted their account, and gone with its key
            if policy.plan_access(person, timed, network, blocked) and (slot := policy.plan_slot(timed, network)):
                found.append(slot)
        return found

    # Blocks

    async def blocked_by(self, person: UUID) -> frozenset[UUID]:
        """`person`'s own block list, for `policy.may_reach`."""
        blocks = await self.models.aggregate(Blocks, Blocks.id_for(person))
        return frozenset() if blocks is None else blocks.blocked

    async def invitation_hidden(self, viewer: UUID, agreement: Agreement) -> bool:
        """An open invitation from someone `viewer` blocked waits unseen (`policy.may_reach`)."""
        inviter = agreement.inviters.get(viewer) if viewer in agreement.invitees else None
        return inviter is not None and not policy.may_reach(inviter, viewer, await self.blocked_by(viewer))

    async def my_blocks(self, viewer: UUID) -> list[BlockView]:
        """`viewer`'s blocks; nobody else has a view of them."""
        blocks = await self.models.aggregate(Blocks, Blocks.id_for(viewer))
        return [] if blocks is None else await self.block_views(viewer, blocks)

    async def block_views(self, viewer: UUID, blocks: Blocks) -> list[BlockView]:
        """`blocks` as the list's own person sees it (anyone else: nothing)."""
        if blocks.person != viewer:
            return []
        found = []
        for block in blocks.listed():
            person = None if block.handle else await self.ref(block.person, viewer)
            found.append(BlockView(block_id=block.block_id, handle=block.handle or None, person=person, since=block.since))
        return found


def plan_key(plan_id: UUID) -> str:
    return f"{PLAN}{plan_id}"


def document_key(document_id: UUID) -> str:
    return f"{DOCUMENT}{document_id}"


#: The hub key of a person's signals page (`Visibility.signals`).
SIGNALS = "signals"


class ChannelView(msgspec.Struct, frozen=True, kw_only=True):
    """Someone the viewer may open a signal channel to, and the viewer's own choice.

    Whether the other has their side open is never shown once the viewer opened
    theirs (so closing is silent); before that, `offered` says they opened theirs."""

    person: policy.PersonRef
    relation: str
    opened: bool
    offered: bool


class SignalsView(msgspec.Struct, frozen=True, kw_only=True):
    """A person's signals: GET /api/signals and the `signals` push alike."""

    settings: SignalSettings
    channels: list[ChannelView]
    received: list[policy.SignalView]
    sent: list[policy.SignalView]
    #: What stays of the viewer's own expired signals (when they chose to keep kind and time).
    kept: list[policy.SignalRemainsView]


class SignalViews:
    """Signals through the one view function: who sees a signal, its note and its seen-state."""

    def __init__(self, visibility: Visibility) -> None:
        self.v = visibility

    async def book(self, person: UUID) -> SignalBook:
        return await self.v.models.aggregate(SignalBook, SignalBook.id_for(person)) or default_book(
            person, self.v.clock()
        )

    async def opened_by(self, people: Iterable[UUID]) -> dict[UUID, set[UUID]]:
        return {person: set((await self.book(person)).opened) for person in set(people)}

    async def reachable(self, sender: UUID, recipients: Sequence[UUID]) -> list[UUID]:
        """Who of `recipients` a signal from `sender` reaches now: along a channel both opened
        (`policy.may_signal`), to someone who has not blocked them (`policy.may_reach`)."""
        opened = await self.opened_by((sender, *recipients))
        network = await self.v.models.network_around((sender,))
        return [
            r
            for r in recipients
            if policy.may_signal(sender, r, opened, network.links)
            and policy.may_reach(sender, r, await self.v.blocked_by(r))
        ]

    async def signal(self, viewer: UUID, signal_id: UUID, current: Signal | None = None) -> policy.SignalView | None:
        """What `viewer` may see of a signal, or None (404: not even that it exists; also once expired)."""
        if current is not None:
            return await self._signal(viewer, current)

        async def work() -> policy.SignalView | None:
            signal = await self.v.models.aggregate(Signal, signal_id)
            return None if signal is None else await self._signal(viewer, signal)

        # Remembered for this log position: a push works out the signals view and the inbox from the same signals.
        return await self.v.models.derive(("signal_view", viewer, signal_id), work)

    async def _signal(self, viewer: UUID, signal: Signal) -> policy.SignalView | None:
        if policy.signal_access(viewer, signal.by, signal.recipients) is None:
            return None
        if viewer != signal.by and not policy.may_reach(signal.by, viewer, await self.v.blocked_by(viewer)):
            return None  # blocked since it arrived: gone from their view at once, the sender told nothing
        if signal.has_expired(self.v.clock()):
            return None  # its key goes soon: nobody sees it meanwhile
        receipts = {r: (await self.book(r)).settings.read_receipts for r in signal.recipients} if viewer == signal.by else {}
        # The viewer's links and their partners' (remembered for this position): whoever a signal is
        # between is a partner or metamour of the viewer, or was.
        network = await self.v.models.network_around((viewer,))
        await self.v.names.load((signal.by, *signal.addressed))
        return policy.view_signal(viewer, signal, receipts, network, self.v.names, self.v.secret())

    async def live(self, viewer: UUID) -> SignalsView | None:
        """The `signals` push: as `signals`, once anything of signals concerns the viewer (a channel
        either side opened, a signal, a setting); before that there is nothing to push."""
        view = await self.signals(viewer)
        if (
            view.received or view.sent or view.kept
            or any(c.opened or c.offered for c in view.channels)
            or await self.v.models.aggregate(SignalBook, SignalBook.id_for(viewer)) is not None
        ):  # fmt: skip
            return view
        return None

    async def channels(self, viewer: UUID, book: SignalBook | None = None) -> list[ChannelView]:
        """Whom `viewer` may open a channel to, partners first, with their own choice for each."""
        book = book or await self.book(viewer)
        network = await self.v.models.network_around((viewer,))
        candidates: dict[UUID, str] = {}
        partners = policy.partners_of(viewer, network.links)
        for person in sorted(partners | policy.metamours_of(viewer, network.links), key=str):
            relation = policy.channel_offer(viewer, person, network.links)
            if relation is not None:
                candidates[person] = relation
        opened = await self.opened_by(candidates)
        blocked = await self.v.blocked_by(viewer)
        await self.v.names.load((viewer, *candidates))
        # Only someone shown to the viewer by name (and id) can be chosen: a pseudonym stays one.
        refs = {person: self.v._ref(person, viewer, network) for person in candidates}
        channels = [
            ChannelView(
                person=refs[person],
                relation=relation,
                opened=person in book.opened,
                # Someone the viewer blocked does not offer them anything (their side opens nothing).
                offered=person not in book.opened and viewer in opened[person] and person not in blocked,
            )
            for person, relation in candidates.items()
            if refs[person].person_id is not None
        ]
        # Partners first, then metamours; by name within each.
        channels.sort(key=lambda c: (c.relation != "partner", c.person.name, c.person.key))
        return channels

    async def signals(self, viewer: UUID) -> SignalsView:
        book = await self.book(viewer)
        channels = await self.channels(viewer, book)
        received, sent = [], []
        for signal_id in reversed(await self.v.models.signals_of(viewer)):
            view = await self.signal(viewer, signal_id)
            if view is not None:
                (sent if view.relation == "sender" else received).append(view)
        me = await self.v.ref(viewer, viewer)
        kept = [
            policy.SignalRemainsView(
                signal_id=signal_id,
                kind=remains[0],
                label=SIGNAL_KINDS[remains[0]],
                sender=me,
                sent_at=remains[1],
            )
            for signal_id, remains in book.expired.items()
            if remains is not None
        ]
        kept.sort(key=lambda k: k.sent_at, reverse=True)
        return SignalsView(settings=book.settings, channels=channels, received=received, sent=sent, kept=kept)


async def signal_bar(views: SignalViews, viewer: UUID) -> list[policy.PersonRef]:
    """Whom the signal bar offers: the people `viewer` opened a channel to, partners first."""
    return [c.person for c in await views.channels(viewer) if c.opened]


class BlockView(msgspec.Struct, frozen=True, kw_only=True):
    """One of my blocks. Blocked by handle: the handle as I typed it, and no person (whether the
    handle has an account is not shown, not even to me). Blocked from a person's page: that
    person, as I may see them."""

    block_id: UUID
    since: datetime
    handle: str | None = None
    person: policy.PersonRef | None = None


class FeedView(msgspec.Struct, frozen=True, kw_only=True):
    """My calendar feed as I see it: whether I have one, and since when (never its address again)."""

    active: bool
    issued_at: datetime | None = None


def feed_view(feed: CalendarFeed | None) -> FeedView:
    if feed is None or not feed.active:
        return FeedView(active=False)
    return FeedView(active=True, issued_at=feed.issued_at)


async def my_feed(visibility: Visibility, viewer: UUID) -> FeedView:
    """`viewer`'s own calendar feed; nobody else has a view of it."""
    return feed_view(await visibility.models.aggregate(CalendarFeed, CalendarFeed.id_for(viewer)))


#: The hub key of a person's own availability (`AvailabilityViews.mine`).
AVAILABILITY = "availability"


class PartnerShowsView(msgspec.Struct, frozen=True, kw_only=True):
    """One live partner, and what they see of the owner's other time."""

    person: policy.PersonRef
    shows: Shows


class AvailabilityView(msgspec.Struct, frozen=True, kw_only=True):
    """A person's own availability: GET/PUT /api/me/availability and the `availability` push alike."""

    time_zone: str
    #: Every live partner shown to the owner by name, partners without a choice as "nothing".
    partners: list[PartnerShowsView]
    rules: BookingRules
    #: Each live partner's booking rules as they show them to the owner (`policy.view_rules`): only
    #: partners who show them at least one.
    theirs: list[policy.SharedRules] = []


class AvailabilityViews:
    """Availability through the one view function: a person's time zone, what they show each partner,
    their booking rules, and a rule a plan breaks, as each viewer may know them."""

    def __init__(self, visibility: Visibility) -> None:
        self.v = visibility

    async def of(self, person: UUID) -> Availability:
        """A person's availability as it stands (their defaults before any choice)."""
        return await self.v.models.aggregate(Availability, Availability.id_for(person)) or default_availability(
            person, self.v.clock()
        )

    async def time_zone(self, person: UUID) -> str:
        """The zone `person`'s own calendar pages read in (their choice; UTC until they make one)."""
        return (await self.of(person)).time_zone

    async def shows(self, owner: UUID, partner: UUID) -> Shows:
        """What `owner` chose to show `partner` of their other time while the two are live partners;
        "nothing" for anyone else. (Whether a block hides it too is the calendar view's to decide.)"""
        network = await self.v.models.network_around((owner,))
        if partner not in policy.partners_of(owner, network.links):
            return "nothing"
        return (await self.of(owner)).shows_to(partner)

    async def mine(self, viewer: UUID, current: Availability | None = None) -> AvailabilityView:
        availability = current or await self.of(viewer)
        network = await self.v.models.network_around((viewer,))
        partners = sorted(policy.partners_of(viewer, network.links), key=str)
        await self.v.names.load((viewer, *partners))
        refs = [self.v._ref(person, viewer, network) for person in partners]
        shown = [
            PartnerShowsView(person=ref, shows=availability.shows_to(ref.person_id))
            for ref in refs
            if ref.person_id is not None  # a partner shown by pseudonym cannot be chosen for
        ]
        shown.sort(key=lambda p: (p.person.name, p.person.key))
        theirs = [found for ref in shown if (found := await self.rules(viewer, ref.person.person_id)) and found.rules.set()]
        return AvailabilityView(time_zone=availability.time_zone, partners=shown, rules=availability.rules, theirs=theirs)

    async def live(self, viewer: UUID) -> AvailabilityView | None:
        """The `availability` push: as `mine`, once the viewer made a choice or a partner shows them a
        rule; before that there is nothing to push."""
        view = await self.mine(viewer)
        if not view.theirs and await self.v.models.aggregate(Availability, Availability.id_for(viewer)) is None:
            return None
        return view

    async def rules(self, viewer: UUID, owner: UUID) -> policy.SharedRules | None:
        """`owner`'s rules as `viewer` may see them, or None (404: not even that they have any)."""
        network = await self.v.models.network_around((owner,))
        await self.v.names.load((owner,))
        return policy.view_rules(viewer, await self.of(owner), network, self.v.names, self.v.secret())

    async def breaches(self, viewer: UUID, breaches: Iterable[Breach]) -> list[policy.BreachView]:
        """The breaches of a plan `viewer` proposes, reschedules or accepts, as they may know them."""
        seen: list[policy.BreachView] = []
        for breach in breaches:
            network = await self.v.models.network_around((breach.owner,))
            await self.v.names.load((breach.owner,))
            view = policy.view_breach(viewer, breach, network, self.v.names, self.v.secret())
            if view not in seen:  # two unshown breaches read alike: once is enough
                seen.append(view)
        return seen


#: The hub key of a person's calendar (`CalendarViews.live`).
CALENDAR = "calendar"
#: The window the `calendar` push covers, around today: what the week and month pages and a feed show.
LIVE_BEFORE = timedelta(days=60)
LIVE_AHEAD = timedelta(days=400)


class CalendarView(msgspec.Struct, frozen=True, kw_only=True):
    """One person's calendar over a window: GET /api/calendar and the `calendar` push alike."""

    start: datetime
    end: datetime
    #: The viewer's own time zone (their availability settings), for showing the entries.
    time_zone: str
    entries: tuple[policy.CalendarEntry, ...]


class CalendarViews:
    """The events layer of consent through the one view function: whose time a viewer may see, and how much.

    The candidates are the slots of the viewer, of their live partners, and of the parties of
    agreements that name the viewer as a grant's audience: nobody else's time can reach them
    (`policy.slot_sight`), so nobody else's is read."""

    def __init__(self, visibility: Visibility) -> None:
        self.v = visibility

    async def calendar(self, viewer: UUID, start: datetime, end: datetime, *, series: bool = False) -> CalendarView:
        models = self.v.models
        around = await models.network_around((viewer,))
        partners = policy.partners_of(viewer, around.links)
        agreements, grants = [], []
        for agreement_id in sorted((await models.person(viewer)).granted, key=str):
            mine = [g for g in await models.grant_facts(agreement_id) if g.audience == viewer]
            fact = await models.agreement_fact(agreement_id)
            if fact is not None and any({EVENTS, EVENTS_BUSY} & g.scopes for g in mine):
                agreements.append(fact)
                grants.extend(mine)
        parties = {p for fact in agreements for p in fact.parties}
        people = {viewer, *partners, *parties}
        slots: dict[tuple[UUID, int | None], Slot] = {}
        cadences: dict[UUID, Cadence] = {}
        stopped: set[UUID] = set()
        for person in sorted(people, key=str):
            for slot in await self.slots_of(person, start, end, cadences, stopped):
                slots[(slot.id, slot.index)] = slot
        involved = {p for slot in slots.values() for p in slot.participants}
        network = await models.network_around({viewer, *parties, *involved})
        facts = policy.CalendarFacts(
            network=network,
            shows={p: await self.v.availability_views.shows(p, viewer) for p in sorted(partners, key=str)},
            agreements=tuple(agreements),
            grants=tuple(grants),
            blocks={p: await self.v.blocked_by(p) for p in sorted({viewer, *involved}, key=str)},
            cadences=cadences,
            stopped=frozenset(stopped),
        )
        found = list(slots.values())
        details = {plan: d for plan in policy.full_plans(viewer, found, facts, self.v.clock()) if (d := await self.details(plan))}
        await self.v.names.load({viewer, *involved})
        entries = policy.calendar_view(
            viewer, found, facts, self.v.names, self.v.secret(), self.v.clock(), details, series=series
        )
        time_zone = await self.v.availability_views.time_zone(viewer)
        return CalendarView(start=start, end=end, time_zone=time_zone, entries=entries)

    async def live(self, viewer: UUID) -> CalendarView | None:
        """The `calendar` push: `around_today`; nothing while it is empty, as for someone with no calendar at all."""
        view = await self.around_today(viewer)
        return view if view.entries else None

    async def around_today(self, viewer: UUID) -> CalendarView:
        """The calendar from 60 days before today to 400 after (moving once a day): what the live pages
        follow and an export holds."""
        today = datetime.combine(self.v.clock().date(), time(0), tzinfo=UTC)
        return await self.calendar(viewer, today - LIVE_BEFORE, today + LIVE_AHEAD)

    async def slots_of(
        self, person: UUID, start: datetime, end: datetime, cadences: dict[UUID, Cadence], stopped: set[UUID]
    ) -> list[Slot]:
        """Everything that may hold `person`'s time in the window: their check-ins' occurrences and their plans."""
        found: list[Slot] = []
        for check_in_id in await self.v.models.check_ins_of(person):
            check_in = await self.v.models.aggregate(CheckIn, check_in_id)
            if check_in is None or check_in.id in cadences:
                continue
            cadences[check_in.id] = check_in.cadence
            if check_in.status != "active":
                stopped.add(check_in.id)
            found.extend(check_in_slots(check_in, await self.v.check_in_participants(check_in), start, end))
        found.extend(await self.v.plan_slots(person, start, end))
        return found

    async def details(self, plan_id: UUID) -> policy.PlanDetails | None:
        """A plan's title and place (its sealed stream, opened), for a viewer who sees it in full."""
        plan = await self.v.models.aggregate(Plan, plan_id)
        return None if plan is None else policy.PlanDetails(title=plan.title, place=plan.place or "")
