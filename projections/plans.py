"""Plans: whose they are, and each plan as time.

`PLANS`: one document per person, the plans they were proposed with (whether
they still take part is the policy's to say). `PLAN_TIMES`: one document per
plan, its `PlanTime` (who, when, the answers; nothing intimate: the title,
place and notes stay sealed in the plan's own stream), folded by the plan's
own fold (`domain.plans.timed`), so the calendar and booking rules read a
person's plans in a window without opening any plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from domain.plans import Plan, PlanTime, timed
from projections.projection import Projection


class PersonPlans(msgspec.Struct):
    plans: list[UUID] = []


def _person_keys(event: object) -> Iterable[str]:
    if isinstance(event, Plan.Proposed):
        return tuple(str(p) for p in (event.proposer, *event.invitees))
    return ()


def _person_evolve(document: PersonPlans | None, event: object) -> PersonPlans | None:
    found = [] if document is None else document.plans
    plan_id: UUID = event.originator_id  # type: ignore[attr-defined]
    return PersonPlans(plans=found if plan_id in found else [*found, plan_id])


PLANS = Projection(name="plans", document=PersonPlans, handles=(Plan.Proposed,), keys=_person_keys, evolve=_person_evolve)

TIME_HANDLES = (Plan.Proposed, Plan.Answered, Plan.Rescheduled, Plan.Cancelled)


def _time_keys(event: object) -> Iterable[str]:
    return (str(event.originator_id),)  # type: ignore[attr-defined]


def _time_evolve(document: PlanTime | None, event: object) -> PlanTime | None:
    return timed(document, event)


PLAN_TIMES = Projection(
    name="plan_times", document=PlanTime, handles=TIME_HANDLES, keys=_time_keys, evolve=_time_evolve
)


def in_window(times: Sequence[PlanTime], start: datetime, end: datetime) -> list[PlanTime]:
    """The plans that overlap [start, end), earliest first."""
    return sorted((t for t in times if t.start < end and start < t.end), key=lambda t: (t.start, str(t.plan_id)))
