"""Mina writes her care plan in Chromium and shares it with her partner Theo, who sees it arrive on
his open page; she revises it (its history shows the words that changed) and stops sharing it, and
it leaves Theo's page at once."""

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

SIGNS = "My chest tightens and I go quiet."
HELPS = "A slow walk together, without talking."


def test_writing_a_care_plan_and_sharing_it_with_a_partner(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    mina_page, theo_page = sign_in(browser, server, mina), sign_in(browser, server, theo)
    open_live(theo_page, "/documents")
    expect(theo_page.locator("#shared-h")).to_be_visible()

    # Mina writes her care plan.
    mina_page.get_by_role("link", name="My documents").click()
    mina_page.get_by_role("link", name="Write a Care plan").click()
    mina_page.get_by_label("Signs that I am activated").fill(SIGNS)
    mina_page.get_by_label("What helps").fill(HELPS)
    mina_page.get_by_role("button", name="Save").click()
    expect(mina_page.locator("h1")).to_contain_text("My Care plan")
    expect(mina_page.locator(".document-text")).to_contain_text(SIGNS)
    document = mina_page.url.rsplit("/", 1)[-1]
    assert SIGNS not in theo_page.content()

    # She shares it with Theo, picked among her partners: it arrives on his open page.
    mina_page.locator("#share").get_by_label("A partner").select_option(label="Theo")
    mina_page.locator("#share").get_by_role("button", name="Share").click()
    expect(mina_page.locator("[data-share='Theo']")).to_be_visible()
    expect(theo_page.get_by_role("link", name="Mina's Care plan")).to_be_visible()
    assert not_reloaded(theo_page)
    theo_page.get_by_role("link", name="Mina's Care plan").click()
    expect(theo_page.locator(".document-text")).to_contain_text(HELPS)
    assert theo_page.locator("#shares").count() == 0  # who else reads it is Mina's to know
    open_live(theo_page)

    # She revises it: Theo's page follows; the history shows what changed, word by word.
    mina_page.locator("#revise-details summary").click()
    mina_page.locator("#revise").get_by_label("What helps").fill("A long walk together, without talking.")
    mina_page.get_by_role("button", name="Save as version 2").click()
    expect(theo_page.locator(".document-text")).to_contain_text("A long walk together")
    assert not_reloaded(theo_page)
    mina_page.get_by_role("link", name="History").click()
    expect(mina_page.locator("#version-2 del")).to_have_text("slow")
    expect(mina_page.locator("#version-2 ins")).to_have_text("long")
    screenshot(mina_page, "document-history")

    # She stops sharing it: it leaves Theo's open page at once.
    mina_page.goto(f"/documents/{document}")
    mina_page.locator("[data-share='Theo']").get_by_role("button", name="Stop sharing").click()
    expect(theo_page.locator("#live .notice")).to_have_text("This document is no longer shared with you.")
    assert HELPS not in theo_page.content() and "A long walk" not in theo_page.content()
    assert theo_page.goto(f"/documents/{document}").status == 404
