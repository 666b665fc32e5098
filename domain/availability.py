"""A person's availability: their time zone, what each partner sees of their time, and their booking rules.

`Availability` is one person's (its id derived from theirs, like a signal
book): the IANA time zone their calendar pages and rules read in; per
partner, what that partner sees of their other time (`Shows`: "busy" or
"nothing", the default: silence is private); and their booking rules, which
every plan with them is checked against (`check_booking`) when it is
proposed, rescheduled or accepted.

A rule either refuses a plan that breaks it or lets it through with a
warning (`mode`), and its owner chooses whom it is shown to (`shown_to`):
nobody, or their partners. A rule shown to nobody still holds; a proposer
it is not shown to hears only that the time does not work for a
participant (`domain.policy.booking_breach_view`).

The rules, each read in the owner's time zone:
- quiet nights: the weekdays whose night (18:00 to 06:00 the next morning) is never booked;
- notice before an overnight: the hours between proposing an overnight and its start;
- plans per week: at most N dates and overnights holding the owner's time per Monday-start week;
- buffer after a date: the hours between the end of a date or overnight and the start of the
  owner's next plan (either one may be the plan being proposed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import msgspec
from eventsourcing.domain import Aggregate

from domain.calendar import SHOWS, Shows, Slot
from domain.cadence import zone
from domain.errors import ValidationFailed

#: Never change: every person's availability id is derived from it.
AVAILABILITY_NAMESPACE = UUID("3d0b8f5e-7c21-4a8e-b6f4-2e9a51c0d7a3")

Mode = Literal["refuse", "warn"]
MODES: tuple[Mode, ...] = ("refuse", "warn")
ShownTo = Literal["nobody", "partners"]
SHOWN_TO: tuple[ShownTo, ...] = ("nobody", "partners")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: A night runs from this hour of its weekday to `NIGHT_ENDS` the next morning, in the owner's zone.
NIGHT_STARTS = time(18)
NIGHT_ENDS = time(6)
#: The kinds of plan that weigh on a week and want a buffer after them.
DATE_KINDS = ("date", "overnight")
MAX_HOURS = 24 * 60
MAX_PLANS_PER_WEEK = 50
#: The rules, in the order they are checked and listed.
RULES: dict[str, str] = {
    "quiet_nights": "Quiet nights",
    "overnight_notice": "Notice before an overnight",
    "plans_per_week": "Plans per week",
    "buffer_after_date": "Buffer after a date",
}


class RuleChoice(msgspec.Struct, frozen=True, kw_only=True):
    """What every rule has: whether a breach refuses the plan or warns, and whom the rule is shown to."""

    mode: Mode = "refuse"
    shown_to: ShownTo = "nobody"


class QuietNights(RuleChoice, frozen=True, kw_only=True):
    weekdays: tuple[Weekday, ...]


class OvernightNotice(RuleChoice, frozen=True, kw_only=True):
    hours: int


class PlansPerWeek(RuleChoice, frozen=True, kw_only=True):
    limit: int


class BufferAfterDate(RuleChoice, frozen=True, kw_only=True):
    hours: int


Rule = QuietNights | OvernightNotice | PlansPerWeek | BufferAfterDate


class BookingRules(msgspec.Struct, frozen=True, kw_only=True):
    """A person's booking rules; a rule left out (None) is not set."""

    quiet_nights: QuietNights | None = None
    overnight_notice: OvernightNotice | None = None
    plans_per_week: PlansPerWeek | None = None
    buffer_after_date: BufferAfterDate | None = None

    def set(self) -> dict[str, Rule]:
        """The rules set, by name, in `RULES` order."""
        return {name: rule for name in RULES if (rule := getattr(self, name)) is not None}


class PartnerShows(msgspec.Struct, frozen=True, kw_only=True):
    """What one partner sees of the owner's other time."""

    person_id: UUID
    shows: Shows


class Breach(msgspec.Struct, frozen=True, kw_only=True):
    """A plan breaks one of `owner`'s rules; `detail` says how, in the owner's terms."""

    owner: UUID
    rule: str
    mode: Mode
    shown_to: ShownTo
    detail: str


def check_shows(shows: str) -> None:
    if shows not in SHOWS:
        raise ValidationFailed("shows", f"must be one of {', '.join(SHOWS)}")


def check_rules(rules: BookingRules) -> None:
    for name, rule in rules.set().items():
        if rule.mode not in MODES:
            raise ValidationFailed(f"rules.{name}.mode", f"must be one of {', '.join(MODES)}")
        if rule.shown_to not in SHOWN_TO:
            raise ValidationFailed(f"rules.{name}.shown_to", f"must be one of {', '.join(SHOWN_TO)}")
    if (quiet := rules.quiet_nights) is not None:
        if not quiet.weekdays:
            raise ValidationFailed("rules.quiet_nights.weekdays", "name at least one weekday, or leave the rule out")
        if len(set(quiet.weekdays)) != len(quiet.weekdays) or not set(quiet.weekdays) <= set(WEEKDAYS):
            raise ValidationFailed("rules.quiet_nights.weekdays", f"each once, of {', '.join(WEEKDAYS)}")
    for name in ("overnight_notice", "buffer_after_date"):
        rule = getattr(rules, name)
        if rule is not None and not 1 <= rule.hours <= MAX_HOURS:
            raise ValidationFailed(f"rules.{name}.hours", f"must be from 1 to {MAX_HOURS}")
    if rules.plans_per_week is not None and not 1 <= rules.plans_per_week.limit <= MAX_PLANS_PER_WEEK:
        raise ValidationFailed("rules.plans_per_week.limit", f"must be from 1 to {MAX_PLANS_PER_WEEK}")


