"""Leaving for good, in Chromium: deleting an account, and discarding a draft.

The scene is set through the API; what is tested happens in the browser, and
the partner who stays watches it arrive on an open, live page.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Api, Server, expect, open_live, screenshot, sign_in


def test_deleting_my_account_from_the_web_and_the_partner_sees_a_former_member_left(
    browser: Any, server: Server, api: Api
) -> None:
    ana, ben = api.person("Ana"), api.person("Benedikt")
    agreement_id, _ = api.agreement(ana, ben, "Our Sundays", [("scheduling", "Sundays are ours.")])
    api.ratify(agreement_id, ana, ben)
    watching = sign_in(browser, server, ana)
    open_live(watching, f"/agreements/{agreement_id}")
    expect(watching.locator("#people")).to_contain_text("Benedikt")

    page = sign_in(browser, server, ben)
    page.get_by_role("link", name="Your data").click()
    form = page.locator("#delete-account")
    form.get_by_label("Your password, to confirm").fill("not my password")
    form.get_by_role("button", name="Delete my account and data").click()
    expect(page.locator("#delete-account")).to_contain_text("is not your password")
    # The password is never sent back into the page.
    expect(page.locator("#delete-account").get_by_label("Your password, to confirm")).to_have_value("")
    page.locator("#delete-account").get_by_label("Your password, to confirm").fill("correct horse battery staple")
    page.locator("#delete-account").get_by_role("button", name="Delete my account and data").click()
    expect(page.locator("#account-deleted")).to_contain_text("Your handle, your name and your key are gone")
    screenshot(page, "account-deleted")
    page.goto("/agreements")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    api.call("GET", "/api/me", ben, 401)

    # Ana's open page follows: Benedikt is gone from it, and consent starts afresh.
    expect(watching.locator("#people")).not_to_contain_text("Benedikt")
    expect(watching.locator("[data-status]")).to_have_attribute("data-status", "drafting")
    watching.goto(f"/agreements/{agreement_id}/timeline")
    expect(watching.locator("main")).to_contain_text("a former member left; consent starts afresh")
    expect(watching.locator("main")).not_to_contain_text("Benedikt")
    screenshot(watching, "timeline-former-member")
    for context in (page.context, watching.context):
        context.close()


def test_discarding_a_draft_takes_every_party_asking(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    agreement_id, _ = api.agreement(ana, ben, "A draft to drop", [("other", "Maybe.")])
    page = sign_in(browser, server, ana)
    open_live(page, f"/agreements/{agreement_id}")
    page.locator("#discard-details summary").click()
    page.get_by_role("button", name="Ask to discard it").click()
    expect(page.locator("#discard-details")).to_contain_text("You asked to discard it; waiting for Ben")

    other = sign_in(browser, server, ben)
    open_live(other, f"/agreements/{agreement_id}")
    expect(other.locator("#discard-asked")).to_contain_text("Ana asked to discard it.")
    screenshot(other, "discard-asked")
    other.get_by_role("button", name="Discard it now").click()
    expect(other).to_have_url(re.compile(r"/agreements$"))
    expect(other.locator("main")).not_to_contain_text("A draft to drop")
    page.goto(f"/agreements/{agreement_id}")
    expect(page.locator("h1")).to_have_text("Not found")
    api.call("GET", f"/api/agreements/{agreement_id}", ana, 404)
    for context in (page.context, other.context):
        context.close()
