"""Running Accord: readiness, graceful shutdown, metrics, request logs, limits, maintenance commands.

All against real `accord serve` processes (and `accord migrate|rebuild`
subprocesses) on PostgreSQL. The readiness tests stop and start the dedicated
cluster of tests/ops/conftest.py; everything else uses the session's shared
server, which nothing stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.ops.conftest import Api, FaultPostgres, Follower, Server, Servers, wait_for
from tests.servers import ROOT

pytestmark = pytest.mark.postgres

PROBLEM = "application/problem+json"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


# --------------------------------------------------------------------------
# Readiness and liveness across a PostgreSQL outage
# --------------------------------------------------------------------------


@dataclass
class Outage:
    """What a running service answered before, during and after PostgreSQL was down."""

    ready_before: httpx.Response
    ready_during: httpx.Response
    command_during: httpx.Response
    liveness_during: httpx.Response
    metrics_during: httpx.Response
    seconds_to_unready: float
    seconds_to_ready_again: float
    command_after: httpx.Response
    log_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def outage(fault_pg: FaultPostgres, module_servers: Servers) -> AsyncIterator[Outage]:
    if not fault_pg.cluster.is_running():
        fault_pg.resume()
    server = module_servers.start(fault_pg.database())
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        api = Api(http)
        mina = await api.person("mina")
        agreement_id = await api.agreement(mina)
        clause = {"topic": "boundaries", "text": "We say when we need space.", "clause_id": str(uuid.uuid4())}
        path = f"/api/agreements/{agreement_id}/clauses"
        headers = {**mina.headers, "Idempotency-Key": "outage-1"}

        ready_before = await http.get("/health/ready")
        await asyncio.to_thread(fault_pg.halt)
        try:
            down = time.monotonic()
            to_unready = await wait_for(
                lambda: _status_is(http, "/health/ready", 503), 10, "/health/ready 503 with PostgreSQL down"
            )
            ready_during = await http.get("/health/ready")
            command_during = await http.post(path, json=clause, headers=headers)
            liveness_during = await http.get("/health")
            metrics_during = await http.get("/metrics")
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - down)))
        finally:
            await asyncio.to_thread(fault_pg.resume)
        to_ready = await wait_for(lambda: _status_is(http, "/health/ready", 200), 20, "/health/ready 200 again")
        command_after = await http.post(path, json=clause, headers=headers)
        print(
            f"\nFIGURES readiness: 503 {to_unready:.2f} s after PostgreSQL stopped, "
            f"200 again {to_ready:.2f} s after it accepted connections"
        )
        yield Outage(
            ready_before, ready_during, command_during, liveness_during, metrics_during,
            to_unready, to_ready, command_after, server.unhandled_errors(),
        )  # fmt: skip


async def _status_is(http: httpx.AsyncClient, path: str, status: int) -> bool:
    try:
        return (await http.get(path, timeout=2)).status_code == status
    except httpx.HTTPError:
        return False


def test_ready_when_the_database_answers_and_the_follower_is_caught_up(outage: Outage) -> None:
    r = outage.ready_before
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ready"
    assert isinstance(r.json()["position"], int)


def test_not_ready_while_postgres_is_down(outage: Outage) -> None:
    body = assert_problem(outage.ready_during, 503)
    assert outage.ready_during.headers["retry-after"].isdigit()
    assert "database" in body["detail"]
    assert outage.seconds_to_unready < 2.0


def test_a_command_while_postgres_is_down_is_a_503_problem(outage: Outage) -> None:
    body = assert_problem(outage.command_during, 503)
    assert outage.command_during.headers["retry-after"].isdigit()
    assert "Idempotency-Key" in body["detail"]


def test_ready_again_by_itself_when_postgres_is_back(outage: Outage) -> None:
    assert outage.seconds_to_ready_again < 5.0
    # The command that met the outage, repeated with its key, now lands (once).
    assert outage.command_after.status_code == 201, outage.command_after.text
    assert outage.log_errors == [], outage.log_errors[:3]


def test_metrics_answer_while_postgres_is_down(outage: Outage) -> None:
    assert outage.metrics_during.status_code == 200
    assert "accord_follower_lag_positions" in outage.metrics_during.text


def test_liveness_answers_while_postgres_is_down(outage: Outage) -> None:
    assert outage.liveness_during.status_code == 200, outage.liveness_during.text


# --------------------------------------------------------------------------
# Graceful shutdown
# --------------------------------------------------------------------------


@pytest.fixture
def shared_database(new_pg_database: Callable[[], str]) -> str:
    return new_pg_database()


async def test_sigterm_finishes_in_flight_requests_and_tells_websockets_to_reconnect(
    shared_database: str, servers: Servers
) -> None:
    # Default argon2: each registration hashes for about 0.4 s, off the event loop.
    server = servers.start(shared_database, ACCORD_PASSWORD_HASHING="default")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        api = Api(http)
        mina = await api.person("mina")
        agreement_id = await api.agreement(mina)

        socket = await connect(server.ws_url, open_timeout=5)
        await socket.send(json.dumps({"type": "auth", "token": mina.token, "since": None}))
        while json.loads(await socket.recv())["type"] != "synced":
            pass
        frames: list[dict[str, Any]] = []

        async def listen() -> int | None:
            try:
                async for raw in socket:
                    frames.append(json.loads(raw))
            except ConnectionClosed:
                pass
            return socket.close_code

        listener = asyncio.create_task(listen())

        async def register(n: int) -> httpx.Response:
            body = {"handle": f"late_{uuid.uuid4().hex[:8]}", "display_name": "Late", "password": "a slow hash " * 2}
            return await http.post("/api/accounts", json=body)

        async def add_clause(n: int) -> httpx.Response:
            body = {"topic": "other", "text": f"in flight {n}", "clause_id": str(uuid.uuid4())}
            return await http.post(f"/api/agreements/{agreement_id}/clauses", json=body, headers=mina.headers)

        in_flight = [asyncio.create_task(register(n)) for n in range(3)]
        in_flight += [asyncio.create_task(add_clause(n)) for n in range(2)]
        await asyncio.sleep(0.15)
        assert not all(t.done() for t in in_flight[:3]), "the registrations ended before SIGTERM; nothing was in flight"
        terminated = time.monotonic()
        server.terminate()

        await asyncio.sleep(0.3)
        with pytest.raises(httpx.TransportError):
            async with httpx.AsyncClient(timeout=2) as fresh:  # a new connection: no longer accepted
                await fresh.get(server.url + "/health")

        responses = await asyncio.gather(*in_flight)
        finished = time.monotonic() - terminated
        code = await asyncio.to_thread(server.wait_exit, 25)
        exited = time.monotonic() - terminated
        close_code = await asyncio.wait_for(listener, 5)

    print(
        f"\nFIGURES shutdown: in-flight requests done {finished:.2f} s after SIGTERM, process exited after "
        f"{exited:.2f} s with {code}; websocket frames {[f['type'] for f in frames]}, close code {close_code}"
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses if r.status_code != 201]
    assert any(f["type"] == "reconnect" for f in frames) or close_code == 1012, (frames, close_code)
    assert close_code == 1012, f"closed with {close_code}, not 1012 (service restart)"
    assert exited < 20.0
    messages = [l["message"] for l in server.log_lines()]
    assert "Application shutdown complete." in messages and messages[-1].startswith("Finished server process")
    # Exit status 0 is test_sigterm_exit_status_is_zero's; here: ended by itself, not killed by the fixture.
    assert code in (0, -signal.SIGTERM), code
    assert server.unhandled_errors() == [], server.unhandled_errors()[:3]


async def test_sigterm_exit_status_is_zero(shared_database: str, servers: Servers) -> None:
    server = servers.start(shared_database)
    server.terminate()
    code = await asyncio.to_thread(server.wait_exit, 25)
    assert code == 0, f"exit status {code}"


# --------------------------------------------------------------------------
# Metrics, request logs and limits: one server with small limits
# --------------------------------------------------------------------------

MAX_BODY = 4096
COMMANDS_PER_MINUTE = 5


@pytest.fixture(scope="module")
def limited(new_pg_database: Callable[[], str], module_servers: Servers) -> Server:
    return module_servers.start(
        new_pg_database(),
        ACCORD_MAX_BODY_BYTES=str(MAX_BODY),
        ACCORD_COMMAND_RATE_PER_MINUTE=str(COMMANDS_PER_MINUTE),
    )


@pytest.fixture
async def api(limited: Server) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=limited.url, timeout=10) as http:
        yield Api(http)


def scrape(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)]."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for l, v in samples.get(name, []) if all(l.get(k) == w for k, w in labels.items()))


async def test_metrics_names_labels_and_counters(api: Api, limited: Server) -> None:
    http = api.client
    before = scrape((await http.get("/metrics")).text)

    mina = await api.person("mina")
    agreement_id = await api.agreement(mina)  # 1 command
    live = Follower(limited, mina)
    task = asyncio.create_task(live.run())
    try:
        await asyncio.wait_for(live.synced.wait(), 10)
        await api.add_clause(mina, agreement_id, "We text when we get home.")  # 2
        await api.add_clause(mina, agreement_id, "We keep Sundays for us.")  # 3
        await api.view(mina, agreement_id)
        await api.view(mina, agreement_id)
        await api.call("GET", f"/api/agreements/{uuid.uuid4()}", mina, 404)
        await live.reached(int((await http.get("/health")).json()["position"]))
        during = (await http.get("/metrics"))
        assert during.status_code == 200 and during.headers["content-type"].startswith("text/plain")
        after = scrape(during.text)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    for name in (
        "accord_requests_total",
        "accord_request_duration_seconds_bucket",
        "accord_request_duration_seconds_sum",
        "accord_commands_appended_total",
        "accord_follower_lag_positions",
        "accord_follower_lag_seconds",
        "accord_websockets_open",
        "accord_pushes_sent_total",
        "accord_pushes_dropped_total",
    ):
        assert name in after, f"{name} missing from /metrics"
    labels = {k for l, _ in after["accord_requests_total"] for k in l}
    assert {"method", "path", "status_code", "app_name"} <= labels, labels
    paths = {l["path"] for l, _ in after["accord_requests_total"]}
    raw = [p for p in paths if UUID_RE.search(p)]
    assert raw == [], f"raw ids in the path label: {raw}"
    one = next((p for p in paths if p.startswith("/api/agreements/{agreement_id") and p.endswith("}")), None)
    assert one is not None, f"no route template for one agreement among {sorted(paths)}"
    clauses = next((p for p in paths if p.startswith("/api/agreements/{agreement_id") and p.endswith("/clauses")), None)
    assert clauses is not None, sorted(paths)

    rise = value(after, "accord_requests_total", method="GET", path=one, status_code="200") - value(
        before, "accord_requests_total", method="GET", path=one, status_code="200"
    )
    assert rise == 2
    assert value(after, "accord_requests_total", method="GET", path=one, status_code="404") >= 1
    assert value(after, "accord_commands_appended_total") - value(before, "accord_commands_appended_total") == 3
    assert value(after, "accord_pushes_sent_total") - value(before, "accord_pushes_sent_total") >= 2
    assert value(after, "accord_websockets_open") == 1
    assert value(after, "accord_follower_lag_positions") == 0
    assert value(after, "accord_follower_lag_seconds") == 0


async def test_request_logs_are_json_with_ids_and_templates_and_no_secrets(api: Api, limited: Server) -> None:
    http = api.client
    password = f"pw-{uuid.uuid4().hex}"
    person = await api.person("noor", password=password)
    secret_text = f"private-{uuid.uuid4().hex}"
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    agreement_id = await api.agreement(person, f"title-{uuid.uuid4().hex}")
    r = await http.post(
        f"/api/agreements/{agreement_id}/clauses",
        json={"topic": "privacy", "text": secret_text, "clause_id": str(uuid.uuid4())},
        headers={**person.headers, "X-Request-ID": request_id},
    )
    assert r.status_code == 201
    assert r.headers["x-request-id"] == request_id
    generated = (await http.get("/health")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated), generated
    refused = await http.post(
        "/api/sessions", json={"handle": person.handle, "password": password + "-wrong"}, headers={"X-Request-ID": "a b"}
    )
    assert refused.status_code == 401 and refused.headers["x-request-id"] != "a b"
    await asyncio.sleep(0.2)

    lines = limited.log_lines()  # fails on any line that is not JSON
    requests = [l for l in lines if l.get("message") == "request"]
    mine = [l for l in requests if l["request_id"] == request_id]
    assert len(mine) == 1, mine
    line = mine[0]
    assert line["method"] == "POST" and line["status"] == 201 and isinstance(line["ms"], (int, float))
    assert line["route"].startswith("/api/agreements/{agreement_id") and line["route"].endswith("/clauses")
    assert all(not UUID_RE.search(str(l.get("route", ""))) for l in requests)

    stderr = limited.stderr()
    for secret, what in (
        (password, "a password"),
        (person.token, "a bearer token"),
        (secret_text, "a request body"),
        (agreement_id, "a raw id from a path"),
    ):
        assert secret not in stderr, f"the log holds {what}"


async def test_request_size_limit_is_413_problem_and_appends_nothing(api: Api) -> None:
    owner = await api.person("owner")
    agreement_id = await api.agreement(owner)  # the owner's 1st command
    path = f"/api/agreements/{agreement_id}/clauses"

    def body(size: int) -> dict[str, str]:
        return {"topic": "other", "text": "x" * size, "clause_id": str(uuid.uuid4())}

    big = await api.client.post(path, json=body(MAX_BODY), headers=owner.headers)
    assert_problem(big, 413)
    keyed = await api.client.post(path, json=body(MAX_BODY), headers={**owner.headers, "Idempotency-Key": "big"})
    assert_problem(keyed, 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds on what arrives
        yield json.dumps(body(MAX_BODY)).encode()

    chunked = await api.client.post(path, content=chunks(), headers={**owner.headers, "Content-Type": "application/json"})
    assert_problem(chunked, 413)
    assert (await api.view(owner, agreement_id))["clauses"] == []

    other = await api.person("other")  # a fresh account: under the command rate limit
    agreement_id = await api.agreement(other)
    path = f"/api/agreements/{agreement_id}/clauses"
    fits = await api.client.post(path, json=body(MAX_BODY - 200), headers=other.headers)
    assert fits.status_code == 201, fits.text


async def test_command_rate_limit_per_account_is_429_with_retry_after(api: Api) -> None:
    busy = await api.person("busy")
    agreement_id = await api.agreement(busy)
    for n in range(COMMANDS_PER_MINUTE - 1):
        await api.add_clause(busy, agreement_id, f"clause {n}")
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/clauses",
        json={"topic": "other", "text": "one too many", "clause_id": str(uuid.uuid4())},
        headers=busy.headers,
    )
    assert_problem(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 60, r.headers["retry-after"]
    view = await api.view(busy, agreement_id)  # reads are not limited
    assert len(view["clauses"]) == COMMANDS_PER_MINUTE - 1  # the refused command appended nothing

    calm = await api.person("calm")  # per account: someone else is not held back
    await api.agreement(calm)


# --------------------------------------------------------------------------
# accord migrate, accord rebuild
# --------------------------------------------------------------------------


def accord(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def schema_of(dsn: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT 'column', table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " UNION ALL SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " UNION ALL SELECT 'trigger', event_object_table, trigger_name, action_timing || ' ' || event_manipulation"
            " FROM information_schema.triggers"
            " UNION ALL SELECT 'function', proname, '', md5(prosrc) FROM pg_proc"
            " JOIN pg_namespace n ON n.oid = pronamespace WHERE nspname = 'public'"
            " ORDER BY 1, 2, 3, 4"
        ).fetchall()


def test_migrate_twice_is_idempotent(new_pg_database: Callable[[], str]) -> None:
    dsn = new_pg_database()
    first = accord("migrate", "--database", dsn)
    assert first.returncode == 0, first.stderr
    assert "schema ready on postgresql; log position 0" in first.stdout
    schema = schema_of(dsn)
    assert {row[1] for row in schema if row[0] == "column"} >= {"accord_events", "accord_commands", "accord_accounts"}
    second = accord("migrate", "--database", dsn)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert schema_of(dsn) == schema


async def test_rebuild_shows_progress_and_builds_the_same_documents(shared_database: str, servers: Servers) -> None:
    import psycopg

    server = servers.start(shared_database)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        api = Api(http)
        mina, jo, sam = await api.person("mina"), await api.person("jo"), await api.person("sam")
        await api.link(mina, jo)
        await api.link(jo, sam)
        ours = await api.agreement(mina, "Ours", jo)
        await api.add_clause(mina, ours, "We tell each other before a first date.")
        grant = await api.call(
            "POST", f"/api/agreements/{ours}/grants", mina, 201,
            json={"audience": sam.handle, "scopes": ["clauses:boundaries"]},
        )  # fmt: skip
        await api.call("POST", f"/api/agreements/{ours}/grants/{grant['grant_id']}/consent", jo, 200)
        await api.agreement(jo, "Jo's own")
        await api.agreement(sam, "Sam's own")

        # Migrating a live database leaves it and the running service as they were.
        migrated = accord("migrate", "--database", shared_database)
        assert migrated.returncode == 0, migrated.stderr
        await api.view(mina, ours)

    def documents() -> list[tuple[str, str, bytes]]:
        with psycopg.connect(shared_database) as conn:
            return conn.execute("SELECT projection, key, doc FROM accord_documents ORDER BY 1, 2").fetchall()

    with psycopg.connect(shared_database) as conn:
        last = conn.execute("SELECT max(notification_id) FROM accord_events").fetchone()[0]
    assert f"log position {last}" in migrated.stdout
    before = documents()
    assert {(projection, key) for projection, key, _ in before} >= {("people", mina.id), ("agreement_grants", ours)}

    rebuilt = accord("rebuild", "--database", shared_database)
    assert rebuilt.returncode == 0, rebuilt.stderr
    print(f"\nFIGURES rebuild: {rebuilt.stdout.strip()}")
    assert re.search(rf"\[#{{30}}\] {last}/{last} positions \(done\), [0-9.]+ s", rebuilt.stderr), rebuilt.stderr
    assert "rebuilt and switched in: agreement_grants, calendar_feeds, check_in_due, check_ins, documents, lapses, people, plan_times, plans, reminders, reviews, signal_expiry, signals" in rebuilt.stdout
    # Built again from the log alone, every document is what it was.
    assert documents() == before
    assert not [name for (name,) in psycopg.connect(shared_database).execute("SELECT name FROM accord_projections") if "~" in name]
