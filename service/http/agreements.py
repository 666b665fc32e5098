"""Agreements: drafting, consent, renegotiation, repair notes and the timeline.

Every mutating route takes an optional `Idempotency-Key` header and answers
with the party's view of the agreement and an `Accord-Position` header.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from domain.agreement import ClauseChange, EndDateChange
from domain.errors import ValidationFailed
from domain.policy import InvitationView, SharedView
from projections.diff import VersionDiff
from projections.timeline import Entry
from service.http.auth import CALLER, Caller, log_head
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import (
    AddClause,
    Change,
    CommentOn,
    Consent,
    CreateAgreement,
    Decline,
    EditClause,
    Invite,
    Invited,
    LinkRepairNote,
    Propose,
    Reaffirm,
    SetEndDate,
    SetRevisitDate,
    WriteRepairNote,
)
from service.views import AgreementSummary, AgreementView, ClauseView

AgreementId = FromPath[UUID]


class AgreementController(Controller):
    path = "/api/agreements"
    tags = ["agreements"]
    dependencies = {**CALLER, **KEY}

    @post(
        "/",
        summary="Create an agreement, blank or started from a template; the caller is its first party",
        status_code=201,
        responses=COMMAND,
    )
    async def create(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[CreateAgreement]
    ) -> Response[AgreementView]:
        if data.template_id is not None:
            template = accord.library.agreement_template(data.template_id)
            return respond(
                await accord.agreements.start_from_template(caller, template, data.title, key, data.agreement_id)
            )
        return respond(await accord.agreements.create_agreement(caller, data.title, key, data.agreement_id))

    @get("/", summary="The agreements I am a party of or invited to", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> list[AgreementSummary]:
        return await accord.queries.my_agreements(caller)

    @get("/{agreement_id:uuid}", summary="An agreement, as the caller may see it", responses=READ)
    async def view(
        self, request: Request, accord: AccordDep, caller: Caller, agreement_id: AgreementId
    ) -> AgreementView | AgreementSummary | SharedView:
        return await accord.queries.view_agreement(caller, agreement_id, known_head=log_head(request))

    @post(
        "/{agreement_id:uuid}/invitations",
        summary="Invite a person by handle; the answer is the same whether or not the handle exists",
        status_code=202,
        responses=COMMAND,
    )
    async def invite(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[Invite]
    ) -> Response[Invited]:
        outcome = await accord.agreements.invite(caller, agreement_id, data.handle, key)
        outcome.body = Invited()
        return respond(outcome)

    @get("/{agreement_id:uuid}/invitation", summary="An invitation addressed to me", responses=READ)
    async def invitation(self, accord: AccordDep, caller: Caller, agreement_id: AgreementId) -> InvitationView:
        return await accord.queries.invitation(caller, agreement_id)

    @post(
        "/{agreement_id:uuid}/invitation/accept",
        summary="Accept my invitation and become a party",
        status_code=200,
        responses=COMMAND,
    )
    async def accept_invitation(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.accept_invitation(caller, agreement_id, key))

    @post(
        "/{agreement_id:uuid}/invitation/decline",
        summary="Decline my invitation",
        status_code=200,
        responses=COMMAND,
    )
    async def decline_invitation(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementSummary]:
        return respond(await accord.agreements.decline_invitation(caller, agreement_id, key))

    @post(
        "/{agreement_id:uuid}/leave",
        summary="Leave; the others must consent afresh",
        status_code=200,
        responses=COMMAND,
    )
    async def leave(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementSummary]:
        return respond(await accord.agreements.leave(caller, agreement_id, key))

    @post(
        "/{agreement_id:uuid}/discard",
        summary="Ask to discard the draft; when every party has asked (a sole party at once), it is gone for everyone",
        status_code=200,
        responses=COMMAND,
    )
    async def ask_to_discard(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementView | AgreementSummary]:
        return respond(await accord.agreements.ask_to_discard(caller, agreement_id, key))

    @delete(
        "/{agreement_id:uuid}/discard",
        summary="No longer ask to discard the draft",
        status_code=200,
        responses=COMMAND,
    )
    async def withdraw_discard(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.withdraw_discard(caller, agreement_id, key))

    @post(
        "/{agreement_id:uuid}/clauses",
        summary="Add a clause to the draft",
        status_code=201,
        responses=COMMAND,
    )
    async def add_clause(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[AddClause]
    ) -> Response[AgreementView]:
        outcome = await accord.agreements.add_clause(caller, agreement_id, data.topic, data.text, key, data.clause_id)
        return respond(outcome)

    @put(
        "/{agreement_id:uuid}/clauses/{clause_id:uuid}",
        summary="Edit a draft clause, naming the revision the edit is based on",
        responses=COMMAND,
    )
    async def edit_clause(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        clause_id: FromPath[UUID],
        data: JSONBody[EditClause],
    ) -> Response[AgreementView]:
        outcome = await accord.agreements.edit_clause(
            caller, agreement_id, clause_id, data.text, data.based_on_revision, key
        )
        return respond(outcome)

    @delete(
        "/{agreement_id:uuid}/clauses/{clause_id:uuid}",
        summary="Remove a draft clause, naming the revision the removal is based on",
        status_code=200,
        responses=COMMAND,
    )
    async def remove_clause(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        clause_id: FromPath[UUID],
        based_on_revision: Annotated[int, QueryParameter(name="based_on_revision", ge=1)],
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.remove_clause(caller, agreement_id, clause_id, based_on_revision, key))

    @post(
        "/{agreement_id:uuid}/consents",
        summary="Consent to the exact current version",
        status_code=200,
        responses=COMMAND,
    )
    async def consent(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[Consent]
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.consent(caller, agreement_id, data.version, key))

    @delete(
        "/{agreement_id:uuid}/consents/mine",
        summary="Withdraw my consent before ratification",
        status_code=200,
        responses=COMMAND,
    )
    async def withdraw_consent(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.withdraw_consent(caller, agreement_id, key))

    @post(
        "/{agreement_id:uuid}/proposals",
        summary="Propose a renegotiation of the version in force",
        status_code=201,
        responses=COMMAND,
    )
    async def propose(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[Propose]
    ) -> Response[AgreementView]:
        changes = [_change(i, c) for i, c in enumerate(data.changes)]
        end_date = None if data.end_date is None else EndDateChange(data.end_date.until)
        outcome = await accord.agreements.propose(
            caller, agreement_id, changes, data.reason, key, data.proposal_id, end_date
        )
        return respond(outcome)

    @post(
        "/{agreement_id:uuid}/proposals/{proposal_id:uuid}/comments",
        summary="Comment on a proposal",
        status_code=201,
        responses=COMMAND,
    )
    async def comment(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        proposal_id: FromPath[UUID],
        data: JSONBody[CommentOn],
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.comment(caller, agreement_id, proposal_id, data.text, key))

    @post(
        "/{agreement_id:uuid}/proposals/{proposal_id:uuid}/accept",
        summary="Accept a proposal; accepted by every party, it is the next version in force",
        status_code=200,
        responses=COMMAND,
    )
    async def accept(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, proposal_id: FromPath[UUID]
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.accept(caller, agreement_id, proposal_id, key))

    @post(
        "/{agreement_id:uuid}/proposals/{proposal_id:uuid}/decline",
        summary="Decline a proposal, with a reason; the version in force stays",
        status_code=200,
        responses=COMMAND,
    )
    async def decline(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        proposal_id: FromPath[UUID],
        data: JSONBody[Decline],
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.decline(caller, agreement_id, proposal_id, data.reason, key))

    @post(
        "/{agreement_id:uuid}/proposals/{proposal_id:uuid}/withdraw",
        summary="Withdraw my own proposal",
        status_code=200,
        responses=COMMAND,
    )
    async def withdraw(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, proposal_id: FromPath[UUID]
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.withdraw(caller, agreement_id, proposal_id, key))

    @post(
        "/{agreement_id:uuid}/repair-notes",
        summary="Write a repair note about a clause",
        status_code=201,
        responses=COMMAND,
    )
    async def write_repair_note(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[WriteRepairNote]
    ) -> Response[AgreementView]:
        outcome = await accord.agreements.write_repair_note(
            caller, agreement_id, data.clause_id, data.what_happened, data.impact, data.intentions, key
        )
        return respond(outcome)

    @post(
        "/{agreement_id:uuid}/repair-notes/{note_id:uuid}/acknowledge",
        summary="Acknowledge another party's repair note",
        status_code=200,
        responses=COMMAND,
    )
    async def acknowledge(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, note_id: FromPath[UUID]
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.acknowledge_repair_note(caller, agreement_id, note_id, key))

    @post(
        "/{agreement_id:uuid}/repair-notes/{note_id:uuid}/links",
        summary="Point my repair note to the renegotiation it led to",
        status_code=200,
        responses=COMMAND,
    )
    async def link_repair_note(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        note_id: FromPath[UUID],
        data: JSONBody[LinkRepairNote],
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.link_repair_note(caller, agreement_id, note_id, data.proposal_id, key))

    @put(
        "/{agreement_id:uuid}/clauses/{clause_id:uuid}/revisit",
        summary="Set or clear a draft clause's revisit date (part of what the parties consent to)",
        responses=COMMAND,
    )
    async def set_revisit_date(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        clause_id: FromPath[UUID],
        data: JSONBody[SetRevisitDate],
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.set_revisit_date(caller, agreement_id, clause_id, data.revisit_on, key))

    @put(
        "/{agreement_id:uuid}/end-date",
        summary="Set or clear the draft's end date: a temporary agreement lapses when that day begins (UTC)",
        responses=COMMAND,
    )
    async def set_end_date(
        self, accord: AccordDep, caller: Caller, key: Key, agreement_id: AgreementId, data: JSONBody[SetEndDate]
    ) -> Response[AgreementView]:
        return respond(await accord.agreements.set_end_date(caller, agreement_id, data.until, key))

    @post(
        "/{agreement_id:uuid}/clauses/{clause_id:uuid}/reaffirm",
        summary="Reaffirm a clause due for review; reaffirmed by every party, the review is settled",
        status_code=200,
        responses=COMMAND,
    )
    async def reaffirm(
        self,
        accord: AccordDep,
        caller: Caller,
        key: Key,
        agreement_id: AgreementId,
        clause_id: FromPath[UUID],
        data: JSONBody[Reaffirm],
    ) -> Response[AgreementView]:
        outcome = await accord.agreements.reaffirm(
            caller, agreement_id, clause_id, data.revision, data.next_revisit_on, key
        )
        return respond(outcome)

    @get("/{agreement_id:uuid}/timeline", summary="Every step, in order, with who, when, why and its log position", responses=READ)
    async def timeline(self, accord: AccordDep, caller: Caller, agreement_id: AgreementId) -> list[Entry]:
        return await accord.queries.entries(caller, agreement_id)

    @get("/{agreement_id:uuid}/versions/{version:int}", summary="The clauses as they were at a version", responses=READ)
    async def version(
        self, accord: AccordDep, caller: Caller, agreement_id: AgreementId, version: FromPath[int]
    ) -> list[ClauseView]:
        return await accord.queries.version(caller, agreement_id, version)

    @get("/{agreement_id:uuid}/diff", summary="What changed between two versions, word by word", responses=READ)
    async def diff(
        self,
        accord: AccordDep,
        caller: Caller,
        agreement_id: AgreementId,
        old: Annotated[int, QueryParameter(name="from", ge=0)],
        new: Annotated[int, QueryParameter(name="to", ge=0)],
    ) -> VersionDiff:
        return await accord.queries.diff(caller, agreement_id, old, new)


def _change(index: int, change: Change) -> ClauseChange:
    """A new clause may come without an id; an edit or removal must name its clause."""
    if change.clause_id is None:
        if change.kind != "add":
            raise ValidationFailed(f"changes[{index}].clause_id", f"is required to {change.kind} a clause")
        return ClauseChange(change.kind, uuid4(), change.topic, change.text, change.revisit_on)
    return ClauseChange(change.kind, change.clause_id, change.topic, change.text, change.revisit_on)
