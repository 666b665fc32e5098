"""Revisit dates and temporary agreements in real Chromium.

A due review, reaffirmed by both partners, on `accord demo`'s Mina and Theo:

Their check-in clause's revisit date passed a month ago (the demo made the
agreement two months back): both see it due for review; Mina reaffirms it, and
Theo's open page shows that at once; Theo reaffirms it too, and the review is
settled on both pages, and in the timeline. And on a fresh pair: a revisit
date and an end date set while drafting, and the end date renegotiated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.demo import MINA_AND_THEO
from tests.browser.conftest import (
    Api,
    Server,
    expect,
    not_reloaded,
    open_live,
    screenshot,
    sign_in,
    start_server,
)
from tests.browser.test_demo import demo, settle, sign_in_as


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



def test_dates_are_set_while_drafting_and_an_end_date_is_renegotiated(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, [clause_id] = api.agreement(ana, ben, "For the summer", [("check_ins", "A call every Sunday.")])
    today = datetime.now(UTC).date()
    revisit_on, until, longer = (today + timedelta(days=d) for d in (30, 90, 180))

    page = sign_in(browser, server, ana)
    open_live(page, f"/agreements/{agreement_id}")
    page.locator(f"#clause-{clause_id} summary").click()
    page.locator(f"#revisit-{clause_id}").get_by_label("Revisit date").fill(revisit_on.isoformat())
    page.get_by_role("button", name="Set revisit date").click()
    expect(page.locator(f"#clause-{clause_id} .revisit-on")).to_have_text(f"Revisit on {revisit_on.isoformat()}")
    page.get_by_label("In force until (optional)").fill(until.isoformat())
    page.get_by_role("button", name="Set end date").click()
    expect(page.locator("#consent")).to_contain_text("Version 3 is the current draft")

    api.ratify(agreement_id, ana, ben)
    open_live(page, f"/agreements/{agreement_id}")
    expect(page.locator("#consent")).to_contain_text(f"in force until {until.isoformat()}")

    # Extending it is a renegotiation, accepted by everyone.
    page.locator("#propose-details summary").click()
    page.get_by_label("Why? What has changed for you").fill("One more season.")
    page.get_by_label("In force until", exact=True).fill(longer.isoformat())
    page.get_by_role("button", name="Propose", exact=True).click()
    expect(page.locator(".proposal.status-open")).to_contain_text(f"In force until {longer.isoformat()}")
    proposal_id = api.view(ana, agreement_id)["proposals"][0]["proposal_id"]
    api.call("POST", f"/api/agreements/{agreement_id}/proposals/{proposal_id}/accept", ben, 200)
    expect(page.locator("#consent")).to_contain_text(f"in force until {longer.isoformat()}")
