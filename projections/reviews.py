"""What of an agreement in force waits for a date: its clauses' revisit dates and its end date.

One document per agreement with something pending, due at the earliest of its
dates (the first moment of that day in UTC). The scheduler asks for the
documents due by now and lets the agreement decide what falls due
(`Agreement.fall_due`): a `ReviewDue` takes that clause out of the document, a
`Lapsed` (or anything that takes the agreement out of force) the whole
document. The dates come from `DatesScheduled`, which follows each
ratification that puts dates in force, and from settled reviews.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import msgspec

from domain.agreement import Agreement, start_of
from projections.projection import Projection


class Pending(msgspec.Struct, frozen=True):
    #: clause id -> its revisit date, for clauses not yet due.
    revisits: dict[str, date] = msgspec.field(default_factory=dict)
    until: date | None = None
    #: The agreement's version when the document last changed: with the due time it
    #: names one firing, so a repeat of it is recognised (the scheduler's command key).
    since: int = 0


HANDLES = (
    Agreement.Ratified,
    Agreement.DatesScheduled,
    Agreement.ReviewDue,
    Agreement.ReviewSettled,
    Agreement.Lapsed,
    Agreement.InvitationAccepted,
    Agreement.PartyLeft,
    Agreement.Discarded,
)


def keys(event: object) -> Iterable[str]:
    if isinstance(event, HANDLES):
        return (str(event.originator_id),)
    return ()


def _kept(document: Pending | None) -> Pending | None:
    if document is None or (not document.revisits and document.until is None):
        return None
    return document


def evolve(document: Pending | None, event: object) -> Pending | None:
    since = getattr(event, "originator_version", 0)
    match event:
        case Agreement.DatesScheduled():
            revisits = {str(r.clause_id): r.on for r in event.revisits}
            return _kept(Pending(revisits=revisits, until=event.until, since=since))
        case Agreement.ReviewDue() if document is not None:
            rest = {k: v for k, v in document.revisits.items() if k != str(event.clause_id)}
            return _kept(msgspec.structs.replace(document, revisits=rest, since=since))
        case Agreement.ReviewSettled() if event.next_revisit_on is not None:
            base = document or Pending()
            revisits = {**base.revisits, str(event.clause_id): event.next_revisit_on}
            return msgspec.structs.replace(base, revisits=revisits, since=since)
        case Agreement.ReviewSettled():
            return document
        # A new version in force schedules afresh (DatesScheduled follows when it has dates);
        # out of force, nothing falls due.
        case _:
            return None


def due(document: Pending) -> datetime | None:
    days = [*document.revisits.values(), *([document.until] if document.until is not None else [])]
    return start_of(min(days)) if days else None


PROJECTION = Projection(
    name="reviews", document=Pending, handles=HANDLES, keys=keys, evolve=evolve, due=due
)
