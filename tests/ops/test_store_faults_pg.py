"""Deterministic reproductions of what the PostgreSQL restart test meets by chance.

When PostgreSQL shuts down (or terminates a backend), each pooled connection
receives a FATAL error and then end-of-file. A query issued on that connection
after asyncpg has read the FATAL but before it has seen the end-of-file fails
with `asyncpg.InternalClientError` ("cannot switch to state 12; another
operation (2) is in progress"), which is not an `InterfaceError` or a
`PostgresConnectionError`. Under load this happens within a few milliseconds
of a restart, so `test_faults_pg` meets it in about half its runs; here the
loop is stepped so that it happens every time.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from service.store import StoreUnavailable
from service.store.postgres import PostgresStore
from tests.ops.conftest import FaultPostgres

pytestmark = pytest.mark.postgres


async def _break_the_pooled_connection(store: PostgresStore, dsn: str, steps: int) -> None:
    """Terminate the pool's one backend, then let the loop run `steps` passes.

    asyncpg reads the backend's FATAL on one pass and its end-of-file on a
    later one; a query issued in between meets a half-broken connection.
    Which pass that is depends on the loop, so callers try several.
    """
    pid = await store.pool.fetchval("SELECT pg_backend_pid()")
    with psycopg.connect(dsn, autocommit=True) as admin:  # blocks the loop: asyncpg reads nothing meanwhile
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)  # the FATAL and the end-of-file are now both waiting in the socket
    for _ in range(steps):
        await asyncio.sleep(0)


async def test_a_connection_broken_by_a_shutdown_is_unavailable(running_pg: FaultPostgres) -> None:
    dsn = running_pg.database()
    outcomes = []
    for steps in range(8):
        store = PostgresStore(dsn, min_pool=1, max_pool=1)
        await store.open()
        try:
            await _break_the_pooled_connection(store, dsn, steps)
            try:
                await store.max_position()
                outcomes.append("answered")
            except StoreUnavailable:
                outcomes.append("StoreUnavailable")
            except Exception as error:  # noqa: BLE001 - what the test is about
                outcomes.append(f"{type(error).__module__}.{type(error).__name__}: {error}")
            assert await store.max_position() == 0, "the pool did not recover by itself"
        finally:
            await store.close()
    assert set(outcomes) <= {"answered", "StoreUnavailable"}, outcomes


async def test_the_log_follower_survives_a_broken_connection(
    running_pg: FaultPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import asyncpg

    from service.store import NewEvent

    dsn = running_pg.database()
    store = PostgresStore(dsn, poll_interval=0.1)
    writer = PostgresStore(dsn)
    await store.open()
    await writer.open()
    subscription = store.subscribe(0)
    try:
        await writer.append([NewEvent(uuid.uuid4(), 1, "tests:Thing", b"{}")])
        assert (await asyncio.wait_for(anext(subscription), 5)).position == 1

        # The follower's next read meets what a query on a connection half-broken by a shutdown gets.
        class OnceBroken:
            def __init__(self, pool: asyncpg.Pool) -> None:
                self.pool, self.broken = pool, False

            async def fetch(self, *args: object, **kwargs: object) -> object:
                if not self.broken:
                    self.broken = True
                    raise asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
                return await self.pool.fetch(*args, **kwargs)

            def __getattr__(self, name: str) -> object:
                return getattr(self.pool, name)

        monkeypatch.setattr(store, "_pool", OnceBroken(store.pool))
        await writer.append([NewEvent(uuid.uuid4(), 1, "tests:Thing", b"{}")])
        assert (await asyncio.wait_for(anext(subscription), 10)).position == 2
    finally:
        await subscription.aclose()
        await writer.close()
        await store.close()
