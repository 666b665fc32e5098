"""The inbox in Chromium: the count in the navigation follows what waits, live, on any page;
the Inbox page lists it with links; without a mail server the email page says email is off."""

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


def test_the_count_and_the_inbox_follow_what_waits_without_a_reload(browser: Any, server: Server, api: Api) -> None:
    ana, ben = api.person("Ana"), api.person("Ben")
    page = sign_in(browser, server, ben)
    open_live(page, "/your-data")  # a page with no live part of its own
    count = page.locator("#inbox-count")
    expect(count).to_be_hidden()

    title = "Ana and Ben, summer plans"
    agreement_id = api.call("POST", "/api/agreements", ana, 201, json={"title": title})["agreement_id"]
    api.call("POST", f"/api/agreements/{agreement_id}/invitations", ana, 202, json={"handle": ben.handle})
    expect(count).to_have_text("1")
    expect(count).to_be_visible()
    assert not_reloaded(page)

    page.get_by_role("link", name="Inbox").click()
    open_live(page)
    item = page.locator(".inbox-item")
    expect(item).to_contain_text(f"You are invited to {title}")
    expect(item.get_by_role("link")).to_have_attribute("href", f"/agreements/{agreement_id}")
    screenshot(page, "inbox")

    api.call("POST", f"/api/agreements/{agreement_id}/invitation/accept", ben, 200)
    expect(page.locator("#inbox-empty")).to_have_text("Nothing waits for you.")
    expect(count).to_be_hidden()
    assert not_reloaded(page)


def test_without_a_mail_server_the_email_page_says_email_is_off(browser: Any, server: Server, api: Api) -> None:
    page = sign_in(browser, server, api.person("Cy"))
    page.get_by_role("link", name="Email").click()
    expect(page.locator("h1")).to_have_text("Email reminders")
    expect(page.locator("#email-off")).to_contain_text("Email is off on this server")
    expect(page.locator("#address")).to_have_count(0)
