"""When a check-in's occurrences fall: a cadence in a time zone, as pure arithmetic on dates.

A cadence is kept in local terms (a weekday or a day of the month, a wall-clock
time, an IANA time zone), never as a fixed UTC offset, so "Tuesdays at 19:00 in
Europe/Berlin" stays 19:00 on the wall across daylight-saving changes. Each
occurrence is numbered from 0; its start is worked out from its number alone,
so nothing accumulates drift.

Two rules about local times that a calendar can make awkward:

- A day of the month the month does not have (31 in April, 30 in February)
  falls on the month's last day; the next month is back on the day asked for.
- A wall-clock time that does not exist that day (skipped by a spring-forward
  change) is moved on by the length of the gap (02:30 becomes 03:30); one that
  happens twice (an autumn change) is the first of the two.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from domain.errors import ValidationFailed

CadenceKind = Literal["weekly", "monthly"]
KINDS = ("weekly", "monthly")
#: Every N weeks (or months): up to twelve.
MAX_EVERY = 12
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Cadence(msgspec.Struct, frozen=True, kw_only=True):
    """`weekly`: on `weekday` (0 Monday .. 6 Sunday) every `every` weeks; `monthly`: on `day` (1..31)
    every `every` months. At `at` ("HH:MM", local) in `time_zone`, from `starts_on` on."""

    kind: CadenceKind
    at: str
    time_zone: str
    starts_on: date
    every: int = 1
    weekday: int | None = None
    day: int | None = None


def check_cadence(cadence: Cadence) -> None:
    """Every field checked, each refusal naming its field."""
    if cadence.kind not in KINDS:
        raise ValidationFailed("kind", f"must be one of {', '.join(KINDS)}")
    if not _TIME.match(cadence.at):
        raise ValidationFailed("at", "must be a time of day as HH:MM (24-hour)")
    zone(cadence.time_zone)
    if not 1 <= cadence.every <= MAX_EVERY:
        raise ValidationFailed("every", f"must be from 1 to {MAX_EVERY}")
    if cadence.kind == "weekly":
        if cadence.weekday is None or not 0 <= cadence.weekday <= 6:
            raise ValidationFailed("weekday", "a weekly check-in needs a weekday, 0 (Monday) to 6 (Sunday)")
        if cadence.day is not None:
            raise ValidationFailed("day", "only a monthly check-in takes a day of the month")
    else:
        if cadence.day is None or not 1 <= cadence.day <= 31:
            raise ValidationFailed("day", "a monthly check-in needs a day of the month, 1 to 31")
        if cadence.weekday is not None:
            raise ValidationFailed("weekday", "only a weekly check-in takes a weekday")


def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; anything else (a bare offset, a path, a typo) is refused."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise ValidationFailed("time_zone", "must be an IANA time zone name, like Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationFailed("time_zone", "must be an IANA time zone name, like Europe/Berlin") from None


def local_date(cadence: Cadence, index: int) -> date:
    """The local date of occurrence `index` (0 is the first on or after `starts_on`)."""
    start = cadence.starts_on
    if cadence.kind == "weekly":
        assert cadence.weekday is not None
        first = start + timedelta(days=(cadence.weekday - start.weekday()) % 7)
        return first + timedelta(weeks=cadence.every * index)
    assert cadence.day is not None
    first_month = start.year * 12 + start.month - 1
    if _on_day(start.year, start.month, cadence.day) < start:
        first_month += 1
    month = first_month + cadence.every * index
    return _on_day(month // 12, month % 12 + 1, cadence.day)


def _on_day(year: int, month: int, day: int) -> date:
    """That day of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def starts_at(cadence: Cadence, index: int) -> datetime:
    """When occurrence `index` starts, in UTC."""
    hour, minute = (int(part) for part in cadence.at.split(":"))
    tz = zone(cadence.time_zone)
    local = datetime.combine(local_date(cadence, index), time(hour, minute), tzinfo=tz)
    # fold=0: a repeated time is the first of the two; a skipped one converts past the gap.
    return local.astimezone(timezone.utc)


def first_after(cadence: Cadence, moment: datetime, after_index: int = -1) -> int:
    """The first occurrence numbered above `after_index` that starts after `moment`."""
    index = after_index + 1
    while starts_at(cadence, index) <= moment:
        index += 1
    return index
