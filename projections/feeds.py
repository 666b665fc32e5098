"""Calendar feeds: which person a feed token's digest leads to.

One document per digest that works now: issuing a feed adds one, revoking or
replacing it deletes it, so a revoked token finds nothing here, exactly like a
token never issued. Nothing else of the feed is kept: its owner's page reads
the feed's own stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

from domain.feeds import CalendarFeed
from projections.projection import Projection


class FeedOwner(msgspec.Struct, frozen=True):
    person: UUID


def _keys(event: object) -> Iterable[str]:
    if isinstance(event, CalendarFeed.FeedIssued | CalendarFeed.FeedRevoked):
        return (event.digest,)
    return ()


def _evolve(document: FeedOwner | None, event: object) -> FeedOwner | None:
    if isinstance(event, CalendarFeed.FeedIssued):
        return FeedOwner(person=event.person)
    return None


FEEDS = Projection(
    name="calendar_feeds",
    document=FeedOwner,
    handles=(CalendarFeed.FeedIssued, CalendarFeed.FeedRevoked),
    keys=_keys,
    evolve=_evolve,
)
