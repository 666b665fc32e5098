"""This process's read models: replicas folded from the log, and the policy's facts.

The follower folds every event here in log order. Each replica is the
aggregate itself, mutated by its own events (a pure fold the domain already
defines), and each agreement also keeps its timeline. `facts_*` turn them
into the frozen facts `domain.policy` decides on.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.agreement import Agreement
from domain.grants import SharingGrant
from domain.network import Disclosures, PartnerLink
from domain.policy import AgreementFact, GrantFact, LinkFact, Network, grant_fact, in_force_history
from projections import memberships
from projections.timeline import Timeline
from projections.timeline import evolve as evolve_timeline


class Touched:
    """What one event may have changed the visibility of: people, and agreements."""

    __slots__ = ("people", "agreements", "network")

    def __init__(self) -> None:
        self.people: set[UUID] = set()
        self.agreements: set[UUID] = set()
        self.network: set[UUID] = set()
        """People whose network view (and everything it implies) may have changed."""


class ReadModels:
    def __init__(self) -> None:
        self.agreements: dict[UUID, Agreement] = {}
        self.timelines: dict[UUID, Timeline] = {}
        self.links: dict[UUID, PartnerLink] = {}
        self.disclosures: dict[UUID, Disclosures] = {}
        self.grants: dict[UUID, SharingGrant] = {}
        self.grants_of: dict[UUID, set[UUID]] = {}
        #: audience -> agreements with a grant naming them (an audience never changes).
        self.granted_to: dict[UUID, set[UUID]] = {}
        self.memberships = memberships.Memberships()
        #: person -> the links (any status) they are one of the two people of.
        self.links_of: dict[UUID, set[UUID]] = {}
        self._network: Network | None = None
        self._link_facts: dict[UUID, LinkFact] = {}
        self._link_order: dict[UUID, int] = {}

    # Folding

    def apply(self, event: Aggregate.Event, position: int) -> Touched:
        touched = Touched()
        # Every event of the log comes through here at a rebuild. isinstance() on
        # the library's event classes costs about 0.1 us each (their metaclass), so
        # what an event's class is is worked out once per class (see _kind).
        kind = _KINDS.get(type(event)) or _kind(type(event))
        match kind:
            case "agreement":
                agreement_id = event.originator_id
                agreement = self.agreements[agreement_id] = event.mutate(self.agreements.get(agreement_id))
                timeline = self.timelines.get(agreement_id)
                self.timelines[agreement_id] = evolve_timeline(
                    Timeline() if timeline is None else timeline, event, position
                )
                if _MEMBERSHIPS.get(type(event)):  # what memberships.evolve folds
                    memberships.evolve(self.memberships, event)
                touched.agreements.add(agreement_id)
                touched.people.update(agreement.parties, agreement.invitees)
                if (by := getattr(event, "by", None)) is not None:
                    touched.people.add(by)
                if agreement_id in self.grants_of:
                    audiences = {g.audience for g in self.grants_for(agreement_id)}
                    touched.people.update(audiences)
                    # Who is in it decides which links `relationship` shows them.
                    touched.network.update(audiences)
            case "grant":
                grant = self._mutate(self.grants, event)
                self.grants_of.setdefault(grant.agreement_id, set()).add(grant.id)
                self.granted_to.setdefault(grant.audience, set()).add(grant.agreement_id)
                touched.agreements.add(grant.agreement_id)
                touched.people.add(grant.audience)
                touched.network.add(grant.audience)
                if (agreement := self.agreements.get(grant.agreement_id)) is not None:
                    touched.people.update(agreement.parties)
            case "link":
                link = self._mutate(self.links, event)
                for person in link.people:
                    self.links_of.setdefault(person, set()).add(link.id)
                self._network = None
                touched.network.update(self.neighbourhood(link.people))
            case "disclosures":
                disclosures = self._mutate(self.disclosures, event)
                self._network = None
                touched.network.add(disclosures.person)
                if (audience := getattr(event, "audience", None)) is not None:
                    touched.network.add(audience)
        return touched

    @staticmethod
    def _mutate(replicas: dict, event: Aggregate.Event):  # noqa: ANN205 - the replica's own type
        replica = event.mutate(replicas.get(event.originator_id))
        replicas[event.originator_id] = replica
        return replica

    def neighbourhood(self, people: Iterable[UUID]) -> set[UUID]:
        """People within two links (of any status) of `people`: whose metamours may have changed."""
        near = set(people)
        for _ in range(2):
            near |= {
                person
                for someone in near
                for link_id in self.links_of.get(someone, ())
                for person in self.links[link_id].people
            }
        return near

    # Facts for the policy

    @property
    def network(self) -> Network:
        if self._network is None:
            self._link_facts = {
                link_id: LinkFact(
                    a=link.people[0],
                    b=link.people[1],
                    status=link.status,
                    proposer=link.proposer,
                    intervals=tuple(link.intervals),
                )
                for link_id, link in self.links.items()
            }
            self._link_order = {link_id: i for i, link_id in enumerate(self._link_facts)}
            self._network = Network(
                links=tuple(self._link_facts.values()),
                disclosures={d.person: dict(d.choices) for d in self.disclosures.values()},
            )
        return self._network

    def network_around(self, parties: Iterable[UUID]) -> Network:
        """What of `network` a consented view of an agreement of `parties` can turn on.

        `policy.view_agreement` looks at links only through the live links of the
        parties and of their live partners (the paths of `grant_standing`, of which
        it uses only the holding one) and the links between parties
        (`relationship`); names it gives with `identity` or as pseudonyms, never
        through `discloses`. So the links touching the parties or their live
        partners, in `network`'s order, decide exactly as the whole network does,
        without scanning every link of every person for every view. (Should the
        policy come to look further, widen this with it.)
        """
        network = self.network
        facts = self._link_facts
        near = {link_id for party in parties for link_id in self.links_of.get(party, ())}
        partners = {person for link_id in near if (f := facts[link_id]).live for person in (f.a, f.b)}
        near.update(link_id for person in partners for link_id in self.links_of.get(person, ()))
        return Network(
            links=tuple(facts[link_id] for link_id in sorted(near, key=self._link_order.__getitem__)),
            disclosures=network.disclosures,
        )

    def network_touching(self, people: Iterable[UUID]) -> Network:
        """The links (of any status) of `people`, in `network`'s order.

        For a grant, its agreement's parties and its audience: every link
        `policy.grant_standing` may look at, why-not included (a path at the time
        of consent may run through someone who is nobody's partner any more).
        """
        network = self.network
        near = {link_id for person in people for link_id in self.links_of.get(person, ())}
        return Network(
            links=tuple(self._link_facts[i] for i in sorted(near, key=self._link_order.__getitem__)),
            disclosures=network.disclosures,
        )

    def grants_for(self, agreement_id: UUID) -> list[SharingGrant]:
        return [self.grants[g] for g in self.grants_of.get(agreement_id, ())]

    def grant_facts(self, agreement_id: UUID) -> list[GrantFact]:
        return [grant_fact(grant) for grant in self.grants_for(agreement_id)]

    def agreement_fact(self, agreement_id: UUID) -> AgreementFact | None:
        agreement = self.agreements.get(agreement_id)
        if agreement is None:
            return None
        timeline = self.timelines[agreement_id]
        ratified = [
            (entry.at, timeline.versions[entry.version])
            for entry in timeline.entries
            if entry.kind == "ratified"
        ]
        in_force = timeline.versions.get(agreement.in_force_version) if agreement.in_force_version is not None else None
        return AgreementFact(
            agreement_id=agreement_id,
            title=agreement.title,
            parties=tuple(agreement.parties),
            clauses_in_force=tuple(in_force.values()) if in_force else (),
            history=in_force_history(ratified),
        )

    def audiences_of(self, person: UUID) -> set[UUID]:
        """Agreements with a grant naming `person` as its audience."""
        return set(self.granted_to.get(person, ()))

    def people(self) -> set[UUID]:
        known = set(self.memberships.involved)
        known.update(self.granted_to)
        for link in self.links.values():
            known.update(link.people)
        return known


#: What each event class folds into, in the order `apply` used to match them by isinstance.
_FAMILIES: tuple[tuple[str, type], ...] = (
    ("agreement", Agreement.Event),
    ("grant", SharingGrant.Event),
    ("link", PartnerLink.Event),
    ("disclosures", Disclosures.Event),
)
_KINDS: dict[type, str] = {}
#: Agreement event class -> whether `memberships.evolve` folds it (isinstance of its HANDLES).
_MEMBERSHIPS: dict[type, bool] = {}


def _kind(cls: type) -> str:
    """`apply`'s branch for an event class (computed once per class): what isinstance says."""
    kind = next((name for name, family in _FAMILIES if issubclass(cls, family)), "other")
    _KINDS[cls] = kind
    _MEMBERSHIPS[cls] = issubclass(cls, memberships.HANDLES)
    return kind
