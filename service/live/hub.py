"""Consent-filtered fan-out to open websockets, with resumable per-person history.

The follower tells the hub, after each log position, the fresh consented view
of every thing whose visibility that position may have changed, for every
person concerned. The hub compares it with what that person was last shown:
only real changes become an `Update`, so a person learns nothing from the
timing of changes they may not see.

The hub tracks only the people connected to this process, and for a while
(a bounded number of them) those who were: for each, a digest of each view
they were shown, never the view itself, and which things changed at which
position. Views are computed by the caller (the one view function), when a
person connects and when the log changes something of theirs.

Resuming is judged at the time of sending, never replayed. A client that
reconnects with the last position it saw gets one update at the hub's current
position holding the current view of each thing that changed since, and a
removal for each thing it held then and may no longer see. An old view of
something whose consent has since been withdrawn is never sent again, and a
thing that came and went while the client was away is not mentioned at all.
A person this process did not track back to that position (a new process, or
one they were never connected to) gets a full `Resync` of what they may see now.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, KeysView, Mapping
from typing import NamedTuple
from uuid import UUID

import msgspec

from service.live.frames import (
    Change,
    Frame,
    Reconnect,
    Resync,
    Synced,
    Update,
    View,
    encode,
)

log = logging.getLogger(__name__)

#: A person's visible things: key -> the encoded consented view.
Views = dict[str, bytes]
#: What the hub keeps of them: key -> a digest of the view.
Digests = dict[str, bytes]


def digest(view: bytes) -> bytes:
    return hashlib.blake2b(view, digest_size=16).digest()


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

    __slots__ = ("person", "limit", "overflowed", "closed", "signed_out", "session", "on_overflow", "_frames", "_waiter")

    def __init__(self, person: UUID, limit: int) -> None:
        self.person = person
        self.limit = limit
        #: It fell behind: its frames are dropped and nothing more is queued.
        self.overflowed = False
        self.closed = False
        #: Its session ended (signed out, a new password, the account deleted): closed with 4401.
        self.signed_out = False
        #: The id of the session it was opened with (service/store/security.py).
        self.session: str | None = None
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

    def sign_out(self) -> None:
        """Nothing more is sent; the socket is closed as signed out."""
        self.signed_out = True
        self._frames.clear()
        self.close()

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
        if self.overflowed or self.signed_out or not self._frames:
            return None
        return self._frames.pop(0)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Hub:
    def __init__(self, *, history: int = 1000, queue_limit: int = 256, retain: int = 1000) -> None:
        self.history = history
        self.queue_limit = queue_limit
        #: How many people without an open socket here are still tracked, so that they may resume.
        self.retain = retain
        #: The last log position the hub has taken into account.
        self.position = 0
        #: Tracked people: what each was last shown, as digests.
        self.shown: dict[UUID, Digests] = {}
        self.changed: dict[UUID, deque[Changed]] = {}
        #: Before this position, a person's history is incomplete (they were not tracked).
        self.complete_after: dict[UUID, int] = {}
        self.connections: dict[UUID, set[Connection]] = {}
        self._retained: OrderedDict[UUID, None] = OrderedDict()
        self.pushed = 0
        self.dropped = 0

    @property
    def open_sockets(self) -> int:
        return sum(len(c) for c in self.connections.values())

    @property
    def tracked(self) -> KeysView[UUID]:
        return self.shown.keys()

    def shown_keys(self, person: UUID) -> set[str]:
        return set(self.shown.get(person, ()))

    def advance(self, position: int) -> None:
        """Nothing tracked changed up to `position`."""
        self.position = max(self.position, position)

    def track(self, position: int, fresh: Mapping[UUID, Mapping[str, bytes | None]]) -> None:
        """Record the views `position` may have changed: None means no longer visible."""
        self.advance(position)
        for person, views in fresh.items():
            shown = self.shown.get(person)
            if shown is None:
                continue  # not tracked (any more)
            changes = []
            appeared = []
            for key, encoded in views.items():
                before = shown.get(key)
                if encoded is None:
                    if before is None:
                        continue
                    del shown[key]
                    changes.append(Change(key=key, removed=True))
                    continue
                after = digest(encoded)
                if after == before:
                    continue
                if before is None:
                    appeared.append(key)
                shown[key] = after
                changes.append(Change(key=key, view=msgspec.Raw(encoded)))
            if changes:
                self._remember(person, Changed(position, tuple(c.key for c in changes), frozenset(appeared)))
                self._send(person, Update(position=position, changes=changes))

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

    def connect(self, person: UUID, since: int | None, current: Views) -> Connection:
        """Register a socket and queue, atomically, what it missed since `since`.

        `current` is everything the person may see now (the caller computed it
        with no log position taken into account in between).
        """
        connection = Connection(person, self.queue_limit)
        complete_after = self.complete_after.get(person)
        tracked = person in self.shown and complete_after is not None
        if since is not None and tracked and complete_after <= since <= self.position:
            if (catch_up := self._catch_up(person, since, current)).changes:
                connection.offer(catch_up)
        else:
            views = [View(key, msgspec.Raw(v)) for key, v in sorted(current.items())]
            connection.offer(Resync(position=self.position, views=views))
        if not tracked:
            self.complete_after[person] = self.position
        self.shown[person] = {key: digest(view) for key, view in current.items()}
        connection.offer(Synced(position=self.position))
        self.connections.setdefault(person, set()).add(connection)
        self._retained.pop(person, None)
        return connection

    def _catch_up(self, person: UUID, since: int, current: Views) -> Update:
        """What changed since the client's position, as the person may see it now."""
        appeared_first: dict[str, bool] = {}  # key -> it was hidden from them at the client's position
        for changed in self.changed.get(person, ()):
            if changed.position > since:
                for key in changed.keys:
                    appeared_first.setdefault(key, key in changed.appeared)
        shown = self.shown[person]
        changes = []
        for key in sorted(set(appeared_first) | set(current) | set(shown)):
            visible_then = not appeared_first[key] if key in appeared_first else key in shown
            if key in current:
                if key in appeared_first or shown.get(key) != digest(current[key]) or not visible_then:
                    changes.append(Change(key=key, view=msgspec.Raw(current[key])))
            elif visible_then:
                changes.append(Change(key=key, removed=True))
        return Update(position=self.position, changes=changes)

    def disconnect(self, connection: Connection) -> None:
        person = connection.person
        sockets = self.connections.get(person)
        if sockets is not None:
            sockets.discard(connection)
            if not sockets:
                del self.connections[person]
                self._retained[person] = None
                while len(self._retained) > self.retain:
                    self._forget(self._retained.popitem(last=False)[0])

    def _forget(self, person: UUID) -> None:
        self.shown.pop(person, None)
        self.changed.pop(person, None)
        self.complete_after.pop(person, None)

    def sign_out(self, person: UUID) -> None:
        """Close every socket of `person` as signed out, and forget what was shown to them."""
        for connection in list(self.connections.get(person, ())):
            connection.sign_out()
        self._retained.pop(person, None)
        self._forget(person)

    def end_sessions(self, session_ids: Iterable[str]) -> int:
        """Stop every socket opened with one of these sessions; how many there were."""
        ended = set(session_ids)
        stopped = [c for sockets in self.connections.values() for c in sockets if c.session in ended]
        for connection in stopped:
            connection.sign_out()
        return len(stopped)

    def close_all(self, detail: str) -> None:
        """Ask every client to reconnect elsewhere (graceful shutdown)."""
        data = encode(Reconnect(detail=detail))
        for sockets in self.connections.values():
            for connection in sockets:
                connection.push(data)
