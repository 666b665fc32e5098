"""The read side across processes: one projector leader, persisted projections, and nothing folded at start.

Real `accord serve` processes on one database; what the projections hold is
checked against an independent fold of the whole log (the projections' pure
folds over every event, read straight from the table), so a skipped event or
a lost commit shows as a difference.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from projections.projection import Projection
from service.read.projector import PROJECTIONS
from service.store import connect
from service.store.mapper import MsgspecMapper
from tests.e2e.conftest import (
    SOON,
    Api,
    Live,
    Server,
    Servers,
    build_world,
    share_boundaries,
)
from tests.e2e.test_live_resume import append_noise
from tests.servers import ROOT, sealed

pytestmark = pytest.mark.postgres


async def metric(api: Api, name: str) -> float:
    text = (await api.client.get("/metrics")).text
    found = re.search(rf"^{name}(?:_total)? ([0-9.e+]+)$", text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


async def until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    """Wait for a condition (a coroutine function answering truthy), never for a fixed time."""
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def stored_projections(url: str) -> tuple[dict[str, int], dict[str, dict[str, bytes]], int]:
    """Positions and documents as stored, and the log's end."""
    store = connect(url)
    await store.open()
    try:
        positions = await store.projection_positions()
        log = await read_all(store)
        keys = {p.name: {k for _, e in log if isinstance(e, p.handles) for k in p.keys(e)} for p in PROJECTIONS}
        documents = {p.name: await store.documents(p.name, sorted(keys[p.name])) for p in PROJECTIONS}
        return positions, documents, log[-1][0] if log else 0
    finally:
        await store.close()


async def read_all(store: Any) -> list[tuple[int, Any]]:
    mapper, events, after, store = MsgspecMapper(), [], 0, sealed(store)
    while page := await store.read_log(after, limit=5000):
        events.extend((s.position, mapper.to_domain_event(s)) for s in page)
        after = page[-1].position
    return events


def folded(projection: Projection[Any], log: list[tuple[int, Any]]) -> dict[str, bytes]:
    """The documents `projection` makes of the whole log, folded here, encoded as stored."""
    documents: dict[str, Any] = {}
    for _, event in log:
        if isinstance(event, projection.handles):
            for key in projection.keys(event):
                documents[key] = projection.evolve(documents.get(key), event)
    return {k: projection.encode(d) for k, d in documents.items() if d is not None}


async def assert_projections_match_the_log(url: str) -> None:
    positions, documents, end = await stored_projections(url)
    store = connect(url)
    await store.open()
    try:
        log = await read_all(store)
    finally:
        await store.close()
    for projection in PROJECTIONS:
        assert positions[projection.name] == end, projection.name
        assert documents[projection.name] == folded(projection, log), projection.name


async def leading(servers: list[tuple[Server, Api]]) -> list[Server]:
    return [server for server, api in servers if await metric(api, "accord_leader") == 1]


