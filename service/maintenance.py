"""`accord migrate`, `accord rebuild` and the master key's commands."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import TextIO

from service.crypto import Keyring, master_keys
from service.read.projector import BUILDING, PROJECTIONS, Projector, building
from service.settings import Settings
from service.store import EventStore, connect
from service.store.base import ProjectionCommit
from service.store.mapper import MsgspecMapper
from service.store.sealed import SealedStore


def keyring(settings: Settings, store: EventStore) -> Keyring:
    return Keyring(store, master_keys(settings, store), settings.cache_size)


async def check_master_key(settings: Settings) -> None:
    """Raise a clear error (service.crypto.KeysError) unless the master key opens this database's keys."""
    store = connect(settings.database_url)
    await store.open()
    try:
        await keyring(settings, store).check()
    finally:
        await store.close()


async def rotate_master_key(settings: Settings) -> int:
    """Rewrap every data key under ACCORD_MASTER_KEY, opening each with it or ACCORD_PREVIOUS_MASTER_KEYS."""
    store = connect(settings.database_url)
    await store.open()
    try:
        done = await keyring(settings, store).rotate()
    finally:
        await store.close()
    print(f"rewrapped {done} data keys under the current master key; no event was touched")
    return 0


async def migrate(settings: Settings) -> int:
    """Create or upgrade the schema; safe to run again and alongside running services."""
    store = connect(settings.database_url)
    await store.open()
    try:
        print(f"schema ready on {store.kind}; log position {await store.max_position()}")
    finally:
        await store.close()
    return 0


async def rebuild(settings: Settings, names: list[str] | None = None, out: TextIO = sys.stderr) -> int:
    """Rebuild projections from the log beside the live ones, and switch each in once it has caught up.

    Services keep answering from the live documents meanwhile. The leading
    process folds the build between its live pages; if no process leads (no
    service is running), this one leads until the builds are switched in.
    """
    known = {p.name for p in PROJECTIONS}
    wanted = names or sorted(known)
    if unknown := sorted(set(wanted) - known):
        print(f"no projection named {', '.join(unknown)}; projections: {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    raw = connect(settings.database_url, poll_interval=settings.poll_interval)
    await raw.open()
    # The projector reads events as services do: opened with their keys.
    store = SealedStore(raw, keyring(settings, raw))
    leading: asyncio.Task[None] | None = None
    try:
        for name in wanted:
            await store.drop_projection(building(name))
            await store.commit_projections([ProjectionCommit(name=building(name), after=0, position=0, documents={})])
        leading = asyncio.create_task(_lead(store, settings))
        started = time.perf_counter()
        while True:
            positions = await store.projection_positions()
            pending = [n for n in wanted if building(n) in positions]
            total = await store.max_position()
            done = min((positions[building(n)] for n in pending), default=total)
            _progress(out, pending, done, total, time.perf_counter() - started)
            if not pending:
                break
            if leading.done():
                leading.result()  # it failed: say why
            await asyncio.sleep(0.2)
        out.write("\n")
        print(f"rebuilt and switched in: {', '.join(wanted)} ({time.perf_counter() - started:.1f} s)")
    finally:
        if leading is not None:
            leading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leading
        await store.close()
    return 0


async def _lead(store, settings: Settings) -> None:  # noqa: ANN001 - an EventStore
    """Project here when no service leads; a service that leads does it between its own pages."""
    leadership = store.leadership()
    await leadership.acquire()
    try:
        projector = Projector(store, MsgspecMapper(), PROJECTIONS, settings.poll_interval)
        await projector.run(leadership.lost)
    finally:
        await leadership.release()


def _progress(out: TextIO, pending: list[str], position: int, total: int, elapsed: float) -> None:
    width = 30
    filled = width if total == 0 or not pending else min(width, width * position // total)
    bar = "#" * filled + "-" * (width - filled)
    what = ", ".join(pending) or "done"
    out.write(f"\r[{bar}] {position}/{total} positions ({what}{BUILDING if pending else ''}), {elapsed:.1f} s")
    out.flush()
