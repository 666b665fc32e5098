"""Concurrent co-editing against real PostgreSQL, through the real HTTP stack.

Two app instances (uvicorn subprocesses, each with its own connection pool)
share one fresh PostgreSQL database; two people edit through different
instances at the same moment. litestar's AsyncTestClient is not used here: it
runs each request to completion on a blocking portal, so `asyncio.gather` over
it never overlaps two requests.

- Edits of different clauses always land: the command runner reloads and
  retries on a log conflict.
- Edits of the same clause from the same revision: exactly one wins, the other
  gets 409 with the winner's text and revision, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import PASSWORD, ROOT, free_port

pytestmark = pytest.mark.postgres

ROUNDS = 30
RACES = 20


class Server:
    """`uvicorn --factory service.app:create_app` on a free port, configured by ACCORD_* variables."""

    def __init__(self, dsn: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ACCORD_DATABASE_URL": dsn,
            "ACCORD_PASSWORD_HASHING": "cheapest",
            "ACCORD_AUTH_RATE_PER_MINUTE": "10000",
            "PYTHONPATH": str(ROOT),
        }
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log_file.close()


@pytest.fixture(scope="module")
def instances(new_pg_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two app instances on one fresh PostgreSQL database."""
    dsn = new_pg_database()
    logs = tmp_path_factory.mktemp("instances")
    first = Server(dsn, logs / "first.log")
    # Let the first one create the schema before the second one starts.
    try:
        first.wait_ready()
        second = Server(dsn, logs / "second.log")
        try:
            second.wait_ready()
            yield first, second
            # Nothing went wrong on the server side while the tests ran.
            for server in (first, second):
                assert "Traceback" not in server.output(), server.output()
        finally:
            second.stop()
    finally:
        first.stop()


class Person:
    def __init__(self, client: httpx.AsyncClient, handle: str, person_id: str, token: str) -> None:
        self.client = client
        self.handle = handle
        self.id = person_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    def via(self, client: httpx.AsyncClient) -> Person:
        """The same person, with the same token, talking to another instance."""
        return Person(client, self.handle, self.id, self.token)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def expect(self, status: int, method: str, path: str, **kwargs: Any) -> Any:
        r = await self.request(method, path, **kwargs)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()


async def sign_up(client: httpx.AsyncClient, prefix: str) -> Person:
    handle = f"{prefix}_{uuid.uuid4().hex[:12]}"
    r = await client.post(
        "/api/accounts", json={"handle": handle, "display_name": prefix.title(), "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text
    session = r.json()
    return Person(client, handle, session["person"]["person_id"], session["token"])


@pytest.fixture
async def pair(instances: tuple[Server, Server]) -> AsyncIterator[tuple[Person, Person, str]]:
    """Ana on the first instance, Ben on the second, both parties of a new agreement."""
    first, second = instances
    limits = httpx.Limits(max_connections=10)
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=30, limits=limits) as c1,
        httpx.AsyncClient(base_url=second.url, timeout=30, limits=limits) as c2,
    ):
        ana, ben = await sign_up(c1, "ana"), await sign_up(c2, "ben")
        agreement = await ana.expect(201, "POST", "/api/agreements", json={"title": "Together"})
        agreement_id = agreement["agreement_id"]
        await ana.expect(202, "POST", f"/api/agreements/{agreement_id}/invitations",
                         json={"handle": ben.handle})
        await ben.expect(200, "POST", f"/api/agreements/{agreement_id}/invitation/accept")
        yield ana, ben, agreement_id


async def add_clause(person: Person, agreement_id: str, topic: str, text: str) -> str:
    clause_id = str(uuid.uuid4())
    await person.expect(201, "POST", f"/api/agreements/{agreement_id}/clauses",
                        json={"clause_id": clause_id, "topic": topic, "text": text})
    return clause_id


def clause_in(view: dict[str, Any], clause_id: str) -> dict[str, Any]:
    [clause] = [c for c in view["clauses"] if c["clause_id"] == clause_id]
    return clause


