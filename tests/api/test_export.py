"""Export my data: exactly what the person may see, as JSON, Markdown and one zip.

One world, on each store: Ana and Ben, partners, are parties of an agreement in force
(a boundaries clause shared with Sam, a safer-sex clause shared with nobody,
a renegotiation, a repair note) and of a second one shared with nobody. Sam is
Ben's partner, so Ana's metamour, and holds a grant; Mo is Ana's partner, so
Ben's metamour, and holds none; Ivy is invited to a third agreement of Ana's;
Zed knows nobody. Every intimate text carries a unique marker.

Each person's export is compared with what the API shows them, view by view;
a marker, id or title of something they may not see appears nowhere in it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import MARKER, Api, Person, assert_problem, mark

ROUTES = ("/api/me/export", "/api/me/export.md", "/api/me/export.zip")
A = "/api/agreements"


@dataclass
class World:
    ana: Person
    ben: Person
    sam: Person
    mo: Person
    ivy: Person
    zed: Person
    shared_id: str
    hidden_id: str
    invited_id: str
    grant_id: str
    #: Marker -> where it is written.
    markers: dict[str, str] = field(default_factory=dict)

    def marked(self, where: str, words: str) -> str:
        text = mark(words)
        self.markers[MARKER.findall(text)[0]] = where
        return text

    def markers_of(self, *wheres: str) -> set[str]:
        return {m for m, w in self.markers.items() if w in wheres}


async def build(api: Api) -> World:
    ana, ben, sam, mo, ivy, zed = [
        await api.person(p) for p in ("ana", "ben", "sam", "mo", "ivy", "zed")
    ]
    w = World(ana, ben, sam, mo, ivy, zed, "", "", "", "")
    await api.link(ana, ben)
    await api.link(ben, sam)
    await api.link(ana, mo)

    w.shared_id = (await api.create(ana, w.marked("shared title", "Ana and Ben")))[
        "agreement_id"
    ]
    await api.invite(ana, w.shared_id, ben.handle)
    await api.accept_invitation(ben, w.shared_id)
    shared_clause = await api.add_clause(
        ana, w.shared_id, w.marked("shared clause", "We tell each other first.")
    )
    await api.add_clause(
        ben,
        w.shared_id,
        w.marked("hidden clause", "Barriers until tested."),
        "safer_sex",
    )
    await api.ratify(ana, ben, w.shared_id)
    change = {
        "kind": "edit",
        "clause_id": shared_clause["clause_id"],
        "text": w.marked("proposal", "Always first."),
    }
    proposal_id, _ = await api.propose(
        ana, w.shared_id, [change], reason=w.marked("reason", "clearer")
    )
    await api.call(
        "POST",
        f"{A}/{w.shared_id}/proposals/{proposal_id}/comments",
        ben,
        201,
        json={"text": w.marked("comment", "Fine by me")},
    )
    note = {
        "clause_id": shared_clause["clause_id"],
        "what_happened": w.marked("note", "I forgot"),
        "impact": w.marked("note", "Ben worried"),
        "intentions": w.marked("note", "remember"),
    }
    await api.call("POST", f"{A}/{w.shared_id}/repair-notes", ana, 201, json=note)
    body = {
        "audience": sam.handle,
        "scopes": ["clauses:boundaries", "history", "identity"],
    }
    w.grant_id = (
        await api.call("POST", f"{A}/{w.shared_id}/grants", ana, 201, json=body)
    )["grant_id"]
    await api.call("POST", f"{A}/{w.shared_id}/grants/{w.grant_id}/consent", ben, 200)

    w.hidden_id = (
        await api.create(ben, w.marked("hidden title", "Ben and Ana, private"))
    )["agreement_id"]
    await api.invite(ben, w.hidden_id, ana.handle)
    await api.accept_invitation(ana, w.hidden_id)
    await api.add_clause(
        ben, w.hidden_id, w.marked("hidden agreement clause", "Only between us.")
    )

    w.invited_id = (await api.create(ana, w.marked("invitation title", "Ana and Ivy")))[
        "agreement_id"
    ]
    await api.add_clause(
        ana, w.invited_id, w.marked("invitation clause", "Not yet for Ivy's eyes.")
    )
    await api.invite(ana, w.invited_id, ivy.handle)
    return w


@pytest.fixture(scope="module")
async def world(_module_client: AsyncTestClient[Litestar]) -> World:
    return await build(Api(_module_client))


async def export_of(api: Api, who: Person) -> tuple[dict[str, Any], str, str]:
    """(the JSON export, its text, the Markdown export) of `who`."""
    r = await api.client.get("/api/me/export", headers=who.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert (
        r.headers["content-disposition"] == 'attachment; filename="accord-export.json"'
    )
    md = await api.client.get("/api/me/export.md", headers=who.headers)
    assert md.status_code == 200, md.text
    assert md.headers["content-type"].startswith("text/markdown")
    assert (
        md.headers["content-disposition"] == 'attachment; filename="accord-export.md"'
    )
    return r.json(), r.text, md.text


def ids_in(export: dict[str, Any]) -> list[str]:
    return [a["agreement_id"] for a in export["agreements"]]


async def assert_account_and_network(
    api: Api, who: Person, export: dict[str, Any]
) -> None:
    assert export["format"] == "accord-export/1"
    assert export["account"] == await api.call("GET", "/api/me", who, 200)
    assert (
        export["account"]["handle"] == who.handle
        and export["account"]["display_name"] == who.name
    )
    assert export["network"] == await api.call("GET", "/api/network", who, 200)


def assert_markdown_says_the_same(export: dict[str, Any], text: str, md: str) -> None:
    """The Markdown holds the facts the JSON holds: every marked text, every agreement, and nothing more."""
    assert set(MARKER.findall(md)) == set(MARKER.findall(text))
    for agreement in export["agreements"]:
        assert f"`{agreement['agreement_id']}`" in md
    assert (
        export["account"]["display_name"] in md
        and f"@{export['account']['handle']}" in md
    )


# --------------------------------------------------------------------------
# Who may ask
# --------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
async def test_anonymous_and_unknown_tokens_get_401(api: Api, route: str) -> None:
    assert_problem(await api.client.get(route), 401)
    assert_problem(
        await api.client.get(route, headers={"Authorization": "Bearer nonsense"}), 401
    )


# --------------------------------------------------------------------------
# Exactly what each person may see
# --------------------------------------------------------------------------


async def test_a_party_gets_every_view_of_theirs_exactly(
    api: Api, world: World
) -> None:
    w = world
    export, text, md = await export_of(api, w.ana)
    await assert_account_and_network(api, w.ana, export)
    listed = await api.call("GET", A, w.ana, 200)
    assert ids_in(export) == [a["agreement_id"] for a in listed]
    assert set(ids_in(export)) == {w.shared_id, w.hidden_id, w.invited_id}
    for exported in export["agreements"]:
        agreement_id = exported["agreement_id"]
        path = f"{A}/{agreement_id}"
        assert exported["relation"] == "party"
        assert exported["party"] == await api.call("GET", path, w.ana, 200)
        assert exported["shared"] is None and exported["invitation"] is None
        assert exported["timeline"] == await api.call(
            "GET", f"{path}/timeline", w.ana, 200
        )
        assert exported["grants"] == await api.call("GET", f"{path}/grants", w.ana, 200)
        versions = [v["version"] for v in exported["versions"]]
        assert versions == sorted({e["version"] for e in exported["timeline"]} | {0})
        for version in exported["versions"]:
            got = await api.call(
                "GET", f"{path}/versions/{version['version']}", w.ana, 200
            )
            assert version["clauses"] == got
    # Everything Ana wrote or was written to her is there, in both formats.
    assert set(MARKER.findall(text)) == set(w.markers)
    assert_markdown_says_the_same(export, text, md)


async def test_a_metamour_with_a_grant_gets_the_shared_view_and_nothing_hidden(
    api: Api, world: World
) -> None:
    w = world
    export, text, md = await export_of(api, w.sam)
    await assert_account_and_network(api, w.sam, export)
    [exported] = export["agreements"]
    assert exported == {
        "agreement_id": w.shared_id,
        "relation": "shared",
        "party": None,
        "shared": await api.call("GET", f"{A}/{w.shared_id}", w.sam, 200),
        "invitation": None,
        "timeline": None,
        "versions": None,
        "grants": None,
        "names": {},
    }
    assert exported["shared"]["access"] == "metamour" and exported["shared"]["history"]
    visible = w.markers_of("shared clause")
    for found in (text, md):
        assert set(MARKER.findall(found)) == visible
        assert (
            w.hidden_id not in found
            and w.invited_id not in found
            and w.grant_id not in found
        )
    assert_markdown_says_the_same(export, text, md)


@pytest.mark.parametrize("who", ["mo", "zed"])
async def test_a_metamour_without_a_grant_and_a_stranger_get_no_agreement_at_all(
    api: Api, world: World, who: str
) -> None:
    person: Person = getattr(world, who)
    export, text, md = await export_of(api, person)
    await assert_account_and_network(api, person, export)
    assert export["agreements"] == []
    for found in (text, md):
        assert MARKER.findall(found) == []
        for agreement_id in (world.shared_id, world.hidden_id, world.invited_id):
            assert agreement_id not in found
        assert "Ana and Ben" not in found and "Ben and Ana" not in found
    assert "## Agreements (0)" in md


async def test_an_invitee_gets_the_invitation_and_not_the_draft(
    api: Api, world: World
) -> None:
    w = world
    export, text, md = await export_of(api, w.ivy)
    [exported] = export["agreements"]
    assert exported["relation"] == "invited"
    assert exported["invitation"] == await api.call(
        "GET", f"{A}/{w.invited_id}/invitation", w.ivy, 200
    )
    assert (
        exported["party"] is None
        and exported["shared"] is None
        and exported["timeline"] is None
    )
    for found in (text, md):
        assert set(MARKER.findall(found)) == w.markers_of("invitation title")
    assert_markdown_says_the_same(export, text, md)


async def test_a_revoked_grant_takes_the_agreement_out_of_the_export(api: Api) -> None:
    w = await build(api)
    assert ids_in((await export_of(api, w.sam))[0]) == [w.shared_id]
    await api.call("POST", f"{A}/{w.shared_id}/grants/{w.grant_id}/revoke", w.ben, 200)
    export, text, md = await export_of(api, w.sam)
    assert export["agreements"] == []
    assert (
        w.shared_id not in text
        and w.shared_id not in md
        and MARKER.findall(text + md) == []
    )


# --------------------------------------------------------------------------
# The Markdown reads as a document
# --------------------------------------------------------------------------


async def test_the_markdown_has_a_heading_per_agreement_and_its_clauses(
    api: Api, world: World
) -> None:
    w = world
    _, _, md = await export_of(api, w.ana)
    headings = re.findall(r"^### (.+)$", md, flags=re.MULTILINE)
    assert (
        len([h for h in headings if MARKER.search(h)]) == 3
    )  # one per agreement, titled
    assert any("Ana and Ben" in h for h in headings)
    assert "#### Clauses" in md and "**Boundaries**" in md and "**Safer sex**" in md
    assert "#### Timeline" in md and "#### Versions" in md and "#### Repair notes" in md
    quoted = [line for line in md.splitlines() if line.startswith("> ")]
    assert any(m in line for line in quoted for m in w.markers_of("shared clause"))

    _, _, shared = await export_of(api, w.sam)
    assert re.search(r"^### An agreement between .+$", shared, flags=re.MULTILINE)
    assert (
        "#### How it changed" in shared
        and w.ana.name in shared
        and w.ben.name in shared
    )


async def test_words_that_look_like_markup_are_shown_as_written(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana, "# Not a heading <b>bold</b>"))[
        "agreement_id"
    ]
    await api.add_clause(
        ana, agreement_id, "*not emphasis*\n- not a list\n<script>x</script>"
    )
    _, _, md = await export_of(api, ana)
    assert "### \\# Not a heading \\<b\\>bold\\</b\\>" in md
    assert "> \\*not emphasis\\*\n> \\- not a list\n> \\<script\\>x\\</script\\>" in md
    assert "<script>" not in md and "<b>" not in md


# --------------------------------------------------------------------------
# One download
# --------------------------------------------------------------------------


async def test_the_zip_holds_both_files_of_the_same_export(
    api: Api, world: World
) -> None:
    r = await api.client.get("/api/me/export.zip", headers=world.ana.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert (
        r.headers["content-disposition"] == 'attachment; filename="accord-export.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.namelist() == ["export.json", "export.md"]
        inside = json.loads(archive.read("export.json"))
        md = archive.read("export.md").decode()
    export, text, _ = await export_of(api, world.ana)
    assert {**inside, "exported_at": None} == {**export, "exported_at": None}
    assert_markdown_says_the_same(inside, text, md)


async def test_the_export_schema_is_in_the_openapi_document(api: Api) -> None:
    document = await api.call("GET", "/schema/openapi.json", None, 200)
    paths = document["paths"]
    json_route = paths["/api/me/export"]["get"]["responses"]
    assert json_route["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Export"
    }
    assert "Content-Disposition" in json_route["200"]["headers"]
    assert {"401", "503"} <= set(json_route)
    assert (
        "text/markdown"
        in paths["/api/me/export.md"]["get"]["responses"]["200"]["content"]
    )
    assert (
        "application/zip"
        in paths["/api/me/export.zip"]["get"]["responses"]["200"]["content"]
    )
    schemas = document["components"]["schemas"]
    fields = schemas["ExportedAgreement"]["properties"]
    assert {
        "agreement_id",
        "relation",
        "party",
        "shared",
        "invitation",
        "timeline",
        "versions",
        "grants",
    } <= set(fields)
    assert all(
        fields[name].get("description")
        for name in ("relation", "party", "shared", "invitation")
    )
