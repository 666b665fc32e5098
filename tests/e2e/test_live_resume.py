"""Resuming a live feed: from the last position seen, without gaps or duplicates.

A steady client stays connected as the reference; a roaming one (same person)
disconnects, misses changes, and resumes with `since`. On resuming it is sent
one update, at the current position, with the current view of each thing the
steady one saw change meanwhile (consent is judged when sending: see
test_live_resume_consent.py), so both then hold the same.
When the server itself dies (SIGKILL) its in-memory history goes with it; the
restarted process then answers with a resync that holds the current state.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from domain.agreement import Agreement
from service.store import connect
from service.store.base import NewEvent
from service.store.mapper import MsgspecMapper
from tests.e2e.conftest import (
    SOON,
    Api,
    Live,
    Person,
    Server,
    Servers,
    World,
    build_world,
    share_boundaries,
)


async def make_changes(api: Api, world: World, rounds: int = 3) -> None:
    """Draft edits only the parties see, then a ratification and a renegotiation Sam sees too."""
    boundary, schedule = world.boundary, world.schedule
    for i in range(rounds):
        boundary = await api.edit_clause(world.mina, world.agreement_id, boundary, f"Boundary, take {i}.")
        schedule = await api.edit_clause(world.jo, world.agreement_id, schedule, f"Schedule, take {i}.")
    await api.ratify(world.parties, world.agreement_id)
    await renegotiate(api, world, "Boundary, renegotiated.")


async def renegotiate(api: Api, world: World, text: str) -> None:
    """Jo proposes a new text for the shared boundary clause and Mina accepts: it is in force."""
    changes = [{"kind": "edit", "clause_id": world.boundary["clause_id"], "text": text}]
    proposal = await api.propose(world.jo, world.agreement_id, changes)
    await api.accept(world.mina, world.agreement_id, proposal)


async def truth(server: Server, api: Api, who: Person, world: World) -> dict[str, Any]:
    """What `who` may see now: a fresh connection's resync, checked against HTTP."""
    fresh = await Live.open(server, who)
    await fresh.close()
    if world.key in fresh.views:
        assert fresh.views[world.key] == await api.view(who, world.agreement_id)
    assert fresh.views["network"] == await api.network(who)
    return fresh.views


@pytest.mark.parametrize("role", ["mina", "sam"], ids=["party", "metamour"])
async def test_resuming_with_the_last_position_gets_the_current_view_of_what_changed(
    server: Server, api: Api, role: str
) -> None:
    world = await build_world(api)
    await share_boundaries(api, world)
    who = getattr(world, role)
    steady = await Live.open(server, who)
    roaming = await Live.open(server, who)
    await roaming.close()

    await make_changes(api, world)
    await steady.update_at(api.position)  # the adoption: both Mina and Sam see it
    await steady.nothing_pending()
    missed = [u for u in steady.updates() if u["position"] > roaming.position]
    changed = sorted({c["key"] for u in missed for c in u["changes"]})

    resumed = await Live.resume(server, who, roaming)
    [update] = resumed.catch_up  # one update: no gap, no duplicate, nothing else
    assert update["position"] == missed[-1]["position"] == steady.position
    assert [c["key"] for c in update["changes"]] == changed
    assert resumed.views == steady.views == await truth(server, api, who, world)

    # Then live, like everyone else.
    await renegotiate(api, world, "Live again.")
    for live in (steady, resumed):
        await live.update_at(api.position)
    assert resumed.updates()[-1] == steady.updates()[-1]
    await steady.nothing_pending()
    await resumed.nothing_pending(settle=0)


async def test_resuming_from_the_current_position_sends_nothing_but_synced(server: Server, api: Api) -> None:
    world = await build_world(api)
    first = await Live.open(server, world.mina)
    await first.close()
    again = await Live.resume(server, world.mina, first)
    assert again.catch_up == []
    assert again.position == first.position


@pytest.mark.parametrize("since", [-1, 10**12], ids=["before-the-log", "beyond-the-log"])
async def test_a_position_that_cannot_be_resumed_gets_a_full_resync(server: Server, api: Api, since: int) -> None:
    world = await build_world(api)
    resumed = await Live.open(server, world.mina, since=since)
    assert [f["type"] for f in resumed.catch_up] == ["resync"]
    assert resumed.views == await truth(server, api, world.mina, world)


