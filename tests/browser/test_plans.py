"""Two partners make a plan in Chromium: Mina proposes a date, Theo sees it waiting for his answer
and accepts it; Mina's open page shows it accepted, live, and both see its history."""

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


def test_a_partner_proposes_a_date_and_the_other_accepts_it(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    mina_page, theo_page = sign_in(browser, server, mina), sign_in(browser, server, theo)

    # Mina proposes a date with Theo, on Berlin's clock.
    mina_page.get_by_role("link", name="Plans").click()
    form = mina_page.locator("#propose")
    form.get_by_label("Theo").check()
    form.get_by_label("Kind").select_option(label="Date")
    form.get_by_label("What").fill("Dinner at the harbour")
    form.get_by_label("Where").fill("Harbour kitchen")
    form.get_by_label("From").fill("2030-10-26T19:00")
    form.get_by_label("Until").fill("2030-10-26T22:30")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_role("button", name="Propose").click()
    expect(mina_page.locator("h1")).to_contain_text("Date: Dinner at the harbour")
    expect(mina_page.locator("[data-plan-status]")).to_have_text("proposed")
    expect(mina_page.locator("#plan")).to_contain_text("Sat 26 Oct 2030, 19:00 (Europe/Berlin)")
    plan = mina_page.url.rsplit("/", 1)[-1]
    open_live(mina_page)

    # Theo finds it in his inbox, opens it and accepts, with a note.
    theo_page.get_by_role("link", name="Inbox").click()
    theo_page.get_by_role("link", name="Date: Dinner at the harbour").click()
    expect(theo_page.locator("h1")).to_contain_text("Dinner at the harbour")
    assert theo_page.url.endswith(f"/plans/{plan}")
    theo_page.locator("#answer").get_by_label("A note (optional)").fill("I'll book a table")
    theo_page.get_by_role("button", name="Accept").click()
    expect(theo_page.locator("[data-plan-status]")).to_have_text("accepted")

    # Mina's open page shows it, without a reload.
    expect(mina_page.locator("[data-plan-status]")).to_have_text("accepted")
    expect(mina_page.locator(".plan-people")).to_contain_text("I'll book a table")
    assert not_reloaded(mina_page)
    expect(mina_page.locator("#history")).to_contain_text("Theo accepted")
    screenshot(mina_page, "plan-accepted")


def test_a_partner_proposes_other_times_and_the_other_cancels(browser: Any, server: Server, api: Api) -> None:
    mina, theo = api.person("Mina"), api.person("Theo")
    api.link(mina, theo)
    body = {
        "kind": "call", "title": "Catch-up call", "start": "2030-03-30T18:00:00+00:00",
        "end": "2030-03-30T19:00:00+00:00", "time_zone": "Europe/Berlin", "invitees": [theo.handle],
    }  # fmt: skip
    plan = api.call("POST", "/api/plans", mina, 201, json=body)["plan_id"]
    mina_page, theo_page = sign_in(browser, server, mina), sign_in(browser, server, theo)
    open_live(mina_page, f"/plans/{plan}")
    open_live(theo_page, f"/plans/{plan}")
    # After the spring change Berlin is UTC+2: 18:00 UTC reads 20:00 there.
    expect(theo_page.locator("#plan")).to_contain_text("Sat 30 Mar 2030, 20:00 (Europe/Berlin)")

    # Theo proposes an hour later, with a note: Mina is asked again, live.
    theo_page.locator("#reschedule-section summary").click()
    form = theo_page.locator("#reschedule")
    form.get_by_label("From").fill("2030-03-30T21:00")
    form.get_by_label("Until").fill("2030-03-30T22:00")
    form.get_by_label("A note (optional)").fill("after dinner?")
    form.get_by_role("button", name="Propose these").click()
    expect(mina_page.locator("#plan")).to_contain_text("Sat 30 Mar 2030, 21:00 (Europe/Berlin)")
    expect(mina_page.locator("#answer-section")).to_contain_text("You have not answered yet")
    expect(mina_page.locator("#history")).to_contain_text("after dinner?")
    assert not_reloaded(mina_page)

    # Mina cancels, saying why; Theo's page shows it, and nothing more to answer.
    mina_page.locator("#cancel-section summary").click()
    mina_page.locator("#cancel").get_by_label("Why (optional; everyone in it sees it)").fill("something came up")
    mina_page.get_by_role("button", name="Cancel for everyone").click()
    expect(theo_page.locator("[data-plan-status]")).to_have_text("cancelled")
    expect(theo_page.locator("#history")).to_contain_text("something came up")
    expect(theo_page.locator("#reschedule")).to_have_count(0)
