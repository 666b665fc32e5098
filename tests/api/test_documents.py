"""Personal documents over HTTP: writing, revising from a version, history with diffs, sharing with a
partner or (only explicitly) a metamour, revoking at once, deleting; and who may see any of it."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem

D = "/api/documents"


def care_plan(signs: str = "my chest tightens", helps: str = "a slow walk") -> dict[str, Any]:
    texts = (signs, helps, "being told to calm down", "text me first")
    return {"kind": "care_plan", "sections": [{"text": t} for t in texts]}


def _only(body: dict[str, Any]) -> dict[str, Any]:
    """A document's sections, for a revision (which names no kind)."""
    return {"sections": body["sections"]}


async def a_triad(api: Api) -> tuple[Person, Person, Person, Person]:
    """Mina and Theo are partners; Theo and Sam too (so Sam is Mina's metamour); Sky is a stranger."""
    mina, theo, sam, sky = [await api.person(n) for n in ("mina", "theo", "sam", "sky")]
    await api.link(mina, theo)
    await api.link(theo, sam)
    return mina, theo, sam, sky


async def assert_hidden(client: AsyncTestClient[Litestar], who: Person, document_id: str) -> None:
    """404, byte for byte what a random id answers."""
    for suffix in ("", "/history"):
        r = await client.get(f"{D}/{document_id}{suffix}", headers=who.headers)
        other = await client.get(f"{D}/{uuid.uuid4()}{suffix}", headers=who.headers)
        assert (r.status_code, r.content) == (other.status_code, other.content) and r.status_code == 404


async def test_a_care_plan_is_written_revised_and_its_history_has_word_diffs(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    view = await api.call("POST", D, mina, 201, json=care_plan())
    document = view["document_id"]
    assert (view["kind"], view["title"], view["version"], view["access"]) == ("care_plan", "Care plan", 1, "owner")
    assert [s["heading"] for s in view["sections"]][:2] == ["Signs that I am activated", "What helps"]
    assert view["shares"] == [] and view["owner"]["person_id"] == mina.sid

    revised = await api.call("PUT", f"{D}/{document}", mina, 200, json={"based_on_version": 1, **_only(care_plan(helps="a long walk"))})
    assert revised["version"] == 2 and revised["sections"][1]["text"] == "a long walk"
    newest, first = await api.call("GET", f"{D}/{document}/history", mina, 200)
    assert (newest["version"], first["version"]) == (2, 1)
    assert newest["changes"] == [
        {"heading": "What helps", "segments": [["equal", "a "], ["delete", "slow"], ["insert", "long"], ["equal", " walk"]], "old_heading": None}
    ]

    # From a version read before that revision: 409 with what it says now, and nothing appended.
    before = await api.position()
    r = await client.put(f"{D}/{document}", headers=mina.headers, json={"based_on_version": 1, **_only(care_plan(helps="x"))})
    body = assert_problem(r, 409, code="document_changed")
    assert body["current"]["version"] == 2 and body["current"]["sections"][1]["text"] == "a long walk"
    assert await api.position() == before
    assert [d["document_id"] for d in await api.call("GET", D, mina, 200)] == [document]


async def test_bad_sections_name_the_field_and_append_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    before = await api.position()
    renamed = {"kind": "care_plan", "sections": [{"heading": "Triggers", "text": "x"}, *care_plan()["sections"][1:]]}
    body = assert_problem(await client.post(D, headers=mina.headers, json=renamed), 422, code="validation_failed")
    assert body["errors"] == [{"field": "sections[0].heading", "rule": "must be 'Signs that I am activated' (or left empty)"}]
    too_few = {"kind": "solo_ethic", "sections": [{"text": "x"}]}
    body = assert_problem(await client.post(D, headers=mina.headers, json=too_few), 422)
    assert body["errors"][0]["field"] == "sections"
    assert await api.position() == before


async def test_shared_with_a_partner_it_shows_the_current_version_without_the_other_readers(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    mina, theo, sam, sky = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    for who in (theo, sam, sky):
        await assert_hidden(client, who, document)

    shared = await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"partner_id": theo.sid})
    [share] = shared["shares"]
    assert share["person"]["person_id"] == theo.sid and share["holds"] and share["handle"] == ""
    await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"handle": sam.handle})

    seen = await api.call("GET", f"{D}/{document}", theo, 200)
    assert seen["access"] == "shared" and seen["shares"] is None and seen["owner"]["name"] == mina.name
    assert seen["sections"][0]["text"] == "my chest tightens"
    assert [d["document_id"] for d in await api.call("GET", D, theo, 200)] == [document]
    # The history (earlier versions) is the owner's; the reader gets the current version.
    r = await client.get(f"{D}/{document}/history", headers=theo.headers)
    assert r.status_code == 404
    # Nobody but the owner changes it, and the reader is told it does not exist.
    assert_problem(await client.put(f"{D}/{document}", headers=theo.headers, json={"based_on_version": 1, **_only(care_plan())}), 404)
    assert_problem(await client.post(f"{D}/{document}/shares", headers=theo.headers, json={"handle": sky.handle}), 404)
    await assert_hidden(client, sky, document)


