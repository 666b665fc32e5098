"""The iCalendar feed of hand-made calendar entries, read back as a calendar app would.

Each feed is parsed with `icalendar` and its recurrences expanded with
`recurring-ical-events`; the expansion must give exactly the instants the
domain gives (domain/cadence.py `starts_at`), across daylight-saving changes
(Europe/Berlin: last Sunday of March and of October) and short months.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import icalendar
import msgspec
import pytest
import recurring_ical_events

from domain.cadence import Cadence, starts_at
from domain.calendar import CHECK_IN_LENGTH
from domain.policy import CalendarEntry, PersonRef
from service.read.ics import render

NOW = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
BERLIN = "Europe/Berlin"
MINA = PersonRef(key=str(uuid4()), name="Mina", person_id=uuid4())
THEO = PersonRef(key=str(uuid4()), name="Theo", person_id=uuid4())


def parse(feed: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(feed)


def expand(feed: bytes, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime, str]]:
    """Every instance from start to end: (UID, start, end in UTC, SUMMARY)."""
    found = recurring_ical_events.of(parse(feed)).between(start, end)
    return sorted(
        (str(e["UID"]), e.start.astimezone(UTC), e.end.astimezone(UTC), str(e["SUMMARY"])) for e in found
    )


def plan(**fields) -> CalendarEntry:
    base = dict(
        entry_id=f"plan-{uuid4()}",
        sight="full",
        start=datetime(2027, 10, 30, 17, 0, tzinfo=UTC),
        end=datetime(2027, 10, 31, 9, 0, tzinfo=UTC),
        people=(MINA, THEO),
        kind="overnight",
        plan_id=uuid4(),
        title="Cabin weekend",
        place="The lake house",
        status="accepted",
        time_zone=BERLIN,
    )
    return CalendarEntry(**{**base, **fields})


def busy(start: datetime, hours: int = 2) -> CalendarEntry:
    return CalendarEntry(
        entry_id=f"busy-{uuid4().hex}", sight="busy", start=start, end=start + timedelta(hours=hours), people=(THEO,)
    )


def series(cadence: Cadence, index: int = 0, check_in_id=None) -> CalendarEntry:
    start = starts_at(cadence, index)
    return CalendarEntry(
        entry_id=f"checkin-{uuid4()}",
        sight="full",
        start=start,
        end=start + CHECK_IN_LENGTH,
        people=(MINA, THEO),
        kind="check_in",
        check_in_id=check_in_id or uuid4(),
        index=index,
        status="open",
        time_zone=cadence.time_zone,
        cadence=cadence,
    )


def occurrence(of: CalendarEntry, index: int, *, moved_by: timedelta = timedelta(0), status: str = "open") -> CalendarEntry:
    assert of.cadence is not None
    start = starts_at(of.cadence, index) + moved_by
    return CalendarEntry(
        entry_id=f"{of.entry_id}-{index}", sight="full", start=start, end=start + CHECK_IN_LENGTH,
        people=of.people, kind="check_in", check_in_id=of.check_in_id, index=index, status=status,
        time_zone=of.time_zone,
    )  # fmt: skip


def occurrences(cadence: Cadence, indexes) -> list[tuple[datetime, datetime]]:
    return [(starts_at(cadence, i), starts_at(cadence, i) + CHECK_IN_LENGTH) for i in indexes]


def instants(expanded) -> list[tuple[datetime, datetime]]:
    return [(start, end) for _, start, end, _ in expanded]


# --------------------------------------------------------------------------
# What each entry says
# --------------------------------------------------------------------------


def test_a_full_entry_has_its_title_place_people_and_zone() -> None:
    entry = plan()
    calendar = parse(render([entry], NOW))

    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Cabin weekend"
    assert str(event["LOCATION"]) == "The lake house"
    assert "Mina, Theo" in str(event["DESCRIPTION"]) and "Overnight" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == BERLIN
    assert event.start == entry.start and event.end == entry.end
    assert [tz.tz_name for tz in calendar.timezones] == [BERLIN]
    assert calendar.get_missing_tzids() == set()


def test_an_entry_without_a_title_is_called_by_its_kind() -> None:
    (event,) = parse(render([plan(title=None, place=None, kind="call", status="proposed")], NOW)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Call" and "LOCATION" not in event and str(event["STATUS"]) == "TENTATIVE"


def test_a_busy_entry_says_busy_and_nothing_else() -> None:
    entry = busy(datetime(2027, 3, 1, 10, tzinfo=UTC))
    (event,) = parse(render([entry], NOW)).walk("VEVENT")

    assert set(event) == {"UID", "DTSTAMP", "SUMMARY", "DTSTART", "DTEND"}
    assert str(event["SUMMARY"]) == "Busy" and str(event["UID"]) == f"{entry.entry_id}@accord"
    assert event.start == entry.start and event.end == entry.end and event.start.tzinfo is not None
    assert "Theo" not in render([entry], NOW).decode()


def test_uids_are_the_entry_ids_whenever_it_is_rendered() -> None:
    entries = [plan(), busy(datetime(2027, 3, 1, 10, tzinfo=UTC))]
    first = {str(e["UID"]) for e in parse(render(entries, NOW)).walk("VEVENT")}
    later = {str(e["UID"]) for e in parse(render(entries, NOW + timedelta(days=1))).walk("VEVENT")}
    assert first == later == {f"{e.entry_id}@accord" for e in entries}


def test_an_empty_calendar_is_a_valid_feed() -> None:
    calendar = parse(render([], NOW))
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"


def test_a_plan_across_the_autumn_change_keeps_its_instants() -> None:
    """The night of 30 to 31 October 2027: Berlin's clocks go back at 03:00."""
    entry = plan()
    expanded = expand(render([entry], NOW), datetime(2027, 10, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC))
    assert instants(expanded) == [(entry.start, entry.end)]


