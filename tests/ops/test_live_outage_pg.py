"""A websocket opened while PostgreSQL is down, on a real `accord serve` and a real PostgreSQL.

Signing a socket in reads the token from the database. With the database
stopped (`pg_ctl stop -m fast`), the server cannot tell who is asking: it says
`reconnect` and closes with 1013 (try again later), as it does while starting,
instead of dropping the socket with a bare error code. Once PostgreSQL is back,
the same client reconnects with `since` and is served.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.ops.conftest import Api, FaultPostgres, Person, Servers, wait_for

pytestmark = pytest.mark.postgres

UNAVAILABLE = {
    "type": "reconnect",
    "detail": "the service is temporarily unavailable; reconnect with since",
}


async def _session(url: str, who: Person, since: int | None) -> tuple[list[dict[str, Any]], int | None, str]:
    """Authenticate, then read frames until `synced` (the socket is then closed by us) or until the
    server closes it: the frames, and the server's close code and reason (None if we closed)."""
    frames: list[dict[str, Any]] = []
    async with connect(url, open_timeout=5, close_timeout=2) as socket:
        await socket.send(json.dumps({"type": "auth", "token": who.token, "since": since}))
        try:
            async for raw in socket:
                frames.append(json.loads(raw))
                if frames[-1]["type"] == "synced":
                    return frames, None, ""
        except ConnectionClosed:
            pass
        assert socket.close_code is not None
        return frames, socket.close_code, socket.close_reason or ""


async def test_a_socket_opened_while_postgres_is_down_is_told_to_reconnect(
    running_pg: FaultPostgres, servers: Servers
) -> None:
    server = servers.start(running_pg.database())
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        api = Api(http)
        mina = await api.person("mina")
        agreement_id = await api.agreement(mina, "Ours")
        frames, code, _ = await _session(server.ws_url, mina, None)
        assert [f["type"] for f in frames] == ["ready", "resync", "synced"] and code is None
        since = frames[-1]["position"]

        await _down(running_pg)
        try:
            frames, code, reason = await _session(server.ws_url, mina, since)
            assert frames == [UNAVAILABLE], frames
            assert (code, reason) == (1013, "unavailable")
            # Every try while it is down gets the same answer, and the process stays up.
            frames, code, _ = await _session(server.ws_url, mina, since)
            assert (frames, code) == ([UNAVAILABLE], 1013)
            assert server.process is not None and server.process.poll() is None, "the service died"
        finally:
            await asyncio.to_thread(running_pg.resume)

        # Back up: the client that was told to reconnect does so, with `since`, and is served.
        async def served() -> bool:
            frames, code, _ = await _session(server.ws_url, mina, since)
            return code is None and frames[0]["type"] == "ready"

        await wait_for(served, 30, "a socket served again after PostgreSQL came back", 0.1)
        frames, code, _ = await _session(server.ws_url, mina, since)
        assert [f["type"] for f in frames] == ["ready", "synced"], "resumed without a resync: nothing was missed"
        assert (await api.view(mina, agreement_id))["agreement_id"] == agreement_id

    assert server.unhandled_errors() == [], server.unhandled_errors()[:5]


async def _down(pg: FaultPostgres) -> None:
    """Stop PostgreSQL; `pg_ctl stop -w` returns once the server has shut down."""
    await asyncio.to_thread(pg.halt)
    assert not pg.cluster.is_running()
