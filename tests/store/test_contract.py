"""The event store contract, run against every store (SQLite and PostgreSQL).

Everything here goes through the `EventStore` interface (service/store/base.py)
against a real database; the only direct database access is to check that the
database itself refuses UPDATE and DELETE, and to kill connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from uuid import UUID, uuid4

import pytest

from service.store import connect
from service.store.base import (
    EVENTS_TABLE,
    Appended,
    ConflictError,
    EventStore,
    NewEvent,
    StoredEvent,
    StoreUnavailable,
)

#: Upper bound for anything that should happen "soon" (live delivery etc.).
#: Generous so a slow CI box does not flake; a broken store still fails.
WAIT = 15.0


def ev(stream: UUID, version: int, topic: str = "Test.Event", state: bytes | None = None) -> NewEvent:
    if state is None:
        state = f'{{"v":{version}}}'.encode()
    return NewEvent(originator_id=stream, originator_version=version, topic=topic, state=state)


def sqlite_file(url: str) -> str:
    assert url.startswith("sqlite:///"), url
    return url[len("sqlite:///") :]


def assert_same_event(stored: StoredEvent, new: NewEvent, position: int | None = None) -> None:
    assert isinstance(stored.originator_id, UUID)
    assert stored.originator_id == new.originator_id
    assert stored.originator_version == new.originator_version
    assert stored.topic == new.topic
    assert isinstance(stored.state, bytes)
    assert stored.state == new.state
    if position is not None:
        assert stored.position == position


class Tail:
    """Consumes `store.subscribe(after)` in a background task."""

    def __init__(self, store: EventStore, after: int = 0) -> None:
        self.iterator: AsyncIterator[StoredEvent] = store.subscribe(after)
        self.events: list[StoredEvent] = []
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for event in self.iterator:
                self.events.append(event)
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # surfaced by wait_for
            self.error = error
            self._changed.set()
            raise

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[StoredEvent]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            if self.error is not None:
                raise AssertionError(f"subscription failed: {self.error!r}") from self.error
            if self.task.done():
                raise AssertionError(f"subscription ended after {len(self.events)} events")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"subscription delivered {len(self.events)} of {count} events within "
                    f"{timeout}s; last position {self.events[-1].position if self.events else None}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        return list(self.events)

    async def wait_for_position(self, position: int, timeout: float = WAIT) -> list[StoredEvent]:
        deadline = time.monotonic() + timeout
        while not self.events or self.events[-1].position < position:
            await self.wait_for(len(self.events) + 1, timeout=max(0.01, deadline - time.monotonic()))
        return list(self.events)

    async def close(self) -> None:
        # A subscription must stop when its consumer is cancelled. Never wait
        # for that unboundedly: a swallowed cancellation (e.g. asyncio.wait_for
        # in Python < 3.12 racing a wake-up) would otherwise hang the suite.
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=5.0)
        if not done:
            for _ in range(50):
                self.task.cancel()
                done, _ = await asyncio.wait({self.task}, timeout=0.1)
                if done:
                    break
            raise AssertionError(
                "the subscription did not stop within 5 s of its consumer being cancelled"
                + ("" if done else " (and ignored 50 further cancellations)")
            )
        aclose = getattr(self.iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def assert_exactly_once_in_order(received: Sequence[StoredEvent], expected_positions: Sequence[int]) -> None:
    got = [e.position for e in received]
    assert got == sorted(got) and len(set(got)) == len(got), (
        f"subscription out of order or repeated: {_first_disorder(got)}"
    )
    expected = sorted(expected_positions)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing, f"subscription skipped {len(missing)} events, e.g. positions {missing[:10]}"
    assert not extra, f"subscription delivered unexpected positions {extra[:10]}"
    assert got == expected


def _first_disorder(positions: Sequence[int]) -> str:
    for i in range(1, len(positions)):
        if positions[i] <= positions[i - 1]:
            return f"position {positions[i]} after {positions[i - 1]} at index {i}"
    return "none"


# --------------------------------------------------------------------------
# Append and read
# --------------------------------------------------------------------------


async def test_empty_log(store: EventStore) -> None:
    assert await store.max_position() == 0
    assert await store.read_log() == []
    assert await store.read_log(0, limit=10, topics=["x"]) == []
    assert await store.read_stream(uuid4()) == []
    assert await store.read_stream(uuid4(), desc=True, limit=1) == []


async def test_kind(store: EventStore, store_url: str) -> None:
    assert store.kind == ("sqlite" if store_url.startswith("sqlite") else "postgresql")


async def test_append_returns_positions_in_order(store: EventStore) -> None:
    a, b = uuid4(), uuid4()
    batch1 = [ev(a, 1), ev(a, 2), ev(b, 1)]
    first = await store.append(batch1)
    assert isinstance(first, Appended)
    assert first.repeated is False
    assert first.result == b""
    assert len(first.positions) == 3
    assert all(p > 0 for p in first.positions)
    assert first.positions == sorted(first.positions)
    assert len(set(first.positions)) == 3
    assert first.last_position == first.positions[-1]

    batch2 = [ev(b, 2)]
    second = await store.append(batch2)
    assert len(second.positions) == 1
    assert second.positions[0] > first.positions[-1]

    third = await store.append([ev(a, 3)])
    assert third.positions[0] > second.positions[0]

    assert await store.max_position() == third.positions[0]

    log = await store.read_log()
    assert [e.position for e in log] == first.positions + second.positions + third.positions
    for stored, new in zip(log, [*batch1, *batch2, ev(a, 3)], strict=True):
        assert_same_event(stored, new)


async def test_state_bytes_round_trip_exactly(store: EventStore) -> None:
    stream = uuid4()
    states = [b"", b"\x00\x01\xff\xfe binary \x00", "héllo ✓".encode(), bytes(range(256)) * 40]
    appended = await store.append([ev(stream, i + 1, state=s) for i, s in enumerate(states)])
    got = await store.read_stream(stream)
    assert [e.state for e in got] == states
    assert [e.position for e in got] == appended.positions
    assert all(isinstance(e.state, bytes) for e in got)


async def test_read_stream(store: EventStore) -> None:
    stream, other = uuid4(), uuid4()
    positions: dict[int, int] = {}
    for version in range(1, 6):
        appended = await store.append([ev(stream, version), ev(other, version, topic="Other")])
        positions[version] = appended.positions[0]

    def versions(events: list[StoredEvent]) -> list[int]:
        assert all(e.originator_id == stream for e in events)
        return [e.originator_version for e in events]

    everything = await store.read_stream(stream)
    assert versions(everything) == [1, 2, 3, 4, 5]
    assert [e.position for e in everything] == [positions[v] for v in range(1, 6)]
    for e in everything:
        assert_same_event(e, ev(stream, e.originator_version), positions[e.originator_version])

    assert versions(await store.read_stream(stream, gt=2)) == [3, 4, 5]
    assert versions(await store.read_stream(stream, lte=3)) == [1, 2, 3]
    assert versions(await store.read_stream(stream, gt=1, lte=4)) == [2, 3, 4]
    assert versions(await store.read_stream(stream, gt=5)) == []
    assert versions(await store.read_stream(stream, lte=0)) == []
    assert versions(await store.read_stream(stream, gt=3, lte=3)) == []
    assert versions(await store.read_stream(stream, desc=True)) == [5, 4, 3, 2, 1]
    assert versions(await store.read_stream(stream, limit=2)) == [1, 2]
    assert versions(await store.read_stream(stream, desc=True, limit=1)) == [5]
    # The last one at or before a version (snapshot lookup).
    assert versions(await store.read_stream(stream, lte=3, desc=True, limit=1)) == [3]
    assert versions(await store.read_stream(stream, gt=1, desc=True, limit=2)) == [5, 4]
    assert versions(await store.read_stream(stream, gt=1, lte=4, desc=True)) == [4, 3, 2]
    assert versions(await store.read_stream(stream, gt=2, limit=2)) == [3, 4]
    assert await store.read_stream(uuid4()) == []
    assert [e.topic for e in await store.read_stream(other)] == ["Other"] * 5


async def test_read_log(store: EventStore) -> None:
    s1, s2 = uuid4(), uuid4()
    a = await store.append([ev(s1, 1, topic="A"), ev(s1, 2, topic="B")])
    b = await store.append([ev(s2, 1, topic="C")])
    c = await store.append([ev(s1, 3, topic="A"), ev(s2, 2, topic="B"), ev(s2, 3, topic="A")])
    p = a.positions + b.positions + c.positions
    topics = ["A", "B", "C", "A", "B", "A"]

    log = await store.read_log()
    assert [e.position for e in log] == p
    assert [e.topic for e in log] == topics

    assert [e.position for e in await store.read_log(0)] == p
    assert [e.position for e in await store.read_log(p[1])] == p[2:]
    assert [e.position for e in await store.read_log(p[5])] == []
    assert [e.position for e in await store.read_log(p[5] + 1000)] == []
    assert [e.position for e in await store.read_log(limit=2)] == p[:2]
    assert [e.position for e in await store.read_log(p[2], limit=2)] == p[3:5]
    assert [e.position for e in await store.read_log(limit=1000)] == p

    only_a = await store.read_log(topics=["A"])
    assert [e.position for e in only_a] == [p[0], p[3], p[5]]
    assert all(e.topic == "A" for e in only_a)
    assert [e.position for e in await store.read_log(topics=("A", "C"))] == [p[0], p[2], p[3], p[5]]
    assert [e.position for e in await store.read_log(p[0], topics=["A"])] == [p[3], p[5]]
    assert [e.position for e in await store.read_log(0, limit=2, topics=["A"])] == [p[0], p[3]]
    assert [e.position for e in await store.read_log(p[3], limit=1, topics=["A", "B"])] == [p[4]]
    assert await store.read_log(topics=["Nope"]) == []

    # Events come back whole.
    sent = [ev(s1, 1, topic="A"), ev(s1, 2, topic="B"), ev(s2, 1, topic="C")]
    for stored, new, pos in zip(log[:3], sent, p[:3], strict=True):
        assert_same_event(stored, new, pos)

    assert await store.max_position() == p[-1]


async def test_read_log_pages_beyond_default_limit(store: EventStore) -> None:
    positions: list[int] = []
    for _ in range(3):
        stream = uuid4()
        positions += (await store.append([ev(stream, v) for v in range(1, 301)])).positions
    assert len(positions) == 900
    default = await store.read_log()
    assert [e.position for e in default] == positions[:500]
    rest = await store.read_log(default[-1].position)
    assert [e.position for e in rest] == positions[500:]


# --------------------------------------------------------------------------
# Optimistic concurrency
# --------------------------------------------------------------------------


async def test_conflict_names_stream_and_version(store: EventStore) -> None:
    stream = uuid4()
    await store.append([ev(stream, 1), ev(stream, 2)])
    before = await store.max_position()

    with pytest.raises(ConflictError) as caught:
        await store.append([ev(stream, 2, state=b"other")])
    assert caught.value.originator_id == stream
    assert caught.value.originator_version == 2
    assert str(stream) in str(caught.value)

    assert await store.max_position() == before
    assert [e.state for e in await store.read_stream(stream)] == [ev(stream, 1).state, ev(stream, 2).state]


async def test_conflict_partway_appends_nothing(store: EventStore) -> None:
    stream, fresh = uuid4(), uuid4()
    await store.append([ev(stream, 1), ev(stream, 2)])
    before = await store.read_log()

    # The first two would be fine on their own; the third clashes.
    with pytest.raises(ConflictError) as caught:
        await store.append([ev(fresh, 1), ev(stream, 3), ev(stream, 2, state=b"clash"), ev(fresh, 2)])
    assert caught.value.originator_id == stream
    assert caught.value.originator_version == 2

    assert await store.read_log() == before
    assert await store.read_stream(fresh) == []
    assert [e.originator_version for e in await store.read_stream(stream)] == [1, 2]

    # The store is still usable and the versions are still free.
    ok = await store.append([ev(fresh, 1), ev(stream, 3)])
    assert ok.positions[0] > before[-1].position
    assert [e.originator_version for e in await store.read_stream(stream)] == [1, 2, 3]


async def test_conflict_within_one_batch(store: EventStore) -> None:
    stream = uuid4()
    with pytest.raises(ConflictError) as caught:
        await store.append([ev(stream, 1), ev(stream, 2), ev(stream, 2, state=b"twice")])
    assert caught.value.originator_id == stream
    assert caught.value.originator_version == 2
    assert await store.read_stream(stream) == []
    assert await store.max_position() == 0


async def test_racing_appends_to_one_version_one_wins(store: EventStore) -> None:
    stream = uuid4()
    await store.append([ev(stream, 1)])
    results = await asyncio.gather(
        *(store.append([ev(stream, 2, state=f"writer {i}".encode())]) for i in range(6)),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, Appended)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(wins) == 1, results
    assert len(conflicts) == 5, results
    assert all(c.originator_id == stream and c.originator_version == 2 for c in conflicts)
    events = await store.read_stream(stream)
    assert [e.originator_version for e in events] == [1, 2]
    assert events[1].position == wins[0].positions[0]


# --------------------------------------------------------------------------
# Idempotent commands
# --------------------------------------------------------------------------


async def test_repeated_command_returns_first_result_and_appends_nothing(store: EventStore) -> None:
    stream = uuid4()
    events = [ev(stream, 1), ev(stream, 2)]
    first = await store.append(events, command_id="cmd-1", result=b'{"ok":1}')
    assert first.repeated is False
    assert first.result == b'{"ok":1}'
    assert len(first.positions) == 2
    before = await store.read_log()

    # The same command again (as after a timeout with an unknown outcome):
    # the same events would conflict, but a repeat must not raise.
    again = await store.append(events, command_id="cmd-1", result=b'{"ok":2}')
    assert again.repeated is True
    assert again.positions == first.positions
    assert again.result == b'{"ok":1}'
    assert again.last_position == first.last_position

    # Even with different events (a retried command that was re-derived):
    # the first outcome stands and nothing is appended.
    other = uuid4()
    third = await store.append([ev(other, 1)], command_id="cmd-1", result=b"x")
    assert third.repeated is True
    assert third.positions == first.positions
    assert third.result == b'{"ok":1}'

    assert await store.read_log() == before
    assert await store.read_stream(other) == []

    # Other command ids are independent.
    fresh = await store.append([ev(stream, 3)], command_id="cmd-2", result=b"two")
    assert fresh.repeated is False
    assert fresh.result == b"two"
    assert fresh.positions[0] > first.positions[-1]


async def test_command_without_events_records_its_result(store: EventStore) -> None:
    first = await store.append([], command_id="noop-1", result=b"nothing to do")
    assert first.positions == []
    assert first.last_position == 0
    assert first.result == b"nothing to do"
    assert first.repeated is False
    assert await store.max_position() == 0

    again = await store.append([], command_id="noop-1", result=b"different")
    assert again.repeated is True
    assert again.positions == []
    assert again.result == b"nothing to do"

    # A repeat that now carries events still returns the first outcome.
    stream = uuid4()
    third = await store.append([ev(stream, 1)], command_id="noop-1", result=b"x")
    assert third.repeated is True
    assert third.positions == []
    assert third.result == b"nothing to do"
    assert await store.max_position() == 0


async def test_recorded_returns_first_outcome(store: EventStore) -> None:
    assert await store.recorded("never-seen") is None
    stream = uuid4()
    first = await store.append([ev(stream, 1)], command_id="rec-1", result=b"R")
    seen = await store.recorded("rec-1")
    assert seen is not None
    assert seen.positions == first.positions
    assert seen.result == b"R"
    empty = await store.append([], command_id="rec-2", result=b"E")
    seen_empty = await store.recorded("rec-2")
    assert seen_empty is not None and seen_empty.positions == empty.positions == []
    assert seen_empty.result == b"E"
    assert await store.recorded("rec-3") is None


async def test_failed_command_is_not_recorded(store: EventStore) -> None:
    stream = uuid4()
    await store.append([ev(stream, 1)])
    with pytest.raises(ConflictError):
        await store.append([ev(stream, 1)], command_id="cmd-fail", result=b"first try")
    # The conflict left no record: the same id may now succeed.
    assert await store.recorded("cmd-fail") is None
    ok = await store.append([ev(stream, 2)], command_id="cmd-fail", result=b"second try")
    assert ok.repeated is False
    assert ok.result == b"second try"
    assert len(ok.positions) == 1


async def test_concurrent_repeats_append_once(store: EventStore) -> None:
    stream = uuid4()
    events = [ev(stream, 1), ev(stream, 2), ev(stream, 3)]
    results = await asyncio.gather(
        *(store.append(events, command_id="same-command", result=b"r") for _ in range(10)),
        return_exceptions=True,
    )
    errors = [r for r in results if not isinstance(r, Appended)]
    assert not errors, errors
    appended = [r for r in results if isinstance(r, Appended)]
    assert len({tuple(r.positions) for r in appended}) == 1, appended
    assert sum(not r.repeated for r in appended) == 1, appended
    assert all(r.result == b"r" for r in appended)
    log = await store.read_log()
    assert [e.position for e in log] == appended[0].positions
    assert [e.originator_version for e in log] == [1, 2, 3]


# --------------------------------------------------------------------------
# Append-only is enforced by the database
# --------------------------------------------------------------------------


async def test_database_refuses_update_and_delete(store: EventStore, store_url: str) -> None:
    stream = uuid4()
    await store.append([ev(stream, 1), ev(stream, 2)])
    before = await store.read_log()

    if store.kind == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(store_url)
        try:
            statements = [
                f"UPDATE {EVENTS_TABLE} SET state = 'tampered'::bytea",
                f"UPDATE {EVENTS_TABLE} SET topic = 'x' WHERE originator_version = 2",
                f"DELETE FROM {EVENTS_TABLE}",
                f"DELETE FROM {EVENTS_TABLE} WHERE originator_version = 1",
                f"TRUNCATE {EVENTS_TABLE}",
            ]
            for statement in statements:
                with pytest.raises(asyncpg.PostgresError) as caught:
                    await conn.execute(statement)
                assert not isinstance(
                    caught.value, (asyncpg.LockNotAvailableError, asyncpg.QueryCanceledError)
                ), f"{statement!r} failed for the wrong reason: {caught.value!r}"
            count = await conn.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}")
            assert count == 2
        finally:
            await conn.close()
    else:
        conn = sqlite3.connect(sqlite_file(store_url), timeout=10, isolation_level=None)
        try:
            for statement in [
                f"UPDATE {EVENTS_TABLE} SET state = x'00'",
                f"UPDATE {EVENTS_TABLE} SET topic = 'x' WHERE originator_version = 2",
                f"DELETE FROM {EVENTS_TABLE}",
                f"DELETE FROM {EVENTS_TABLE} WHERE originator_version = 1",
            ]:
                with pytest.raises(sqlite3.DatabaseError) as caught:
                    conn.execute(statement)
                assert "locked" not in str(caught.value).lower(), (
                    f"{statement!r} failed for the wrong reason: {caught.value!r}"
                )
            assert conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0] == 2
        finally:
            conn.close()

    assert await store.read_log() == before
    # Appends still work after the refused statements.
    ok = await store.append([ev(stream, 3)])
    assert ok.positions[0] > before[-1].position


# --------------------------------------------------------------------------
# Schema set-up
# --------------------------------------------------------------------------


async def test_open_is_idempotent_and_sees_existing_log(store: EventStore, store_url: str) -> None:
    stream = uuid4()
    first = await store.append([ev(stream, 1), ev(stream, 2)], command_id="c", result=b"r")
    second_store = connect(store_url)
    await second_store.open()
    try:
        assert await second_store.max_position() == first.positions[-1]
        assert [e.position for e in await second_store.read_stream(stream)] == first.positions
        repeat = await second_store.append([ev(stream, 1)], command_id="c")
        assert repeat.repeated and repeat.positions == first.positions and repeat.result == b"r"
        more = await second_store.append([ev(stream, 3)])
    finally:
        await second_store.close()
    # The first store sees what the second wrote.
    assert [e.position for e in await store.read_stream(stream)] == first.positions + more.positions


async def test_sqlite_persists_across_close_and_reopen(tmp_path) -> None:
    url = f"sqlite:///{tmp_path.resolve() / 'persist.db'}"
    stream, other = uuid4(), uuid4()
    s = connect(url)
    await s.open()
    try:
        assert s.kind == "sqlite"
        first = await s.append([ev(stream, 1), ev(stream, 2)], command_id="persist-1", result=b"res")
        second = await s.append([ev(other, 1, topic="Other")])
        log_before = await s.read_log()
    finally:
        await s.close()

    s = connect(url)
    await s.open()
    try:
        assert await s.read_log() == log_before
        assert await s.max_position() == second.positions[-1]
        assert [e.position for e in await s.read_stream(stream)] == first.positions
        # Versions, command ids and positions survive the reopen.
        with pytest.raises(ConflictError):
            await s.append([ev(stream, 2)])
        repeat = await s.append([ev(stream, 3)], command_id="persist-1")
        assert repeat.repeated and repeat.positions == first.positions and repeat.result == b"res"
        later = await s.append([ev(stream, 3)])
        assert later.positions[0] > second.positions[-1]
    finally:
        await s.close()

    s = connect(url)
    await s.open()
    try:
        assert len(await s.read_log()) == 4
    finally:
        await s.close()


# --------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------


async def test_subscribe_catches_up_then_goes_live(store: EventStore) -> None:
    s1, s2 = uuid4(), uuid4()
    sent = [ev(s1, 1), ev(s1, 2), ev(s2, 1, topic="B"), ev(s1, 3), ev(s2, 2, topic="B")]
    positions: list[int] = []
    for e in sent:
        positions += (await store.append([e])).positions

    tail = Tail(store, after=positions[1])
    try:
        got = await tail.wait_for(3)
        for stored, new, pos in zip(got, sent[2:], positions[2:], strict=True):
            assert_same_event(stored, new, pos)

        live1 = await store.append([ev(s1, 4)])
        live2 = await store.append([ev(s2, 3), ev(s2, 4), ev(s1, 5)])
        got = await tail.wait_for(3 + 4)
        # One more, to be sure nothing was repeated before it.
        sentinel = await store.append([ev(uuid4(), 1, topic="Sentinel")])
        got = await tail.wait_for_position(sentinel.positions[0])
        assert_exactly_once_in_order(
            got, positions[2:] + live1.positions + live2.positions + sentinel.positions
        )
        assert [e.originator_version for e in got[3:7]] == [4, 3, 4, 5]
    finally:
        await tail.close()

    # From the very beginning, and from the end.
    everything = Tail(store, after=0)
    from_end = Tail(store, after=await store.max_position())
    try:
        total = await store.max_position()
        got_all = await everything.wait_for_position(total)
        assert [e.position for e in got_all] == [e.position for e in await store.read_log(limit=100)]
        late = await store.append([ev(uuid4(), 1)])
        got_end = await from_end.wait_for(1)
        assert [e.position for e in got_end] == late.positions
    finally:
        await everything.close()
        await from_end.close()


async def test_subscribe_catches_up_across_pages(store: EventStore) -> None:
    positions: list[int] = []
    for _ in range(4):
        stream = uuid4()
        positions += (await store.append([ev(stream, v) for v in range(1, 301)])).positions
    tail = Tail(store, after=positions[10])
    try:
        got = await tail.wait_for(len(positions) - 11)
        live = await store.append([ev(uuid4(), 1)])
        got = await tail.wait_for_position(live.positions[0])
        assert_exactly_once_in_order(got, positions[11:] + live.positions)
    finally:
        await tail.close()


async def test_subscription_stops_when_cancelled_just_after_a_wakeup(store: EventStore) -> None:
    """Cancelling a consumer while a wake-up is in flight must still stop it.

    (`asyncio.wait_for` before Python 3.12 swallows a cancellation that races
    the awaited event; a follower built on it then runs on forever.)
    """
    stream = uuid4()
    version = 0
    for _ in range(15):
        tail = Tail(store, after=await store.max_position())
        version += 1
        await store.append([ev(stream, version)])
        await tail.wait_for(1)
        await asyncio.sleep(0.01)  # let it go back to waiting for a wake-up
        version += 1
        await store.append([ev(stream, version)])
        await tail.close()  # raises if the subscription ignores the cancellation
        assert tail.task.done()


async def test_concurrent_writers_with_tailing_subscriber(store: EventStore) -> None:
    """8 writers append small batches while a subscriber tails the log.

    The subscriber must see every event exactly once, in position order, with
    nothing skipped: an event that commits late with a lower position than
    one already seen would be skipped forever.
    """
    writers = 8
    appends_per_writer = 34  # batches of 1 or 2 events: ~400 events per round
    rounds = 5

    async def writer(stream: UUID) -> list[int]:
        positions: list[int] = []
        version = 0
        for i in range(appends_per_writer):
            size = 1 + (i % 2)
            batch = [ev(stream, version + k + 1, topic=f"W{i % 3}") for k in range(size)]
            version += size
            appended = await store.append(batch)
            assert len(appended.positions) == size
            positions += appended.positions
            if i % 5 == 0:
                await asyncio.sleep(0)
        return positions

    for round_no in range(rounds):
        start = await store.max_position()
        tail = Tail(store, after=start)
        try:
            # Let the subscriber reach its live state before anything is written.
            await asyncio.sleep(0.05)
            streams = [uuid4() for _ in range(writers)]
            results = await asyncio.gather(*(writer(s) for s in streams))
            written = sorted(p for r in results for p in r)
            assert len(written) == writers * (appends_per_writer + appends_per_writer // 2)
            # Per stream, positions follow versions.
            for r in results:
                assert r == sorted(r)
            sentinel = await store.append([ev(uuid4(), 1, topic="Sentinel")])
            got = await tail.wait_for_position(sentinel.positions[0])
            assert_exactly_once_in_order(got, written + sentinel.positions), f"round {round_no}"
            for stream in streams:
                mine = [e.originator_version for e in got if e.originator_id == stream]
                assert mine == list(range(1, len(mine) + 1))
            assert [e.position for e in await store.read_log(start, limit=10_000)] == [
                e.position for e in got
            ]
        finally:
            await tail.close()


# --------------------------------------------------------------------------
# PostgreSQL only
# --------------------------------------------------------------------------


async def _terminate_other_backends(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid, query, pg_terminate_backend(pid) AS killed FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sum(1 for r in rows if r["killed"])
    finally:
        await conn.close()


async def _listen_backends(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query ILIKE 'LISTEN%'"
        )
    finally:
        await conn.close()


async def _append_retrying(store: EventStore, events: list[NewEvent], command_id: str) -> Appended:
    """Append as the application would: on an unknown outcome, repeat the command."""
    for attempt in range(10):
        try:
            return await store.append(events, command_id=command_id)
        except StoreUnavailable:
            if attempt == 9:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


@pytest.mark.postgres
async def test_subscriber_survives_killed_connections(new_pg_database: Callable[[], str]) -> None:
    dsn = new_pg_database()
    pg_store = connect(dsn)
    await pg_store.open()
    stream = uuid4()
    positions: list[int] = []
    tail = Tail(pg_store, after=0)
    try:
        version = 0
        for kill_round in range(3):
            for _ in range(3):
                version += 1
                appended = await _append_retrying(pg_store, [ev(stream, version)], f"k-{version}")
                positions += appended.positions
            await tail.wait_for(len(positions))
            if kill_round == 0:
                # The subscriber is live and listening: its LISTEN connection exists.
                deadline = time.monotonic() + 5
                while await _listen_backends(dsn) == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            killed = await _terminate_other_backends(dsn)
            assert killed >= 1, "expected to terminate the store's connections"
            await asyncio.sleep(0.1)
        # Written after the last kill, through the same store (its pool recovers).
        for _ in range(3):
            version += 1
            appended = await _append_retrying(pg_store, [ev(stream, version)], f"k-{version}")
            positions += appended.positions
        got = await tail.wait_for_position(positions[-1])
        assert_exactly_once_in_order(got, positions)
        assert [e.originator_version for e in got] == list(range(1, version + 1))
    finally:
        await tail.close()
        await pg_store.close()


@pytest.mark.postgres
async def test_subscriber_wakes_on_notify_not_just_polling(new_pg_database: Callable[[], str]) -> None:
    """With a 30 s poll interval, live events must still arrive at once (NOTIFY)."""
    from service.store.postgres import PostgresStore

    dsn = new_pg_database()
    slow_poll = PostgresStore(dsn, poll_interval=30.0)
    writer = connect(dsn)
    await slow_poll.open()
    await writer.open()
    tail = Tail(slow_poll, after=0)
    try:
        # Wait until the subscriber is listening, then write from another store
        # (another pool, as another process would).
        # (Soft: if it never shows as LISTEN, the latency check below decides.)
        deadline = time.monotonic() + 5
        while await _listen_backends(dsn) == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        for i in range(3):
            started = time.monotonic()
            appended = await writer.append([ev(uuid4(), 1)])
            got = await tail.wait_for(i + 1, timeout=5.0)
            assert got[-1].position == appended.positions[0]
            assert time.monotonic() - started < 5.0
    finally:
        await tail.close()
        await writer.close()
        await slow_poll.close()


@pytest.mark.postgres
async def test_two_stores_on_one_database_see_each_other(new_pg_database: Callable[[], str]) -> None:
    """Two processes' worth of stores: a subscriber on one sees appends on both."""
    dsn = new_pg_database()
    a, b = connect(dsn), connect(dsn)
    await a.open()
    await b.open()
    tail = Tail(a, after=0)
    try:
        streams = [uuid4() for _ in range(8)]

        async def write(store: EventStore, stream: UUID) -> list[int]:
            out: list[int] = []
            for v in range(1, 26):
                out += (await store.append([ev(stream, v)])).positions
            return out

        results = await asyncio.gather(
            *(write(a if i % 2 else b, s) for i, s in enumerate(streams))
        )
        written = [p for r in results for p in r]
        got = await tail.wait_for_position(max(written))
        assert_exactly_once_in_order(got, written)
    finally:
        await tail.close()
        await a.close()
        await b.close()
