"""The calendar feed page in Chromium: get the address (shown once), copy it, replace it, turn it off;
a calendar app reading each address gets the feed, or the same 404 once it stopped working."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import Api, Server, expect, screenshot, sign_in


def read(url: str) -> httpx.Response:
    """As a calendar app reads it: no sign-in, no cookie."""
    return httpx.get(url, timeout=10)


def test_get_copy_replace_and_revoke_the_feed_address(browser: Any, server: Server, api: Api) -> None:
    mina = api.person("Mina")
    page = sign_in(browser, server, mina)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.get_by_role("link", name="Calendar feed").click()
    expect(page.locator("#feed-status")).to_contain_text("You have no feed address")
    expect(page.locator("#feed-instructions")).to_contain_text("Google Calendar")
    expect(page.locator("#feed-instructions")).to_contain_text("Thunderbird")

    page.get_by_role("button", name="Get a feed address").click()
    first = page.get_by_role("textbox", name="Feed address").input_value()
    assert first.startswith(f"{server.url}/calendar/") and first.endswith(".ics")
    expect(page.locator("#feed-address")).to_contain_text("shown only this once")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first
    screenshot(page, "calendar-feed")
    r = read(first)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in r.content

    # Opened again, the page no longer shows the address: only that there is one.
    page.goto("/account/calendar-feed")
    expect(page.locator("#feed-status")).to_contain_text("You have a feed address")
    expect(page.get_by_role("textbox", name="Feed address")).to_have_count(0)

    page.get_by_role("button", name="Make a new address").click()
    second = page.get_by_role("textbox", name="Feed address").input_value()
    assert second != first and read(second).status_code == 200
    gone = read(first)
    assert gone.status_code == 404 and gone.content == read(f"{server.url}/calendar/made-up.ics").content

    page.get_by_role("button", name="Turn the feed off").click()
    expect(page.locator("#feed-status")).to_contain_text("You have no feed address")
    assert read(second).status_code == 404


def test_the_calendar_page_leads_to_the_feed(browser: Any, server: Server, api: Api) -> None:
    page = sign_in(browser, server, api.person("Theo"))
    page.goto("/calendar")
    page.locator("#feed-link").get_by_role("link", name="get a calendar feed").click()
    expect(page.get_by_role("heading", name="Calendar feed", exact=True)).to_be_visible()