async def test_a_metamour_sees_it_only_through_an_explicit_share(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam, _ = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    # A partner can be picked directly; a metamour cannot.
    assert_problem(await client.post(f"{D}/{document}/shares", headers=mina.headers, json={"partner_id": sam.sid}), 404)
    await assert_hidden(client, sam, document)
    view = await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"handle": sam.handle})
    [share] = view["shares"]
    assert share["holds"] and share["handle"] == sam.handle.casefold()
    assert (await api.call("GET", f"{D}/{document}", sam, 200))["access"] == "shared"


async def test_a_handle_without_an_account_answers_as_one_with_an_account(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sky = await api.person("mina"), await api.person("sky")
    first = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    second = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    a = await api.call("POST", f"{D}/{first}/shares", mina, 200, json={"handle": sky.handle})
    b = await api.call("POST", f"{D}/{second}/shares", mina, 200, json={"handle": f"nobody{uuid.uuid4().hex[:8]}"})
    for view in (a, b):
        [share] = view["shares"]
        assert not share["holds"] and share["person"]["person_id"] is None
    await assert_hidden(client, sky, first)


async def test_revoking_takes_it_away_at_once(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam, _ = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    view = await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"handle": sam.handle})
    key = view["shares"][0]["person"]["key"]  # a pseudonym's key: Sam has not disclosed his name to Mina
    await api.call("GET", f"{D}/{document}", sam, 200)
    after = await api.call("DELETE", f"{D}/{document}/shares/{key}", mina, 200)
    assert after["shares"] == []
    await assert_hidden(client, sam, document)
    assert await api.call("GET", D, sam, 200) == []
    assert_problem(await client.delete(f"{D}/{document}/shares/{key}", headers=mina.headers), 404)


async def test_the_share_ends_with_the_link(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, _, _ = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"partner_id": theo.sid})
    network = await api.call("GET", "/api/network", mina, 200)
    [link] = [l for l in network["links"] if l["other"].get("person_id") == theo.sid]
    await api.call("POST", f"/api/links/{link['link_id']}/end", mina, 200)
    await assert_hidden(client, theo, document)
    [share] = (await api.call("GET", f"{D}/{document}", mina, 200))["shares"]
    assert not share["holds"]


async def test_a_security_map_is_shared_only_when_the_owner_says_so(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, _, _ = await a_triad(api)
    areas = [{"heading": "plans changing late", "text": "ask for a call"}, {"heading": "new partners", "text": "say so"}, {"heading": "", "text": ""}]
    document = (await api.call("POST", D, mina, 201, json={"kind": "security_map", "sections": areas}))["document_id"]
    before = await api.position()
    body = assert_problem(await client.post(f"{D}/{document}/shares", headers=mina.headers, json={"partner_id": theo.sid}), 422)
    assert body["errors"][0]["field"] == "explicit"
    assert await api.position() == before
    await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"partner_id": theo.sid, "explicit": True})
    assert (await api.call("GET", f"{D}/{document}", theo, 200))["sections"][0]["heading"] == "plans changing late"


