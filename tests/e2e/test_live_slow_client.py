"""A client that stops reading hurts nobody else, and loses nothing.

One of Jo's sockets never reads. Its kernel buffers are kept small and the
websockets client buffers one message (and no compression), so the server soon
cannot write to it and its bounded queue (256 frames) overflows. Each update
carries a party view of about 60 kB; the test makes enough of them to fill the
server's send buffer and then the queue.

What the server promises such a client (README, "Slow and dead clients"): it
stops sending to it, offers a `reconnect` frame and close code 4008 for a
moment, and then closes the connection whatever happens. A client whose
buffers are still full cannot take the goodbye, so it may instead see the
connection end without a close frame (1006); either way, what it did receive
is a prefix of the updates, in order, and resuming with `since` gives it what
the steady clients hold. Mina and Jo's other socket meanwhile receive every
update while the stalled one has read nothing at all: the hub never waits for
a slow reader.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Api, Live, Server, build_world

#: The hub's bounded queue per socket, in frames (service.live.hub.Hub.queue_limit).
QUEUE = 256
#: A generous ceiling for everything to arrive on a busy machine (not a measure of speed).
CEILING = 60.0


def edits_to_overflow(frame_bytes: int) -> int:
    """Enough updates to fill the server's socket send buffer, then the queue, with room to spare."""
    try:
        send_buffer = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        send_buffer = 4 * 2**20
    return QUEUE + send_buffer // frame_bytes + 64


@pytest.fixture(scope="module", params=["sqlite"])
def server(request: pytest.FixtureRequest, module_servers: Any, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """SQLite only: the queues are the same whatever the log is."""
    db = tmp_path_factory.mktemp("db").resolve() / "slow.db"
    return module_servers.start(f"sqlite:///{db}")


def small_buffered_socket(port: int) -> socket.socket:
    """A TCP socket whose receive buffer stays tiny (set before connecting, so no autotuning)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def reader(live: Live, arrived: list[int], stop: asyncio.Event) -> None:
    """Read every frame, noting the position of each update in the order they arrive."""
    while not stop.is_set():
        try:
            frame = await live.recv(timeout=0.5)
        except TimeoutError:
            continue
        if frame["type"] == "update":
            arrived.append(frame["position"])


async def test_a_client_that_never_reads_is_dropped_and_the_others_keep_receiving(
    server: Server, api: Api
) -> None:
    world = await build_world(api)
    clauses = [world.boundary, world.schedule]
    for i in range(18):
        clauses.append(await api.add_clause(world.mina, world.agreement_id, "other", f"{i} " + "x" * 3000))

    edits = edits_to_overflow(len(json.dumps(await api.view(world.jo, world.agreement_id))))
    mina, jo = await Live.open(server, world.mina), await Live.open(server, world.jo)
    stalled = Live(
        await connect(
            server.ws_url,
            sock=small_buffered_socket(server.port),
            compression=None,  # deflate would shrink the repetitive views to a kilobyte each
            max_queue=1,
            max_size=None,
        )
    )
    await stalled.authenticate(world.jo.token, since=None)
    read_before = len(stalled.frames)

    arrived: dict[Live, list[int]] = {mina: [], jo: []}
    stop = asyncio.Event()
    readers = [asyncio.create_task(reader(live, positions, stop)) for live, positions in arrived.items()]
    sent: list[int] = []
    try:
        clause = clauses[-1]
        for i in range(edits):
            clause = await api.edit_clause(world.jo, world.agreement_id, clause, f"{i} " + "y" * 3000)
            sent.append(api.position)
        deadline = time.monotonic() + CEILING
        while any(len(a) < edits for a in arrived.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*readers)

    for positions in arrived.values():
        assert positions == sent, "a reading client missed updates, or got them out of order"
    assert len(stalled.frames) == read_before, "the stalled client has read nothing since it synced"

    # The stalled client, reading at last: a prefix of the updates, then the server's close.
    frames = []
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(CEILING):
            while True:
                frames.append(await stalled.recv(timeout=CEILING))
    received = [f["position"] for f in frames if f["type"] == "update"]
    assert received == sent[: len(received)], "what it did receive is a prefix, in order"
    assert len(received) < edits
    if stalled.socket.close_code == 4008:
        assert frames[-1]["type"] == "reconnect", frames[-3:]
    else:  # its buffers were still full when the goodbye was offered
        assert stalled.socket.close_code == 1006, stalled.socket.close_code
        assert all(f["type"] == "update" for f in frames), frames[-3:]

    # It resumes from where it stopped and holds what the steady clients hold.
    resumed = await Live.resume(server, world.jo, stalled)
    assert resumed.views == jo.views
