"""The calendar's vocabulary: a stretch of time some people spend together, as consent and booking rules read it.

A `Slot` is what the events layer of consent (`domain.policy`), booking rules
(`domain.availability`) and the calendar feed know of a plan (domain/plans.py) or
of one check-in occurrence (domain/checkins.py): who takes part, when, and
whether it still holds their time. Nothing intimate is in it: a plan's title
and place stay with the plan, and reach only those who may see it in full.

Each person chooses, per partner, whether that partner sees their time as
`busy` or not at all (`nothing`, the default: silence is private).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

#: The kinds of plan a person proposes.
PLAN_KINDS: dict[str, str] = {
    "date": "Date",
    "overnight": "Overnight",
    "call": "Call",
    "other": "Plan",
}
#: The kind of a check-in occurrence on the calendar.
CHECK_IN = "check_in"
#: A cadence names when a check-in starts, not when it ends: this is how long it stands on a calendar.
CHECK_IN_LENGTH = timedelta(hours=1)

SlotStatus = Literal["proposed", "accepted", "declined", "cancelled"]
#: What a person shows one partner of their other time.
Shows = Literal["busy", "nothing"]
SHOWS: tuple[Shows, ...] = ("busy", "nothing")
#: How much of a slot one viewer sees.
Sight = Literal["full", "busy"]


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    """One plan, or one check-in occurrence, as time on people's calendars."""

    #: The plan's id, or the check-in series' id (with `index`).
    id: UUID
    #: A key of `PLAN_KINDS`, or `CHECK_IN`.
    kind: str
    #: Everyone it is among, the proposer first.
    participants: tuple[UUID, ...]
    #: Aware datetimes; `start` < `end`.
    start: datetime
    end: datetime
    #: The IANA zone it was planned in (a plan's, or the check-in's cadence's).
    time_zone: str
    status: SlotStatus
    #: A check-in occurrence's number in its series.
    index: int | None = None
    #: The participants the others see named (a plan's: who proposed, rescheduled or accepted it; inviting
    #: two people who do not know each other does not introduce them). None: all of them (a check-in's).
    named: frozenset[UUID] | None = None
    #: The participants who committed this time, and so may be shown busy in it to others: a plan's, who
    #: accepted the times on the table (an invitation not yet answered is nobody's busy time but its
    #: own participants' to see). None: all of them (a check-in's).
    committed: frozenset[UUID] | None = None

    @property
    def holds_time(self) -> bool:
        """Whether it takes up its participants' time: proposed or accepted, not declined or cancelled."""
        return self.status in ("proposed", "accepted")

    def commits(self, person: UUID) -> bool:
        return self.committed is None or person in self.committed

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end
