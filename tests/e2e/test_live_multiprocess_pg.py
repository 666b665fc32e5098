"""Two `accord serve` processes on one PostgreSQL: a change made through one
reaches the sockets held by the other, woken by LISTEN/NOTIFY and read from the log.

The fallback poll is set to a minute here, so only a notification can bring
a change across processes within the few seconds the test waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import Api, Live, Server, Servers, build_world, share_boundaries

pytestmark = pytest.mark.postgres

#: Well under the fallback poll: a change arriving this fast was woken by NOTIFY.
PROMPT = 3.0


@pytest.fixture
def two(servers: Servers, new_pg_database: Callable[[], str]) -> tuple[Server, Server]:
    url = new_pg_database()
    return servers.start(url, ACCORD_POLL_INTERVAL="60"), servers.start(url, ACCORD_POLL_INTERVAL="60")


async def test_a_change_made_through_one_process_reaches_sockets_on_the_other(two: tuple[Server, Server]) -> None:
    a, b = two
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(
        base_url=b.url, timeout=15
    ) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        world = await build_world(api_b)
        await share_boundaries(api_b, world)
        await api_a.caught_up(api_b.position)
        mina_on_a, sam_on_a = await Live.open(a, world.mina), await Live.open(a, world.sam)
        jo_on_b = await Live.open(b, world.jo)
        # Both processes hold the same state, and the same consented views.
        assert mina_on_a.views[world.key] == await api_a.view(world.mina, world.agreement_id)
        assert sam_on_a.views == (await Live.open(b, world.sam)).views

        for api, writer in ((api_b, world.jo), (api_a, world.mina)):
            sent = time.monotonic()
            await api.edit_clause(writer, world.agreement_id, world.boundary, f"Written on {writer.name}'s process.")
            world.boundary["revision"] += 1
            for live, who in ((mina_on_a, world.mina), (jo_on_b, world.jo)):
                update = await live.update_at(api.position, timeout=PROMPT)
                assert update["changes"][0]["view"] == await api.view(who, world.agreement_id)
            assert time.monotonic() - sent < PROMPT

        # Ratified through B: the metamour's socket on A receives the shared clause.
        await api_b.ratify(world.parties, world.agreement_id)
        update = await sam_on_a.update(timeout=PROMPT)
        assert update["position"] == api_b.position
        [change] = update["changes"]
        assert change["view"] == await api_a.view(world.sam, world.agreement_id)
        assert [c["text"] for c in change["view"]["clauses"]] == [f"Written on {world.mina.name}'s process."]

        # Revoked through B: removed on A at once.
        await api_b.revoke_grant(world.mina, world.agreement_id, world.grant_id)
        update = await sam_on_a.update(timeout=PROMPT)
        assert update["changes"] == [{"key": world.key, "removed": True}]


async def test_a_client_may_resume_on_the_other_process(two: tuple[Server, Server]) -> None:
    a, b = two
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(
        base_url=b.url, timeout=15
    ) as on_b:
        api = Api(on_a)
        world = await build_world(api)
        await Api(on_b).caught_up(api.position)
        on_a_steady, on_b_steady = await Live.open(a, world.mina), await Live.open(b, world.mina)
        roaming = await Live.open(a, world.mina)
        await roaming.close()
        for i in range(3):
            world.boundary = await api.edit_clause(world.mina, world.agreement_id, world.boundary, f"Take {i}.")
        for steady in (on_a_steady, on_b_steady):
            await steady.update_at(api.position, timeout=PROMPT)
        # Every process follows the whole log: both sent the same updates at the same positions.
        assert on_a_steady.updates() == on_b_steady.updates()

        resumed = await Live.resume(b, world.mina, roaming)
        # What changed meanwhile, as it is now: the same on either process.
        [update] = resumed.catch_up
        assert update == on_a_steady.updates()[-1] == on_b_steady.updates()[-1]
        assert resumed.views == on_a_steady.views == on_b_steady.views


async def test_a_party_reads_what_it_just_wrote_through_the_other_process(two: tuple[Server, Server]) -> None:
    """No Accord-Position sent: a party's view is current on any process, whether its read models
    have reached the log's end as the request was signed in, or the log is asked for anything newer."""
    a, b = two
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(base_url=b.url, timeout=15) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        mina = await api_a.person("mina")
        agreement_id = (await api_a.create(mina, "Ours"))["agreement_id"]
        clause = await api_a.add_clause(mina, agreement_id, "boundaries", "version 0")
        for i in range(1, 31):
            clause = await api_a.edit_clause(mina, agreement_id, clause, f"version {i}")
            seen = await api_b.view(mina, agreement_id)
            assert [c["text"] for c in seen["clauses"]] == [f"version {i}"], i