async def test_a_repeated_write_with_the_same_key_appends_once(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    headers = mina.with_key("write-once")
    first = await client.post(D, headers=headers, json=care_plan())
    again = await client.post(D, headers=headers, json=care_plan())
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await api.call("GET", D, mina, 200)) == 1


async def test_deleting_destroys_it_for_everyone(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, _, _ = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"partner_id": theo.sid})
    assert await api.call("DELETE", f"{D}/{document}", mina, 200) == {"document_id": document, "deleted": True}
    for who in (mina, theo):
        await assert_hidden(client, who, document)
        assert await api.call("GET", D, who, 200) == []


async def test_two_revisions_from_the_same_version_at_once_one_lands_and_the_other_is_told_why(
    client: AsyncTestClient[Litestar],
) -> None:
    import asyncio

    api = Api(client)
    mina = await api.person("mina")
    document = (await api.call("POST", D, mina, 201, json=care_plan()))["document_id"]
    bodies = [{"based_on_version": 1, **_only(care_plan(helps=h))} for h in ("a long walk", "tea")]
    answers = await asyncio.gather(*(client.put(f"{D}/{document}", headers=mina.headers, json=b) for b in bodies))
    assert sorted(r.status_code for r in answers) == [200, 409]
    [landed] = [r.json() for r in answers if r.status_code == 200]
    [refused] = [r.json() for r in answers if r.status_code == 409]
    assert refused["current"]["version"] == 2 and refused["current"]["sections"] == landed["sections"]
    assert (await api.call("GET", f"{D}/{document}", mina, 200))["version"] == 2


async def test_a_document_exports_as_markdown_and_pdf_to_whoever_reads_it(client: AsyncTestClient[Litestar]) -> None:
    """The owner exports any version; a reader the current one (as on their page); anyone else nothing.
    A PDF read back holds the words of that version and none of another's."""
    import io

    from pypdf import PdfReader

    api = Api(client)
    mina, theo, _, sky = await a_triad(api)
    document = (await api.call("POST", D, mina, 201, json=care_plan(helps="first-words-walk")))["document_id"]
    await api.call("PUT", f"{D}/{document}", mina, 200, json={"based_on_version": 1, **_only(care_plan(helps="second-words-tea"))})
    await api.call("POST", f"{D}/{document}/shares", mina, 200, json={"partner_id": theo.sid})

    async def text_of(who: Person, suffix: str) -> str:
        r = await client.get(f"{D}/{document}/{suffix}", headers=who.headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"].startswith("attachment")
        if ".pdf" in suffix:
            assert r.headers["content-type"] == "application/pdf"
            return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
        assert r.headers["content-type"].startswith("text/markdown")
        return r.text

    for who in (mina, theo):
        for kind in ("md", "pdf"):
            text = await text_of(who, f"export.{kind}")
            assert "second-words-tea" in text and "first-words-walk" not in text and "Care plan" in text
    first = await text_of(mina, "export.pdf?version=1")
    assert "first-words-walk" in first and "second-words-tea" not in first
    # A reader has the current version only; a version that never was, and a stranger: not found.
    for who, suffix in ((theo, "export.md?version=1"), (mina, "export.md?version=9"), (sky, "export.md"), (sky, "export.pdf")):
        assert_problem(await client.get(f"{D}/{document}/{suffix}", headers=who.headers), 404)
    r = await client.get(f"{D}/{document}/export.md", headers=sky.headers)
    other = await client.get(f"{D}/{uuid.uuid4()}/export.md", headers=sky.headers)
    assert r.content == other.content
