"""Rebuild: folding the service's read models from the whole log, against reading (and decoding) it alone.

`replay` is the rebuild loop: page through `PostgresStore.read_log`, decode
each record with the msgspec mapper, fold it. The fold is what the service
really does for every event, at start (the follower in service/application.py)
and in `accord rebuild` (service/maintenance.py): `ReadModels.apply` (the
aggregates' replicas, each agreement's timeline, memberships, the indexes
the policy needs), moving what is folded out of the cyclic collector's sight
with `gc.freeze()` every 5,000 events as the follower does. The log is seeded
with COPY from agreement histories the domain produces (bench/agreements.py).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Iterator
from itertools import islice

import asyncpg

from service.readmodels import ReadModels
from service.store.base import EVENTS_TABLE, NewEvent
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore

from . import before, procs
from .agreements import encoded
from .harness import Compare, Context, Figure

PAGE = 1000
TARGET_RATE = 100_000.0

Fold = Callable[[object, int], None]


#: As the follower does while catching up (service/application.py, CATCH_UP_FREEZE).
FREEZE_EVERY = 5000


async def replay(
    store: PostgresStore, fold: Fold | None = None, *, decode: bool = True, limit: int | None = None
) -> int:
    """Every event of the log (or about its first `limit`) in order, decoded and given to `fold(event, position)`.

    With a fold, what is folded is moved out of the cyclic collector's sight
    every FREEZE_EVERY events (`gc.freeze()`), as the service does: the read
    models only grow, and each full collection would walk all of them again.
    """
    to_domain = MsgspecMapper().to_domain_event
    after = count = 0
    try:
        while (limit is None or count < limit) and (records := await store.read_log(after, limit=PAGE)):
            if decode:
                for record in records:
                    event = to_domain(record)
                    if fold is not None:
                        fold(event, record.position)
            after = records[-1].position
            if fold is not None and (count + len(records)) // FREEZE_EVERY > count // FREEZE_EVERY:
                gc.freeze()
            count += len(records)
    finally:
        if fold is not None:
            gc.unfreeze()
    return count


def read_models() -> Fold:
    """A fresh ReadModels' fold: the service's own, event by event."""
    return ReadModels().apply


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
            read, decoded, folded = Rate(), Rate(), Rate()
            # Rounds in turn, so the machine's drift touches every figure alike.
            for _ in range(1 if ctx.quick or size > 100_000 else 3):
                await read.time(replay(store, decode=False))
                await decoded.time(replay(store))
                await folded.time(replay(store, read_models()))
                gc.collect()
            n = f"{size:,} events"
            r = Figure("rebuild", f"read log ({PAGE}/page), {n}", read.value, "events/s")
            d = Figure("rebuild", f"read + decode, {n}", decoded.value, "events/s")
            f = Figure("rebuild", f"rebuild ReadModels (read + decode + ReadModels.apply), {n}", folded.value, "events/s")
            d.against(r)
            f.against(d, 0.5).against(r)
            f.vs.append(Compare("the issue's floor", TARGET_RATE, 1.0))
            figures += [r, d, f]
            for fig in (r, d, f):
                ctx.say(f"{fig.name}: {fig.value:,.0f} events/s")
            if (tree := before.overlay(ctx)) is not None:
                # Both folds in fresh processes of their own, in turn, on this log.
                rounds = 1 if ctx.quick or size > 100_000 else 2
                now, old = Rate(), Rate()
                parts: dict[str, list[dict]] = {"now": [], "before": []}
                for _ in range(rounds):
                    for rate, where, key in ((now, None, "now"), (old, tree, "before")):
                        got = await procs.child("bench.foldrate", {"dsn": dsn, "rounds": 1}, 900, tree=where)
                        rate.events += got["events"]
                        rate.seconds += got["seconds"]
                        parts[key].append(got)
                fn = Figure("rebuild", f"rebuild ReadModels, a process of its own, {n}", now.value, "events/s")
                fo = Figure("rebuild", f"before: rebuild ReadModels, a process of its own, {n}", old.value, "events/s")
                fn.against(fo).against(d, 0.5)
                figures += [fn, fo]
                if size == sizes[0]:
                    for part, label in (("decode_us", "decoding alone"), ("fold_us", "ReadModels.apply alone")):
                        best_now = min(g[part] for g in parts["now"])
                        best_old = min(g[part] for g in parts["before"])
                        pn = Figure("rebuild", f"{label}, in memory, per event", best_now, "µs")
                        po = Figure("rebuild", f"before: {label}, in memory, per event", best_old, "µs")
                        pn.against(po)
                        figures += [pn, po]
                ctx.say(f"rebuild in a process of its own, {n}: now {now.value:,.0f}/s, before {old.value:,.0f}/s")
    finally:
        await store.close()
        ctx.server.drop_database(dsn)
    return figures
