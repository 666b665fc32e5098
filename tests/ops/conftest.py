"""Operations fixtures: a PostgreSQL the tests may stop and start, real `accord serve` processes.

The session's shared PostgreSQL (`pg_server` in tests/conftest.py) must stay up
for every other test, so the fault tests get a **dedicated** throwaway cluster,
made with the same helper (`_LocalCluster`), which they stop (`pg_ctl stop -m
fast`, as an orderly restart does) and start again on the same socket, data
directory and options. An external `ACCORD_TEST_DATABASE_URL` cannot be
stopped by the tests, so these tests need the server binaries.

Servers are `python -m service.cli serve` subprocesses (tests/servers.py) on a free port, with
their stdout and stderr in separate files (stderr holds the JSON log lines),
waited for on `/health`, and stopped in teardown with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import (
    PostgresServer,
    _LocalCluster,
    _pg_unavailable,
    _wait_ready,
    find_pg_bindir,
)
from tests.servers import Person, ServerApi, ServerGroup, ServerProcess, free_port

SOON = 10.0


# --------------------------------------------------------------------------
# A PostgreSQL the tests may stop and start
# --------------------------------------------------------------------------


class StoppableCluster(_LocalCluster):
    """The shared helper's throwaway cluster, plus an orderly stop and a start again.

    The restart reuses the exact command line the first start recorded in
    `postmaster.opts` (socket dir, port, test-only speed settings), so it
    comes back on the same socket with the same configuration.
    """

    def boot(self) -> str:
        dsn = self.start()
        _wait_ready(dsn)
        opts = shlex.split((self.data / "postmaster.opts").read_text())
        args = opts[1:]  # drop the postgres binary
        if "-D" in args:
            i = args.index("-D")
            del args[i : i + 2]
        self._options = shlex.join(args)
        self.dsn = dsn
        return dsn

    def halt(self) -> float:
        """`pg_ctl stop -m fast`: sessions are terminated, the cluster shuts down cleanly. Seconds taken."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        return time.monotonic() - started

    def resume(self) -> float:
        """`pg_ctl start -w` with the first start's options. Seconds until it accepts connections."""
        started = time.monotonic()
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options, "-w", "-t", "60", "start"
        )
        return time.monotonic() - started

    def is_running(self) -> bool:
        result = subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "status"), capture_output=True)
        return result.returncode == 0


@dataclass
class FaultPostgres:
    cluster: StoppableCluster
    server: PostgresServer

    def database(self) -> str:
        """A new, empty database on the dedicated cluster (which must be up)."""
        return self.server.create_database("accord_ops")

    def halt(self) -> float:
        return self.cluster.halt()

    def resume(self) -> float:
        return self.cluster.resume()


@pytest.fixture(scope="session")
def fault_pg() -> Iterator[FaultPostgres]:
    """A dedicated PostgreSQL cluster for the tests that stop it."""
    bindir = find_pg_bindir()
    if bindir is None:
        _pg_unavailable(
            "the fault tests stop and start their own PostgreSQL, so they need the server binaries "
            "(initdb, pg_ctl, postgres; e.g. `apt-get install postgresql`); "
            "ACCORD_TEST_DATABASE_URL is not enough for them"
        )
    cluster = StoppableCluster(bindir)
    try:
        dsn = cluster.boot()
    except Exception as error:
        cluster.stop()
        pytest.fail(f"could not start a dedicated PostgreSQL from {bindir}: {error}", pytrace=False)
    try:
        yield FaultPostgres(cluster, PostgresServer(admin_dsn=dsn))
    finally:
        cluster.stop()


@pytest.fixture
def running_pg(fault_pg: FaultPostgres) -> FaultPostgres:
    """The dedicated cluster, started again if an earlier test left it stopped."""
    if not fault_pg.cluster.is_running():
        fault_pg.resume()
    return fault_pg


# --------------------------------------------------------------------------
# `accord serve` processes
# --------------------------------------------------------------------------


