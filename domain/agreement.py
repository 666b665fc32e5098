"""The agreement: parties co-draft clauses, consent to exact versions, renegotiate.

Lifecycle: drafting (clauses edited freely, consent gathered) -> in force (every
party consented to one version; changes only by renegotiation). A change of
parties sends it back to drafting, because consent given by one set of people
says nothing about another. With no parties left it is closed.

A clause may carry a revisit date and the agreement an end date (calendar
dates, falling due when the date begins in UTC). In force, a clause whose date
has come is due for review until every party reaffirms it or a renegotiation
changes it; at its end date the agreement lapses: nothing is in force, and the
parties may draft and consent again to renew it.

Commands take `now` because time is an input; events carry only flat,
precisely typed fields, since the store encodes them by their type hints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import (
    AlreadyDone,
    AlreadyExists,
    AlreadyInvolved,
    InForce,
    NotAParty,
    NotAskedToDiscard,
    NotConsented,
    NotDue,
    NotFound,
    NothingDue,
    NotInForce,
    NotInvited,
    NotTheAuthor,
    OwnRepairNote,
    ProposalClosed,
    ProposalOutOfDate,
    StaleRevision,
    StaleVersion,
    ValidationFailed,
)

if TYPE_CHECKING:
    from domain.templates import Template

TOPICS = (
    "boundaries",
    "safer_sex",
    "scheduling",
    "check_ins",
    "metamour_contact",
    "privacy",
    "other",
)

#: A topic the parties name themselves is a key: words of lowercase letters (any
#: script) or digits joined by single underscores, like the built-in ones. Short
#: enough that its grant scope (`clauses:<topic>`) stays within 40 characters.
MAX_TOPIC = 32
_WORD = re.compile(r"[^\W_]+")

MAX_TITLE = 200
MAX_CLAUSE_TEXT = 5000
MAX_CLAUSES = 50
#: Reasons, comments and the parts of a repair note.
MAX_NOTE = 5000
#: Counting open invitations, so accepting one can never exceed it.
MAX_PARTIES = 20
#: Agreeing with oneself is not an agreement.
MIN_PARTIES_TO_RATIFY = 2

ChangeKind = Literal["add", "edit", "remove"]
ProposalStatus = Literal["open", "adopted", "declined", "withdrawn", "out_of_date"]
AgreementStatus = Literal["drafting", "in_force", "lapsed", "closed", "discarded"]


class Clause(msgspec.Struct, frozen=True):
    clause_id: UUID
    topic: str
    text: str
    revision: int = 1


class ClauseChange(msgspec.Struct, frozen=True):
    """One change a renegotiation makes: `topic` only for "add", `text` for "add" and "edit".

    `revisit_on` is the clause's revisit date once the change is adopted (an
    added or edited clause; None: no revisit date).
    """

    kind: ChangeKind
    clause_id: UUID
    topic: str | None = None
    text: str | None = None
    revisit_on: date | None = None


class EndDateChange(msgspec.Struct, frozen=True):
    """A renegotiation's change of the agreement's end date: `until` None makes it open-ended."""

    until: date | None


class Revisit(msgspec.Struct, frozen=True):
    clause_id: UUID
    on: date


@dataclass
class DueReview:
    """A clause in force whose revisit date has come: open until every party reaffirms it."""

    clause_id: UUID
    revisit_on: date
    #: The revision that fell due; a reaffirmation names it.
    revision: int
    #: The next revisit date the reaffirmations so far agree on (None: none).
    next_revisit_on: date | None = None
    reaffirmed_by: set[UUID] = field(default_factory=set)


class Comment(msgspec.Struct, frozen=True):
    comment_id: UUID
    author: UUID
    text: str
    written_at: datetime


@dataclass
class Proposal:
    proposal_id: UUID
    proposer: UUID
    base_version: int
    changes: tuple[ClauseChange, ...]
    reason: str
    status: ProposalStatus = "open"
    accepted_by: set[UUID] = field(default_factory=set)
    comments: list[Comment] = field(default_factory=list)
    #: When it was made: since when it waits for the other parties (domain/inbox.py).
    proposed_at: datetime | None = None
    end_date: EndDateChange | None = None

    @property
    def is_out_of_date(self) -> bool:
        return self.status == "out_of_date"


@dataclass
class RepairNote:
    note_id: UUID
    author: UUID
    clause_id: UUID
    what_happened: str
    impact: str
    intentions: str
    acknowledged_by: set[UUID] = field(default_factory=set)
    linked_proposals: list[UUID] = field(default_factory=list)
    #: When it was written: since when it waits to be acknowledged (domain/inbox.py).
    written_at: datetime | None = None


def apply_changes(
    clauses: Mapping[UUID, Clause], changes: Iterable[ClauseChange]
) -> dict[UUID, Clause]:
    """The content after a renegotiation; projections use it too, so they cannot disagree."""
    result = dict(clauses)
    for change in changes:
        match change.kind:
            case "add":
                result[change.clause_id] = Clause(
                    change.clause_id, change.topic or "", change.text or ""
                )
            case "edit":
                old = result[change.clause_id]
                result[change.clause_id] = msgspec.structs.replace(
                    old, text=change.text or "", revision=old.revision + 1
                )
            case "remove":
                del result[change.clause_id]
    return result


def day_of(now: datetime) -> date:
    """The calendar day `now` falls on in UTC: dates fall due when their day begins there."""
    return now.astimezone(UTC).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def check_ahead(field: str, day: date | None, now: datetime) -> None:
    """A date to come back to (or to end on) is a later day; None clears it."""
    if day is not None and day <= day_of(now):
        raise ValidationFailed(field, "must be a later date than today (UTC)")


def check_text(field: str, value: str | None, max_length: int) -> None:
    if value is None or not value.strip():
        raise ValidationFailed(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationFailed(field, f"must be at most {max_length} characters")


def topic_key(name: str) -> str:
    """The key of a topic as someone typed it: "Money & shared costs" -> "money_shared_costs".

    A name whose key is a built-in topic's ("Safer sex") is that topic, so a
    topic of one's own never stands beside a built-in one of the same name.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return "_".join(_WORD.findall(folded))


