"""What leaves the server: typed views, the same for HTTP responses and pushes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from uuid import UUID

import msgspec

from domain.agreement import (
    Agreement,
    Clause,
    ClauseChange,
    Comment,
    DueReview,
    EndDateChange,
    Proposal,
    RepairNote,
)


class PartyRef(msgspec.Struct, frozen=True):
    """A party, named for the other parties (they always see each other's names)."""

    person_id: UUID
    name: str


# A party sees the domain's own value objects as they are.
ClauseView = Clause
ChangeView = ClauseChange
CommentView = Comment


class ProposalView(msgspec.Struct, frozen=True):
    proposal_id: UUID
    proposer: UUID
    base_version: int
    reason: str
    status: str
    changes: list[ChangeView]
    accepted_by: list[UUID]
    comments: list[CommentView]
    #: A change of the end date, if the renegotiation makes one.
    end_date: EndDateChange | None = None


class RepairNoteView(msgspec.Struct, frozen=True):
    note_id: UUID
    author: UUID
    clause_id: UUID
    what_happened: str
    impact: str
    intentions: str
    acknowledged_by: list[UUID]
    linked_proposals: list[UUID]


class InvitationView(msgspec.Struct, frozen=True):
    handle: str


class ReviewView(msgspec.Struct, frozen=True):
    """A clause due for review: its revisit date came; every party reaffirms it, or someone proposes a change."""

    clause_id: UUID
    revisit_on: date
    revision: int
    #: The next revisit date the reaffirmations so far name (None: none).
    next_revisit_on: date | None
    reaffirmed_by: list[UUID]


class RevisitView(msgspec.Struct, frozen=True):
    clause_id: UUID
    revisit_on: date


class TemplateRef(msgspec.Struct, frozen=True):
    template_id: str
    version: int


class AgreementView(msgspec.Struct, frozen=True, kw_only=True):
    """A party's view: everything about the agreement."""

    agreement_id: UUID
    title: str
    status: str
    version: int
    in_force_version: int | None
    parties: list[PartyRef]
    invitations: list[InvitationView]
    consented: list[UUID]
    #: Parties who asked to discard this draft (when every party has, it is gone).
    discard_asked: list[UUID]
    clauses: list[ClauseView]
    proposals: list[ProposalView]
    repair_notes: list[RepairNoteView]
    #: Clauses' revisit dates (in force, or as drafted) and the reviews open now: parties only.
    revisits: list[RevisitView] = msgspec.field(default_factory=list)
    due_reviews: list[ReviewView] = msgspec.field(default_factory=list)
    #: A temporary agreement's end date: it lapses when that day begins (UTC).
    until: date | None = None
    #: The template its first drafts came from, if any: its id and the version of its wording.
    template: TemplateRef | None = None
    view: str = "party"


class AgreementSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    agreement_id: UUID
    relation: str
    """`party`, `invited`, `shared` (a metamour with a grant), or `former` (just left, or discarded)."""
    title: str | None = None
    """Not for `shared`: a title can name people or say what hidden clauses say."""
    status: str | None = None


def clause_views(clauses: Mapping[UUID, Clause]) -> list[ClauseView]:
    return sorted(clauses.values(), key=lambda c: (c.topic, str(c.clause_id)))


def _proposal_view(p: Proposal) -> ProposalView:
    return ProposalView(
        proposal_id=p.proposal_id,
        proposer=p.proposer,
        base_version=p.base_version,
        reason=p.reason,
        status=p.status,
        changes=list(p.changes),
        accepted_by=sorted(p.accepted_by, key=str),
        comments=list(p.comments),
        end_date=p.end_date,
    )


def _note_view(n: RepairNote) -> RepairNoteView:
    return RepairNoteView(
        note_id=n.note_id,
        author=n.author,
        clause_id=n.clause_id,
        what_happened=n.what_happened,
        impact=n.impact,
        intentions=n.intentions,
        acknowledged_by=sorted(n.acknowledged_by, key=str),
        linked_proposals=list(n.linked_proposals),
    )


def _review_view(r: DueReview) -> ReviewView:
    return ReviewView(
        clause_id=r.clause_id,
        revisit_on=r.revisit_on,
        revision=r.revision,
        next_revisit_on=r.next_revisit_on,
        reaffirmed_by=sorted(r.reaffirmed_by, key=str),
    )


def party_view(
    agreement: Agreement, names: dict[UUID, str], invitation_handles: dict[UUID, str]
) -> AgreementView:
    return AgreementView(
        agreement_id=agreement.id,
        title=agreement.title,
        status=agreement.status,
        version=agreement.content_version,
        in_force_version=agreement.in_force_version,
        parties=[PartyRef(p, str(names.get(p, ""))) for p in agreement.parties],
        invitations=[InvitationView(invitation_handles.get(i, "")) for i in agreement.invitees],
        consented=sorted(agreement.consents, key=str),
        discard_asked=sorted(agreement.discard_asks, key=str),
        clauses=clause_views(agreement.clauses),
        proposals=[_proposal_view(p) for p in agreement.proposals.values()],
        repair_notes=[_note_view(n) for n in agreement.repair_notes.values()],
        revisits=[RevisitView(c, on) for c, on in sorted(agreement.revisit_dates.items(), key=lambda i: (i[1], str(i[0])))],
        due_reviews=[_review_view(r) for r in agreement.due_reviews.values()],
        until=agreement.end_date,
        template=None if (used := getattr(agreement, "template", None)) is None else TemplateRef(*used),
    )
