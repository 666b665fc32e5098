"""One agreement's history: who did what, when, and its content at every version.

`evolve` never mutates the state it is given, so a caller may keep old states.
Entries carry the clause ids and topics they touch so a consented view can show
an audience only the history of the clauses it may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from domain.agreement import Agreement, Clause, ClauseChange, apply_changes

Kind = Literal[
    "drafted",
    "invited",
    "joined",
    "declined_invitation",
    "left",
    "clause_added",
    "clause_edited",
    "clause_removed",
    "consented",
    "consent_withdrawn",
    "ratified",
    "proposed",
    "commented",
    "accepted",
    "declined",
    "withdrawn",
    "adopted",
    "repair_note",
    "acknowledged",
    "repair_note_linked",
]

Content = dict[UUID, Clause]


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    kind: Kind
    actor: UUID | None
    at: datetime
    #: The content version after this entry.
    version: int
    summary: str
    clause_ids: tuple[UUID, ...] = ()
    topics: tuple[str, ...] = ()
    proposal_id: UUID | None = None
    note_id: UUID | None = None
    #: The person an entry is about, when not the actor (the invitee).
    subject: UUID | None = None
    #: The actor's own words: a reason, a comment, what happened.
    text: str | None = None


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    agreement_id: UUID | None = None
    title: str = ""
    position: int = 0
    version: int = 0
    in_force_version: int | None = None
    entries: tuple[Entry, ...] = ()
    versions: dict[int, Content] = msgspec.field(default_factory=dict)
    # Kept so adoption can be replayed and later entries can name what they touch.
    proposals: dict[UUID, tuple[ClauseChange, ...]] = msgspec.field(default_factory=dict)
    note_clauses: dict[UUID, Clause] = msgspec.field(default_factory=dict)


HANDLED_EVENTS: tuple[type[Agreement.Event], ...] = (
    Agreement.Created,
    Agreement.PartyInvited,
    Agreement.InvitationAccepted,
    Agreement.InvitationDeclined,
    Agreement.PartyLeft,
    Agreement.ClauseAdded,
    Agreement.ClauseEdited,
    Agreement.ClauseRemoved,
    Agreement.Consented,
    Agreement.ConsentWithdrawn,
    Agreement.Ratified,
    Agreement.Proposed,
    Agreement.Commented,
    Agreement.ProposalAccepted,
    Agreement.ProposalDeclined,
    Agreement.ProposalWithdrawn,
    Agreement.ProposalAdopted,
    Agreement.RepairNoteWritten,
    Agreement.RepairNoteAcknowledged,
    Agreement.RepairNoteLinked,
)
#: Event topics in the eventsourcing library's "module:qualname" form, for subscriptions.
TOPICS = tuple(f"{cls.__module__}:{cls.__qualname__}" for cls in HANDLED_EVENTS)


def agreement_at(state: Timeline, version: int) -> Mapping[UUID, Clause] | None:
    return state.versions.get(version)


def in_force(state: Timeline) -> Mapping[UUID, Clause] | None:
    if state.in_force_version is None:
        return None
    return state.versions[state.in_force_version]


def evolve(state: Timeline, event: object, position: int) -> Timeline:
    content = state.versions.get(state.version, {})
    match event:
        case Agreement.Created():
            state = _replace(
                state, agreement_id=event.originator_id, title=event.title, versions={0: {}}
            )
            return _add(state, event, position, "drafted", event.creator, "drafted the agreement")
        case Agreement.PartyInvited():
            return _add(
                state, event, position, "invited", event.by, "invited someone",
                subject=event.invitee,
            )
        case Agreement.InvitationAccepted():
            state = _replace(state, in_force_version=None)
            return _add(state, event, position, "joined", event.by, "joined; consent starts afresh")
        case Agreement.InvitationDeclined():
            return _add(
                state, event, position, "declined_invitation", event.by, "declined the invitation"
            )
        case Agreement.PartyLeft():
            state = _replace(state, in_force_version=None)
            return _add(state, event, position, "left", event.by, "left; consent starts afresh")
        case Agreement.ClauseAdded():
            clause = Clause(event.clause_id, event.topic, event.text)
            state = _with_version(state, event.version, {**content, clause.clause_id: clause})
            return _add(
                state, event, position, "clause_added", event.by,
                f"added a clause on {_label(clause.topic)}", clauses=(clause,),
            )
        case Agreement.ClauseEdited():
            old = content[event.clause_id]
            new = msgspec.structs.replace(old, text=event.text, revision=event.revision)
            state = _with_version(state, event.version, {**content, new.clause_id: new})
            return _add(
                state, event, position, "clause_edited", event.by,
                f"edited a clause on {_label(new.topic)} (revision {new.revision})",
                clauses=(new,),
            )
        case Agreement.ClauseRemoved():
            removed = content[event.clause_id]
            rest = {i: c for i, c in content.items() if i != removed.clause_id}
            state = _with_version(state, event.version, rest)
            return _add(
                state, event, position, "clause_removed", event.by,
                f"removed a clause on {_label(removed.topic)}", clauses=(removed,),
            )
        case Agreement.Consented():
            return _add(
                state, event, position, "consented", event.by,
                f"consented to version {event.version}",
            )
        case Agreement.ConsentWithdrawn():
            return _add(
                state, event, position, "consent_withdrawn", event.by,
                f"withdrew consent to version {event.version}",
            )
        case Agreement.Ratified():
            state = _replace(state, in_force_version=event.version)
            return _add(
                state, event, position, "ratified", None, f"version {event.version} is in force"
            )
        case Agreement.Proposed():
            state = _replace(state, proposals={**state.proposals, event.proposal_id: event.changes})
            changes = f"{len(event.changes)} change{'s' if len(event.changes) > 1 else ''}"
            return _add(
                state, event, position, "proposed", event.by,
                f"proposed {changes} to version {event.base_version}",
                clauses=_touched(content, event.changes), proposal_id=event.proposal_id,
                text=event.reason,
            )
        case Agreement.Commented():
            return _proposal_entry(
                state, event, position, "commented", "commented on a proposal", text=event.text
            )
        case Agreement.ProposalAccepted():
            return _proposal_entry(state, event, position, "accepted", "accepted a proposal")
        case Agreement.ProposalDeclined():
            return _proposal_entry(
                state, event, position, "declined", "declined a proposal", text=event.reason
            )
        case Agreement.ProposalWithdrawn():
            return _proposal_entry(state, event, position, "withdrawn", "withdrew a proposal")
        case Agreement.ProposalAdopted():
            changes = state.proposals[event.proposal_id]
            touched = _touched(content, changes)
            state = _with_version(state, event.version, apply_changes(content, changes))
            return _add(
                state, event, position, "adopted", None,
                f"a renegotiation became version {event.version}",
                clauses=touched, proposal_id=event.proposal_id,
            )
        case Agreement.RepairNoteWritten():
            clause = content[event.clause_id]
            state = _replace(state, note_clauses={**state.note_clauses, event.note_id: clause})
            return _add(
                state, event, position, "repair_note", event.by,
                f"wrote a repair note about a clause on {_label(clause.topic)}",
                clauses=(clause,), note_id=event.note_id, text=event.what_happened,
            )
        case Agreement.RepairNoteAcknowledged():
            return _add(
                state, event, position, "acknowledged", event.by, "acknowledged a repair note",
                clauses=(state.note_clauses[event.note_id],), note_id=event.note_id,
            )
        case Agreement.RepairNoteLinked():
            return _add(
                state, event, position, "repair_note_linked", event.by,
                "linked a repair note to the renegotiation it led to",
                clauses=(state.note_clauses[event.note_id],), note_id=event.note_id,
                proposal_id=event.proposal_id,
            )
    return state


def _replace(state: Timeline, **changes: object) -> Timeline:
    return msgspec.structs.replace(state, **changes)


def _with_version(state: Timeline, version: int, content: Content) -> Timeline:
    return _replace(state, version=version, versions={**state.versions, version: content})


def _add(
    state: Timeline,
    event: Agreement.Event,
    position: int,
    kind: Kind,
    actor: UUID | None,
    summary: str,
    *,
    clauses: tuple[Clause, ...] = (),
    proposal_id: UUID | None = None,
    note_id: UUID | None = None,
    subject: UUID | None = None,
    text: str | None = None,
) -> Timeline:
    entry = Entry(
        position=position,
        kind=kind,
        actor=actor,
        at=event.timestamp,
        version=state.version,
        summary=summary,
        clause_ids=tuple(c.clause_id for c in clauses),
        topics=tuple(dict.fromkeys(c.topic for c in clauses)),
        proposal_id=proposal_id,
        note_id=note_id,
        subject=subject,
        text=text,
    )
    return _replace(state, position=position, entries=(*state.entries, entry))


def _proposal_entry(
    state: Timeline,
    event: Agreement.Commented
    | Agreement.ProposalAccepted
    | Agreement.ProposalDeclined
    | Agreement.ProposalWithdrawn,
    position: int,
    kind: Kind,
    summary: str,
    text: str | None = None,
) -> Timeline:
    content = state.versions.get(state.version, {})
    return _add(
        state, event, position, kind, event.by, summary,
        clauses=_touched(content, state.proposals[event.proposal_id]),
        proposal_id=event.proposal_id, text=text,
    )


def _touched(
    content: Mapping[UUID, Clause], changes: tuple[ClauseChange, ...]
) -> tuple[Clause, ...]:
    """The clauses a renegotiation touches, as they are before it (or as it adds them)."""
    return tuple(
        content.get(c.clause_id) or Clause(c.clause_id, c.topic or "", c.text or "")
        for c in changes
    )


def _label(topic: str) -> str:
    return topic.replace("_", " ")
