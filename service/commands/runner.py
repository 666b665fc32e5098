"""Running a command against one aggregate: load, decide, append, retry.

A log conflict means someone else appended to the same stream between our
load and our append. The command is run again on the fresh state, so its own
preconditions decide: two edits of different clauses both land; an edit of
the same clause from a stale revision fails with the clause's current text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import AlreadyExists, DomainError, NotFound
from service.crypto import Shredded
from service.read.models import Cache
from service.store import (
    Appended,
    ConflictError,
    EventStore,
    NewEvent,
    StoredEvent,
    StoreUnavailable,
)
from service.store.mapper import MsgspecMapper

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 8


class CommandKey(msgspec.Struct, frozen=True):
    """An idempotency key, scoped to its caller and bound to its request."""

    caller: UUID
    key: str
    fingerprint: str

    @property
    def command_id(self) -> str:
        return f"{self.caller}:{self.key}"

    @staticmethod
    def fingerprint_of(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


class KeyReused(Exception):
    """An Idempotency-Key came back with a different request."""


class Recorded(msgspec.Struct):
    fingerprint: str
    body: msgspec.Raw


class Outcome(msgspec.Struct):
    body: Any
    position: int
    repeated: bool = False


class Busy(Exception):
    """Conflicts kept coming; the caller may retry."""


class CommandRunner:
    def __init__(self, store: EventStore, mapper: MsgspecMapper, streams: int = 2000) -> None:
        self.store = store
        self.mapper = mapper
        #: Commands appended by this process (a metric).
        self.appended = 0
        #: The stored events of streams this process's commands read or appended to, at most `streams`
        #: of them: a command starts from them instead of reading the stream again (see `run`).
        self._streams: Cache[UUID, list[StoredEvent]] = Cache(streams)

    async def load(self, cls: type[A], aggregate_id: UUID, *, version: int | None = None) -> A:
        aggregate = await self.load_if_any(cls, aggregate_id, version=version)
        if aggregate is None:
            raise NotFound(cls.__name__.lower(), aggregate_id)
        return aggregate

    async def load_if_any(
        self, cls: type[A], aggregate_id: UUID, *, version: int | None = None
    ) -> A | None:
        return self._fold(cls, await self.store.read_stream(aggregate_id, lte=version))

    def _fold(self, cls: type[A], stored: list[StoredEvent]) -> A | None:
        aggregate: Any = None
        for record in stored:
            event = self.mapper.to_domain_event(record)
            aggregate = event.mutate(aggregate)
        if aggregate is None or not isinstance(aggregate, cls):
            return None
        return aggregate

    async def _current(self, cls: type[A], aggregate_id: UUID, *, fresh: bool) -> tuple[A | None, bool]:
        """The aggregate a command decides on, and whether it came from this process's copy of its stream.

        The copy holds what this process read or appended, and nothing it did not see: it may trail
        the log (another process appended since), never differ from it, since the log is append-only.
        """
        if not fresh and (stored := self._streams.get(aggregate_id)) is not None:
            return self._fold(cls, stored), True
        stored = await self.store.read_stream(aggregate_id)
        if stored:
            self._streams.put(aggregate_id, stored)
        else:
            self._streams.drop(aggregate_id)
        return self._fold(cls, stored), False

    def _appended(self, aggregate_id: UUID, events: list[NewEvent], positions: list[int]) -> None:
        """Extend this process's copy of a stream by what it just appended to it: when it holds the
        rest of the stream, or when these are the stream's first events."""
        mine = [
            StoredEvent(e.originator_id, e.originator_version, e.topic, e.state, position)
            for e, position in zip(events, positions, strict=True)
            if e.originator_id == aggregate_id
        ]
        stored = self._streams.get(aggregate_id)
        if mine and mine[0].originator_version == 1:
            self._streams.put(aggregate_id, mine)
        elif mine and stored is not None and stored[-1].originator_version == mine[0].originator_version - 1:
            stored.extend(mine)
        else:
            self._streams.drop(aggregate_id)

    async def run(
        self,
        cls: type[A],
        aggregate_id: UUID,
        decide: Callable[[A | None], A],
        render: Callable[[A], Awaitable[Any]],
        *,
        key: CommandKey | None,
        creates: bool = False,
        may_create: bool = False,
    ) -> Outcome:
        """Apply `decide` to the aggregate and append its events.

        `decide` gets None when the command `creates` the aggregate (a clash is
        AlreadyExists), or — with `may_create` — when there is none yet (a
        clash means someone created it first: decide again on what they made).
        It returns the aggregate holding the new pending events; `render`
        makes the response body from it, stored with the command id so a
        repeat returns it unchanged.

        A command first decides on this process's copy of the stream, without
        reading it: the append is at the next version, so if the log holds more
        than the copy, the store refuses it (a conflict) and the command runs
        again on the stream as read. A refusal by the aggregate itself on the
        copy is also decided again on the stream as read before it is believed,
        since the copy may trail what the caller already saw elsewhere.
        """
        if (early := await self.repeated(key)) is not None:
            return early
        fresh = False
        for _ in range(MAX_ATTEMPTS):
            copied = False
            if creates:
                current = None
            else:
                current, copied = await self._current(cls, aggregate_id, fresh=fresh)
                if current is None and not may_create:
                    raise NotFound(cls.__name__.lower(), aggregate_id)
            try:
                aggregate = decide(current)
            except DomainError:
                if copied:
                    fresh = True
                    continue
                # The same command may have just committed from a concurrent retry:
                # then its effect is what made this attempt fail, and the answer is the first one.
                if (late := await self.repeated(key)) is not None:
                    return late
                raise
            pending = aggregate.collect_events()
            body = await render(aggregate)
            events = [self.to_new(e) for e in pending]
            result = b""
            if key is not None:
                result = msgspec.json.encode(
                    Recorded(fingerprint=key.fingerprint, body=msgspec.Raw(msgspec.json.encode(body)))
                )
            try:
                appended = await self.store.append(
                    events, command_id=key.command_id if key else None, result=result
                )
            except Shredded:
                # Its key was destroyed (discarded, or nobody left in it): it is gone.
                self._streams.drop(aggregate_id)
                raise NotFound(cls.__name__.lower(), aggregate_id) from None
            except ConflictError:
                self._streams.drop(aggregate_id)
                if creates:
                    if (late := await self.repeated(key)) is not None:
                        return late
                    raise AlreadyExists(cls.__name__.lower(), aggregate_id) from None
                fresh = True
                continue
            if appended.repeated:
                assert key is not None
                return _replay(appended, key)
            self._appended(aggregate_id, events, appended.positions)
            self.appended += 1
            return Outcome(body=body, position=appended.last_position)
        raise Busy

    def forget(self, aggregate_id: UUID) -> None:
        """Drop this process's copy of a stream (its key was destroyed: nothing of it stays here)."""
        self._streams.drop(aggregate_id)

    def to_new(self, event: Any) -> NewEvent:
        s = self.mapper.to_stored_event(event)
        # Events that carry intimate text say so (`intimate` on their aggregate's Event class).
        return NewEvent(s.originator_id, s.originator_version, s.topic, s.state, getattr(event, "intimate", False))

    async def repeated(self, key: CommandKey | None) -> Outcome | None:
        """A repeat whose first attempt is recorded: that attempt's body, as stored."""
        if key is None:
            return None
        seen = await self.store.recorded(key.command_id)
        return None if seen is None else _replay(seen, key)


