"""The network: partner links between two people, and whom each person shows their name to.

A partner link is one event stream per pair of people, whatever happens
between them over the years: its id is derived from the two ids, so two
proposals racing between the same pair collide in the log instead of making
two links. Each confirmation opens a live interval; ending closes it. Intervals
are kept because "live since when" decides whether a sharing grant holds.

Metamours are never stored: the policy derives them from live links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import (
    LinkStatusForbids,
    NotInLink,
    NotTheAuthor,
    OwnProposal,
    ValidationFailed,
)

LinkStatus = Literal["proposed", "live", "declined", "withdrawn", "ended"]

#: Never change: every stored link and disclosure id is derived from it.
LINK_NAMESPACE = UUID("6f1c2b8e-52d4-4c1e-9a57-3f0d6b1e8a21")
DISCLOSURES_NAMESPACE = UUID("0c9e7d4a-8b3f-4e62-b1d5-7a2c9f4e6b10")


class Interval(msgspec.Struct, frozen=True):
    """One stretch of time a link was live; `ended_at` is None while it still is."""

    confirmed_at: datetime
    ended_at: datetime | None = None


class PartnerLink(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Proposed(Event, Aggregate.Created):
        proposer: UUID
        other: UUID

        def apply(self, link: PartnerLink) -> None:
            link.people = (min(self.proposer, self.other), max(self.proposer, self.other))
            link.intervals = []
            link.cycle = 0
            link._start_cycle(self.proposer)

    class Reproposed(Event):
        """A new cycle in the same stream, after a decline, a withdrawal or an end."""

        proposer: UUID

        def apply(self, link: PartnerLink) -> None:
            link._start_cycle(self.proposer)

    class Confirmed(Event):
        by: UUID

        def apply(self, link: PartnerLink) -> None:
            link.status = "live"
            link.intervals.append(Interval(confirmed_at=self.timestamp))

    class Declined(Event):
        by: UUID

        def apply(self, link: PartnerLink) -> None:
            link.status = "declined"

    class Withdrawn(Event):
        by: UUID

        def apply(self, link: PartnerLink) -> None:
            link.status = "withdrawn"

    class Ended(Event):
        by: UUID

        def apply(self, link: PartnerLink) -> None:
            link.status = "ended"
            link.intervals[-1] = msgspec.structs.replace(
                link.intervals[-1], ended_at=self.timestamp
            )

    def _start_cycle(self, proposer: UUID) -> None:
        self.proposer = proposer
        self.status: LinkStatus = "proposed"
        self.cycle += 1

    @staticmethod
    def id_for(a: UUID, b: UUID) -> UUID:
        first, second = sorted((a, b))
        return uuid5(LINK_NAMESPACE, f"{first}:{second}")

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    @property
    def live_since(self) -> datetime | None:
        return self.intervals[-1].confirmed_at if self.is_live else None

    def other_than(self, person: UUID) -> UUID:
        self.check_in_link(person)
        return self.people[1] if person == self.people[0] else self.people[0]

    # Commands

    @classmethod
    def propose(cls, proposer: UUID, other: UUID, now: datetime) -> PartnerLink:
        if proposer == other:
            raise ValidationFailed("other", "a partner link needs two different people")
        return cls._create(
            cls.Proposed,
            id=cls.id_for(proposer, other),
            timestamp=now,
            proposer=proposer,
            other=other,
        )

    def propose_again(self, proposer: UUID, now: datetime) -> None:
        self.check_in_link(proposer)
        self.check_status("proposed again", "declined", "withdrawn", "ended")
        self.trigger_event(self.Reproposed, timestamp=now, proposer=proposer)

    def confirm(self, by: UUID, now: datetime) -> None:
        self.check_is_asked(by)
        self.check_status("confirmed", "proposed")
        self.trigger_event(self.Confirmed, timestamp=now, by=by)

    def decline(self, by: UUID, now: datetime) -> None:
        self.check_is_asked(by)
        self.check_status("declined", "proposed")
        self.trigger_event(self.Declined, timestamp=now, by=by)

    def withdraw(self, by: UUID, now: datetime) -> None:
        """The proposer takes back a proposal the other has not answered yet."""
        self.check_in_link(by)
        self.check_status("withdrawn", "proposed")
        if by != self.proposer:
            # The person asked declines instead.
            raise NotTheAuthor(self.id, by)
        self.trigger_event(self.Withdrawn, timestamp=now, by=by)

    def end(self, by: UUID, now: datetime) -> None:
        self.check_in_link(by)
        self.check_status("ended", "live")
        self.trigger_event(self.Ended, timestamp=now, by=by)

    # Invariants

    def check_in_link(self, person: UUID) -> None:
        if person not in self.people:
            raise NotInLink(self.id, person)

    def check_is_asked(self, person: UUID) -> None:
        self.check_in_link(person)
        if person == self.proposer:
            raise OwnProposal(self.id, person, self.status)

    def check_status(self, action: str, *allowed: LinkStatus) -> None:
        if self.status not in allowed:
            raise LinkStatusForbids(self.id, self.status, action)


class Disclosures(Aggregate):
    """One person's choices of whom their display name is shown to.

    Without a choice for an audience the default applies (see
    `domain.policy.discloses`): shown to live partners, hidden from everyone else.
    """

    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, disclosures: Disclosures) -> None:
            disclosures.person = self.person
            disclosures.choices = {}

    class DisclosureSet(Event):
        audience: UUID
        disclosed: bool

        def apply(self, disclosures: Disclosures) -> None:
            disclosures.choices[self.audience] = self.disclosed

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(DISCLOSURES_NAMESPACE, str(person))

    @classmethod
    def create(cls, person: UUID, now: datetime) -> Disclosures:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    def set_disclosure(self, audience: UUID, disclosed: bool, now: datetime) -> None:
        """Repeating the current choice appends nothing: a toggle set twice is not news."""
        if audience == self.person:
            raise ValidationFailed("audience", "one always sees one's own name")
        if self.choices.get(audience) == disclosed:
            return
        self.trigger_event(
            self.DisclosureSet, timestamp=now, audience=audience, disclosed=disclosed
        )


ERASURES_NAMESPACE = UUID("5d0f3c2e-7a41-4b9e-9c6d-2e8f1a7b4c31")


class Erasure(Aggregate):
    """The record that a person deleted their account: their id, when, and which agreements they
    had just left (so those agreements' views are refreshed). Nothing that says who they were."""

    class Created(Aggregate.Created):
        person: UUID
        agreements: tuple[UUID, ...]

        def apply(self, erasure: Erasure) -> None:
            erasure.person = self.person
            erasure.agreements = self.agreements

    @classmethod
    def record(cls, person: UUID, agreements: tuple[UUID, ...], now: datetime) -> Erasure:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person, agreements=agreements)

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(ERASURES_NAMESPACE, str(person))