async def test_a_killed_projector_leader_is_replaced_and_no_event_is_skipped(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    a, b = servers.start(url, ACCORD_POLL_INTERVAL="0.2"), servers.start(url, ACCORD_POLL_INTERVAL="0.2")
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(
        base_url=b.url, timeout=15
    ) as on_b:
        apis = {a: Api(on_a), b: Api(on_b)}

        async def one_leads() -> bool:
            return len(await leading(list(apis.items()))) == 1

        await until(one_leads, "one leader")
        [leader] = await leading(list(apis.items()))
        standby = b if leader is a else a
        api = apis[standby]
        mina = await api.person("mina")

        async def write(count: int) -> list[str]:
            return [(await api.create(mina, f"Agreement {i}"))["agreement_id"] for i in range(count)]

        made = await write(10)
        writing = asyncio.create_task(write(40))  # through the standby, while its leader dies
        await until(lambda: _at_least(api, mina, 15), "the writes under way")
        leader.kill()
        made += await writing

        async def standby_leads() -> bool:
            return await metric(api, "accord_leader") == 1

        await until(standby_leads, "the standby takes over")
        await api.caught_up(api.position)
        mine = await api.call("GET", "/api/agreements", mina, 200)
        assert sorted(a["agreement_id"] for a in mine) == sorted(made)
        await assert_projections_match_the_log(url)


async def _at_least(api: Api, who: Any, count: int) -> bool:
    return len(await api.call("GET", "/api/agreements", who, 200)) >= count


async def test_a_rebuild_runs_beside_the_live_projections_while_commands_and_pushes_continue(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    server = servers.start(url)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        await share_boundaries(api, world)
        # A log long enough that the rebuild takes a while: 20,000 events of an agreement nobody here is in.
        await asyncio.to_thread(append_noise, url, 20_000)
        await api.caught_up(await asyncio.to_thread(lambda: asyncio.run(_end(url))))
        mina = await Live.open(server, world.mina)

        rebuild = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", "rebuild", "--database", url,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        edits, clause = 0, world.boundary
        while rebuild.returncode is None:
            clause = await api.edit_clause(world.jo, world.agreement_id, clause, f"Edited during the rebuild, {edits}.")
            update = await mina.update_at(api.position, timeout=SOON)
            assert update["changes"][0]["view"] == await api.view(world.mina, world.agreement_id)
            edits += 1
            try:
                await asyncio.wait_for(asyncio.shield(rebuild.wait()), 0.01)
            except TimeoutError:
                pass
        out, err = await rebuild.communicate()
        assert rebuild.returncode == 0, err.decode()
        assert "rebuilt and switched in" in out.decode()
        assert edits >= 1
        # The views are what they were, served from the switched-in documents.
        assert (await api.call("GET", "/api/agreements", world.sam, 200)) == [
            {"agreement_id": world.agreement_id, "relation": "shared"}
        ]
        await assert_projections_match_the_log(url)


async def _end(url: str) -> int:
    store = connect(url)
    await store.open()
    try:
        return await store.max_position()
    finally:
        await store.close()


async def test_two_processes_serve_sockets_and_when_one_dies_its_clients_resume_on_the_other(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    a, b = servers.start(url), servers.start(url)
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(
        base_url=b.url, timeout=15
    ) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        world = await build_world(api_b)
        await share_boundaries(api_b, world)
        await api_a.caught_up(api_b.position)
        mina_on_a, jo_on_b = await Live.open(a, world.mina), await Live.open(b, world.jo)

        a.kill()
        clause = await api_b.edit_clause(world.jo, world.agreement_id, world.boundary, "After A died.")
        await jo_on_b.update_at(api_b.position)
        resumed = await Live.resume(b, world.mina, mina_on_a)
        assert resumed.views[world.key] == await api_b.view(world.mina, world.agreement_id)
        assert [c["text"] for c in resumed.views[world.key]["clauses"] if c["clause_id"] == clause["clause_id"]] == [
            "After A died."
        ]
        # And live from there, like everyone on B.
        await api_b.edit_clause(world.mina, world.agreement_id, clause, "Live on B.")
        for live in (resumed, jo_on_b):
            await live.update_at(api_b.position)


async def test_a_restarted_process_reads_nothing_of_the_log_it_has_projected(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    server = servers.start(url)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        await asyncio.to_thread(append_noise, url, 5_000)
        end = await _end(url)
        await api.caught_up(end)
        assert await metric(api, "accord_projector_events") >= 5_000

        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        await api.call("GET", "/health/ready", None, 200)
        assert await metric(api, "accord_projector_events") == 0
        assert await metric(api, "accord_follower_events") == 0
        # Yet everything is there, from the documents and the streams.
        assert (await api.view(world.mina, world.agreement_id))["title"]
        await api.edit_clause(world.jo, world.agreement_id, world.boundary, "After the restart.")
        assert await metric(api, "accord_follower_events") == 1
        assert await metric(api, "accord_projector_events") == 1