def _replay(seen: Appended, key: CommandKey) -> Outcome:
    recorded = msgspec.json.decode(seen.result, type=Recorded)
    if recorded.fingerprint != key.fingerprint:
        raise KeyReused(key.key)
    return Outcome(body=recorded.body, position=seen.last_position, repeated=True)


def seen_by(caller: UUID, view: Callable[..., Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    """A command's answer: `caller`'s view of the aggregate as the command leaves it (`current=`),
    through the one view function (`view`, a `Visibility` method such as `plan`)."""

    async def render(aggregate: Any) -> Any:
        return await view(caller, aggregate.id, current=aggregate)

    return render


def owned_by(thing_id: UUID, key: CommandKey | None, what: str) -> CommandKey | None:
    """The caller's idempotency key, recorded under a thing sealed with its own key (a signal, a
    plan): the answer kept for a repeat holds its intimate text, so it is sealed with the thing's
    own key and erased with it (service/store/sealed.py seals a result with the key of the command
    id's first part). A repeat by the same caller with
    the same key names the same thing, so it finds the record."""
    if key is None:
        return None
    return CommandKey(caller=thing_id, key=f"{what}:{key.caller}:{key.key}", fingerprint=key.fingerprint)


__all__ = ["Busy", "CommandKey", "CommandRunner", "KeyReused", "Outcome", "StoreUnavailable"]
