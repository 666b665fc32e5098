"""This process's follower: keeps the caches current and pushes views to the people connected here.

It follows the log from where the projections stood when the process started
(never from the beginning: start-up does not grow with the log), and takes
each event only once the projector has passed it, so every view computed for
that position reads documents that include it. For each event it works out
which of the people this process tracks it may concern, asks the one view
function for their fresh views, and hands them to the hub, which pushes only
what changed. Read-your-writes waits on this follower's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, KeysView
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import policy
from domain.agreement import Agreement
from domain.availability import Availability
from domain.blocks import Blocks
from domain.checkins import CheckIn
from domain.documents import PersonalDocument
from domain.grants import SharingGrant
from domain.network import Disclosures, Erasure, PartnerLink
from domain.plans import Plan
from domain.signals import Signal, SignalBook
from service.crypto import Keyring
from service.live.hub import Connection, Hub
from service.read.models import ReadModels
from service.store import EventStore, StoredEvent, StoreError
from service.store.mapper import MsgspecMapper
from service.store.sealed import SHREDDED
from service.visibility import (
    AVAILABILITY,
    CALENDAR,
    INBOX,
    SIGNALS,
    Visibility,
    agreement_key,
    check_in_key,
    document_key,
    grants_key,
    plan_key,
)

log = logging.getLogger(__name__)

#: The stored topic of an erasure: decoded even when nobody is connected here (caches forget the person).
ERASED = f"{Erasure.Created.__module__}:{Erasure.Created.__qualname__}"


class Projected:
    """How far the projector has got, as the store reads see it: told directly in the leading process
    (when reads go to the primary), read from the reads' store otherwise.

    With a replica for reads, a position counts once the replica has replayed the projector's
    commit of it, and with it everything before it: what views then read there includes it.
    """

    def __init__(
        self, store: EventStore, live: tuple[str, ...], poll_interval: float, wakes: EventStore | None = None
    ) -> None:
        self.store = store
        #: Where wake-ups come from: the primary (a replica has no NOTIFY).
        self.wakes = wakes or store
        self.live = live
        self.poll_interval = poll_interval
        self.position = 0
        self._moved = asyncio.Event()
        #: When this process's projector last told its position (it does each step, at least every poll interval).
        self._told_at: float | None = None

    def told(self, position: int) -> None:
        """The projector in this process committed `position` (on the primary)."""
        if self.wakes is self.store:
            self._told_at = time.monotonic()
            self.advance(position)
        else:
            self._moved.set()  # the replica follows soon: look there

    def _telling(self) -> bool:
        """This process projects for the reads' database: its projector tells each commit as it makes it."""
        return self._told_at is not None and time.monotonic() - self._told_at < 2 * self.poll_interval

    def advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            self._moved.set()

    async def refresh(self) -> int:
        positions = await self.store.projection_positions()
        self.advance(min(positions.get(name, 0) for name in self.live))
        return self.position

    async def wait(self, position: int) -> None:
        """Until the projector has passed `position` (polling the store, woken early by NOTIFY)."""
        delay = 0.005
        while self.position < position:
            self._moved.clear()
            if self._telling():
                # No need to ask the store: this process's projector tells as it commits (or stops telling).
                delay = self.poll_interval
            else:
                try:
                    if await self.refresh() >= position:
                        return
                except StoreError:
                    delay = self.poll_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._moved.wait()
            delay = min(delay * 2, self.poll_interval)

    async def listen(self) -> None:
        """Wake-ups from the store (on PostgreSQL, the projector's NOTIFY): look again at once."""
        await self.wakes.listen(self._moved)


