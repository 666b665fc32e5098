"""Use cases of the calendar feed: issue (or replace) my feed address, revoke it, and read a feed by its token.

The token is made here, shown to its owner in the answer to the command that
issued it, and never kept: the aggregate records its digest only
(domain/feeds.py). So the body a repeated command answers with (stored for
its Idempotency-Key, service/commands/runner.py) holds no token either; the
first answer is the only one that shows it.

A feed holds what its owner's calendar holds (the one view function's
entries, `Visibility.calendar`) from `PAST` before today (midnight UTC) to
`AHEAD` after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time, timedelta, timezone
from uuid import UUID

from domain.feeds import CalendarFeed, digest_of
from domain.policy import CalendarEntry
from projections.feeds import FEEDS
from service.commands.runner import CommandKey, CommandRunner, Outcome
from service.store import EventStore
from service.visibility import FeedView, feed_view
from service.read import ics

#: A feed's window: from this long before now ...
PAST = timedelta(days=60)
#: ... to this long after it.
AHEAD = timedelta(days=400)

#: A token is 256 random bits, URL-safe base64 (43 characters).
TOKEN_BYTES = 32
#: Anything longer is no token of ours: not even hashed.
MAX_TOKEN = 64


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class Feeds:
    def __init__(
        self,
        commands: CommandRunner,
        reads: EventStore,
        clock: Callable[[], datetime],
        settle: Callable[[Outcome], Awaitable[Outcome]],
        entries: Callable[[UUID, datetime, datetime], Awaitable[Sequence[CalendarEntry]]],
        make_token: Callable[[], str] = new_token,
    ) -> None:
        self.commands = commands
        self.reads = reads
        #: The viewer's calendar from start to end, check-in series as one entry each.
        self.entries = entries
        self.clock = clock
        self.settle = settle
        self.make_token = make_token

    async def issue(self, caller: UUID, key: CommandKey | None) -> tuple[Outcome, str | None]:
        """A new feed address for `caller`, replacing any earlier one; the token, or None for a repeat."""
        token = self.make_token()

        def decide(feed: CalendarFeed | None) -> CalendarFeed:
            if feed is None:
                feed = CalendarFeed.create(caller, self.clock())
            feed.issue(token, self.clock())
            return feed

        async def render(feed: CalendarFeed) -> FeedView:
            return feed_view(feed)

        outcome = await self.commands.run(
            CalendarFeed, CalendarFeed.id_for(caller), decide, render, key=key, may_create=True
        )
        return await self.settle(outcome), None if outcome.repeated else token

    async def revoke(self, caller: UUID, key: CommandKey | None) -> Outcome:
        """No feed address any more: the last one answers like one never issued."""

        def decide(feed: CalendarFeed | None) -> CalendarFeed:
            if feed is None:
                feed = CalendarFeed.create(caller, self.clock())
            feed.revoke(self.clock())
            return feed

        async def render(feed: CalendarFeed) -> FeedView:
            return feed_view(feed)

        outcome = await self.commands.run(
            CalendarFeed, CalendarFeed.id_for(caller), decide, render, key=key, may_create=True
        )
        return await self.settle(outcome)

    async def owner(self, token: str) -> UUID | None:
        """Whose feed `token` opens now, or None (unknown, revoked, replaced: alike)."""
        if not 0 < len(token) <= MAX_TOKEN:
            return None
        digest = digest_of(token)
        found = await self.reads.documents(FEEDS.name, [digest])
        return FEEDS.decode(found[digest]).person if digest in found else None

    async def calendar(self, token: str) -> bytes | None:
        """The iCalendar feed `token` opens, or None when it opens none."""
        person = await self.owner(token)
        if person is None:
            return None
        now = self.clock()
        today = datetime.combine(now.date(), time(0), tzinfo=timezone.utc)
        start, end = today - PAST, today + AHEAD
        return ics.render(await self.entries(person, start, end), now, until=end)
