"""Personal document pages over plain HTTP against a real server: a security map is shared only when
its owner ticks the box; a revision from an old version says what the document says now; a reader
gets no forms and nobody else gets anything. No browser is needed here."""

from __future__ import annotations

from tests.browser.conftest import Api, Server
from tests.browser.test_pages import browser_session, csrf_of

AREAS = {"heading": ["plans changing late", "new partners", ""], "text": ["ask for a call", "say so", ""]}


def test_a_security_map_is_shared_only_when_its_owner_ticks_the_box(server: Server, api: Api) -> None:
    mina, theo, sky = api.person("Mina"), api.person("Theo"), api.person("Sky")
    api.link(mina, theo)
    session, _ = browser_session(server, mina)
    page = session.get("/documents/new/security_map")
    assert page.status_code == 200 and "Where I feel insecure" in page.text
    written = session.post("/documents", data={"csrf_token": csrf_of(page.text), "kind": "security_map", **AREAS})
    assert written.status_code == 303
    document = written.headers["location"].rsplit("/", 1)[-1]

    page = session.get(f"/documents/{document}")
    assert "I mean to share my security map" in page.text
    refused = session.post(f"/documents/{document}/shares", data={"csrf_token": csrf_of(page.text), "partner_id": theo.id})
    assert refused.status_code == 422 and 'id="share-explicit-error"' in refused.text
    assert api.call("GET", f"/api/documents/{document}", theo, 404) is not None
    shared = session.post(
        f"/documents/{document}/shares", data={"csrf_token": csrf_of(page.text), "partner_id": theo.id, "explicit": "yes"}
    )
    assert shared.status_code == 303

    reader, _ = browser_session(server, theo)
    read = reader.get(f"/documents/{document}")
    assert read.status_code == 200 and "plans changing late" in read.text
    assert 'id="share"' not in read.text and 'id="revise"' not in read.text and "Who reads it" not in read.text
    stranger, _ = browser_session(server, sky)
    assert stranger.get(f"/documents/{document}").status_code == 404
    assert "plans changing late" not in stranger.get("/documents").text


def test_a_revision_from_an_old_version_shows_what_it_says_now(server: Server, api: Api) -> None:
    mina = api.person("Mina")
    session, _ = browser_session(server, mina)
    page = session.get("/documents/new/care_plan")
    texts = ["I go quiet", "a walk", "", ""]
    written = session.post(
        "/documents", data={"csrf_token": csrf_of(page.text), "kind": "care_plan", "heading": [""] * 4, "text": texts}
    )
    document = written.headers["location"].rsplit("/", 1)[-1]
    page = session.get(f"/documents/{document}")
    token = csrf_of(page.text)
    first = session.post(
        f"/documents/{document}", data={"csrf_token": token, "based_on_version": "1", "heading": [""] * 4, "text": ["I go quiet", "a long walk", "", ""]}
    )
    assert first.status_code == 303
    stale = session.post(
        f"/documents/{document}", data={"csrf_token": token, "based_on_version": "1", "heading": [""] * 4, "text": ["x", "y", "", ""]}
    )
    # What it says now is shown, and what was typed is kept in the form.
    assert stale.status_code == 409 and "a long walk" in stale.text and ">y</textarea>" in stale.text


def test_a_document_starts_from_our_words_and_is_saved_as_its_owner_edits_them(server: Server, api: Api) -> None:
    from domain.templates import document_sections
    from service.library import load_library

    [template] = load_library().documents("care_plan")
    ours = document_sections(template)
    mina = api.person("Mina")
    session, _ = browser_session(server, mina)
    blank = session.get("/documents/new/care_plan")
    assert "Start from our words" in blank.text and ours[1].text not in blank.text
    page = session.get(f"/documents/new/care_plan?template={template.template_id}")
    assert page.status_code == 200 and 'id="from-template"' in page.text
    assert all(s.text.replace('"', "&#34;") in page.text for s in ours if s.text)
    texts = [s.text for s in ours]
    texts[1] = "Tea, and a blanket."
    written = session.post(
        "/documents",
        data={"csrf_token": csrf_of(page.text), "kind": "care_plan", "heading": [s.heading for s in ours], "text": texts},
    )
    assert written.status_code == 303
    view = api.call("GET", f"/api/documents/{written.headers['location'].rsplit('/', 1)[-1]}", mina, 200)
    assert [s["text"] for s in view["sections"]] == texts

