"""Domain events to stored records and back, with msgspec.

Each event class gets a msgspec Struct built from its type hints, so UUID,
datetime and Decimal fields come back as themselves, and decoding is one
typed C call. The library's upcasting (`class_version`, `upcast_vN_vN+1`) runs
on the raw state before it is converted, exactly as the library's own Mapper
does it. Usable by the eventsourcing library through `MAPPER_TOPIC`.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import lru_cache
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

_encode = msgspec.json.Encoder().encode
_decode_raw = msgspec.json.Decoder(dict[str, Any]).decode

_SKIP = frozenset({"originator_id", "originator_version"})


class _Shape(msgspec.Struct, frozen=True):
    decoder: msgspec.json.Decoder
    state_type: type
    class_version: int


@lru_cache(maxsize=None)
def _shape(cls: type) -> _Shape:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else hints
    fields = [(name, hints[name]) for name in names if name not in _SKIP]
    state_type = msgspec.defstruct(f"{cls.__qualname__}State", fields, kw_only=True)
    return _Shape(
        decoder=msgspec.json.Decoder(state_type),
        state_type=state_type,
        class_version=getattr(cls, "class_version", 1),
    )


#: A Struct's fields as a new dict, in field order, in C (with the per-topic lookup in the
#: mapper: decoding in 0.72x the time, bench/RESULTS.md).
_as_dict = msgspec.structs.asdict


class MsgspecMapper(Mapper[UUID]):
    """The eventsourcing Mapper interface, encoding with msgspec JSON."""

    def __init__(
        self,
        transcoder: Transcoder | None = None,
        compressor: Any = None,
        cipher: Any = None,
    ) -> None:
        # The transcoder is unused: msgspec encodes by type hint.
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)  # type: ignore[arg-type]
        #: topic -> (event class, its shape): one dict lookup per decoded event.
        self._by_topic: dict[str, tuple[type, _Shape]] = {}

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        cls = type(domain_event)
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = _encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            cls, shape = self._by_topic[stored_event.topic]
        except KeyError:
            cls = resolve_topic(stored_event.topic)
            shape = _shape(cls)
            self._by_topic[stored_event.topic] = cls, shape
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        if shape.class_version == 1:
            state = _as_dict(shape.decoder.decode(data))
        else:
            raw = _decode_raw(data)
            version = raw.pop("class_version", 1)
            while version < shape.class_version:
                getattr(cls, f"upcast_v{version}_v{version + 1}")(raw)
                version += 1
            state = _as_dict(msgspec.convert(raw, shape.state_type, strict=False))
        originator_id = stored_event.originator_id
        state["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        )
        state["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


class SealedMapper(MsgspecMapper):
    """The mapper for the eventsourcing library's own tools on an Accord database with sealed events.

    Give the library `MAPPER_TOPIC=service.store.mapper:SealedMapper`, and this
    process `ACCORD_DATABASE_URL` (PostgreSQL) and `ACCORD_MASTER_KEY` (plus
    `ACCORD_PREVIOUS_MASTER_KEYS` during a rotation): a sealed event's state is
    opened with its stream's data key, read from `accord_keys` (psycopg,
    synchronously, as the library works) and unwrapped with the master key.
    Without the key, or after the key was destroyed, the event cannot be read.
    """

    def __init__(self, transcoder: Transcoder | None = None, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        import os

        from service.crypto import load_master_keys

        self._dsn = os.environ["ACCORD_DATABASE_URL"]
        self._masters = load_master_keys(
            os.environ.get("ACCORD_MASTER_KEY", ""),
            os.environ.get("ACCORD_MASTER_KEY_FILE", ""),
            os.environ.get("ACCORD_PREVIOUS_MASTER_KEYS", ""),
            embedded_beside=None,
        )
        self._keys: dict[UUID, Any] = {}

    def _key(self, owner: UUID) -> Any:
        if owner not in self._keys:
            import psycopg
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            from service.crypto import Shredded

            with psycopg.connect(self._dsn) as conn:
                row = conn.execute("SELECT wrapped, master FROM accord_keys WHERE owner = %s", (owner,)).fetchone()
            if row is None:
                raise Shredded(owner)
            self._keys[owner] = AESGCM(self._masters.unwrap(owner, bytes(row[0]), bytes(row[1])))
        return self._keys[owner]

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        from service.crypto import is_sealed, open_sealed

        if is_sealed(stored_event.state):
            owner = stored_event.originator_id
            owner = owner if isinstance(owner, UUID) else UUID(str(owner))
            stored_event = StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=open_sealed(self._key(owner), owner, stored_event.state),
            )
        return super().to_domain_event(stored_event)
