"""Blocking in Chromium: from the network page and by handle on the "Blocked people" page; the
page says plainly what a block does and does not; the blocked person's request never shows."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Api, Server, expect, screenshot, sign_in


def test_blocking_from_the_network_page_and_by_handle(browser: Any, server: Server, api: Api) -> None:
    mina, ex, sam = api.person("Mina"), api.person("Ex"), api.person("Sam")
    api.call("POST", "/api/links", ex, 202, json={"handle": mina.handle})
    page = sign_in(browser, server, mina)
    page.goto("/network")
    asking = page.locator("#to-me-h").locator("..")
    expect(asking).to_contain_text("Ex")

    asking.locator("summary", has_text="Block Ex").click()  # opens the explanation
    expect(asking).to_contain_text("A block does not end a link between you")
    asking.get_by_role("button", name="Block Ex").click()
    # The request from Ex is gone from Mina's network; Ex is on her list.
    expect(page).to_have_url(f"{server.url}/account/blocks")
    expect(page.locator("#blocked-list")).to_contain_text("Ex")
    expect(page.locator("#block-explained")).to_contain_text("A block ends nothing")
    page.goto("/network")
    expect(page.locator("#to-me-h")).to_have_count(0)

    # By handle, on the Blocked people page.
    page.get_by_role("link", name="Blocked").click()
    page.get_by_label("Their handle").fill(sam.handle)
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.locator("#blocked-list")).to_contain_text(f"@{sam.handle}")
    screenshot(page, "blocked-people")
    # Sam's request answers as usual and never shows to Mina.
    api.call("POST", "/api/links", sam, 202, json={"handle": mina.handle})
    page.goto("/network")
    expect(page.locator("#to-me-h")).to_have_count(0)

    # Unblocking Ex shows again the request still pending from before the block.
    page.goto("/account/blocks")
    page.locator("#blocked-list li", has_text="Ex").get_by_role("button", name="Unblock").click()
    expect(page.locator("#blocked-list")).not_to_contain_text("Ex")
    page.goto("/network")
    expect(page.locator("#to-me-h").locator("..")).to_contain_text("Ex")
