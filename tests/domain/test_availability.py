"""Availability and booking rules as specifications: a person's time zone, what each partner sees
of their time, and each booking rule, read in the owner's zone across Europe/Berlin's clock changes
(2026: summer time from Sunday 29 March, winter time from Sunday 25 October)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.availability import (
    Availability,
    BookingRules,
    BufferAfterDate,
    OvernightNotice,
    PlansPerWeek,
    QuietNights,
    check_booking,
    default_availability,
)
from domain import policy
from domain.calendar import Slot
from domain.errors import ValidationFailed
from domain.network import Interval
from domain.policy import LinkFact, Network
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def slot(people: tuple[UUID, ...], start: datetime, hours: float = 2, *, kind: str = "date", status: str = "proposed", id: UUID | None = None) -> Slot:
    return Slot(
        id=id or uuid4(), kind=kind, participants=people, start=start, end=start + timedelta(hours=hours),
        time_zone=BERLIN, status=status,  # type: ignore[arg-type]
    )  # fmt: skip


def owner_with(rules: BookingRules, person: UUID | None = None) -> Availability:
    availability = default_availability(person or uuid4(), NOW)
    availability.choose_time_zone(BERLIN, NOW)
    availability.change_rules(rules, NOW)
    availability.collect_events()
    return availability


def rules_broken(availability: Availability, candidate: Slot, others: list[Slot] = [], now: datetime = NOW) -> list[str]:  # noqa: B006
    return [b.rule for b in check_booking(availability, candidate, others, now)]


# The aggregate


def test_an_availability_keeps_a_time_zone_what_each_partner_sees_and_rules() -> None:
    mina, theo = uuid4(), uuid4()
    availability = Availability.create(mina, NOW)
    assert availability.id == Availability.id_for(mina)
    availability.choose_time_zone(BERLIN, NOW)
    availability.choose_time_zone(BERLIN, NOW)  # the same choice again: not news
    availability.choose_shows(theo, "busy", NOW)
    availability.choose_shows(theo, "busy", NOW)
    rules = BookingRules(quiet_nights=QuietNights(weekdays=("sunday",), mode="warn", shown_to="partners"))
    availability.change_rules(rules, NOW)
    availability.change_rules(rules, NOW)
    events = then(availability)
    assert events == [
        (Availability.Created, {"person": mina}),
        (Availability.TimeZoneChosen, {"time_zone": BERLIN}),
        (Availability.ShowsChosen, {"partner": theo, "shows": "busy"}),
        (Availability.RulesChanged, {"rules": rules}),
    ]
    assert availability.shows_to(theo) == "busy"
    availability.choose_shows(theo, "nothing", NOW)
    assert then(availability) == [(Availability.ShowsChosen, {"partner": theo, "shows": "nothing"})]
    assert availability.shows_to(theo) == "nothing" and availability.shows == {}


def test_by_default_nobody_sees_anything_and_no_rule_is_set() -> None:
    mina = uuid4()
    availability = default_availability(mina, NOW)
    assert availability.time_zone == "UTC"
    assert availability.shows_to(uuid4()) == "nothing"
    assert availability.rules.set() == {}
    assert then(availability) == []


@pytest.mark.parametrize(
    "field, change",
    [
        ("time_zone", lambda a: a.choose_time_zone("Mars/Olympus", NOW)),
        ("time_zone", lambda a: a.choose_time_zone("+02:00", NOW)),
        ("shows", lambda a: a.choose_shows(uuid4(), "everything", NOW)),
        ("shows", lambda a: a.choose_shows(a.person, "busy", NOW)),
        ("rules.quiet_nights.weekdays", lambda a: a.change_rules(BookingRules(quiet_nights=QuietNights(weekdays=())), NOW)),
        ("rules.quiet_nights.weekdays", lambda a: a.change_rules(BookingRules(quiet_nights=QuietNights(weekdays=("friday", "friday"))), NOW)),
        ("rules.quiet_nights.weekdays", lambda a: a.change_rules(BookingRules(quiet_nights=QuietNights(weekdays=("someday",))), NOW)),  # type: ignore[arg-type]
        ("rules.overnight_notice.hours", lambda a: a.change_rules(BookingRules(overnight_notice=OvernightNotice(hours=0)), NOW)),
        ("rules.buffer_after_date.hours", lambda a: a.change_rules(BookingRules(buffer_after_date=BufferAfterDate(hours=99999)), NOW)),
        ("rules.plans_per_week.limit", lambda a: a.change_rules(BookingRules(plans_per_week=PlansPerWeek(limit=0)), NOW)),
        ("rules.plans_per_week.mode", lambda a: a.change_rules(BookingRules(plans_per_week=PlansPerWeek(limit=2, mode="maybe")), NOW)),  # type: ignore[arg-type]
        ("rules.plans_per_week.shown_to", lambda a: a.change_rules(BookingRules(plans_per_week=PlansPerWeek(limit=2, shown_to="all")), NOW)),  # type: ignore[arg-type]
    ],
)
def test_bad_choices_are_refused_naming_the_field_and_append_nothing(field: str, change) -> None:  # type: ignore[no-untyped-def]
    availability = default_availability(uuid4(), NOW)
    with pytest.raises(ValidationFailed) as refused:
        change(availability)
    assert refused.value.field == field
    assert then(availability) == []


def test_every_availability_event_round_trips() -> None:
    availability = Availability.create(uuid4(), NOW)
    availability.choose_time_zone(BERLIN, NOW)
    availability.choose_shows(uuid4(), "busy", NOW)
    availability.change_rules(
        BookingRules(
            quiet_nights=QuietNights(weekdays=("monday", "friday")),
            overnight_notice=OvernightNotice(hours=48, mode="warn", shown_to="partners"),
            plans_per_week=PlansPerWeek(limit=3),
            buffer_after_date=BufferAfterDate(hours=12),
        ),
        NOW,
    )
    assert_round_trips(availability.collect_events())


# Quiet nights: 18:00 to 06:00 local, however long the night is


def test_a_quiet_night_is_never_booked_even_the_night_the_clocks_go_back() -> None:
    mina, theo = uuid4(), uuid4()
    # Saturday 24 October 2026: 18:00 CEST is 16:00 UTC; Sunday 06:00 CET is 05:00 UTC (a 13-hour night).
    owner = owner_with(BookingRules(quiet_nights=QuietNights(weekdays=("saturday",))), mina)
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 24, 16, 30))) == ["quiet_nights"]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 4, 30), hours=0.5)) == ["quiet_nights"]
    # Before the night and after it, in local time: free.
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 24, 13, 0), hours=3)) == []
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 5, 0))) == []
    # Friday's night is not Saturday's, and a plan that runs into the night breaks it.
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 23, 17, 0))) == []
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 24, 15, 0))) == ["quiet_nights"]
    refused = check_booking(owner, slot((theo, mina), utc(2026, 10, 24, 16, 30)), [], NOW)[0]
    assert (refused.owner, refused.mode, refused.shown_to) == (mina, "refuse", "nobody")
    assert "Saturday" in refused.detail


def test_a_quiet_night_the_clocks_go_forward_ends_at_six_local() -> None:
    mina, theo = uuid4(), uuid4()
    # Saturday 28 March 2026: 18:00 CET is 17:00 UTC; Sunday 06:00 CEST is 04:00 UTC (an 11-hour night).
    owner = owner_with(BookingRules(quiet_nights=QuietNights(weekdays=("saturday",), mode="warn")), mina)
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 29, 3, 30), hours=0.5)) == ["quiet_nights"]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 29, 4, 0))) == []
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 28, 16, 0), hours=1)) == []


# Notice before an overnight: hours as they pass


def test_an_overnight_needs_notice_counted_in_hours_that_pass_across_the_clock_change() -> None:
    mina, theo = uuid4(), uuid4()
    owner = owner_with(BookingRules(overnight_notice=OvernightNotice(hours=48)), mina)
    proposed = utc(2026, 3, 28, 11, 0)  # Saturday 12:00 CET
    # Monday 12:00 CEST is 10:00 UTC: 47 hours later (the wall clock says 48).
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 30, 10, 0), 14, kind="overnight"), now=proposed) == ["overnight_notice"]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 30, 11, 0), 14, kind="overnight"), now=proposed) == []
    # Only overnights need notice.
    assert rules_broken(owner, slot((theo, mina), utc(2026, 3, 28, 18, 0), kind="date"), now=proposed) == []


# Plans per week: Monday-start weeks in the owner's zone


def test_plans_per_week_count_dates_and_overnights_that_hold_time_in_the_local_week() -> None:
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    owner = owner_with(BookingRules(plans_per_week=PlansPerWeek(limit=2)), mina)
    # The week of Monday 19 October 2026; Monday 26 October starts at 23:00 UTC on Sunday (CET).
    week = [
        slot((theo, mina), utc(2026, 10, 20, 17, 0)),
        slot((mina, sam), utc(2026, 10, 22, 17, 0), kind="overnight", status="accepted"),
        slot((mina, sam), utc(2026, 10, 21, 17, 0), kind="call"),  # calls do not count
        slot((mina, sam), utc(2026, 10, 23, 17, 0), status="declined"),  # nor what does not hold time
        slot((theo, sam), utc(2026, 10, 23, 17, 0)),  # nor others' plans
    ]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 20, 0)), week) == ["plans_per_week"]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 23, 30)), week) == []  # Monday local
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 19, 9, 0), kind="call"), week) == []
    # Rescheduling one of them within the week is not one more.
    moved = week[0]
    again = slot((theo, mina), utc(2026, 10, 24, 10, 0), id=moved.id)
    assert rules_broken(owner, again, week) == []


# A buffer after a date, both ways


def test_a_buffer_after_a_date_keeps_the_next_plan_away_whichever_is_proposed() -> None:
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    owner = owner_with(BookingRules(buffer_after_date=BufferAfterDate(hours=12, mode="warn")), mina)
    # A date ending Saturday 24 October 22:00 CEST (20:00 UTC); 12 hours later is 08:00 UTC, 09:00 CET.
    date = slot((mina, sam), utc(2026, 10, 24, 17, 0), hours=3, status="accepted")
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 7, 30), kind="call"), [date]) == ["buffer_after_date"]
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 25, 8, 0), kind="call"), [date]) == []
    # The proposed date comes first, and a plan already booked follows too soon.
    call = slot((mina, sam), utc(2026, 10, 25, 7, 0), kind="call")
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 24, 17, 0), hours=3), [call]) == ["buffer_after_date"]
    # A call wants no buffer after it.
    assert rules_broken(owner, slot((theo, mina), utc(2026, 10, 24, 14, 0), kind="call"), [slot((mina, sam), utc(2026, 10, 24, 15, 0), kind="call")]) == []
    warned = check_booking(owner, slot((theo, mina), utc(2026, 10, 25, 7, 30), kind="call"), [date], NOW)[0]
    assert warned.mode == "warn"


def test_only_the_owners_plans_that_hold_time_are_checked() -> None:
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    owner = owner_with(BookingRules(quiet_nights=QuietNights(weekdays=tuple(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")))), mina)  # type: ignore[arg-type]
    night = utc(2026, 10, 20, 20, 0)
    assert rules_broken(owner, slot((theo, sam), night)) == []
    assert rules_broken(owner, slot((theo, mina), night, status="cancelled")) == []
    assert rules_broken(owner, slot((theo, mina), night)) == ["quiet_nights"]


def test_every_rule_a_plan_breaks_is_named_in_order() -> None:
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    owner = owner_with(
        BookingRules(
            quiet_nights=QuietNights(weekdays=("tuesday",)),
            overnight_notice=OvernightNotice(hours=24, shown_to="partners"),
            plans_per_week=PlansPerWeek(limit=1),
            buffer_after_date=BufferAfterDate(hours=6),
        ),
        mina,
    )
    before = slot((mina, sam), utc(2026, 10, 20, 8, 0), hours=2)
    overnight = slot((theo, mina), utc(2026, 10, 20, 12, 0), hours=20, kind="overnight")
    assert rules_broken(owner, overnight, [before], now=utc(2026, 10, 20, 6, 0)) == [
        "quiet_nights", "overnight_notice", "plans_per_week", "buffer_after_date",
    ]  # fmt: skip


# The policy: whom rules and breaches are shown to

SECRET = b"test secret"


def network_of(*pairs: tuple[UUID, UUID], ended: tuple[tuple[UUID, UUID], ...] = ()) -> Network:
    def fact(a: UUID, b: UUID, status: str) -> LinkFact:
        return LinkFact(a=a, b=b, status=status, proposer=a, intervals=(Interval(confirmed_at=NOW - timedelta(days=9)),))  # type: ignore[arg-type]

    return Network(links=(*(fact(a, b, "live") for a, b in pairs), *(fact(a, b, "ended") for a, b in ended)))


def test_the_owner_sees_every_rule_a_partner_those_shown_to_partners_anyone_else_nothing() -> None:
    mina, theo, jules, ex = uuid4(), uuid4(), uuid4(), uuid4()
    quiet = QuietNights(weekdays=("friday",), shown_to="partners")
    per_week = PlansPerWeek(limit=2)
    owner = owner_with(BookingRules(quiet_nights=quiet, plans_per_week=per_week), mina)
    network = network_of((mina, theo), (theo, jules), ended=((mina, ex),))
    names = {mina: "Mina", theo: "Theo", jules: "Jules", ex: "Ex"}
    mine = policy.view_rules(mina, owner, network, names, SECRET)
    assert mine is not None and mine.rules == owner.rules and mine.time_zone == BERLIN
    shown = policy.view_rules(theo, owner, network, names, SECRET)
    assert shown is not None and shown.rules == BookingRules(quiet_nights=quiet) and shown.person.name == "Mina"
    for nobody in (jules, ex, uuid4()):
        assert policy.view_rules(nobody, owner, network, names, SECRET) is None
    # Nothing shown to partners: not even the zone the rules are read in.
    private = owner_with(BookingRules(plans_per_week=per_week), mina)
    assert policy.view_rules(theo, private, network, names, SECRET) == policy.SharedRules(
        person=shown.person, time_zone=None, rules=BookingRules()
    )


def test_a_breach_is_named_to_the_proposer_only_as_far_as_its_owner_shows_the_rule() -> None:
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    network = network_of((mina, theo), (mina, sam))
    names = {mina: "Mina", theo: "Theo", sam: "Sam"}
    owner = owner_with(
        BookingRules(
            quiet_nights=QuietNights(weekdays=("friday",), shown_to="partners"),
            plans_per_week=PlansPerWeek(limit=1, mode="warn"),
        ),
        mina,
    )
    friday_night = slot((theo, mina), utc(2026, 10, 23, 18, 0))
    quiet, per_week = check_booking(owner, friday_night, [slot((mina, sam), utc(2026, 10, 20, 18, 0))], NOW)
    named = policy.view_breach(theo, quiet, network, names, SECRET)
    assert (named.rule, named.label, named.mode) == ("quiet_nights", "Quiet nights", "refuse")
    assert named.owner is not None and named.owner.name == "Mina" and named.detail.startswith("Mina: ")
    unnamed = policy.view_breach(theo, per_week, network, names, SECRET)
    assert unnamed == policy.BreachView(mode="warn", detail=policy.UNSHOWN_BREACH)
    # The owner hears her own rule as hers; someone who is not her partner, only that the time does not work.
    assert policy.view_breach(mina, per_week, network, names, SECRET).detail.startswith("your rule: ")
    stranger = policy.view_breach(uuid4(), quiet, network, names, SECRET)
    assert stranger == policy.BreachView(mode="refuse", detail=policy.UNSHOWN_BREACH)
