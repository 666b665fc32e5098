"""Errors the domain raises when a command may not happen.

Each carries a stable `code` for clients and the ids involved, so the edge can
build a precise problem response without parsing messages. An error that is a
conflict with the current state also carries what that state is now (a
status, a version, a relation), so the refusal can say so: the caller may
then decide again without another read.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, TypeVar
from uuid import UUID

T = TypeVar("T")


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"

    @property
    def detail(self) -> str:
        return str(self)


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, thing: str, thing_id: UUID) -> None:
        super().__init__(f"no {thing.replace('_', ' ')} {thing_id}")
        self.thing = thing
        self.thing_id = thing_id


def seen(found: T | None, thing: str, thing_id: UUID) -> T:
    """What a person may see of a thing, or `NotFound`: the same whether it does not exist or is not theirs."""
    if found is None:
        raise NotFound(thing, thing_id)
    return found


class AlreadyExists(DomainError):
    """A client-chosen id is already taken."""

    code = "already_exists"

    def __init__(self, thing: str, thing_id: UUID) -> None:
        super().__init__(f"{thing.replace('_', ' ')} {thing_id} already exists")
        self.thing = thing
        self.thing_id = thing_id


class ValidationFailed(DomainError):
    code = "validation_failed"

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotAParty(DomainError):
    code = "not_a_party"

    def __init__(self, agreement_id: UUID, person_id: UUID) -> None:
        super().__init__(f"{person_id} is not a party of agreement {agreement_id}")
        self.agreement_id = agreement_id
        self.person_id = person_id


class StaleRevision(DomainError):
    """The clause changed since the caller read it; they get what it says now."""

    code = "stale_revision"

    def __init__(
        self, clause_id: UUID, based_on_revision: int, current_revision: int, current_text: str
    ) -> None:
        super().__init__(
            f"clause {clause_id} is at revision {current_revision}, "
            f"not {based_on_revision}; review its current text and try again"
        )
        self.clause_id = clause_id
        self.based_on_revision = based_on_revision
        self.current_revision = current_revision
        self.current_text = current_text


class StaleVersion(DomainError):
    """Consent names a version that is no longer the current one."""

    code = "stale_version"

    def __init__(self, agreement_id: UUID, version: int, current_version: int) -> None:
        super().__init__(
            f"agreement {agreement_id} is at version {current_version}, not {version}; "
            "consent is given to the current version only"
        )
        self.agreement_id = agreement_id
        self.version = version
        self.current_version = current_version


class InvalidTransition(DomainError):
    """The command is well formed but the agreement is not in a state that allows it."""

    code = "invalid_transition"


class InForce(InvalidTransition):
    code = "in_force"

    def __init__(self, agreement_id: UUID, version: int) -> None:
        super().__init__(
            f"version {version} of agreement {agreement_id} is in force; "
            "propose a renegotiation to change it"
        )
        self.agreement_id = agreement_id
        self.version = version


class NotInForce(InvalidTransition):
    code = "not_in_force"

    def __init__(self, agreement_id: UUID, version: int) -> None:
        super().__init__(
            f"no version of agreement {agreement_id} is in force; edit the draft instead"
        )
        self.agreement_id = agreement_id
        #: The draft's version now.
        self.version = version


class AlreadyInvolved(InvalidTransition):
    code = "already_involved"

    def __init__(self, agreement_id: UUID, person_id: UUID, relation: str) -> None:
        # The message names nobody: the inviter addressed them by handle only.
        super().__init__(f"that person is already a party of or invited to {agreement_id}")
        self.agreement_id = agreement_id
        self.person_id = person_id
        #: "party" or "invited": what the inviting party's own view already shows.
        self.relation = relation


class NotInvited(InvalidTransition):
    code = "not_invited"

    def __init__(self, agreement_id: UUID, person_id: UUID, relation: str) -> None:
        super().__init__(f"{person_id} has no open invitation to {agreement_id}")
        self.agreement_id = agreement_id
        self.person_id = person_id
        #: "party" (already one) or "none".
        self.relation = relation


class AlreadyDone(InvalidTransition):
    """Consent, acceptance, acknowledgement and links count once per person."""

    code = "already_done"

    def __init__(self, action: str, thing_id: UUID, person_id: UUID, *, version: int | None = None) -> None:
        at = "" if version is None else f" (version {version})"
        super().__init__(f"{person_id} has already {action} {thing_id}{at}")
        self.action = action
        self.thing_id = thing_id
        self.person_id = person_id
        #: For consent to an agreement: the version consented to.
        self.version = version


class NotAskedToDiscard(InvalidTransition):
    code = "not_asked_to_discard"

    def __init__(self, agreement_id: UUID, person_id: UUID) -> None:
        super().__init__(f"{person_id} has not asked to discard agreement {agreement_id}")
        self.agreement_id = agreement_id
        self.person_id = person_id


class NotConsented(InvalidTransition):
    code = "not_consented"

    def __init__(self, agreement_id: UUID, person_id: UUID, version: int) -> None:
        super().__init__(f"{person_id} has no consent to withdraw on {agreement_id}")
        self.agreement_id = agreement_id
        self.person_id = person_id
        #: The draft's version now.
        self.version = version


class ProposalClosed(InvalidTransition):
    code = "proposal_closed"

    def __init__(self, proposal_id: UUID, status: str, in_force_version: int | None) -> None:
        super().__init__(f"proposal {proposal_id} is {status.replace('_', ' ')}")
        self.proposal_id = proposal_id
        self.status = status
        #: The version in force now (None while the agreement is back in drafting).
        self.in_force_version = in_force_version


class ProposalOutOfDate(InvalidTransition):
    """Parties or the version in force changed after the proposal was made."""

    code = "proposal_out_of_date"

    def __init__(self, proposal_id: UUID, base_version: int, in_force_version: int | None) -> None:
        super().__init__(
            f"proposal {proposal_id} was made against version {base_version}, "
            "which is no longer in force with the same parties; propose again"
        )
        self.proposal_id = proposal_id
        self.base_version = base_version
        #: The version in force now (None while the agreement is back in drafting).
        self.in_force_version = in_force_version


class NotTheAuthor(InvalidTransition):
    code = "not_the_author"

    def __init__(self, thing_id: UUID, person_id: UUID) -> None:
        super().__init__(f"only the author of {thing_id} may do this, not {person_id}")
        self.thing_id = thing_id
        self.person_id = person_id


class OwnRepairNote(InvalidTransition):
    """A repair note is acknowledged by the people it was written to."""

    code = "own_repair_note"

    def __init__(self, note_id: UUID, person_id: UUID) -> None:
        super().__init__(f"{person_id} wrote repair note {note_id} and cannot acknowledge it")
        self.note_id = note_id
        self.person_id = person_id


class NotInLink(DomainError):
    code = "not_in_link"

    def __init__(self, link_id: UUID, person_id: UUID) -> None:
        super().__init__(f"{person_id} is not one of the two people of partner link {link_id}")
        self.link_id = link_id
        self.person_id = person_id


class LinkStatusForbids(InvalidTransition):
    """The partner link's status does not allow the command (confirming a live link, ...)."""

    code = "link_status_forbids"

    def __init__(self, link_id: UUID, status: str, action: str) -> None:
        super().__init__(f"partner link {link_id} is {status}, so it cannot be {action}")
        self.link_id = link_id
        self.status = status
        self.action = action


