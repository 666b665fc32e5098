"""The calendar pages' layout: entries by local day in the viewer's zone, across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from domain.policy import CalendarEntry, PersonRef
from service.web.calendar import lay_out, local_midnight, parse_day, week_of

BERLIN = ZoneInfo("Europe/Berlin")
MINA = PersonRef(key="m", name="Mina")


def entry(start: datetime, end: datetime, **more: object) -> CalendarEntry:
    return CalendarEntry(entry_id=str(uuid4()), sight="full", start=start, end=end, people=(MINA,), kind="date", **more)  # type: ignore[arg-type]


def test_a_week_across_the_autumn_change_lays_entries_out_by_local_day() -> None:
    # Berlin leaves summer time at 03:00 on Sunday 25 October 2026: that day has 25 hours.
    first = week_of(date(2026, 10, 25))
    assert first == date(2026, 10, 19)
    assert local_midnight(date(2026, 10, 25), BERLIN) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert local_midnight(date(2026, 10, 26), BERLIN) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    night = entry(datetime(2026, 10, 24, 21, 30, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    late = entry(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), datetime(2026, 10, 25, 22, 45, tzinfo=UTC))
    days = lay_out((night, late), first, 7, BERLIN, date(2026, 10, 21))
    saturday, sunday = days[5], days[6]
    assert [(s.starts, s.ends) for s in saturday.entries] == [("23:30", "")]
    # 08:00 UTC is 09:00 CET; 22:30 UTC is 23:30 CET, still Sunday in Berlin.
    assert [(s.starts, s.ends) for s in sunday.entries] == [("", "09:00"), ("23:30", "23:45")]
    assert [d.today for d in days].index(True) == 2


def test_busy_time_says_only_whose_it_is_and_links_nowhere() -> None:
    busy = CalendarEntry(
        entry_id="busy-1", sight="busy", start=datetime(2026, 10, 21, 17, tzinfo=UTC),
        end=datetime(2026, 10, 21, 19, tzinfo=UTC), people=(PersonRef(key="s", name="Sam"),),
    )  # fmt: skip
    [shown] = lay_out((busy,), date(2026, 10, 19), 7, BERLIN, date(2026, 10, 19))[2].entries
    assert (shown.label, shown.link, shown.starts, shown.ends) == ("Sam: busy", None, "19:00", "21:00")


def test_an_address_without_a_date_or_with_a_bad_one_means_today() -> None:
    today = date(2026, 11, 29)
    assert parse_day(None, today) == parse_day("yesterday", today) == parse_day("2026-13-01", today) == today
    assert parse_day("2026-12", today) == date(2026, 12, 1) and parse_day("2026-12-24", today) == date(2026, 12, 24)
