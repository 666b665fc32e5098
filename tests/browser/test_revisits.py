"""A due review, reaffirmed by both partners in real Chromium, on `accord demo`'s Mina and Theo.

Their check-in clause's revisit date passed a month ago (the demo made the
agreement two months back): both see it due for review; Mina reaffirms it, and
Theo's open page shows that at once; Theo reaffirms it too, and the review is
settled on both pages, and in the timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.demo import MINA_AND_THEO
from tests.browser.conftest import Server, open_live, not_reloaded, screenshot, start_server
from tests.browser.test_demo import demo, settle, sign_in_as

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, saying why (or fails in CI)
    expect = None


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("revisits")
    filled = demo(tmp / "accord.db")
    assert filled.returncode == 0, filled.stdout + filled.stderr
    server = start_server(tmp)
    yield server
    server.stop()


def open_their_agreement(browser: Any, server: Server, handle: str) -> Any:
    page = sign_in_as(browser, server, handle)
    settle(page)
    expect(page.locator("#live")).to_contain_text("1 clause due for review")
    page.get_by_role("link", name="Mina & Theo").click()
    open_live(page)
    return page


def test_a_due_review_is_reaffirmed_by_both_partners(browser: Any, demo_server: Server) -> None:
    mina = open_their_agreement(browser, demo_server, "mina")
    theo = open_their_agreement(browser, demo_server, "theo")
    check_in = mina.locator("article.clause.due")
    expect(check_in).to_have_count(1)
    expect(check_in.locator(".clause-text")).to_have_text(MINA_AND_THEO["check_ins"])
    expect(check_in).to_contain_text("Due for review")
    screenshot(mina, "revisit-due")

    # "Propose a change" opens the renegotiation form, with that clause marked and a reason to start from.
    check_in.get_by_role("link", name="Propose a change").click()
    expect(mina.locator("#propose-details")).to_have_attribute("open", "")
    expect(mina.locator(".proposal-clause.reviewed textarea")).to_have_value(MINA_AND_THEO["check_ins"])
    expect(mina.get_by_label("Why? What has changed for you")).to_have_value(
        "Its revisit date came, and I would like to change it."
    )

    # But Mina would rather keep it as it is.
    mina.locator("article.clause.due").get_by_role("button", name="Reaffirm").click()
    expect(mina.locator("article.clause.due")).to_contain_text("You reaffirmed it; waiting for the others")
    open_live(mina)

    # Theo's open page learns it live, without a reload.
    theirs = theo.locator("article.clause.due")
    expect(theirs.locator(".reaffirmed")).to_contain_text("Reaffirmed by Mina")
    assert not_reloaded(theo)
    theirs.get_by_role("button", name="Reaffirm").click()

    expect(theo.locator("article.clause.due")).to_have_count(0)
    expect(mina.locator("article.clause.due")).to_have_count(0)
    assert not_reloaded(mina)
    theo.get_by_role("link", name="Timeline").click()
    expect(theo.locator(".timeline")).to_contain_text("Every party reaffirmed a clause on check ins")
    expect(theo.locator(".timeline")).to_contain_text("is due for review")

