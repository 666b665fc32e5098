"""A plan: a date, an overnight, a call or another time some partners spend together.

A person proposes a plan to one or more of their live partners (its invitees):
a kind (`domain.calendar.PLAN_KINDS`), a title, a place, a start and an end in
a time zone. Each invitee accepts or declines (with an optional note); the
plan is accepted once every participant accepted the times on the table, so
nobody is out-voted. Any participant may reschedule: that is a new proposal
(new times or place), accepted by whoever made it, and everyone else's
answer is back to pending. Any participant may cancel, with a note, and a
cancelled plan stays cancelled. Every step stays in the plan's history.

A plan is its own aggregate, sealed with its own data key (`intimate`): its
title, place and notes rest encrypted. What the calendar and booking rules
know of it is its `Slot` (who, when, whether it holds their time), which
carries nothing intimate.

Which participants count now (a link that ended) is the policy's question
(`domain.policy.plan_participants`); commands here check membership of the
plan as it was proposed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.cadence import zone
from domain.calendar import PLAN_KINDS, Slot, SlotStatus
from domain.checkins import check_text
from domain.errors import (
    AlreadyDone,
    NotFound,
    PlanChanged,
    PlanStatusForbids,
    ValidationFailed,
)
from domain.people import check_named

MAX_TITLE = 200
MAX_PLACE = 300
MAX_NOTE = 500
MAX_INVITEES = 20
#: The longest a plan may last (a long weekend away fits, a month does not).
MAX_LENGTH = timedelta(days=14)

ANSWERS: tuple[str, ...] = ("accepted", "declined")
Step = Literal["proposed", "accepted", "declined", "rescheduled", "cancelled"]


@dataclass(frozen=True)
class HistoryStep:
    """One step of a plan's history, as it happened."""

    at: datetime
    by: UUID
    step: Step
    #: The times and place on the table after this step (proposed, rescheduled).
    start: datetime | None = None
    end: datetime | None = None
    place: str | None = None
    note: str | None = None


def check_kind(kind: str) -> None:
    if kind not in PLAN_KINDS:
        raise ValidationFailed("kind", f"must be one of {', '.join(PLAN_KINDS)}")


def check_times(start: datetime, end: datetime, time_zone: str) -> None:
    zone(time_zone)
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValidationFailed(name, "must carry a UTC offset")
    if end <= start:
        raise ValidationFailed("end", "must be after start")
    if end - start > MAX_LENGTH:
        raise ValidationFailed("end", f"a plan lasts at most {MAX_LENGTH.days} days")


def check_invitees(proposer: UUID, invitees: Sequence[UUID]) -> None:
    check_named("invitees", proposer, invitees, MAX_INVITEES, whom="partner", oneself="one does not invite oneself")


def _clean(text: str | None) -> str | None:
    return None if text is None else text.strip() or None


def status_of(answers: Mapping[UUID, str], cancelled: bool, among: Collection[UUID]) -> SlotStatus:
    """A plan's status among the participants who count: cancelled, declined by any of them,
    accepted by all of them, or still proposed."""
    if cancelled:
        return "cancelled"
    mine = [answers.get(p, "pending") for p in among]
    if "declined" in mine:
        return "declined"
    if mine and all(a == "accepted" for a in mine):
        return "accepted"
    return "proposed"


class PlanTime(msgspec.Struct, frozen=True, kw_only=True):
    """What the calendar, booking rules and the policy know of a plan: nothing intimate.

    The plan keeps it as it goes (`timed`), and so does the PLAN_TIMES projection, by the same fold."""

    plan_id: UUID
    proposer: UUID
    invitees: tuple[UUID, ...]
    proposed_at: datetime
    kind: str
    start: datetime
    end: datetime
    time_zone: str
    #: Each participant's answer to the times on the table.
    answers: dict[UUID, str]
    cancelled: bool = False
    #: Who showed themselves to the others in the plan: by proposing, rescheduling or accepting it.
    named: frozenset[UUID] = frozenset()

    @property
    def participants(self) -> tuple[UUID, ...]:
        """Everyone it is among, the proposer first."""
        return (self.proposer, *self.invitees)

    def slot(self, among: Collection[UUID] | None = None) -> Slot:
        """The plan as time on its participants' calendars; `among`: the participants who count now
        (`domain.policy.plan_participants`), all of them by default. The one place a plan's Slot is made."""
        people = self.participants if among is None else tuple(p for p in self.participants if p in among)
        return Slot(
            id=self.plan_id,
            kind=self.kind,
            participants=people,
            start=self.start,
            end=self.end,
            time_zone=self.time_zone,
            status=status_of(self.answers, self.cancelled, people),
            named=self.named | {self.proposer},
            committed=frozenset(p for p in people if self.answers.get(p) == "accepted"),
        )


