"""The Availability page in Chromium: Mina sets her time zone, shows Theo her time as busy and sets a
quiet night she shows her partners; the page's summary follows live, and Theo reads the rule on his."""

from __future__ import annotations

from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests, saying why (or fails them in CI)
    expect = None

from tests.browser.conftest import Api, Server, not_reloaded, open_live, screenshot, sign_in


def test_i_set_my_zone_what_a_partner_sees_and_a_rule_and_my_partner_reads_it(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    page = sign_in(browser, server, mina)
    open_live(page, "/availability")
    expect(page.locator("#no-rules")).to_be_visible()

    page.locator("#time-zone").get_by_label("My time zone").fill("Europe/Berlin")
    page.locator("#time-zone").get_by_role("button", name="Save time zone").click()
    expect(page.locator("#current-time-zone")).to_have_text("Europe/Berlin")

    page.locator("#partners").get_by_label("Theo").select_option("busy")
    page.locator("#partners").get_by_role("button", name="Save").click()
    expect(page.locator("#current-shows")).to_contain_text("Shown as busy to: Theo")

    rules = page.locator("#rules")
    rules.get_by_label("Quiet nights").check()
    rules.get_by_label("Friday").check()
    page.locator("#rules-quiet_nights_shown_to").select_option("partners")
    rules.get_by_role("button", name="Save rules").click()
    expect(page.locator("#current-rule-quiet_nights")).to_contain_text("Friday nights kept free")
    expect(page.locator("#current-rule-quiet_nights")).to_contain_text("shown to your partners")
    screenshot(page, "availability")

    # A rule without a weekday is refused, naming why, and nothing changes.
    rules.get_by_label("Friday").uncheck()
    rules.get_by_role("button", name="Save rules").click()
    expect(page.locator("#rules-quiet_nights_weekdays-error")).to_contain_text("at least one")
    assert api.call("GET", "/api/me/availability", mina, 200)["rules"]["quiet_nights"]["weekdays"] == ["friday"]

    theos = sign_in(browser, server, theo)
    open_live(theos, "/availability")
    expect(theos.locator("#partners-rules")).to_contain_text("Mina")
    expect(theos.locator("#partners-rules")).to_contain_text("Friday nights kept free")
    assert not_reloaded(theos)
