"""Commands end to end: an authenticated clause edit over HTTP against a real `accord serve`.

`WRITERS` connections (from bench/loadgen.py, a process of its own) each
edit clauses of their own person's agreements, one request at a time:
PUT /api/agreements/{a}/clauses/{c} with the clause's current revision, so
no edit is stale and no command retries. Each clause takes `PER_CLAUSE`
edits, then the writer moves to its next agreement, so the stream a command
loads stays as long as a real agreement's (2 to 52 events). No
Idempotency-Key (it is optional; it would add a lookup and a row).

Baselines from the same run, taken in turn with it: the minimal litestar
route (bench/minimal.py) at the same concurrency, the framework's ceiling;
and Accord's own `PostgresStore.append` of one-event commands with the same
number of writers on a fresh database, what the log alone allows (the
issue's target: the HTTP command keeps at least 0.6 of it). Also the server
process's CPU time per request, which says whether the server's one core or
the log bounds the rate.

The peer (issue 12): bench/peer_command.py, a hand-written litestar + asyncpg
route doing the same token lookup, reading the agreement's stream and
appending one event through the same `PostgresStore.append`, on a copy of the
Accord database's accounts, tokens and log (a database of its own, so no
follower folds its appends), driven by the same writers with the same
targets, in turn with the rest. Target: at least 0.5x the peer's requests/s.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from . import before, peer_command, procs, profile, seed
from .append import accord as store_append
from .harness import Context, Figure
from .measure import CPU, Load

WRITERS = 8
PER_CLAUSE = 50
#: Agreements seeded per writer: enough for an edit rate far above what is expected.
AGREEMENTS_PER_WRITER = 120


class Edited:
    """An Accord server with writers and their agreements, and the load it took."""

    def __init__(self, ctx: Context, name: str, tree: Path | None) -> None:
        self.ctx, self.name = ctx, name
        self.dsn = ctx.server.create_database("bench_http")
        self.server = procs.accord(self.dsn, ctx.scratch, name, tree)
        self.load = Load(ctx, self.server)
        self.writers: list[seed.Person] = []
        self.targets: list[list[list]] = []

    async def setup(self) -> None:
        await self.server.wait_http("/health/ready")
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as client:
            self.writers = await seed.people(client, "writer", WRITERS)
            events = []
            for w in self.writers:
                mine = []
                for _ in range(AGREEMENTS_PER_WRITER):
                    evs, agreement_id, clause_id = seed.one_clause_agreement(w.person_id, seed.now())
                    events += evs
                    mine.append([str(agreement_id), str(clause_id), 1])
                self.targets.append(mine)
            await seed.caught_up(client, await seed.append(self.dsn, events))

    def connections(self, r: int, rounds: int) -> list[dict]:
        """The load generator's connections for round `r`: each writer's own slice of its agreements."""
        per_round = AGREEMENTS_PER_WRITER // rounds
        return [
            {"kind": "edit", "token": w.token, "per_target": PER_CLAUSE,
             "targets": self.targets[i][r * per_round : (r + 1) * per_round]}
            for i, w in enumerate(self.writers)
        ]

    async def round(self, r: int, rounds: int, warmup: float, seconds: float) -> None:
        connections = self.connections(r, rounds)
        profiled = r == 0 and self.name == "accord"
        sampling = await profile.start(self.ctx, self.server.pid, "http-edit", seconds) if profiled else None
        await self.load.run({"warmup": warmup, "duration": seconds, "connections": connections})
        await profile.finish(self.ctx, sampling, "http-edit")

    def stop(self) -> None:
        self.server.stop()
        self.ctx.server.drop_database(self.dsn)


async def run(ctx: Context) -> list[Figure]:
    rounds, seconds, warmup = (1, 3.0, 0.5) if ctx.quick else (3, 6.0, 1.0)
    accords = [Edited(ctx, "accord", None)]
    if (tree := before.overlay(ctx)) is not None:
        accords.append(Edited(ctx, "accord-before", tree))
    minimal = procs.minimal(ctx.scratch)
    peer: procs.Proc | None = None
    peer_dsn: str | None = None
    try:
        await minimal.wait_http("/small")
        for a in accords:
            await a.setup()
        ctx.say(f"seeded {WRITERS * AGREEMENTS_PER_WRITER} agreements for {WRITERS} writers")
        peer_dsn = ctx.server.create_database("bench_http_peer")
        await peer_command.prepare(accords[0].dsn, peer_dsn)
        peer = procs.peer("peer_command", peer_dsn, ctx.scratch)
        await peer.wait_tcp()
        bare, appends, hand = Load(ctx, minimal), [0, 0.0], Load(ctx, peer)
        append_cpu = CPU(ctx, None)
        for r in range(rounds):
            for a in accords:
                await a.round(r, rounds, warmup, seconds)
            await bare.run({"warmup": warmup, "duration": seconds,
                            "connections": [{"kind": "get", "path": "/small"}] * WRITERS})
            # The same writers, tokens and agreements (copied), the same edits.
            await hand.run({"warmup": warmup, "duration": seconds, "connections": accords[0].connections(r, rounds)})
            fresh = ctx.server.create_database("bench_http_append")
            try:
                with append_cpu:
                    commands, elapsed = await store_append(fresh, WRITERS, 1, seconds)
            finally:
                ctx.server.drop_database(fresh)
            appends[0] += commands
            appends[1] += elapsed
            ctx.say(f"round {r + 1}: edits {accords[0].load.rate:,.0f}/s, peer {hand.rate:,.0f}/s, "
                    f"minimal {bare.rate:,.0f}/s, append {appends[0] / appends[1]:,.0f}/s (so far)")
    finally:
        for a in accords:
            a.stop()
        minimal.stop()
        if peer is not None:
            peer.stop()
        if peer_dsn is not None:
            ctx.server.drop_database(peer_dsn)

    edits = accords[0].load
    n = f"{WRITERS} connections"
    edit = Figure("http", f"accord: authenticated clause edit (PUT), {n}", edits.rate, "requests/s")
    base = Figure("http", f"minimal litestar route (GET, small Struct), {n}", bare.rate, "requests/s")
    log = Figure("http", f"accord PostgresStore.append, 1-event commands, {WRITERS} writers", appends[0] / appends[1], "commands/s")
    peer_edit = Figure("http", f"peer: token lookup + stream read + PostgresStore.append (PUT), {n}", hand.rate, "requests/s")
    edit.against(log, 0.6).against(peer_edit, 0.5).against(base)
    e50, e99 = edits.latency_figures("http", "accord clause edit")
    b50, b99 = bare.latency_figures("http", "minimal litestar route")
    q50, q99 = hand.latency_figures("http", "peer edit")
    e50.against(b50).against(q50)
    e99.against(b99).against(q99)
    ecpu = Figure("http", "accord serve CPU per clause edit", edits.per_request_ms(edits.cpu.server_s), "ms")
    bcpu = Figure("http", "minimal litestar CPU per request", bare.per_request_ms(bare.cpu.server_s), "ms")
    qcpu = Figure("http", "peer CPU per edit", hand.per_request_ms(hand.cpu.server_s), "ms")
    ecpu.against(bcpu).against(qcpu)
    figures = [edit, base, log, peer_edit, e50, e99, b50, b99, q50, q99, ecpu, bcpu, qcpu]
    if ctx.postmaster:
        pg_edit = Figure("http", "PostgreSQL CPU per clause edit", edits.per_request_ms(edits.cpu.postgres_s), "ms")
        pg_append = Figure("http", "PostgreSQL CPU per store append", append_cpu.postgres_s * 1000 / max(1, appends[0]), "ms")
        pg_peer = Figure("http", "PostgreSQL CPU per peer edit", hand.per_request_ms(hand.cpu.postgres_s), "ms")
        pg_edit.against(pg_append).against(pg_peer)
        figures += [pg_edit, pg_append, pg_peer]
    if len(accords) > 1:
        old = accords[1].load
        b = Figure("http", f"before: authenticated clause edit (PUT), {n}", old.rate, "requests/s")
        bc = Figure("http", "before: accord serve CPU per clause edit", old.per_request_ms(old.cpu.server_s), "ms")
        edit.against(b)
        ecpu.against(bc)
        figures += [b, bc]
        ctx.note(old.cpu_note("http clause edits, before"))
    ctx.note(edits.cpu_note("http clause edits"))
    ctx.note(bare.cpu_note("http minimal litestar route"))
    ctx.note(hand.cpu_note("http peer edits"))
    for a in accords:
        if set(a.load.statuses) != {"200"}:
            ctx.note(f"http clause edits ({a.name}) answered {a.load.statuses}")
    if set(hand.statuses) != {"200"}:
        ctx.note(f"http peer edits answered {hand.statuses}")
    return figures
