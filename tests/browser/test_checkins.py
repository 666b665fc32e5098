"""Two partners run a check-in in Chromium: each prepares privately (saved as they type), shares,
and they agree a plan; the other's shared answers appear live, unshared ones never do."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import (
    Api,
    Server,
    expect,
    not_reloaded,
    open_live,
    screenshot,
    sign_in,
)

MINA_PRIVATE = "The walk by the river on Sunday"
THEO_PRIVATE = "I missed you on Thursday"


def test_two_partners_prepare_privately_share_and_agree_a_plan(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    agreement_id, (clause_id,) = api.agreement(mina, theo, "Mina & Theo", [("scheduling", "Every other weekend.")])
    api.ratify(agreement_id, mina, theo)
    mina_page, theo_page = sign_in(browser, server, mina), sign_in(browser, server, theo)

    # Mina starts a weekly check-in with Theo, with two prompts.
    mina_page.get_by_role("link", name="Check-ins").click()
    form = mina_page.locator("#start")
    form.get_by_label("With").select_option(label="Theo (partner)")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_label("Prompts, one per line").fill("What felt good\nWhat felt hard")
    form.get_by_role("button", name="Start").click()
    expect(mina_page.locator("h1")).to_contain_text("Check-in with Theo")
    check_in = mina_page.url.rsplit("/", 1)[-1]
    open_live(mina_page)
    open_live(theo_page, f"/check-ins/{check_in}")

    # Mina types; it is saved without a button, and Theo sees none of it.
    mina_page.get_by_label("What felt good").fill(MINA_PRIVATE)
    expect(mina_page.locator("[data-save-status]")).to_contain_text("Saved")
    theo_page.get_by_label("What felt hard").fill(THEO_PRIVATE)
    expect(theo_page.locator("[data-save-status]")).to_contain_text("Saved")
    mina_page.reload()
    expect(mina_page.get_by_label("What felt good")).to_have_value(MINA_PRIVATE)
    theo_page.reload()
    expect(theo_page.get_by_label("What felt hard")).to_have_value(THEO_PRIVATE)
    assert MINA_PRIVATE not in theo_page.content()
    open_live(mina_page)
    open_live(theo_page)

    # Mina shares: her answers appear on Theo's open page, live; his stay his.
    mina_page.get_by_role("button", name="Share with the others").click()
    shared_on_theo = theo_page.locator("[data-shared-by='Mina']")
    expect(shared_on_theo).to_contain_text(MINA_PRIVATE)
    assert not_reloaded(theo_page)
    expect(theo_page.get_by_label("What felt hard")).to_have_value(THEO_PRIVATE)
    assert THEO_PRIVATE not in mina_page.content()
    open_live(mina_page)

    theo_page.get_by_role("button", name="Share with the others").click()
    expect(mina_page.locator("[data-shared-by='Theo']")).to_contain_text(THEO_PRIVATE)
    screenshot(mina_page, "check-in-shared")

    # Theo writes down the plan they agreed; it shows on Mina's page as the earlier occurrence.
    theo_page.locator("#close-details summary").click()
    theo_page.get_by_label("Our plan until next time").fill("Dinner on Friday, phones away")
    theo_page.get_by_label("Action points, one per line").fill("Talk about overnights")
    theo_page.get_by_role("button", name="Agree the plan").click()
    past = mina_page.locator("article.occurrence-closed")
    expect(past).to_contain_text("Dinner on Friday, phones away")
    expect(past).to_contain_text("Talk about overnights")
    expect(past).to_contain_text("plan agreed")

    # The action point becomes a renegotiation of their agreement, linked both ways.
    open_live(mina_page)
    point = past.locator("li", has_text="Talk about overnights")
    point.locator("summary", has_text="Propose this as a change").click()
    point.get_by_label("Clause to change").select_option(value=f"{agreement_id}:{clause_id}")
    point.get_by_label("New text").fill("Every other weekend, and an overnight midweek when we both can.")
    point.get_by_role("button", name="Propose").click()
    expect(mina_page.locator("article.occurrence-closed")).to_contain_text("proposed as a change")
    mina_page.get_by_role("link", name="proposed as a change").click()
    expect(mina_page.locator(".proposal.status-open")).to_contain_text("Talk about overnights")
    mina_page.goto(f"/agreements/{agreement_id}/timeline")
    mina_page.get_by_role("link", name="the check-in").click()
    expect(mina_page.locator("h1")).to_contain_text("Check-in with Theo")

    # A metamour never sees any of it.
    sam = api.person("Sam")
    api.link(theo, sam)
    sam_page = sign_in(browser, server, sam)
    response = sam_page.goto(f"/check-ins/{check_in}")
    assert response is not None and response.status == 404
    assert MINA_PRIVATE not in sam_page.content()
