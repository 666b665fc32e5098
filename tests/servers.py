"""Real `accord serve` processes, for the suites that test through the network (e2e, ops, browser).

A `ServerProcess` is `python -m service.cli serve` on a free local port, with
settings that keep tests fast (cheap password hashing, no rate limits to
speak of, quick polling), its output in a log file, waited for on `/health`,
and stopped with SIGTERM, then SIGKILL. `kill` and `start` again keep its
port, database and logs, as a crashed and restarted process would.

`ServerGroup` starts servers that share one secret (as the processes of one
deployment do) and, used as a context manager, stops every one it started.

`Person` is someone with an account and a token on such a server, and
`ServerApi` the start of an async client of its HTTP API (accounts,
agreements, partner links) that each suite extends with what it needs.

Each suite subclasses these for what it checks in the logs: e2e fails a test
whose server logged a traceback; ops keeps stderr apart to read the JSON log
lines; the browser suite runs one server on a SQLite file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx
import pytest

from domain.network import PartnerLink

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PASSWORD = "correct horse battery staple"

#: The master key every test server and store shares (a PostgreSQL database refuses to start without one).
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LWZvci1hY2NvcmQtdGVzdHM="

def sealed(store: object) -> object:
    """`store` as the servers read it: sealed events opened with their keys under TEST_MASTER_KEY."""
    from service.crypto import Keyring, MasterKeys, parse_master_key
    from service.store.sealed import SealedStore

    return SealedStore(store, Keyring(store, MasterKeys(parse_master_key(TEST_MASTER_KEY, "TEST_MASTER_KEY"))))  # type: ignore[arg-type]


#: Settings for test servers: fast to sign up and sign in, no rate limits in the way, quick to follow the log.
FAST_SETTINGS = {
    "ACCORD_PASSWORD_HASHING": "cheapest",
    "ACCORD_AUTH_RATE_PER_MINUTE": "100000",
    "ACCORD_COMMAND_RATE_PER_MINUTE": "100000",
    "ACCORD_POLL_INTERVAL": "0.2",
    "ACCORD_MASTER_KEY": TEST_MASTER_KEY,
}


def free_port() -> int:
    """A local TCP port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerProcess:
    """One `accord serve` subprocess.

    Its stdout goes to `log`, and its stderr too unless `errors` names a file
    of its own. `settings` are ACCORD_* variables on top of `FAST_SETTINGS`;
    `log_level=None` keeps the service's default level.
    """

    #: Seconds `stop` waits after SIGTERM before it sends SIGKILL.
    stop_timeout = 10.0

    def __init__(
        self,
        database_url: str,
        log: Path,
        *,
        errors: Path | None = None,
        settings: Mapping[str, str] | None = None,
        log_level: str | None = "warning",
        port: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.log_path = log
        self.errors_path = errors
        self.log_level = log_level
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **FAST_SETTINGS,
            **(settings or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/api/live"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "service.cli", "serve",
            "--host", HOST, "--port", str(self.port),
            "--database", self.database_url,
        ]  # fmt: skip
        if self.log_level is not None:
            command += ["--log-level", self.log_level]
        return command

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it answers `/health`."""
        assert self.process is None, "already running"
        with contextlib.ExitStack() as files:
            out = files.enter_context(self.log_path.open("ab"))
            err = subprocess.STDOUT if self.errors_path is None else files.enter_context(self.errors_path.open("ab"))
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=out, stderr=err)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"accord serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
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

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout if timeout is None else timeout)
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

    def output(self) -> str:
        """Everything the process wrote so far: stdout (and stderr, with it or after it)."""
        paths = [self.log_path] if self.errors_path is None else [self.log_path, self.errors_path]
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:]) or "(no log)"


Server = TypeVar("Server", bound=ServerProcess)


class ServerGroup(Generic[Server]):
    """Starts servers sharing one secret (as processes of one deployment do); stops them all on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.secret = uuid.uuid4().hex
        self.started: list[Server] = []

    def new(self, database_url: str, settings: dict[str, str]) -> Server:
        """A server of this group (not started): the suite's kind, logging into `log_dir`."""
        raise NotImplementedError

    def start(self, database_url: str, **settings: str) -> Server:
        server = self.new(database_url, {"ACCORD_SECRET": self.secret, **settings})
        self.started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop_all()


# --------------------------------------------------------------------------
# Talking to them
# --------------------------------------------------------------------------


@dataclass
class Person:
    """Someone with an account, signed in: ids are strings, as the JSON API gives them."""

    id: str
    handle: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ServerApi:
    """The HTTP API of one server, through `client`; each helper asserts the status it expects."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        #: `Accord-Position` of the last command: the log position that holds it.
        self.position = 0

    async def call(self, method: str, path: str, who: Person | None, expect: int, **kwargs: Any) -> Any:
        headers = {**(who.headers if who else {}), **kwargs.pop("headers", {})}
        r = await self.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        if "accord-position" in r.headers:
            self.position = int(r.headers["accord-position"])
        return r.json() if r.content else None

    async def person(self, prefix: str = "p", password: str = PASSWORD) -> Person:
        """A new account (a unique handle starting with `prefix`), signed in."""
        handle = f"{prefix}_{uuid.uuid4().hex[:10]}"
        name = prefix.title()
        body = {"handle": handle, "display_name": name, "password": password}
        me = await self.call("POST", "/api/accounts", None, 201, json=body)
        session = await self.sign_in(handle, password)
        return Person(me["person_id"], handle, name, session["token"])

    async def sign_in(self, handle: str, password: str = PASSWORD) -> dict[str, Any]:
        return await self.call("POST", "/api/sessions", None, 201, json={"handle": handle, "password": password})

    async def create(self, who: Person, title: str) -> dict[str, Any]:
        return await self.call("POST", "/api/agreements", who, 201, json={"title": title})

    async def invite(self, who: Person, agreement_id: str, handle: str) -> None:
        await self.call("POST", f"/api/agreements/{agreement_id}/invitations", who, 202, json={"handle": handle})

    async def accept_invitation(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", who, 200)

    async def view(self, who: Person, agreement_id: str, expect: int = 200) -> Any:
        return await self.call("GET", f"/api/agreements/{agreement_id}", who, expect)

    async def link(self, a: Person, b: Person) -> str:
        """A proposes, B confirms: a live partner link; its id."""
        await self.call("POST", "/api/links", a, 202, json={"handle": b.handle})
        link_id = str(PartnerLink.id_for(uuid.UUID(a.id), uuid.UUID(b.id)))
        state = await self.call("POST", f"/api/links/{link_id}/confirm", b, 200)
        assert state["status"] == "live", state
        return link_id
