"""End-to-end fixtures: real `accord serve` processes, real HTTP, real websockets.

Each server is a subprocess (`python -m service.cli serve`) on a free port,
started on a SQLite file or a fresh PostgreSQL database and stopped in
teardown (SIGTERM, then SIGKILL). Tests talk to it with httpx and the
`websockets` client exactly as a browser or `accord watch` would, and
isolate themselves by new people and agreements.

`Live` is the client's side of the protocol (docs: README, "Live updates"):
it authenticates with its first frame, keeps the views it was sent by key,
remembers the last position, and checks as it reads that positions only rise
(no duplicates, no reordering).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from domain.network import PartnerLink

PASSWORD = "correct horse battery staple"
#: How long a test waits for something that should happen (generous: CI machines are slow).
SOON = 5.0

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `accord serve` process; `kill` and `start` again keep its port and database."""

    def __init__(self, database_url: str, secret: str, log_dir: Path, **settings: str) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.log_path = log_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "ACCORD_PASSWORD_HASHING": "cheapest",
            "ACCORD_AUTH_RATE_PER_MINUTE": "100000",
            "ACCORD_COMMAND_RATE_PER_MINUTE": "100000",
            "ACCORD_POLL_INTERVAL": "0.2",
            "ACCORD_SECRET": secret,
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
            "--log-level", "warning",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
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

    def stop(self, timeout: float = 10.0) -> None:
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

    async def restart_after_kill(self) -> None:
        self.kill()
        await asyncio.to_thread(self.start)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def tracebacks(self) -> list[str]:
        """Unhandled errors the server logged (none expected in these tests)."""
        if not self.log_path.exists():
            return []
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if "Traceback" in line]


