"""Encryption at rest (issue 13): what sealing and opening events costs, against the same work in clear.

Every figure has its baseline from the same run, taken in turn with it:

- append: 1-event commands of one encoded ClauseEdited (bench/agreements.py's
  payload) from 8 concurrent writers, each on its own stream, through
  `SealedStore(PostgresStore, Keyring)` with the events marked `sealed`,
  against the same `PostgresStore.append` with them in clear (bench/append.py's
  appender, rounds in turn, each on a fresh database). Twice: later events of
  a stream (its data key made and cached during the warm-up: what almost
  every append is), and each command the first event of a new stream (the
  keyring looks the key up, makes it, wraps it and INSERTs it into
  `accord_keys`, its own durable commit, before the append).
- rebuild: the same agreement histories (bench/agreements.py) seeded by COPY
  into two databases, once in clear and once sealed as the service seals them
  (every event of an intimate class with its agreement's data key, the keys
  wrapped by a bench master key in `accord_keys`); the projector
  (bench/rebuild.py's `project`) over the raw store on the clear log and over
  a `SealedStore` with a fresh keyring (a new process's) on the sealed one;
  and reading + decoding alone on each.
- stream reads: what a read model does for a view when the agreement is not
  in its cache (service/read/models.py: read_stream, decode, fold the
  aggregate and its timeline), with `ReadModels` keeping nothing, over the two
  logs from 8 concurrent tasks: raw, sealed with the keys cached (a running
  server's keyring holds 20,000), and sealed with no key cached (one more
  query and an unwrap per read).
- per event: sealing and opening one ClauseEdited state with AES-256-GCM
  (`cryptography`), beside encoding and decoding it with the mapper; and a
  data key's unwrap (and making one), timed directly in this process.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import secrets
import time
import timeit
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import cache
from itertools import islice

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.utils import resolve_topic

from domain.agreement import Agreement
from service.crypto import Keyring, MasterKeys, open_sealed, seal
from service.read.models import ReadModels
from service.read.projector import PAGE
from service.store.base import NewEvent, StoredEvent
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore
from service.store.sealed import SealedStore

from .agreements import encoded, payload
from .append import Writer, accord, in_turn
from .harness import Context, Figure
from .rebuild import Rate, project, replay
from .rebuild import seed as copy_log

WRITERS = 8
READERS = 8
TARGET_APPEND, TARGET_REBUILD, TARGET_VIEW = 0.85, 0.7, 0.85


class NewStreams(Writer):
    """A writer whose every command is the first event of a new stream."""

    def versions(self) -> range:
        self.id, self.version = uuid.uuid4(), 0
        return super().versions()


@cache
def intimate(topic: str) -> bool:
    """Whether the service seals events of this topic (`intimate` on their aggregate's Event class)."""
    return getattr(resolve_topic(topic), "intimate", False)


class Sealer:
    """Seals a stream of records as the service does, making each owner's data key on first sight."""

    def __init__(self, masters: MasterKeys) -> None:
        self.masters = masters
        self.keys: dict[uuid.UUID, bytes] = {}
        self._ciphers: dict[uuid.UUID, AESGCM] = {}

    def __call__(self, events: Iterator[NewEvent]) -> Iterator[NewEvent]:
        for e in events:
            if intimate(e.topic):
                cipher = self._ciphers.get(e.originator_id)
                if cipher is None:
                    self.keys[e.originator_id] = raw = AESGCM.generate_key(bit_length=256)
                    cipher = self._ciphers[e.originator_id] = AESGCM(raw)
                e = NewEvent(e.originator_id, e.originator_version, e.topic, seal(cipher, e.originator_id, e.state))
            yield e

    async def store_keys(self, dsn: str) -> None:
        """The data keys made so far, wrapped by the master key, into `accord_keys` (COPY)."""
        conn = await asyncpg.connect(dsn)
        try:
            await conn.copy_records_to_table(
                "accord_keys",
                records=[(o, self.masters.wrap(o, k), self.masters.current_id) for o, k in self.keys.items()],
                columns=["owner", "wrapped", "master"],
            )
        finally:
            await conn.close()


def _streams(events: Iterator[NewEvent], seen: list[uuid.UUID]) -> Iterator[NewEvent]:
    """The records as they pass, noting each new stream's id in `seen`."""
    last = None
    for e in events:
        if e.originator_id != last:
            last = e.originator_id
            seen.append(last)
        yield e


def micro(run: Callable[[], object], number: int) -> float:
    """µs per call: the best of 5 repeats of `number` calls."""
    return min(timeit.repeat(run, number=number, repeat=5)) / number * 1e6


async def amicro(run: Callable[[], Awaitable[object]], number: int) -> float:
    """µs per await: the best of 5 repeats of `number` awaits."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(number):
            await run()
        best = min(best, time.perf_counter() - started)
    return best / number * 1e6


class _Keys:
    """An in-memory key table (service/crypto.py's KeyTable, as far as reading needs)."""

    def __init__(self, sealer: Sealer) -> None:
        masters = sealer.masters
        self.rows = {o: (masters.wrap(o, k), masters.current_id) for o, k in sealer.keys.items()}

    async def data_keys(self, owners: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[bytes, bytes]]:
        return {o: self.rows[o] for o in owners if o in self.rows}


class _Page:
    """A store whose log is one page, held in memory: what SealedStore adds, without the database."""

    def __init__(self, events: list[StoredEvent]) -> None:
        self.events = events

    async def read_log(self, after: int = 0, *, limit: int = 500, topics: Sequence[str] = ()) -> list[StoredEvent]:
        return self.events


async def page_open(masters: MasterKeys, number: int) -> Figure:
    """SealedStore opening a log page of `PAGE` events, keys cached: µs per event."""
    sealer = Sealer(masters)
    page = [StoredEvent(e.originator_id, e.originator_version, e.topic, e.state, i)
            for i, e in enumerate(islice(sealer(encoded(agreements=None)), PAGE), 1)]
    store = SealedStore(_Page(page), Keyring(_Keys(sealer), masters))
    await store.read_log()  # the keys unwrapped and cached
    us = await amicro(store.read_log, number)
    return Figure("sealing", f"SealedStore.read_log: open a page of {PAGE:,} events, keys cached, per event",
                  us / PAGE, "µs")


async def per_event(ctx: Context, masters: MasterKeys) -> list[Figure]:
    topic, state = payload()
    owner = uuid.uuid4()
    mapper = MsgspecMapper()
    event = mapper.to_domain_event(StoredEvent(owner, 5, topic, state, 1))
    raw = AESGCM.generate_key(bit_length=256)
    cipher = AESGCM(raw)
    sealed = seal(cipher, owner, state)
    stored = StoredEvent(owner, 5, topic, state, 1)
    wrapped = masters.wrap(owner, raw)
    n = 20_000 if ctx.quick else 100_000
    s = f"a ClauseEdited state ({len(state):,} B)"
    seal_us = Figure("sealing", f"seal {s}, AES-256-GCM", micro(lambda: seal(cipher, owner, state), n), "µs")
    open_us = Figure("sealing", f"open {s}", micro(lambda: open_sealed(cipher, owner, sealed), n), "µs")
    encode_us = Figure("sealing", "encode its event (MsgspecMapper)", micro(lambda: mapper.to_stored_event(event), n), "µs")
    decode_us = Figure("sealing", "decode its event (MsgspecMapper)", micro(lambda: mapper.to_domain_event(stored), n), "µs")
    seal_us.against(encode_us)
    open_us.against(decode_us)
    unwrap_us = Figure(
        "sealing", "unwrap a data key (+ AESGCM(key), as Keyring does)",
        micro(lambda: AESGCM(masters.unwrap(owner, wrapped, masters.current_id)), n // 4), "µs",
    )

    def make() -> AESGCM:
        key = AESGCM.generate_key(bit_length=256)
        masters.wrap(owner, key)
        return AESGCM(key)

    make_us = Figure("sealing", "make a data key (generate, wrap, AESGCM(key))",
                     micro(make, n // 4), "µs")
    unwrap_us.against(open_us)
    page_us = await page_open(masters, 10 if ctx.quick else 40)
    page_us.against(open_us)
    ctx.say(f"per event: seal {seal_us.value:.2f} µs, open {open_us.value:.2f} µs, unwrap {unwrap_us.value:.2f} µs")
    ctx.note(f"sealing: a sealed ClauseEdited state is {len(sealed) - len(state)} bytes longer ({len(state):,} → {len(sealed):,})")
    return [seal_us, encode_us, open_us, decode_us, page_us, unwrap_us, make_us]


async def appends(ctx: Context, masters: MasterKeys) -> list[Figure]:
    rounds, seconds = (1, 0.7) if ctx.quick else (5, 1.5)
    figures: list[Figure] = []
    disk = [0, 0.0]
    for writer, which in ((Writer, "later events of a stream"), (NewStreams, "first event of a new stream (key made)")):
        cpu = {"clear": 0.0, "sealed": 0.0}  # this process's CPU time appending (warm-up included)

        async def timed(
            kind: str, dsn: str, writers: int, size: int, writer: type[Writer] = writer, cpu: dict = cpu,
        ) -> tuple[int, float]:
            started = time.process_time()
            try:
                return await accord(dsn, writers, size, seconds, writer=writer, masters=masters if kind == "sealed" else None)
            finally:
                cpu[kind] += time.process_time() - started

        appenders = {kind: functools.partial(timed, kind) for kind in cpu}
        done = await in_turn(ctx, appenders, WRITERS, 1, rounds, seconds, disk)
        rate = {name: commands / elapsed for name, (commands, elapsed) in done.items()}
        n = f"{WRITERS} writers × 1-event commands, {which}"
        clear = Figure("sealing", f"append clear (PostgresStore), {n}", rate["clear"], "events/s")
        sealed = Figure("sealing", f"append sealed (SealedStore), {n}", rate["sealed"], "events/s")
        sealed.against(clear, TARGET_APPEND)
        figures += [sealed, clear]
        us = (1 / rate["sealed"] - 1 / rate["clear"]) * 1e6
        per = {kind: cpu[kind] / done[kind][0] * 1e6 for kind in cpu}
        ctx.note(f"sealing: append, {which}: {us:+.0f} µs of wall time per event sealed, {WRITERS} writers;"
                 f" this process's CPU per event {per['sealed']:.0f} µs sealed, {per['clear']:.0f} µs clear")
    figures.append(Figure("sealing", "disk: 8 kB write + fdatasync (in turn with the appends)",
                          disk[0] / disk[1], "syncs/s"))
    return figures


class Logs:
    """The same agreement histories in two databases: in clear, and sealed with keys in `accord_keys`."""

    def __init__(self, ctx: Context, masters: MasterKeys, size: int) -> None:
        self.ctx, self.masters, self.size = ctx, masters, size
        self.clear_dsn = ctx.server.create_database("bench_sealing_clear")
        self.sealed_dsn = ctx.server.create_database("bench_sealing_sealed")
        self.clear = PostgresStore(self.clear_dsn)
        self.raw_sealed = PostgresStore(self.sealed_dsn)
        #: The agreements seeded (the last may be cut short).
        self.agreements: list[uuid.UUID] = []

    async def seed(self) -> None:
        await self.clear.open()
        await self.raw_sealed.open()
        started = time.perf_counter()
        await copy_log(self.clear_dsn, _streams(encoded(agreements=None), self.agreements), self.size)
        sealer = Sealer(self.masters)
        await copy_log(self.sealed_dsn, sealer(encoded(agreements=None)), self.size)
        await sealer.store_keys(self.sealed_dsn)
        self.ctx.say(
            f"seeded {self.size:,} events ({len(self.agreements):,} agreements) in clear and sealed"
            f" ({len(sealer.keys):,} data keys) in {time.perf_counter() - started:.1f} s"
        )

    def sealed(self, cache_size: int = 20000) -> SealedStore:
        """The sealed log as the service reads it, with a new keyring (a new process's)."""
        return SealedStore(self.raw_sealed, Keyring(self.raw_sealed, self.masters, cache_size))

    async def close(self) -> None:
        await self.clear.close()
        await self.raw_sealed.close()
        self.ctx.server.drop_database(self.clear_dsn)
        self.ctx.server.drop_database(self.sealed_dsn)


async def rebuilds(ctx: Context, logs: Logs) -> list[Figure]:
    await replay(logs.clear, decode=False)  # warm the caches
    await replay(logs.raw_sealed, decode=False)
    decoded = {"clear": Rate(), "sealed": Rate()}
    projected = {"clear": Rate(), "sealed": Rate()}
    cpu = {"clear": 0.0, "sealed": 0.0}  # this process's CPU time in the projector: the machine's other work aside
    for _ in range(2 if ctx.quick else 3):
        await decoded["clear"].time(replay(logs.clear))
        await decoded["sealed"].time(replay(logs.sealed()))
        for kind, store in (("clear", logs.clear), ("sealed", logs.sealed())):
            started = time.process_time()
            await projected[kind].time(project(store))
            cpu[kind] += time.process_time() - started
        gc.collect()
    n = f"{logs.size:,} events"
    pc = Figure("sealing", f"rebuild clear: projector over PostgresStore, {n}", projected["clear"].value, "events/s")
    ps = Figure("sealing", f"rebuild sealed: projector over SealedStore, {n}",
                projected["sealed"].value, "events/s")
    dc = Figure("sealing", f"read + decode the log clear, {n}", decoded["clear"].value, "events/s")
    ds = Figure("sealing", f"read + open + decode the log sealed, {n}", decoded["sealed"].value, "events/s")
    ps.against(pc, TARGET_REBUILD)
    ds.against(dc)
    for what, rates in (("projector", projected), ("read + decode", decoded)):
        us = (1 / rates["sealed"].value - 1 / rates["clear"].value) * 1e6
        ctx.note(f"sealing: rebuild, {what}: {us:+.2f} µs of wall time per event sealed")
    per = {kind: cpu[kind] / projected[kind].events * 1e6 for kind in cpu}
    ctx.note(f"sealing: rebuild, projector: this process's CPU per event {per['sealed']:.2f} µs sealed,"
             f" {per['clear']:.2f} µs clear ({per['sealed'] / per['clear']:.2f}×)")
    return [ps, pc, ds, dc]


async def fold_streams(store: object, agreements: list[uuid.UUID]) -> int:
    """Each agreement loaded as a read model loads one it has not cached, from `READERS` tasks: the events read."""
    models = ReadModels(store, MsgspecMapper(), cache_size=0)  # keeps nothing: every read is cache-cold
    models.position = 2**62
    queue = iter(agreements)
    events = 0

    async def reader() -> None:
        nonlocal events
        for agreement_id in queue:
            agreement = await models.aggregate(Agreement, agreement_id)
            if agreement is None:
                raise RuntimeError(f"agreement {agreement_id} did not load")
            events += agreement.version

    await asyncio.gather(*(reader() for _ in range(READERS)))
    return events


async def stream_reads(ctx: Context, logs: Logs) -> list[Figure]:
    count, rounds = (300, 3) if ctx.quick else (1000, 6)
    agreements = logs.agreements[:count]
    warm = logs.sealed()  # one keyring for every round: its keys stay cached, as in a running server
    cold = logs.sealed(cache_size=0)  # keeps no key: each read looks its key up and unwraps it
    await fold_streams(logs.clear, agreements)
    await fold_streams(warm, agreements)
    kinds = {"clear": logs.clear, "warm": warm, "cold": cold}
    reads = {kind: [0, 0, 0.0, 0.0] for kind in kinds}  # agreements, events, seconds, this process's CPU seconds
    for _ in range(rounds):  # short rounds in turn: the machine's drift touches all alike
        for kind, store in kinds.items():
            started, cpu = time.perf_counter(), time.process_time()
            events = await fold_streams(store, agreements)
            reads[kind][0] += len(agreements)
            reads[kind][1] += events
            reads[kind][2] += time.perf_counter() - started
            reads[kind][3] += time.process_time() - cpu
        gc.collect()
    per = reads["clear"][1] / reads["clear"][0]
    n = f"{READERS} tasks, {len(agreements):,} agreements, {per:.0f} events each on average"
    rate = {kind: a / s for kind, (a, _, s, _) in reads.items()}
    cpu = {kind: c / a * 1e6 for kind, (a, _, _, c) in reads.items()}
    ctx.note("sealing: a view's stream read, this process's CPU per read: "
             + ", ".join(f"{kind} {us:,.0f} µs" for kind, us in cpu.items()))
    clear = Figure("sealing", f"stream read clear: read_stream + decode + fold, {n}",
                   rate["clear"], "reads/s")
    warm_f = Figure("sealing", "stream read sealed, data keys cached: + open", rate["warm"], "reads/s")
    cold_f = Figure("sealing", "stream read sealed, no key cached: + key query, unwrap, open", rate["cold"], "reads/s")
    warm_f.against(clear, TARGET_VIEW)
    cold_f.against(clear, TARGET_VIEW)
    for kind, label in (("warm", "keys cached"), ("cold", "no key cached")):
        us = (1 / rate[kind] - 1 / rate["clear"]) * 1e6
        ctx.note(f"sealing: a view's stream read, {label}: {us:+.0f} µs per read ({us / per:+.2f} µs per event)")
    return [warm_f, cold_f, clear]


async def run(ctx: Context) -> list[Figure]:
    masters = MasterKeys(secrets.token_bytes(32))
    figures = await per_event(ctx, masters)
    figures += await appends(ctx, masters)
    logs = Logs(ctx, masters, 100_000 if ctx.quick else 300_000)
    try:
        await logs.seed()
        figures += await rebuilds(ctx, logs)
        figures += await stream_reads(ctx, logs)
    finally:
        await logs.close()
    return figures
