"""HTTP API tests: the real app, in process, on both event stores.

`client` builds `create_app` on an empty log (SQLite or PostgreSQL, via the
shared `store_url` fixture) and talks to it through litestar's AsyncTestClient,
so requests pass through routing, validation, auth, idempotency and the error
handlers exactly as they do in production.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.network import PartnerLink
from service.app import create_app
from service.settings import Settings
from tests import mailbox
from tests.servers import TEST_MASTER_KEY

PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"


def settings_for(store_url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=store_url, password_hashing="cheapest", auth_rate_per_minute=10000, master_key=TEST_MASTER_KEY,
        # A real SMTP server (tests/mailbox.py): email reminders are on, and what is sent can be read.
        smtp_url=mailbox.shared().url,
    )
    return replace(base, **overrides)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shared `store_url`, once per module instead of once per test.

    Same two stores as tests/conftest.py; a fresh log per module keeps the API
    suite fast (one PostgreSQL database and one app per module and store). Tests
    isolate themselves by new people and agreements, and run one at a time, so
    comparing the log position before and after a request stays exact.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('api').resolve() / 'accord.db'}"
    make: Callable[[], str] = request.getfixturevalue("new_pg_database")
    return make()


@pytest.fixture
def make_client(store_url: str) -> Callable[..., Any]:
    """`async with make_client(**settings) as client:` another app instance on the same log."""

    def make(**overrides: Any) -> AsyncTestClient[Litestar]:
        return AsyncTestClient(create_app(settings_for(store_url, **overrides)))

    return make


@pytest.fixture(scope="module")
async def _module_client(store_url: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings_for(store_url))
    async with AsyncTestClient(app) as c:
        yield c


@pytest.fixture
def client(_module_client: AsyncTestClient[Litestar]) -> AsyncTestClient[Litestar]:
    """The app on each store kind, started (lifespan run); shared by a module's tests."""
    return _module_client