class OwnProposal(InvalidTransition):
    """A partner link is confirmed or declined by the person it was proposed to."""

    code = "own_proposal"

    def __init__(self, link_id: UUID, person_id: UUID, status: str) -> None:
        super().__init__(f"{person_id} proposed partner link {link_id} and cannot answer it")
        self.link_id = link_id
        self.person_id = person_id
        #: The link's status now.
        self.status = status


class GrantRevoked(InvalidTransition):
    """Revocation is final: a fresh grant is needed to share again."""

    code = "grant_revoked"

    def __init__(self, grant_id: UUID) -> None:
        super().__init__(f"sharing grant {grant_id} was revoked; propose a new one to share again")
        self.grant_id = grant_id


class GrantLapsed(InvalidTransition):
    code = "grant_lapsed"

    def __init__(self, grant_id: UUID, until: datetime) -> None:
        super().__init__(f"sharing grant {grant_id} lapsed at {until.isoformat()}")
        self.grant_id = grant_id
        self.until = until


class GrantNotDue(InvalidTransition):
    """A grant lapses once, after its end date, unless it was revoked first."""

    code = "grant_not_due"

    def __init__(self, grant_id: UUID) -> None:
        super().__init__(f"grant {grant_id} is not due to lapse")
        self.grant_id = grant_id


