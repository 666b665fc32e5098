"""`accord demo`: it fills an empty store, refuses a used one, and a newcomer can sign in and look around.

The tour takes the screenshots of the main pages (tests/artifacts/demo-*.png);
the README's screenshots in docs/screenshots/ are chosen from them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.demo import (
    MINA_AND_SAM,
    ONE_PAGE_TITLE,
    PASSWORD,
    SCHEDULING_REVISED,
    TRAVEL,
)
from tests.browser.conftest import (
    ROOT,
    SOON_MS,
    Server,
    expect,
    screenshot,
    start_server,
)


def demo(database: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCORD_PASSWORD_HASHING": "cheapest"}
    command = [sys.executable, "-m", "service.cli", "demo", "--database", f"sqlite:///{database}", *extra]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("demo")
    filled = demo(tmp / "accord.db")
    assert filled.returncode == 0, filled.stdout + filled.stderr
    server = start_server(tmp)
    yield server
    server.stop()


def test_demo_fills_an_empty_store_says_how_to_sign_in_and_refuses_a_used_one(tmp_path: Path) -> None:
    first = demo(tmp_path / "accord.db")
    assert first.returncode == 0, first.stderr
    for handle in ("mina", "theo", "sam", "jules"):
        assert f"  {handle} " in first.stdout
    assert PASSWORD in first.stdout and "accord serve" in first.stdout

    again = demo(tmp_path / "accord.db")
    assert again.returncode == 1
    assert "not empty" in again.stdout and "--force" in again.stdout

    forced = demo(tmp_path / "accord.db", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "  mina2 " in forced.stdout, "taken handles get a suffix rather than failing"


def sign_in_as(browser: Any, server: Server, handle: str, width: int = 1280) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=server.url)
    context.set_default_timeout(SOON_MS)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/agreements")
    return page


def settle(page: Any) -> None:
    page.wait_for_selector("html[data-live='synced']", state="attached")


def test_a_tour_of_the_demo(browser: Any, demo_server: Server) -> None:
    mina = sign_in_as(browser, demo_server, "mina")
    settle(mina)
    expect(mina.locator("#live")).to_contain_text("1 renegotiation to answer")
    expect(mina.locator("#live")).to_contain_text("1 repair note to read")
    expect(mina.locator("#live")).to_contain_text("An agreement between Jules and Sam")
    screenshot(mina, "demo-agreements")

    mina.get_by_role("link", name="Mina & Theo").click()
    settle(mina)
    expect(mina.locator(".proposal.status-open")).to_contain_text("My new job")
    screenshot(mina, "demo-renegotiation")

    mina.goto("/agreements")
    mina.get_by_role("link", name="Mina & Sam").click()
    settle(mina)
    expect(mina.locator("#repair")).to_contain_text("I cancelled our check-in")
    screenshot(mina, "demo-agreement")

    mina.get_by_role("link", name="Timeline").click()
    mina.get_by_label("From version").select_option("6")
    mina.get_by_label("To version").select_option("7")
    mina.get_by_role("button", name="Compare").click()
    expect(mina.locator(".diff-result ins")).to_contain_text("Changes need a day's notice")
    screenshot(mina, "demo-timeline")

    mina.get_by_role("link", name="Sharing").click()
    expect(mina.locator(".grant")).to_contain_text("Shown now")
    screenshot(mina, "demo-sharing")

    mina.get_by_role("link", name="Network").click()
    settle(mina)
    graph = mina.locator("svg.network-graph")
    for name in ("Theo", "Sam", "Jules"):
        expect(graph).to_contain_text(name)
    screenshot(mina, "demo-network")

    # Jules, Mina's metamour, sees two clauses of Mina and Sam's agreement, and nothing else of it.
    jules = sign_in_as(browser, demo_server, "jules")
    jules.get_by_role("link", name="An agreement between Mina and Sam").click()
    settle(jules)
    expect(jules.locator(".shared-clause .clause-text")).to_have_text(
        [MINA_AND_SAM["safer_sex"], MINA_AND_SAM["metamour_contact"]]
    )
    body = jules.locator("body").inner_text()
    hidden = [text for topic, text in MINA_AND_SAM.items() if topic not in ("safer_sex", "metamour_contact")]
    for text in [*hidden, SCHEDULING_REVISED, "Mina & Sam", "I cancelled"]:
        assert text not in body
    expect(jules.locator(".notice")).to_contain_text("keep this to yourself")
    screenshot(jules, "demo-metamour")

    phone = sign_in_as(browser, demo_server, "theo", width=390)
    phone.get_by_role("link", name="Mina & Theo").click()
    settle(phone)
    expect(phone.locator(".proposal.status-open")).to_contain_text("Waiting for Mina")
    phone.locator(".proposal.status-open").scroll_into_view_if_needed()
    screenshot(phone, "demo-phone", full_page=False)

    # Mina and Theo's weekly check-in: last week's plan, and tomorrow's to prepare for.
    mina.get_by_role("link", name="Check-ins").click()
    mina.get_by_role("link", name="With Theo").click()
    settle(mina)
    expect(mina.locator("article.occurrence-closed")).to_contain_text("Dinner on Thursday with phones away")
    expect(mina.get_by_label("What felt good")).to_have_value("Sunday's breakfast")
    screenshot(mina, "demo-check-in")
    phone.get_by_role("link", name="Check-ins").click()
    phone.get_by_role("link", name="With Mina").click()
    settle(phone)
    # Mina's preparation for tomorrow is hers alone.
    expect(phone.get_by_label("What felt good")).to_have_value("")
    assert "Sunday's breakfast" not in phone.content()
    screenshot(phone, "demo-check-in-phone", full_page=False)
    jules.get_by_role("link", name="Check-ins").click()
    expect(jules.locator("#mine-h + .empty")).to_be_visible()

    # Sam's "home safe" from last night waits on Mina's Signals page, with its note.
    mina.get_by_role("link", name="Signals").click()
    settle(mina)
    expect(mina.locator("#received .signal")).to_contain_text("Home safe from Sam")
    expect(mina.locator("#received .signal")).to_contain_text("Got the last train")
    screenshot(mina, "demo-signals")


def test_the_demo_s_personal_documents(browser: Any, demo_server: Server) -> None:
    """Mina reads Sam's care plan; Theo reads Mina's Solo Ethic; Jules, Mina's metamour, reads neither."""
    from service.demo import MINA_SOLO_ETHIC, SAM_CARE_PLAN

    mina = sign_in_as(browser, demo_server, "mina")
    mina.goto("/documents")
    expect(mina.get_by_role("link", name="Solo Ethic", exact=True)).to_be_visible()
    expect(mina.locator(".document-line").first).to_contain_text("shared with 2")
    mina.get_by_role("link", name="Sam's Care plan").click()
    expect(mina.locator(".document-text")).to_contain_text(SAM_CARE_PLAN[1])
    screenshot(mina, "demo-documents")
    theo = sign_in_as(browser, demo_server, "theo")
    theo.goto("/documents")
    theo.get_by_role("link", name="Mina's Solo Ethic").click()
    expect(theo.locator(".document-text")).to_contain_text(MINA_SOLO_ETHIC[0])
    jules = sign_in_as(browser, demo_server, "jules")
    jules.goto("/documents")
    expect(jules.locator("#shared-h")).to_be_visible()
    assert MINA_SOLO_ETHIC[0] not in jules.content() and SAM_CARE_PLAN[0] not in jules.content()


