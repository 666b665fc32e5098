"""`accord migrate` and `accord rebuild`."""

from __future__ import annotations

import gc
import sys
import time

from service.readmodels import ReadModels
from service.settings import Settings
from service.store import connect
from service.store.mapper import MsgspecMapper

PAGE = 5000


async def migrate(settings: Settings) -> int:
    """Create or upgrade the schema; safe to run again and alongside running services."""
    store = connect(settings.database_url)
    await store.open()
    try:
        print(f"schema ready on {store.kind}; log position {await store.max_position()}")
    finally:
        await store.close()
    return 0


async def rebuild(settings: Settings, out=sys.stderr) -> int:  # noqa: ANN001 - a text stream
    """Replay the whole log through the read models every process keeps.

    The service rebuilds them in memory at start; this does the same work
    offline, shows progress, and fails loudly on an event that does not fold.
    """
    store = connect(settings.database_url)
    await store.open()
    mapper = MsgspecMapper()
    models = ReadModels()
    try:
        total = await store.max_position()
        position = done = 0
        started = time.perf_counter()
        while True:
            page = await store.read_log(position, limit=PAGE)
            if not page:
                break
            for stored in page:
                models.apply(mapper.to_domain_event(stored), stored.position)
            # What is folded stays: spare the cyclic collector from walking it again.
            gc.freeze()
            position = page[-1].position
            done += len(page)
            _progress(out, done, position, total, time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        out.write("\n")
        rate = done / elapsed if elapsed else 0.0
        print(
            f"rebuilt from {done} events in {elapsed:.2f} s ({rate:,.0f} events/s): "
            f"{len(models.agreements)} agreements, {len(models.links)} partner links, "
            f"{len(models.grants)} sharing grants"
        )
    finally:
        await store.close()
    return 0


def _progress(out, done: int, position: int, total: int, elapsed: float) -> None:  # noqa: ANN001
    width = 30
    filled = width if total == 0 else min(width, width * position // total)
    bar = "#" * filled + "-" * (width - filled)
    out.write(f"\r[{bar}] {position}/{total} positions, {done} events, {elapsed:.1f} s")
    out.flush()
