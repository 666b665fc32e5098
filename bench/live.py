"""Live fan-out: websocket clients watching one agreement, against a plain websockets broadcast.

Ten people are parties of one agreement (five clauses); 100 and then 1,000
sockets, signed in as those people in turn, watch it from bench/wsclients.py
(a process of its own). One party edits a clause over HTTP, ~30 times, one
edit at a time; for each, the time from the edit's HTTP response to the
arrival of its `update` frame at the last of the sockets (p50, p99), and,
for context, from the request. The peer: bench/ws_baseline.py, a plain
`websockets` server that broadcasts a frame of the same size to the same
number of clients of the same client process, its "command" being a frame on
one more socket that it answers after broadcasting. Target: p99 at most 2x
the peer's, with 1,000 sockets.

Memory: each server, warmed with a few sockets and commands, then holding
5,000 idle (signed-in, synced) sockets: the growth of its resident memory
over the connections. Target: at most 2x the peer's per connection.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from . import before, procs, profile, seed
from .harness import Context, Figure
from .measure import CPU
from .rawhttp import HTTPConnection
from .wsclients import Socket, open_socket

PARTIES = 10
CLAUSES = 5


class Fanout:
    def __init__(self) -> None:
        self.from_response: list[float] = []
        self.from_request: list[float] = []
        #: The server's CPU time per command (its HTTP request and every push), when measured.
        self.cpu_ms = float("nan")

    def p(self, q: float, values: list[float] | None = None) -> float:
        return procs.percentile(sorted(self.from_response if values is None else values), q)


class Watch:
    """bench/wsclients.py holding `sockets` signed-in sockets, and the arrivals it reports."""

    def __init__(self, url: str, tokens: list[str], sockets: int) -> None:
        self.spec = {"url": url, "tokens": tokens, "sockets": sockets}
        self.complete: dict[int, asyncio.Future[dict]] = {}
        self.connected: dict = {}
        self.closed: dict = {}

    def _waiter(self, position: int) -> asyncio.Future[dict]:
        if position not in self.complete:
            self.complete[position] = asyncio.get_running_loop().create_future()
        return self.complete[position]

    async def __aenter__(self) -> Watch:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.wsclients", cwd=procs.ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(self.spec).encode() + b"\n")
        await self.proc.stdin.drain()
        self.connected = await self._line(300)
        self.reading = asyncio.create_task(self._read())
        return self

    async def _line(self, timeout: float) -> dict:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            err = await self.proc.stderr.read() if self.proc.stderr else b""
            raise RuntimeError(f"websocket clients failed:\n{err.decode(errors='replace')[-3000:]}")
        return json.loads(line)

    async def _read(self) -> None:
        while True:
            message = await self._line(3600)
            if "position" in message:
                self._waiter(message["position"]).set_result(message)
            else:
                self.closed = message
                return

    async def arrivals(self, position: int, timeout: float = 20.0) -> dict:
        return await asyncio.wait_for(asyncio.shield(self._waiter(position)), timeout)

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"close\n")
            await self.proc.stdin.drain()
            await asyncio.wait_for(self.reading, 120)
            await asyncio.wait_for(self.proc.wait(), 30)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


async def idle_memory(ctx: Context, server: procs.Proc, url: str, tokens: list[str], sockets: int) -> float:
    """Resident memory the server grows by per idle socket, in bytes."""
    await asyncio.sleep(0.5)
    before = server.rss()
    async with Watch(url, tokens, sockets) as watch:
        await asyncio.sleep(2.0)  # idle: whatever connecting left to do is done
        after = server.rss()
    ctx.say(f"{server.name}: {watch.connected['connected']} sockets in {watch.connected['seconds']:.1f} s, "
            f"RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB")
    return (after - before) / watch.connected["connected"]


class AccordDriver:
    """One party edits a clause over HTTP; the position is the response's Accord-Position."""

    def __init__(self, port: int, token: str, agreement: str, clause: str) -> None:
        self.port, self.token, self.revision = port, token, 1
        self.path = f"/api/agreements/{agreement}/clauses/{clause}"
        self.http: HTTPConnection | None = None

    async def command(self) -> int:
        if self.http is None:
            self.http = await HTTPConnection("127.0.0.1", self.port).open()
        body = {"text": f"{seed.CLAUSE} (edit {self.revision}).", "based_on_revision": self.revision}
        status, headers, answer = await self.http.request(
            "PUT", self.path, {"authorization": f"Bearer {self.token}"}, body
        )
        if status != 200:
            raise RuntimeError(f"edit answered {status}: {answer[:300]!r}")
        self.revision += 1
        return int(headers[b"accord-position"])


