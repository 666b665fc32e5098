"""Websocket watchers in a process of their own: `python -m bench.wsclients`.

The clients must cost far less than the servers they measure, or the figure
is the client's own speed: so each socket is a bare asyncio Protocol that
does the RFC 6455 handshake, sends masked text frames, answers pings, and
parses the server's frames in `data_received`, noting the arrival time
(time.monotonic: CLOCK_MONOTONIC, the same clock in every process on the
machine) of each `update` frame by its position. No compression is offered.

It speaks Accord's live protocol (an `auth` frame first, then waits for
`synced`); the plain server (bench/ws_baseline.py) answers the same way.

Protocol with the parent, one JSON object per line: the spec on stdin
({"url", "tokens" (sockets take them in turn), "sockets"}); once every socket is
synced it prints {"connected", "seconds"}; then, each time every socket has
received the update of a position, {"position", "last", "first"} (arrival
times); a line "close" on stdin closes them all and it prints {"closed",
"frame_bytes"}.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import msgspec

from .procs import raise_fd_limit

CONNECT_AT_ONCE = 100  # a plain asyncio server listens with a backlog of 100 by default


class Frame(msgspec.Struct):
    type: str
    position: int | None = None


decode = msgspec.json.Decoder(Frame).decode


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked, final frame (clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 256 else _mask(payload, mask)
    return head + mask + masked


def _mask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


class Socket(asyncio.Protocol):
    """One websocket client. `on_text(socket, payload, arrival)` for each text message."""

    def __init__(self, url: str, on_text: Callable[[Socket, bytes, float], None]) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.on_text = on_text
        self.buffer = bytearray()
        self.handshaken = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.handshaken:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[: end + 4]
            if b" 101 " not in status + b" ":
                self.opened.set_exception(RuntimeError(f"handshake refused: {status!r}"))
                self.transport.close()  # type: ignore[union-attr]
                return
            self.handshaken = True
            self.opened.set_result(None)
        buf = self.buffer
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            fin = buf[0] & 0x80
            offset = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, offset = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, offset = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < offset + n:
                return
            payload = bytes(buf[offset : offset + n])
            del buf[: offset + n]
            if opcode == 0x9:  # ping
                self.transport.write(client_frame(payload, 0xA))  # type: ignore[union-attr]
            elif opcode == 0x8:  # close
                self.transport.close()  # type: ignore[union-attr]
                return
            elif opcode in (0x1, 0x0):
                self.fragments.append(payload)
                if fin:
                    message = b"".join(self.fragments)
                    self.fragments.clear()
                    self.on_text(self, message, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def send_text(self, text: str) -> None:
        self.transport.write(client_frame(text.encode()))  # type: ignore[union-attr]

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(struct.pack("!H", 1000), 0x8))
            self.transport.close()


async def open_socket(url: str, on_text: Callable[[Socket, bytes, float], None]) -> Socket:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    _, sock = await loop.create_connection(lambda: Socket(url, on_text), parts.hostname, parts.port)
    await sock.opened
    return sock


class Watchers:
    """Many sockets: auth, wait for synced, then count update arrivals by position."""

    def __init__(self, url: str, tokens: list[str], sockets: int, out: Callable[[dict], None]) -> None:
        self.url, self.tokens, self.n, self.out = url, tokens, sockets, out
        self.synced: dict[Socket, asyncio.Future[None]] = {}
        self.count: dict[int, int] = {}
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.frame_bytes = 0
        self.sockets: list[Socket] = []

    def on_text(self, sock: Socket, message: bytes, now: float) -> None:
        frame = decode(message)
        if frame.type == "update" and frame.position is not None:
            p = frame.position
            c = self.count[p] = self.count.get(p, 0) + 1
            self.last[p] = now
            if c == 1:
                self.first[p] = now
            self.frame_bytes = len(message)
            if c == self.n:
                self.out({"position": p, "last": now, "first": self.first[p]})
        elif frame.type == "synced":
            waiter = self.synced.get(sock)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif frame.type == "error":
            waiter = self.synced.get(sock)
            if waiter is not None and not waiter.done():
                waiter.set_exception(RuntimeError(message.decode()))

    async def open(self) -> None:
        limit = asyncio.Semaphore(CONNECT_AT_ONCE)
        loop = asyncio.get_running_loop()

        async def one(i: int) -> Socket:
            async with limit:
                sock = await open_socket(self.url, self.on_text)
                self.synced[sock] = loop.create_future()
                sock.send_text(json.dumps({"type": "auth", "token": self.tokens[i % len(self.tokens)]}))
                await asyncio.wait_for(self.synced[sock], 60)
                return sock

        self.sockets = list(await asyncio.gather(*(one(i) for i in range(self.n))))

    async def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        await asyncio.gather(*(s.closed for s in self.sockets))


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def out(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    spec = json.loads(await reader.readline())
    watchers = Watchers(spec["url"], spec["tokens"], int(spec["sockets"]), out)
    started = time.perf_counter()
    await watchers.open()
    out({"connected": len(watchers.sockets), "seconds": time.perf_counter() - started})
    while (line := await reader.readline()) and line.strip() != b"close":
        pass
    await watchers.close()
    out({"closed": len(watchers.sockets), "frame_bytes": watchers.frame_bytes})


if __name__ == "__main__":
    raise_fd_limit()
    asyncio.run(main())
