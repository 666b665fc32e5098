"""Sharing grants with an end date that has not been reached, revoked or recorded as lapsed.

One document per such grant, due at its end date: the scheduler asks for the
documents due by now and appends `Lapsed` for each, which removes it here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from domain.grants import SharingGrant
from projections.projection import Projection


class Lapse(msgspec.Struct, frozen=True):
    until: datetime


HANDLES = (SharingGrant.Proposed, SharingGrant.Revoked, SharingGrant.Lapsed)


def keys(event: object) -> Iterable[str]:
    if isinstance(event, HANDLES):
        return (str(event.originator_id),)
    return ()


def evolve(document: Lapse | None, event: object) -> Lapse | None:
    match event:
        case SharingGrant.Proposed() if event.until is not None:
            return Lapse(until=event.until)
        case SharingGrant.Revoked() | SharingGrant.Lapsed():
            return None
    return document


def due(document: Lapse) -> datetime | None:
    return document.until


PROJECTION = Projection(name="lapses", document=Lapse, handles=HANDLES, keys=keys, evolve=evolve, due=due)
