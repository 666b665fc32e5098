"""What views are computed from: aggregates and index documents, loaded on demand into bounded caches.

Nothing here folds the whole log. An aggregate (an agreement with its
timeline, a grant, a partner link, a person's disclosures) is folded from its
own stream when a view first needs it; the indexes that lead from one thing
to another (a person's agreements and links, an agreement's grants) are the
projector's documents. Both are kept in least-recently-used caches of a set
size, and kept current by `apply`, which the follower calls with each event
in log order once the projector has passed it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.agreement import Agreement
from domain.grants import SharingGrant
from domain.network import Disclosures, PartnerLink
from domain.policy import (
    AgreementFact,
    GrantFact,
    LinkFact,
    Network,
    grant_fact,
    in_force_history,
)
from domain.plans import PlanTime
from projections import agreement_grants, checkins, people, plans, signals
from projections import documents as personal
from projections.projection import Projection
from projections.timeline import Timeline
from projections.timeline import evolve as evolve_timeline
from service.store import EventStore, StoredEvent
from service.store.mapper import MsgspecMapper

K = TypeVar("K")
V = TypeVar("V")
A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: The projections views read, besides the aggregates' own streams.
INDEXES: tuple[Projection[Any], ...] = (people.PROJECTION, agreement_grants.PROJECTION)
INDEXES += (checkins.CHECK_INS,)
INDEXES += (personal.DOCUMENTS,)
INDEXES += (signals.SIGNALS,)
INDEXES += (plans.PLANS, plans.PLAN_TIMES)
INDEX_TOPICS = frozenset(get_topic(cls) for p in INDEXES for cls in p.handles)


class Cache(Generic[K, V]):
    """Least recently used first out, at most `size` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class Loaded:
    """One aggregate as folded from its stream (None: it has no stream yet); an agreement's timeline beside it."""

    __slots__ = ("aggregate", "timeline", "fact")

    def __init__(self, aggregate: Aggregate | None, timeline: Timeline | None) -> None:
        self.aggregate = aggregate
        self.timeline = timeline
        #: An agreement's fact for the policy, made once per version (see `agreement_fact`).
        self.fact: AgreementFact | None = None


