"""A load of concurrent commands that behave as careful clients, and its accounting.

Each client adds clauses to its agreements (moving to the next before an
agreement nears its 50-clause limit), one command at a time. Every
command has its own `Idempotency-Key`, clause id and a unique marker in its
text; after a 503 (or a broken connection: the outcome is unknown) the client
sends the *same* request with the same key again, honouring Retry-After, until
it gets a 2xx. Whatever else comes back is a problem the test reports.

Afterwards `verify` checks the log against what was acknowledged: every
acknowledged command is in the agreement exactly once, at the position its
first 2xx named, and nothing else is there.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.ops.conftest import Api, Follower, Person

PROBLEM = "application/problem+json"


@dataclass
class Ack:
    status: int
    position: int
    replayed: bool
    body: Any
    at: float


@dataclass
class Command:
    client: int
    seq: int
    who: Person
    agreement_id: str
    clause_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    key: str = field(default_factory=lambda: f"ops-{uuid.uuid4().hex}")
    marker: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    #: What each attempt got: a status code, or the transport error's name.
    attempts: list[str] = field(default_factory=list)
    ack: Ack | None = None

    @property
    def text(self) -> str:
        return f"client {self.client} clause {self.seq} marker:{self.marker}"

    @property
    def path(self) -> str:
        return f"/api/agreements/{self.agreement_id}/clauses"

    @property
    def body(self) -> dict[str, str]:
        return {"topic": "check_ins", "text": self.text, "clause_id": self.clause_id}

    def headers(self) -> dict[str, str]:
        return {**self.who.headers, "Idempotency-Key": self.key}


class Load:
    #: Clauses each client adds to one agreement before it moves on (two clients share an agreement).
    PER_AGREEMENT = 24
    #: A person's pause between commands.
    THINK = 0.02

    def __init__(
        self, base_url: str, clients: list[tuple[Person, list[str]]], give_up_after: float = 30.0
    ) -> None:
        self.base_url = base_url
        self.clients = clients
        self.give_up_after = give_up_after
        self.commands: list[Command] = []
        #: Anything a careful client must never see: a false 2xx, a 500, a 503 that is not problem+json...
        self.problems: list[str] = []
        self.stop = asyncio.Event()
        #: Requests sent and not yet answered.
        self.in_flight = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client(i, who, a)) for i, (who, a) in enumerate(self.clients)]

    async def finish(self) -> None:
        """Stop issuing new commands; wait for those under way to be acknowledged (or given up)."""
        self.stop.set()
        await asyncio.gather(*self._tasks)

    async def _client(self, index: int, who: Person, agreements: list[str]) -> None:
        # One connection pool per client, as separate people's browsers would have.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            seq = 0
            while not self.stop.is_set() and seq < self.PER_AGREEMENT * len(agreements):
                command = Command(index, seq, who, agreements[seq // self.PER_AGREEMENT])
                self.commands.append(command)
                await self._send(client, command)
                seq += 1
                await asyncio.sleep(self.THINK)

    async def _send(self, client: httpx.AsyncClient, command: Command) -> None:
        started = time.monotonic()
        while True:
            self.in_flight += 1
            try:
                r = await client.post(command.path, json=command.body, headers=command.headers())
            except httpx.TransportError as error:
                command.attempts.append(type(error).__name__)
                if time.monotonic() - started > self.give_up_after:
                    self.problems.append(f"{command.key}: gave up after {command.attempts}")
                    return
                await asyncio.sleep(0.2)
                continue
            finally:
                self.in_flight -= 1
            command.attempts.append(str(r.status_code))
            if 200 <= r.status_code < 300:
                self._acknowledged(command, r)
                return
            if r.status_code >= 500:
                # A careful client retries any 5xx with the same key; anything but a 503 is still a fault.
                if r.status_code != 503:
                    self.problems.append(f"{command.key}: {r.status_code} (not 503) {r.text[:200]}")
                else:
                    self._check_unavailable(command, r)
                if time.monotonic() - started > self.give_up_after:
                    self.problems.append(f"{command.key}: gave up after {command.attempts}")
                    return
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                continue
            self.problems.append(f"{command.key}: unexpected {r.status_code} {r.text[:300]}")
            return

    def _acknowledged(self, command: Command, r: httpx.Response) -> None:
        body = r.json()
        mine = [c for c in body.get("clauses", []) if c["clause_id"] == command.clause_id]
        if len(mine) != 1 or mine[0]["text"] != command.text:
            self.problems.append(f"{command.key}: a {r.status_code} whose body lacks its clause: {r.text[:300]}")
        if "accord-position" not in r.headers:
            self.problems.append(f"{command.key}: a {r.status_code} without Accord-Position")
        command.ack = Ack(
            status=r.status_code,
            position=int(r.headers.get("accord-position", "0")),
            replayed=r.headers.get("idempotent-replayed") == "true",
            body=body,
            at=time.monotonic(),
        )

    def _check_unavailable(self, command: Command, r: httpx.Response) -> None:
        kind = r.headers.get("content-type", "")
        if not kind.startswith(PROBLEM):
            self.problems.append(f"{command.key}: 503 as {kind!r}: {r.text[:200]}")
            return
        problem = r.json()
        if problem.get("status") != 503 or not problem.get("detail"):
            self.problems.append(f"{command.key}: 503 problem without status/detail: {problem}")
        if not r.headers.get("retry-after", "").isdigit():
            self.problems.append(f"{command.key}: 503 without a Retry-After in seconds")

    # Accounting

    @property
    def acked(self) -> list[Command]:
        return [c for c in self.commands if c.ack is not None]

    def tally(self) -> Counter[str]:
        return Counter(a for c in self.commands for a in c.attempts)

    def summary(self) -> str:
        acked = self.acked
        return (
            f"{len(self.commands)} commands, {len(acked)} acknowledged "
            f"({sum(1 for c in acked if c.ack and c.ack.replayed)} as replays), "
            f"{sum(1 for c in acked if len(c.attempts) > 1)} retried; attempts {dict(self.tally())}"
        )


async def verify_log(api: Api, load: Load, owners: dict[str, Person]) -> dict[str, dict[str, Any]]:
    """Every acknowledged command is in its agreement exactly once, where its 2xx said; nothing else is.

    Returns each agreement's party view, for comparing with what live clients hold.
    What the clients met on the way (`load.problems`) is the caller's to assert.
    """
    unacknowledged = [c.key for c in load.commands if c.ack is None]
    assert not unacknowledged, f"commands never acknowledged: {unacknowledged}"
    views = {}
    for agreement_id, owner in owners.items():
        sent = {c.clause_id: c for c in load.commands if c.agreement_id == agreement_id}
        view = await api.view(owner, agreement_id)
        clauses = view["clauses"]
        ids = Counter(c["clause_id"] for c in clauses)
        assert [i for i, n in ids.items() if n > 1] == [], "a clause twice in the view"
        markers = Counter(c["text"].rsplit("marker:", 1)[-1] for c in clauses)
        assert [m for m, n in markers.items() if n > 1] == [], "two clauses carry the same client marker"
        assert set(ids) == set(sent), (
            f"acknowledged but missing: {set(sent) - set(ids)}; present but never sent: {set(ids) - set(sent)}"
        )
        for clause in clauses:
            assert clause["text"] == sent[clause["clause_id"]].text
        entries = await api.timeline(owner, agreement_id)
        added = Counter(i for e in entries if e["kind"] == "clause_added" for i in e["clause_ids"])
        assert [i for i, n in added.items() if n != 1] == [], "a command appended twice (or not at all)"
        assert set(added) == set(sent)
        at = {e["clause_ids"][0]: e["position"] for e in entries if e["kind"] == "clause_added"}
        wrong = {k: (c.ack.position, at[k]) for k, c in sent.items() if c.ack and c.ack.position != at[k]}
        assert wrong == {}, f"a 2xx named another position than the log holds (acked, logged): {wrong}"
        positions = [e["position"] for e in entries]
        assert positions == sorted(set(positions)), "timeline positions not strictly rising"
        views[agreement_id] = view
    return views


async def verify_replays(client: httpx.AsyncClient, load: Load) -> None:
    """Repeating any acknowledged command returns its first result and appends nothing."""
    sem = asyncio.Semaphore(8)

    async def repeat(command: Command) -> str | None:
        async with sem:
            r = await client.post(command.path, json=command.body, headers=command.headers())
        assert command.ack is not None
        if r.status_code != command.ack.status:
            return f"{command.key}: repeat got {r.status_code} {r.text[:200]}"
        if r.headers.get("idempotent-replayed") != "true":
            return f"{command.key}: repeat not marked Idempotent-Replayed"
        if int(r.headers["accord-position"]) != command.ack.position:
            return f"{command.key}: repeat at {r.headers['accord-position']}, first at {command.ack.position}"
        if r.json() != command.ack.body:
            return f"{command.key}: repeat body differs from the first: {json.dumps(r.json())[:200]}"
        return None

    found = [p for p in await asyncio.gather(*(repeat(c) for c in load.acked)) if p]
    assert found == [], "\n".join(found[:10])


def verify_live(follower: Follower, agreement_id: str, view: dict[str, Any], timeline: list[dict[str, Any]], since: int) -> None:
    """The live client holds what GET shows, and was told of every log position of the agreement in order.

    A position is accounted for by an update carrying the agreement, or by a
    full resync at or after it (what a client resuming from too old a
    position is sent instead).
    """
    assert follower.order_errors == [], follower.order_errors
    key = f"agreement:{agreement_id}"
    held = follower.views.get(key)
    assert held is not None, f"the live client does not hold {key}"

    def clauses(v: dict[str, Any]) -> list[tuple[str, str, int]]:
        return sorted((c["clause_id"], c["text"], c["revision"]) for c in v["clauses"])

    assert clauses(held) == clauses(view), "the live client's view differs from GET"
    assert held["version"] == view["version"]
    told = [u["position"] for u in follower.updates if any(c["key"] == key for c in u["changes"])]
    assert told == sorted(set(told)), "updates out of order or repeated"
    logged = [e["position"] for e in timeline if e["position"] > since]
    resynced = [r["position"] for r in follower.resyncs if r["position"] > since]
    missing = [p for p in logged if p not in told and not any(r >= p for r in resynced)]
    assert missing == [], f"positions the live client never learnt of: {missing}"
    stray = [p for p in told if p > since and p not in logged]
    assert stray == [], f"updates about {key} at positions that are not its events: {stray}"
