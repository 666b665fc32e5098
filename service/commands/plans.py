"""Use cases of a plan: propose, answer, reschedule, cancel.

Invitees are the proposer's live partners, named by handle (or, from the web
form, by id). Who takes part now is the policy's answer (through
`Visibility`), and the answer to a participant is the one view function's.
Proposing, rescheduling and accepting put a `Slot` on people's calendars: the
candidate is `plan.slot()` of the plan as a command's `decide` leaves it, just
before the append (and again on each retry), which is where booking rules
judge it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4, uuid5

import msgspec

from domain import policy
from domain.errors import NotFound, ValidationFailed, seen
from domain.plans import Plan
from service.commands.availability import BookingCheck
from service.commands.runner import (
    CommandKey,
    CommandRunner,
    Outcome,
    owned_by,
    seen_by,
)
from service.read.models import ReadModels
from service.visibility import Visibility


class Plans:
    def __init__(
        self,
        commands: CommandRunner,
        models: ReadModels,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        person_for: Callable[[str], Awaitable[UUID]],
        booking: BookingCheck,
    ) -> None:
        #: Every participant's booking rules, judged on the plan as `decide` leaves it, before the append.
        self.booking = booking
        self.commands = commands
        self.models = models
        self.visibility = visibility
        self.clock = clock
        self.settled = settled
        self.person_for = person_for

    def _booked_for(self, caller: UUID, *, check: bool = True) -> Callable[[Plan], Awaitable[object]]:
        """The answer to a proposal, a reschedule or an answer: the plan with the warnings of its
        participants' rules. `check`: the rules judge it first (a refusing rule raises, and nothing is
        appended); run again on every retry, so it judges the plan about to be appended."""

        async def render(plan: Plan) -> object:
            warnings = await self.booking.check_plan(caller, plan) if check else []
            view = await self.visibility.plan(caller, plan.id, current=plan)
            return view and policy.PlannedView(**msgspec.structs.asdict(view), warnings=tuple(warnings))

        return render

    async def invitees(self, caller: UUID, handles: Sequence[str], partner_ids: Sequence[UUID]) -> list[UUID]:
        """The people named, each of whom must be a live partner of the caller.

        A handle is resolved without regard to blocks: someone who blocked the caller is invited
        like anyone (the plan never reaches them, `policy.plan_access`), so the caller cannot tell.
        Someone who is not a live partner, and a handle without an account, are refused alike."""
        named = [*[await self.person_for(h) for h in handles], *partner_ids]
        network = await self.models.network_around((caller,))
        partners = policy.partners_of(caller, network.links)
        if any(person not in partners for person in named if person != caller):
            raise ValidationFailed("invitees", "may name only your live partners")
        return named

    async def propose(
        self,
        caller: UUID,
        handles: Sequence[str],
        partner_ids: Sequence[UUID],
        kind: str,
        title: str,
        place: str | None,
        start: datetime,
        end: datetime,
        time_zone: str,
        key: CommandKey | None,
        *,
        plan_id: UUID | None = None,
    ) -> Outcome:
        new_id = plan_id or (uuid4() if key is None else uuid5(caller, key.key))
        key = owned_by(new_id, key, "proposed")
        invitees = await self.invitees(caller, handles, partner_ids)

        def decide(_: Plan | None) -> Plan:
            return Plan.propose(new_id, caller, invitees, kind, title, place, start, end, time_zone, self.clock())

        if (early := await self.commands.repeated(key)) is not None:
            return early
        decide(None)  # bad input is refused before anything is read or appended
        async with self.booking.held((caller, *invitees)):
            outcome = await self.commands.run(Plan, new_id, decide, self._booked_for(caller), key=key, creates=True)
        return await self.settled(outcome)

    async def _on_plan(
        self,
        caller: UUID,
        plan_id: UUID,
        key: CommandKey | None,
        what: str,
        command: Callable[[Plan], None],
        render: Callable[[Plan], Awaitable[object]] | None = None,
        *,
        books: bool = False,
    ) -> Outcome:
        """`books`: the command puts times on its participants' calendars, so it is judged and
        appended while no other plan of theirs is (`BookingCheck.held`)."""
        known = await self.models.aggregate(Plan, plan_id)
        if known is None or caller not in await self.visibility.plan_participants(known.time):
            # Non-participants learn nothing, not even that it exists.
            raise NotFound("plan", plan_id)
        if await self.visibility.plan(caller, plan_id, current=known) is None:
            raise NotFound("plan", plan_id)

        def decide(plan: Plan | None) -> Plan:
            assert plan is not None
            plan.check_participant(caller)
            command(plan)
            return plan

        key = owned_by(plan_id, key, f"{what}:{caller}")
        async with self.booking.held(known.participants) if books else contextlib.nullcontext():
            outcome = await self.commands.run(Plan, plan_id, decide, render or seen_by(caller, self.visibility.plan), key=key)
        return await self.settled(outcome)

    async def answer(
        self,
        caller: UUID,
        plan_id: UUID,
        answer: str,
        note: str | None,
        proposal: int | None,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_plan(
            caller, plan_id, key, "answered", lambda p: p.answer(caller, answer, note, self.clock(), proposal),
            self._booked_for(caller, check=answer == "accepted"),
            books=answer == "accepted",
        )

    async def reschedule(
        self,
        caller: UUID,
        plan_id: UUID,
        start: datetime,
        end: datetime,
        place: str | None,
        time_zone: str,
        note: str | None,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_plan(
            caller,
            plan_id,
            key,
            "rescheduled",
            lambda p: p.reschedule(caller, start, end, place, time_zone, note, self.clock()),
            self._booked_for(caller),
            books=True,
        )

    async def cancel(self, caller: UUID, plan_id: UUID, note: str | None, key: CommandKey | None) -> Outcome:
        return await self._on_plan(caller, plan_id, key, "cancelled", lambda p: p.cancel(caller, note, self.clock()))


class PlanReads:
    """A participant's reads: one plan, and their list."""

    def __init__(self, visibility: Visibility) -> None:
        self.visibility = visibility

    async def view(self, caller: UUID, plan_id: UUID) -> policy.PlanView:
        return seen(await self.visibility.plan(caller, plan_id), "plan", plan_id)

    async def mine(self, caller: UUID) -> list[policy.PlanView]:
        return await self.visibility.my_plans(caller)
