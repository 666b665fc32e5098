"""The Availability page in Chromium: Mina sets her time zone, shows Theo her time as busy and sets a
quiet night she shows her partners; the page's summary follows live, and Theo reads the rule on his."""

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


def test_a_quiet_night_refuses_a_plan_in_the_web_app(browser: Any, server: Server, api: Api) -> None:
    """Mina keeps Saturday nights free and shows it to her partners. Theo proposes a Saturday dinner on
    the Plans page: it is refused, naming her rule, and nothing is proposed. Earlier that day it goes
    through, and her warning rule (plans per week) shows on the plan page."""
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    rules = {
        "quiet_nights": {"weekdays": ["saturday"], "mode": "refuse", "shown_to": "partners"},
        "plans_per_week": {"limit": 1, "mode": "warn", "shown_to": "partners"},
    }
    api.call("PUT", "/api/me/availability", mina, 200, json={"time_zone": "Europe/Berlin", "rules": rules})
    api.call("PUT", "/api/me/availability", theo, 200, json={"time_zone": "Europe/Berlin"})
    page = sign_in(browser, server, theo)
    page.goto("/plans")
    form = page.locator("#propose")
    expect(form.get_by_label("Time zone")).to_have_value("Europe/Berlin")  # his own clock
    form.get_by_label("Mina").check()
    form.get_by_label("What").fill("Dinner at the harbour")
    form.get_by_label("From").fill("2030-10-26T19:00")
    form.get_by_label("Until").fill("2030-10-26T22:30")
    form.get_by_role("button", name="Propose").click()

    message = page.locator("#propose-message")
    expect(message).to_contain_text("This time does not work")
    expect(message).to_contain_text("Mina: Saturday nights are kept free")
    screenshot(page, "plan-refused-by-a-rule")
    assert api.call("GET", "/api/plans", theo, 200) == []

    # What he typed is kept: an afternoon instead goes through.
    form = page.locator("#propose")
    expect(form.get_by_label("What")).to_have_value("Dinner at the harbour")
    form.get_by_label("Mina").check()
    form.get_by_label("From").fill("2030-10-26T12:00")
    form.get_by_label("Until").fill("2030-10-26T14:00")
    form.get_by_role("button", name="Propose").click()
    expect(page.locator("[data-plan-status]")).to_have_text("proposed")
    expect(page.locator("#booking-rules")).to_have_count(0)

    # A second date that week: through, with Mina's warning on its page.
    page.goto("/plans")
    form = page.locator("#propose")
    form.get_by_label("Mina").check()
    form.get_by_label("What").fill("Breakfast")
    form.get_by_label("From").fill("2030-10-24T08:00")
    form.get_by_label("Until").fill("2030-10-24T09:00")
    form.get_by_role("button", name="Propose").click()
    expect(page.locator("[data-plan-status]")).to_have_text("proposed")
    expect(page.locator('#booking-rules [data-rule="plans_per_week"]')).to_contain_text("Mina: at most 1 date or overnight a week")
