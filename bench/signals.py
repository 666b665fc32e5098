"""Signals: from a signal's send to its arrival on the last recipient socket, against a plain websockets broadcast.

One person has a signal channel open with each of 20 partners (a signal names
at most 20 people: domain/signals.py `MAX_RECIPIENTS`), who hold 1,000
sockets between them (50 each, signed in in turn) from bench/wsclients.py, a
process of its own. The sender posts a signal to all 20 over HTTP, ~30
times, one at a time; for each, the time from the send's HTTP response (and,
for context, its request) to the arrival of its `update` frame at the last of
the 1,000 sockets. The peer: bench/ws_baseline.py broadcasting a frame of the
same size to the same number of sockets of the same client process, as in the
live section. Target: p99 at most 2x the peer's.
"""

from __future__ import annotations

import httpx

from domain.network import PartnerLink
from domain.signals import MAX_RECIPIENTS

from . import procs, profile, seed
from .harness import Context, Figure
from .live import Watch, fanout, plain_broadcast
from .rawhttp import HTTPConnection

SOCKETS = 1000


class SignalDriver:
    """The sender posts a signal to every recipient; the position is the response's Accord-Position."""

    def __init__(self, port: int, token: str, recipients: list[str]) -> None:
        self.port, self.token, self.recipients = port, token, recipients
        self.http: HTTPConnection | None = None
        self.sent = 0

    async def command(self) -> int:
        if self.http is None:
            self.http = await HTTPConnection("127.0.0.1", self.port).open()
        self.sent += 1
        body = {"to": self.recipients, "kind": "still_here", "note": f"Signal {self.sent}, thinking of you."}
        status, headers, answer = await self.http.request(
            "POST", "/api/signals", {"authorization": f"Bearer {self.token}"}, body
        )
        if status != 201:
            raise RuntimeError(f"signal answered {status}: {answer[:300]!r}")
        return int(headers[b"accord-position"])


async def channels(client: httpx.AsyncClient, sender: seed.Person, recipients: list[seed.Person]) -> None:
    """Partners, each with a channel open both ways."""
    for r in recipients:
        await seed.call(client, "POST", "/api/links", sender, {"handle": r.handle})
        await seed.call(client, "POST", f"/api/links/{PartnerLink.id_for(sender.person_id, r.person_id)}/confirm", r)
        await seed.call(client, "PUT", f"/api/signals/channels/{r.person_id}", sender, {"open": True})
        await seed.call(client, "PUT", f"/api/signals/channels/{sender.person_id}", r, {"open": True})


async def run(ctx: Context) -> list[Figure]:
    commands = 10 if ctx.quick else 30
    dsn = ctx.server.create_database("bench_signals")
    server = procs.accord(dsn, ctx.scratch, "accord")
    baseline: procs.Proc | None = None
    try:
        await server.wait_http("/health/ready")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            sender, *recipients = await seed.people(client, "signaller", MAX_RECIPIENTS + 1)
            await channels(client, sender, recipients)
        url = f"ws://127.0.0.1:{server.port}/api/live"
        tokens = [r.token for r in recipients]
        driver = SignalDriver(server.port, sender.token, [str(r.person_id) for r in recipients])
        async with Watch(url, tokens, len(tokens)) as warm:
            await fanout(warm, driver, 3)
        payload = warm.closed["frame_bytes"]
        baseline, base_url, base_driver = await plain_broadcast(ctx, payload)

        async with Watch(url, tokens, SOCKETS) as watch:
            sampling = await profile.start(ctx, server.pid, "signals", 60)
            a = await fanout(watch, driver, commands)
            await profile.finish(ctx, sampling, "signals")
        async with Watch(base_url, ["watch"], SOCKETS) as watch:
            b = await fanout(watch, base_driver, commands)
        n = f"{MAX_RECIPIENTS} recipients on {SOCKETS:,} sockets"
        a50 = Figure("signals", f"accord: signal send response to last receipt, {n}, p50", a.p(0.5), "ms")
        a99 = Figure("signals", f"accord: signal send response to last receipt, {n}, p99", a.p(0.99), "ms")
        b99 = Figure("signals", f"plain websockets: answer to last receipt, {SOCKETS:,} sockets, p99", b.p(0.99), "ms")
        a99.against(b99, 2.0, at_most=True)
        ar50 = Figure("signals", f"accord: signal send request to last receipt, {n}, p50", a.p(0.5, a.from_request), "ms")
        ar = Figure("signals", f"accord: signal send request to last receipt, {n}, p99", a.p(0.99, a.from_request), "ms")
        br = Figure("signals", f"plain websockets: command to last receipt, {SOCKETS:,} sockets, p99", b.p(0.99, b.from_request), "ms")
        ar.against(br)
        ctx.say(f"signals: accord p99 {a99.value:.1f} ms, plain {b99.value:.1f} ms ({a99.value / b99.value:.2f}x)")
        ctx.note(f"signals: update frames of about {payload} bytes (a recipient's signals view and inbox); "
                 f"{SOCKETS // MAX_RECIPIENTS} sockets per recipient; a signal names at most {MAX_RECIPIENTS} people")
        return [a50, a99, b99, ar50, ar, br]
    finally:
        server.stop()
        if baseline is not None:
            baseline.stop()
        ctx.server.drop_database(dsn)