# --------------------------------------------------------------------------
# Check-in series as one recurring event
# --------------------------------------------------------------------------

WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 12, 31, tzinfo=UTC))


def expanded_series(entries: list[CalendarEntry]) -> list[tuple[datetime, datetime]]:
    return instants(expand(render(entries, NOW, until=WINDOW[1]), *WINDOW))


def in_window(cadence: Cadence, count: int = 200) -> list[tuple[datetime, datetime]]:
    return [o for o in occurrences(cadence, range(count)) if WINDOW[0] <= o[0] < WINDOW[1]]


@pytest.mark.parametrize("every", [1, 2, 3])
@pytest.mark.parametrize("at", ["19:00", "02:30", "00:15"])
def test_a_weekly_series_expands_to_the_cadences_occurrences_across_both_changes(every: int, at: str) -> None:
    """Sundays at 02:30 meet the spring change (a time that does not exist that day) and the autumn
    one (a time that happens twice)."""
    cadence = Cadence(kind="weekly", at=at, time_zone=BERLIN, starts_on=date(2027, 1, 1), weekday=6, every=every)
    entry = series(cadence)
    feed = render([entry], NOW, until=WINDOW[1])

    event, *in_gaps = parse(feed).walk("VEVENT")
    assert event["RRULE"]["FREQ"] == ["WEEKLY"] and event["RRULE"]["BYDAY"] == ["SU"]
    # 02:30 on the last Sunday of March does not exist, and on the last Sunday of October the hour from
    # 02:30 holds the change: those are written out at their instants.
    assert bool(in_gaps) == (at == "02:30")
    assert all(e.start.month in (3, 10) and e.start.day > 31 - 7 for e in in_gaps)
    assert expanded_series([entry]) == in_window(cadence)


