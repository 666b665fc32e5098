"""Browser app fixtures: a real `accord serve`, Debian's Chromium driven by playwright, and an API
client to set the scene quickly.

The server is a subprocess (tests/servers.py) on a free port and its own SQLite file. Tests make
their own people and agreements (unique handles), so they share one server.
Browser tests skip, saying how to enable them, when playwright or Chromium is
missing, unless ACCORD_REQUIRE_BROWSER=1 (CI), which makes that a failure.
Screenshots go to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.network import PartnerLink
from tests.servers import PASSWORD, ROOT, Person, ServerProcess

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips the tests, saying why (or fails them in CI)
    expect = None

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Generous: how long a test waits for a live update to show.
SOON_MS = 10_000


def chromium_path() -> str | None:
    found = os.environ.get("ACCORD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.access(found, os.X_OK) else None


def skip_or_fail(reason: str) -> None:
    if os.environ.get("ACCORD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (ACCORD_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


class Server(ServerProcess):
    """One `accord serve` subprocess on its own SQLite file."""

    def __init__(self, database: Path, log: Path) -> None:
        super().__init__(f"sqlite:///{database}", log)


def start_server(tmp: Path) -> Server:
    server = Server(tmp / "accord.db", tmp / "server.log")
    server.start()
    return server


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("web"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium (or ACCORD_CHROMIUM), launched once for this package's tests.

    Not for the whole session: while playwright's sync API runs, its event loop
    is the thread's running loop, which asyncio tests elsewhere cannot share.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        skip_or_fail("no Chromium found: apt-get install chromium, or set ACCORD_CHROMIUM=/path/to/chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# People and agreements, set up through the JSON API


class Api:
    """The scene, set through the JSON API (fast); what is tested happens in the browser."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def call(self, method: str, path: str, who: Person, expect: int, **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers=who.headers, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def person(self, name: str) -> Person:
        handle = f"{name.lower()}_{uuid.uuid4().hex[:8]}"
        body = {"handle": handle, "display_name": name, "password": PASSWORD}
        created = self.http.post("/api/accounts", json=body)
        assert created.status_code == 201, created.text
        session = self.http.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
        assert session.status_code == 201, session.text
        return Person(created.json()["person_id"], handle, name, session.json()["token"])

    def link(self, a: Person, b: Person) -> None:
        self.call("POST", "/api/links", a, 202, json={"handle": b.handle})
        self.call("POST", f"/api/links/{PartnerLink.id_for(uuid.UUID(a.id), uuid.UUID(b.id))}/confirm", b, 200)

    def agreement(self, a: Person, b: Person, title: str, clauses: list[tuple[str, str]]) -> tuple[str, list[str]]:
        """A drafted agreement between a and b with these (topic, text) clauses: (id, clause ids)."""
        agreement_id = self.call("POST", "/api/agreements", a, 201, json={"title": title})["agreement_id"]
        self.call("POST", f"/api/agreements/{agreement_id}/invitations", a, 202, json={"handle": b.handle})
        self.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", b, 200)
        ids = []
        for topic, text in clauses:
            clause_id = str(uuid.uuid4())
            body = {"topic": topic, "text": text, "clause_id": clause_id}
            self.call("POST", f"/api/agreements/{agreement_id}/clauses", a, 201, json=body)
            ids.append(clause_id)
        return agreement_id, ids

    def ratify(self, agreement_id: str, *parties: Person) -> None:
        version = self.view(parties[0], agreement_id)["version"]
        for party in parties:
            self.call("POST", f"/api/agreements/{agreement_id}/consents", party, 200, json={"version": version})

    def view(self, who: Person, agreement_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/agreements/{agreement_id}", who, 200)

    def edit(self, who: Person, agreement_id: str, clause_id: str, text: str, revision: int) -> None:
        body = {"text": text, "based_on_revision": revision}
        self.call("PUT", f"/api/agreements/{agreement_id}/clauses/{clause_id}", who, 200, json=body)

    def position(self) -> int:
        return self.http.get("/health").json()["position"]


@pytest.fixture(scope="package")
def api(server: Server) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.http.close()


# Browser sessions


def sign_in(browser: Any, server: Server, who: Person, *, width: int = 1280, height: int = 900) -> Any:
    """A fresh browser context signed in as `who` through the sign-in page; returns its page."""
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server.url)
    context.set_default_timeout(SOON_MS)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Handle").fill(who.handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/agreements$"))
    return page


def open_live(page: Any, path: str | None = None) -> None:
    """Open a page (or take the one shown) and wait until its websocket has caught up, so
    what follows arrives live; mark it, to tell later whether it was reloaded."""
    if path is not None:
        page.goto(path)
    page.wait_for_selector("html[data-live='synced']", state="attached")
    page.evaluate("window.__accordNotReloaded = true")


def not_reloaded(page: Any) -> bool:
    return page.evaluate("window.__accordNotReloaded === true")


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
