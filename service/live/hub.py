"""Consent-filtered fan-out to open websockets, with resumable per-person history.

The follower tells the hub, after each log position, the fresh consented view
of every thing whose visibility that position may have changed, for every
person concerned. The hub compares it with what that person was last shown:
only real changes become an `Update`, so a person learns nothing from the
timing of changes they may not see. Each person's recent updates are kept so a
client that reconnects with the last position it saw gets exactly what it
missed; older positions get a full `Resync`.

Every process's follower reads the whole log, so every process holds the
same history and a client may resume on any of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from uuid import UUID

import msgspec

from service.live.frames import Change, Frame, Reconnect, Resync, Synced, Update, View, encode

log = logging.getLogger(__name__)

#: A person's visible things: key -> the encoded consented view.
Views = dict[str, bytes]


def _size(update: Update) -> int:
    return sum(len(c.view) if isinstance(c.view, msgspec.Raw) else 16 for c in update.changes)


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
    def __init__(
        self, *, history: int = 1000, history_bytes: int = 4 * 1024 * 1024, queue_limit: int = 256
    ) -> None:
        self.history = history
        self.history_bytes = history_bytes
        self.sizes: dict[UUID, int] = {}
        self.queue_limit = queue_limit
        #: None until the follower has caught up and the hub tracks changes.
        self.horizon: int | None = None
        #: The last log position the hub has taken into account.
        self.position = 0
        self.shown: dict[UUID, Views] = {}
        self.updates: dict[UUID, deque[Update]] = {}
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
            for key, encoded in views.items():
                before = shown.get(key)
                if encoded == before:
                    continue
                if encoded is None:
                    del shown[key]
                    changes.append(Change(key=key, removed=True))
                else:
                    shown[key] = encoded
                    changes.append(Change(key=key, view=msgspec.Raw(encoded)))
            if changes:
                self._record(person, Update(position=position, changes=changes))

    def introduce(self, person: UUID, views: Views) -> None:
        """Someone the log has never mentioned: what they may see is their own network."""
        if person not in self.shown:
            self.shown[person] = dict(views)

    def _record(self, person: UUID, update: Update) -> None:
        kept = self.updates.setdefault(person, deque())
        kept.append(update)
        size = self.sizes.get(person, 0) + _size(update)
        # Bounded by count and by bytes: one update holds whole views.
        while kept and (len(kept) > self.history or size > self.history_bytes):
            dropped = kept.popleft()
            size -= _size(dropped)
            self.complete_after[person] = dropped.position
        self.sizes[person] = size
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
        missed: list[Frame]
        if since is not None and complete_after is not None and complete_after <= since <= self.position:
            missed = [u for u in self.updates.get(person, ()) if u.position > since]
            if len(missed) >= self.queue_limit - 1:
                missed = [self._resync(person)]
        else:
            missed = [self._resync(person)]
        for frame in missed:
            connection.offer(frame)
        connection.offer(Synced(position=self.position))
        self.connections.setdefault(person, set()).add(connection)
        return connection

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