class Availability(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        person: UUID

        def apply(self, availability: Availability) -> None:
            availability.person = self.person
            availability.time_zone = "UTC"
            #: partner -> what they see; a partner not here sees "nothing".
            availability.shows = {}
            availability.rules = BookingRules()

    class TimeZoneChosen(Event):
        time_zone: str

        def apply(self, availability: Availability) -> None:
            availability.time_zone = self.time_zone

    class ShowsChosen(Event):
        partner: UUID
        shows: str

        def apply(self, availability: Availability) -> None:
            if self.shows == "nothing":
                availability.shows.pop(self.partner, None)
            else:
                availability.shows[self.partner] = self.shows

    class RulesChanged(Event):
        rules: BookingRules

        def apply(self, availability: Availability) -> None:
            availability.rules = self.rules

    @staticmethod
    def id_for(person: UUID) -> UUID:
        return uuid5(AVAILABILITY_NAMESPACE, str(person))

    @classmethod
    def create(cls, person: UUID, now: datetime) -> Availability:
        return cls._create(cls.Created, id=cls.id_for(person), timestamp=now, person=person)

    def choose_time_zone(self, time_zone: str, now: datetime) -> None:
        """Repeating the current choice appends nothing (as for every choice here)."""
        zone(time_zone)
        if time_zone != self.time_zone:
            self.trigger_event(self.TimeZoneChosen, timestamp=now, time_zone=time_zone)

    def choose_shows(self, partner: UUID, shows: str, now: datetime) -> None:
        """`partner`: someone the caller checked is a partner (the policy's `partners_of`)."""
        check_shows(shows)
        if partner == self.person:
            raise ValidationFailed("shows", "one does not choose what one shows oneself")
        if shows != self.shows_to(partner):
            self.trigger_event(self.ShowsChosen, timestamp=now, partner=partner, shows=shows)

    def change_rules(self, rules: BookingRules, now: datetime) -> None:
        check_rules(rules)
        if rules != self.rules:
            self.trigger_event(self.RulesChanged, timestamp=now, rules=rules)

    def shows_to(self, partner: UUID) -> Shows:
        return self.shows.get(partner, "nothing")


def default_availability(person: UUID, now: datetime) -> Availability:
    """A person's availability before their first choice (never appended by itself)."""
    availability = Availability.create(person, now)
    availability.collect_events()
    return availability


# Booking rules: pure checks over slots


def check_booking(
    availability: Availability, candidate: Slot, others: Iterable[Slot], now: datetime
) -> tuple[Breach, ...]:
    """The rules of `availability`'s owner that `candidate` breaks, in `RULES` order.

    `others`: the owner's other slots around the candidate (any that do not hold
    time, or are the candidate itself, an earlier proposal of it, are skipped).
    `now`: when the candidate was proposed (for an answer to it, when its current
    proposal was made: notice is counted from the proposal)."""
    owner, rules = availability.person, availability.rules
    if owner not in candidate.participants or not candidate.holds_time:
        return ()
    tz = zone(availability.time_zone)
    mine = [s for s in others if s.id != candidate.id and s.holds_time and owner in s.participants]
    found: list[Breach] = []

    def breach(name: str, rule: Rule, detail: str) -> None:
        found.append(Breach(owner=owner, rule=name, mode=rule.mode, shown_to=rule.shown_to, detail=detail))

    if (quiet := rules.quiet_nights) is not None:
        night = quiet_night_touched(candidate, quiet.weekdays, tz)
        if night is not None:
            breach("quiet_nights", quiet, f"{night.capitalize()} nights are kept free")
    if (notice := rules.overnight_notice) is not None and candidate.kind == "overnight":
        if candidate.start - now < timedelta(hours=notice.hours):
            breach("overnight_notice", notice, f"an overnight needs {notice.hours} hours' notice")
    if (per_week := rules.plans_per_week) is not None and candidate.kind in DATE_KINDS:
        week = week_of(candidate.start, tz)
        same_week = [s for s in mine if s.kind in DATE_KINDS and week_of(s.start, tz) == week]
        if len(same_week) + 1 > per_week.limit:
            what = "date or overnight" if per_week.limit == 1 else "dates or overnights"
            breach("plans_per_week", per_week, f"at most {per_week.limit} {what} a week")
    if (buffer := rules.buffer_after_date) is not None:
        gap = timedelta(hours=buffer.hours)
        if any(too_close(before, after, gap) for s in mine for before, after in ((s, candidate), (candidate, s))):
            breach("buffer_after_date", buffer, f"{buffer.hours} hours free after a date or overnight")
    return tuple(found)


def quiet_night_touched(slot: Slot, weekdays: Iterable[str], tz: ZoneInfo) -> str | None:
    """The first quiet weekday whose night (18:00 to 06:00 local, whatever the clocks do) `slot` overlaps."""
    quiet = set(weekdays)
    first = slot.start.astimezone(tz).date() - timedelta(days=1)
    last = slot.end.astimezone(tz).date()
    day = first
    while day <= last:
        name = WEEKDAYS[day.weekday()]
        if name in quiet:
            start = datetime.combine(day, NIGHT_STARTS, tz)
            end = datetime.combine(day + timedelta(days=1), NIGHT_ENDS, tz)
            if slot.overlaps(start, end):
                return name
        day += timedelta(days=1)
    return None


def week_of(moment: datetime, tz: ZoneInfo) -> date:
    """The Monday starting `moment`'s week, in `tz`."""
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def too_close(before: Slot, after: Slot, gap: timedelta) -> bool:
    """Whether `after` starts within `gap` of the end of `before`, a date or overnight."""
    return before.kind in DATE_KINDS and before.end <= after.start < before.end + gap
