"""Check-ins: whose they are, and when the open occurrence of each counts as missed.

`CHECK_INS`: one document per person, the check-in series they were started
with (whether they still take part is the policy's to say). `DUE`: one document
per active series with an open occurrence, due when its grace period ends; the
scheduler asks for the documents due by now and appends `Missed`, which opens
the next occurrence and so moves the document on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.checkins import GRACE, CheckIn
from projections.projection import Projection


class PersonCheckIns(msgspec.Struct):
    check_ins: list[UUID] = []


def _person_keys(event: object) -> Iterable[str]:
    if isinstance(event, CheckIn.Started):
        return tuple(str(p) for p in event.participants)
    return ()


def _person_evolve(document: PersonCheckIns | None, event: object) -> PersonCheckIns | None:
    found = [] if document is None else document.check_ins
    check_in_id: UUID = event.originator_id  # type: ignore[attr-defined]
    return PersonCheckIns(check_ins=found if check_in_id in found else [*found, check_in_id])


CHECK_INS = Projection(
    name="check_ins", document=PersonCheckIns, handles=(CheckIn.Started,), keys=_person_keys, evolve=_person_evolve
)


class Due(msgspec.Struct, frozen=True):
    """The open occurrence of an active series, and when it counts as missed."""

    index: int
    starts_at: datetime
    paused: bool = False


DUE_HANDLES = (
    CheckIn.OccurrenceOpened,
    CheckIn.Moved,
    CheckIn.Closed,
    CheckIn.Skipped,
    CheckIn.Missed,
    CheckIn.Paused,
    CheckIn.Resumed,
    CheckIn.Ended,
    CheckIn.Stopped,
)


def _due_keys(event: object) -> Iterable[str]:
    if isinstance(event, DUE_HANDLES):
        return (str(event.originator_id),)
    return ()


def _due_evolve(document: Due | None, event: object) -> Due | None:
    match event:
        case CheckIn.OccurrenceOpened():
            paused = document.paused if document is not None else False
            return Due(index=event.index, starts_at=event.starts_at, paused=paused)
        case CheckIn.Moved() if document is not None and document.index == event.index:
            return msgspec.structs.replace(document, starts_at=event.to)
        case CheckIn.Closed() | CheckIn.Skipped() | CheckIn.Missed() if document is not None:
            return None if document.index == event.index else document
        case CheckIn.Paused() if document is not None:
            return msgspec.structs.replace(document, paused=True)
        case CheckIn.Resumed() if document is not None:
            return msgspec.structs.replace(document, paused=False)
        case CheckIn.Ended() | CheckIn.Stopped():
            return None
    return document


def due(document: Due) -> datetime | None:
    return None if document.paused else document.starts_at + GRACE


DUE = Projection(name="check_in_due", document=Due, handles=DUE_HANDLES, keys=_due_keys, evolve=_due_evolve, due=due)
