"""Consented view reads: GET /api/agreements/{id} by a metamour and by a party.

Mina and Jo are the parties of an agreement in force (six clauses, a few
edits, both consents: 18 events); Jo and Sam are partners, so Sam is Mina's
metamour, and a grant to Sam of the safer-sex clause and the parties' names
holds. Around them, so the read models are not trivially small: 300
agreements of other people (about 9,000 events, from bench/agreements.py)
and 1,000 live partner links among 1,500 other people.

A metamour's view comes from this process's read models (the policy over
the agreement's facts, its grants and the network); a party's view loads
the agreement's stream from the log on every read (service/application.py,
view_agreement). Each is read by `CONNECTIONS` connections from
bench/loadgen.py; the baseline is the minimal litestar route at the same
concurrency, in turn with them. Target: at least 0.5x the baseline's
requests/s.

The peer (issue 12): bench/peer_view.py, a hand-written litestar + asyncpg
route that does the same bearer-token lookup in `accord_tokens` and fetches
one stored document by primary key, the very bytes Accord answered Sam and
Mina (stored in `bench_documents` in the same database), read by the same
tokens at the same concurrency, in turn with the others. Target: each view at
least 0.5x its peer's requests/s.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import httpx

from domain.network import PartnerLink

from . import before, peer_view, procs, profile, seed
from .agreements import encoded
from .harness import Context, Figure
from .measure import Load
from .rebuild import seed as copy_log

CONNECTIONS = 8
BACKGROUND_EVENTS = 9_000
BACKGROUND_LINKS = 1_000
TOPICS = ("safer_sex", "scheduling", "check_ins", "privacy", "boundaries", "metamour_contact")


def background_links(count: int) -> list:
    """`count` confirmed partner links among 1.5x as many people: domain events."""
    rng = random.Random(8)
    people = [UUID(int=rng.getrandbits(128), version=4) for _ in range(count * 3 // 2)]
    events, seen, now = [], set(), seed.now() - timedelta(days=30)
    while len(seen) < count:
        a, b = rng.sample(people, 2)
        if PartnerLink.id_for(a, b) in seen:
            continue
        seen.add(PartnerLink.id_for(a, b))
        link = PartnerLink.propose(a, b, now)
        link.confirm(b, now)
        events += link.collect_events()
    return events


async def scenario(client: httpx.AsyncClient) -> tuple[seed.Person, seed.Person, str]:
    """The walk-through's people over HTTP: (a party, the metamour, the agreement id)."""
    mina, jo, sam = [await seed.person(client, h) for h in ("mina", "jo", "sam")]
    call = seed.call
    agreement = (await call(client, "POST", "/api/agreements", mina, {"title": "Mina & Jo"}))["agreement_id"]
    base = f"/api/agreements/{agreement}"
    await call(client, "POST", f"{base}/invitations", mina, {"handle": "jo"})
    await call(client, "POST", f"{base}/invitation/accept", jo)
    clauses = []
    for i, topic in enumerate(TOPICS):
        view = await call(client, "POST", f"{base}/clauses", mina if i % 2 else jo,
                          {"topic": topic, "text": f"{seed.CLAUSE} About {topic.replace('_', ' ')}."})
        clauses = view["clauses"]
    for clause in clauses[:3]:
        await call(client, "PUT", f"{base}/clauses/{clause['clause_id']}", jo,
                   {"text": clause["text"] + " Revised together.", "based_on_revision": clause["revision"]})
    version = (await call(client, "GET", base, mina))["version"]
    await call(client, "POST", f"{base}/consents", mina, {"version": version})
    await call(client, "POST", f"{base}/consents", jo, {"version": version})
    await call(client, "POST", "/api/links", mina, {"handle": "jo"})
    link = (await call(client, "GET", "/api/network", jo))["links"][0]["link_id"]
    await call(client, "POST", f"/api/links/{link}/confirm", jo)
    await call(client, "POST", "/api/links", jo, {"handle": "sam"})
    link = (await call(client, "GET", "/api/network", sam))["links"][0]["link_id"]
    await call(client, "POST", f"/api/links/{link}/confirm", sam)
    grant = await call(client, "POST", f"{base}/grants", jo, {"audience": "sam", "scopes": ["clauses:safer_sex", "identity"]})
    await call(client, "POST", f"{base}/grants/{grant['grant_id']}/consent", mina)
    shared = await call(client, "GET", base, sam)
    if shared.get("access") != "metamour" or not shared.get("clauses"):
        raise RuntimeError(f"the metamour does not see the shared clause: {shared}")
    return mina, sam, agreement


