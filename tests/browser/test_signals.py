"""Signals in Chromium, on a phone-sized page: two partners open a channel on the Signals page,
one taps "Home safe" in the signal bar, and it arrives live on the other's page without a reload."""

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

PHONE = {"width": 390, "height": 844}


def test_home_safe_arrives_live_on_the_partners_phone(browser: Any, server: Server, api: Api) -> None:
    mina, sam = api.person("Mina"), api.person("Sam")
    api.link(mina, sam)
    minas = sign_in(browser, server, mina, **PHONE)
    sams = sign_in(browser, server, sam, **PHONE)
    for page, other in ((minas, sam), (sams, mina)):
        open_live(page, "/signals")
        channel = page.locator(f'.channel[data-person="{other.id}"]')
        channel.get_by_role("button", name="Open a channel").click()
        expect(page.locator(f'.channel[data-person="{other.id}"]').get_by_role("button", name="Close my side")).to_be_visible()
    open_live(minas, "/signals")
    expect(minas.locator("#received .empty")).to_be_visible()

    sams.goto("/agreements")  # the bar is on every page
    bar = sams.locator("#signal-bar")
    expect(bar.get_by_label("Mina")).to_be_checked()
    bar.get_by_role("button", name="Home safe").click()

    arrived = minas.locator("#received .signal")
    expect(arrived).to_contain_text("Home safe")
    expect(arrived).to_contain_text("from Sam")
    assert not_reloaded(minas)
    # Nothing is wider than the phone.
    assert minas.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(minas, "signals-phone")
