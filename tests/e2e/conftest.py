"""End-to-end fixtures: real `accord serve` processes, real HTTP, real websockets.

Each server is a subprocess (`python -m service.cli serve`, tests/servers.py) on a free port,
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
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import Person, ServerApi, ServerGroup, ServerProcess, free_port

#: How long a test waits for something that should happen (generous: CI machines are slow).
SOON = 5.0

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


class Server(ServerProcess):
    """One `accord serve` process, stdout and stderr in one log; `kill` and `start` again keep its port and database."""

    def __init__(self, database_url: str, log_dir: Path, settings: dict[str, str]) -> None:
        port = free_port()
        super().__init__(database_url, log_dir / f"server-{port}.log", settings=settings, port=port)

    async def restart_after_kill(self) -> None:
        self.kill()
        await asyncio.to_thread(self.start)

    def tracebacks(self) -> list[str]:
        """Unhandled errors the server logged (none expected in these tests)."""
        return [line for line in self.output().splitlines() if "Traceback" in line]


class Servers(ServerGroup[Server]):
    """Servers sharing one secret; stopping them fails the test if any logged an unhandled error."""

    def new(self, database_url: str, settings: dict[str, str]) -> Server:
        return Server(database_url, self.log_dir, settings)

    def stop_all(self) -> None:
        super().stop_all()
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
    with Servers(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with Servers(tmp_path_factory.mktemp("servers")) as started:
        yield started


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


class Api(ServerApi):
    """The HTTP API of one server, all of it that these tests use; each helper asserts the status it expects."""

    async def caught_up(self, position: int) -> None:
        """Wait until this server's read models (and live hub) include `position`."""
        await self.call("GET", "/health", None, 200, headers={"Accord-Position": str(position)})

    # Agreements

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