class Viewed:
    """An Accord server with the walk-through and its background, and the loads it took."""

    def __init__(self, ctx: Context, name: str, tree: Path | None) -> None:
        self.ctx, self.name = ctx, name
        self.dsn = ctx.server.create_database("bench_views")
        self.server = procs.accord(self.dsn, ctx.scratch, name, tree)
        self.loads = {kind: Load(ctx, self.server) for kind in ("metamour", "party", "health", "me")}
        self.connections: dict[str, dict] = {}
        #: The views as Accord answered them, keyed for bench/peer_view.py.
        self.documents: dict[str, bytes] = {}

    async def setup(self) -> None:
        await self.server.wait_http("/health/ready")
        await copy_log(self.dsn, encoded(seed=9, agreements=None), BACKGROUND_EVENTS)
        position = await seed.append(self.dsn, background_links(BACKGROUND_LINKS))
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as client:
            await seed.caught_up(client, position)
            mina, sam, agreement = await scenario(client)
            for who in (sam, mina):
                r = await client.get(f"/api/agreements/{agreement}", headers=who.auth)
                r.raise_for_status()
                self.documents[peer_view.key(agreement, who.person_id)] = r.content
        path = f"/api/agreements/{agreement}"
        self.connections = {
            "metamour": {"kind": "get", "path": path, "token": sam.token},
            "party": {"kind": "get", "path": path, "token": mina.token},
            "health": {"kind": "get", "path": "/health"},
            "me": {"kind": "get", "path": "/api/me", "token": mina.token},
        }

    async def round(self, r: int, warmup: float, seconds: float, kinds: tuple[str, ...]) -> None:
        for kind in kinds:
            name = f"views-{kind}"
            profiled = r == 0 and self.name == "accord" and kind in ("metamour", "party")
            sampling = await profile.start(self.ctx, self.server.pid, name, seconds) if profiled else None
            await self.loads[kind].run(
                {"warmup": warmup, "duration": seconds, "connections": [self.connections[kind]] * CONNECTIONS}
            )
            await profile.finish(self.ctx, sampling, name)

    def stop(self) -> None:
        self.server.stop()
        self.ctx.server.drop_database(self.dsn)


