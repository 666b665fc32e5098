"""One agreement's history: who did what, when, and its content at every version.

`evolve` never mutates the state it is given, so a caller may keep old states.
Entries carry the clause ids and topics they touch so a consented view can show
an audience only the history of the clauses it may see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal
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
    "discard_asked",
    "discard_withdrawn",
    "discarded",
    "revisit_date_set",
    "end_date_set",
    "due_for_review",
    "reaffirmed",
    "review_settled",
    "lapsed",
    "started_from_template",
]

Content = dict[UUID, Clause]


class Entry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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
    #: A proposal made from a check-in's action point: that check-in.
    check_in_id: UUID | None = None


class Timeline(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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
    Agreement.DiscardAsked,
    Agreement.DiscardWithdrawn,
    Agreement.Discarded,
    Agreement.RevisitDateSet,
    Agreement.EndDateSet,
    Agreement.ReviewDue,
    Agreement.Reaffirmed,
    Agreement.ReviewSettled,
    Agreement.Lapsed,
    Agreement.DatesScheduled,
    Agreement.StartedFromTemplate,
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
    """The timeline after `event`; events of other kinds leave it as it is (the same object).

    One dict lookup finds the event's fold, and each fold makes the next state
    with one `structs.replace` (the rebuild folds every event of the log).
    """
    fold = _FOLDS.get(type(event))
    if fold is None:
        fold = _fold_for(type(event))
        if fold is None:
            return state
    return fold(state, event, position)


def _content(state: Timeline) -> Content:
    return state.versions.get(state.version, {})


def _next(
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
    **changes: object,
) -> Timeline:
    """`state` with `changes` and one more entry at `position` (at the content version it leaves)."""
    if not clauses:
        clause_ids: tuple[UUID, ...] = ()
        topics: tuple[str, ...] = ()
    elif len(clauses) == 1:
        clause_ids, topics = (clauses[0].clause_id,), (clauses[0].topic,)
    else:
        clause_ids = tuple(c.clause_id for c in clauses)
        topics = tuple(dict.fromkeys(c.topic for c in clauses))
    entry = Entry(
        position=position,
        kind=kind,
        actor=actor,
        at=event.timestamp,
        version=changes.get("version", state.version),  # type: ignore[arg-type]
        summary=summary,
        clause_ids=clause_ids,
        topics=topics,
        proposal_id=proposal_id,
        note_id=note_id,
        subject=subject,
        text=text,
    )
    return _replace(state, position=position, entries=(*state.entries, entry), **changes)


def _with_version(state: Timeline, version: int, content: Content) -> dict[str, object]:
    """The changes that make `content` the content at `version`, the current one."""
    return {"version": version, "versions": {**state.versions, version: content}}


def _created(state: Timeline, e: Agreement.Created, position: int) -> Timeline:
    state = _replace(state, agreement_id=e.originator_id, title=e.title, versions={0: {}})
    return _next(state, e, position, "drafted", e.creator, "drafted the agreement")


def _invited(state: Timeline, e: Agreement.PartyInvited, position: int) -> Timeline:
    return _next(state, e, position, "invited", e.by, "invited someone", subject=e.invitee)


def _joined(state: Timeline, e: Agreement.InvitationAccepted, position: int) -> Timeline:
    return _next(
        state, e, position, "joined", e.by, "joined; consent starts afresh", in_force_version=None
    )


def _declined_invitation(state: Timeline, e: Agreement.InvitationDeclined, position: int) -> Timeline:
    return _next(state, e, position, "declined_invitation", e.by, "declined the invitation")


def _left(state: Timeline, e: Agreement.PartyLeft, position: int) -> Timeline:
    return _next(
        state, e, position, "left", e.by, "left; consent starts afresh", in_force_version=None
    )


def _clause_added(state: Timeline, e: Agreement.ClauseAdded, position: int) -> Timeline:
    clause = Clause(e.clause_id, e.topic, e.text)
    content = {**_content(state), clause.clause_id: clause}
    return _next(
        state, e, position, "clause_added", e.by, f"added a clause on {_label(clause.topic)}",
        clauses=(clause,), **_with_version(state, e.version, content),
    )


def _clause_edited(state: Timeline, e: Agreement.ClauseEdited, position: int) -> Timeline:
    content = _content(state)
    new = msgspec.structs.replace(content[e.clause_id], text=e.text, revision=e.revision)
    return _next(
        state, e, position, "clause_edited", e.by,
        f"edited a clause on {_label(new.topic)} (revision {new.revision})",
        clauses=(new,), **_with_version(state, e.version, {**content, new.clause_id: new}),
    )


def _clause_removed(state: Timeline, e: Agreement.ClauseRemoved, position: int) -> Timeline:
    content = _content(state)
    removed = content[e.clause_id]
    rest = {i: c for i, c in content.items() if i != removed.clause_id}
    return _next(
        state, e, position, "clause_removed", e.by, f"removed a clause on {_label(removed.topic)}",
        clauses=(removed,), **_with_version(state, e.version, rest),
    )


def _consented(state: Timeline, e: Agreement.Consented, position: int) -> Timeline:
    return _next(state, e, position, "consented", e.by, f"consented to version {e.version}")


def _consent_withdrawn(state: Timeline, e: Agreement.ConsentWithdrawn, position: int) -> Timeline:
    return _next(
        state, e, position, "consent_withdrawn", e.by, f"withdrew consent to version {e.version}"
    )


def _ratified(state: Timeline, e: Agreement.Ratified, position: int) -> Timeline:
    return _next(
        state, e, position, "ratified", None, f"version {e.version} is in force",
        in_force_version=e.version,
    )


def _proposed(state: Timeline, e: Agreement.Proposed, position: int) -> Timeline:
    count = len(e.changes) + (e.end_date is not None)
    changes = f"{count} change{'s' if count > 1 else ''}"
    state = _next(
        state, e, position, "proposed", e.by, f"proposed {changes} to version {e.base_version}",
        clauses=_touched(_content(state), e.changes), proposal_id=e.proposal_id, text=e.reason,
        proposals={**state.proposals, e.proposal_id: e.changes},
    )
    if e.check_in_id is None:
        return state
    *before, entry = state.entries
    entry = msgspec.structs.replace(entry, check_in_id=e.check_in_id, summary=f"{entry.summary}, from a check-in")
    return msgspec.structs.replace(state, entries=(*before, entry))


def _commented(state: Timeline, e: Agreement.Commented, position: int) -> Timeline:
    return _proposal_entry(state, e, position, "commented", "commented on a proposal", text=e.text)


def _accepted(state: Timeline, e: Agreement.ProposalAccepted, position: int) -> Timeline:
    return _proposal_entry(state, e, position, "accepted", "accepted a proposal")


def _declined(state: Timeline, e: Agreement.ProposalDeclined, position: int) -> Timeline:
    return _proposal_entry(state, e, position, "declined", "declined a proposal", text=e.reason)


def _withdrawn(state: Timeline, e: Agreement.ProposalWithdrawn, position: int) -> Timeline:
    return _proposal_entry(state, e, position, "withdrawn", "withdrew a proposal")


def _adopted(state: Timeline, e: Agreement.ProposalAdopted, position: int) -> Timeline:
    content = _content(state)
    changes = state.proposals[e.proposal_id]
    return _next(
        state, e, position, "adopted", None, f"a renegotiation became version {e.version}",
        clauses=_touched(content, changes), proposal_id=e.proposal_id,
        **_with_version(state, e.version, apply_changes(content, changes)),
    )


def _repair_note(state: Timeline, e: Agreement.RepairNoteWritten, position: int) -> Timeline:
    clause = _content(state)[e.clause_id]
    return _next(
        state, e, position, "repair_note", e.by,
        f"wrote a repair note about a clause on {_label(clause.topic)}",
        clauses=(clause,), note_id=e.note_id, text=e.what_happened,
        note_clauses={**state.note_clauses, e.note_id: clause},
    )


def _acknowledged(state: Timeline, e: Agreement.RepairNoteAcknowledged, position: int) -> Timeline:
    return _next(
        state, e, position, "acknowledged", e.by, "acknowledged a repair note",
        clauses=(state.note_clauses[e.note_id],), note_id=e.note_id,
    )


def _repair_note_linked(state: Timeline, e: Agreement.RepairNoteLinked, position: int) -> Timeline:
    return _next(
        state, e, position, "repair_note_linked", e.by,
        "linked a repair note to the renegotiation it led to",
        clauses=(state.note_clauses[e.note_id],), note_id=e.note_id, proposal_id=e.proposal_id,
    )


def _discard_asked(state: Timeline, e: Agreement.DiscardAsked, position: int) -> Timeline:
    return _next(state, e, position, "discard_asked", e.by, "asked to discard this draft")


def _discard_withdrawn(state: Timeline, e: Agreement.DiscardWithdrawn, position: int) -> Timeline:
    return _next(state, e, position, "discard_withdrawn", e.by, "no longer asks to discard this draft")


def _discarded(state: Timeline, e: Agreement.Discarded, position: int) -> Timeline:
    return _next(state, e, position, "discarded", None, "every party asked: the draft is discarded")


def _revisit_date_set(state: Timeline, e: Agreement.RevisitDateSet, position: int) -> Timeline:
    clause = _content(state)[e.clause_id]
    what = f"set its revisit date to {e.revisit_on.isoformat()}" if e.revisit_on else "cleared its revisit date"
    # The content is the same, at a new version: the date is part of what the parties consent to.
    return _next(
        state, e, position, "revisit_date_set", e.by, f"{what} (a clause on {_label(clause.topic)})",
        clauses=(clause,), **_with_version(state, e.version, _content(state)),
    )


def _end_date_set(state: Timeline, e: Agreement.EndDateSet, position: int) -> Timeline:
    what = f"made it temporary, in force until {e.until.isoformat()}" if e.until else "made it open-ended"
    return _next(state, e, position, "end_date_set", e.by, what, **_with_version(state, e.version, _content(state)))


def _review_due(state: Timeline, e: Agreement.ReviewDue, position: int) -> Timeline:
    clause = _content(state)[e.clause_id]
    return _next(
        state, e, position, "due_for_review", None,
        f"a clause on {_label(clause.topic)} is due for review (revisit date {e.revisit_on.isoformat()})",
        clauses=(clause,),
    )


def _reaffirmed(state: Timeline, e: Agreement.Reaffirmed, position: int) -> Timeline:
    clause = _content(state)[e.clause_id]
    after = f", next revisit {e.next_revisit_on.isoformat()}" if e.next_revisit_on else ""
    return _next(
        state, e, position, "reaffirmed", e.by, f"reaffirmed a clause on {_label(clause.topic)}{after}",
        clauses=(clause,),
    )


def _review_settled(state: Timeline, e: Agreement.ReviewSettled, position: int) -> Timeline:
    clause = _content(state)[e.clause_id]
    after = f"; next revisit {e.next_revisit_on.isoformat()}" if e.next_revisit_on else ""
    return _next(
        state, e, position, "review_settled", None,
        f"every party reaffirmed a clause on {_label(clause.topic)}{after}",
        clauses=(clause,),
    )


def _lapsed(state: Timeline, e: Agreement.Lapsed, position: int) -> Timeline:
    return _next(
        state, e, position, "lapsed", None,
        f"lapsed at its end date ({e.until.isoformat()}); nothing is in force",
        in_force_version=None,
    )


def _dates_scheduled(state: Timeline, e: Agreement.DatesScheduled, position: int) -> Timeline:
    # The scheduler's bookkeeping after a ratification, which has its own entry.
    return _replace(state, position=position)


def _started_from_template(state: Timeline, e: Agreement.StartedFromTemplate, position: int) -> Timeline:
    # Follows "drafted" in the same command; the drafts it makes are entries of their own.
    return _next(
        state, e, position, "started_from_template", None,
        f"started from the template {_label(e.template_id)} (version {e.template_version})",
    )


Fold = Callable[[Timeline, Any, int], Timeline]

#: Each handled event class's fold, in HANDLED_EVENTS' order.
_FOLDS: dict[type, Fold] = dict(
    zip(
        HANDLED_EVENTS,
        (
            _created, _invited, _joined, _declined_invitation, _left,
            _clause_added, _clause_edited, _clause_removed, _consented, _consent_withdrawn,
            _ratified, _proposed, _commented, _accepted, _declined,
            _withdrawn, _adopted, _repair_note, _acknowledged, _repair_note_linked,
            _discard_asked, _discard_withdrawn, _discarded,
            _revisit_date_set, _end_date_set, _review_due, _reaffirmed, _review_settled, _lapsed,
            _dates_scheduled, _started_from_template,
        ),
        strict=True,
    )
)


def _fold_for(cls: type) -> Fold | None:
    """A subclass of a handled event folds as its first handled base; anything else, not at all."""
    return next((fold for handled, fold in _FOLDS.items() if issubclass(cls, handled)), None)


#: A copy of the state with some fields changed (in C, called directly: no wrapper per event).
_replace = msgspec.structs.replace


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
    return _next(
        state, event, position, kind, event.by, summary,
        clauses=_touched(_content(state), state.proposals[event.proposal_id]),
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
