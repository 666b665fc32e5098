"""Rebuild: folding the projections from the whole log, against reading (and decoding) it alone.

`replay` is the rebuild loop: page through `PostgresStore.read_log`, decode
each record with the msgspec mapper, fold it. (When the service gets its own
`accord rebuild`, this section should time that instead.) The log is seeded
with COPY from agreement histories the domain produces (bench/agreements.py).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Iterator
from itertools import islice
from uuid import UUID

import asyncpg

from projections import memberships, timeline
from service.store.base import EVENTS_TABLE, NewEvent
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore

from .agreements import encoded
from .harness import Compare, Context, Figure

PAGE = 1000
TARGET_RATE = 100_000.0

Fold = Callable[[object, int], None]


async def replay(
    store: PostgresStore, fold: Fold | None = None, *, decode: bool = True, pause_gc: bool = False
) -> int:
    """Every event of the log in order, decoded and given to `fold(event, position)`.

    With `pause_gc`, Python's cyclic garbage collector is off during the
    replay: the projections' state only grows, so each full collection walks
    all of it again for nothing (reference counting still frees what is dropped).
    """
    to_domain = MsgspecMapper().to_domain_event
    after = count = 0
    was_enabled = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        while records := await store.read_log(after, limit=PAGE):
            if decode:
                for record in records:
                    event = to_domain(record)
                    if fold is not None:
                        fold(event, record.position)
            after = records[-1].position
            count += len(records)
    finally:
        if was_enabled:
            gc.enable()
    return count


class Projections:
    """The service's read models, folded per event: memberships and one timeline per agreement."""

    def __init__(self) -> None:
        self.memberships = memberships.Memberships()
        self.timelines: dict[UUID, timeline.Timeline] = {}

    def fold(self, event: object, position: int) -> None:
        memberships.evolve(self.memberships, event)
        agreement_id = event.originator_id  # type: ignore[attr-defined]
        state = self.timelines.get(agreement_id) or timeline.Timeline()
        self.timelines[agreement_id] = timeline.evolve(state, event, position)


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
            read, decoded, folded, paused = Rate(), Rate(), Rate(), Rate()
            # Rounds in turn, so the machine's drift touches every figure alike.
            for _ in range(1 if ctx.quick or size > 100_000 else 3):
                await read.time(replay(store, decode=False))
                await decoded.time(replay(store))
                await folded.time(replay(store, Projections().fold))
                gc.collect()
                await paused.time(replay(store, Projections().fold, pause_gc=True))
                gc.collect()
            n = f"{size:,} events"
            r = Figure("rebuild", f"read log ({PAGE}/page), {n}", read.value, "events/s")
            d = Figure("rebuild", f"read + decode, {n}", decoded.value, "events/s")
            f = Figure("rebuild", f"rebuild projections (read + decode + fold), {n}", folded.value, "events/s")
            p = Figure("rebuild", f"rebuild projections, cyclic GC paused, {n}", paused.value, "events/s")
            d.against(r)
            f.against(d, 0.5).against(r)
            f.vs.append(Compare("the issue's floor", TARGET_RATE, 1.0))
            p.against(d, 0.5).against(f)
            p.vs.append(Compare("the issue's floor", TARGET_RATE, 1.0))
            figures += [r, d, f, p]
            for fig in (r, d, f, p):
                ctx.say(f"{fig.name}: {fig.value:,.0f} events/s")
    finally:
        await store.close()
        ctx.server.drop_database(dsn)
    return figures