class Servers:
    """Starts servers sharing one secret (as processes of one deployment do); stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.secret = uuid.uuid4().hex
        self.started: list[Server] = []

    def start(self, database_url: str, **settings: str) -> Server:
        server = Server(database_url, self.secret, self.log_dir, **settings)
        self.started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()
        errors = [(s.port, s.tracebacks()) for s in self.started if s.tracebacks()]
        if errors:
            logs = "\n\n".join(s.log_tail() for s in self.started if s.tracebacks())
            pytest.fail(f"a server logged unhandled errors: {errors}\n{logs}", pytrace=False)


def database_url(kind: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """A new, empty event log of this kind."""
    if kind == "sqlite":
        return f"sqlite:///{directory.resolve() / f'accord-{uuid.uuid4().hex[:8]}.db'}"
    make: Callable[[], str] = request.getfixturevalue("new_pg_database")
    return make()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Start servers for one test: `servers.start(url)`; all stopped afterwards."""
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


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, module_servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> Server:
    """One server per module and backend, shared by the module's tests (isolated by new ids)."""
    return module_servers.start(database_url(request.param, request, tmp_path_factory.mktemp("db")))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql`, for tests that start their own servers."""
    return request.param


@pytest.fixture
def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(backend, request, tmp_path)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    handle: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """The HTTP API of one server; each helper asserts the status it expects."""

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

    async def caught_up(self, position: int) -> None:
        """Wait until this server's read models (and live hub) include `position`."""
        await self.call("GET", "/health", None, 200, headers={"Accord-Position": str(position)})

    async def person(self, prefix: str = "p") -> Person:
        handle = f"{prefix}_{uuid.uuid4().hex[:10]}"
        name = prefix.title()
        body = {"handle": handle, "display_name": name, "password": PASSWORD}
        me = await self.call("POST", "/api/accounts", None, 201, json=body)
        session = await self.sign_in(handle)
        return Person(me["person_id"], handle, name, session["token"])

    async def sign_in(self, handle: str) -> dict[str, Any]:
        return await self.call("POST", "/api/sessions", None, 201, json={"handle": handle, "password": PASSWORD})

    # Agreements

    async def create(self, who: Person, title: str) -> dict[str, Any]:
        return await self.call("POST", "/api/agreements", who, 201, json={"title": title})

    async def invite(self, who: Person, agreement_id: str, handle: str) -> None:
        await self.call("POST", f"/api/agreements/{agreement_id}/invitations", who, 202, json={"handle": handle})

    async def accept_invitation(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", who, 200)

    async def add_clause(self, who: Person, agreement_id: str, topic: str, text: str) -> dict[str, Any]:
        """The new clause's view."""
        clause_id = str(uuid.uuid4())
        body = {"topic": topic, "text": text, "clause_id": clause_id}
        view = await self.call("POST", f"/api/agreements/{agreement_id}/clauses", who, 201, json=body)
        return next(c for c in view["clauses"] if c["clause_id"] == clause_id)

    async def edit_clause(self, who: Person, agreement_id: str, clause: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit on top of `clause` (a clause view); the edited clause's view."""
        body = {"text": text, "based_on_revision": clause["revision"]}
        view = await self.call(
            "PUT", f"/api/agreements/{agreement_id}/clauses/{clause['clause_id']}", who, 200, json=body
        )
        return next(c for c in view["clauses"] if c["clause_id"] == clause["clause_id"])

    async def view(self, who: Person, agreement_id: str, expect: int = 200) -> Any:
        return await self.call("GET", f"/api/agreements/{agreement_id}", who, expect)

    async def consent(self, who: Person, agreement_id: str, version: int) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/consents", who, 200, json={"version": version})

    async def ratify(self, parties: list[Person], agreement_id: str) -> dict[str, Any]:
        version = (await self.view(parties[0], agreement_id))["version"]
        for party in parties:
            view = await self.consent(party, agreement_id, version)
        assert view["status"] == "in_force", view
        return view

    async def propose(
        self, who: Person, agreement_id: str, changes: list[dict[str, Any]], reason: str = "our needs changed"
    ) -> str:
        proposal_id = str(uuid.uuid4())
        body = {"changes": changes, "reason": reason, "proposal_id": proposal_id}
        await self.call("POST", f"/api/agreements/{agreement_id}/proposals", who, 201, json=body)
        return proposal_id

    async def comment(self, who: Person, agreement_id: str, proposal_id: str, text: str) -> None:
        path = f"/api/agreements/{agreement_id}/proposals/{proposal_id}/comments"
        await self.call("POST", path, who, 201, json={"text": text})

    async def accept(self, who: Person, agreement_id: str, proposal_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/proposals/{proposal_id}/accept", who, 200)

    async def leave(self, who: Person, agreement_id: str) -> None:
        await self.call("POST", f"/api/agreements/{agreement_id}/leave", who, 200)

    # The network and sharing

    async def network(self, who: Person) -> dict[str, Any]:
        return await self.call("GET", "/api/network", who, 200)

    async def link(self, a: Person, b: Person) -> str:
        """A proposes, B confirms: a live partner link; its id."""
        await self.call("POST", "/api/links", a, 202, json={"handle": b.handle})
        link_id = str(PartnerLink.id_for(uuid.UUID(a.id), uuid.UUID(b.id)))
        state = await self.call("POST", f"/api/links/{link_id}/confirm", b, 200)
        assert state["status"] == "live", state
        return link_id

    async def end_link(self, who: Person, link_id: str) -> None:
        await self.call("POST", f"/api/links/{link_id}/end", who, 200)

    async def propose_grant(self, who: Person, agreement_id: str, audience: Person, scopes: list[str]) -> str:
        body = {"audience": audience.handle, "scopes": scopes}
        grant = await self.call("POST", f"/api/agreements/{agreement_id}/grants", who, 201, json=body)
        return grant["grant_id"]

    async def consent_to_grant(self, who: Person, agreement_id: str, grant_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/grants/{grant_id}/consent", who, 200)

    async def revoke_grant(self, who: Person, agreement_id: str, grant_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/grants/{grant_id}/revoke", who, 200)


@pytest.fixture
async def api(server: Server) -> AsyncIterator[Api]:
    """The HTTP API of the module's `server`."""
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        yield Api(client)


# --------------------------------------------------------------------------
# The standard world
# --------------------------------------------------------------------------

SHARED_TEXT = "We tell each other before a first date with someone new."
HIDDEN_TEXT = "Tuesdays and Saturdays are ours; Jo keeps Thursdays free."
TITLE = "Mina and Jo, spring"


@dataclass
class World:
    """Partners Mina and Jo with an agreement; Sam, Jo's partner, is Mina's metamour.

    The agreement is a draft with a `boundaries` clause (the one a grant may
    share) and a `scheduling` clause (never shared).
    """

    mina: Person
    jo: Person
    sam: Person
    agreement_id: str
    boundary: dict[str, Any]
    schedule: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)
    grant_id: str | None = None

    @property
    def key(self) -> str:
        return f"agreement:{self.agreement_id}"

    @property
    def parties(self) -> list[Person]:
        return [self.mina, self.jo]


async def build_world(api: Api, title: str = TITLE) -> World:
    mina, jo, sam = await api.person("mina"), await api.person("jo"), await api.person("sam")
    links = {"mina-jo": await api.link(mina, jo), "jo-sam": await api.link(jo, sam)}
    agreement_id = (await api.create(mina, title))["agreement_id"]
    await api.invite(mina, agreement_id, jo.handle)
    await api.accept_invitation(jo, agreement_id)
    boundary = await api.add_clause(mina, agreement_id, "boundaries", SHARED_TEXT)
    schedule = await api.add_clause(jo, agreement_id, "scheduling", HIDDEN_TEXT)
    return World(mina, jo, sam, agreement_id, boundary, schedule, links)


async def share_boundaries(api: Api, world: World, scopes: tuple[str, ...] = ("clauses:boundaries",)) -> str:
    """Both parties consent that Sam may see the agreement's boundaries clauses."""
    world.grant_id = await api.propose_grant(world.mina, world.agreement_id, world.sam, list(scopes))
    await api.consent_to_grant(world.jo, world.agreement_id, world.grant_id)
    return world.grant_id


# --------------------------------------------------------------------------
# The websocket client
# --------------------------------------------------------------------------


class Live:
    """One open `/api/live` socket and the client state it implies."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.person_id: str | None = None
        #: The last position seen (from updates, resyncs and `synced`): what to resume from.
        self.position: int | None = None
        #: What this client may see now, by key, as the server sent it.
        self.views: dict[str, Any] = {}
        #: Every frame received, in order.
        self.frames: list[dict[str, Any]] = []
        #: The frames between `ready` and `synced` of the last (re)connection.
        self.catch_up: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, server: Server, who: Person, since: int | None = None) -> Live:
        """Connect, authenticate, and read until `synced`."""
        socket = await connect(server.ws_url, max_size=None, open_timeout=SOON)
        live = cls(socket)
        await live.authenticate(who.token, since)
        return live

    @classmethod
    async def resume(cls, server: Server, who: Person, previous: Live) -> Live:
        """Reconnect as a client does: keeping what `previous` held, from its last position."""
        socket = await connect(server.ws_url, max_size=None, open_timeout=SOON)
        live = cls(socket)
        live.views, live.position = dict(previous.views), previous.position
        await live.authenticate(who.token, previous.position)
        return live

    async def authenticate(self, token: str, since: int | None) -> None:
        await self.send({"type": "auth", "token": token, "since": since})
        ready = await self.recv()
        assert ready["type"] == "ready", ready
        self.person_id = ready["person_id"]
        while True:
            frame = await self.recv()
            if frame["type"] == "synced":
                break
            assert frame["type"] in ("update", "resync"), frame
            self.catch_up.append(frame)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = SOON) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            frame = json.loads(await self.socket.recv())
        self.frames.append(frame)
        self._apply(frame)
        return frame

    def _apply(self, frame: dict[str, Any]) -> None:
        match frame["type"]:
            case "update":
                assert self.position is None or frame["position"] > self.position, (
                    f"update at {frame['position']} after {self.position}: a duplicate or out of order"
                )
                for change in frame["changes"]:
                    if change.get("removed"):
                        assert change["key"] in self.views, f"removed {change['key']} never shown"
                        del self.views[change["key"]]
                    else:
                        self.views[change["key"]] = change["view"]
                self.position = frame["position"]
            case "resync":
                self.views = {item["key"]: item["view"] for item in frame["views"]}
                self.position = frame["position"]
            case "synced":
                assert self.position is None or frame["position"] >= self.position, frame
                self.position = frame["position"]

    async def update(self, timeout: float = SOON) -> dict[str, Any]:
        """The next frame, which must be an update."""
        frame = await self.recv(timeout)
        assert frame["type"] == "update", frame
        return frame

    async def update_at(self, position: int, timeout: float = SOON) -> dict[str, Any]:
        """Read updates up to `position`; the one at `position` (which must come)."""
        while True:
            frame = await self.update(timeout)
            if frame["position"] >= position:
                assert frame["position"] == position, f"expected an update at {position}, got {frame}"
                return frame

    async def change_to(self, key: str, timeout: float = SOON) -> dict[str, Any]:
        """Read updates until one changes `key`; that change."""
        while True:
            frame = await self.update(timeout)
            for change in frame["changes"]:
                if change["key"] == key:
                    return change

    async def nothing_pending(self, settle: float = 0.2) -> None:
        """Assert that nothing was sent to this socket: a ping's pong comes first.

        The pong goes through the same queue as updates, behind anything the
        server had already queued; `settle` first lets the server finish what
        the last command started.
        """
        await asyncio.sleep(settle)
        await self.send({"type": "ping"})
        frame = await self.recv()
        assert frame == {"type": "pong"}, f"expected nothing before the pong, received {frame}"

    async def close(self) -> None:
        await self.socket.close()

    def updates(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "update"]