def _answers(participants: Sequence[UUID], by: UUID) -> dict[UUID, str]:
    """A new proposal: accepted by whoever made it, pending for everyone else."""
    return {p: ("accepted" if p == by else "pending") for p in participants}


def timed(time: PlanTime | None, event: object) -> PlanTime | None:
    """The fold of a plan's events into its `PlanTime`."""
    match event:
        case Plan.Proposed():
            return PlanTime(
                plan_id=event.originator_id,
                proposer=event.proposer,
                invitees=event.invitees,
                proposed_at=event.timestamp,
                kind=event.kind,
                start=event.start,
                end=event.end,
                time_zone=event.time_zone,
                answers=_answers((event.proposer, *event.invitees), event.proposer),
                named=frozenset({event.proposer}),
            )
        case Plan.Answered() if time is not None:
            named = time.named | {event.by} if event.answer == "accepted" else time.named
            return msgspec.structs.replace(time, answers={**time.answers, event.by: event.answer}, named=named)
        case Plan.Rescheduled() if time is not None:
            return msgspec.structs.replace(
                time,
                start=event.start,
                end=event.end,
                time_zone=event.time_zone,
                answers=_answers(time.participants, event.by),
                named=time.named | {event.by},
            )
        case Plan.Cancelled() if time is not None:
            return msgspec.structs.replace(time, cancelled=True)
    return time