class ReadModels:
    def __init__(self, store: EventStore, mapper: MsgspecMapper, cache_size: int) -> None:
        self.store = store
        self.mapper = mapper
        self.aggregates: Cache[UUID, Loaded] = Cache(cache_size)
        self.documents: Cache[tuple[str, str], Any] = Cache(cache_size)
        #: Facts derived from the above for the policy (a view's grants, the network around its parties),
        #: each with the position it was worked out at: good only while the position has not moved.
        self.derived: Cache[tuple[str, Any], tuple[int, Any]] = Cache(cache_size)
        #: The log position views are computed at: a stream read now is folded only up to here,
        #: so a view pushed for a position shows that position, not a later one.
        self.position = 0

    # Keeping current

    def concerned(self, stored: StoredEvent) -> bool:
        """Whether an event changes anything cached here: its aggregate (or its absence), or an index document."""
        return self.aggregates.get(stored.originator_id) is not None or stored.topic in INDEX_TOPICS

    def apply(self, event: Aggregate.Event, position: int) -> None:
        """The follower's fold: what is cached moves with the log; what is not stays unloaded."""
        loaded = self.aggregates.get(event.originator_id)
        if loaded is not None and loaded.aggregate is None:
            self.aggregates.drop(event.originator_id)  # known absent until now
        elif loaded is not None:
            version = loaded.aggregate.version
            if version == event.originator_version - 1:
                event.mutate(loaded.aggregate)
                loaded.fact = None
                if loaded.timeline is not None:
                    loaded.timeline = evolve_timeline(loaded.timeline, event, position)
            elif version < event.originator_version:
                self.aggregates.drop(event.originator_id)  # a gap: load it again when needed
        for projection in INDEXES:
            if isinstance(event, projection.handles):
                for key in projection.keys(event):
                    self.documents.drop((projection.name, key))

    # Aggregates

    async def _loaded(self, aggregate_id: UUID) -> Loaded | None:
        loaded = self.aggregates.get(aggregate_id)
        if loaded is not None:
            return loaded if loaded.aggregate is not None else None
        # Everything up to `before` had committed when the read began (positions are commit
        # order), so the read holds all of it; what the follower took in while the read was in
        # flight may be missing from it, so a read overtaken by the follower is not kept.
        before = self.position
        aggregate: Any = None
        timeline: Timeline | None = None
        for stored in await self.store.read_stream(aggregate_id):
            if stored.position > before:
                break  # appended since: the follower folds it in when it gets there
            event = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
            if isinstance(aggregate, Agreement):
                timeline = evolve_timeline(timeline or Timeline(), event, stored.position)
        exact = self.position == before
        if aggregate is None:
            if exact:
                # Remembered as absent (most people never set a disclosure): the first event of its stream drops this.
                self.aggregates.put(aggregate_id, Loaded(None, None))
            return None
        loaded = Loaded(aggregate, timeline)
        if exact:
            # From here on the follower keeps it current: it is exact at this position.
            self.aggregates.put(aggregate_id, loaded)
        return loaded

    async def aggregate(self, cls: type[A], aggregate_id: UUID) -> A | None:
        loaded = await self._loaded(aggregate_id)
        return loaded.aggregate if loaded is not None and isinstance(loaded.aggregate, cls) else None

    async def agreement(self, agreement_id: UUID) -> Agreement | None:
        return await self.aggregate(Agreement, agreement_id)

    async def timeline(self, agreement_id: UUID) -> Timeline | None:
        loaded = await self._loaded(agreement_id)
        return loaded.timeline if loaded is not None else None

    async def disclosures(self, person: UUID) -> Disclosures | None:
        return await self.aggregate(Disclosures, Disclosures.id_for(person))

    # Indexes

    async def _document(self, projection: Projection[Any], key: str) -> Any:
        cached = self.documents.get((projection.name, key))
        if cached is not None:
            return cached
        found = await self.store.documents(projection.name, [key])
        document = projection.decode(found[key]) if key in found else projection.document()
        self.documents.put((projection.name, key), document)
        return document

    async def person(self, person: UUID) -> people.Person:
        return await self._document(people.PROJECTION, str(person))

    async def grants_for(self, agreement_id: UUID) -> list[SharingGrant]:
        index = await self._document(agreement_grants.PROJECTION, str(agreement_id))
        found = [await self.aggregate(SharingGrant, grant_id) for grant_id in index.grants]
        return sorted((g for g in found if g is not None), key=lambda g: str(g.id))

    async def links_of(self, person: UUID) -> list[PartnerLink]:
        found = [await self.aggregate(PartnerLink, link_id) for link_id in (await self.person(person)).links]
        return [link for link in found if link is not None]

    async def check_ins_of(self, person: UUID) -> list[UUID]:
        """Check-in series `person` was started with (whether they still take part is the policy's)."""
        return list((await self._document(checkins.CHECK_INS, str(person))).check_ins)

    async def documents_of(self, person: UUID) -> personal.PersonDocuments:
        """Personal documents `person` owns, and those ever shared with them (whether they still see each
        is the policy's)."""
        return await self._document(personal.DOCUMENTS, str(person))

    async def derive(self, key: tuple[str, Any], work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, remembered until the position moves (see `_derive`), for a view's parts."""
        return await self._derive(key, work)

    async def signals_of(self, person: UUID) -> list[UUID]:
        """Signals `person` sent or received, newest last (whether they still exist is their stream's to say)."""
        return list((await self._document(signals.SIGNALS, str(person))).signals)

    async def plans_of(self, person: UUID) -> list[UUID]:
        """Plans `person` was proposed with (whether they still take part is the policy's)."""
        return list((await self._document(plans.PLANS, str(person))).plans)

    async def plan_times(self, plan_ids: Iterable[UUID]) -> list[PlanTime]:
        """Each plan as time (`plans.PLAN_TIMES`), without opening any plan's sealed stream."""
        name = plans.PLAN_TIMES.name
        keys = [str(p) for p in plan_ids]
        missing = [k for k in keys if self.documents.get((name, k)) is None]
        if missing:
            for key, data in (await self.store.documents(name, missing)).items():
                self.documents.put((name, key), plans.PLAN_TIMES.decode(data))
        return [found for k in keys if (found := self.documents.get((name, k))) is not None]

    async def involved(self, person: UUID) -> set[UUID]:
        """Agreements `person` is a party of, invited to, or named as a grant's audience in."""
        index = await self.person(person)
        return set(index.agreements) | set(index.granted)

    # Facts for the policy

    async def _derive(self, key: tuple[str, Any], work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, remembered until the position moves (any event the follower takes).

        Nothing here changes but by an event the follower takes, and every event it takes moves
        the position first: so what was worked out at this position still holds. An answer whose
        work spanned a move is not kept.
        """
        at = self.position
        found = self.derived.get(key)
        if found is not None and found[0] == at:
            return found[1]
        value = await work()
        if self.position == at:
            self.derived.put(key, (at, value))
        return value

    async def grant_facts(self, agreement_id: UUID) -> tuple[GrantFact, ...]:
        async def work() -> tuple[GrantFact, ...]:
            return tuple(grant_fact(grant) for grant in await self.grants_for(agreement_id))

        return await self._derive(("grant_facts", agreement_id), work)

    async def agreement_fact(self, agreement_id: UUID) -> AgreementFact | None:
        loaded = await self._loaded(agreement_id)
        if loaded is None or not isinstance(loaded.aggregate, Agreement):
            return None
        if loaded.fact is None:
            loaded.fact = self._fact(agreement_id, loaded)
        return loaded.fact

    @staticmethod
    def _fact(agreement_id: UUID, loaded: Loaded) -> AgreementFact:
        agreement, timeline = loaded.aggregate, loaded.timeline
        assert isinstance(agreement, Agreement)
        assert timeline is not None
        ratified = [
            (entry.at, timeline.versions[entry.version]) for entry in timeline.entries if entry.kind == "ratified"
        ]
        in_force = (
            timeline.versions.get(agreement.in_force_version) if agreement.in_force_version is not None else None
        )
        return AgreementFact(
            agreement_id=agreement_id,
            title=agreement.title,
            parties=tuple(agreement.parties),
            clauses_in_force=tuple(in_force.values()) if in_force else (),
            history=in_force_history(ratified),
        )

    async def network_touching(self, people: Iterable[UUID]) -> Network:
        """The links (of any status) of `people`, and the disclosures of everyone in them."""
        links: dict[UUID, PartnerLink] = {}
        for person in set(people):
            for link in await self.links_of(person):
                links[link.id] = link
        return await self._network(links.values(), people)

    async def network_around(self, people: Iterable[UUID]) -> Network:
        """What a consented view of an agreement of `people` (its parties) can turn on.

        `policy.view_agreement` looks at links only through the parties' partners and
        their partners' links (a grant holds through party - partner - audience), and
        names through disclosures: the links of the parties and of their live partners.
        """
        people = frozenset(people)
        return await self._derive(("network_around", people), lambda: self._network_around(people))

    async def _network_around(self, people: frozenset[UUID]) -> Network:
        links = {link.id: link for person in people for link in await self.links_of(person)}
        partners = {p for link in list(links.values()) if link.is_live for p in link.people} - people
        for partner in partners:
            for link in await self.links_of(partner):
                links[link.id] = link
        return await self._network(links.values(), people)

    async def _network(self, links: Iterable[PartnerLink], people: Iterable[UUID]) -> Network:
        ordered = sorted(links, key=lambda link: str(link.id))
        everyone = set(people) | {p for link in ordered for p in link.people}
        disclosures = {}
        for person in everyone:
            if (found := await self.disclosures(person)) is not None:
                disclosures[person] = dict(found.choices)
        return Network(links=tuple(link_fact(link) for link in ordered), disclosures=disclosures)

    async def neighbourhood(self, people: Iterable[UUID]) -> set[UUID]:
        """People within two links (of any status) of `people`: whose metamours a link's change may change."""
        near = set(people)
        for _ in range(2):
            near |= {p for someone in list(near) for link in await self.links_of(someone) for p in link.people}
        return near


def link_fact(link: PartnerLink) -> LinkFact:
    return LinkFact(
        a=link.people[0], b=link.people[1], status=link.status, proposer=link.proposer, intervals=tuple(link.intervals)
    )
