"""Export my data from the web app: the "Your data" page and its downloads, against a real server."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import Api, Server, screenshot, sign_in
from tests.browser.test_pages import browser_session


def test_the_downloads_need_a_session_and_keep_the_pages_security_headers(
    server: Server, api: Api
) -> None:
    anonymous = httpx.get(f"{server.url}/your-data/export.zip", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/sign-in?next=/your-data/export.zip"
    client, _ = browser_session(server, api.person("Ana"))
    for path, media_type in (
        ("/your-data/export.zip", "application/zip"),
        ("/your-data/export.md", "text/markdown"),
        ("/your-data/export.json", "application/json"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(media_type), path
        assert response.headers["content-disposition"].startswith("attachment; "), path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert response.headers["cache-control"] == "no-store", path


def test_a_person_downloads_everything_they_may_see_from_the_your_data_page(
    server: Server, api: Api, browser: Any, tmp_path: Path
) -> None:
    ana, ben, sam = api.person("Ana"), api.person("Ben"), api.person("Sam")
    api.link(ana, ben)
    api.link(ben, sam)
    clauses = [
        ("boundaries", "We tell each other first."),
        ("safer_sex", "Barriers with new partners."),
    ]
    agreement_id, _ = api.agreement(ana, ben, "Ana and Ben", clauses)
    api.ratify(agreement_id, ana, ben)
    body = {"audience": sam.handle, "scopes": ["clauses:boundaries"]}
    grant = api.call(
        "POST", f"/api/agreements/{agreement_id}/grants", ana, 201, json=body
    )
    api.call(
        "POST",
        f"/api/agreements/{agreement_id}/grants/{grant['grant_id']}/consent",
        ben,
        200,
    )

    def download(who: Any) -> tuple[dict[str, Any], str]:
        page = sign_in(browser, server, who)
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Your data"
        ).click()
        page.wait_for_url("**/your-data")
        page.get_by_role("heading", name="Your data").wait_for()
        with page.expect_download() as started:
            page.get_by_role("link", name="Download everything (zip)").click()
        saved = tmp_path / f"{who.handle}.zip"
        started.value.save_as(saved)
        assert started.value.suggested_filename == "accord-export.zip"
        screenshot(page, "your-data")
        page.context.close()
        with zipfile.ZipFile(saved) as archive:
            return json.loads(archive.read("export.json")), archive.read(
                "export.md"
            ).decode()

    export, md = download(ana)
    assert export["account"]["handle"] == ana.handle
    [mine] = export["agreements"]
    assert mine["party"] == api.view(ana, agreement_id)
    assert "### Ana and Ben" in md
    assert "> We tell each other first." in md and "> Barriers with new partners." in md

    export, md = download(sam)
    [shared] = export["agreements"]
    assert shared["relation"] == "shared" and shared["shared"] == api.view(
        sam, agreement_id
    )
    assert "> We tell each other first." in md
    for hidden in ("Barriers with new partners.", "Ana and Ben"):
        assert hidden not in json.dumps(export) and hidden not in md
