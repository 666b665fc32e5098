"""Check-ins: a recurring check-in series, its occurrences, private preparation, sharing and the plan.

Every mutating route takes an optional `Idempotency-Key` header and answers
with the participant's view of the series and an `Accord-Position` header.
Anyone but a participant gets 404, whether or not the series exists.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody

from domain.cadence import Cadence
from domain.policy import CheckInView
from service.http.agreements import _change
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import (
    ChangePrompts,
    CloseOccurrence,
    MoveOccurrence,
    Prepare,
    ProposeFromActionPoint,
    SkipOccurrence,
    StartCheckIn,
)
from service.visibility import CheckInSummary

CheckInId = FromPath[UUID]
Index = FromPath[int]


class CheckInController(Controller):
    path = "/api/check-ins"
    tags = ["check-ins"]
    dependencies = {**CALLER, **KEY}

    @post("/", summary="Start a check-in series with a live partner or an agreement's parties", status_code=201, responses=COMMAND)
    async def start(self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[StartCheckIn]) -> Response[CheckInView]:
        cadence = Cadence(
            kind=data.kind, at=data.at, time_zone=data.time_zone, starts_on=data.starts_on,
            every=data.every, weekday=data.weekday, day=data.day,
        )  # fmt: skip
        outcome = await accord.check_ins.start(
            caller, cadence, data.prompts, key,
            partner_id=data.partner_id, agreement_id=data.agreement_id, check_in_id=data.check_in_id,
        )  # fmt: skip
        return respond(outcome)

    @get("/", summary="The check-ins I take part in", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> list[CheckInSummary]:
        return await accord.check_in_reads.mine(caller)

    @get("/{check_in_id:uuid}", summary="A check-in series, as a participant sees it", responses=READ)
    async def view(self, accord: AccordDep, caller: Caller, check_in_id: CheckInId) -> CheckInView:
        return await accord.check_in_reads.view(caller, check_in_id)

    @put("/{check_in_id:uuid}/prompts", summary="Change the prompts of the occurrences to come", status_code=200, responses=COMMAND)
    async def prompts(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, data: JSONBody[ChangePrompts]
    ) -> Response[CheckInView]:
        return respond(await accord.check_ins.change_prompts(caller, check_in_id, data.prompts, key))

    @post("/{check_in_id:uuid}/pause", summary="Pause the series (nobody's permission needed; the others see it)", status_code=200, responses=COMMAND)
    async def pause(self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId) -> Response[CheckInView]:
        return respond(await accord.check_ins.pause(caller, check_in_id, key))

    @post("/{check_in_id:uuid}/resume", summary="Resume a paused series", status_code=200, responses=COMMAND)
    async def resume(self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId) -> Response[CheckInView]:
        return respond(await accord.check_ins.resume(caller, check_in_id, key))

    @post("/{check_in_id:uuid}/end", summary="End the series (nobody's permission needed; the others see it)", status_code=200, responses=COMMAND)
    async def end(self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId) -> Response[CheckInView]:
        return respond(await accord.check_ins.end(caller, check_in_id, key))

    @put(
        "/{check_in_id:uuid}/occurrences/{index:int}/preparation",
        summary="Save my private answers to the open occurrence (only I see them until I share)",
        status_code=200,
        responses=COMMAND,
    )
    async def prepare(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, index: Index, data: JSONBody[Prepare]
    ) -> Response[CheckInView]:
        return respond(await accord.check_ins.prepare(caller, check_in_id, index, data.answers, key))

    @post(
        "/{check_in_id:uuid}/occurrences/{index:int}/share",
        summary="Share my answers with the other participants; they are final then",
        status_code=200,
        responses=COMMAND,
    )
    async def share(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, index: Index
    ) -> Response[CheckInView]:
        return respond(await accord.check_ins.share(caller, check_in_id, index, key))

    @post(
        "/{check_in_id:uuid}/occurrences/{index:int}/close",
        summary="Agree the plan and action points; the next occurrence opens",
        status_code=200,
        responses=COMMAND,
    )
    async def close(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, index: Index,
        data: JSONBody[CloseOccurrence],
    ) -> Response[CheckInView]:  # fmt: skip
        return respond(await accord.check_ins.close(caller, check_in_id, index, data.plan, data.action_points, key))

    @post("/{check_in_id:uuid}/occurrences/{index:int}/move", summary="Move the open occurrence, with a reason", status_code=200, responses=COMMAND)
    async def move(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, index: Index,
        data: JSONBody[MoveOccurrence],
    ) -> Response[CheckInView]:  # fmt: skip
        return respond(await accord.check_ins.move(caller, check_in_id, index, data.to, data.reason, key))

    @post("/{check_in_id:uuid}/occurrences/{index:int}/skip", summary="Skip the open occurrence, with a reason", status_code=200, responses=COMMAND)
    async def skip(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId, index: Index,
        data: JSONBody[SkipOccurrence],
    ) -> Response[CheckInView]:  # fmt: skip
        return respond(await accord.check_ins.skip(caller, check_in_id, index, data.reason, key))

    @post(
        "/{check_in_id:uuid}/action-points/{action_point_id:uuid}/proposal",
        summary="Open a renegotiation from an action point (its text is the reason), linked both ways",
        status_code=201,
        responses=COMMAND,
    )
    async def propose(
        self, accord: AccordDep, caller: Caller, key: Key, check_in_id: CheckInId,
        action_point_id: FromPath[UUID], data: JSONBody[ProposeFromActionPoint],
    ) -> Response[CheckInView]:  # fmt: skip
        changes = [_change(i, c) for i, c in enumerate(data.changes)]
        return respond(
            await accord.check_ins.propose_from_action_point(caller, check_in_id, action_point_id, data.agreement_id, changes, key)
        )