@pytest.mark.parametrize("day", [1, 15, 28, 29, 30, 31])
@pytest.mark.parametrize("every", [1, 2])
def test_a_monthly_series_falls_on_the_months_last_day_when_it_is_shorter(day: int, every: int) -> None:
    """Through February 2027 (28 days) and February 2028 (29), and months of 30 days."""
    cadence = Cadence(kind="monthly", at="18:30", time_zone=BERLIN, starts_on=date(2027, 1, 1), day=day, every=every)
    assert expanded_series([series(cadence)]) == in_window(cadence)


def test_a_series_seen_from_a_later_occurrence_starts_there() -> None:
    cadence = Cadence(kind="weekly", at="19:00", time_zone=BERLIN, starts_on=date(2027, 1, 1), weekday=1, every=2)
    assert expanded_series([series(cadence, index=10)]) == [o for o in in_window(cadence) if o >= occurrences(cadence, [10])[0]]


def test_a_skipped_occurrence_is_left_out_and_a_moved_one_moves() -> None:
    cadence = Cadence(kind="weekly", at="19:00", time_zone=BERLIN, starts_on=date(2027, 1, 1), weekday=2)
    entry = series(cadence)
    skipped = occurrence(entry, 3, status="skipped")
    moved = occurrence(entry, 5, moved_by=timedelta(days=1, hours=2))

    expanded = expanded_series([entry, skipped, moved])

    expected = in_window(cadence)
    expected.remove(occurrences(cadence, [3])[0])
    expected.remove(occurrences(cadence, [5])[0])
    assert expanded == sorted([*expected, (moved.start, moved.end)])
    events = parse(render([entry, skipped, moved], NOW)).walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {f"{entry.entry_id}@accord"}
    assert "EXDATE" in events[0] and "RECURRENCE-ID" in events[1]


def test_a_full_and_a_busy_view_of_the_same_time_are_two_unrelated_events() -> None:
    """Each entry id is the viewer's own: nothing in the feed ties a busy entry to anyone else's calendar."""
    entry = plan()
    other = busy(entry.start, hours=16)
    uids = {str(e["UID"]) for e in parse(render([entry, other], NOW)).walk("VEVENT")}
    assert len(uids) == 2 and str(entry.plan_id) not in render([other], NOW).decode()


def test_a_plan_ending_in_the_repeated_hour_ends_at_its_instant() -> None:
    """02:30 on 31 October 2027 happens twice in Berlin; the plan ends at the second."""
    entry = plan(start=datetime(2027, 10, 30, 22, 0, tzinfo=UTC), end=datetime(2027, 10, 31, 1, 30, tzinfo=UTC))
    expanded = expand(render([entry], NOW), datetime(2027, 10, 1, tzinfo=UTC), datetime(2027, 11, 30, tzinfo=UTC))
    assert instants(expanded) == [(entry.start, entry.end)]


def test_a_series_that_stopped_ends_before_its_next_occurrence() -> None:
    """Paused or ended: the entry's `until` is where the next occurrence would have started."""
    cadence = Cadence(kind="weekly", at="02:30", time_zone=BERLIN, starts_on=date(2027, 1, 1), weekday=6)
    entry = msgspec.structs.replace(series(cadence), until=starts_at(cadence, 20))
    feed = render([entry], NOW, until=WINDOW[1])
    assert instants(expand(feed, *WINDOW)) == occurrences(cadence, range(20))
    assert all(e.start < entry.until for e in parse(feed).walk("VEVENT"))


def test_an_occurrence_moved_past_the_next_one_still_replaces_its_own() -> None:
    """The series entry starts at its first held occurrence by time (index 2); the moved index 1 is later."""
    cadence = Cadence(kind="weekly", at="19:00", time_zone=BERLIN, starts_on=date(2027, 1, 1), weekday=2)
    entry = series(cadence, index=2)
    moved = occurrence(entry, 1, moved_by=timedelta(days=8))
    skipped = occurrence(entry, 0, status="cancelled")
    expected = [o for o in in_window(cadence) if o >= occurrences(cadence, [2])[0]]
    assert expanded_series([entry, moved, skipped]) == sorted([*expected, (moved.start, moved.end)])
