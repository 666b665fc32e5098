"""Everything from signing up to a repair note, done only through the pages, with the keyboard where it matters.

Two newcomers sign up, link as partners, draft an agreement together, consent
to it, and one writes a repair note the other acknowledges. No JSON API call
is made for them: if a capability is missing from the pages, this fails.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.browser.conftest import (
    PASSWORD,
    SOON_MS,
    Server,
    expect,
    open_live,
    screenshot,
)


def sign_up(browser: Any, server: Server, name: str) -> tuple[Any, str, list[str]]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, base_url=server.url)
    context.set_default_timeout(SOON_MS)
    page = context.new_page()
    problems: list[str] = []
    # Refused forms answer 4xx on purpose, and Chromium logs each; anything else is a problem.
    deliberate = "Failed to load resource: the server responded with a status of 4"
    page.on(
        "console",
        lambda message: problems.append(message.text)
        if message.type == "error" and not message.text.startswith(deliberate)
        else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    handle = f"{name.lower()}_{uuid.uuid4().hex[:6]}"
    page.goto("/sign-up")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#sign-up-password-error")).to_contain_text("at least 10 characters")
    expect(page.get_by_label("Handle")).to_have_value(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/agreements$"))
    return page, handle, problems


def test_two_newcomers_do_everything_through_the_pages(browser: Any, server: Server) -> None:
    rosa, rosa_handle, rosa_problems = sign_up(browser, server, "Rosa")
    kai, kai_handle, kai_problems = sign_up(browser, server, "Kai")

    # The skip link comes first and moves focus to the content.
    rosa.keyboard.press("Tab")
    expect(rosa.locator(":focus")).to_have_text("Skip to content")
    rosa.keyboard.press("Enter")
    expect(rosa.locator(":focus")).to_have_attribute("id", "main")

    # Partners: Rosa asks, Kai confirms; Kai's open network page shows the request as it comes.
    open_live(kai, "/network")
    rosa.get_by_role("link", name="Network").click()
    rosa.get_by_label("Their handle").fill(kai_handle)
    rosa.get_by_role("button", name="Ask to link").click()
    expect(rosa.locator("#live")).to_contain_text("Waiting for them")
    kai.get_by_role("button", name="Confirm").click()
    expect(kai.locator("svg.network-graph")).to_contain_text("Rosa")
    expect(rosa.locator("svg.network-graph .node-partner")).to_contain_text("Kai")
    screenshot(rosa, "network")

    # An agreement: Rosa creates it and invites Kai, who joins from the list.
    rosa.get_by_role("link", name="Agreements").click()
    rosa.get_by_label("Title").fill("Rosa & Kai")
    rosa.get_by_role("button", name="Create").click()
    rosa.get_by_label("Invite by handle").fill(kai_handle)
    rosa.get_by_role("button", name="Invite").click()
    expect(rosa.locator("#people")).to_contain_text(f"@{kai_handle.casefold()}")
    agreement_url = rosa.url.split("#")[0]

    kai.get_by_role("link", name="Agreements").click()
    kai.locator(".invitation").get_by_role("button", name="Join").click()
    expect(kai.locator("h1")).to_have_text("Rosa & Kai")

    # Clauses, with an error shown beside its field, then consent from both.
    rosa.goto(agreement_url)
    rosa.get_by_text("Add a clause").click()
    rosa.get_by_label("Topic").select_option("check_ins")
    rosa.locator("#add-clause-text").fill("   ")
    rosa.get_by_role("button", name="Add clause").click()
    expect(rosa.locator("#add-clause-text-error")).to_contain_text("must not be empty")
    rosa.locator("#add-clause-text").fill("A walk together every Sunday to talk about how we are.")
    rosa.get_by_role("button", name="Add clause").click()
    expect(rosa.locator(".clause")).to_contain_text("A walk together every Sunday")

    open_live(kai, agreement_url)
    rosa.get_by_role("button", name="I consent to version 1").click()
    expect(kai.locator("#consent")).to_contain_text("Rosa consented to version 1")
    kai.get_by_role("button", name="I consent to version 1").click()
    expect(kai.locator("#consent")).to_contain_text("Version 1 is in force")

    # A repair note from Kai; Rosa's open page shows it, and she acknowledges it.
    open_live(rosa, agreement_url)
    kai.get_by_text("Write a repair note").click()
    kai.get_by_label("What happened").fill("I skipped our walk without telling you.")
    kai.get_by_label("Its impact").fill("You waited for me and felt forgotten.")
    kai.get_by_label("What you will do").fill("If I can't come, I'll say so by Saturday evening.")
    kai.get_by_role("button", name="Share the note").click()
    note = rosa.locator(".note")
    expect(note).to_contain_text("I skipped our walk")
    note.get_by_role("button", name="Acknowledge").click()
    expect(rosa.locator(".note")).to_contain_text("Acknowledged by you")
    screenshot(rosa, "agreement-in-force")

    # Signing out ends the session: the pages send Kai to sign in again.
    kai.get_by_role("button", name="Sign out").click()
    kai.goto(agreement_url)
    expect(kai).to_have_url(re.compile(r"/sign-in\?next="))

    # No script errors, and nothing the Content-Security-Policy had to block.
    assert rosa_problems == [] and kai_problems == []
