"""Deleting an account, live, across two processes sharing one PostgreSQL.

The person's sockets close as signed out on every process, not only the one
that took the request; the partner's socket is told how the agreement stands
now, and no frame sent after the deletion carries the person's name or
handle; their old token opens nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from domain.policy import FORMER_MEMBER
from tests.e2e.conftest import SOON, Api, Live, Servers
from tests.servers import PASSWORD

pytestmark = pytest.mark.postgres


async def closed_code(live: Live) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        while True:
            await live.recv(SOON)
    except ConnectionClosed:
        pass
    return live.socket.close_code


async def test_a_deleted_account_signs_out_everywhere_and_names_nobody_after(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    a, b = servers.start(url), servers.start(url)
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(base_url=b.url, timeout=15) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        ana = await api_a.person("ana")
        # His name is "Benmark" and his handle starts "benmark_": neither word is anywhere else.
        ben = await api_a.person("benmark")
        agreement_id = (await api_a.create(ana, "Sundays"))["agreement_id"]
        await api_a.invite(ana, agreement_id, ben.handle)
        await api_a.accept_invitation(ben, agreement_id)
        await api_a.link(ana, ben)
        key = f"agreement:{agreement_id}"

        partner = await Live.open(a, ana)
        assert "Benmark" in json.dumps(partner.views)  # named while he is here
        his = [await Live.open(a, ben), await Live.open(b, ben)]
        before = len(partner.frames)

        await api_b.call("DELETE", "/api/me", ben, 204, json={"password": PASSWORD})

        # Both of his sockets, on both processes, close as signed out.
        assert [await closed_code(live) for live in his] == [4401, 4401]
        # Ana's socket is told: he is no longer a party, and the link is over.
        change = await partner.change_to(key)
        while [p["person_id"] for p in change["view"]["parties"]] != [ana.id]:
            change = await partner.change_to(key)
        # And the network that named him names a former member now (the erasure's own push).
        network = await partner.change_to("network")
        while network["view"]["links"][0]["other"]["name"] != FORMER_MEMBER:
            network = await partner.change_to("network")
        assert network["view"]["links"][0]["status"] == "ended"
        after = json.dumps(partner.frames[before:]).casefold()
        assert "benmark" not in after and "benmark" not in json.dumps(partner.views).casefold()
        assert ben.id not in json.dumps(partner.views)
        # His token opens nothing: not a socket, not a read.
        async with connect(b.ws_url, open_timeout=SOON) as socket:
            await socket.send(json.dumps({"type": "auth", "token": ben.token}))
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(SOON):
                    while True:
                        await socket.recv()
            assert socket.close_code == 4401
        await api_a.call("GET", "/api/me", ben, 401)
        await partner.close()
