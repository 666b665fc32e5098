"""People with a confirmed address for email reminders: whom the scheduler looks at.

One document per such person, keyed by their reminders stream, due from when
their address was confirmed or they were last reminded (the least recently
reminded first). The scheduler works out from the person's inbox what, if
anything, is due (service/scheduler.py); nothing intimate is kept here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.network import Erasure
from domain.reminders import Reminders
from projections.projection import Projection


class Reminding(msgspec.Struct, frozen=True):
    person: UUID
    since: datetime


HANDLES = (
    Reminders.Created,
    Reminders.AddressAdded,
    Reminders.AddressConfirmed,
    Reminders.AddressRemoved,
    Reminders.ReminderSent,
    Erasure.Created,
)


def keys(event: object) -> Iterable[str]:
    if isinstance(event, Erasure.Created):
        return (str(Reminders.id_for(event.person)),)
    if isinstance(event, HANDLES):
        return (str(event.originator_id),)
    return ()


def evolve(document: Reminding | None, event: object) -> Reminding | None:
    match event:
        case Reminders.Created():
            return None
        case Reminders.AddressConfirmed():
            return Reminding(person=event.person, since=event.timestamp)
        case Reminders.ReminderSent() if document is not None:
            return Reminding(person=document.person, since=event.timestamp)
        case Reminders.AddressAdded() | Reminders.AddressRemoved() | Erasure.Created():
            return None
    return document


def due(document: Reminding) -> datetime | None:
    return document.since


PROJECTION = Projection(name="reminders", document=Reminding, handles=HANDLES, keys=keys, evolve=evolve, due=due)
