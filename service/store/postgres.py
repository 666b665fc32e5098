"""The event log on PostgreSQL, through asyncpg.

Appends go through one PL/pgSQL function called as a single autocommit
statement: one round trip that sets a lock timeout, takes the table's
EXCLUSIVE lock (so commit order equals position order and a tailing reader
never skips an event that commits late), answers a repeated command from its
record, notifies and inserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

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
from .postgres_security import FORGET_PERSON, PostgresSecurity
from .postgres_security import SCHEMA as SECURITY_SCHEMA

log = logging.getLogger(__name__)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version));
CREATE UNIQUE INDEX IF NOT EXISTS {EVENTS_TABLE}_notification_id_idx
    ON {EVENTS_TABLE} (notification_id ASC);

CREATE TABLE IF NOT EXISTS accord_commands (
    command_id text PRIMARY KEY,
    positions bigint[] NOT NULL,
    result bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE IF NOT EXISTS accord_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL);

CREATE TABLE IF NOT EXISTS accord_accounts (
    person_id uuid PRIMARY KEY,
    handle text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL);

CREATE TABLE IF NOT EXISTS accord_tokens (
    token_hash bytea PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES accord_accounts (person_id),
    expires_at timestamptz NOT NULL,
    revoked boolean NOT NULL DEFAULT false);

CREATE TABLE IF NOT EXISTS accord_keys (
    owner uuid PRIMARY KEY,
    wrapped bytea NOT NULL,
    master bytea NOT NULL);
CREATE TABLE IF NOT EXISTS accord_projections (
    name text PRIMARY KEY,
    position bigint NOT NULL);

CREATE TABLE IF NOT EXISTS accord_documents (
    projection text NOT NULL,
    key text NOT NULL,
    doc bytea NOT NULL,
    due timestamptz,
    PRIMARY KEY (projection, key));
CREATE INDEX IF NOT EXISTS accord_documents_due
    ON accord_documents (projection, due) WHERE due IS NOT NULL;

CREATE OR REPLACE FUNCTION accord_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER {EVENTS_TABLE}_append_only
    BEFORE UPDATE OR DELETE ON {EVENTS_TABLE}
    FOR EACH ROW EXECUTE FUNCTION accord_refuse_change();
CREATE OR REPLACE TRIGGER {EVENTS_TABLE}_no_truncate
    BEFORE TRUNCATE ON {EVENTS_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION accord_refuse_change();

CREATE OR REPLACE FUNCTION accord_add_key(o uuid, w bytea, m bytea)
RETURNS TABLE (wrapped bytea, master bytea)
LANGUAGE plpgsql AS $$
BEGIN
    -- Committed without waiting for its own flush: whatever uses the key (an append, an
    -- account) commits after it and waits for its flush, which flushes this one first (the
    -- WAL is written in order). A key nothing used by a crash is simply never needed.
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO accord_keys (owner, wrapped, master) VALUES (o, w, m) ON CONFLICT (owner) DO NOTHING;
    RETURN QUERY SELECT k.wrapped, k.master FROM accord_keys k WHERE k.owner = o;
END $$;
-- A database made by an earlier version keeps that version's seven-argument append beside this
-- one, so its processes keep appending during a rolling deploy.
CREATE OR REPLACE FUNCTION accord_append(
    ids uuid[], versions bigint[], topics text[], states bytea[],
    cmd text, res bytea, lock_ms integer,
    key_owners uuid[], key_wrapped bytea[], key_masters bytea[])
RETURNS TABLE (positions bigint[], result bytea, repeated boolean)
LANGUAGE plpgsql AS $$
DECLARE
    got bigint[];
    seen bytea;
BEGIN
    PERFORM set_config('lock_timeout', lock_ms || 'ms', true);
    LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE;
    IF cmd IS NOT NULL THEN
        SELECT c.positions, c.result INTO got, seen
            FROM accord_commands c WHERE c.command_id = cmd;
        IF FOUND THEN
            RETURN QUERY SELECT got, seen, true;
            RETURN;
        END IF;
    END IF;
    got := '{{}}';
    IF cardinality(key_owners) > 0 THEN
        -- New streams' data keys, with their first events: an owner that has one already
        -- raises unique_violation on accord_keys_pkey and rolls all of it back.
        INSERT INTO accord_keys (owner, wrapped, master)
            SELECT * FROM unnest(key_owners, key_wrapped, key_masters);
    END IF;
    IF cardinality(ids) > 0 THEN
        -- A clash with the primary key raises unique_violation and rolls all of it back.
        NOTIFY {EVENTS_TABLE};
        WITH ins AS (
            INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)
            SELECT * FROM unnest(ids, versions, topics, states)
            RETURNING notification_id)
        SELECT array_agg(notification_id ORDER BY notification_id) INTO got FROM ins;
    END IF;
    IF cmd IS NOT NULL THEN
        INSERT INTO accord_commands (command_id, positions, result) VALUES (cmd, got, res);
    END IF;
    RETURN QUERY SELECT got, res, false;
END $$;
"""