class Server(ServerProcess):
    """One `accord serve` process at the service's own log level, its JSON log lines (stderr) in a file of their own."""

    stop_timeout = 25.0

    def __init__(self, database_url: str, log_dir: Path, settings: dict[str, str]) -> None:
        port = free_port()
        super().__init__(
            database_url,
            log_dir / f"serve-{port}.out",
            errors=log_dir / f"serve-{port}.err",
            settings=settings,
            log_level=None,
            port=port,
        )

    def stderr(self) -> str:
        assert self.errors_path is not None
        return self.errors_path.read_text(errors="replace") if self.errors_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines on stderr (a line that is not JSON fails the test)."""
        lines = []
        for line in self.stderr().splitlines():
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    pytest.fail(f"a log line is not JSON: {line!r}")
        return lines

    def unhandled_errors(self) -> list[str]:
        """Log lines at level error or worse (warnings, e.g. asyncpg's pool reconnecting, are fine)."""
        return [
            f"{entry['message']}: {entry.get('error', '')[-400:]}"
            for entry in self.log_lines()
            if entry.get("level") in ("error", "critical")
        ]


class Servers(ServerGroup[Server]):
    """Starts servers that share one secret; stops every one in teardown."""

    def new(self, database_url: str, settings: dict[str, str]) -> Server:
        return Server(database_url, self.log_dir, settings)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    with Servers(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with Servers(tmp_path_factory.mktemp("servers")) as started:
        yield started


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class Api(ServerApi):
    """Just enough of the HTTP API; each helper asserts the status it expects."""

    async def agreement(self, who: Person, title: str = "Ops test", *others: Person) -> str:
        """A new agreement of `who` that `others` have joined; its id."""
        agreement_id = (await self.create(who, title))["agreement_id"]
        for other in others:
            await self.invite(who, agreement_id, other.handle)
            await self.accept_invitation(other, agreement_id)
        return agreement_id

    async def add_clause(self, who: Person, agreement_id: str, text: str, topic: str = "boundaries") -> dict[str, Any]:
        body = {"topic": topic, "text": text, "clause_id": str(uuid.uuid4())}
        return await self.call("POST", f"/api/agreements/{agreement_id}/clauses", who, 201, json=body)

    async def timeline(self, who: Person, agreement_id: str) -> list[dict[str, Any]]:
        return await self.call("GET", f"/api/agreements/{agreement_id}/timeline", who, 200)


# --------------------------------------------------------------------------
# A websocket client that resumes
# --------------------------------------------------------------------------


class Follower:
    """A live client that keeps its views, resumes with `since` after any close, and checks order.

    `run()` reads until cancelled; on a close, an error frame or a failed
    (re)connection it connects again (to `server.ws_url`, which may be a
    restarted process) with the last position it saw.
    """

    def __init__(self, server: Server, who: Person, *, only_when_ready: bool = False) -> None:
        self.server = server
        self.who = who
        #: Reconnect only to a process whose /health/ready is 200, as behind deploy/k8s's readiness-gated Service.
        self.only_when_ready = only_when_ready
        self.position: int | None = None
        self.views: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self.resyncs: list[dict[str, Any]] = []
        #: Close codes and reasons (or connection errors) that made it reconnect.
        self.closes: list[str] = []
        self.connections = 0
        self.reconnect_frames = 0
        self.order_errors: list[str] = []
        self.synced = asyncio.Event()
        self.socket: ClientConnection | None = None

    async def run(self) -> None:
        while True:
            try:
                if self.only_when_ready and self.connections:
                    await self._until_ready()
                async with connect(self.server.ws_url, max_size=None, open_timeout=5, close_timeout=1) as socket:
                    self.socket = socket
                    await socket.send(json.dumps({"type": "auth", "token": self.who.token, "since": self.position}))
                    async for raw in socket:
                        frame = json.loads(raw)
                        if frame["type"] == "ready":
                            self.connections += 1
                        elif frame["type"] == "reconnect":
                            self.reconnect_frames += 1
                        elif frame["type"] == "error":
                            self.closes.append(f"error frame {frame}")
                        else:
                            self._apply(frame)
                self.closes.append(f"closed {socket.close_code} {socket.close_reason}")
            except asyncio.CancelledError:
                raise
            except ConnectionClosed as closed:
                self.closes.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
            except Exception as error:  # noqa: BLE001 - a refused or failed connection: try again
                self.closes.append(type(error).__name__)
            finally:
                self.socket = None
            await asyncio.sleep(0.1)

    async def _until_ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                try:
                    if (await http.get(self.server.url + "/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)

    def _apply(self, frame: dict[str, Any]) -> None:
        match frame["type"]:
            case "update":
                if self.position is not None and frame["position"] <= self.position:
                    self.order_errors.append(f"update at {frame['position']} after {self.position}")
                for change in frame["changes"]:
                    if change.get("removed"):
                        self.views.pop(change["key"], None)
                    else:
                        self.views[change["key"]] = change["view"]
                self.position = frame["position"]
                self.updates.append(frame)
            case "resync":
                if self.position is not None and frame["position"] < self.position:
                    self.order_errors.append(f"resync at {frame['position']} after {self.position}")
                self.views = {item["key"]: item["view"] for item in frame["views"]}
                self.position = frame["position"]
                self.resyncs.append(frame)
            case "synced":
                if self.position is not None and frame["position"] < self.position:
                    self.order_errors.append(f"synced at {frame['position']} after {self.position}")
                self.position = frame["position"]
                self.synced.set()

    async def reached(self, position: int, timeout: float = SOON) -> None:
        deadline = time.monotonic() + timeout
        while self.position is None or self.position < position:
            if time.monotonic() > deadline:
                pytest.fail(f"live client at {self.position}, expected {position}; closes: {self.closes[-5:]}")
            await asyncio.sleep(0.05)


async def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll an async predicate until true; the seconds it took."""
    started = time.monotonic()
    while not await predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(interval)
    return time.monotonic() - started