async def test_concurrent_edits_of_different_clauses_all_land(pair: tuple[Person, Person, str]) -> None:
    ana, ben, agreement_id = pair
    base = f"/api/agreements/{agreement_id}"
    x = await add_clause(ana, agreement_id, "boundaries", "x: revision 1")
    y = await add_clause(ben, agreement_id, "scheduling", "y: revision 1")
    start = (await ana.expect(200, "GET", base))["version"]
    assert start == 2

    def text(clause: str, revision: int) -> str:
        return f"{clause}: revision {revision}, written in round {revision - 1}"

    for round_ in range(1, ROUNDS + 1):
        ra, rb = await asyncio.gather(
            ana.request("PUT", f"{base}/clauses/{x}", json={"text": text("x", round_ + 1), "based_on_revision": round_}),
            ben.request("PUT", f"{base}/clauses/{y}", json={"text": text("y", round_ + 1), "based_on_revision": round_}),
        )
        assert (ra.status_code, rb.status_code) == (200, 200), (round_, ra.text, rb.text)
        # Each answer shows the caller's own edit at the revision it made.
        assert clause_in(ra.json(), x) == {"clause_id": x, "topic": "boundaries",
                                           "text": text("x", round_ + 1), "revision": round_ + 1}
        assert clause_in(rb.json(), y) == {"clause_id": y, "topic": "scheduling",
                                           "text": text("y", round_ + 1), "revision": round_ + 1}

    # Both instances read the same final state: every edit landed.
    for person in (ana, ben):
        view = await person.expect(200, "GET", base)
        assert view["version"] == start + 2 * ROUNDS
        assert clause_in(view, x) == {"clause_id": x, "topic": "boundaries",
                                      "text": text("x", ROUNDS + 1), "revision": ROUNDS + 1}
        assert clause_in(view, y) == {"clause_id": y, "topic": "scheduling",
                                      "text": text("y", ROUNDS + 1), "revision": ROUNDS + 1}

    # The timeline holds every edit, once, in order, with increasing positions.
    entries = await ben.expect(200, "GET", f"{base}/timeline")
    positions = [e["position"] for e in entries]
    assert positions == sorted(set(positions))
    edits = [e for e in entries if e["kind"] == "clause_edited"]
    assert len(edits) == 2 * ROUNDS
    assert [e["version"] for e in edits] == list(range(start + 1, start + 2 * ROUNDS + 1))
    for clause, actor in ((x, ana.id), (y, ben.id)):
        mine = [e for e in edits if e["clause_ids"] == [clause]]
        assert [e["actor"] for e in mine] == [actor] * ROUNDS
        revisions = [int(re.search(r"revision (\d+)", e["summary"]).group(1)) for e in mine]  # type: ignore[union-attr]
        assert revisions == list(range(2, ROUNDS + 2))

    # Every intermediate version holds exactly the texts the edits wrote.
    seen = {"x": 1, "y": 1}
    for entry in edits:
        key, clause = ("x", x) if entry["clause_ids"] == [x] else ("y", y)
        seen[key] += 1
        clauses = await ana.expect(200, "GET", f"{base}/versions/{entry['version']}")
        by_id = {c["clause_id"]: c for c in clauses}
        assert by_id[x]["revision"] == seen["x"]
        assert by_id[y]["revision"] == seen["y"]
        assert by_id[clause]["text"] == text(key, seen[key])


async def test_concurrent_edits_of_the_same_clause_one_wins(pair: tuple[Person, Person, str]) -> None:
    ana, ben, agreement_id = pair
    base = f"/api/agreements/{agreement_id}"
    winners = {"ana": 0, "ben": 0}
    for race in range(RACES):
        clause = await add_clause(ana, agreement_id, "check_ins", f"race {race}: the original")
        before = (await ana.expect(200, "GET", base))["version"]
        texts = {"ana": f"race {race}: Ana's words", "ben": f"race {race}: Ben's words"}
        ra, rb = await asyncio.gather(
            ana.request("PUT", f"{base}/clauses/{clause}", json={"text": texts["ana"], "based_on_revision": 1}),
            ben.request("PUT", f"{base}/clauses/{clause}", json={"text": texts["ben"], "based_on_revision": 1}),
        )
        statuses = sorted([ra.status_code, rb.status_code])
        assert statuses == [200, 409], (race, ra.text, rb.text)
        winner, loser = ("ana", rb) if ra.status_code == 200 else ("ben", ra)
        winners[winner] += 1
        assert loser.headers["content-type"].startswith("application/problem+json")
        problem = loser.json()
        assert problem["status"] == 409
        assert problem["type"] == "https://accord.example/problems/stale_revision"
        # The loser is told exactly what the winner wrote.
        assert problem["current"] == {"clause_id": clause, "revision": 2, "text": texts[winner]}

        # Nothing lost, nothing doubled: one edit, the winner's.
        view = await ben.expect(200, "GET", base)
        assert clause_in(view, clause) == {"clause_id": clause, "topic": "check_ins",
                                           "text": texts[winner], "revision": 2}
        assert view["version"] == before + 1

    entries = await ana.expect(200, "GET", f"{base}/timeline")
    assert len([e for e in entries if e["kind"] == "clause_edited"]) == RACES
    assert sum(winners.values()) == RACES