#: The class of `exclusive`'s advisory locks (two-key locks: apart from the one-key locks here).
EXCLUSIVE_LOCKS = 7353919


def lock_key(key: UUID) -> int:
    """An advisory lock's 32-bit key for `key`: two keys that share one only wait for each other."""
    return int.from_bytes(key.bytes[:4], "big", signed=True)


#: The advisory lock whose holder projects and schedules for the database (any constant, but only this one).
LEADER_LOCK = 7353918
#: Projections' commits notify this channel, so processes waiting for a position need not poll.
PROJECTED = "accord_projected"

_CONFLICT_DETAIL = re.compile(r"=\(([0-9a-fA-F-]{36}), (\d+)\)")

#: Errors that mean the database could not be reached or went away.
CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    # Seen when the server shuts down under a pooled connection mid-operation.
    asyncpg.InternalClientError,
    asyncio.TimeoutError,
)


def conflict_from(error: asyncpg.UniqueViolationError) -> ConflictError:
    match = _CONFLICT_DETAIL.search(error.detail or "")
    if match is None:
        return ConflictError(None, None)
    return ConflictError(UUID(match.group(1)), int(match.group(2)))


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pooled connections carry no session state (lock_timeout is per transaction,
    LISTEN has its own connection), so skip asyncpg's reset round trip per command."""


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        originator_id=row[0],
        originator_version=row[1],
        topic=row[2],
        state=bytes(row[3]),
        position=row[4],
    )


_COLUMNS = "originator_id, originator_version, topic, state, notification_id"