def is_topic(topic: str | None) -> bool:
    """A built-in topic, or a key of one's own (its own key: `topic_key` leaves it as it is)."""
    return topic is not None and (
        topic in TOPICS or (0 < len(topic) <= MAX_TOPIC and topic_key(topic) == topic)
    )


def check_topic(field: str, topic: str | None) -> None:
    if not is_topic(topic):
        raise ValidationFailed(
            field,
            f"must be one of {', '.join(TOPICS)}, or a topic of your own: at most {MAX_TOPIC} "
            "lowercase letters or digits, words joined by single underscores",
        )


def check_open(proposal: Proposal, in_force_version: int | None) -> None:
    if proposal.is_out_of_date:
        raise ProposalOutOfDate(proposal.proposal_id, proposal.base_version, in_force_version)
    if proposal.status != "open":
        raise ProposalClosed(proposal.proposal_id, proposal.status, in_force_version)


def check_changed(field: str, clause: Clause, text: str | None) -> None:
    if text == clause.text:
        raise ValidationFailed(field, "is the same as the current text")


def check_no_topic(where: str, change: ClauseChange) -> None:
    # A clause keeps its topic for life, so its history reads as one thread.
    if change.topic is not None:
        raise ValidationFailed(f"{where}.topic", "only an added clause takes a topic")