class CheckInStatusForbids(InvalidTransition):
    """The check-in series is paused or ended (or already running), so the command cannot happen."""

    code = "check_in_status_forbids"

    def __init__(self, check_in_id: UUID, status: str, action: str) -> None:
        super().__init__(f"check-in {check_in_id} is {status}, so it cannot be {action}")
        self.check_in_id = check_in_id
        self.status = status
        self.action = action


class OccurrenceNotOpen(InvalidTransition):
    """Only the occurrence open now takes preparation, sharing, a plan, a move or a skip."""

    code = "occurrence_not_open"

    def __init__(self, check_in_id: UUID, index: int, open_index: int | None) -> None:
        super().__init__(f"occurrence {index} of check-in {check_in_id} is not the one open now")
        self.check_in_id = check_in_id
        self.index = index
        #: The occurrence open now, if any.
        self.open_index = open_index


class OccurrenceNotDue(InvalidTransition):
    """An occurrence counts as missed only once its grace period has passed without a plan."""

    code = "occurrence_not_due"

    def __init__(self, check_in_id: UUID, index: int) -> None:
        super().__init__(f"occurrence {index} of check-in {check_in_id} is not due to be marked missed")
        self.check_in_id = check_in_id
        self.index = index
class NotDue(InvalidTransition):
    """Only a clause due for review is reaffirmed: its revisit date has come and nobody changed it since."""

    code = "not_due_for_review"

    def __init__(self, agreement_id: UUID, clause_id: UUID) -> None:
        super().__init__(f"clause {clause_id} of agreement {agreement_id} is not due for review")
        self.agreement_id = agreement_id
        self.clause_id = clause_id


class NothingDue(InvalidTransition):
    """The scheduler found nothing of the agreement due: no review, no lapse."""

    code = "nothing_due"

    def __init__(self, agreement_id: UUID) -> None:
        super().__init__(f"nothing of agreement {agreement_id} is due")
        self.agreement_id = agreement_id


class NotToBeShared(DomainError):
    """A metamour asked to export what they see through a grant that says "do not reshare"."""

    code = "no_reshare"

    def __init__(self, agreement_id: UUID) -> None:
        super().__init__(f"the parties of agreement {agreement_id} asked that what they share not be passed on")
        self.agreement_id = agreement_id


class DocumentChanged(DomainError):
    """A personal document was revised since the owner read it; they get what it says now."""

    code = "document_changed"

    def __init__(self, document_id: UUID, based_on: int, current_version: int) -> None:
        super().__init__(
            f"document {document_id} is at version {current_version}, not {based_on}; "
            "review what it says now and revise again"
        )
        self.document_id = document_id
        self.based_on = based_on
        self.current_version = current_version
        #: The current version's sections (headings and texts), set by the document that refused.
        self.sections: tuple[object, ...] = ()


class BookingRefused(DomainError):
    """A plan breaks a participant's booking rule set to refuse (domain/availability.py).

    `detail` names the rule and its owner only as far as the owner shows that
    rule to the caller; `breaches` holds each refusal as the caller may know it,
    set by the service that checked them."""

    code = "booking_rule"

    def __init__(self, plan_id: UUID, detail: str = "this time does not work for a participant") -> None:
        super().__init__(detail)
        self.plan_id = plan_id
        self.breaches: tuple[object, ...] = ()


class PlanStatusForbids(InvalidTransition):
    """The plan is cancelled, so the command cannot happen."""

    code = "plan_status_forbids"

    def __init__(self, plan_id: UUID, status: str, action: str) -> None:
        super().__init__(f"plan {plan_id} is {status}, so it cannot be {action}")
        self.plan_id = plan_id
        self.status = status
        self.action = action


class PlanChanged(InvalidTransition):
    """An answer to a proposal of a plan that was rescheduled since: the times on the table are others."""

    code = "plan_changed"

    def __init__(self, plan_id: UUID, proposal: int, current_proposal: int) -> None:
        super().__init__(f"plan {plan_id} was rescheduled: proposal {proposal} is now {current_proposal}")
        self.plan_id = plan_id
        self.proposal = proposal
        self.current_proposal = current_proposal
