"""Templates and topics of one's own over HTTP, on both stores.

Starting from a template is one command: the agreement, the record of the
template and version, and one draft per clause, appended together. A topic the
parties name is shared, or not, by its own scope, separately from every other.
"""

from __future__ import annotations

import uuid

import msgspec
import pytest

from service.library import load_library
from tests.api.conftest import Api, assert_problem, clause_of, fields_of, mark, marker

LIBRARY = load_library()
AGREEMENT_TEMPLATES = [t.template_id for t in LIBRARY.of_kind("agreement")]


def as_json(value: object) -> object:
    return msgspec.json.decode(msgspec.json.encode(value))


async def test_the_library_is_listed_and_each_template_read(api: Api) -> None:
    mina = await api.person("mina")
    listed = await api.call("GET", "/api/templates", mina, 200)
    assert listed == as_json(list(LIBRARY.values()))
    assert [t["kind"] for t in listed] == sorted(t["kind"] for t in listed)  # agreements first
    one = await api.call("GET", "/api/templates/one_page_contract", mina, 200)
    assert one == as_json(LIBRARY["one_page_contract"])
    assert_problem(await api.client.get("/api/templates/no_such_template", headers=mina.headers), 404)
    assert_problem(await api.client.get("/api/templates"), 401)


@pytest.mark.parametrize("template_id", AGREEMENT_TEMPLATES)
async def test_starting_from_a_template_makes_its_clauses_drafts(api: Api, template_id: str) -> None:
    template = LIBRARY[template_id]
    mina = await api.person("mina")
    before = await api.position()
    view = await api.call(
        "POST", "/api/agreements", mina, 201, json={"title": template.title, "template_id": template_id}
    )
    assert view["status"] == "drafting" and view["consented"] == []
    assert view["template"] == {"template_id": template_id, "version": template.version}
    assert sorted((c["topic"], c["text"], c["revision"]) for c in view["clauses"]) == sorted(
        (c.topic, c.text, 1) for c in template.clauses
    )
    assert view["version"] == len(template.clauses)
    # One command: Created, StartedFromTemplate and one ClauseAdded per clause.
    assert await api.position() == before + 2 + len(template.clauses)
    assert await api.view(mina, view["agreement_id"]) == view


async def test_drafts_from_a_template_are_edited_and_ratified_as_usual(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    view = await api.call(
        "POST", "/api/agreements", ana, 201, json={"title": "Ours", "template_id": "time_and_scheduling"}
    )
    agreement_id = view["agreement_id"]
    await api.invite(ana, agreement_id, ben.handle)
    await api.accept_invitation(ben, agreement_id)
    first = view["clauses"][0]
    edited = await api.edit_clause(ben, agreement_id, first["clause_id"], "Sundays are ours.", 1)
    assert clause_of(edited, first["clause_id"])["text"] == "Sundays are ours."
    assert (await api.ratify(ana, ben, agreement_id))["template"]["template_id"] == "time_and_scheduling"
    timeline = await api.call("GET", f"/api/agreements/{agreement_id}/timeline", ben, 200)
    assert [e["kind"] for e in timeline[:5]] == ["drafted", "started_from_template", *["clause_added"] * 3]
    assert timeline[1]["summary"] == "started from the template time and scheduling (version 1)"


async def test_starting_from_a_template_is_idempotent(api: Api) -> None:
    mina = await api.person("mina")
    headers = mina.with_key(str(uuid.uuid4()))
    body = {"title": "Ours", "template_id": "repair_agreement"}
    first = await api.client.post("/api/agreements", json=body, headers=headers)
    position = await api.position()
    again = await api.client.post("/api/agreements", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert await api.position() == position


@pytest.mark.parametrize(
    ("template_id", "status"),
    [("care_plan", 422), ("no_such_template", 422), ("Not An Id", 400)],
)
async def test_only_an_agreement_template_starts_an_agreement(api: Api, template_id: str, status: int) -> None:
    mina = await api.person("mina")
    before = await api.position()
    r = await api.client.post("/api/agreements", json={"title": "Ours", "template_id": template_id}, headers=mina.headers)
    problem = assert_problem(r, status)
    assert "template_id" in (fields_of(problem) or [problem["detail"]])[0]
    assert await api.position() == before


# Topics of one's own


async def test_a_clause_on_a_topic_of_ones_own(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    added = await api.add_clause(ana, agreement_id, "We split rent by income.", topic="money")
    assert added["topic"] == "money"
    before = await api.position()
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/clauses", json={"topic": "Money", "text": "x"}, headers=ana.headers
    )
    assert fields_of(assert_problem(r, 422)) == ["topic"]
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/clauses", json={"topic": "x" * 33, "text": "x"}, headers=ana.headers
    )
    assert_problem(r, 400)
    assert await api.position() == before


async def test_two_topics_of_ones_own_are_shared_separately(api: Api) -> None:
    """Sam (Ben's partner) is granted `clauses:money`: he sees that clause, never the one on `kids`, nor its topic."""
    ana, ben, agreement_id = await api.pair()
    sam = await api.person("sam")
    await api.link(ana, ben)
    await api.link(ben, sam)
    money = await api.add_clause(ana, agreement_id, mark("We split rent"), topic="money")
    kids = await api.add_clause(ana, agreement_id, mark("Kids come first"), topic="kids_and_school")
    await api.ratify(ana, ben, agreement_id)
    base = f"/api/agreements/{agreement_id}/grants"
    grant = await api.call("POST", base, ana, 201, json={"audience": sam.handle, "scopes": ["clauses:money"]})
    await api.call("POST", f"{base}/{grant['grant_id']}/consent", ben, 200)
    r = await api.client.get(f"/api/agreements/{agreement_id}", headers=sam.headers)
    assert r.status_code == 200, r.text
    assert [(c["clause_id"], c["topic"]) for c in r.json()["clauses"]] == [(money["clause_id"], "money")]
    assert marker(money["text"]) in r.text
    assert marker(kids["text"]) not in r.text and "kids_and_school" not in r.text and kids["clause_id"] not in r.text
    # The parties see who sees each clause.
    who = await api.call("GET", f"/api/agreements/{agreement_id}/clauses/{money['clause_id']}/audience", ana, 200)
    assert [w["grant_id"] for w in who] == [grant["grant_id"]]
    assert await api.call("GET", f"/api/agreements/{agreement_id}/clauses/{kids['clause_id']}/audience", ana, 200) == []


async def test_a_grant_scope_names_a_valid_topic(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    sam = await api.person("sam")
    before = await api.position()
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/grants",
        json={"audience": sam.handle, "scopes": ["clauses:Not A Topic"]},
        headers=ana.headers,
    )
    assert fields_of(assert_problem(r, 422)) == ["scopes"]
    assert await api.position() == before