async def run(ctx: Context) -> list[Figure]:
    rounds, seconds, warmup = (1, 2.0, 0.5) if ctx.quick else (2, 4.0, 1.0)
    accords = [Viewed(ctx, "accord", None)]
    if (tree := before.overlay(ctx)) is not None:
        accords.append(Viewed(ctx, "accord-before", tree))
    minimal = procs.minimal(ctx.scratch)
    bare = Load(ctx, minimal)
    peer: procs.Proc | None = None
    peers: dict[str, Load] = {}
    try:
        await minimal.wait_http("/small")
        for a in accords:
            await a.setup()
        ctx.say(f"seeded {BACKGROUND_EVENTS:,} background events, {BACKGROUND_LINKS:,} links and the walk-through")
        await peer_view.prepare(accords[0].dsn, accords[0].documents)
        peer = procs.peer("peer_view", accords[0].dsn, ctx.scratch)
        await peer.wait_tcp()
        peers = {kind: Load(ctx, peer) for kind in ("metamour", "party")}
        sizes = ", ".join(f"{len(d):,}" for d in accords[0].documents.values())
        ctx.note(f"views: the peer's stored documents (Accord's answers to the metamour and the party): {sizes} bytes")
        for r in range(rounds):
            await accords[0].round(r, warmup, seconds, ("metamour", "party", "health", "me"))
            for a in accords[1:]:
                await a.round(r, warmup, seconds, ("metamour", "party"))
            await bare.run({"warmup": warmup, "duration": seconds,
                            "connections": [{"kind": "get", "path": "/small"}] * CONNECTIONS})
            for kind, load in peers.items():
                # The same path and token as Accord's read: the peer answers the document stored for that person.
                await load.run({"warmup": warmup, "duration": seconds,
                                "connections": [accords[0].connections[kind]] * CONNECTIONS})
            loads = accords[0].loads
            ctx.say(f"round {r + 1}: metamour {loads['metamour'].rate:,.0f}/s (peer {peers['metamour'].rate:,.0f}/s), "
                    f"party {loads['party'].rate:,.0f}/s (peer {peers['party'].rate:,.0f}/s), "
                    f"minimal {bare.rate:,.0f}/s (so far)")
    finally:
        for a in accords:
            a.stop()
        minimal.stop()
        if peer is not None:
            peer.stop()

    n = f"{CONNECTIONS} connections"
    loads = accords[0].loads
    base = Figure("views", f"minimal litestar route (GET, small Struct), {n}", bare.rate, "requests/s")
    b50, b99 = bare.latency_figures("views", "minimal litestar route")
    bcpu = Figure("views", "minimal litestar CPU per request", bare.per_request_ms(bare.cpu.server_s), "ms")
    health = Figure("views", f"accord: GET /health (its middleware, no sign-in), {n}", loads["health"].rate, "requests/s")
    me = Figure("views", f"accord: GET /api/me (sign-in and one account read), {n}", loads["me"].rate, "requests/s")
    health.against(base)
    me.against(base)
    figures: list[Figure] = []
    peer_figures: list[Figure] = []
    for kind, label in (("metamour", "a metamour's view"), ("party", "a party's view")):
        load, peer_load = loads[kind], peers[kind]
        f = Figure("views", f"accord: {label} (GET /api/agreements/{{id}}), {n}", load.rate, "requests/s")
        pf = Figure("views", f"peer: token lookup + one stored document, as {label}, {n}", peer_load.rate, "requests/s")
        f.against(base, 0.5).against(pf, 0.5).against(me).against(health)
        p50, p99 = load.latency_figures("views", f"accord: {label}")
        q50, q99 = peer_load.latency_figures("views", f"peer, as {label}")
        p50.against(b50).against(q50)
        p99.against(b99).against(q99)
        cpu = Figure("views", f"accord serve CPU per request, {label}", load.per_request_ms(load.cpu.server_s), "ms")
        qcpu = Figure("views", f"peer CPU per request, as {label}", peer_load.per_request_ms(peer_load.cpu.server_s), "ms")
        cpu.against(bcpu).against(qcpu)
        figures += [f, p50, p99, cpu]
        peer_figures += [pf, q50, q99, qcpu]
        for other in accords[1:]:
            old = other.loads[kind]
            b = Figure("views", f"before: {label}, {n}", old.rate, "requests/s")
            bc = Figure("views", f"before: accord serve CPU per request, {label}", old.per_request_ms(old.cpu.server_s), "ms")
            f.against(b)
            cpu.against(bc)
            figures += [b, bc]
        ctx.note(load.cpu_note(f"views, {label}"))
        ctx.note(peer_load.cpu_note(f"views, peer as {label}"))
    for a in accords:
        for kind, load in a.loads.items():
            if load.statuses and set(load.statuses) != {"200"}:
                ctx.note(f"views ({a.name}, {kind}) answered {load.statuses}")
    for kind, load in peers.items():
        if load.statuses and set(load.statuses) != {"200"}:
            ctx.note(f"views (peer, {kind}) answered {load.statuses}")
    return [*figures, health, me, base, b50, b99, bcpu, *peer_figures]
