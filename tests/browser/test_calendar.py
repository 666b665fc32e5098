"""The calendar in Chromium: a week of one's own time with its check-ins, and a partner's busy time
arriving live on the other's page without a reload; the month view around it."""

from __future__ import annotations

from datetime import date, timedelta
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

#: Tomorrow: its week's page and its month's hold the first occurrence, whatever time the test runs.
TOMORROW = date.today() + timedelta(days=1)


def weekly(partner_id: str) -> dict[str, Any]:
    return {
        "kind": "weekly", "weekday": TOMORROW.weekday(), "at": "12:00", "time_zone": "Europe/Berlin",
        "starts_on": TOMORROW.isoformat(), "partner_id": partner_id,
    }  # fmt: skip


def test_a_partners_busy_time_arrives_live_and_ones_own_check_in_links_to_it(browser: Any, server: Server, api: Api) -> None:
    mina, theo, sam = api.person("Mina"), api.person("Theo"), api.person("Sam")
    api.link(mina, theo)
    api.link(mina, sam)
    body = {"time_zone": "Europe/Berlin", "partners": [{"person_id": sam.id, "shows": "busy"}]}
    api.call("PUT", "/api/me/availability", mina, 200, json=body)
    sams = sign_in(browser, server, sam)
    open_live(sams, f"/calendar?week={TOMORROW.isoformat()}")
    expect(sams.locator(".calendar .entry")).to_have_count(0)

    started = api.call("POST", "/api/check-ins", mina, 201, json=weekly(theo.id))
    busy = sams.locator(".calendar .entry.sight-busy")
    expect(busy.first).to_contain_text("Mina: busy")
    assert not_reloaded(sams)
    assert started["check_in_id"] not in sams.content()

    minas = sign_in(browser, server, mina)
    minas.goto(f"/calendar/month?month={TOMORROW.isoformat()[:7]}")
    own = minas.locator(".calendar .entry.sight-full").first
    expect(own).to_contain_text("Check-in")
    expect(own.get_by_role("link")).to_have_attribute("href", f"/check-ins/{started['check_in_id']}")
    expect(minas.locator(".lede")).to_contain_text("Europe/Berlin")
    screenshot(minas, "calendar-month")


def test_the_month_fits_a_phone(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    api.call("POST", "/api/check-ins", mina, 201, json=weekly(theo.id))
    theos = sign_in(browser, server, theo, width=390, height=844)
    theos.goto(f"/calendar/month?month={TOMORROW.isoformat()[:7]}")
    expect(theos.locator(".calendar .entry.sight-full").first).to_contain_text("Check-in")
    assert theos.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(theos, "calendar-phone")
