"""The check-in: a recurring ritual between partners, or among an agreement's parties.

A series has participants (the two people of a live partner link, or the
parties of an agreement when it starts), a cadence in a time zone
(domain/cadence.py) and prompts. One occurrence is open at a time: the first
opens when the series starts, and each next one when the one before ends
(closed with a plan, skipped, or missed), so there is always one to prepare
for. Every participant prepares privately (a draft only they see), then shares
it; any participant closes the occurrence with a plan and action points. An
action point can become a renegotiation of an agreement whose parties are
the people taking part: the proposal is recorded here, and the agreement's
`Proposed` names this check-in.

An occurrence not closed within `GRACE` of its start is marked missed by the
scheduler: a fact, not a fault, and nobody's name is on it. Pausing or ending
a series needs nobody's permission, and the others see who did it.

Which participants count now (a link that ended, a party who left) is the
policy's question (`domain.policy.check_in_participants`); commands here
check membership of the series as it started.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.cadence import Cadence, check_cadence, first_after, starts_at
from domain.calendar import CHECK_IN, CHECK_IN_LENGTH, Slot, SlotStatus
from domain.errors import (
    AlreadyDone,
    CheckInStatusForbids,
    NotFound,
    OccurrenceNotDue,
    OccurrenceNotOpen,
    ValidationFailed,
)

DEFAULT_PROMPTS = (
    "What felt good",
    "What felt hard",
    "What I need next",
    "Our plan until next time",
    "Anything to revisit",
)
MAX_PROMPTS = 10
MAX_PROMPT = 200
MAX_ANSWER = 5000
MAX_PLAN = 5000
MAX_ACTION_POINTS = 20
MAX_ACTION_POINT = 500
MAX_REASON = 500
MAX_PARTICIPANTS = 20
#: How long after its start an occurrence may still be closed before it counts as missed.
GRACE = timedelta(days=2)
#: A series starts from a date at most this far back, or this far ahead.
MAX_START_BEFORE = timedelta(days=366)
MAX_START_AHEAD = timedelta(days=5 * 366)
#: Never change: every action point's proposal id is derived from it.
PROPOSALS_NAMESPACE = UUID("3b7f4d2a-9c1e-4a85-b6d3-0e2f8a1c5d47")

SeriesStatus = Literal["active", "paused", "ended"]
OccurrenceStatus = Literal["open", "closed", "skipped", "missed"]


class ActionPoint(msgspec.Struct, frozen=True):
    action_point_id: UUID
    text: str


@dataclass
class Occurrence:
    index: int
    starts_at: datetime
    #: When the cadence put it, before any move.
    scheduled_at: datetime
    prompts: tuple[str, ...]
    status: OccurrenceStatus = "open"
    #: Each participant's answers, one per prompt; private to them until they share.
    answers: dict[UUID, tuple[str, ...]] = field(default_factory=dict)
    shared: dict[UUID, datetime] = field(default_factory=dict)
    plan: str | None = None
    action_points: tuple[ActionPoint, ...] = ()
    closed_by: UUID | None = None
    #: Why it was moved (the latest move) or skipped.
    moved_reason: str | None = None
    skipped_reason: str | None = None
    skipped_by: UUID | None = None


@dataclass
class ProposalLink:
    action_point_id: UUID
    index: int
    agreement_id: UUID
    proposal_id: UUID
    by: UUID


def check_text(field_name: str, value: str, max_length: int, *, empty: bool = False) -> None:
    if not empty and not value.strip():
        raise ValidationFailed(field_name, "must not be empty")
    if len(value) > max_length:
        raise ValidationFailed(field_name, f"must be at most {max_length} characters")


def check_prompts(prompts: Sequence[str]) -> None:
    if not prompts:
        raise ValidationFailed("prompts", "must name at least one prompt")
    if len(prompts) > MAX_PROMPTS:
        raise ValidationFailed("prompts", f"at most {MAX_PROMPTS} prompts")
    for i, prompt in enumerate(prompts):
        check_text(f"prompts[{i}]", prompt, MAX_PROMPT)


def check_starts_on(starts_on: date, now: datetime) -> None:
    today = now.date()
    if not today - MAX_START_BEFORE <= starts_on <= today + MAX_START_AHEAD:
        raise ValidationFailed("starts_on", "must be within a year before today and five years after")


def proposal_id_for(check_in_id: UUID, action_point_id: UUID) -> UUID:
    """One renegotiation per action point: a repeat names the same proposal."""
    return uuid5(PROPOSALS_NAMESPACE, f"{check_in_id}:{action_point_id}")


class CheckIn(Aggregate):
    class Event(Aggregate.Event):
        #: Answers, plans and prompts are intimate: sealed at rest with this check-in's data key.
        intimate = True

    class Started(Event, Aggregate.Created):
        by: UUID
        participants: tuple[UUID, ...]
        cadence: Cadence
        prompts: tuple[str, ...]
        #: What the series is between: a partner link, or an agreement's parties.
        link_id: UUID | None = None
        agreement_id: UUID | None = None

        def apply(self, check_in: CheckIn) -> None:
            check_in.started_by = self.by
            check_in.started_at = self.timestamp
            check_in.participants = self.participants
            check_in.cadence = self.cadence
            check_in.prompts = self.prompts
            check_in.link_id = self.link_id
            check_in.agreement_id = self.agreement_id
            check_in.status = "active"
            check_in.status_by = self.by
            check_in.occurrences = {}
            check_in.open_index = None
            check_in.proposals = {}
            check_in.stopped_because = None

    class PromptsChanged(Event):
        by: UUID
        prompts: tuple[str, ...]

        def apply(self, check_in: CheckIn) -> None:
            check_in.prompts = self.prompts

    class OccurrenceOpened(Event):
        index: int
        starts_at: datetime
        prompts: tuple[str, ...]

        def apply(self, check_in: CheckIn) -> None:
            check_in.occurrences[self.index] = Occurrence(
                index=self.index, starts_at=self.starts_at, scheduled_at=self.starts_at, prompts=self.prompts
            )
            check_in.open_index = self.index

    class Prepared(Event):
        """A private draft, saved as its author types: only they see it until they share."""

        by: UUID
        index: int
        answers: tuple[str, ...]

        def apply(self, check_in: CheckIn) -> None:
            check_in.occurrences[self.index].answers[self.by] = self.answers

    class Shared(Event):
        by: UUID
        index: int

        def apply(self, check_in: CheckIn) -> None:
            check_in.occurrences[self.index].shared[self.by] = self.timestamp

    class Closed(Event):
        by: UUID
        index: int
        plan: str
        action_points: tuple[ActionPoint, ...]

        def apply(self, check_in: CheckIn) -> None:
            occurrence = check_in.occurrences[self.index]
            occurrence.status = "closed"
            occurrence.plan = self.plan
            occurrence.action_points = self.action_points
            occurrence.closed_by = self.by
            check_in.open_index = None

    class Moved(Event):
        by: UUID
        index: int
        to: datetime
        reason: str

        def apply(self, check_in: CheckIn) -> None:
            occurrence = check_in.occurrences[self.index]
            occurrence.starts_at = self.to
            occurrence.moved_reason = self.reason

    class Skipped(Event):
        by: UUID
        index: int
        reason: str

        def apply(self, check_in: CheckIn) -> None:
            occurrence = check_in.occurrences[self.index]
            occurrence.status = "skipped"
            occurrence.skipped_reason = self.reason
            occurrence.skipped_by = self.by
            check_in.open_index = None

    class Missed(Event):
        """Its grace period passed without a plan. No one is named: it did not happen, that is all."""

        index: int

        def apply(self, check_in: CheckIn) -> None:
            check_in.occurrences[self.index].status = "missed"
            check_in.open_index = None

    class ActionPointProposed(Event):
        by: UUID
        index: int
        action_point_id: UUID
        agreement_id: UUID
        proposal_id: UUID

        def apply(self, check_in: CheckIn) -> None:
            check_in.proposals[self.action_point_id] = ProposalLink(
                action_point_id=self.action_point_id,
                index=self.index,
                agreement_id=self.agreement_id,
                proposal_id=self.proposal_id,
                by=self.by,
            )

    class Paused(Event):
        by: UUID

        def apply(self, check_in: CheckIn) -> None:
            check_in.status = "paused"
            check_in.status_by = self.by

    class Resumed(Event):
        by: UUID

        def apply(self, check_in: CheckIn) -> None:
            check_in.status = "active"
            check_in.status_by = self.by

    class Ended(Event):
        by: UUID

        def apply(self, check_in: CheckIn) -> None:
            check_in.status = "ended"
            check_in.status_by = self.by

    class Stopped(Event):
        """What it stood on is gone (the partners' link ended; fewer than two parties of its agreement
        still take part): the scheduler records the end when the open occurrence falls due."""

        reason: str

        def apply(self, check_in: CheckIn) -> None:
            check_in.status = "ended"
            check_in.stopped_because = self.reason

    # Commands

    @classmethod
    def start(
        cls,
        check_in_id: UUID,
        by: UUID,
        participants: Sequence[UUID],
        cadence: Cadence,
        prompts: Sequence[str] | None,
        now: datetime,
        *,
        link_id: UUID | None = None,
        agreement_id: UUID | None = None,
    ) -> CheckIn:
        if (link_id is None) == (agreement_id is None):
            raise ValidationFailed("partner_id", "name either a partner or an agreement")
        if by not in participants:
            raise NotFound("check_in", check_in_id)
        if len(set(participants)) != len(participants) or len(participants) < 2:
            raise ValidationFailed("participants", "a check-in needs at least two different people")
        if len(participants) > MAX_PARTICIPANTS:
            raise ValidationFailed("participants", f"at most {MAX_PARTICIPANTS} participants")
        check_cadence(cadence)
        check_starts_on(cadence.starts_on, now)
        prompts = tuple(DEFAULT_PROMPTS if prompts is None else prompts)
        check_prompts(prompts)
        check_in = cls._create(
            cls.Started,
            id=check_in_id,
            timestamp=now,
            by=by,
            participants=tuple(participants),
            cadence=cadence,
            prompts=prompts,
            link_id=link_id,
            agreement_id=agreement_id,
        )
        check_in._open_next(now, after_index=-1)
        return check_in

    def change_prompts(self, by: UUID, prompts: Sequence[str], now: datetime) -> None:
        """For the occurrences opened from now on: one being prepared keeps the prompts it opened with."""
        self.check_participant(by)
        self.check_not_ended("given new prompts")
        check_prompts(prompts)
        if tuple(prompts) == self.prompts:
            return
        self.trigger_event(self.PromptsChanged, timestamp=now, by=by, prompts=tuple(prompts))

    def prepare(self, by: UUID, index: int, answers: Sequence[str], now: datetime) -> None:
        """Save a private draft. The same answers again append nothing; shared answers are final."""
        self.check_participant(by)
        occurrence = self.check_open(index, "prepared for")
        if len(answers) != len(occurrence.prompts):
            raise ValidationFailed("answers", f"must hold one answer per prompt ({len(occurrence.prompts)})")
        for i, answer in enumerate(answers):
            check_text(f"answers[{i}]", answer, MAX_ANSWER, empty=True)
        if by in occurrence.shared:
            raise AlreadyDone("shared answers to", self.id, by, version=index)
        if occurrence.answers.get(by) == tuple(answers):
            return
        self.trigger_event(self.Prepared, timestamp=now, by=by, index=index, answers=tuple(answers))

    def share(self, by: UUID, index: int, now: datetime) -> None:
        self.check_participant(by)
        occurrence = self.check_open(index, "shared")
        if by in occurrence.shared:
            raise AlreadyDone("shared answers to", self.id, by, version=index)
        if not any(a.strip() for a in occurrence.answers.get(by, ())):
            raise ValidationFailed("answers", "write at least one answer before sharing")
        self.trigger_event(self.Shared, timestamp=now, by=by, index=index)

    def close(
        self,
        by: UUID,
        index: int,
        plan: str,
        action_points: Sequence[ActionPoint],
        now: datetime,
    ) -> None:
        """Agree the plan: the occurrence is done, and the next one opens."""
        self.check_participant(by)
        self.check_open(index, "closed")
        check_text("plan", plan, MAX_PLAN)
        if len(action_points) > MAX_ACTION_POINTS:
            raise ValidationFailed("action_points", f"at most {MAX_ACTION_POINTS} action points")
        for i, point in enumerate(action_points):
            check_text(f"action_points[{i}]", point.text, MAX_ACTION_POINT)
        if len({p.action_point_id for p in action_points}) != len(action_points):
            raise ValidationFailed("action_points", "each action point once")
        self.trigger_event(
            self.Closed, timestamp=now, by=by, index=index, plan=plan, action_points=tuple(action_points)
        )
        self._open_next(now, after_index=index)

    def move(self, by: UUID, index: int, to: datetime, reason: str, now: datetime) -> None:
        self.check_participant(by)
        self.check_open(index, "moved")
        if to.tzinfo is None:
            raise ValidationFailed("to", "must carry a time zone")
        if to <= now:
            raise ValidationFailed("to", "must be in the future")
        check_text("reason", reason, MAX_REASON)
        self.trigger_event(self.Moved, timestamp=now, by=by, index=index, to=to, reason=reason)

    def skip(self, by: UUID, index: int, reason: str, now: datetime) -> None:
        self.check_participant(by)
        self.check_open(index, "skipped")
        check_text("reason", reason, MAX_REASON)
        self.trigger_event(self.Skipped, timestamp=now, by=by, index=index, reason=reason)
        self._open_next(now, after_index=index)

    def miss(self, index: int, now: datetime) -> None:
        """The scheduler's: the open occurrence's grace passed without a plan."""
        if not self.is_due_to_miss(index, now):
            raise OccurrenceNotDue(self.id, index)
        self.trigger_event(self.Missed, timestamp=now, index=index)
        self._open_next(now, after_index=index)

    def stop(self, index: int, reason: str, now: datetime) -> None:
        """The scheduler's, instead of `miss`, once too few people take part."""
        if not self.is_due_to_miss(index, now):
            raise OccurrenceNotDue(self.id, index)
        self.trigger_event(self.Stopped, timestamp=now, reason=reason)

    def is_due_to_miss(self, index: int, now: datetime) -> bool:
        return (
            self.status == "active"
            and self.open_index == index
            and now >= self.occurrences[index].starts_at + GRACE
        )

    def pause(self, by: UUID, now: datetime) -> None:
        self.check_participant(by)
        if self.status != "active":
            raise CheckInStatusForbids(self.id, self.status, "paused")
        self.trigger_event(self.Paused, timestamp=now, by=by)

    def resume(self, by: UUID, now: datetime) -> None:
        """Back to the rhythm. An open occurrence whose time passed while paused is skipped, saying why."""
        self.check_participant(by)
        if self.status != "paused":
            raise CheckInStatusForbids(self.id, self.status, "resumed")
        self.trigger_event(self.Resumed, timestamp=now, by=by)
        index = self.open_index
        if index is not None and self.occurrences[index].starts_at <= now:
            self.trigger_event(self.Skipped, timestamp=now, by=by, index=index, reason="the series was paused")
            self._open_next(now, after_index=index)

    def end(self, by: UUID, now: datetime) -> None:
        self.check_participant(by)
        self.check_not_ended("ended")
        self.trigger_event(self.Ended, timestamp=now, by=by)

    def record_proposal(
        self, by: UUID, action_point_id: UUID, agreement_id: UUID, proposal_id: UUID, now: datetime
    ) -> None:
        self.check_participant(by)
        index = self.action_point(action_point_id)[0]
        if action_point_id in self.proposals:
            raise AlreadyDone("proposed", action_point_id, by)
        self.trigger_event(
            self.ActionPointProposed,
            timestamp=now,
            by=by,
            index=index,
            action_point_id=action_point_id,
            agreement_id=agreement_id,
            proposal_id=proposal_id,
        )

    def _open_next(self, now: datetime, after_index: int) -> None:
        """The next occurrence on the cadence after now (and after the one just ended)."""
        last = self.occurrences.get(after_index)
        moment = now if last is None else max(now, last.starts_at)
        index = first_after(self.cadence, moment, after_index)
        self.trigger_event(
            self.OccurrenceOpened,
            timestamp=now,
            index=index,
            starts_at=starts_at(self.cadence, index),
            prompts=self.prompts,
        )

    # Lookups

    def action_point(self, action_point_id: UUID) -> tuple[int, ActionPoint]:
        for occurrence in self.occurrences.values():
            for point in occurrence.action_points:
                if point.action_point_id == action_point_id:
                    return occurrence.index, point
        raise NotFound("action_point", action_point_id)

    # Invariants

    def check_participant(self, person: UUID) -> None:
        if person not in self.participants:
            raise NotFound("check_in", self.id)

    def check_not_ended(self, action: str) -> None:
        if self.status == "ended":
            raise CheckInStatusForbids(self.id, self.status, action)

    def check_open(self, index: int, action: str) -> Occurrence:
        if self.status != "active":
            raise CheckInStatusForbids(self.id, self.status, action)
        if index != self.open_index:
            if index not in self.occurrences:
                raise NotFound("occurrence", self.id)
            raise OccurrenceNotOpen(self.id, index, self.open_index)
        return self.occurrences[index]

    def check_same_people(
        self, agreement_id: UUID, parties: Collection[UUID], participants: Collection[UUID]
    ) -> None:
        """An action point becomes a renegotiation only of an agreement whose parties are the people
        taking part now: a participant who is not a party would learn of the agreement from the
        check-in, and a party who is not a participant of the check-in from the agreement's timeline."""
        if set(parties) != set(participants):
            raise NotFound("agreement", agreement_id)


