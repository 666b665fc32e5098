"""See what they see, and export: specifications over HTTP.

Given a triad of links (Ana - Ben, Ben - Sam, Ben - Kai) and Ana and Ben's
agreement in force, a party previews each grant, and the preview of a grant in
effect is exactly what its audience reads; an agreement exports as Markdown
and PDF at a chosen version, and a metamour's export holds only what they see.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from tests.api.conftest import Api, Person, assert_problem, mark, marker


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def grant(
    api: Api, agreement_id: str, proposer: Person, audience: Person, scopes: list[str], *, by: tuple[Person, ...] = (), no_reshare: bool = False
) -> str:
    body = {"audience": audience.handle, "scopes": scopes, "no_reshare": no_reshare}
    view = await api.call("POST", f"/api/agreements/{agreement_id}/grants", proposer, 201, json=body)
    for person in by:
        await api.call("POST", f"/api/agreements/{agreement_id}/grants/{view['grant_id']}/consent", person, 200)
    return view["grant_id"]


@pytest.fixture
async def triad(api: Api) -> dict[str, Any]:
    ana, ben, agreement_id = await api.pair(mark("Ana and Ben"))
    sam, kai, sky = await api.person("sam"), await api.person("kai"), await api.person("sky")
    await api.link(ana, ben)
    await api.link(ben, sam)
    await api.link(ben, kai)
    texts = {"S1": mark("tested every three months"), "C": mark("Tuesdays are ours"), "S2": mark("tested monthly")}
    s = (await api.add_clause(ana, agreement_id, texts["S1"], "safer_sex"))["clause_id"]
    await api.add_clause(ana, agreement_id, texts["C"], "scheduling")
    await api.ratify(ana, ben, agreement_id)  # version 2
    proposal, _ = await api.propose(ana, agreement_id, [{"kind": "edit", "clause_id": s, "text": texts["S2"]}])
    view = await api.call("POST", f"/api/agreements/{agreement_id}/proposals/{proposal}/accept", ben, 200)
    assert view["in_force_version"] == 3
    title = (await api.view(ana, agreement_id))["title"]
    return {"ana": ana, "ben": ben, "sam": sam, "kai": kai, "sky": sky, "id": agreement_id, "texts": texts, "title": title}


async def test_the_preview_of_a_grant_in_effect_is_what_its_audience_reads(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    g = await grant(api, t["id"], t["ana"], t["sam"], ["clauses:safer_sex"], by=(t["ben"],))
    for party in (t["ana"], t["ben"]):
        preview = await api.call("GET", f"/api/agreements/{t['id']}/grants/{g}/preview", party, 200)
        assert preview["pending"] is False and preview["why_not"] is None
        assert preview["view"] == await api.view(t["sam"], t["id"])
    assert marker(t["texts"]["S2"]) in str(preview["view"])
    assert marker(t["texts"]["C"]) not in str(preview)
    for outsider in (t["sam"], t["kai"], t["sky"]):
        r = await api.client.get(f"/api/agreements/{t['id']}/grants/{g}/preview", headers=outsider.headers)
        assert_problem(r, 404, code="not_found")


async def test_a_pending_grant_previews_what_they_would_see_once_everyone_consents(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    g = await grant(api, t["id"], t["ana"], t["kai"], ["clauses:scheduling", "identity"])
    await api.call("GET", f"/api/agreements/{t['id']}", t["kai"], 404)  # nothing yet
    preview = await api.call("GET", f"/api/agreements/{t['id']}/grants/{g}/preview", t["ben"], 200)
    assert preview["pending"] is True and preview["why_not"] is None
    view = preview["view"]
    assert view["title"] is None and view["access"] == "metamour"
    assert [c["text"] for c in view["clauses"]] == [t["texts"]["C"]]
    assert sorted(p["name"] for p in view["parties"]) == sorted([t["ana"].name, t["ben"].name])
    # Once Ben consents, Kai reads exactly that.
    await api.call("POST", f"/api/agreements/{t['id']}/grants/{g}/consent", t["ben"], 200)
    assert await api.view(t["kai"], t["id"]) == view


async def test_a_grant_that_does_not_hold_previews_nothing_and_says_why(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    g = await grant(api, t["id"], t["ana"], t["sky"], ["clauses:safer_sex"], by=(t["ben"],))
    preview = await api.call("GET", f"/api/agreements/{t['id']}/grants/{g}/preview", t["ana"], 200)
    assert (preview["pending"], preview["why_not"], preview["view"]) == (False, "not_a_metamour", None)


async def test_a_party_exports_any_version_as_markdown_and_pdf(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    texts = t["texts"]
    base = f"/api/agreements/{t['id']}"
    for version, shown, hidden in ((None, "S2", "S1"), (3, "S2", "S1"), (2, "S1", "S2")):
        query = "" if version is None else f"?version={version}"
        md = await api.client.get(f"{base}/export.md{query}", headers=t["ana"].headers)
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert md.headers["content-disposition"].startswith("attachment")
        pdf = await api.client.get(f"{base}/export.pdf{query}", headers=t["ben"].headers)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        read = pdf_text(pdf.content)
        for text in (md.text, read):
            assert marker(texts[shown]) in text and marker(texts["C"]) in text
            assert marker(texts[hidden]) not in text
            assert marker(t["title"]) in text
            assert f"Version {version or 3}" in text
    r = await api.client.get(f"{base}/export.pdf?version=9", headers=t["ana"].headers)
    assert_problem(r, 404)


async def test_a_metamour_exports_exactly_what_they_see(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    await grant(api, t["id"], t["ana"], t["sam"], ["clauses:safer_sex"], by=(t["ben"],))
    base = f"/api/agreements/{t['id']}"
    md = (await api.client.get(f"{base}/export.md", headers=t["sam"].headers)).text
    pdf = pdf_text((await api.client.get(f"{base}/export.pdf", headers=t["sam"].headers)).content)
    for text in (md, pdf):
        assert marker(t["texts"]["S2"]) in text
        for hidden in (t["texts"]["S1"], t["texts"]["C"], t["title"]):
            assert marker(hidden) not in text
        for party in (t["ana"], t["ben"]):
            assert party.name not in text  # without `identity`, pseudonyms
    # A metamour has no versions to name.
    assert_problem(await api.client.get(f"{base}/export.md?version=3", headers=t["sam"].headers), 404)
    for outsider in (t["kai"], t["sky"]):
        assert_problem(await api.client.get(f"{base}/export.pdf", headers=outsider.headers), 404)


async def test_do_not_reshare_refuses_the_export_but_not_the_read(api: Api, triad: dict[str, Any]) -> None:
    t = triad
    await grant(api, t["id"], t["ana"], t["kai"], ["clauses:scheduling"], by=(t["ben"],), no_reshare=True)
    assert (await api.view(t["kai"], t["id"]))["no_reshare"] is True
    before = await api.position()
    for route in ("export.md", "export.pdf"):
        r = await api.client.get(f"/api/agreements/{t['id']}/{route}", headers=t["kai"].headers)
        body = assert_problem(r, 403, code="no_reshare")
        assert marker(t["texts"]["C"]) not in r.text
        assert "not be passed on" in body["detail"]
    assert await api.position() == before
    # The parties export it as ever.
    r = await api.client.get(f"/api/agreements/{t['id']}/export.md", headers=t["ben"].headers)
    assert r.status_code == 200


def test_a_pdf_shows_where_its_font_has_no_glyph_rather_than_dropping_words() -> None:
    from service.web.pdf import MISSING, render_pdf
    from service.web.printable import Section

    text = pdf_text(render_pdf("Ana и Бен", [Section("Boundaries", ("We say 日本 first.\nΕλληνικά too.",))]))
    assert "Ana и Бен" in text and "Ελληνικά too." in text
    assert f"We say {MISSING}{MISSING} first." in text
    assert "the Markdown export holds every word" in " ".join(text.split())


async def test_a_draft_exports_its_latest_version_and_says_it_is_not_in_force(api: Api) -> None:
    ana, ben, agreement_id = await api.pair(mark("draft"))
    text = mark("we are still talking")
    await api.add_clause(ana, agreement_id, text, "boundaries")
    md = (await api.client.get(f"/api/agreements/{agreement_id}/export.md", headers=ben.headers)).text
    assert marker(text) in md and "Version 1 (the current draft, not in force)." in md