class Plan(Aggregate):
    class Event(Aggregate.Event):
        #: The title, place and notes are sealed with this plan's own key.
        intimate = True

    class Proposed(Event, Aggregate.Created):
        proposer: UUID
        invitees: tuple[UUID, ...]
        kind: str
        title: str
        place: str | None
        start: datetime
        end: datetime
        time_zone: str

        def apply(self, plan: Plan) -> None:
            plan.time = timed(None, self)
            plan.title = self.title
            plan.place = self.place
            #: The current proposal's number (1, then one more with each reschedule).
            plan.proposal = 1
            plan.proposed_by = self.proposer
            #: Each participant's note with their answer to the current proposal.
            plan.notes = {}
            plan.history = [
                HistoryStep(self.timestamp, self.proposer, "proposed", self.start, self.end, self.place)
            ]

    class Answered(Event):
        by: UUID
        answer: str
        note: str | None
        proposal: int

        def apply(self, plan: Plan) -> None:
            plan.time = timed(plan.time, self)
            plan.notes[self.by] = self.note
            step: Step = "accepted" if self.answer == "accepted" else "declined"
            plan.history.append(HistoryStep(self.timestamp, self.by, step, note=self.note))

    class Rescheduled(Event):
        by: UUID
        start: datetime
        end: datetime
        place: str | None
        time_zone: str
        note: str | None

        def apply(self, plan: Plan) -> None:
            plan.time = timed(plan.time, self)
            plan.place = self.place
            plan.proposal += 1
            plan.proposed_by = self.by
            plan.notes = {}
            plan.history.append(
                HistoryStep(self.timestamp, self.by, "rescheduled", self.start, self.end, self.place, self.note)
            )

    class Cancelled(Event):
        by: UUID
        note: str | None

        def apply(self, plan: Plan) -> None:
            plan.time = timed(plan.time, self)
            plan.history.append(HistoryStep(self.timestamp, self.by, "cancelled", note=self.note))

    @classmethod
    def propose(
        cls,
        plan_id: UUID,
        proposer: UUID,
        invitees: Sequence[UUID],
        kind: str,
        title: str,
        place: str | None,
        start: datetime,
        end: datetime,
        time_zone: str,
        now: datetime,
    ) -> Plan:
        """`invitees`: live partners of the proposer (the caller asks the policy)."""
        check_kind(kind)
        check_text("title", title, MAX_TITLE)
        check_text("place", place or "", MAX_PLACE, empty=True)
        check_times(start, end, time_zone)
        check_invitees(proposer, invitees)
        return cls._create(
            cls.Proposed,
            id=plan_id,
            timestamp=now,
            proposer=proposer,
            invitees=tuple(invitees),
            kind=kind,
            title=title.strip(),
            place=_clean(place),
            start=start,
            end=end,
            time_zone=time_zone,
        )

    # What it is as time: its `PlanTime`, the one fold the PLAN_TIMES projection shares.

    @property
    def proposer(self) -> UUID:
        return self.time.proposer

    @property
    def invitees(self) -> tuple[UUID, ...]:
        return self.time.invitees

    @property
    def participants(self) -> tuple[UUID, ...]:
        return self.time.participants

    @property
    def proposed_at(self) -> datetime:
        return self.time.proposed_at

    @property
    def kind(self) -> str:
        return self.time.kind

    @property
    def start(self) -> datetime:
        return self.time.start

    @property
    def end(self) -> datetime:
        return self.time.end

    @property
    def time_zone(self) -> str:
        return self.time.time_zone

    @property
    def answers(self) -> dict[UUID, str]:
        return self.time.answers

    @property
    def cancelled(self) -> bool:
        return self.time.cancelled


    @property
    def status(self) -> SlotStatus:
        return status_of(self.answers, self.cancelled, self.participants)

    def slot(self, among: Collection[UUID] | None = None) -> Slot:
        return self.time.slot(among)

    def check_participant(self, person: UUID) -> None:
        if person not in self.participants:
            raise NotFound("plan", self.id)

    def check_not_cancelled(self, action: str) -> None:
        if self.cancelled:
            raise PlanStatusForbids(self.id, "cancelled", action)

    def check_proposal(self, proposal: int | None) -> None:
        """An answer names the proposal it answers: one rescheduled meanwhile is not what was answered."""
        if proposal is not None and proposal != self.proposal:
            raise PlanChanged(self.id, proposal, self.proposal)

    def answer(self, by: UUID, answer: str, note: str | None, now: datetime, proposal: int | None = None) -> None:
        """Accept or decline the times on the table; one may change one's answer until it is cancelled.
        Whoever put these times on the table accepted them by doing so (they reschedule or cancel)."""
        self.check_participant(by)
        if answer not in ANSWERS:
            raise ValidationFailed("answer", f"must be one of {', '.join(ANSWERS)}")
        check_text("note", note or "", MAX_NOTE, empty=True)
        self.check_not_cancelled("answered")
        self.check_proposal(proposal)
        if by == self.proposed_by:
            raise ValidationFailed("answer", "whoever proposed these times reschedules or cancels instead")
        if self.answers.get(by) == answer:
            raise AlreadyDone(answer, self.id, by, version=self.proposal)
        self.trigger_event(self.Answered, timestamp=now, by=by, answer=answer, note=_clean(note), proposal=self.proposal)

    def reschedule(
        self,
        by: UUID,
        start: datetime,
        end: datetime,
        place: str | None,
        time_zone: str,
        note: str | None,
        now: datetime,
    ) -> None:
        """A new proposal: new times and place, accepted by `by`, pending for everyone else."""
        self.check_participant(by)
        self.check_not_cancelled("rescheduled")
        check_text("place", place or "", MAX_PLACE, empty=True)
        check_text("note", note or "", MAX_NOTE, empty=True)
        check_times(start, end, time_zone)
        self.trigger_event(
            self.Rescheduled,
            timestamp=now,
            by=by,
            start=start,
            end=end,
            place=_clean(place),
            time_zone=time_zone,
            note=_clean(note),
        )

    def cancel(self, by: UUID, note: str | None, now: datetime) -> None:
        self.check_participant(by)
        check_text("note", note or "", MAX_NOTE, empty=True)
        self.check_not_cancelled("cancelled")
        self.trigger_event(self.Cancelled, timestamp=now, by=by, note=_clean(note))
