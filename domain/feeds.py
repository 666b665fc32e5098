"""A person's calendar feed: a secret address a calendar app reads their calendar from, without signing in.

Whoever holds the address sees what its owner may see of everyone's time, so
it is treated like a password: the token is shown to its owner once, when it
is issued, and only its digest rests (a SHA-256 of 256 random bits cannot be
turned back, nor guessed). One feed per person at a time: issuing again
replaces the address (the old one stops working at once), and revoking it
leaves none. The digest leads to its owner through the `calendar_feeds`
projection (projections/feeds.py); an unknown, revoked or replaced token finds
nobody, and is answered exactly like one never issued.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import NotFound

#: Never change: every stored feed id is derived from it.
FEEDS_NAMESPACE = UUID("5d0c9a6e-2f41-4b7e-8c3a-91e6b4d27f08")


def digest_of(token: str) -> str:
    """What rests of a token, and what a request's token is looked up by."""
    return hashlib.sha256(b"calendar-feed:" + token.encode()).hexdigest()


class CalendarFeed(Aggregate):
    class Event(Aggregate.Event):
        """Not intimate: a digest and its owner's id say nothing of anyone's time."""

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, feed: CalendarFeed) -> None:
            feed.person = self.person
            #: The digest of the token that opens the feed now, and when it was issued; None: no feed.
            feed.digest: str | None = None
            feed.issued_at: datetime | None = None

    class FeedIssued(Event):
        #: Its owner, so the projection from digest to person needs nothing else.
        person: UUID
        digest: str

        def apply(self, feed: CalendarFeed) -> None:
            feed.digest = self.digest
            feed.issued_at = self.timestamp

    class FeedRevoked(Event):
        #: The digest that stops leading anywhere.
        digest: str

        def apply(self, feed: CalendarFeed) -> None:
            feed.digest = None
            feed.issued_at = None

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(FEEDS_NAMESPACE, f"feed:{person}")

    @property
    def active(self) -> bool:
        return self.digest is not None

    # Commands

    @classmethod
    def create(cls, person: UUID, now: datetime) -> CalendarFeed:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    def issue(self, token: str, now: datetime) -> None:
        """A new address from `token`; the one before, if any, stops working in the same step."""
        if self.digest is not None:
            self.trigger_event(self.FeedRevoked, timestamp=now, digest=self.digest)
        self.trigger_event(self.FeedIssued, timestamp=now, person=self.person, digest=digest_of(token))

    def revoke(self, now: datetime) -> None:
        self.check_active()
        assert self.digest is not None
        self.trigger_event(self.FeedRevoked, timestamp=now, digest=self.digest)

    # Invariants

    def check_active(self) -> None:
        if self.digest is None:
            raise NotFound("calendar_feed", self.id)
