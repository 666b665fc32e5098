"""The projection store contract, on both stores: documents with their position, exactly once, and one leader.

Everything goes through the `EventStore` interface against a real database;
only the leadership test reaches past it, to kill the leader's connection.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from service.store import connect
from service.store.base import Document, EventStore, ProjectionCommit, ProjectionMoved

WAIT = 15.0
NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def commit(name: str, after: int, position: int, **documents: Document | None) -> ProjectionCommit:
    return ProjectionCommit(name=name, after=after, position=position, documents=documents)


async def test_documents_are_written_with_their_position_in_one_commit(store: EventStore) -> None:
    assert await store.projection_positions() == {}
    await store.commit_projections(
        [commit("people", 0, 5, a=Document(b'{"a":1}'), b=Document(b'{"b":1}')), commit("grants", 0, 5)]
    )
    assert await store.projection_positions() == {"people": 5, "grants": 5}
    assert await store.documents("people", ["a", "b", "c"]) == {"a": b'{"a":1}', "b": b'{"b":1}'}
    assert await store.documents("grants", ["a"]) == {}

    # Replaced, deleted, and the position moved, together.
    await store.commit_projections([commit("people", 5, 9, a=Document(b'{"a":2}'), b=None)])
    assert await store.documents("people", ["a", "b"]) == {"a": b'{"a":2}'}
    assert (await store.projection_positions())["people"] == 9


async def test_a_commit_from_a_stale_position_writes_nothing(store: EventStore) -> None:
    """Two projectors that read the same position: the second is refused whole, so nothing is projected twice."""
    await store.commit_projections([commit("people", 0, 3, a=Document(b"1"))])
    with pytest.raises(ProjectionMoved):
        await store.commit_projections(
            [commit("grants", 0, 3, g=Document(b"x")), commit("people", 0, 3, a=Document(b"2"))]
        )
    assert await store.documents("people", ["a"]) == {"a": b"1"}
    assert await store.documents("grants", ["g"]) == {}
    assert await store.projection_positions() == {"people": 3}


async def test_due_documents_come_soonest_first_and_only_once_due(store: EventStore) -> None:
    soon, later = NOW + timedelta(minutes=1), NOW + timedelta(hours=1)
    await store.commit_projections(
        [commit("lapses", 0, 1, late=Document(b"l", due=later), soon=Document(b"s", due=soon), never=Document(b"n"))]
    )
    assert await store.due_documents("lapses", NOW) == []
    assert await store.due_documents("lapses", soon) == [("soon", b"s")]
    assert await store.due_documents("lapses", later + timedelta(seconds=1)) == [("soon", b"s"), ("late", b"l")]
    assert await store.due_documents("lapses", later, limit=1) == [("soon", b"s")]


async def test_a_build_is_switched_in_whole(store: EventStore) -> None:
    await store.commit_projections([commit("people", 0, 7, old=Document(b"o"), both=Document(b"1"))])
    await store.commit_projections([commit("people~build", 0, 7, both=Document(b"2"), new=Document(b"n"))])
    await store.switch_projection("people~build", "people")
    assert await store.documents("people", ["old", "both", "new"]) == {"both": b"2", "new": b"n"}
    assert await store.projection_positions() == {"people": 7}
    assert await store.documents("people~build", ["both", "new"]) == {}


async def test_dropping_a_projection_forgets_it(store: EventStore) -> None:
    await store.commit_projections([commit("people~build", 0, 4, a=Document(b"a"))])
    await store.drop_projection("people~build")
    assert await store.projection_positions() == {}
    assert await store.documents("people~build", ["a"]) == {}


@pytest.mark.postgres
async def test_one_leader_at_a_time_and_a_standby_takes_over_when_its_connection_ends(
    new_pg_database,  # noqa: ANN001 - the session fixture's factory
) -> None:
    import asyncpg

    url = new_pg_database()
    first, second = connect(url, poll_interval=0.1), connect(url, poll_interval=0.1)
    await first.open()
    await second.open()
    try:
        leader = first.leadership()
        await asyncio.wait_for(leader.acquire(), WAIT)
        standby = second.leadership()
        waiting = asyncio.create_task(standby.acquire())
        # Ordering, not time: the standby is still waiting after the leader has checked its lock twice.
        for _ in range(3):
            await asyncio.sleep(0.1)
            assert not waiting.done()

        killer = await asyncpg.connect(url)
        try:
            killed = await killer.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            )
        finally:
            await killer.close()
        assert killed == 1
        await asyncio.wait_for(leader.lost.wait(), WAIT)
        await asyncio.wait_for(waiting, WAIT)
        assert not standby.lost.is_set()
        await standby.release()
        await leader.release()
    finally:
        await first.close()
        await second.close()
