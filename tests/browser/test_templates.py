"""Starting from a template and naming a topic of one's own, in Chromium against a real server."""

from __future__ import annotations

import re
from typing import Any

from service.library import load_library
from tests.browser.conftest import Api, Server, expect, screenshot, sign_in

CONTRACT = load_library()["one_page_contract"]


def test_starting_an_agreement_from_the_one_page_contract(browser: Any, server: Server, api: Api) -> None:
    ana = api.person("Ana")
    page = sign_in(browser, server, ana)
    page.get_by_label("Title").fill("Ana and Ben, on one page")
    # The preview shows the clauses before anything is made.
    preview = page.locator("#preview-one_page_contract")
    preview.locator("summary").click()
    expect(preview).to_contain_text(CONTRACT.clauses[0].text)
    screenshot(page, "start-from-template")
    page.get_by_label("One-page contract").check()
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/agreements/[0-9a-f-]{36}$"))

    expect(page.locator("#started-from")).to_contain_text("“One-page contract” (version 1)")
    clauses = page.locator("#clauses .clause")
    expect(clauses).to_have_count(len(CONTRACT.clauses))
    for clause in CONTRACT.clauses:
        expect(page.locator("#clauses")).to_contain_text(clause.text)
    # Drafts: nothing is in force and nobody has consented yet.
    expect(page.locator(".consent-card .badge")).to_have_text("Draft")

    # A topic of one's own, named in plain words, gets a section of its own.
    page.locator("#add-clause-details summary").click()
    page.get_by_label("Or name one of your own").first.fill("Money & shared costs")
    page.locator("#add-clause-text").fill("We split rent by income.")
    page.get_by_role("button", name="Add clause").click()
    section = page.locator("section.topic", has=page.locator("h3", has_text="Money shared costs"))
    expect(section).to_contain_text("We split rent by income.")
    screenshot(page, "own-topic")

    # It is shared by its own scope, offered beside the built-in ones.
    page.get_by_role("link", name="Sharing").click()
    expect(page.get_by_label("Clauses on money shared costs")).to_have_count(1)

    # The timeline says where the drafts came from.
    page.get_by_role("link", name="Timeline").click()
    expect(page.locator("main")).to_contain_text("Started from the template one page contract (version 1)")
