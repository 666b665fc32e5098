"""The peer for live fan-out: a plain `websockets` server broadcasting one payload.

`python -m bench.ws_baseline --port N --payload BYTES`. It speaks just enough
of Accord's live protocol for bench/wsclients.py: a client's first frame is
`auth`; a watcher is answered `ready` and `synced` and then only listens; the
`driver` sends `command` frames, and for each the server broadcasts an `update`
frame of `--payload` bytes (the size of Accord's own update frame, measured in
the same run) to every watcher with `websockets.broadcast`, then answers the
driver `done` with the position. Server defaults otherwise (as uvicorn's:
permessage-deflate only if a client offers it, which the bench clients do not;
pings every 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from websockets.asyncio.server import ServerConnection, broadcast, serve

from .procs import raise_fd_limit


def update_frame(position: int, size: int) -> str:
    head = '{"type":"update","position":%d,"changes":[{"key":"agreement","view":"' % position
    tail = '"}]}'
    return head + "x" * max(0, size - len(head) - len(tail)) + tail


async def main(port: int, payload: int) -> None:
    watchers: set[ServerConnection] = set()
    position = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal position
        auth = json.loads(await ws.recv())
        if auth.get("token") == "driver":
            async for _ in ws:
                position += 1
                broadcast(watchers, update_frame(position, payload))
                await ws.send(json.dumps({"type": "done", "position": position}))
            return
        await ws.send(json.dumps({"type": "ready", "person_id": "watcher"}))
        await ws.send(json.dumps({"type": "synced", "position": position}))
        watchers.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            watchers.discard(ws)

    async with serve(handler, "127.0.0.1", port, backlog=2048) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--payload", type=int, default=300)
    args = parser.parse_args()
    raise_fd_limit()
    try:
        asyncio.run(main(args.port, args.payload))
    except KeyboardInterrupt:
        pass
