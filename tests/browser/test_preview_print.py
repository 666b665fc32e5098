"""See what they see, "shared with N", downloads and printing, in Chromium against a real server.

Given Ana and Ben's agreement in force, Sam (Ben's partner) holding a grant on
its boundaries, and a grant to Kai (Ben's partner too) on safer sex that Ben
has not consented to yet.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pytest
from pypdf import PdfReader

from tests.browser.conftest import (
    Api,
    Server,
    expect,
    not_reloaded,
    open_live,
    screenshot,
    sign_in,
)

BOUNDARY = "We tell each other before a first date. Мы говорим заранее."
SAFER = "Barriers with new partners until we have both tested."


def pdf_text(content: bytes) -> str:
    """The text of a PDF, its line breaks as spaces and its ligatures as letters (Chromium sets "ﬁ")."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture
def scene(api: Api) -> dict[str, Any]:
    ana, ben, sam, kai = api.person("Ana"), api.person("Ben"), api.person("Sam"), api.person("Kai")
    api.link(ana, ben)
    api.link(ben, sam)
    api.link(ben, kai)
    agreement_id, _ = api.agreement(ana, ben, "Ana and Ben", [("boundaries", BOUNDARY), ("safer_sex", SAFER)])
    api.ratify(agreement_id, ana, ben)
    base = f"/api/agreements/{agreement_id}/grants"
    sam_grant = api.call("POST", base, ana, 201, json={"audience": sam.handle, "scopes": ["clauses:boundaries"]})
    api.call("POST", f"{base}/{sam_grant['grant_id']}/consent", ben, 200)
    kai_grant = api.call("POST", base, ana, 201, json={"audience": kai.handle, "scopes": ["clauses:safer_sex"]})
    return {"ana": ana, "ben": ben, "sam": sam, "id": agreement_id, "sam_grant": sam_grant["grant_id"], "kai_grant": kai_grant["grant_id"]}


def shared_text(page: Any, scope: str) -> str:
    return page.locator(f"{scope} .live-body[data-kind='shared']").inner_text()


def test_a_party_sees_exactly_what_a_metamour_sees_and_what_one_would(
    server: Server, api: Api, browser: Any, scene: dict[str, Any]
) -> None:
    page = sign_in(browser, server, scene["ana"])
    page.goto(f"/agreements/{scene['id']}")
    boundary = page.locator("article.clause", has_text="We tell each other")
    assert boundary.locator(".shared-with").inner_text() == "Shared with 1"
    # Sam is a pseudonym to Ana: he has not told her his name.
    assert "is a partner of Ben, your partner" in boundary.locator(".seen-by").inner_text()
    safer = page.locator("article.clause", has_text="Barriers")
    assert safer.locator(".shared-with").inner_text() == "Only the parties see this"

    page.goto(f"/agreements/{scene['id']}/sharing")
    page.locator(f"#preview-{scene['sam_grant']}").click()
    page.wait_for_url(f"**/sharing/preview/{scene['sam_grant']}")
    assert page.locator("#preview-now").is_visible()
    previewed = shared_text(page, "#preview")
    assert BOUNDARY in previewed and SAFER not in previewed
    screenshot(page, "preview-sam")

    # Sam's own page says the very same.
    sams = sign_in(browser, server, scene["sam"])
    sams.goto(f"/agreements/{scene['id']}")
    assert shared_text(sams, "#live") == previewed

    # Kai's grant waits for Ben: what Kai would see, and on what condition.
    open_live(page, f"/agreements/{scene['id']}/sharing/preview/{scene['kai_grant']}")
    assert "would see once every party consents" in page.locator("#preview-pending").inner_text()
    would = shared_text(page, "#preview")
    assert SAFER in would and BOUNDARY not in would
    # Ben consents: the open preview becomes what Kai sees now, live.
    api.call("POST", f"/api/agreements/{scene['id']}/grants/{scene['kai_grant']}/consent", scene["ben"], 200)
    expect(page.locator("#preview-now")).to_be_visible()
    assert not_reloaded(page) and shared_text(page, "#preview") == would


def test_an_agreement_prints_and_downloads_without_the_page_around_it(
    server: Server, api: Api, browser: Any, scene: dict[str, Any]
) -> None:
    page = sign_in(browser, server, scene["ana"])
    page.goto(f"/agreements/{scene['id']}")
    assert page.get_by_role("button", name="Print").is_visible()  # shown once print.js runs
    page.emulate_media(media="print")
    for hidden in (".site-header", ".tabs", "#downloads", "form", "#live-status"):
        assert all(not element.is_visible() for element in page.locator(hidden).all()), hidden
    assert page.locator("#clauses .clause-text", has_text=BOUNDARY).is_visible()
    assert page.locator("#clauses .clause-text", has_text=SAFER).is_visible()
    printed = pdf_text(page.pdf())
    assert "We tell each other before a first date." in printed and "Barriers with new partners" in printed
    assert "Sign out" not in printed and "Propose a change" not in printed
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.locator("#downloads a", has_text="PDF").click()
    content = download.value.path().read_bytes()
    text = pdf_text(content)
    assert "Мы говорим заранее." in text and "Barriers with new partners" in text
    in_force = api.view(scene["ana"], scene["id"])["in_force_version"]
    assert download.value.suggested_filename == f"accord-agreement-{scene['id']}-v{in_force}.pdf"


def test_a_metamour_downloads_what_they_see_unless_asked_not_to_pass_it_on(
    server: Server, api: Api, scene: dict[str, Any]
) -> None:
    from tests.browser.test_pages import browser_session

    sam, agreement_id = scene["sam"], scene["id"]
    client, _ = browser_session(server, sam)
    page = client.get(f"/agreements/{agreement_id}")
    assert 'id="downloads"' in page.text
    pdf = client.get(f"/agreements/{agreement_id}/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "We tell each other before a first date." in text and "Barriers" not in text and "Ana and Ben" not in text

    # A second grant asks Sam not to pass it on: he still reads it, and may no longer download it.
    base = f"/api/agreements/{agreement_id}/grants"
    kept = api.call("POST", base, scene["ana"], 201, json={"audience": sam.handle, "scopes": ["history"], "no_reshare": True})
    api.call("POST", f"{base}/{kept['grant_id']}/consent", scene["ben"], 200)
    page = client.get(f"/agreements/{agreement_id}")
    assert page.status_code == 200 and 'id="downloads"' not in page.text and "keep this to yourself" in page.text
    refused = client.get(f"/agreements/{agreement_id}/export.md")
    assert refused.status_code == 403 and "not be passed on" in refused.text