class Touched:
    """Whom one event may concern, among the people tracked here, and which of their views."""

    __slots__ = ("agreements", "people", "network", "check_ins", "documents", "signals", "calendar", "availability", "plans")

    def __init__(self) -> None:
        self.agreements: set[UUID] = set()
        #: Check-in series whose views `people` get afresh (with the agreements').
        self.check_ins: set[UUID] = set()
        #: Personal documents whose views `people` get afresh.
        self.documents: set[UUID] = set()
        #: Plans whose views `people` get afresh.
        self.plans: set[UUID] = set()
        #: People whose views of `agreements` may have changed.
        self.people: set[UUID] = set()
        #: People all of whose views may have changed (their network, and what it lets them see).
        self.network: set[UUID] = set()
        #: People whose signals (and so their inbox) may have changed.
        self.signals: set[UUID] = set()
        #: People whose calendar may have changed (the hub pushes it only to those it did change for).
        self.calendar: set[UUID] = set()
        #: People whose own availability (time zone, partners' sight, booking rules) changed.
        self.availability: set[UUID] = set()


class Follower:
    def __init__(
        self,
        store: EventStore,
        mapper: MsgspecMapper,
        models: ReadModels,
        visibility: Visibility,
        hub: Hub,
        projected: Projected,
        keys: Keyring,
        forget_stream: Callable[[UUID], None] = lambda _: None,
    ) -> None:
        #: Drops what else this process keeps of a stream whose key was destroyed (the commands' copy).
        self.forget_stream = forget_stream
        self.keys = keys
        self.store = store
        self.mapper = mapper
        self.models = models
        self.visibility = visibility
        self.hub = hub
        self.projected = projected
        #: Events taken into account since this process started (a metric).
        self.followed = 0
        self._advanced = asyncio.Condition()
        #: Held while an event's pushes are worked out, and while a socket joins: neither sees half of the other.
        self._pushing = asyncio.Lock()
        self.started = asyncio.Event()

    @property
    def position(self) -> int:
        """The log position this process's reads and pushes have taken into account (the read models')."""
        return self.models.position

    async def run(self) -> None:
        while True:
            try:
                self.models.position = await self.projected.refresh()
                break
            except StoreError:
                log.info("follower waiting for the database to start from")
                await asyncio.sleep(self.projected.poll_interval)
        self.hub.advance(self.position)
        self.started.set()
        subscription = self.store.subscribe(self.position)
        try:
            async for stored in subscription:
                await self.projected.wait(stored.position)
                await self.apply(stored)
        finally:
            await subscription.aclose()

    async def apply(self, stored: StoredEvent) -> None:
        async with self._pushing:
            self.models.position = stored.position
            if stored.topic == SHREDDED:
                # Its key is gone: the stream reads as absent now, and whoever was shown it is told so.
                self.models.aggregates.drop(stored.originator_id)
                self.forget_stream(stored.originator_id)
                if self.hub.tracked:
                    await self._push_gone(stored.originator_id, stored.position)
            elif self.hub.tracked or self.models.concerned(stored) or stored.topic == ERASED:
                event = self.mapper.to_domain_event(stored)
                if isinstance(event, Erasure.Created):
                    self.forget(event.person)
                self.models.apply(event, stored.position)
                if self.hub.tracked:
                    await self._push(event, stored.position)
            # Otherwise nothing here holds or shows anything of it: not even decoded.
            self.hub.advance(stored.position)
            self.followed += 1
        async with self._advanced:
            self._advanced.notify_all()

    async def _push(self, event: Aggregate.Event, position: int) -> None:
        while True:
            try:
                touched = await self.touched(event, self.hub.tracked)
                fresh: dict[UUID, dict[str, bytes | None]] = {}
                keys = [k for a in touched.agreements for k in (agreement_key(a), grants_key(a))]
                keys += [check_in_key(c) for c in touched.check_ins]
                keys += [document_key(d) for d in touched.documents]
                keys += [plan_key(p) for p in touched.plans]
                for person in touched.people:
                    # Their inbox is built from their agreements: it may have changed with them.
                    fresh[person] = await self.visibility.views(person, [*keys, INBOX])
                for person in touched.signals:
                    fresh.setdefault(person, {}).update(await self.visibility.views(person, [SIGNALS, INBOX]))
                for person in touched.calendar - touched.network:
                    fresh.setdefault(person, {}).update(await self.visibility.views(person, [CALENDAR]))
                for person in touched.availability:
                    fresh.setdefault(person, {}).update(await self.visibility.views(person, [AVAILABILITY]))
                for person in touched.network:
                    every = await self.visibility.keys(person) | self.hub.shown_keys(person)
                    fresh.setdefault(person, {}).update(await self.visibility.views(person, every))
                break
            except StoreError:
                # Half-done here would lose these pushes for good: wait for the database instead.
                log.info("views unavailable; follower waiting for the database")
                await asyncio.sleep(self.projected.poll_interval)
        self.hub.track(position, fresh)

    def forget(self, person: UUID) -> None:
        """A person deleted their account: nothing of theirs stays cached here, and their sockets close."""
        self.keys.forget((person,))
        self.visibility.names.forget(person)
        self.hub.sign_out(person)

    async def _push_gone(self, agreement_id: UUID, position: int) -> None:
        keys = [agreement_key(agreement_id), grants_key(agreement_id), document_key(agreement_id), plan_key(agreement_id)]
        shown = [person for person in self.hub.tracked if self.hub.shown_keys(person) & set(keys)]
        # What waited for them there is gone from their inbox too.
        self.hub.track(position, {person: await self.visibility.views(person, [*keys, INBOX]) for person in shown})

    async def touched(self, event: Aggregate.Event, tracked: KeysView[UUID]) -> Touched:
        touched = Touched()
        match event:
            case Agreement.Event():
                agreement = await self.models.agreement(event.originator_id)
                if agreement is None:
                    return touched
                touched.agreements.add(agreement.id)
                people = {*agreement.parties, *agreement.invitees}
                if (by := getattr(event, "by", None)) is not None:
                    people.add(by)
                # Whoever may lose sight of it is among these too: someone leaving or declining is `by`.
                audiences = {grant.audience for grant in await self.models.grants_for(agreement.id)}
                touched.people = (people | audiences) & tracked
                # Who is in it decides which links `relationship` shows its audiences.
                touched.network = audiences & tracked
                if isinstance(event, Agreement.PartyLeft):
                    # Whoever leaves stops taking part in the agreement's check-ins: all their views afresh.
                    touched.network |= {event.by} & tracked
            case CheckIn.Event():
                check_in = await self.models.aggregate(CheckIn, event.originator_id)
                if check_in is not None:
                    touched.check_ins.add(check_in.id)
                    touched.people = set(check_in.participants) & tracked
                    touched.calendar = await self._near_calendars(check_in.participants, tracked)
            case PersonalDocument.Event():
                # Whoever was shown it (a share revoked, the document deleted) is told at once, with the owner
                # and everyone it is shared with now.
                key = document_key(event.originator_id)
                touched.documents.add(event.originator_id)
                touched.people = {p for p in tracked if key in self.hub.shown_keys(p)}
                document = await self.models.aggregate(PersonalDocument, event.originator_id)
                if document is not None:
                    touched.people |= {document.owner, *document.shares} & tracked
                if (person := getattr(event, "person", None)) is not None:
                    touched.people |= {person} & tracked
            case SharingGrant.Event():
                grant = await self.models.aggregate(SharingGrant, event.originator_id)
                agreement = None if grant is None else await self.models.agreement(grant.agreement_id)
                if grant is None or agreement is None:
                    return touched
                touched.agreements.add(grant.agreement_id)
                touched.people = ({grant.audience, *agreement.parties}) & tracked
                touched.network = {grant.audience} & tracked
            case PartnerLink.Event():
                link = await self.models.aggregate(PartnerLink, event.originator_id)
                if link is not None:
                    touched.network = await self.models.neighbourhood(link.people) & tracked
            case Erasure.Created():
                # They left everything before this: refresh what named them, for whoever is here.
                for agreement_id in event.agreements:
                    if (agreement := await self.models.agreement(agreement_id)) is not None:
                        touched.agreements.add(agreement_id)
                        touched.people |= set(agreement.parties) & tracked
                touched.network = await self.models.neighbourhood((event.person,)) & tracked
            case Signal.Event():
                signal = await self.models.aggregate(Signal, event.originator_id)
                if signal is not None:
                    touched.signals = {signal.by, *signal.recipients} & tracked
            case SignalBook.Expired():
                # Its key is gone: nothing of it stays cached here, and whoever was shown it sees it go.
                cached = self.models.aggregates.get(event.signal_id)
                signal = None if cached is None else cached.aggregate
                self.models.aggregates.drop(event.signal_id)
                self.forget_stream(event.signal_id)
                self.keys.forget((event.signal_id,))
                if isinstance(signal, Signal):
                    touched.signals = {signal.by, *signal.recipients} & tracked
                else:
                    touched.signals = set(tracked)  # not known here: whoever is here looks again
            case SignalBook.Event():
                book = await self.models.aggregate(SignalBook, event.originator_id)
                if book is not None:
                    # A channel opened or closed shows as an offer to the other (before they chose); settings show as seen-state.
                    near = {book.person}
                    if (to := getattr(event, "to", None)) is not None:
                        near.add(to)
                    elif isinstance(event, SignalBook.SettingsChanged):
                        near |= await self._signalled_with(book.person)
                    touched.signals = near & tracked
            case Availability.Event():
                availability = await self.models.aggregate(Availability, event.originator_id)
                if availability is not None:
                    # The owner's own view, and their partners' (the rules shown to them): the hub pushes
                    # only to those whose view changed, so a rule shown to nobody reaches no partner.
                    network = await self.models.network_around((availability.person,))
                    touched.availability = {availability.person, *policy.partners_of(availability.person, network.links)} & tracked
                    # What the owner shows each partner, and the zone the owner's own calendar reads in.
                    touched.calendar = await self._near_calendars((availability.person,), tracked)
            case Plan.Event():
                plan = await self.models.aggregate(Plan, event.originator_id)
                if plan is not None:
                    touched.plans.add(plan.id)
                    touched.people = set(plan.participants) & tracked
                    touched.calendar = await self._near_calendars(plan.participants, tracked)
            case Blocks.Event():
                blocks = await self.models.aggregate(Blocks, event.originator_id)
                if blocks is not None:
                    # The blocker's views only (requests from the blocked person hide or show again);
                    # the blocked person is told nothing, not even by a push.
                    touched.network = {blocks.person} & tracked
                    # The blocker's calendar loses (or regains) the blocked person's time, and plans they
                    # proposed; nobody else's changes (`policy.slot_sight`: busy time is what was committed).
                    touched.calendar = {blocks.person} & tracked
            case Disclosures.Event():
                disclosures = await self.models.aggregate(Disclosures, event.originator_id)
                if disclosures is not None:
                    near = {disclosures.person}
                    if (audience := getattr(event, "audience", None)) is not None:
                        near.add(audience)
                    touched.network = near & tracked
        return touched

    async def _near_calendars(self, people: Iterable[UUID], tracked: KeysView[UUID]) -> set[UUID]:
        """Whose calendar time of `people` may reach: themselves, their partners (busy), and partners
        of their partners (metamours through `events` grants); the hub pushes to those it changed for."""
        return await self.models.neighbourhood(people) & tracked if tracked else set()

    async def _signalled_with(self, person: UUID) -> set[UUID]:
        """Who sent `person` a signal still listed: their read receipts show there."""
        found = set()
        for signal_id in await self.models.signals_of(person):
            if (signal := await self.models.aggregate(Signal, signal_id)) is not None:
                found.add(signal.by)
        return found

    async def connect(self, person: UUID, since: int | None) -> Connection:
        """A socket joins: what it missed (or everything), and from now on what changes."""
        async with self._pushing:
            current = await self.visibility.everything(person)
            return self.hub.connect(person, since, current)

    async def caught_up(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until this follower has taken `position` into account; False on timeout."""
        if self.position >= position:
            return True
        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(lambda: self.position >= position)
        except TimeoutError:
            return False
        return True

