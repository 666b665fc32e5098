"""A viewer's calendar entries as an iCalendar feed (RFC 5545), written by `icalendar`.

The feed renders exactly the `CalendarEntry` list the one view function gave
(domain/policy.py), the same list the calendar pages and GET /api/calendar
show, and adds nothing of its own:

- A `full` entry: its title (or its kind), place, and who is in it, by the
  names the viewer sees; its times in the zone it was planned in, with that
  zone's VTIMEZONE.
- A `busy` entry: "Busy" from start to end, in UTC, and nothing else: no
  title, place, people or status, and its UID is the entry's opaque id.
- A check-in series given as one entry with its `cadence`: one VEVENT with an
  RRULE from the cadence (weekly or every N weeks on its weekday; monthly or
  every N months on its day, a day the month lacks falling on the month's last
  day, as domain/cadence.py has it). Occurrence entries of the same check-in
  beside it are its exceptions: a skipped one an EXDATE, a moved one a
  RECURRENCE-ID with its new times. An occurrence whose wall-clock time a
  spring-forward change skips, or that a change falls in, is written out as an
  exception too, in UTC, at the instants the cadence gives (02:30 is 03:30
  that day): calendar apps disagree on how long such an event lasts.

UIDs are the entry ids, so a calendar app updates an event in place when it
changes instead of showing it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone

from icalendar import Calendar, Event, vRecur

from domain.cadence import Cadence, local_date, starts_at, zone
from domain.calendar import CHECK_IN, CHECK_IN_LENGTH, PLAN_KINDS
from domain.policy import CalendarEntry

PRODID = "-//Accord//Calendar feed//EN"
#: How often a calendar app is asked to read the feed again (most honour it, some poll on their own schedule).
REFRESH = timedelta(hours=1)
UID_DOMAIN = "accord"
BUSY = "Busy"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: An occurrence entry in these states is not on the calendar any more: its series skips it.
NOT_HAPPENING = frozenset({"skipped", "cancelled", "declined"})
#: What a calendar app is told of a plan's or an occurrence's state.
STATUS = {"proposed": "TENTATIVE", "accepted": "CONFIRMED", "cancelled": "CANCELLED", "declined": "CANCELLED"}


def render(
    entries: Sequence[CalendarEntry], now: datetime, name: str = "Accord", until: datetime | None = None
) -> bytes:
    """The feed of `entries`, stamped `now`; recurring ones looked at up to `until` (default: a year past the last
    entry) for occurrences to write out."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    series = {e.check_in_id: e for e in entries if e.cadence is not None and e.check_in_id is not None}
    if until is None:
        until = max((e.end for e in entries), default=now) + timedelta(days=366)
    for entry in sorted(entries, key=lambda e: (e.start, e.entry_id)):
        if entry.sight == "busy":
            calendar.add_component(_busy(entry, now))
        elif entry.cadence is not None:
            calendar.add_component(_series(entry, now, _skipped(entry, entries), _moved_first(entry, entries)))
            for event in _irregular(entry, now, until, _exceptions(entry, entries)):
                calendar.add_component(event)
        elif entry.check_in_id in series and entry.index is not None:
            if entry.status not in NOT_HAPPENING:
                calendar.add_component(_moved(entry, series[entry.check_in_id], now))
        else:
            calendar.add_component(_full(entry, now))
    if entries:
        first = min(e.start for e in entries) - timedelta(days=1)
        last = max(e.end for e in entries) + timedelta(days=400)
        calendar.add_missing_timezones(first_date=first.date(), last_date=last.date())
    return calendar.to_ical()


def uid(entry_id: str) -> str:
    return f"{entry_id}@{UID_DOMAIN}"


