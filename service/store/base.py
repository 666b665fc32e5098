"""The event log's interface, shared by the PostgreSQL and the SQLite store.

Positions are the `notification_id` column: positive, strictly increasing in
commit order, so a reader that has seen position N has seen everything at or
below N.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from .security import AccountSecurityStore

#: The events table's name: what the eventsourcing library's PostgreSQL
#: recorder uses for an application named "Accord", so its tools read ours.
EVENTS_TABLE = "accord_events"


class NewEvent(msgspec.Struct, frozen=True):
    """An event to append: a stream, the version it takes, its topic and state."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    #: Intimate: the state is encrypted with its stream's data key before it rests (service/store/sealed.py).
    sealed: bool = False


class StoredEvent(msgspec.Struct, frozen=True):
    """An event as the log holds it, with its position in the global order."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    position: int


class Appended(msgspec.Struct, frozen=True):
    """What an append returns.

    `result` is the opaque bytes the caller stored with its command id; a
    repeat of the same command returns the first attempt's positions and
    result, with `repeated` set, and appends nothing.
    """

    positions: list[int]
    result: bytes = b""
    repeated: bool = False

    @property
    def last_position(self) -> int:
        return self.positions[-1] if self.positions else 0


class Account(msgspec.Struct, frozen=True):
    """A person's account. Credentials live here, never in the event log."""

    person_id: UUID
    handle: str
    display_name: str
    password_hash: str


class Document(msgspec.Struct, frozen=True):
    """A projection's document as stored: its bytes, and when it falls due (if ever)."""

    data: bytes
    due: datetime | None = None


class ProjectionCommit(msgspec.Struct, frozen=True):
    """One projection's step: from position `after` to `position`, writing `documents` (None deletes)."""

    name: str
    after: int
    position: int
    documents: dict[str, Document | None]


class StoreError(Exception):
    """Base of the store's errors."""


class ConflictError(StoreError):
    """A stream already has an event at the version an append wanted."""

    def __init__(self, originator_id: UUID | None, originator_version: int | None) -> None:
        self.originator_id = originator_id
        self.originator_version = originator_version
        super().__init__(
            f"stream {originator_id} already has an event at version {originator_version}"
        )


class KeyExists(StoreError):
    """An append brought a data key for an owner that has one already: nothing was appended."""


class HandleTaken(StoreError):
    """An account with that handle exists already."""


class ProjectionMoved(StoreError):
    """A projection's stored position is not the one a commit started from: someone else projected.

    Nothing of the commit is written; the projector reads the positions again.
    """


class StoreUnavailable(StoreError):
    """The database cannot be reached; the outcome of a write in flight is unknown."""


class Leadership(Protocol):
    """Held by one process per database (a PostgreSQL advisory lock; SQLite's one process)."""

    async def acquire(self) -> None:
        """Wait until this process holds it."""

    @property
    def lost(self) -> asyncio.Event:
        """Set when it was lost (its connection dropped): stop leading at once."""

    async def release(self) -> None: ...