class Agreement(Aggregate):
    class Event(Aggregate.Event):
        #: Its text is intimate: encrypted at rest with this agreement's data key.
        intimate = True

        def mutate(self, aggregate: Any) -> Any:
            # When its version or its parties last changed: since when a version waits for consent
            # (`version_since`, read by domain/inbox.py). Derived state only; no event changes shape.
            before = None if aggregate is None else (aggregate.content_version, tuple(aggregate.parties))
            mutated = super().mutate(aggregate)
            if mutated is not None and before != (mutated.content_version, tuple(mutated.parties)):
                mutated.version_since = self.timestamp
            return mutated

    class Created(Event, Aggregate.Created):
        title: str
        creator: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.title = self.title
            agreement.parties = [self.creator]
            agreement.invitees = []
            agreement.invitation_handles = {}
            #: invitee -> who invited them (their latest invitation).
            agreement.inviters = {}
            #: invitee -> when they were invited (since when the invitation waits, domain/inbox.py).
            agreement.invited_at = {}
            agreement.clauses = {}
            # Ids are never reused, so a clause id names one clause across all history.
            agreement.used_clause_ids = set()
            agreement.content_version = 0
            agreement.in_force_version = None
            agreement.consents = set()
            agreement.proposals = {}
            agreement.repair_notes = {}
            #: Parties who asked to discard the draft; when every party has, it is discarded.
            agreement.discard_asks = set()
            #: clause id -> its revisit date (the content's, in force or drafted).
            agreement.revisit_dates = {}
            #: The day the agreement lapses, if it is temporary.
            agreement.end_date = None
            agreement.due_reviews = {}
            agreement.lapsed = False

    class StartedFromTemplate(Event):
        """Follows Created when the drafts came from a template: which one, and which version of its wording."""

        template_id: str
        template_version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.template = (self.template_id, self.template_version)

    # Parties

    class PartyInvited(Event):
        by: UUID
        invitee: UUID
        #: How the inviter addressed the invitee; shown to parties while pending.
        handle: str

        def apply(self, agreement: Agreement) -> None:
            agreement.invitees.append(self.invitee)
            agreement.invitation_handles[self.invitee] = self.handle
            agreement.inviters[self.invitee] = self.by
            agreement.invited_at[self.invitee] = self.timestamp

    class InvitationAccepted(Event):
        by: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.invitees.remove(self.by)
            agreement.parties.append(self.by)
            agreement._on_parties_changed()

    class InvitationDeclined(Event):
        by: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.invitees.remove(self.by)

    class PartyLeft(Event):
        by: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.parties.remove(self.by)
            if not agreement.parties:
                agreement.invitees.clear()
            agreement._on_parties_changed()

    # Drafting

    class ClauseAdded(Event):
        by: UUID
        clause_id: UUID
        topic: str
        text: str
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.clauses[self.clause_id] = Clause(self.clause_id, self.topic, self.text)
            agreement.used_clause_ids.add(self.clause_id)
            agreement._on_content_changed(self.version)

    class ClauseEdited(Event):
        by: UUID
        clause_id: UUID
        text: str
        revision: int
        version: int

        def apply(self, agreement: Agreement) -> None:
            old = agreement.clauses[self.clause_id]
            agreement.clauses[self.clause_id] = msgspec.structs.replace(
                old, text=self.text, revision=self.revision
            )
            agreement._on_content_changed(self.version)

    class ClauseRemoved(Event):
        by: UUID
        clause_id: UUID
        version: int

        def apply(self, agreement: Agreement) -> None:
            del agreement.clauses[self.clause_id]
            agreement.revisit_dates.pop(self.clause_id, None)
            agreement._on_content_changed(self.version)

    class RevisitDateSet(Event):
        """While drafting: part of what the parties consent to, like an edit."""

        by: UUID
        clause_id: UUID
        revisit_on: date | None
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement._set_revisit(self.clause_id, self.revisit_on)
            agreement._on_content_changed(self.version)

    class EndDateSet(Event):
        """While drafting: the agreement is temporary (in force until that day begins), or not."""

        by: UUID
        until: date | None
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.end_date = self.until
            agreement._on_content_changed(self.version)

    # Consent

    class Consented(Event):
        by: UUID
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.consents.add(self.by)

    class ConsentWithdrawn(Event):
        by: UUID
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.consents.discard(self.by)

    class Ratified(Event):
        version: int

        def apply(self, agreement: Agreement) -> None:
            agreement.in_force_version = self.version
            agreement.lapsed = False

    # Revisit dates and end dates of the version in force

    class DatesScheduled(Event):
        """Follows a ratification that puts dates in force: what the scheduler waits for.

        `revisits` leaves out clauses already due for review.
        """

        revisits: tuple[Revisit, ...]
        until: date | None

        def apply(self, agreement: Agreement) -> None:
            pass

    class ReviewDue(Event):
        """Appended by the scheduler once the clause's revisit date has begun."""

        clause_id: UUID
        revisit_on: date

        def apply(self, agreement: Agreement) -> None:
            revision = agreement.clauses[self.clause_id].revision
            agreement.due_reviews[self.clause_id] = DueReview(self.clause_id, self.revisit_on, revision)

    class Reaffirmed(Event):
        """A party keeps the clause as it is, with a next revisit date (or none).

        A different next date than the others named starts the reaffirmations
        afresh from this one: everyone consents to the same thing.
        """

        by: UUID
        clause_id: UUID
        revision: int
        next_revisit_on: date | None

        def apply(self, agreement: Agreement) -> None:
            review = agreement.due_reviews[self.clause_id]
            if self.next_revisit_on != review.next_revisit_on:
                review.next_revisit_on = self.next_revisit_on
                review.reaffirmed_by = {self.by}
            else:
                review.reaffirmed_by.add(self.by)

    class ReviewSettled(Event):
        """Every party reaffirmed the clause: it is no longer due, and has its next revisit date."""

        clause_id: UUID
        revision: int
        next_revisit_on: date | None

        def apply(self, agreement: Agreement) -> None:
            del agreement.due_reviews[self.clause_id]
            agreement._set_revisit(self.clause_id, self.next_revisit_on)

    class Lapsed(Event):
        """Appended by the scheduler when a temporary agreement's end date begins.

        Nothing is in force any more; the parties may draft and consent again to renew it.
        """

        until: date

        def apply(self, agreement: Agreement) -> None:
            agreement.in_force_version = None
            agreement.lapsed = True
            agreement.consents.clear()
            agreement.due_reviews.clear()
            agreement._close_open_proposals()

    # Renegotiation

    class Proposed(Event):
        #: Version 2 added `end_date`: a renegotiation may change the end date.
        class_version = 2

        by: UUID
        proposal_id: UUID
        base_version: int
        changes: tuple[ClauseChange, ...]
        reason: str
        #: The check-in whose action point this renegotiation came from (a default, so older events decode).
        check_in_id: UUID | None = None
        #: A change of the end date too (None: the end date stays as it is).
        end_date: EndDateChange | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["end_date"] = None
            state.setdefault("check_in_id", None)

        def apply(self, agreement: Agreement) -> None:
            agreement.proposals[self.proposal_id] = Proposal(
                proposal_id=self.proposal_id,
                proposer=self.by,
                base_version=self.base_version,
                changes=self.changes,
                reason=self.reason,
                accepted_by={self.by},
                proposed_at=self.timestamp,
                end_date=self.end_date,
            )

    class Commented(Event):
        by: UUID
        proposal_id: UUID
        comment_id: UUID
        text: str

        def apply(self, agreement: Agreement) -> None:
            agreement.proposals[self.proposal_id].comments.append(
                Comment(self.comment_id, self.by, self.text, self.timestamp)
            )

    class ProposalAccepted(Event):
        by: UUID
        proposal_id: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.proposals[self.proposal_id].accepted_by.add(self.by)

    class ProposalDeclined(Event):
        by: UUID
        proposal_id: UUID
        reason: str

        def apply(self, agreement: Agreement) -> None:
            agreement.proposals[self.proposal_id].status = "declined"

    class ProposalWithdrawn(Event):
        by: UUID
        proposal_id: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.proposals[self.proposal_id].status = "withdrawn"

    class ProposalAdopted(Event):
        proposal_id: UUID
        version: int

        def apply(self, agreement: Agreement) -> None:
            adopted = agreement.proposals[self.proposal_id]
            agreement._close_open_proposals()
            adopted.status = "adopted"
            agreement.clauses = apply_changes(agreement.clauses, adopted.changes)
            for change in adopted.changes:
                # An adopted change answers a due review of its clause, and sets its revisit date.
                agreement.due_reviews.pop(change.clause_id, None)
                agreement._set_revisit(change.clause_id, None if change.kind == "remove" else change.revisit_on)
            if adopted.end_date is not None:
                agreement.end_date = adopted.end_date.until
            agreement.used_clause_ids.update(change.clause_id for change in adopted.changes)
            agreement._on_content_changed(self.version)
            # Accepting the proposal was consent to the version it makes.
            agreement.consents = set(agreement.parties)

    # Repair

    class RepairNoteWritten(Event):
        by: UUID
        note_id: UUID
        clause_id: UUID
        what_happened: str
        impact: str
        intentions: str

        def apply(self, agreement: Agreement) -> None:
            agreement.repair_notes[self.note_id] = RepairNote(
                note_id=self.note_id,
                author=self.by,
                clause_id=self.clause_id,
                what_happened=self.what_happened,
                impact=self.impact,
                intentions=self.intentions,
                written_at=self.timestamp,
            )

    class RepairNoteAcknowledged(Event):
        by: UUID
        note_id: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.repair_notes[self.note_id].acknowledged_by.add(self.by)

    class RepairNoteLinked(Event):
        by: UUID
        note_id: UUID
        proposal_id: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.repair_notes[self.note_id].linked_proposals.append(self.proposal_id)

    # Discarding a draft

    class DiscardAsked(Event):
        by: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.discard_asks = {*agreement.discard_asks, self.by}

    class DiscardWithdrawn(Event):
        by: UUID

        def apply(self, agreement: Agreement) -> None:
            agreement.discard_asks = agreement.discard_asks - {self.by}

    class Discarded(Event):
        """Every party asked: the draft is gone for everyone in it (and its data key is destroyed)."""

        #: Everyone it is taken from: its parties and invitees then.
        people: tuple[UUID, ...]

        def apply(self, agreement: Agreement) -> None:
            agreement.discarded = True
            agreement.parties = []
            agreement.invitees = []
            agreement.consents = set()
            agreement.discard_asks = set()
            agreement._close_open_proposals()

    # State changes shared by several events

    def _on_parties_changed(self) -> None:
        # Who asked to discard asked of the parties then: a change of parties starts that afresh.
        self.discard_asks = set()
        # Reaffirmation too: the new parties ratify afresh, and a passed revisit date falls due again.
        self.due_reviews.clear()
        self.consents.clear()
        self.in_force_version = None
        self._close_open_proposals()

    def _on_content_changed(self, version: int) -> None:
        self.content_version = version
        self.consents.clear()

    def _set_revisit(self, clause_id: UUID, revisit_on: date | None) -> None:
        if revisit_on is None:
            self.revisit_dates.pop(clause_id, None)
        else:
            self.revisit_dates[clause_id] = revisit_on

    def _ratify(self, version: int, now: datetime) -> None:
        self.trigger_event(self.Ratified, timestamp=now, version=version)
        revisits = tuple(
            Revisit(clause_id, on)
            for clause_id, on in sorted(self.revisit_dates.items(), key=lambda item: (item[1], str(item[0])))
            if clause_id not in self.due_reviews
        )
        if revisits or self.end_date is not None:
            self.trigger_event(self.DatesScheduled, timestamp=now, revisits=revisits, until=self.end_date)

    def _close_open_proposals(self) -> None:
        for proposal in self.proposals.values():
            if proposal.status == "open":
                proposal.status = "out_of_date"

    @property
    def status(self) -> AgreementStatus:
        if getattr(self, "discarded", False):
            return "discarded"
        if not self.parties:
            return "closed"
        if self.in_force_version is None:
            return "lapsed" if self.lapsed else "drafting"
        return "in_force"

    # Commands

    @classmethod
    def create(
        cls, title: str, creator: UUID, now: datetime, agreement_id: UUID | None = None
    ) -> Agreement:
        check_text("title", title, MAX_TITLE)
        return cls._create(
            cls.Created, id=agreement_id, timestamp=now, title=title, creator=creator
        )

    @classmethod
    def start_from(
        cls,
        template: Template,
        title: str,
        creator: UUID,
        now: datetime,
        agreement_id: UUID | None = None,
        clause_ids: Sequence[UUID] = (),
    ) -> Agreement:
        """A new agreement whose drafts are the template's clauses, for its parties to edit and consent to."""
        if template.kind != "agreement":
            raise ValidationFailed("template_id", "starts a personal document, not an agreement")
        if len(clause_ids) != len(template.clauses):
            raise ValidationFailed("clause_ids", f"must name {len(template.clauses)} clause ids")
        agreement = cls.create(title, creator, now, agreement_id)
        agreement.trigger_event(
            cls.StartedFromTemplate, timestamp=now,
            template_id=template.template_id, template_version=template.version,
        )  # fmt: skip
        for clause_id, clause in zip(clause_ids, template.clauses, strict=True):
            agreement.add_clause(creator, clause_id, clause.topic, clause.text, now)
        return agreement

    def invite(self, by: UUID, invitee: UUID, now: datetime, handle: str = "") -> None:
        self.check_is_party(by)
        self.check_not_involved(invitee)
        self.check_room_for_party()
        self.trigger_event(
            self.PartyInvited, timestamp=now, by=by, invitee=invitee, handle=handle
        )

    def accept_invitation(self, person: UUID, now: datetime) -> None:
        self.check_is_invited(person)
        self.trigger_event(self.InvitationAccepted, timestamp=now, by=person)

    def decline_invitation(self, person: UUID, now: datetime) -> None:
        self.check_is_invited(person)
        self.trigger_event(self.InvitationDeclined, timestamp=now, by=person)

    def leave(self, person: UUID, now: datetime) -> None:
        self.check_is_party(person)
        self.trigger_event(self.PartyLeft, timestamp=now, by=person)

    def ask_to_discard(self, by: UUID, now: datetime) -> None:
        """A party asks to discard the draft; the last party to ask discards it (a sole party at once)."""
        self.check_is_party(by)
        self.check_drafting()
        if by in self.discard_asks:
            raise AlreadyDone("asked to discard", self.id, by)
        self.trigger_event(self.DiscardAsked, timestamp=now, by=by)
        if set(self.parties) <= self.discard_asks:
            self.trigger_event(self.Discarded, timestamp=now, people=(*self.parties, *self.invitees))

    def withdraw_discard(self, by: UUID, now: datetime) -> None:
        self.check_is_party(by)
        if by not in self.discard_asks:
            raise NotAskedToDiscard(self.id, by)
        self.trigger_event(self.DiscardWithdrawn, timestamp=now, by=by)

    def add_clause(self, by: UUID, clause_id: UUID, topic: str, text: str, now: datetime) -> None:
        self.check_is_party(by)
        self.check_drafting()
        self.check_new_clause_id(clause_id)
        check_topic("topic", topic)
        check_text("text", text, MAX_CLAUSE_TEXT)
        self.check_room_for_clauses(len(self.clauses) + 1)
        self.trigger_event(
            self.ClauseAdded,
            timestamp=now,
            by=by,
            clause_id=clause_id,
            topic=topic,
            text=text,
            version=self.content_version + 1,
        )

    def edit_clause(
        self, by: UUID, clause_id: UUID, text: str, based_on_revision: int, now: datetime
    ) -> None:
        self.check_is_party(by)
        self.check_drafting()
        clause = self.get_clause(clause_id)
        self.check_revision(clause, based_on_revision)
        check_text("text", text, MAX_CLAUSE_TEXT)
        check_changed("text", clause, text)
        self.trigger_event(
            self.ClauseEdited,
            timestamp=now,
            by=by,
            clause_id=clause_id,
            text=text,
            revision=clause.revision + 1,
            version=self.content_version + 1,
        )

    def remove_clause(
        self, by: UUID, clause_id: UUID, based_on_revision: int, now: datetime
    ) -> None:
        self.check_is_party(by)
        self.check_drafting()
        self.check_revision(self.get_clause(clause_id), based_on_revision)
        self.trigger_event(
            self.ClauseRemoved,
            timestamp=now,
            by=by,
            clause_id=clause_id,
            version=self.content_version + 1,
        )

    def set_revisit_date(self, by: UUID, clause_id: UUID, revisit_on: date | None, now: datetime) -> None:
        self.check_is_party(by)
        self.check_drafting()
        self.get_clause(clause_id)
        check_ahead("revisit_on", revisit_on, now)
        if self.revisit_dates.get(clause_id) == revisit_on:
            raise ValidationFailed("revisit_on", "is the clause's revisit date already")
        self.trigger_event(
            self.RevisitDateSet,
            timestamp=now,
            by=by,
            clause_id=clause_id,
            revisit_on=revisit_on,
            version=self.content_version + 1,
        )

    def set_end_date(self, by: UUID, until: date | None, now: datetime) -> None:
        self.check_is_party(by)
        self.check_drafting()
        check_ahead("until", until, now)
        if self.end_date == until:
            raise ValidationFailed("until", "is the agreement's end date already")
        self.trigger_event(
            self.EndDateSet, timestamp=now, by=by, until=until, version=self.content_version + 1
        )

    def fall_due(self, now: datetime) -> None:
        """The scheduler's command: the agreement lapses, or clauses fall due for review, as `now` says."""
        today = day_of(now)
        if self.in_force_version is None:
            raise NothingDue(self.id)
        if self.end_date is not None and self.end_date <= today:
            self.trigger_event(self.Lapsed, timestamp=now, until=self.end_date)
            return
        due = sorted(
            (on, str(clause_id), clause_id)
            for clause_id, on in self.revisit_dates.items()
            if on <= today and clause_id not in self.due_reviews
        )
        if not due:
            raise NothingDue(self.id)
        for on, _, clause_id in due:
            self.trigger_event(self.ReviewDue, timestamp=now, clause_id=clause_id, revisit_on=on)

    def reaffirm(
        self, by: UUID, clause_id: UUID, revision: int, next_revisit_on: date | None, now: datetime
    ) -> None:
        """Keep a clause that is due for review as it is; when every party has, the review is settled."""
        self.check_is_party(by)
        self.check_in_force()
        clause = self.get_clause(clause_id)
        review = self.check_due(clause_id)
        self.check_revision(clause, revision)
        check_ahead("next_revisit_on", next_revisit_on, now)
        if by in review.reaffirmed_by and next_revisit_on == review.next_revisit_on:
            raise AlreadyDone("reaffirmed", clause_id, by)
        self.trigger_event(
            self.Reaffirmed,
            timestamp=now,
            by=by,
            clause_id=clause_id,
            revision=revision,
            next_revisit_on=next_revisit_on,
        )
        if review.reaffirmed_by.issuperset(self.parties):
            self.trigger_event(
                self.ReviewSettled,
                timestamp=now,
                clause_id=clause_id,
                revision=revision,
                next_revisit_on=next_revisit_on,
            )

    def consent(self, by: UUID, version: int, now: datetime) -> None:
        self.check_is_party(by)
        self.check_current_version(version)
        if by in self.consents:
            raise AlreadyDone("consented to", self.id, by, version=version)
        self.check_end_date_ahead(now)
        self.trigger_event(self.Consented, timestamp=now, by=by, version=version)
        if len(self.parties) >= MIN_PARTIES_TO_RATIFY and self.consents.issuperset(self.parties):
            self._ratify(version, now)

    def withdraw_consent(self, by: UUID, now: datetime) -> None:
        self.check_is_party(by)
        self.check_drafting()
        if by not in self.consents:
            raise NotConsented(self.id, by, self.content_version)
        self.trigger_event(
            self.ConsentWithdrawn, timestamp=now, by=by, version=self.content_version
        )

    def propose(
        self,
        by: UUID,
        proposal_id: UUID,
        changes: Sequence[ClauseChange],
        reason: str,
        now: datetime,
        end_date: EndDateChange | None = None,
        check_in_id: UUID | None = None,
    ) -> None:
        self.check_is_party(by)
        base_version = self.check_in_force()
        if proposal_id in self.proposals:
            raise AlreadyExists("proposal", proposal_id)
        check_text("reason", reason, MAX_NOTE)
        if end_date is None or changes:
            self.check_changes(changes, now)
        if end_date is not None:
            self.check_end_date_change(end_date, now)
        self.trigger_event(
            self.Proposed,
            timestamp=now,
            by=by,
            proposal_id=proposal_id,
            base_version=base_version,
            changes=tuple(changes),
            reason=reason,
            check_in_id=check_in_id,
            end_date=end_date,
        )

    def comment(
        self, by: UUID, proposal_id: UUID, comment_id: UUID, text: str, now: datetime
    ) -> None:
        self.check_is_party(by)
        proposal = self.get_proposal(proposal_id)
        check_open(proposal, self.in_force_version)
        if any(c.comment_id == comment_id for c in proposal.comments):
            raise AlreadyExists("comment", comment_id)
        check_text("text", text, MAX_NOTE)
        self.trigger_event(
            self.Commented,
            timestamp=now,
            by=by,
            proposal_id=proposal_id,
            comment_id=comment_id,
            text=text,
        )

    def accept(self, by: UUID, proposal_id: UUID, now: datetime) -> None:
        self.check_is_party(by)
        proposal = self.get_proposal(proposal_id)
        check_open(proposal, self.in_force_version)
        if by in proposal.accepted_by:
            raise AlreadyDone("accepted", proposal_id, by)
        self.trigger_event(self.ProposalAccepted, timestamp=now, by=by, proposal_id=proposal_id)
        if proposal.accepted_by.issuperset(self.parties):
            version = self.content_version + 1
            self.trigger_event(
                self.ProposalAdopted, timestamp=now, proposal_id=proposal_id, version=version
            )
            self._ratify(version, now)

    def decline(self, by: UUID, proposal_id: UUID, reason: str, now: datetime) -> None:
        self.check_is_party(by)
        check_open(self.get_proposal(proposal_id), self.in_force_version)
        check_text("reason", reason, MAX_NOTE)
        self.trigger_event(
            self.ProposalDeclined, timestamp=now, by=by, proposal_id=proposal_id, reason=reason
        )

    def withdraw(self, by: UUID, proposal_id: UUID, now: datetime) -> None:
        self.check_is_party(by)
        proposal = self.get_proposal(proposal_id)
        if by != proposal.proposer:
            raise NotTheAuthor(proposal_id, by)
        check_open(proposal, self.in_force_version)
        self.trigger_event(self.ProposalWithdrawn, timestamp=now, by=by, proposal_id=proposal_id)

    def write_repair_note(
        self,
        by: UUID,
        note_id: UUID,
        clause_id: UUID,
        what_happened: str,
        impact: str,
        intentions: str,
        now: datetime,
    ) -> None:
        self.check_is_party(by)
        if note_id in self.repair_notes:
            raise AlreadyExists("repair_note", note_id)
        self.get_clause(clause_id)
        check_text("what_happened", what_happened, MAX_NOTE)
        check_text("impact", impact, MAX_NOTE)
        check_text("intentions", intentions, MAX_NOTE)
        self.trigger_event(
            self.RepairNoteWritten,
            timestamp=now,
            by=by,
            note_id=note_id,
            clause_id=clause_id,
            what_happened=what_happened,
            impact=impact,
            intentions=intentions,
        )

    def acknowledge_repair_note(self, by: UUID, note_id: UUID, now: datetime) -> None:
        self.check_is_party(by)
        note = self.get_repair_note(note_id)
        if by == note.author:
            raise OwnRepairNote(note_id, by)
        if by in note.acknowledged_by:
            raise AlreadyDone("acknowledged", note_id, by)
        self.trigger_event(self.RepairNoteAcknowledged, timestamp=now, by=by, note_id=note_id)

    def link_repair_note(self, by: UUID, note_id: UUID, proposal_id: UUID, now: datetime) -> None:
        self.check_is_party(by)
        note = self.get_repair_note(note_id)
        if by != note.author:
            raise NotTheAuthor(note_id, by)
        self.get_proposal(proposal_id)
        if proposal_id in note.linked_proposals:
            raise AlreadyDone("linked that proposal to", note_id, by)
        self.trigger_event(
            self.RepairNoteLinked, timestamp=now, by=by, note_id=note_id, proposal_id=proposal_id
        )

    # Lookups that raise the domain's own errors

    def get_clause(self, clause_id: UUID) -> Clause:
        try:
            return self.clauses[clause_id]
        except KeyError:
            raise NotFound("clause", clause_id) from None

    def get_proposal(self, proposal_id: UUID) -> Proposal:
        try:
            return self.proposals[proposal_id]
        except KeyError:
            raise NotFound("proposal", proposal_id) from None

    def get_repair_note(self, note_id: UUID) -> RepairNote:
        try:
            return self.repair_notes[note_id]
        except KeyError:
            raise NotFound("repair_note", note_id) from None

    # Invariants

    def check_is_party(self, person: UUID) -> None:
        if person not in self.parties:
            raise NotAParty(self.id, person)

    def check_is_invited(self, person: UUID) -> None:
        if person not in self.invitees:
            raise NotInvited(self.id, person, "party" if person in self.parties else "none")

    def check_not_involved(self, person: UUID) -> None:
        if person in self.parties or person in self.invitees:
            raise AlreadyInvolved(self.id, person, "party" if person in self.parties else "invited")

    def check_room_for_party(self) -> None:
        if len(self.parties) + len(self.invitees) >= MAX_PARTIES:
            raise ValidationFailed(
                "invitee", f"at most {MAX_PARTIES} parties, counting open invitations"
            )

    def check_drafting(self) -> None:
        if self.in_force_version is not None:
            raise InForce(self.id, self.in_force_version)

    def check_in_force(self) -> int:
        if self.in_force_version is None:
            raise NotInForce(self.id, self.content_version)
        return self.in_force_version

    def check_new_clause_id(self, clause_id: UUID) -> None:
        if clause_id in self.used_clause_ids:
            raise AlreadyExists("clause", clause_id)

    def check_room_for_clauses(self, count: int) -> None:
        if count > MAX_CLAUSES:
            raise ValidationFailed("clauses", f"at most {MAX_CLAUSES} clauses")

    def check_revision(self, clause: Clause, based_on_revision: int) -> None:
        if based_on_revision != clause.revision:
            raise StaleRevision(clause.clause_id, based_on_revision, clause.revision, clause.text)

    def check_end_date_change(self, change: EndDateChange, now: datetime) -> None:
        check_ahead("end_date.until", change.until, now)
        if change.until == self.end_date:
            raise ValidationFailed("end_date.until", "is the agreement's end date already")

    def check_due(self, clause_id: UUID) -> DueReview:
        try:
            return self.due_reviews[clause_id]
        except KeyError:
            raise NotDue(self.id, clause_id) from None

    def check_end_date_ahead(self, now: datetime) -> None:
        # Consent to a version that would lapse at once is consent to nothing.
        if self.end_date is not None and self.end_date <= day_of(now):
            raise ValidationFailed("until", "has passed: set a later end date, or none, before consenting")

    def check_current_version(self, version: int) -> None:
        if version != self.content_version:
            raise StaleVersion(self.id, version, self.content_version)

    def check_changes(self, changes: Sequence[ClauseChange], now: datetime) -> None:
        if not changes:
            raise ValidationFailed("changes", "must not be empty")
        seen: set[UUID] = set()
        for index, change in enumerate(changes):
            where = f"changes[{index}]"
            if change.clause_id in seen:
                raise ValidationFailed(f"{where}.clause_id", "one change per clause")
            seen.add(change.clause_id)
            match change.kind:
                case "add":
                    self.check_new_clause_id(change.clause_id)
                    check_topic(f"{where}.topic", change.topic)
                    check_text(f"{where}.text", change.text, MAX_CLAUSE_TEXT)
                    check_ahead(f"{where}.revisit_on", change.revisit_on, now)
                case "edit":
                    clause = self.get_clause(change.clause_id)
                    check_no_topic(where, change)
                    check_text(f"{where}.text", change.text, MAX_CLAUSE_TEXT)
                    check_changed(f"{where}.text", clause, change.text)
                    check_ahead(f"{where}.revisit_on", change.revisit_on, now)
                case "remove":
                    self.get_clause(change.clause_id)
                    check_no_topic(where, change)
                    if change.text is not None:
                        raise ValidationFailed(f"{where}.text", "a removal takes no text")
                    if change.revisit_on is not None:
                        raise ValidationFailed(f"{where}.revisit_on", "a removal takes no revisit date")
                case _:
                    raise ValidationFailed(f"{where}.kind", "must be add, edit or remove")
        self.check_room_for_clauses(len(apply_changes(self.clauses, changes)))