class BaselineDriver:
    """A `command` frame on a socket of its own; the plain server answers `done` with the position."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sock: Socket | None = None
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    async def command(self) -> int:
        if self.sock is None:
            self.sock = await open_socket(self.url, lambda _s, message, _t: self.answers.put_nowait(message))
            self.sock.send_text(json.dumps({"type": "auth", "token": "driver"}))
        self.sock.send_text('{"type":"command"}')
        return json.loads(await self.answers.get())["position"]


async def fanout(watch: Watch, driver: AccordDriver | BaselineDriver, commands: int) -> Fanout:
    """`commands` commands one after another, each once the last socket has the previous one."""
    result = Fanout()
    for _ in range(commands):
        t_request = time.monotonic()
        position = await driver.command()
        t_response = time.monotonic()
        arrived = await watch.arrivals(position)
        result.from_response.append((arrived["last"] - t_response) * 1000)
        result.from_request.append((arrived["last"] - t_request) * 1000)
        await asyncio.sleep(0.02)  # let both sides settle
    return result


async def plain_broadcast(ctx: Context, payload: int) -> tuple[procs.Proc, str, BaselineDriver]:
    """The peer, started and warmed: bench/ws_baseline.py broadcasting `payload` bytes; its URL and driver."""
    baseline = procs.ws_baseline(ctx.scratch, payload)
    await baseline.wait_tcp()
    base_url = f"ws://127.0.0.1:{baseline.port}/"
    driver = BaselineDriver(base_url)
    async with Watch(base_url, ["watch"], 10) as warm:
        await fanout(warm, driver, 3)
    return baseline, base_url, driver


class Watched:
    """An Accord server with ten parties of one agreement, and its driver."""

    def __init__(self, ctx: Context, name: str, tree: Path | None) -> None:
        self.ctx, self.name = ctx, name
        self.dsn = ctx.server.create_database("bench_live")
        self.server = procs.accord(self.dsn, ctx.scratch, name, tree)
        self.url = f"ws://127.0.0.1:{self.server.port}/api/live"
        self.tokens: list[str] = []
        self.driver: AccordDriver | None = None
        self.payload = 0

    async def setup(self) -> None:
        await self.server.wait_http("/health/ready")
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as client:
            parties = await seed.people(client, "party", PARTIES)
            events, agreement_id, clause_ids = seed.shared_agreement(
                parties[0].person_id, [(p.person_id, p.handle) for p in parties[1:]], CLAUSES, seed.now()
            )
            await seed.caught_up(client, await seed.append(self.dsn, events))
        self.tokens = [p.token for p in parties]
        self.driver = AccordDriver(self.server.port, parties[0].token, str(agreement_id), str(clause_ids[0]))
        async with Watch(self.url, self.tokens, 10) as warm:
            await fanout(warm, self.driver, 3)
        self.payload = warm.closed["frame_bytes"]

    async def fanout(self, sockets: int, commands: int, profiled: bool = False) -> Fanout:
        assert self.driver is not None
        async with Watch(self.url, self.tokens, sockets) as watch:
            sampling = await profile.start(self.ctx, self.server.pid, f"live-{sockets}", 4) if profiled else None
            with CPU(self.ctx, self.server) as cpu:
                result = await fanout(watch, self.driver, commands)
            result.cpu_ms = cpu.server_s * 1000 / commands
            await profile.finish(self.ctx, sampling, f"live-{sockets}")
        return result

    def stop(self) -> None:
        self.server.stop()
        self.ctx.server.drop_database(self.dsn)


async def run(ctx: Context) -> list[Figure]:
    commands = 10 if ctx.quick else 30
    sizes = (100, 1000)
    idle_sockets = 1000 if ctx.quick else 5000
    accords = [Watched(ctx, "accord", None)]
    if (tree := before.overlay(ctx)) is not None:
        accords.append(Watched(ctx, "accord-before", tree))
    baseline: procs.Proc | None = None
    figures: list[Figure] = []
    try:
        for a in accords:
            await a.setup()
        payload = accords[0].payload
        ctx.say(f"accord's update frame: {payload} bytes")
        baseline, base_url, base_driver = await plain_broadcast(ctx, payload)

        # Memory first, on servers that have only been warmed.
        memory = {a.name: await idle_memory(ctx, a.server, a.url, a.tokens, idle_sockets) for a in accords}
        mem_base = await idle_memory(ctx, baseline, base_url, ["watch"], idle_sockets)

        for sockets in sizes:
            runs = [await a.fanout(sockets, commands, profiled=a.name == "accord" and sockets == sizes[-1])
                    for a in accords]
            async with Watch(base_url, ["watch"], sockets) as watch:
                b = await fanout(watch, base_driver, commands)
            a = runs[0]
            n = f"{sockets:,} sockets"
            target = 2.0 if sockets == 1000 else None
            a50 = Figure("live", f"accord: edit response to last receipt, {n}, p50", a.p(0.5), "ms")
            a99 = Figure("live", f"accord: edit response to last receipt, {n}, p99", a.p(0.99), "ms")
            b50 = Figure("live", f"plain websockets: answer to last receipt, {n}, p50", b.p(0.5), "ms")
            b99 = Figure("live", f"plain websockets: answer to last receipt, {n}, p99", b.p(0.99), "ms")
            a99.against(b99, target, at_most=True)
            ar = Figure("live", f"accord: edit request to last receipt, {n}, p99", a.p(0.99, a.from_request), "ms")
            br = Figure("live", f"plain websockets: command to last receipt, {n}, p99", b.p(0.99, b.from_request), "ms")
            ar.against(br)
            cpu = Figure("live", f"accord serve CPU per edit pushed to {n}", a.cpu_ms, "ms")
            figures += [a50, a99, b50, b99, ar, br, cpu]
            for old in runs[1:]:
                o99 = Figure("live", f"before: edit response to last receipt, {n}, p99", old.p(0.99), "ms")
                orq = Figure("live", f"before: edit request to last receipt, {n}, p99", old.p(0.99, old.from_request), "ms")
                ocpu = Figure("live", f"before: accord serve CPU per edit pushed to {n}", old.cpu_ms, "ms")
                a99.against(o99)
                ar.against(orq)
                cpu.against(ocpu)
                figures += [o99, orq, ocpu]
            ctx.say(f"{n}: accord p99 {a99.value:.1f} ms, plain {b99.value:.1f} ms")
        ma = Figure("live", f"accord: resident memory per idle socket, {idle_sockets:,} sockets", memory["accord"] / 1024, "KiB")
        mb = Figure("live", f"plain websockets: resident memory per idle socket, {idle_sockets:,} sockets", mem_base / 1024, "KiB")
        ma.against(mb, 2.0, at_most=True)
        figures += [ma, mb]
        if "accord-before" in memory:
            mo = Figure("live", f"before: resident memory per idle socket, {idle_sockets:,} sockets", memory["accord-before"] / 1024, "KiB")
            ma.against(mo)
            figures.append(mo)
        ctx.note(f"live: update frames of {payload} bytes (a party's view of a {PARTIES}-party, {CLAUSES}-clause "
                 f"agreement); sockets signed in as the {PARTIES} parties in turn; no compression offered. "
                 "Accord queues an update to every socket before it answers the edit, so the last socket "
                 "may have it before the editor has the answer: a p50 below zero")
    finally:
        for a in accords:
            a.stop()
        if baseline is not None:
            baseline.stop()
    return figures
