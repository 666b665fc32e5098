"""Setting up a running `accord serve` for a section: people over its HTTP API, agreements in its log.

People register and sign in over HTTP (the bench server hashes with the
cheapest argon2 parameters). Bulk agreements are made by the domain and
appended straight to the log (the server's follower folds them like any
other append), which is much faster than commands and measures nothing.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from uuid import UUID, uuid4

import httpx

from domain.agreement import Agreement
from service.store.base import NewEvent
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore

PASSWORD = "bench passphrase"
CLAUSE = "Barriers with new partners until we have both seen recent test results."


class Person:
    def __init__(self, handle: str, person_id: UUID, token: str) -> None:
        self.handle, self.person_id, self.token = handle, person_id, token

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def person(client: httpx.AsyncClient, handle: str) -> Person:
    r = await client.post("/api/accounts", json={"handle": handle, "display_name": handle.title(), "password": PASSWORD})
    r.raise_for_status()
    r = await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
    r.raise_for_status()
    session = r.json()
    return Person(handle, UUID(session["person"]["person_id"]), session["token"])


async def people(client: httpx.AsyncClient, prefix: str, count: int) -> list[Person]:
    return list(await asyncio.gather(*(person(client, f"{prefix}{i}") for i in range(count))))


async def call(client: httpx.AsyncClient, method: str, path: str, who: Person, body: object = None) -> dict:
    r = await client.request(method, path, headers=who.auth, json=body)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}


def one_clause_agreement(creator: UUID, now: datetime) -> tuple[list, UUID, UUID]:
    """Created + ClauseAdded: the events, the agreement id, the clause id (at revision 1)."""
    agreement = Agreement.create("Bench agreement", creator, now)
    clause_id = uuid4()
    agreement.add_clause(creator, clause_id, "safer_sex", CLAUSE, now)
    return agreement.collect_events(), agreement.id, clause_id


def shared_agreement(creator: UUID, others: list[tuple[UUID, str]], clauses: int, now: datetime) -> tuple[list, UUID, list[UUID]]:
    """An agreement of `creator` and `others` (id, handle), with `clauses` clauses."""
    rng = random.Random(8)
    agreement = Agreement.create("Bench agreement", creator, now)
    for person_id, handle in others:
        agreement.invite(creator, person_id, now, handle=handle)
        agreement.accept_invitation(person_id, now)
    ids = []
    for i in range(clauses):
        ids.append(uuid4())
        words = " ".join(rng.choices(CLAUSE.split(), k=30))
        agreement.add_clause(creator, ids[-1], ("safer_sex", "scheduling", "check_ins", "privacy")[i % 4], words, now)
    return agreement.collect_events(), agreement.id, ids


async def append(dsn: str, events: list) -> int:
    """Append domain events (any streams) in commands of at most 500; the last position."""
    mapper = MsgspecMapper()
    store = PostgresStore(dsn, min_pool=1, max_pool=1)
    await store.open()
    try:
        last = 0
        for i in range(0, len(events), 500):
            stored = [mapper.to_stored_event(e) for e in events[i : i + 500]]
            appended = await store.append([NewEvent(s.originator_id, s.originator_version, s.topic, s.state) for s in stored])
            last = appended.last_position
        return last
    finally:
        await store.close()


def now() -> datetime:
    return datetime.now(timezone.utc)


async def caught_up(client: httpx.AsyncClient, position: int, timeout: float = 60.0) -> None:
    """Wait until the server's follower has folded `position`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.get("/health")).json()["position"] < position:
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"server did not reach position {position}")
        await asyncio.sleep(0.05)
