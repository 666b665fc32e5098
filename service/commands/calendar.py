"""Reading one's calendar: a window of time, and what the events layer of consent shows of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from domain.errors import ValidationFailed
from service.visibility import CalendarView, Visibility

#: The longest window one read covers: a feed's 60 days back and 400 ahead, with room to spare.
MAX_WINDOW = timedelta(days=470)
#: Without a window: a week from the start of today (UTC).
DEFAULT_WINDOW = timedelta(days=7)


def check_window(start: datetime, end: datetime) -> None:
    """Both ends name their offset, the window runs forward, and it is at most `MAX_WINDOW` long."""
    for name, moment in (("from", start), ("to", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValidationFailed(name, "must name its offset from UTC (like 2026-10-25T00:00:00+02:00 or …Z)")
    if end <= start:
        raise ValidationFailed("to", "must be after from")
    if end - start > MAX_WINDOW:
        raise ValidationFailed("to", f"must be at most {MAX_WINDOW.days} days after from")


class CalendarReads:
    def __init__(self, visibility: Visibility, clock: Callable[[], datetime]) -> None:
        self.visibility = visibility
        self.clock = clock

    async def window(self, caller: UUID, start: datetime | None, end: datetime | None) -> CalendarView:
        """`caller`'s calendar from `start` to `end` (by default a week from today)."""
        start = start or datetime.combine(self.clock().date(), time(0), tzinfo=UTC)
        end = end or start + DEFAULT_WINDOW
        check_window(start, end)
        return await self.visibility.calendar(caller, start.astimezone(UTC), end.astimezone(UTC))