def test_the_demo_has_an_agreement_started_from_the_one_page_contract(browser: Any, demo_server: Server) -> None:
    theo = sign_in_as(browser, demo_server, "theo")
    theo.get_by_role("link", name=ONE_PAGE_TITLE).click()
    settle(theo)
    expect(theo.locator("#started-from")).to_contain_text("One-page contract")
    travel = theo.locator("section.topic", has=theo.locator("h3", has_text="Travel"))
    expect(travel).to_contain_text(TRAVEL)
    screenshot(theo, "demo-one-page")


def test_the_demo_s_week_on_minas_calendar_and_sams_busy_time_on_jules_s(browser: Any, demo_server: Server) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.cadence import zone
    from service.demo import BERLIN, WEEK

    # The demo's next week is Berlin's (late on a Sunday in UTC, it is Monday there already).
    today = datetime.now(UTC).astimezone(zone(BERLIN)).date()
    next_week = (today + timedelta(days=7 - today.weekday())).isoformat()
    mina = sign_in_as(browser, demo_server, "mina")
    mina.goto(f"/calendar?week={next_week}")
    plans = mina.locator(".calendar .entry.sight-full a[href^='/plans/']")
    # The overnight runs into Saturday: it shows on both days.
    expect(plans).to_have_count(len(WEEK) + 1)
    for title in (w[4] for w in WEEK):
        expect(mina.locator(".calendar")).to_contain_text(title)
    expect(mina.locator(".calendar .entry.sight-busy")).to_have_count(0)
    screenshot(mina, "demo-calendar")

    jules = sign_in_as(browser, demo_server, "jules")
    jules.goto(f"/calendar?week={next_week}")
    busy = jules.locator(".calendar .entry")
    # Sam's time is busy where he committed it: the brunch waits for his answer, so it is not.
    expect(busy).to_have_count(sum(1 for w in WEEK if "sam" in w[6] and (w[7] or w[6][0] == "sam")))
    for entry in busy.all():
        expect(entry).to_contain_text("Sam: busy")
    for title in (w[4] for w in WEEK):
        expect(jules.locator(".calendar")).not_to_contain_text(title)
    screenshot(jules, "demo-calendar-busy")
