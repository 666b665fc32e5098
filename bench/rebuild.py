"""Projector: folding the whole log into the persisted projections, against reading (and decoding) it alone.

`replay` pages through `PostgresStore.read_log` and decodes each record with
the msgspec mapper: the floor for anything that reads the log. The projector
figure is the service's own `Projector` (service/read/projector.py) folding
every event into the `people`, `agreement_grants` and `lapses` documents and
committing each page with its position, from position 0 (a rebuild, or a
first start on an existing log). The log is seeded with COPY from agreement
histories the domain produces (bench/agreements.py).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Iterator
from itertools import islice

import asyncpg

from service.read.projector import PAGE, PROJECTIONS, Projector
from service.store.base import EVENTS_TABLE, NewEvent
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore

from .agreements import encoded
from .harness import Context, Figure


async def replay(store: PostgresStore, *, decode: bool = True, limit: int | None = None) -> int:
    """Every event of the log (or about its first `limit`) in order, in the projector's pages, decoded."""
    to_domain = MsgspecMapper().to_domain_event
    after = count = 0
    while (limit is None or count < limit) and (records := await store.read_log(after, limit=PAGE)):
        if decode:
            for record in records:
                to_domain(record)
        after = records[-1].position
        count += len(records)
    return count


async def project(store: PostgresStore) -> int:
    """The projector, from nothing to the end of the log: the events it folded."""
    for projection in PROJECTIONS:
        await store.drop_projection(projection.name)
    projector = Projector(store, MsgspecMapper(), PROJECTIONS, poll_interval=1.0)
    while await projector.step():
        pass
    return projector.folded


async def seed(dsn: str, events: Iterator[NewEvent], count: int, chunk: int = 25_000) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        while count > 0:
            batch = list(islice(events, min(chunk, count)))
            await conn.copy_records_to_table(
                EVENTS_TABLE,
                records=[(e.originator_id, e.originator_version, e.topic, e.state) for e in batch],
                columns=["originator_id", "originator_version", "topic", "state"],
            )
            count -= len(batch)
        await conn.execute(f"VACUUM ANALYZE {EVENTS_TABLE}")
    finally:
        await conn.close()


class Rate:
    """Events over seconds, summed over rounds."""

    def __init__(self) -> None:
        self.events, self.seconds = 0, 0.0

    async def time(self, run: Awaitable[int]) -> None:
        start = time.perf_counter()
        self.events += await run
        self.seconds += time.perf_counter() - start

    @property
    def value(self) -> float:
        return self.events / self.seconds


async def run(ctx: Context) -> list[Figure]:
    sizes = [100_000] if ctx.quick else [100_000, 1_000_000]
    dsn = ctx.server.create_database("bench_rebuild")
    store = PostgresStore(dsn)
    await store.open()
    events, seeded, figures = encoded(agreements=None), 0, []
    try:
        for size in sizes:
            started = time.perf_counter()
            await seed(dsn, events, size - seeded)
            seeded = size
            ctx.say(f"seeded {size:,} events in {time.perf_counter() - started:.1f} s")
            await replay(store, decode=False)  # warm the caches
            read, decoded, projected = Rate(), Rate(), Rate()
            # Rounds in turn, so the machine's drift touches every figure alike.
            for _ in range(1 if ctx.quick or size > 100_000 else 3):
                await read.time(replay(store, decode=False))
                await decoded.time(replay(store))
                await projected.time(project(store))
                gc.collect()
            n = f"{size:,} events"
            r = Figure("rebuild", f"read log ({PAGE}/page), {n}", read.value, "events/s")
            d = Figure("rebuild", f"read + decode, {n}", decoded.value, "events/s")
            f = Figure("rebuild", f"projector: read + decode + fold + commit documents, {n}", projected.value, "events/s")
            d.against(r)
            f.against(d, 0.5).against(r)
            figures += [r, d, f]
            for fig in (r, d, f):
                ctx.say(f"{fig.name}: {fig.value:,.0f} events/s")
    finally:
        await store.close()
        ctx.server.drop_database(dsn)
    return figures