# On the calendar


def check_in_slots(
    check_in: CheckIn, participants: Collection[UUID], start: datetime, end: datetime
) -> tuple[Slot, ...]:
    """The occurrences of a series between `start` and `end`, as time on its participants' calendars.

    `participants`: who takes part now (`domain.policy.check_in_participants`); none, no slots.
    Each occurrence opened so far stands where it is (a move shows); a skipped one holds no time,
    nor does the open one of an ended series. While the series is active, the cadence goes on
    beyond the open one; a paused or ended series shows nothing further.
    """
    people = tuple(p for p in check_in.participants if p in participants)
    if not people:
        return ()
    if check_in.started_by in people:  # the starter first, as a plan's proposer is
        people = (check_in.started_by, *(p for p in people if p != check_in.started_by))

    def slot(index: int, begins: datetime, status: SlotStatus) -> Slot:
        return Slot(
            id=check_in.id,
            kind=CHECK_IN,
            participants=people,
            start=begins,
            end=begins + CHECK_IN_LENGTH,
            time_zone=check_in.cadence.time_zone,
            status=status,
            index=index,
        )

    found = []
    for occurrence in sorted(check_in.occurrences.values(), key=lambda o: o.index):
        held = occurrence.status != "skipped" and not (occurrence.status == "open" and check_in.status == "ended")
        candidate = slot(occurrence.index, occurrence.starts_at, "accepted" if held else "cancelled")
        if candidate.overlaps(start, end):
            found.append(candidate)
    if check_in.status == "active":
        # Beyond the last opened (or, before the first opens, from when the series started).
        last = max(check_in.occurrences, default=first_after(check_in.cadence, check_in.started_at) - 1)
        index = first_after(check_in.cadence, start - CHECK_IN_LENGTH, last)
        while (begins := starts_at(check_in.cadence, index)) < end:
            found.append(slot(index, begins, "accepted"))
            index += 1
    return tuple(found)