async def test_after_a_crash_the_client_resumes_on_the_restarted_server(
    servers: Servers, fresh_database: str
) -> None:
    server = servers.start(fresh_database)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        await share_boundaries(api, world)
        # Mina stays connected until the crash; Sam drops out earlier and misses changes.
        mina = await Live.open(server, world.mina)
        sam = await Live.open(server, world.sam)
        await sam.close()
        await make_changes(api, world)
        await mina.update_at(api.position)

        await server.restart_after_kill()
        await asyncio.wait_for(mina.socket.wait_closed(), SOON)

        # The new process has no history of the old one's pushes: a resync, or nothing if nothing was missed.
        # (Views are read from the streams, which may be ahead of where the new follower starts:
        # what a client of the old process holds is not known here, so both get everything.)
        mina = await Live.resume(server, world.mina, mina)
        assert [f["type"] for f in mina.catch_up] == ["resync"]
        sam = await Live.resume(server, world.sam, sam)
        assert [f["type"] for f in sam.catch_up] == ["resync"]
        for live, who in ((mina, world.mina), (sam, world.sam)):
            assert live.views == await truth(server, api, who, world), who.name

        # Live again, through the new process.
        await renegotiate(api, world, "After the crash.")
        for live in (mina, sam):
            change = (await live.update_at(api.position))["changes"][0]
            assert [c["text"] for c in change["view"]["clauses"] if c["topic"] == "boundaries"] == ["After the crash."]


async def test_a_graceful_restart_asks_clients_to_reconnect_and_they_miss_nothing(
    servers: Servers, tmp_path: Path
) -> None:
    server = servers.start(f"sqlite:///{tmp_path.resolve() / 'graceful.db'}")
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        mina = await Live.open(server, world.mina)

        await asyncio.to_thread(server.stop)  # SIGTERM
        with pytest.raises(ConnectionClosed):
            while True:
                await mina.recv()
        assert mina.frames[-1]["type"] == "reconnect", mina.frames[-1]

        await asyncio.to_thread(server.start)
        mina = await Live.resume(server, world.mina, mina)
        assert [f["type"] for f in mina.catch_up] == ["resync"]
        assert mina.views[world.key] == await api.view(world.mina, world.agreement_id)
        await api.edit_clause(world.jo, world.agreement_id, world.boundary, "After the restart.")
        await mina.update_at(api.position)


def append_noise(url: str, events: int) -> None:
    """Append `events` clause edits of an agreement nobody here is in, straight to the log."""

    async def append() -> None:
        store = connect(url)
        await store.open()
        try:
            mapper, now, author = MsgspecMapper(), datetime.now(timezone.utc), uuid.uuid4()
            noise = Agreement.create("noise", author, now)
            clause = uuid.uuid4()
            noise.add_clause(author, clause, "other", "0", now)
            for revision in range(1, events):
                noise.edit_clause(author, clause, str(revision), revision, now)
            stored = [mapper.to_stored_event(e) for e in noise.collect_events()]
            new = [NewEvent(s.originator_id, s.originator_version, s.topic, s.state) for s in stored]
            for start in range(0, len(new), 2000):
                await store.append(new[start : start + 2000])
        finally:
            await store.close()

    asyncio.run(append())


async def test_a_client_connecting_while_the_restarted_server_catches_up_gets_the_full_state(
    servers: Servers, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path.resolve() / 'big.db'}"
    server = servers.start(url)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        await asyncio.to_thread(server.stop)
        # A log long enough that catching up takes the restarted follower a few seconds.
        await asyncio.to_thread(append_noise, url, 10_000)
        await asyncio.to_thread(server.start)  # /health answers before the follower has caught up

        # The socket waits for the catch-up: an empty resync now would wipe what a client holds.
        mina = await Live.open(server, world.mina)
        assert world.key in mina.views, f"resync without Mina's agreement: {mina.catch_up}"
        assert mina.views[world.key] == await api.view(world.mina, world.agreement_id)
