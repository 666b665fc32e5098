"""Consent-filtered fan-out to open websockets, with resumable per-person history.

The follower tells the hub, after each log position, the fresh consented view
of every thing whose visibility that position may have changed, for every
person concerned. The hub compares it with what that person was last shown:
only real changes become an `Update`, so a person learns nothing from the
timing of changes they may not see.

Resuming is judged at the time of sending, never replayed: the hub keeps, per
person, only *which* things changed at which position. A client that
reconnects with the last position it saw gets one update at the hub's current
position holding the current view of each thing that changed since, and a
removal for each thing it held then and may no longer see. An old view of
something whose consent has since been withdrawn is never sent again, and a
thing that came and went while the client was away is not mentioned at all.
Older positions than the history holds get a full `Resync`.

Every process's follower reads the whole log, so every process holds the
same history and a client may resume on any of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple
from uuid import UUID

import msgspec

from service.live.frames import Change, Frame, Reconnect, Resync, Synced, Update, View, encode

log = logging.getLogger(__name__)

#: A person's visible things: key -> the encoded consented view.
Views = dict[str, bytes]


class Changed(NamedTuple):
    """What one position changed for one person: the keys, and which of them were new to them."""

    position: int
    keys: tuple[str, ...]
    appeared: frozenset[str]


class Connection:
    """One open socket's outgoing frames, bounded so a slow reader hurts nobody else.

    A list and, only while its sender waits, one future: an idle socket holds
    no queue, event or task of its own here, since what each connection holds
    is what bounds how many a process can keep open.
    """

    __slots__ = ("person", "limit", "overflowed", "closed", "on_overflow", "_frames", "_waiter")

    def __init__(self, person: UUID, limit: int) -> None:
        self.person = person
        self.limit = limit
        #: It fell behind: its frames are dropped and nothing more is queued.
        self.overflowed = False
        self.closed = False
        #: Called once when it falls behind: the sender stops, even mid-send.
        self.on_overflow: Callable[[], object] | None = None
        self._frames: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, frame: Frame) -> bool:
        return self.offer_encoded(encode(frame))

    def offer_encoded(self, data: bytes) -> bool:
        """Queue an encoded frame; False (and overflowed from now on) when it is full."""
        if self.overflowed:
            return False
        if len(self._frames) >= self.limit:
            self.overflowed = True
            self._frames.clear()
            self._wake()
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._frames.append(data)
        self._wake()
        return True

    def push(self, data: bytes) -> None:
        """Queue a last frame if there is room, whatever happened before (shutting down)."""
        if len(self._frames) < self.limit:
            self._frames.append(data)
            self._wake()

    def close(self) -> None:
        """The socket is gone: `next` answers None."""
        self.closed = True
        self._wake()

    async def next(self) -> bytes | None:
        """The next frame to send; None once it has fallen behind or is closed."""
        while not self._frames and not self.overflowed and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed or not self._frames:
            return None
        return self._frames.pop(0)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    def __init__(self, *, history: int = 1000, queue_limit: int = 256) -> None:
        self.history = history
        self.queue_limit = queue_limit
        #: None until the follower has caught up and the hub tracks changes.
        self.horizon: int | None = None
        #: The last log position the hub has taken into account.
        self.position = 0
        self.shown: dict[UUID, Views] = {}
        self.changed: dict[UUID, deque[Changed]] = {}
        self.complete_after: dict[UUID, int] = {}
        self.connections: dict[UUID, set[Connection]] = {}
        self.pushed = 0
        self.dropped = 0

    @property
    def open_sockets(self) -> int:
        return sum(len(c) for c in self.connections.values())

    def start(self, position: int, everyone: Mapping[UUID, Views]) -> None:
        """Begin tracking at `position`, with what each person may see there."""
        self.horizon = self.position = position
        self.shown = {person: dict(views) for person, views in everyone.items()}

    def track(self, position: int, fresh: Mapping[UUID, Mapping[str, bytes | None]]) -> None:
        """Record the views `position` may have changed: None means no longer visible."""
        if self.horizon is None:
            return
        self.position = position
        for person, views in fresh.items():
            shown = self.shown.setdefault(person, {})
            changes = []
            appeared = []
            for key, encoded in views.items():
                before = shown.get(key)
                if encoded == before:
                    continue
                if encoded is None:
                    del shown[key]
                    changes.append(Change(key=key, removed=True))
                else:
                    if before is None:
                        appeared.append(key)
                    shown[key] = encoded
                    changes.append(Change(key=key, view=msgspec.Raw(encoded)))
            if changes:
                self._remember(person, Changed(position, tuple(c.key for c in changes), frozenset(appeared)))
                self._send(person, Update(position=position, changes=changes))

    def introduce(self, person: UUID, views: Views) -> None:
        """Someone the log has never mentioned: what they may see is their own network."""
        if person not in self.shown:
            self.shown[person] = dict(views)

    def _remember(self, person: UUID, changed: Changed) -> None:
        kept = self.changed.setdefault(person, deque())
        kept.append(changed)
        while len(kept) > self.history:
            self.complete_after[person] = kept.popleft().position

    def _send(self, person: UUID, update: Update) -> None:
        sockets = self.connections.get(person)
        if not sockets:
            return
        data = encode(update)  # once, however many sockets the person has open
        for connection in sockets:
            if connection.offer_encoded(data):
                self.pushed += 1
            else:
                self.dropped += 1

    def connect(self, person: UUID, since: int | None) -> Connection:
        """Register a socket and queue, atomically, what it missed since `since`."""
        connection = Connection(person, self.queue_limit)
        complete_after = self.complete_after.get(person, self.horizon)
        if since is not None and complete_after is not None and complete_after <= since <= self.position:
            missed = [c for c in self.changed.get(person, ()) if c.position > since]
            if (catch_up := self._catch_up(person, missed)).changes:
                connection.offer(catch_up)
        else:
            connection.offer(self._resync(person))
        connection.offer(Synced(position=self.position))
        self.connections.setdefault(person, set()).add(connection)
        return connection

    def _catch_up(self, person: UUID, missed: Iterable[Changed]) -> Update:
        """What changed since the client's position, as the person may see it now."""
        was_hidden: dict[str, bool] = {}  # key -> hidden from them at the client's position
        for changed in missed:
            for key in changed.keys:
                was_hidden.setdefault(key, key in changed.appeared)
        shown = self.shown.get(person, {})
        changes = [
            Change(key=key, view=msgspec.Raw(shown[key])) if key in shown else Change(key=key, removed=True)
            for key, hidden in sorted(was_hidden.items())
            if key in shown or not hidden
        ]
        return Update(position=self.position, changes=changes)

    def _resync(self, person: UUID) -> Resync:
        views = [View(key, msgspec.Raw(v)) for key, v in sorted(self.shown.get(person, {}).items())]
        return Resync(position=self.position, views=views)

    def disconnect(self, connection: Connection) -> None:
        sockets = self.connections.get(connection.person)
        if sockets is not None:
            sockets.discard(connection)
            if not sockets:
                del self.connections[connection.person]

    def shown_to(self, person: UUID) -> Views:
        return self.shown.get(person, {})

    def close_all(self, detail: str) -> None:
        """Ask every client to reconnect elsewhere (graceful shutdown)."""
        data = encode(Reconnect(detail=detail))
        for sockets in self.connections.values():
            for connection in sockets:
                connection.push(data)
