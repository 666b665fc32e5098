"""The event log in a SQLite file: the embedded default, for one process.

All statements run on one worker thread that owns the connection, so the
event loop never blocks on disk. `BEGIN IMMEDIATE` takes the write lock
before positions are drawn, which keeps commit order equal to position order.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TypeVar
from uuid import UUID

import msgspec

from .base import (
    EVENTS_TABLE,
    Account,
    Appended,
    ConflictError,
    HandleTaken,
    KeyExists,
    NewEvent,
    ProjectionCommit,
    ProjectionMoved,
    StoredEvent,
    StoreUnavailable,
)
from .follow import follow
from .sqlite_security import FORGET_PERSON, SQLiteSecurity
from .sqlite_security import SCHEMA as SECURITY_SCHEMA

T = TypeVar("T")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
    notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
    originator_id TEXT NOT NULL,
    originator_version INTEGER NOT NULL,
    topic TEXT NOT NULL,
    state BLOB NOT NULL,
    UNIQUE (originator_id, originator_version));
CREATE TRIGGER IF NOT EXISTS {EVENTS_TABLE}_no_update BEFORE UPDATE ON {EVENTS_TABLE}
BEGIN SELECT RAISE(ABORT, '{EVENTS_TABLE} is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS {EVENTS_TABLE}_no_delete BEFORE DELETE ON {EVENTS_TABLE}
BEGIN SELECT RAISE(ABORT, '{EVENTS_TABLE} is append-only: DELETE refused'); END;
CREATE TABLE IF NOT EXISTS accord_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accord_accounts (
    person_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accord_tokens (
    token_hash BLOB PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES accord_accounts (person_id),
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS accord_commands (
    command_id TEXT PRIMARY KEY,
    positions TEXT NOT NULL,
    result BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accord_keys (
    owner TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    master BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accord_projections (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accord_documents (
    projection TEXT NOT NULL,
    key TEXT NOT NULL,
    doc BLOB NOT NULL,
    due TEXT,
    PRIMARY KEY (projection, key));
CREATE INDEX IF NOT EXISTS accord_documents_due ON accord_documents (projection, due) WHERE due IS NOT NULL;
"""

_COLUMNS = "originator_id, originator_version, topic, state, notification_id"


def _stored(row: tuple) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row[0]),
        originator_version=row[1],
        topic=row[2],
        state=bytes(row[3]),
        position=row[4],
    )


def _account(row: tuple) -> Account:
    return Account(UUID(row[0]), row[1], row[2], row[3])


