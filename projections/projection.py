"""What a persisted read model is: a pure fold over events into documents by key.

Each read model module declares one `Projection`: the events it handles, which
documents an event changes (`keys`), and how (`evolve`, pure: the document
before, the event, the document after, or None to delete it). A document may
say when it falls due (`due`), so the scheduler can ask for what is due
without scanning. The projector (service/read/projector.py) stores documents
with the projection's position in one transaction; nothing else writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

D = TypeVar("D", bound=msgspec.Struct)


def _never(document: Any) -> datetime | None:
    return None


@dataclass(frozen=True)
class Projection(Generic[D]):
    name: str
    document: type[D]
    handles: tuple[type, ...]
    keys: Callable[[Any], Iterable[str]]
    evolve: Callable[[D | None, Any], D | None]
    due: Callable[[D], datetime | None] = _never

    def decode(self, data: bytes) -> D:
        return msgspec.json.decode(data, type=self.document)

    def encode(self, document: D) -> bytes:
        return msgspec.json.encode(document)