#: Rounds per agreement (at most 50 clauses each) and agreements: the race is hit in
#: about one round in eight here, so missing it in all of them is vanishingly unlikely.
REPEATS = 40
BATCHES = 3


async def test_a_keyed_request_repeated_concurrently_answers_the_first_response(
    pair: tuple[Person, Person, str],
) -> None:
    ana, ben, _ = pair
    # The same person, through the other instance: a client retrying via another node.
    twin = ana.via(ben.client)
    outcomes = []
    for batch in range(BATCHES):
        created = await ana.expect(201, "POST", "/api/agreements", json={"title": f"Batch {batch}"})
        base = f"/api/agreements/{created['agreement_id']}"
        for attempt in range(REPEATS):
            body = {"clause_id": str(uuid.uuid4()), "topic": "other", "text": f"said once, {attempt}"}
            headers = {"Idempotency-Key": f"add-{batch}-{attempt}-{uuid.uuid4().hex[:6]}"}
            ra, rb = await asyncio.gather(
                ana.request("POST", f"{base}/clauses", json=body, headers=headers),
                twin.request("POST", f"{base}/clauses", json=body, headers=headers),
            )
            replayed = sorted(r.headers.get("idempotent-replayed", "") for r in (ra, rb))
            outcomes.append((ra.status_code, rb.status_code, ra.content == rb.content, replayed))
        # Each clause was added exactly once, whatever the answers said.
        view = await ana.expect(200, "GET", base)
        assert len(view["clauses"]) == REPEATS
    # And every repeat answered with the first response.
    refused = [o for o in outcomes if o != (201, 201, True, ["", "true"])]
    assert refused == [], f"{len(refused)} of {len(outcomes)} repeats were not replays: {refused[:3]}"


async def test_a_command_through_an_instance_whose_copy_of_the_stream_trails_the_log(
    pair: tuple[Person, Person, str],
) -> None:
    """Each instance's commands start from its own copy of the agreement's stream, which trails
    whatever the other instance appended since. Neither a refusal decided on that copy nor an
    append at its version may stand: the command runs again on the stream as read."""
    ana, ben, agreement_id = pair
    base = f"/api/agreements/{agreement_id}"
    x = await add_clause(ana, agreement_id, "boundaries", "x: revision 1")
    y = await add_clause(ana, agreement_id, "scheduling", "y: revision 1")
    # The second instance's copy: Ben edits y through it.
    await ben.expect(200, "PUT", f"{base}/clauses/{y}", json={"text": "y: revision 2", "based_on_revision": 1})
    # Ana edits x through the first instance: the second's copy trails the log by one event.
    await ana.expect(200, "PUT", f"{base}/clauses/{x}", json={"text": "x: revision 2", "based_on_revision": 1})
    # Through the second, at the revision Ana just saw: on the copy it would be stale (revision 1 there).
    twin = ana.via(ben.client)
    view = await twin.expect(200, "PUT", f"{base}/clauses/{x}", json={"text": "x: revision 3", "based_on_revision": 2})
    assert clause_in(view, x)["revision"] == 3
    # Ana through the first again, then Ben through the second: the copy allows it, the log refuses the
    # version it would append at, and the edit lands on the stream as read.
    await ana.expect(200, "PUT", f"{base}/clauses/{x}", json={"text": "x: revision 4", "based_on_revision": 3})
    view = await ben.expect(200, "PUT", f"{base}/clauses/{y}", json={"text": "y: revision 3", "based_on_revision": 2})
    assert clause_in(view, x) == {"clause_id": x, "topic": "boundaries", "text": "x: revision 4", "revision": 4}
    assert clause_in(view, y)["revision"] == 3
    # A stale revision is still refused, by the log's state: 409 with what is there now.
    stale = await ben.request("PUT", f"{base}/clauses/{x}", json={"text": "late", "based_on_revision": 3})
    assert stale.status_code == 409, stale.text
    assert stale.json()["current"] == {"clause_id": x, "revision": 4, "text": "x: revision 4"}
    entries = await ana.expect(200, "GET", f"{base}/timeline")
    assert len([e for e in entries if e["kind"] == "clause_edited"]) == 5