def unique_handle(prefix: str = "p") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def register_and_sign_in(
    client: AsyncTestClient[Litestar], handle: str | None = None, display_name: str | None = None
) -> tuple[uuid.UUID, dict[str, str]]:
    """Register a new account (unique handle unless given) and sign in: (person_id, auth headers)."""
    handle = handle or unique_handle()
    r = await client.post(
        "/api/accounts",
        json={"handle": handle, "display_name": display_name or handle.title(), "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    person_id = uuid.UUID(r.json()["person_id"])
    r = await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return person_id, {"Authorization": f"Bearer {r.json()['token']}"}


@dataclass
class Person:
    id: uuid.UUID
    handle: str
    name: str
    headers: dict[str, str]

    @property
    def sid(self) -> str:
        return str(self.id)

    def with_key(self, key: str) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key}


class Api:
    """Thin helpers over the routes; every helper asserts the exact status it expects."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client

    async def person(self, prefix: str = "p") -> Person:
        handle = unique_handle(prefix)
        name = f"{prefix.title()} {handle[-4:]}"
        person_id, headers = await register_and_sign_in(self.client, handle, name)
        return Person(person_id, handle, name, headers)

    async def position(self) -> int:
        r = await self.client.get("/health")
        assert r.status_code == 200, r.text
        return r.json()["position"]

    async def call(self, method: str, path: str, who: Person | None, expect: int, **kwargs: Any) -> Any:
        headers = {**(who.headers if who else {}), **kwargs.pop("headers", {})}
        r = await self.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    # Commands that set up state

    async def create(self, who: Person, title: str = "Our agreement") -> dict[str, Any]:
        return await self.call("POST", "/api/agreements", who, 201, json={"title": title})

    async def invite(self, who: Person, agreement_id: str, handle: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/invitations", who, 202, json={"handle": handle})

    async def accept_invitation(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", who, 200)

    async def pair(self, title: str = "Our agreement") -> tuple[Person, Person, str]:
        """Two parties of a fresh agreement: (creator, partner, agreement_id)."""
        a, b = await self.person("ana"), await self.person("ben")
        agreement_id = (await self.create(a, title))["agreement_id"]
        await self.invite(a, agreement_id, b.handle)
        await self.accept_invitation(b, agreement_id)
        return a, b, agreement_id

    async def add_clause(self, who: Person, agreement_id: str, text: str, topic: str = "boundaries") -> dict[str, Any]:
        """Add a clause; returns the clause's view (from the response)."""
        body = {"topic": topic, "text": text, "clause_id": str(uuid.uuid4())}
        view = await self.call("POST", f"/api/agreements/{agreement_id}/clauses", who, 201, json=body)
        return clause_of(view, body["clause_id"])

    async def edit_clause(
        self, who: Person, agreement_id: str, clause_id: str, text: str, revision: int
    ) -> dict[str, Any]:
        body = {"text": text, "based_on_revision": revision}
        return await self.call("PUT", f"/api/agreements/{agreement_id}/clauses/{clause_id}", who, 200, json=body)

    async def view(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/api/agreements/{agreement_id}", who, 200)

    async def consent(self, who: Person, agreement_id: str, version: int) -> dict[str, Any]:
        return await self.call("POST", f"/api/agreements/{agreement_id}/consents", who, 200, json={"version": version})

    async def ratify(self, a: Person, b: Person, agreement_id: str) -> dict[str, Any]:
        """Both parties consent to the current version; returns the view after ratification."""
        version = (await self.view(a, agreement_id))["version"]
        await self.consent(a, agreement_id, version)
        view = await self.consent(b, agreement_id, version)
        assert view["status"] == "in_force"
        return view

    async def propose(
        self, who: Person, agreement_id: str, changes: list[dict[str, Any]], reason: str = "needs changed"
    ) -> tuple[str, dict[str, Any]]:
        body = {"changes": changes, "reason": reason, "proposal_id": str(uuid.uuid4())}
        view = await self.call("POST", f"/api/agreements/{agreement_id}/proposals", who, 201, json=body)
        return body["proposal_id"], view

    # Revisit dates

    async def set_revisit_date(self, who: Person, agreement_id: str, clause_id: str, revisit_on: str | None) -> Any:
        path = f"/api/agreements/{agreement_id}/clauses/{clause_id}/revisit"
        return await self.call("PUT", path, who, 200, json={"revisit_on": revisit_on})

    async def due_for_review(self, text: str = "We check in on Sundays.") -> tuple[Person, Person, str, str]:
        """Two parties of an agreement in force whose one clause is due for review: (ana, ben, agreement_id, clause_id)."""
        ana, ben, agreement_id = await self.pair()
        clause_id = (await self.add_clause(ana, agreement_id, text, "check_ins"))["clause_id"]
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
        await self.set_revisit_date(ana, agreement_id, clause_id, tomorrow.isoformat())
        await self.ratify(ana, ben, agreement_id)
        await self.wait_due(ana, agreement_id)
        return ana, ben, agreement_id, clause_id

    async def wait_due(self, who: Person, agreement_id: str) -> dict[str, Any]:
        """Move the app's clock to the earliest revisit date of the agreement until the scheduler has
        put a clause up for review (then the clock goes back); the view then."""
        accord = self.client.app.state.accord
        view = await self.view(who, agreement_id)
        first = min(datetime.fromisoformat(r["revisit_on"]) for r in view["revisits"])
        real = accord.clock
        accord.clock = lambda: first.replace(tzinfo=UTC) + timedelta(minutes=1)
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while not (view := await self.view(who, agreement_id))["due_reviews"]:
                assert asyncio.get_running_loop().time() < deadline, "no clause fell due"
                await asyncio.sleep(0.05)
        finally:
            accord.clock = real
        return view

    # The network

    async def propose_link(self, proposer: Person, other: Person) -> str:
        """`proposer` asks `other` by handle (answered alike whether or not the handle exists); the link's id."""
        answer = await self.call("POST", "/api/links", proposer, 202, json={"handle": other.handle})
        assert answer == {"status": "proposed"}, answer
        return str(PartnerLink.id_for(proposer.id, other.id))

    async def confirm_link(self, who: Person, link_id: str) -> None:
        state = await self.call("POST", f"/api/links/{link_id}/confirm", who, 200)
        assert state == {"link_id": link_id, "status": "live", "proposed_by_me": False}, state

    async def link(self, proposer: Person, other: Person) -> str:
        """`proposer` asks, `other` confirms: a live partner link; its id."""
        link_id = await self.propose_link(proposer, other)
        await self.confirm_link(other, link_id)
        return link_id


async def wait_until_ready(client: AsyncTestClient[Litestar]) -> None:
    """Wait for /health/ready: right after start the log follower is not yet following."""
    for _ in range(100):
        if (await client.get("/health/ready")).status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the app never became ready")


# --------------------------------------------------------------------------
# Texts to search for, and people as others are shown them
# --------------------------------------------------------------------------

#: A unique marker in a text (see `mark`), so its appearance anywhere can be searched for.
MARKER = re.compile(r"MARK-[0-9a-f]{32}")
PSEUDONYM_KEY = re.compile(r"p-[0-9a-f]{16}")
PSEUDONYM_NAME = re.compile(r"Someone \([0-9A-F]{4}\)")


def mark(words: str) -> str:
    """`words` with a unique marker."""
    return f"{words} MARK-{uuid.uuid4().hex}"


def marker(text: str) -> str:
    """The one marker in `text`."""
    found = MARKER.findall(text)
    assert len(found) == 1, text
    return found[0]


def named(p: Person) -> dict[str, Any]:
    """`p` as shown to someone who may know who they are."""
    return {"key": p.sid, "name": p.name, "person_id": p.sid}


def is_pseudonym(ref: dict[str, Any]) -> bool:
    """A person ref that names nobody: no id, a pseudonymous key and name."""
    return (
        ref["person_id"] is None
        and bool(PSEUDONYM_KEY.fullmatch(ref["key"]))
        and bool(PSEUDONYM_NAME.fullmatch(ref["name"]))
    )


# --------------------------------------------------------------------------
# Reading responses
# --------------------------------------------------------------------------


def clause_of(view: dict[str, Any], clause_id: str) -> dict[str, Any]:
    found = [c for c in view["clauses"] if c["clause_id"] == clause_id]
    assert len(found) == 1, f"clause {clause_id} not in {view['clauses']}"
    return found[0]


def proposal_of(view: dict[str, Any], proposal_id: str) -> dict[str, Any]:
    found = [p for p in view["proposals"] if p["proposal_id"] == proposal_id]
    assert len(found) == 1, f"proposal {proposal_id} not in {view['proposals']}"
    return found[0]


def assert_problem(r: Any, status: int, *, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status (and `type` ending in `code`, if given)."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    if code is not None:
        assert body["type"] == f"https://accord.example/problems/{code}", body
    return body


#: Headers that differ between any two responses by design.
PER_RESPONSE = frozenset({"accord-position", "x-request-id", "date"})


def comparable_headers(r: Any) -> dict[str, str]:
    """A response's headers, without those that name the request or the log position."""
    return {k: v for k, v in r.headers.items() if k.lower() not in PER_RESPONSE}


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


@pytest.fixture
def api(client: AsyncTestClient[Litestar]) -> Api:
    return Api(client)


async def in_app(client: AsyncTestClient[Litestar], call: Any, *args: Any) -> Any:
    """Await `call(*args)` on the app's own event loop (the store's connections live there)."""
    return await asyncio.wrap_future(client.blocking_portal.start_task_soon(call, *args))
