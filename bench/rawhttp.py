"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

httpx costs several times more CPU per request than the servers measured here
spend, and the load generator shares the machine's two cores with the server
and PostgreSQL, so the load processes speak HTTP/1.1 themselves: one request
at a time per connection, responses framed by Content-Length.
"""

from __future__ import annotations

import asyncio

import msgspec


class HTTPConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> HTTPConnection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def encode(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def send(self, raw: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one encoded request; (status, lower-cased headers, body)."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError) as error:
            if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                raise
            # The server closed an idle keep-alive connection before reading this request.
            await self.reopen()
            self.writer.write(raw)  # type: ignore[union-attr]
            head = await self.reader.readuntil(b"\r\n\r\n")  # type: ignore[union-attr]
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        body = await self.reader.readexactly(length) if length else b""
        if headers.get(b"connection", b"").lower() == b"close":
            await self.reopen()
        return status, headers, body

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, json: object = None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        hdrs = dict(headers or {})
        body = b""
        if json is not None:
            body = msgspec.json.encode(json)
            hdrs["content-type"] = "application/json"
        return await self.send(self.encode(method, path, hdrs, body))

    async def reopen(self) -> None:
        self.close()
        await self.open()
