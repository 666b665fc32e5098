"""Signals: whose they are, and when each expires.

`SIGNALS`: one document per person, the ids of the signals they sent or that
reached them, newest last (at most `KEPT`); nothing of a signal's content,
which rests sealed in its own stream. Once a signal expired its key is gone
and its stream reads as absent, so views skip its id: nothing else of it is
kept here to remove. `EXPIRY`: one document per signal not yet expired, due
at its expiry; the scheduler appends what stays of it to the sender's book
(`SignalBook.Expired`, which removes the document) and destroys its key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.signals import Signal, SignalBook
from projections.projection import Projection

#: How many signal ids a person's document keeps.
KEPT = 200


class PersonSignals(msgspec.Struct):
    signals: list[UUID] = []


def _person_keys(event: object) -> Iterable[str]:
    if isinstance(event, Signal.Sent):
        return tuple(str(p) for p in (event.by, *event.recipients))
    return ()


def _person_evolve(document: PersonSignals | None, event: object) -> PersonSignals | None:
    found = [] if document is None else document.signals
    signal_id: UUID = event.originator_id  # type: ignore[attr-defined]
    return PersonSignals(signals=found if signal_id in found else [*found, signal_id][-KEPT:])


SIGNALS = Projection(
    name="signals", document=PersonSignals, handles=(Signal.Sent,), keys=_person_keys, evolve=_person_evolve
)


class Expiry(msgspec.Struct, frozen=True):
    by: UUID
    expires_at: datetime


EXPIRY_HANDLES = (Signal.Sent, SignalBook.Expired)


def _expiry_keys(event: object) -> Iterable[str]:
    match event:
        case Signal.Sent():
            return (str(event.originator_id),)
        case SignalBook.Expired():
            return (str(event.signal_id),)
    return ()


def _expiry_evolve(document: Expiry | None, event: object) -> Expiry | None:
    match event:
        case Signal.Sent():
            return Expiry(by=event.by, expires_at=event.expires_at)
        case SignalBook.Expired():
            return None
    return document


def due(document: Expiry) -> datetime | None:
    return document.expires_at


EXPIRY = Projection(
    name="signal_expiry", document=Expiry, handles=EXPIRY_HANDLES, keys=_expiry_keys, evolve=_expiry_evolve, due=due
)
