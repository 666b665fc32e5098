"""Append throughput: Accord's store against the library's recorder and the raw limit.

Every appender writes the same payload (one encoded ClauseEdited) into a
table of the same shape in a database of its own, under the same EXCLUSIVE
table lock, with a lock timeout and a NOTIFY, durably. Each writer appends to
a stream of its own, so nothing conflicts: what is measured is the cost of
one serialised, durable append and what each layer adds to it.

- accord: `PostgresStore.append` (one PL/pgSQL call per command, asyncpg pool).
- library: eventsourcing's `PostgresApplicationRecorder` (psycopg, default
  mode: LOCK TABLE in a pipelined transaction), writers as threads.
- raw transaction: asyncpg, BEGIN; SET LOCAL lock_timeout + LOCK + NOTIFY;
  INSERT ... unnest RETURNING; COMMIT, on one connection per writer.
- raw function: the same as one PL/pgSQL function called as one autocommit
  statement (what Accord does, minus its conflict check and command record).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from eventsourcing.persistence import StoredEvent as LibStoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from service.crypto import Keyring, MasterKeys
from service.store.base import NewEvent
from service.store.postgres import PostgresStore
from service.store.sealed import SealedStore

from .agreements import payload
from .harness import Context, Figure, fsyncs
from .pg import params

TABLE = "accord_events"
RAW_SCHEMA = f"""
CREATE TABLE {TABLE} (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version));
CREATE UNIQUE INDEX ON {TABLE} (notification_id ASC);
CREATE FUNCTION raw_append(ids uuid[], versions bigint[], topics text[], states bytea[])
RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lock_timeout', '5000ms', true);
    LOCK TABLE {TABLE} IN EXCLUSIVE MODE;
    NOTIFY {TABLE};
    RETURN QUERY INSERT INTO {TABLE} (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id;
END $$;
"""
LOCK = f"SET LOCAL lock_timeout = '5s'; LOCK TABLE {TABLE} IN EXCLUSIVE MODE; NOTIFY {TABLE}"
INSERT = (
    f"INSERT INTO {TABLE} (originator_id, originator_version, topic, state)"
    " SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bytea[])"
    " RETURNING notification_id"
)
FUNCTION = "SELECT * FROM raw_append($1, $2, $3, $4)"

WARMUP = 3  # commands per writer before the clock starts


class Writer:
    """One writer's stream: the next command's events."""

    def __init__(self, size: int) -> None:
        self.topic, self.state = payload()
        self.id, self.version, self.size = uuid.uuid4(), 0, size

    def versions(self) -> range:
        self.version += self.size
        return range(self.version - self.size + 1, self.version + 1)

    def arrays(self) -> tuple[list, list, list, list]:
        vs = list(self.versions())
        return [self.id] * len(vs), vs, [self.topic] * len(vs), [self.state] * len(vs)


async def timed_async(writers: int, command: Callable[[int], Awaitable[object]], seconds: float) -> tuple[int, float]:
    """Commands done by `writers` tasks looping on `command(i)` for `seconds`, and the time taken."""
    for _ in range(WARMUP):
        await asyncio.gather(*(command(i) for i in range(writers)))
    done = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def loop(i: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await command(i)
            done += 1

    await asyncio.gather(*(loop(i) for i in range(writers)))
    return done, time.perf_counter() - start


def timed_threads(writers: int, command: Callable[[int], object], seconds: float) -> tuple[int, float]:
    counts = [0] * writers
    ready = threading.Barrier(writers + 1)
    deadline = [0.0]

    def loop(i: int) -> None:
        for _ in range(WARMUP):
            command(i)
        ready.wait()
        ready.wait()  # the main thread sets the deadline between the two
        while time.perf_counter() < deadline[0]:
            command(i)
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    deadline[0] = start + seconds
    ready.wait()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


async def accord(
    dsn: str, writers: int, size: int, seconds: float, *,
    masters: MasterKeys | None = None, writer: type[Writer] = Writer,
) -> tuple[int, float]:
    """`PostgresStore.append`; with `masters`, through a `SealedStore` with the events marked `sealed` (bench/sealing.py)."""
    store = PostgresStore(dsn, min_pool=writers, max_pool=writers)
    await store.open()
    appender = store if masters is None else SealedStore(store, Keyring(store, masters))
    sealed = masters is not None
    ws = [writer(size) for _ in range(writers)]

    async def command(i: int) -> None:
        w = ws[i]
        versions = w.versions()  # (before w.id: a writer may start a new stream per command)
        await appender.append([NewEvent(w.id, v, w.topic, w.state, sealed) for v in versions])

    try:
        return await timed_async(writers, command, seconds)
    finally:
        await store.close()


def library(dsn: str, writers: int, size: int, seconds: float) -> tuple[int, float]:
    datastore = PostgresDatastore(**params(dsn), pool_size=writers, lock_timeout=5)
    recorder = PostgresApplicationRecorder(datastore, events_table_name="peer_events")
    recorder.create_table()
    ws = [Writer(size) for _ in range(writers)]

    def command(i: int) -> None:
        w = ws[i]
        recorder.insert_events([LibStoredEvent(w.id, v, w.topic, w.state) for v in w.versions()])

    try:
        return timed_threads(writers, command, seconds)
    finally:
        datastore.close()


async def raw(dsn: str, writers: int, size: int, seconds: float, *, function: bool) -> tuple[int, float]:
    setup = await asyncpg.connect(dsn)
    await setup.execute(RAW_SCHEMA)
    await setup.close()
    conns = [await asyncpg.connect(dsn) for _ in range(writers)]
    ws = [Writer(size) for _ in range(writers)]

    async def in_transaction(i: int) -> None:
        conn = conns[i]
        async with conn.transaction():
            await conn.execute(LOCK)
            await conn.fetch(INSERT, *ws[i].arrays())

    async def one_call(i: int) -> None:
        await conns[i].fetch(FUNCTION, *ws[i].arrays())

    try:
        return await timed_async(writers, one_call if function else in_transaction, seconds)
    finally:
        for conn in conns:
            await conn.close()


Appender = Callable[[str, int, int], Awaitable[tuple[int, float]]]


async def in_turn(
    ctx: Context, appenders: dict[str, Appender], writers: int, size: int, rounds: int, seconds: float, disk: list,
) -> dict[str, list]:
    """`rounds` rounds of every appender in turn, each on a fresh database, and the disk timed after each
    round (added to `disk`): per appender, [commands, seconds] summed over the rounds."""
    done = {name: [0, 0.0] for name in appenders}
    for _ in range(rounds):
        for name, appender in appenders.items():
            dsn = ctx.server.create_database("bench_append")
            try:
                commands, elapsed = await appender(dsn, writers, size)
            finally:
                ctx.server.drop_database(dsn)
            done[name][0] += commands
            done[name][1] += elapsed
        syncs, elapsed = await asyncio.to_thread(fsyncs, ctx.scratch, seconds / 2)
        disk[0] += syncs
        disk[1] += elapsed
    return done


async def run(ctx: Context) -> list[Figure]:
    # The disk's fsync latency drifts by an order of magnitude within seconds
    # here, so each figure sums several short rounds taken in turn with the
    # others (each on a fresh database), and the disk itself is timed in turn too.
    rounds, seconds = (1, 0.7) if ctx.quick else (5, 1.5)
    appenders = {
        "accord PostgresStore.append": lambda dsn, w, s: accord(dsn, w, s, seconds),
        "library PostgresApplicationRecorder": lambda dsn, w, s: asyncio.to_thread(library, dsn, w, s, seconds),
        "raw asyncpg transaction": lambda dsn, w, s: raw(dsn, w, s, seconds, function=False),
        "raw asyncpg function call": lambda dsn, w, s: raw(dsn, w, s, seconds, function=True),
    }
    disk = [0, 0.0]
    figures: list[Figure] = []
    for size in (1, 10):
        for writers in (1, 8):
            done = await in_turn(ctx, appenders, writers, size, rounds, seconds, disk)
            got: dict[str, Figure] = {}
            for name, (commands, elapsed) in done.items():
                label = f"{name}, {size}-event commands, {writers} writer{'s' * (writers > 1)}"
                got[name] = Figure("append", label, commands * size / elapsed, "events/s")
                ctx.say(f"{label}: {got[name].value:,.0f} events/s ({commands} commands)")
            a = got["accord PostgresStore.append"]
            target = size == 1 and writers == 8
            a.against(got["library PostgresApplicationRecorder"], 2.0 if target else None)
            a.against(got["raw asyncpg transaction"], 0.8 if target else None)
            a.against(got["raw asyncpg function call"], 0.8 if target else None)
            figures += got.values()
    limit = Figure("append", "disk: 8 kB write + fdatasync, one after another", disk[0] / disk[1], "syncs/s")
    for f in figures:
        if f.name.startswith("accord") and "1-event" in f.name:
            f.against(limit)
    return [limit, *figures]