def _event(entry_id: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", uid(entry_id))
    event.add("dtstamp", now.astimezone(timezone.utc))
    return event


def _busy(entry: CalendarEntry, now: datetime) -> Event:
    event = _event(entry.entry_id, now)
    event.add("summary", BUSY)
    event.add("dtstart", entry.start.astimezone(timezone.utc))
    event.add("dtend", entry.end.astimezone(timezone.utc))
    return event


def _local(moment: datetime, time_zone: str | None) -> datetime:
    return _at(moment, zone(time_zone) if time_zone else timezone.utc)


def _at(moment: datetime, tz) -> datetime:
    """`moment` on the wall clock of `tz`, or in UTC when that wall time names two instants (an autumn
    change's repeated hour): a TZID time is read as the first of the two."""
    local = moment.astimezone(tz)
    return local if local.replace(fold=0).astimezone(timezone.utc) == moment else moment.astimezone(timezone.utc)


def _described(event: Event, entry: CalendarEntry) -> Event:
    """What a full entry says besides its times: the same words the calendar pages show."""
    event.add("summary", entry.title or label(entry.kind))
    if entry.place:
        event.add("location", entry.place)
    lines = [label(entry.kind)]
    if entry.people:
        lines.append("With " + ", ".join(person.name for person in entry.people))
    if entry.status:
        lines.append(entry.status.replace("_", " ").capitalize())
    event.add("description", "\n".join(lines))
    if entry.status in STATUS:
        event.add("status", STATUS[entry.status])
    return event


def label(kind: str | None) -> str:
    if kind == CHECK_IN:
        return "Check-in"
    return PLAN_KINDS.get(kind or "", PLAN_KINDS["other"])


def _full(entry: CalendarEntry, now: datetime) -> Event:
    event = _described(_event(entry.entry_id, now), entry)
    _add_times(event, entry.start, entry.end, entry.time_zone)
    return event


def _add_times(event: Event, start: datetime, end: datetime, time_zone: str | None) -> None:
    """DTSTART and DTEND in `time_zone`, or both in UTC when either wall time is ambiguous there."""
    local_start, local_end = _local(start, time_zone), _local(end, time_zone)
    if local_start.tzinfo is timezone.utc or local_end.tzinfo is timezone.utc:
        local_start, local_end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    event.add("dtstart", local_start)
    event.add("dtend", local_end)


def _series(entry: CalendarEntry, now: datetime, skipped: Sequence[int], first: int) -> Event:
    """The series' VEVENT, from occurrence `first` on."""
    cadence = entry.cadence
    assert cadence is not None
    event = _described(_event(entry.entry_id, now), entry)
    event.add("dtstart", wall_start(cadence, first))
    length = entry.end - entry.start
    event.add("duration", length if length > timedelta(0) else CHECK_IN_LENGTH)
    event.add("rrule", rrule(cadence, entry.until))
    for index in skipped:
        event.add("exdate", wall_start(cadence, index))
    return event


def _moved(entry: CalendarEntry, series: CalendarEntry, now: datetime) -> Event:
    """An occurrence of `series` at other times than its cadence's: same UID, RECURRENCE-ID its cadence time."""
    assert series.cadence is not None and entry.index is not None
    event = _described(_event(series.entry_id, now), entry)
    event.add("recurrence-id", wall_start(series.cadence, entry.index))
    _add_times(event, entry.start, entry.end, series.cadence.time_zone)
    return event


def _irregular(series: CalendarEntry, now: datetime, until: datetime, exceptions: set[int]) -> list[Event]:
    """Occurrences of `series` the rule alone would not put right, at their true instants: one whose wall
    time a spring change skips, and one that a change falls in (calendar apps add its length on the wall clock)."""
    cadence = series.cadence
    assert cadence is not None
    found = []
    index = series.index or 0
    length = series.end - series.start if series.end > series.start else CHECK_IN_LENGTH
    stop = until if series.until is None else min(until, series.until)
    while (start := starts_at(cadence, index)) < stop:
        wall = wall_start(cadence, index)
        end = start + length
        local = start.astimezone(wall.tzinfo)
        skipped = local.replace(tzinfo=None) != wall.replace(tzinfo=None)
        crossed = local.utcoffset() != end.astimezone(wall.tzinfo).utcoffset()
        if index not in exceptions and (skipped or crossed):
            event = _described(_event(series.entry_id, now), series)
            event.add("recurrence-id", wall)
            event.add("dtstart", start.astimezone(timezone.utc))
            event.add("dtend", end.astimezone(timezone.utc))
            found.append(event)
        index += 1
    return found


def _exceptions(series: CalendarEntry, entries: Sequence[CalendarEntry]) -> set[int]:
    return {e.index for e in entries if e.cadence is None and e.check_in_id == series.check_in_id and e.index is not None}


def _moved_first(series: CalendarEntry, entries: Sequence[CalendarEntry]) -> int:
    """Where the rule starts: the series' first occurrence, or an earlier one moved later than it (an
    exception must be an occurrence the rule makes)."""
    moved = [
        e.index
        for e in entries
        if e.cadence is None and e.check_in_id == series.check_in_id and e.index is not None and e.status not in NOT_HAPPENING
    ]
    return min([series.index or 0, *moved])


def _skipped(series: CalendarEntry, entries: Sequence[CalendarEntry]) -> list[int]:
    return sorted(
        e.index
        for e in entries
        if e.cadence is None
        and e.check_in_id == series.check_in_id
        and e.index is not None
        and e.status in NOT_HAPPENING
    )


def wall_start(cadence: Cadence, index: int) -> datetime:
    """Occurrence `index` as the cadence puts it on the wall clock, in its zone.

    A wall time a spring-forward change skips is written as the cadence names it (02:30): RFC 5545
    reads it with the offset before the gap, which is the instant domain/cadence.py gives (03:30).
    """
    hour, minute = (int(part) for part in cadence.at.split(":"))
    return datetime.combine(local_date(cadence, index), time(hour, minute), tzinfo=zone(cadence.time_zone))


def rrule(cadence: Cadence, until: datetime | None = None) -> vRecur:
    """The cadence as a recurrence rule, with no occurrence starting at or after `until` (UTC, as RFC 5545
    asks beside a DTSTART with a zone). A monthly day past the 28th is the month's last day when it is
    shorter: the 31st is BYMONTHDAY=-1; the 29th and 30th the last of 28..day the month has (BYSETPOS=-1)."""
    if cadence.kind == "weekly":
        assert cadence.weekday is not None
        rule = vRecur(freq="WEEKLY", interval=cadence.every, byday=WEEKDAYS[cadence.weekday])
    elif cadence.day is not None and cadence.day <= 28:
        rule = vRecur(freq="MONTHLY", interval=cadence.every, bymonthday=cadence.day)
    elif cadence.day == 31:
        rule = vRecur(freq="MONTHLY", interval=cadence.every, bymonthday=-1)
    else:
        assert cadence.day is not None
        rule = vRecur(freq="MONTHLY", interval=cadence.every, bymonthday=list(range(28, cadence.day + 1)), bysetpos=-1)
    if until is not None:
        # UNTIL is inclusive: the last second before the first occurrence that will not be.
        rule["UNTIL"] = (until - timedelta(seconds=1)).astimezone(timezone.utc)
    return rule