class PostgresStore(PostgresSecurity):
    kind = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        lock_timeout: float = 5.0,
        poll_interval: float = 1.0,
        min_pool: int = 2,
        max_pool: int = 10,
        read_only: bool = False,
    ) -> None:
        self.dsn = dsn
        #: A streaming replica, read only: no schema set-up (the primary's arrives by replication).
        self.read_only = read_only
        self.lock_timeout_ms = max(1, int(lock_timeout * 1000))
        self.poll_interval = poll_interval
        self._min_pool = min_pool
        self._max_pool = max_pool
        self._pool: asyncpg.Pool | None = None
        self._lock_pool: asyncpg.Pool | None = None
        #: What `listen` sets on each NOTIFY, and the one task listening for them all.
        self._wakes: set[asyncio.Event] = set()
        self._listener: asyncio.Task[None] | None = None
        #: Listeners cancelled when their last waiter left, until they have ended (`close` waits for them).
        self._ending: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        if not self.read_only:
            await self._set_up()
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=self._min_pool, max_size=self._max_pool, reset=_keep_session
        )
        # `exclusive`'s waiters hold connections of their own, so the holder they wait for always finds
        # one in the pool above to finish with (none are opened before someone waits).
        self._lock_pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=self._max_pool)

    async def _set_up(self) -> None:
        try:
            conn = await asyncpg.connect(self.dsn)
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error)) from error
        try:
            async with conn.transaction():
                # Serialise schema set-up across processes starting together.
                await conn.execute("SELECT pg_advisory_xact_lock(7353917)")
                await conn.execute(SCHEMA)
                await conn.execute(SECURITY_SCHEMA)
        finally:
            await conn.close()

    async def close(self) -> None:
        for task in (*self._ending, *([self._listener] if self._listener else [])):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._lock_pool is not None:
            await self._lock_pool.close()
            self._lock_pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("the store is not open")
        return self._pool

    async def append(
        self,
        events: Sequence[NewEvent],
        *,
        command_id: str | None = None,
        result: bytes = b"",
        keys: Sequence[tuple[UUID, bytes, bytes]] = (),
    ) -> Appended:
        try:
            row = await self.pool.fetchrow(
                "SELECT * FROM accord_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                [e.originator_id for e in events],
                [e.originator_version for e in events],
                [e.topic for e in events],
                [e.state for e in events],
                command_id,
                result,
                self.lock_timeout_ms,
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "accord_keys_pkey":
                raise KeyExists from None
            if error.constraint_name == "accord_commands_pkey":
                # Only reachable if a command row was written without the table lock.
                raise StoreUnavailable("command recorded concurrently") from error
            raise conflict_from(error) from None
        except asyncpg.LockNotAvailableError as error:
            raise StoreUnavailable("the event log is busy; try again") from error
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error) or type(error).__name__) from error
        return Appended(positions=list(row[0]), result=bytes(row[1]), repeated=row[2])

    async def _fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        try:
            return await self.pool.fetch(query, *args)
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error) or type(error).__name__) from error
        except asyncpg.UndefinedTableError as error:
            if not self.read_only:
                raise
            # A replica that has not replayed the primary's schema yet: it will.
            raise StoreUnavailable("the replica has not caught up with the schema yet") from error

    async def read_stream(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        # Only the conditions asked for, so each form is its own prepared statement with an index range
        # (a generic plan of `$2 IS NULL OR originator_version > $2` reads the whole stream and filters).
        query, args = f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} WHERE originator_id = $1", [originator_id]
        if gt is not None:
            args.append(gt)
            query += f" AND originator_version > ${len(args)}"
        if lte is not None:
            args.append(lte)
            query += f" AND originator_version <= ${len(args)}"
        query += f" ORDER BY originator_version {'DESC' if desc else 'ASC'}"
        if limit is not None:
            args.append(limit)
            query += f" LIMIT ${len(args)}"
        rows = await self._fetch(query, *args)
        return [_stored(r) for r in rows]

    async def read_log(
        self, after: int = 0, *, limit: int = 500, topics: Sequence[str] = (), open_topics: Collection[str] | None = None
    ) -> list[StoredEvent]:
        if topics:
            rows = await self._fetch(
                f"SELECT {_COLUMNS} FROM {EVENTS_TABLE}"
                " WHERE notification_id > $1 AND topic = ANY($3::text[])"
                " ORDER BY notification_id LIMIT $2",
                after,
                limit,
                list(topics),
            )
        else:
            rows = await self._fetch(
                f"SELECT {_COLUMNS} FROM {EVENTS_TABLE}"
                " WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
                after,
                limit,
            )
        return [_stored(r) for r in rows]

    @contextlib.asynccontextmanager
    async def exclusive(self, keys: Collection[UUID]) -> AsyncIterator[None]:
        # Transaction-scoped locks end with the transaction, however the holder leaves; taken in one
        # order, so two holders of overlapping keys never wait on each other in a cycle.
        if self._lock_pool is None:
            raise StoreUnavailable("the store is not open")
        async with self._lock_pool.acquire() as conn, conn.transaction():
            for key in sorted({lock_key(k) for k in keys}):
                await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", EXCLUSIVE_LOCKS, key)
            yield

    async def max_position(self) -> int:
        rows = await self._fetch(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
        return rows[0][0]

    async def recorded(self, command_id: str) -> Appended | None:
        rows = await self._fetch(
            "SELECT positions, result FROM accord_commands WHERE command_id = $1", command_id
        )
        if not rows:
            return None
        return Appended(positions=list(rows[0][0]), result=bytes(rows[0][1]), repeated=True)

    async def server_secret(self) -> bytes:
        await self._fetch(
            "INSERT INTO accord_secrets (name, value) VALUES ('pseudonyms', $1)"
            " ON CONFLICT (name) DO NOTHING",
            secrets.token_bytes(32),
        )
        rows = await self._fetch("SELECT value FROM accord_secrets WHERE name = 'pseudonyms'")
        return bytes(rows[0][0])

    async def create_account(self, account: Account) -> None:
        try:
            await self.pool.execute(
                "INSERT INTO accord_accounts (person_id, handle, display_name, password_hash)"
                " VALUES ($1, $2, $3, $4)",
                account.person_id,
                account.handle.casefold(),
                account.display_name,
                account.password_hash,
            )
        except asyncpg.UniqueViolationError:
            raise HandleTaken(account.handle) from None
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error) or type(error).__name__) from error

    async def account_by_handle(self, handle: str) -> Account | None:
        if "\x00" in handle:
            # PostgreSQL text cannot hold NUL, so no handle has one: the answer SQLite gives, without an error.
            return None
        rows = await self._fetch(
            "SELECT person_id, handle, display_name, password_hash"
            " FROM accord_accounts WHERE handle = $1",
            handle.casefold(),
        )
        return Account(*rows[0]) if rows else None

    async def accounts_by_ids(self, person_ids: Sequence[UUID]) -> dict[UUID, Account]:
        rows = await self._fetch(
            "SELECT person_id, handle, display_name, password_hash"
            " FROM accord_accounts WHERE person_id = ANY($1::uuid[])",
            list(person_ids),
        )
        return {row[0]: Account(*row) for row in rows}

    async def add_token(self, token_hash: bytes, person_id: UUID, expires_at: datetime) -> None:
        await self._fetch(
            "INSERT INTO accord_tokens (token_hash, person_id, expires_at) VALUES ($1, $2, $3)",
            token_hash,
            person_id,
            expires_at,
        )

    async def token_owner_at(self, token_hash: bytes, now: datetime) -> tuple[UUID, int] | None:
        rows = await self._fetch(
            f"SELECT person_id, (SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}) FROM accord_tokens"
            " WHERE token_hash = $1 AND NOT revoked AND expires_at > $2",
            token_hash,
            now,
        )
        return (rows[0][0], rows[0][1]) if rows else None

    async def revoke_token(self, token_hash: bytes) -> None:
        await self._fetch(
            "UPDATE accord_tokens SET revoked = true WHERE token_hash = $1", token_hash
        )

    async def delete_account(self, person_id: UUID) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                for statement in FORGET_PERSON:
                    await conn.execute(statement, person_id)
                await conn.execute("DELETE FROM accord_tokens WHERE person_id = $1", person_id)
                await conn.execute("DELETE FROM accord_commands WHERE starts_with(command_id, $1)", f"{person_id}:")
                # A tombstone: nothing of theirs is left in it, but views can say "a former member".
                await conn.execute(
                    "UPDATE accord_accounts SET handle = 'erased:' || person_id, display_name = '', password_hash = ''"
                    " WHERE person_id = $1",
                    person_id,
                )
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error) or type(error).__name__) from error

    # Data keys, wrapped by the master key (service/crypto.py)

    async def data_keys(self, owners: Sequence[UUID]) -> dict[UUID, tuple[bytes, bytes]]:
        rows = await self._fetch(
            "SELECT owner, wrapped, master FROM accord_keys WHERE owner = ANY($1::uuid[])", list(owners)
        )
        return {row[0]: (bytes(row[1]), bytes(row[2])) for row in rows}

    async def add_data_key(self, owner: UUID, wrapped: bytes, master_id: bytes) -> tuple[bytes, bytes]:
        rows = await self._fetch("SELECT * FROM accord_add_key($1, $2, $3)", owner, wrapped, master_id)
        return bytes(rows[0][0]), bytes(rows[0][1])

    async def delete_data_keys(self, owners: Sequence[UUID]) -> None:
        await self._fetch("DELETE FROM accord_keys WHERE owner = ANY($1::uuid[])", list(owners))

    async def all_data_keys(self) -> list[tuple[UUID, bytes, bytes]]:
        rows = await self._fetch("SELECT owner, wrapped, master FROM accord_keys")
        return [(row[0], bytes(row[1]), bytes(row[2])) for row in rows]

    async def rewrap_data_keys(self, rows: Sequence[tuple[UUID, bytes, bytes, bytes]]) -> int:
        if not rows:
            return 0
        done = await self._fetch(
            "UPDATE accord_keys k SET wrapped = r.wrapped, master = r.master"
            " FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[]) AS r(owner, old, wrapped, master)"
            " WHERE k.owner = r.owner AND k.master = r.old RETURNING 1",
            *(list(column) for column in zip(*rows)),
        )
        return len(done)

    # Projections

    async def projection_positions(self) -> dict[str, int]:
        return {row[0]: row[1] for row in await self._fetch("SELECT name, position FROM accord_projections")}

    async def documents(self, projection: str, keys: Sequence[str]) -> dict[str, bytes]:
        rows = await self._fetch(
            "SELECT key, doc FROM accord_documents WHERE projection = $1 AND key = ANY($2::text[])",
            projection,
            list(keys),
        )
        return {row[0]: bytes(row[1]) for row in rows}

    async def due_documents(self, projection: str, by: datetime, limit: int = 100) -> list[tuple[str, bytes]]:
        rows = await self._fetch(
            "SELECT key, doc FROM accord_documents WHERE projection = $1 AND due IS NOT NULL AND due <= $2"
            " ORDER BY due LIMIT $3",
            projection,
            by,
            limit,
        )
        return [(row[0], bytes(row[1])) for row in rows]

    async def commit_projections(self, commits: Sequence[ProjectionCommit]) -> None:
        names = [commit.name for commit in commits]
        # One statement moves every position (each only from where its commit started) and notifies.
        move = (
            "WITH moved AS (UPDATE accord_projections AS p SET position = v.position"
            " FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(name, after, position)"
            " WHERE p.name = v.name AND p.position = v.after RETURNING p.name)"
            f" SELECT array(SELECT name FROM moved), pg_notify('{PROJECTED}', '')"
        )
        args = (names, [commit.after for commit in commits], [commit.position for commit in commits])

        def check(moved: Sequence[str]) -> None:
            if len(moved) != len(commits):
                raise ProjectionMoved(next(name for name in names if name not in moved))

        # A projection first committed from 0 may have no row yet: inserted at 0, then moved from there.
        new = [commit.name for commit in commits if commit.after == 0]
        try:
            if not new and not any(commit.documents for commit in commits):
                # Positions only (a page of events no projection keeps a document for): one statement is atomic.
                check((await self.pool.fetchrow(move, *args))[0])
                return
            async with self.pool.acquire() as conn, conn.transaction():
                if new:
                    await conn.execute(
                        "INSERT INTO accord_projections (name, position) SELECT unnest($1::text[]), 0"
                        " ON CONFLICT DO NOTHING",
                        new,
                    )
                for commit in commits:
                    gone = [key for key, document in commit.documents.items() if document is None]
                    kept = [(key, document) for key, document in commit.documents.items() if document is not None]
                    if gone:
                        await conn.execute(
                            "DELETE FROM accord_documents WHERE projection = $1 AND key = ANY($2::text[])",
                            commit.name,
                            gone,
                        )
                    if kept:
                        await conn.execute(
                            "INSERT INTO accord_documents (projection, key, doc, due)"
                            " SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::timestamptz[])"
                            " ON CONFLICT (projection, key) DO UPDATE SET doc = excluded.doc, due = excluded.due",
                            commit.name,
                            [key for key, _ in kept],
                            [document.data for _, document in kept],
                            [document.due for _, document in kept],
                        )
                check((await conn.fetchrow(move, *args))[0])
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(str(error) or type(error).__name__) from error

    async def switch_projection(self, built: str, live: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM accord_documents WHERE projection = $1", live)
            await conn.execute("UPDATE accord_documents SET projection = $1 WHERE projection = $2", live, built)
            await conn.execute("DELETE FROM accord_projections WHERE name = $1", live)
            await conn.execute("UPDATE accord_projections SET name = $1 WHERE name = $2", live, built)

    async def drop_projection(self, name: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM accord_documents WHERE projection = $1", name)
            await conn.execute("DELETE FROM accord_projections WHERE name = $1", name)

    def leadership(self) -> AdvisoryLeadership:
        return AdvisoryLeadership(self.dsn, self.poll_interval)

    def subscribe(self, after: int = 0) -> AsyncIterator[StoredEvent]:
        return follow(self, after, self.listen, self.poll_interval)

    async def listen(self, wake: asyncio.Event) -> None:
        """Set `wake` on every append's NOTIFY, until cancelled.

        Every waiter in this process shares one LISTEN connection (each listening
        connection makes PostgreSQL deliver every notification once more), kept
        open and reconnected when it drops. Every (re)connection sets every
        `wake`, since notifications sent while it was down are lost and the
        reader must look at the log again; so does joining.
        """
        self._wakes.add(wake)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="accord-log-listener")
        else:
            wake.set()
        try:
            await asyncio.Event().wait()
        finally:
            self._wakes.discard(wake)
            if not self._wakes and self._listener is not None:
                self._listener.cancel()
                self._ending.add(self._listener)
                self._listener.add_done_callback(self._ending.discard)
                self._listener = None

    def _wake(self, *_: object) -> None:
        for wake in self._wakes:
            wake.set()

    async def _listen(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(EVENTS_TABLE, self._wake)
                self._wake()
                while not conn.is_closed():
                    await asyncio.sleep(self.poll_interval)
                    # A cheap round trip notices a terminated backend promptly.
                    await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure means reconnect
                log.info("log listener reconnecting after %s", type(error).__name__)
                self._wake()
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.poll_interval)


class AdvisoryLeadership:
    """Leadership as a session advisory lock on a connection of its own.

    PostgreSQL releases the lock when that connection ends, however the
    holder died, so a standby trying every poll interval takes over within
    about one interval. A cheap query each interval notices a lost connection.
    """

    def __init__(self, dsn: str, poll_interval: float) -> None:
        self.dsn = dsn
        self.poll_interval = poll_interval
        self.lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
            except CONNECTION_ERRORS:
                await asyncio.sleep(self.poll_interval)
                continue
            try:
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                    await asyncio.sleep(self.poll_interval)
            except CONNECTION_ERRORS:
                conn.terminate()
                await asyncio.sleep(self.poll_interval)
                continue
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
            self._watch = asyncio.create_task(self._keep(conn), name="accord-leadership")
            return

    async def _keep(self, conn: asyncpg.Connection) -> None:
        try:
            while True:
                await asyncio.sleep(self.poll_interval)
                await conn.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - any failure: the lock may be gone with the connection
            log.warning("leadership lost: its connection failed")
            self.lost.set()

    async def release(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._conn is not None:
            self._conn.terminate()  # ends the session, and with it the lock
            self._conn = None