class EventStore(AccountSecurityStore, Protocol):
    """The append-only event log."""

    kind: str
    """`"postgresql"` or `"sqlite"`."""

    async def open(self) -> None:
        """Connect, and create the schema if it is absent (idempotent)."""

    async def close(self) -> None: ...

    async def append(
        self,
        events: Sequence[NewEvent],
        *,
        command_id: str | None = None,
        result: bytes = b"",
        keys: Sequence[tuple[UUID, bytes, bytes]] = (),
    ) -> Appended:
        """Append `events` atomically, or raise ConflictError and append nothing.

        `keys`: data keys (owner, wrapped, master id) made for new streams, kept in the same
        transaction; KeyExists, and nothing appended, if an owner has one already.

        With a `command_id`, a repeat of that command (even after an unknown
        outcome) returns the first `Appended` and appends nothing. A command
        may append no events and still record its result.
        """

    async def read_stream(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """One stream's events by version: after `gt`, up to `lte`."""

    async def read_log(
        self, after: int = 0, *, limit: int = 500, topics: Sequence[str] = (), open_topics: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """The global log in position order, from just after `after`.

        `open_topics`: on a sealed log (service/store/sealed.py), the topics whose events are
        opened; a clear store has nothing to open and ignores it."""

    def exclusive(self, keys: Collection[UUID]) -> AbstractAsyncContextManager[None]:
        """Held for all of `keys` by one holder at a time, across every process on the database (a
        PostgreSQL transaction's advisory locks; SQLite's one process, locks in it): for a decision
        that reads beyond one stream, such as booking rules weighing a person's other plans."""
        ...

    async def max_position(self) -> int:
        """The highest position in the log; 0 when it is empty."""

    def subscribe(self, after: int = 0) -> AsyncIterator[StoredEvent]:
        """Every event after `after`, in order, then new ones as they commit.

        Never skips or repeats an event, across reconnections.
        """

    async def recorded(self, command_id: str) -> Appended | None:
        """The first outcome of a command id, if it was recorded."""

    async def listen(self, wake: asyncio.Event) -> None:
        """Set `wake` whenever something may have been appended (a hint: poll as well). Runs until cancelled."""

    # Projections: documents kept beside the log with the position they reflect.

    async def projection_positions(self) -> dict[str, int]:
        """Every projection's position (0 for one that has never been written)."""

    async def documents(self, projection: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored documents of `keys` that exist."""

    async def due_documents(self, projection: str, by: datetime, limit: int = 100) -> list[tuple[str, bytes]]:
        """Documents whose due time is at or before `by`, soonest first."""

    async def commit_projections(self, commits: Sequence[ProjectionCommit]) -> None:
        """Write every commit's documents and positions in one transaction, or nothing.

        A commit whose `after` is not its projection's stored position raises
        ProjectionMoved (so each event is projected exactly once, whoever tries).
        """

    async def switch_projection(self, built: str, live: str) -> None:
        """Replace `live`'s documents and position with `built`'s, in one transaction; `built` is gone after."""

    async def drop_projection(self, name: str) -> None:
        """Forget a projection's documents and position (a build that is started again)."""

    def leadership(self) -> Leadership:
        """The right to project and schedule for this database: one holder at a time."""

    async def server_secret(self) -> bytes:
        """A random secret made once per database, shared by every process (pseudonyms)."""

    # Accounts and sign-in tokens: not events, kept beside the log.

    async def create_account(self, account: Account) -> None:
        """Record a new account; HandleTaken if the (case-folded) handle exists."""

    async def account_by_handle(self, handle: str) -> Account | None: ...

    async def accounts_by_ids(self, person_ids: Sequence[UUID]) -> dict[UUID, Account]: ...

    async def add_token(self, token_hash: bytes, person_id: UUID, expires_at: datetime) -> None: ...

    async def token_owner_at(self, token_hash: bytes, now: datetime) -> tuple[UUID, int] | None:
        """The person a live token belongs to, with the log's last position as the token was checked
        (everything at or below it had committed then); None if the token is unknown, revoked or expired."""

    async def revoke_token(self, token_hash: bytes) -> None: ...

    async def delete_account(self, person_id: UUID) -> None:
        """Erase an account: its tokens and recorded command results go, its row becomes a tombstone
        (id only: no handle, name or password), so views can still say "a former member"."""

    # Data keys (service/crypto.py): wrapped by the master key, never in clear.

    async def data_keys(self, owners: Sequence[UUID]) -> dict[UUID, tuple[bytes, bytes]]:
        """The wrapped keys of `owners` that exist, with the id of the master key that wrapped each."""

    async def add_data_key(self, owner: UUID, wrapped: bytes, master_id: bytes) -> tuple[bytes, bytes]:
        """Keep a new wrapped key unless `owner` has one; either way, the one kept."""

    async def delete_data_keys(self, owners: Sequence[UUID]) -> None:
        """Destroy keys: what they sealed can no longer be read (crypto-shredding)."""

    async def all_data_keys(self) -> list[tuple[UUID, bytes, bytes]]: ...

    async def rewrap_data_keys(self, rows: Sequence[tuple[UUID, bytes, bytes, bytes]]) -> int:
        """(owner, old master id, new wrapped key, new master id): replace each still under its old master."""
