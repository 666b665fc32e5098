"""Check-ins as specifications: the cadence in a time zone, occurrences, preparation, the plan."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cadence import Cadence, check_cadence, first_after, local_date, starts_at
from domain.checkins import (
    DEFAULT_PROMPTS,
    GRACE,
    ActionPoint,
    CheckIn,
    proposal_id_for,
)
from domain.errors import (
    AlreadyDone,
    CheckInStatusForbids,
    NotFound,
    OccurrenceNotDue,
    OccurrenceNotOpen,
    ValidationFailed,
)
from tests.domain.spec import assert_round_trips, then

BERLIN = ZoneInfo("Europe/Berlin")
#: A Monday in October 2026; Berlin leaves summer time on Sunday 25 October.
NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
TUESDAYS = Cadence(kind="weekly", weekday=1, at="19:00", time_zone="Europe/Berlin", starts_on=date(2026, 10, 12))


def weekly(**overrides: object) -> Cadence:
    return msgspec.structs.replace(TUESDAYS, **overrides)


class Pair:
    def __init__(self) -> None:
        self.mina, self.theo, self.sam = uuid4(), uuid4(), uuid4()

    def start(self, cadence: Cadence = TUESDAYS, prompts: tuple[str, ...] | None = None) -> CheckIn:
        check_in = CheckIn.start(uuid4(), self.mina, (self.mina, self.theo), cadence, prompts, NOW, link_id=uuid4())
        check_in.collect_events()
        return check_in


# The cadence


def test_weekly_keeps_local_time_across_the_october_change() -> None:
    local = [starts_at(TUESDAYS, i).astimezone(BERLIN) for i in range(4)]
    assert [t.date() for t in local] == [date(2026, 10, 13), date(2026, 10, 20), date(2026, 10, 27), date(2026, 11, 3)]
    assert {(t.hour, t.minute) for t in local} == {(19, 0)}
    # The UTC instant moves by an hour instead: 17:00 in summer time, 18:00 after.
    assert [starts_at(TUESDAYS, i).hour for i in range(4)] == [17, 17, 18, 18]


def test_weekly_keeps_local_time_across_the_march_change() -> None:
    march = weekly(starts_on=date(2027, 3, 20))
    assert {(starts_at(march, i).astimezone(BERLIN).hour) for i in range(3)} == {19}


def test_every_n_weeks() -> None:
    fortnightly = weekly(every=2)
    assert [local_date(fortnightly, i) for i in range(3)] == [date(2026, 10, 13), date(2026, 10, 27), date(2026, 11, 10)]


def test_monthly_on_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    monthly = Cadence(kind="monthly", day=31, at="10:00", time_zone="Europe/Berlin", starts_on=date(2027, 1, 1))
    assert [local_date(monthly, i) for i in range(4)] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    leap = Cadence(kind="monthly", day=30, at="10:00", time_zone="UTC", starts_on=date(2028, 2, 1))
    assert local_date(leap, 0) == date(2028, 2, 29)


def test_monthly_starting_after_the_day_begins_next_month() -> None:
    monthly = Cadence(kind="monthly", day=5, at="10:00", time_zone="UTC", starts_on=date(2027, 1, 6), every=3)
    assert [local_date(monthly, i) for i in range(2)] == [date(2027, 2, 5), date(2027, 5, 5)]


def test_a_time_skipped_by_the_spring_change_moves_on_by_the_gap() -> None:
    night = weekly(weekday=6, at="02:30", starts_on=date(2027, 3, 28))
    assert starts_at(night, 0).astimezone(BERLIN).time().isoformat() == "03:30:00"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "+02:00"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"at": "25:00"}, "at"),
        ({"at": "7pm"}, "at"),
        ({"weekday": 7}, "weekday"),
        ({"weekday": None}, "weekday"),
        ({"every": 0}, "every"),
        ({"every": 13}, "every"),
        ({"day": 3}, "day"),
        ({"kind": "monthly", "weekday": None, "day": 32}, "day"),
        ({"kind": "monthly", "day": 3}, "weekday"),
    ],
)
def test_bad_cadences_name_their_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_cadence(weekly(**overrides))
    assert refused.value.field == field


def test_first_after() -> None:
    assert first_after(TUESDAYS, NOW) == 0
    assert first_after(TUESDAYS, starts_at(TUESDAYS, 0)) == 1
    assert first_after(TUESDAYS, NOW, after_index=2) == 3


# The series


def test_starting_opens_the_first_occurrence_with_the_default_prompts() -> None:
    p = Pair()
    check_in = CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), TUESDAYS, None, NOW, link_id=uuid4())
    events = then(check_in)
    assert [cls for cls, _ in events] == [CheckIn.Started, CheckIn.OccurrenceOpened]
    assert events[0][1]["prompts"] == DEFAULT_PROMPTS
    assert events[1][1] == {"index": 0, "starts_at": starts_at(TUESDAYS, 0), "prompts": DEFAULT_PROMPTS}


def test_starting_needs_exactly_one_basis_and_two_people() -> None:
    p = Pair()
    with pytest.raises(ValidationFailed):
        CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), TUESDAYS, None, NOW)
    with pytest.raises(ValidationFailed) as refused:
        CheckIn.start(uuid4(), p.mina, (p.mina,), TUESDAYS, None, NOW, link_id=uuid4())
    assert refused.value.field == "participants"
    with pytest.raises(ValidationFailed) as refused:
        CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), TUESDAYS, ("",), NOW, link_id=uuid4())
    assert refused.value.field == "prompts[0]"


def test_preparing_is_private_and_saving_the_same_again_appends_nothing() -> None:
    p = Pair()
    check_in = p.start(prompts=("good", "hard"))
    check_in.prepare(p.mina, 0, ("the walk", ""), NOW)
    check_in.prepare(p.mina, 0, ("the walk", ""), NOW)
    assert then(check_in) == [(CheckIn.Prepared, {"by": p.mina, "index": 0, "answers": ("the walk", "")})]
    with pytest.raises(ValidationFailed) as refused:
        check_in.prepare(p.theo, 0, ("one",), NOW)
    assert refused.value.field == "answers"


def test_sharing_makes_answers_final() -> None:
    p = Pair()
    check_in = p.start(prompts=("good",))
    with pytest.raises(ValidationFailed):
        check_in.share(p.mina, 0, NOW)  # nothing written yet
    check_in.prepare(p.mina, 0, ("the walk",), NOW)
    check_in.share(p.mina, 0, NOW)
    assert then(check_in)[-1] == (CheckIn.Shared, {"by": p.mina, "index": 0})
    with pytest.raises(AlreadyDone):
        check_in.share(p.mina, 0, NOW)
    with pytest.raises(AlreadyDone):
        check_in.prepare(p.mina, 0, ("changed",), NOW)


def test_closing_with_a_plan_opens_the_next_occurrence() -> None:
    p = Pair()
    check_in = p.start()
    point = ActionPoint(uuid4(), "Talk about overnights")
    check_in.close(p.theo, 0, "Dinner on Friday", [point], NOW)
    events = then(check_in)
    assert events[0] == (
        CheckIn.Closed,
        {"by": p.theo, "index": 0, "plan": "Dinner on Friday", "action_points": (point,)},
    )
    assert events[1][0] is CheckIn.OccurrenceOpened and events[1][1]["index"] == 1
    assert check_in.open_index == 1
    with pytest.raises(OccurrenceNotOpen):
        check_in.prepare(p.mina, 0, ("late",) * 5, NOW)
    with pytest.raises(ValidationFailed) as refused:
        check_in.close(p.theo, 1, "  ", [], NOW)
    assert refused.value.field == "plan"


def test_an_occurrence_not_closed_within_its_grace_is_missed_without_naming_anyone() -> None:
    p = Pair()
    check_in = p.start()
    start = starts_at(TUESDAYS, 0)
    with pytest.raises(OccurrenceNotDue):
        check_in.miss(0, start + GRACE - timedelta(seconds=1))
    check_in.miss(0, start + GRACE)
    events = then(check_in)
    assert events[0] == (CheckIn.Missed, {"index": 0})
    assert events[1][0] is CheckIn.OccurrenceOpened and events[1][1]["index"] == 1
    assert check_in.occurrences[0].status == "missed"
    with pytest.raises(OccurrenceNotDue):
        check_in.miss(0, start + GRACE)  # once


def test_moving_and_skipping_take_a_reason() -> None:
    p = Pair()
    check_in = p.start()
    to = starts_at(TUESDAYS, 0) + timedelta(days=1)
    with pytest.raises(ValidationFailed) as refused:
        check_in.move(p.mina, 0, to, "", NOW)
    assert refused.value.field == "reason"
    with pytest.raises(ValidationFailed) as refused:
        check_in.move(p.mina, 0, NOW - timedelta(hours=1), "travel", NOW)
    assert refused.value.field == "to"
    check_in.move(p.mina, 0, to, "I am travelling", NOW)
    assert check_in.occurrences[0].starts_at == to
    # Missed counts from where it was moved to.
    assert not check_in.is_due_to_miss(0, starts_at(TUESDAYS, 0) + GRACE)
    check_in.skip(p.theo, 0, "ill", NOW)
    assert [cls for cls, _ in then(check_in)][-2:] == [CheckIn.Skipped, CheckIn.OccurrenceOpened]
    assert check_in.occurrences[0].status == "skipped"


def test_pausing_and_ending_need_nobody_elses_permission() -> None:
    p = Pair()
    check_in = p.start()
    check_in.pause(p.theo, NOW)
    assert then(check_in) == [(CheckIn.Paused, {"by": p.theo})]
    with pytest.raises(CheckInStatusForbids):
        check_in.prepare(p.mina, 0, ("",) * 5, NOW)
    assert not check_in.is_due_to_miss(0, starts_at(TUESDAYS, 0) + GRACE)
    later = starts_at(TUESDAYS, 0) + timedelta(hours=1)
    check_in.resume(p.mina, later)
    assert [cls for cls, _ in then(check_in)] == [CheckIn.Resumed, CheckIn.Skipped, CheckIn.OccurrenceOpened]
    check_in.end(p.mina, later)
    with pytest.raises(CheckInStatusForbids):
        check_in.end(p.theo, later)
    with pytest.raises(CheckInStatusForbids):
        check_in.resume(p.theo, later)


def test_a_series_whose_basis_is_gone_stops_when_its_occurrence_falls_due() -> None:
    p = Pair()
    check_in = p.start()
    with pytest.raises(OccurrenceNotDue):
        check_in.stop(0, "link_ended", NOW)
    check_in.stop(0, "link_ended", starts_at(TUESDAYS, 0) + GRACE)
    assert then(check_in) == [(CheckIn.Stopped, {"reason": "link_ended"})]
    assert (check_in.status, check_in.stopped_because) == ("ended", "link_ended")
    assert not check_in.is_due_to_miss(0, starts_at(TUESDAYS, 0) + GRACE)


def test_someone_else_is_told_it_does_not_exist() -> None:
    p = Pair()
    check_in = p.start()
    for command in (
        lambda: check_in.prepare(p.sam, 0, ("",) * 5, NOW),
        lambda: check_in.pause(p.sam, NOW),
        lambda: check_in.change_prompts(p.sam, ["x"], NOW),
    ):
        with pytest.raises(NotFound):
            command()


def test_an_action_point_becomes_a_proposal_once() -> None:
    p = Pair()
    check_in = p.start()
    point = ActionPoint(uuid4(), "Overnights need a week's notice")
    check_in.close(p.mina, 0, "Ask before Friday", [point], NOW)
    check_in.collect_events()
    agreement_id = uuid4()
    with pytest.raises(NotFound):
        check_in.check_same_people(agreement_id, (p.mina, p.sam), (p.mina, p.theo))  # Theo is not a party of it
    with pytest.raises(NotFound):
        check_in.check_same_people(agreement_id, (p.mina, p.theo, p.sam), (p.mina, p.theo))  # Sam would learn of it
    check_in.check_same_people(agreement_id, (p.theo, p.mina), (p.mina, p.theo))
    proposal_id = proposal_id_for(check_in.id, point.action_point_id)
    check_in.record_proposal(p.theo, point.action_point_id, agreement_id, proposal_id, NOW)
    assert then(check_in) == [
        (
            CheckIn.ActionPointProposed,
            {
                "by": p.theo,
                "index": 0,
                "action_point_id": point.action_point_id,
                "agreement_id": agreement_id,
                "proposal_id": proposal_id,
            },
        )
    ]
    with pytest.raises(AlreadyDone):
        check_in.record_proposal(p.mina, point.action_point_id, agreement_id, proposal_id, NOW)
    with pytest.raises(NotFound):
        check_in.record_proposal(p.mina, uuid4(), agreement_id, proposal_id, NOW)


def test_changed_prompts_apply_to_occurrences_opened_afterwards() -> None:
    p = Pair()
    check_in = p.start()
    check_in.change_prompts(p.theo, ["How was the week"], NOW)
    assert check_in.occurrences[0].prompts == DEFAULT_PROMPTS
    check_in.close(p.mina, 0, "more walks", [], NOW)
    assert check_in.occurrences[1].prompts == ("How was the week",)


def test_every_event_round_trips() -> None:
    p = Pair()
    check_in = CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), TUESDAYS, None, NOW, agreement_id=uuid4())
    check_in.prepare(p.mina, 0, ("a", "b", "c", "d", "e"), NOW)
    check_in.share(p.mina, 0, NOW)
    check_in.move(p.mina, 0, NOW + timedelta(days=2), "late train", NOW)
    point = ActionPoint(uuid4(), "x")
    check_in.close(p.theo, 0, "plan", [point], NOW)
    check_in.record_proposal(p.theo, point.action_point_id, uuid4(), uuid4(), NOW)
    check_in.change_prompts(p.theo, ["one"], NOW)
    check_in.skip(p.theo, 1, "away", NOW)
    check_in.miss(2, starts_at(TUESDAYS, 2) + GRACE)
    check_in.pause(p.mina, NOW)
    check_in.resume(p.mina, NOW)
    check_in.end(p.mina, NOW)
    events = check_in.collect_events()
    other = CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), TUESDAYS, None, NOW, link_id=uuid4())
    other.stop(0, "link_ended", starts_at(TUESDAYS, 0) + GRACE)
    events += other.collect_events()
    assert {type(e).__name__ for e in events} == {
        name for name, value in vars(CheckIn).items() if isinstance(value, type) and issubclass(value, CheckIn.Event)
    } - {"Event", "Created"}
    assert_round_trips(events)


def test_a_series_starts_within_a_year_back_and_five_ahead() -> None:
    p = Pair()
    for starts_on in (date(2025, 10, 1), date(2031, 12, 1), date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(ValidationFailed) as refused:
            CheckIn.start(uuid4(), p.mina, (p.mina, p.theo), weekly(starts_on=starts_on), None, NOW, link_id=uuid4())
        assert refused.value.field == "starts_on"


@given(
    starts_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    weekday=st.integers(0, 6),
    every=st.integers(1, 12),
    at=st.sampled_from(["00:00", "01:30", "02:30", "07:45", "12:00", "19:00", "23:59"]),
    time_zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
    index=st.integers(0, 200),
)
def test_every_weekly_occurrence_falls_on_its_weekday_at_its_local_time(
    starts_on: date, weekday: int, every: int, at: str, time_zone: str, index: int
) -> None:
    cadence = Cadence(kind="weekly", weekday=weekday, every=every, at=at, time_zone=time_zone, starts_on=starts_on)
    local = starts_at(cadence, index).astimezone(ZoneInfo(time_zone))
    assert local.date() == local_date(cadence, index) and local.weekday() == weekday
    assert local_date(cadence, index) >= starts_on
    assert (local_date(cadence, index) - local_date(cadence, 0)).days == 7 * every * index
    # The wall clock shows the time asked for, except on a day a change skipped it (then later, by the gap).
    hour, minute = map(int, at.split(":"))
    shown = local.hour * 60 + local.minute
    assert shown == hour * 60 + minute or 0 < shown - (hour * 60 + minute) <= 60


@given(
    starts_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    day=st.integers(1, 31),
    every=st.integers(1, 12),
    index=st.integers(0, 100),
)
def test_every_monthly_occurrence_falls_on_its_day_or_the_months_last(starts_on: date, day: int, every: int, index: int) -> None:
    cadence = Cadence(kind="monthly", day=day, every=every, at="10:00", time_zone="Europe/Berlin", starts_on=starts_on)
    found = local_date(cadence, index)
    last = calendar.monthrange(found.year, found.month)[1]
    assert found.day == min(day, last)
    assert found >= starts_on
    first = local_date(cadence, 0)
    assert (found.year * 12 + found.month) - (first.year * 12 + first.month) == every * index
