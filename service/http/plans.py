"""Plans: propose a plan to live partners, answer it, reschedule it, cancel it.

Every mutating route takes an optional `Idempotency-Key` header and answers
with the participant's view of the plan and an `Accord-Position` header.
Anyone but a participant gets 404, whether or not the plan exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from domain.plans import MAX_INVITEES, MAX_NOTE, MAX_PLACE, MAX_TITLE
from domain.policy import PlannedView, PlanView
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import Handle, Strict

PlanId = FromPath[UUID]
TimeZone = Annotated[str, Meta(min_length=1, max_length=64, description="an IANA time zone, like Europe/Berlin")]
Note = Annotated[str, Meta(max_length=MAX_NOTE)]
Place = Annotated[str, Meta(max_length=MAX_PLACE)]


class ProposePlan(Strict):
    """Invitees: live partners of mine, by handle (`invitees`) or by id (`partner_ids`); at least one."""

    kind: Literal["date", "overnight", "call", "other"]
    title: Annotated[str, Meta(min_length=1, max_length=MAX_TITLE)]
    start: Annotated[datetime, Meta(tz=True)]
    end: Annotated[datetime, Meta(tz=True)]
    time_zone: TimeZone
    place: Place | None = None
    invitees: Annotated[list[Handle], Meta(max_length=MAX_INVITEES)] = []
    partner_ids: Annotated[list[UUID], Meta(max_length=MAX_INVITEES)] = []
    plan_id: UUID | None = None


class AnswerPlan(Strict):
    answer: Literal["accepted", "declined"]
    note: Note | None = None
    #: The proposal answered (the plan's `proposal`): a plan rescheduled since answers 409 with the current one.
    proposal: Annotated[int, Meta(ge=1)] | None = None


class ReschedulePlan(Strict):
    start: Annotated[datetime, Meta(tz=True)]
    end: Annotated[datetime, Meta(tz=True)]
    time_zone: TimeZone
    place: Place | None = None
    note: Note | None = None


class CancelPlan(Strict):
    note: Note | None = None


class PlanController(Controller):
    path = "/api/plans"
    tags = ["plans"]
    dependencies = {**CALLER, **KEY}

    @post("/", summary="Propose a plan to one or more of my live partners", status_code=201, responses=COMMAND)
    async def propose(self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ProposePlan]) -> Response[PlannedView]:
        outcome = await accord.plans.propose(
            caller, data.invitees, data.partner_ids, data.kind, data.title, data.place, data.start, data.end,
            data.time_zone, key, plan_id=data.plan_id,
        )  # fmt: skip
        return respond(outcome)

    @get("/", summary="The plans I take part in, soonest first", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> list[PlanView]:
        return await accord.plan_reads.mine(caller)

    @get("/{plan_id:uuid}", summary="A plan, with its history, as a participant sees it", responses=READ)
    async def view(self, accord: AccordDep, caller: Caller, plan_id: PlanId) -> PlanView:
        return await accord.plan_reads.view(caller, plan_id)

    @post("/{plan_id:uuid}/answer", summary="Accept or decline the times on the table", status_code=200, responses=COMMAND)
    async def answer(
        self, accord: AccordDep, caller: Caller, key: Key, plan_id: PlanId, data: JSONBody[AnswerPlan]
    ) -> Response[PlannedView]:
        return respond(await accord.plans.answer(caller, plan_id, data.answer, data.note, data.proposal, key))

    @post(
        "/{plan_id:uuid}/reschedule",
        summary="Propose new times or place (everyone else's answer is pending again)",
        status_code=200,
        responses=COMMAND,
    )
    async def reschedule(
        self, accord: AccordDep, caller: Caller, key: Key, plan_id: PlanId, data: JSONBody[ReschedulePlan]
    ) -> Response[PlannedView]:
        return respond(
            await accord.plans.reschedule(
                caller, plan_id, data.start, data.end, data.place, data.time_zone, data.note, key
            )
        )

    @post("/{plan_id:uuid}/cancel", summary="Cancel the plan, with a note (for every participant)", status_code=200, responses=COMMAND)
    async def cancel(
        self, accord: AccordDep, caller: Caller, key: Key, plan_id: PlanId, data: JSONBody[CancelPlan]
    ) -> Response[PlanView]:
        return respond(await accord.plans.cancel(caller, plan_id, data.note, key))