def _utc(moment: datetime) -> str:
    # ISO strings in UTC compare in time order.
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class SQLiteStore(SQLiteSecurity):
    kind = "sqlite"

    def __init__(self, path: str, *, poll_interval: float = 1.0) -> None:
        self.path = path
        self.poll_interval = poll_interval
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._wakes: set[asyncio.Event] = set()
        #: `exclusive`'s locks, each gone once nobody holds or waits for it.
        self._exclusive: weakref.WeakValueDictionary[UUID, asyncio.Lock] = weakref.WeakValueDictionary()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._conn is None:
            raise StoreUnavailable("the store is not open")
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, conn)

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accord-sqlite")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            # What is deleted (an erased account, a destroyed key) is overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            conn.executescript(SCHEMA)
            conn.executescript(SECURITY_SCHEMA)
            return conn

        self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(lambda conn: conn.close())
            self._conn = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def append(
        self,
        events: Sequence[NewEvent],
        *,
        command_id: str | None = None,
        result: bytes = b"",
        keys: Sequence[tuple[UUID, bytes, bytes]] = (),
    ) -> Appended:
        rows = [
            (str(e.originator_id), e.originator_version, e.topic, e.state) for e in events
        ]

        def write(conn: sqlite3.Connection) -> Appended:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if command_id is not None:
                    seen = conn.execute(
                        "SELECT positions, result FROM accord_commands WHERE command_id = ?",
                        (command_id,),
                    ).fetchone()
                    if seen is not None:
                        conn.execute("ROLLBACK")
                        return Appended(
                            positions=msgspec.json.decode(seen[0], type=list[int]),
                            result=bytes(seen[1]),
                            repeated=True,
                        )
                for owner, wrapped, master in keys:
                    try:
                        conn.execute(
                            "INSERT INTO accord_keys (owner, wrapped, master) VALUES (?, ?, ?)", (str(owner), wrapped, master)
                        )
                    except sqlite3.IntegrityError:
                        raise KeyExists from None
                positions = []
                for row in rows:
                    try:
                        cursor = conn.execute(
                            f"INSERT INTO {EVENTS_TABLE}"
                            " (originator_id, originator_version, topic, state)"
                            " VALUES (?, ?, ?, ?)",
                            row,
                        )
                    except sqlite3.IntegrityError:
                        raise ConflictError(UUID(row[0]), row[1]) from None
                    positions.append(cursor.lastrowid)
                if command_id is not None:
                    conn.execute(
                        "INSERT INTO accord_commands (command_id, positions, result)"
                        " VALUES (?, ?, ?)",
                        (command_id, msgspec.json.encode(positions).decode(), result),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return Appended(positions=positions, result=result)

        try:
            appended = await self._run(write)
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(str(error)) from error
        if appended.positions and not appended.repeated:
            for wake in self._wakes:
                wake.set()
        return appended

    async def read_stream(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        order = "DESC" if desc else "ASC"
        query = (
            f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} WHERE originator_id = ?"
            " AND (? IS NULL OR originator_version > ?)"
            " AND (? IS NULL OR originator_version <= ?)"
            f" ORDER BY originator_version {order} LIMIT ?"
        )
        args = (str(originator_id), gt, gt, lte, lte, -1 if limit is None else limit)
        rows = await self._run(lambda conn: conn.execute(query, args).fetchall())
        return [_stored(r) for r in rows]

    async def read_log(
        self, after: int = 0, *, limit: int = 500, topics: Sequence[str] = (), open_topics: Collection[str] | None = None
    ) -> list[StoredEvent]:
        if topics:
            marks = ",".join("?" * len(topics))
            query = (
                f"SELECT {_COLUMNS} FROM {EVENTS_TABLE}"
                f" WHERE notification_id > ? AND topic IN ({marks})"
                " ORDER BY notification_id LIMIT ?"
            )
            args: tuple = (after, *topics, limit)
        else:
            query = (
                f"SELECT {_COLUMNS} FROM {EVENTS_TABLE}"
                " WHERE notification_id > ? ORDER BY notification_id LIMIT ?"
            )
            args = (after, limit)
        rows = await self._run(lambda conn: conn.execute(query, args).fetchall())
        return [_stored(r) for r in rows]

    @contextlib.asynccontextmanager
    async def exclusive(self, keys: Collection[UUID]) -> AsyncIterator[None]:
        # One process: a lock per key in it, taken in one order (no cycles); kept while anyone holds it.
        locks = [self._exclusive.setdefault(key, asyncio.Lock()) for key in sorted(set(keys), key=str)]
        async with contextlib.AsyncExitStack() as held:
            for lock in locks:
                await held.enter_async_context(lock)
            yield

    async def max_position(self) -> int:
        row = await self._run(
            lambda conn: conn.execute(
                f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
            ).fetchone()
        )
        return row[0]

    async def _query(self, query: str, args: tuple = ()) -> list[tuple]:
        return await self._run(lambda conn: conn.execute(query, args).fetchall())

    async def recorded(self, command_id: str) -> Appended | None:
        rows = await self._query(
            "SELECT positions, result FROM accord_commands WHERE command_id = ?", (command_id,)
        )
        if not rows:
            return None
        positions = msgspec.json.decode(rows[0][0], type=list[int])
        return Appended(positions=positions, result=bytes(rows[0][1]), repeated=True)

    async def server_secret(self) -> bytes:
        await self._query(
            "INSERT OR IGNORE INTO accord_secrets (name, value) VALUES ('pseudonyms', ?)",
            (secrets.token_bytes(32),),
        )
        rows = await self._query("SELECT value FROM accord_secrets WHERE name = 'pseudonyms'")
        return bytes(rows[0][0])

    async def create_account(self, account: Account) -> None:
        try:
            await self._query(
                "INSERT INTO accord_accounts (person_id, handle, display_name, password_hash)"
                " VALUES (?, ?, ?, ?)",
                (
                    str(account.person_id),
                    account.handle.casefold(),
                    account.display_name,
                    account.password_hash,
                ),
            )
        except sqlite3.IntegrityError:
            raise HandleTaken(account.handle) from None

    async def account_by_handle(self, handle: str) -> Account | None:
        rows = await self._query(
            "SELECT person_id, handle, display_name, password_hash"
            " FROM accord_accounts WHERE handle = ?",
            (handle.casefold(),),
        )
        return _account(rows[0]) if rows else None

    async def accounts_by_ids(self, person_ids: Sequence[UUID]) -> dict[UUID, Account]:
        if not person_ids:
            return {}
        marks = ",".join("?" * len(person_ids))
        rows = await self._query(
            "SELECT person_id, handle, display_name, password_hash"
            f" FROM accord_accounts WHERE person_id IN ({marks})",
            tuple(str(p) for p in person_ids),
        )
        return {account.person_id: account for account in map(_account, rows)}

    async def add_token(self, token_hash: bytes, person_id: UUID, expires_at: datetime) -> None:
        await self._query(
            "INSERT INTO accord_tokens (token_hash, person_id, expires_at) VALUES (?, ?, ?)",
            (token_hash, str(person_id), _utc(expires_at)),
        )

    async def token_owner_at(self, token_hash: bytes, now: datetime) -> tuple[UUID, int] | None:
        rows = await self._query(
            f"SELECT person_id, (SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}) FROM accord_tokens"
            " WHERE token_hash = ? AND NOT revoked AND expires_at > ?",
            (token_hash, _utc(now)),
        )
        return (UUID(rows[0][0]), rows[0][1]) if rows else None

    async def revoke_token(self, token_hash: bytes) -> None:
        await self._query("UPDATE accord_tokens SET revoked = 1 WHERE token_hash = ?", (token_hash,))

    async def delete_account(self, person_id: UUID) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in FORGET_PERSON:
                    conn.execute(statement, (str(person_id),))
                conn.execute("DELETE FROM accord_tokens WHERE person_id = ?", (str(person_id),))
                conn.execute("DELETE FROM accord_commands WHERE substr(command_id, 1, 37) = ?", (f"{person_id}:",))
                # A tombstone: nothing of theirs is left in it, but views can say "a former member".
                conn.execute(
                    "UPDATE accord_accounts SET handle = 'erased:' || person_id, display_name = '', password_hash = ''"
                    " WHERE person_id = ?",
                    (str(person_id),),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(delete)

    # Data keys, wrapped by the master key (service/crypto.py)

    async def data_keys(self, owners: Sequence[UUID]) -> dict[UUID, tuple[bytes, bytes]]:
        found: dict[UUID, tuple[bytes, bytes]] = {}
        owners = list(owners)
        for start in range(0, len(owners), 500):  # SQLite's limit on parameters
            chunk = tuple(str(o) for o in owners[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._query(f"SELECT owner, wrapped, master FROM accord_keys WHERE owner IN ({marks})", chunk)
            found.update((UUID(owner), (bytes(wrapped), bytes(master))) for owner, wrapped, master in rows)
        return found

    async def add_data_key(self, owner: UUID, wrapped: bytes, master_id: bytes) -> tuple[bytes, bytes]:
        def add(conn: sqlite3.Connection) -> tuple[bytes, bytes]:
            conn.execute(
                "INSERT INTO accord_keys (owner, wrapped, master) VALUES (?, ?, ?) ON CONFLICT (owner) DO NOTHING",
                (str(owner), wrapped, master_id),
            )
            row = conn.execute("SELECT wrapped, master FROM accord_keys WHERE owner = ?", (str(owner),)).fetchone()
            return bytes(row[0]), bytes(row[1])

        return await self._run(add)

    async def delete_data_keys(self, owners: Sequence[UUID]) -> None:
        for owner in owners:
            await self._query("DELETE FROM accord_keys WHERE owner = ?", (str(owner),))

    async def all_data_keys(self) -> list[tuple[UUID, bytes, bytes]]:
        rows = await self._query("SELECT owner, wrapped, master FROM accord_keys")
        return [(UUID(owner), bytes(wrapped), bytes(master)) for owner, wrapped, master in rows]

    async def rewrap_data_keys(self, rows: Sequence[tuple[UUID, bytes, bytes, bytes]]) -> int:
        def rewrap(conn: sqlite3.Connection) -> int:
            done = 0
            for owner, old, wrapped, master in rows:
                done += conn.execute(
                    "UPDATE accord_keys SET wrapped = ?, master = ? WHERE owner = ? AND master = ?",
                    (wrapped, master, str(owner), old),
                ).rowcount
            return done

        return await self._run(rewrap)

    # Projections

    async def projection_positions(self) -> dict[str, int]:
        return {name: position for name, position in await self._query("SELECT name, position FROM accord_projections")}

    async def documents(self, projection: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):  # SQLite's limit on parameters
            chunk = tuple(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._query(
                f"SELECT key, doc FROM accord_documents WHERE projection = ? AND key IN ({marks})",
                (projection, *chunk),
            )
            found.update((key, bytes(doc)) for key, doc in rows)
        return found

    async def due_documents(self, projection: str, by: datetime, limit: int = 100) -> list[tuple[str, bytes]]:
        rows = await self._query(
            "SELECT key, doc FROM accord_documents WHERE projection = ? AND due IS NOT NULL AND due <= ?"
            " ORDER BY due LIMIT ?",
            (projection, _utc(by), limit),
        )
        return [(key, bytes(doc)) for key, doc in rows]

    async def commit_projections(self, commits: Sequence[ProjectionCommit]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for commit in commits:
                    row = conn.execute(
                        "SELECT position FROM accord_projections WHERE name = ?", (commit.name,)
                    ).fetchone()
                    if (0 if row is None else row[0]) != commit.after:
                        raise ProjectionMoved(commit.name)
                    conn.execute(
                        "INSERT INTO accord_projections (name, position) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        (commit.name, commit.position),
                    )
                    for key, document in commit.documents.items():
                        if document is None:
                            conn.execute(
                                "DELETE FROM accord_documents WHERE projection = ? AND key = ?", (commit.name, key)
                            )
                        else:
                            due = None if document.due is None else _utc(document.due)
                            conn.execute(
                                "INSERT INTO accord_documents (projection, key, doc, due) VALUES (?, ?, ?, ?)"
                                " ON CONFLICT (projection, key) DO UPDATE SET doc = excluded.doc, due = excluded.due",
                                (commit.name, key, document.data, due),
                            )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            await self._run(write)
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(str(error)) from error

    async def switch_projection(self, built: str, live: str) -> None:
        def switch(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM accord_documents WHERE projection = ?", (live,))
                conn.execute("UPDATE accord_documents SET projection = ? WHERE projection = ?", (live, built))
                conn.execute("DELETE FROM accord_projections WHERE name = ?", (live,))
                conn.execute("UPDATE accord_projections SET name = ? WHERE name = ?", (live, built))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        await self._run(switch)

    async def drop_projection(self, name: str) -> None:
        await self._query("DELETE FROM accord_documents WHERE projection = ?", (name,))
        await self._query("DELETE FROM accord_projections WHERE name = ?", (name,))

    def leadership(self) -> OneProcess:
        return OneProcess()

    def subscribe(self, after: int = 0) -> AsyncIterator[StoredEvent]:
        return follow(self, after, self.listen, self.poll_interval)

    async def listen(self, wake: asyncio.Event) -> None:
        # Appends in this process set `wake`; the poll covers other writers.
        self._wakes.add(wake)
        try:
            await asyncio.Event().wait()
        finally:
            self._wakes.discard(wake)


class OneProcess:
    """The embedded store has one process, which always leads."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def acquire(self) -> None:
        return None

    async def release(self) -> None:
        return None
