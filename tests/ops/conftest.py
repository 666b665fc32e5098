"""Operations fixtures: a PostgreSQL the tests may stop and start, real `accord serve` processes.

The session's shared PostgreSQL (`pg_server` in tests/conftest.py) must stay up
for every other test, so the fault tests get a **dedicated** throwaway cluster,
made with the same helper (`_LocalCluster`), which they stop (`pg_ctl stop -m
fast`, as an orderly restart does) and start again on the same socket, data
directory and options. An external `ACCORD_TEST_DATABASE_URL` cannot be
stopped by the tests, so these tests need the server binaries.

Servers are `python -m service.cli serve` subprocesses on a free port, with
their stdout and stderr in separate files (stderr holds the JSON log lines),
waited for on `/health`, and stopped in teardown with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
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

from domain.network import PartnerLink
from tests.conftest import PostgresServer, _LocalCluster, _pg_unavailable, _wait_ready, find_pg_bindir

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fast_settings() -> dict[str, str]:
    return {
        "ACCORD_PASSWORD_HASHING": "cheapest",
        "ACCORD_AUTH_RATE_PER_MINUTE": "100000",
        "ACCORD_COMMAND_RATE_PER_MINUTE": "100000",
        "ACCORD_POLL_INTERVAL": "0.2",
    }


class Server:
    """One `accord serve` process; `kill` and `start` again keep its port, database and logs."""

    def __init__(self, database_url: str, log_dir: Path, secret: str, settings: dict[str, str]) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.stdout_path = log_dir / f"serve-{self.port}.out"
        self.stderr_path = log_dir / f"serve-{self.port}.err"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "ACCORD_SECRET": secret,
            **fast_settings(),
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/live"

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None, "already running"
        command = [
            sys.executable, "-m", "service.cli", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--database", self.database_url,
        ]  # fmt: skip
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=err)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"accord serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"accord serve did not answer /health in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def terminate(self) -> None:
        """Send SIGTERM and return at once (the test watches what follows)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        return code

    def stop(self, timeout: float = 25.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

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

    def log_tail(self, lines: int = 60) -> str:
        out = self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""
        return "\n".join((out + self.stderr()).splitlines()[-lines:])

    def unhandled_errors(self) -> list[str]:
        """Log lines at level error or worse (warnings, e.g. asyncpg's pool reconnecting, are fine)."""
        return [
            f"{entry['message']}: {entry.get('error', '')[-400:]}"
            for entry in self.log_lines()
            if entry.get("level") in ("error", "critical")
        ]


class Servers:
    """Starts servers that share one secret; stops every one in teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.secret = uuid.uuid4().hex
        self.started: list[Server] = []

    def start(self, database_url: str, **settings: str) -> Server:
        server = Server(database_url, self.log_dir, self.secret, settings)
        self.started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    started = Servers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("servers"))
    try:
        yield started
    finally:
        started.stop_all()


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    handle: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """Just enough of the HTTP API; each helper asserts the status it expects."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, who: Person | None, expect: int, **kwargs: Any) -> Any:
        headers = {**(who.headers if who else {}), **kwargs.pop("headers", {})}
        r = await self.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def person(self, prefix: str = "p", password: str = PASSWORD) -> Person:
        handle = f"{prefix}_{uuid.uuid4().hex[:10]}"
        body = {"handle": handle, "display_name": prefix.title(), "password": password}
        me = await self.call("POST", "/api/accounts", None, 201, json=body)
        session = await self.call("POST", "/api/sessions", None, 201, json={"handle": handle, "password": password})
        return Person(me["person_id"], handle, session["token"])

    async def agreement(self, who: Person, title: str = "Ops test", *others: Person) -> str:
        agreement_id = (await self.call("POST", "/api/agreements", who, 201, json={"title": title}))["agreement_id"]
        for other in others:
            await self.call(
                "POST", f"/api/agreements/{agreement_id}/invitations", who, 202, json={"handle": other.handle}
            )
            await self.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", other, 200)
        return agreement_id

    async def add_clause(self, who: Person, agreement_id: str, text: str, topic: str = "boundaries") -> dict[str, Any]:
        body = {"topic": topic, "text": text, "clause_id": str(uuid.uuid4())}
        return await self.call("POST", f"/api/agreements/{agreement_id}/clauses", who, 201, json=body)

    async def view(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/api/agreements/{agreement_id}", who, 200)

    async def timeline(self, who: Person, agreement_id: str) -> list[dict[str, Any]]:
        return await self.call("GET", f"/api/agreements/{agreement_id}/timeline", who, 200)

    async def link(self, a: Person, b: Person) -> str:
        await self.call("POST", "/api/links", a, 202, json={"handle": b.handle})
        link_id = str(PartnerLink.id_for(uuid.UUID(a.id), uuid.UUID(b.id)))
        await self.call("POST", f"/api/links/{link_id}/confirm", b, 200)
        return link_id


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
