"""Agreements over HTTP, on both stores: every route, its happy path, auth, privacy and errors.

Each test makes its own people and agreements. "Nothing was appended" is checked
by comparing the log position (GET /health) before and after a rejected request.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from uuid import UUID

import pytest

from tests.api.conftest import (
    PROBLEM,
    Api,
    Person,
    assert_problem,
    clause_of,
    comparable_headers,
    fields_of,
    proposal_of,
)

NOT_FOUND = {
    "type": "https://accord.example/problems/not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "not found",
}


def new_id() -> str:
    return str(uuid.uuid4())


async def rejected(
    api: Api,
    method: str,
    path: str,
    who: Person | None,
    status: int,
    *,
    code: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Send a request that must be refused; check it appended nothing; return the problem."""
    before = await api.position()
    headers = {**(who.headers if who else {}), **kwargs.pop("headers", {})}
    r = await api.client.request(method, path, headers=headers, **kwargs)
    problem = assert_problem(r, status, code=code)
    assert "accord-position" not in r.headers
    assert await api.position() == before, f"{method} {path} was refused but appended events"
    return problem


def person_ref(p: Person) -> dict[str, str]:
    return {"person_id": p.sid, "name": p.name}


# --------------------------------------------------------------------------
# Create, list, view
# --------------------------------------------------------------------------


async def test_create_answers_201_with_the_party_view(api: Api) -> None:
    ana = await api.person("ana")
    before = await api.position()
    r = await api.client.post("/api/agreements", json={"title": "Ana and friends"}, headers=ana.headers)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    view = r.json()
    agreement_id = view["agreement_id"]
    assert UUID(agreement_id)
    assert view == {
        "agreement_id": agreement_id,
        "title": "Ana and friends",
        "status": "drafting",
        "version": 0,
        "in_force_version": None,
        "parties": [person_ref(ana)],
        "invitations": [],
        "consented": [],
        "discard_asked": [],
        "clauses": [],
        "proposals": [],
        "repair_notes": [],
        "revisits": [],
        "due_reviews": [],
        "until": None,
        "template": None,
        "view": "party",
    }
    # One event, at the position the response names.
    assert int(r.headers["accord-position"]) == before + 1 == await api.position()
    # The same view is what GET answers.
    assert await api.view(ana, agreement_id) == view


async def test_create_with_a_chosen_id(api: Api) -> None:
    ana = await api.person("ana")
    chosen = new_id()
    view = await api.call(
        "POST", "/api/agreements", ana, 201, json={"title": "Chosen", "agreement_id": chosen}
    )
    assert view["agreement_id"] == chosen
    assert (await api.view(ana, chosen))["title"] == "Chosen"


async def test_create_with_a_taken_id_is_409(api: Api) -> None:
    ana = await api.person("ana")
    chosen = new_id()
    await api.call("POST", "/api/agreements", ana, 201, json={"title": "First", "agreement_id": chosen})
    await rejected(
        api, "POST", "/api/agreements", ana, 409, json={"title": "Second", "agreement_id": chosen}
    )
    assert (await api.view(ana, chosen))["title"] == "First"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        pytest.param({"title": ""}, 400, "title", id="empty"),
        pytest.param({"title": "t" * 201}, 400, "title", id="too-long"),
        pytest.param({"title": 42}, 400, "title", id="not-a-string"),
        pytest.param({"title": "ok", "agreement_id": "not-a-uuid"}, 400, "agreement_id", id="bad-id"),
        pytest.param({"title": "   "}, 422, "title", id="blank"),
    ],
)
async def test_create_refuses_an_invalid_title(api: Api, payload, status, field) -> None:
    ana = await api.person("ana")
    problem = await rejected(api, "POST", "/api/agreements", ana, status, json=payload)
    assert fields_of(problem) == [field]
    assert problem["errors"][0]["rule"]
    assert (await api.call("GET", "/api/agreements", ana, 200)) == []


async def test_create_refuses_an_unknown_field(api: Api) -> None:
    ana = await api.person("ana")
    problem = await rejected(
        api, "POST", "/api/agreements", ana, 400, json={"title": "ok", "titel": "typo"}
    )
    assert problem["errors"] == [{"field": "titel", "rule": "is not a known field"}]


async def test_my_agreements_lists_what_i_am_part_of_at_once(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    assert await api.call("GET", "/api/agreements", ana, 200) == []
    first = (await api.create(ana, "First"))["agreement_id"]
    # Read-your-writes: the list shows the agreement the moment create returns.
    assert await api.call("GET", "/api/agreements", ana, 200) == [
        {"agreement_id": first, "title": "First", "relation": "party"}
    ]
    second = (await api.create(ana, "Second"))["agreement_id"]
    listed = await api.call("GET", "/api/agreements", ana, 200)
    assert sorted((a["agreement_id"], a["title"], a["relation"]) for a in listed) == sorted(
        [(first, "First", "party"), (second, "Second", "party")]
    )
    # Someone else's list is unaffected.
    assert await api.call("GET", "/api/agreements", ben, 200) == []


# --------------------------------------------------------------------------
# Invitations
# --------------------------------------------------------------------------


async def test_invite_then_accept(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana, "Ana and Ben"))["agreement_id"]

    before = await api.position()
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/invitations", json={"handle": ben.handle}, headers=ana.headers
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "invited"}
    assert int(r.headers["accord-position"]) == before + 1 == await api.position()

    # The invitee sees it at once, in the list and as an invitation.
    assert await api.call("GET", "/api/agreements", ben, 200) == [
        {"agreement_id": agreement_id, "title": "Ana and Ben", "relation": "invited"}
    ]
    # The invitation names who invited Ben (introducing oneself) and the parties.
    ana_ref = {"key": str(ana.id), "name": ana.name, "person_id": str(ana.id)}
    assert await api.call("GET", f"/api/agreements/{agreement_id}/invitation", ben, 200) == {
        "agreement_id": agreement_id,
        "title": "Ana and Ben",
        "status": "drafting",
        "invited_by": ana_ref,
        "parties": [ana_ref],
    }
    # Not a party yet: the agreement's content stays hidden; an invitee sees its title only.
    assert await api.call("GET", f"/api/agreements/{agreement_id}", ben, 200) == {
        "agreement_id": agreement_id,
        "title": "Ana and Ben",
        "relation": "invited",
    }
    # The inviter sees the pending invitation by the handle used.
    view = await api.view(ana, agreement_id)
    assert view["invitations"] == [{"handle": ben.handle}]
    assert view["parties"] == [person_ref(ana)]

    r = await api.client.post(f"/api/agreements/{agreement_id}/invitation/accept", headers=ben.headers)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["parties"] == [person_ref(ana), person_ref(ben)]
    assert view["invitations"] == []
    assert view["status"] == "drafting"
    assert view["view"] == "party"
    assert int(r.headers["accord-position"]) == await api.position()
    assert await api.view(ben, agreement_id) == view
    assert await api.view(ana, agreement_id) == view
    assert await api.call("GET", "/api/agreements", ben, 200) == [
        {"agreement_id": agreement_id, "title": "Ana and Ben", "relation": "party"}
    ]
    # The invitation is used up.
    assert await api.call("GET", f"/api/agreements/{agreement_id}/invitation", ben, 404) == NOT_FOUND
    await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/invitation/accept", ben, 409, code="not_invited"
    )


async def test_invite_by_handle_ignores_case(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana))["agreement_id"]
    await api.invite(ana, agreement_id, ben.handle.upper())
    assert (await api.call("GET", "/api/agreements", ben, 200))[0]["relation"] == "invited"
    await api.accept_invitation(ben, agreement_id)


async def test_inviting_a_handle_without_an_account_answers_exactly_the_same(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana))["agreement_id"]
    nobody = f"nobody_{uuid.uuid4().hex[:10]}"

    known = await api.client.post(
        f"/api/agreements/{agreement_id}/invitations", json={"handle": ben.handle}, headers=ana.headers
    )
    unknown = await api.client.post(
        f"/api/agreements/{agreement_id}/invitations", json={"handle": nobody}, headers=ana.headers
    )
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (
        202,
        b'{"status":"invited"}',
    )
    assert comparable_headers(known) == comparable_headers(unknown)
    # Both appended one event.
    assert int(unknown.headers["accord-position"]) == int(known.headers["accord-position"]) + 1
    # Both are pending, shown by the handle used.
    assert (await api.view(ana, agreement_id))["invitations"] == [
        {"handle": ben.handle},
        {"handle": nobody},
    ]


UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def without_ids(value: Any) -> Any:
    """The JSON value with every UUID replaced by a placeholder."""
    return json.loads(UUID_PATTERN.sub("<id>", json.dumps(value)))


async def test_the_inviter_cannot_tell_whether_a_handle_has_an_account(api: Api, make_client) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana))["agreement_id"]
    nobody = f"nobody_{uuid.uuid4().hex[:10]}"
    await api.invite(ana, agreement_id, ben.handle)
    await api.invite(ana, agreement_id, nobody)
    path = f"/api/agreements/{agreement_id}/invitations"

    # Inviting again is refused alike, up to the ids in the message.
    known = await rejected(api, "POST", path, ana, 409, code="already_involved", json={"handle": ben.handle})
    unknown = await rejected(api, "POST", path, ana, 409, code="already_involved", json={"handle": nobody})
    assert without_ids(known) == without_ids(unknown)
    # Also through another instance on the same log: the id for a handle without
    # an account is stable, as a person's id is.
    async with make_client() as other:
        for handle in (ben.handle, nobody):
            r = await other.post(path, json={"handle": handle}, headers=ana.headers)
            assert_problem(r, 409, code="already_involved")
    assert (await api.view(ana, agreement_id))["invitations"] == [{"handle": ben.handle}, {"handle": nobody}]

    # The timeline's two invitation entries differ only in ids, positions and times.
    entries = await api.call("GET", f"/api/agreements/{agreement_id}/timeline", ana, 200)
    invited = [e for e in entries if e["kind"] == "invited"]
    assert len(invited) == 2
    strip = lambda e: without_ids({k: v for k, v in e.items() if k not in ("position", "at")})  # noqa: E731
    assert strip(invited[0]) == strip(invited[1])
    # Neither id is derived in a way anyone could recompute (a name-based UUID would be).
    assert [UUID(e["subject"]).version for e in invited] == [4, 4]


async def test_invite_refusals(api: Api) -> None:
    ana, ben, cleo = await api.person("ana"), await api.person("ben"), await api.person("cleo")
    agreement_id = (await api.create(ana))["agreement_id"]
    path = f"/api/agreements/{agreement_id}/invitations"
    problem = await rejected(api, "POST", path, ana, 400, json={"handle": "not a handle"})
    assert fields_of(problem) == ["handle"]
    problem = await rejected(api, "POST", path, ana, 400, json={})
    assert "handle" in problem["detail"]
    # Already a party.
    await rejected(api, "POST", path, ana, 409, code="already_involved", json={"handle": ana.handle})
    await api.invite(ana, agreement_id, ben.handle)
    # Already invited.
    await rejected(api, "POST", path, ana, 409, code="already_involved", json={"handle": ben.handle})
    # An invitee is not a party yet, and cannot invite.
    assert await rejected(api, "POST", path, ben, 404, json={"handle": cleo.handle}) == NOT_FOUND


async def test_decline_an_invitation(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    agreement_id = (await api.create(ana, "Maybe"))["agreement_id"]
    await api.invite(ana, agreement_id, ben.handle)

    r = await api.client.post(f"/api/agreements/{agreement_id}/invitation/decline", headers=ben.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"agreement_id": agreement_id, "title": "Maybe", "relation": "former"}
    assert int(r.headers["accord-position"]) == await api.position()

    assert await api.call("GET", "/api/agreements", ben, 200) == []
    assert await api.call("GET", f"/api/agreements/{agreement_id}/invitation", ben, 404) == NOT_FOUND
    assert (await api.view(ana, agreement_id))["invitations"] == []
    # Nothing left to decline or accept.
    assert (
        await rejected(api, "POST", f"/api/agreements/{agreement_id}/invitation/decline", ben, 404)
        == NOT_FOUND
    )
    assert (
        await rejected(api, "POST", f"/api/agreements/{agreement_id}/invitation/accept", ben, 404)
        == NOT_FOUND
    )
    # A party has no invitation to decline.
    await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/invitation/decline", ana, 409, code="not_invited"
    )


# --------------------------------------------------------------------------
# Leaving
# --------------------------------------------------------------------------


async def test_leave_clears_consent_and_ends_in_force(api: Api) -> None:
    ana, ben, agreement_id = await api.pair("Trio")
    cleo = await api.person("cleo")
    await api.invite(ana, agreement_id, cleo.handle)
    await api.accept_invitation(cleo, agreement_id)
    await api.add_clause(ana, agreement_id, "We check in weekly.", "check_ins")
    version = (await api.view(ana, agreement_id))["version"]
    for p in (ana, ben, cleo):
        view = await api.consent(p, agreement_id, version)
    assert view["status"] == "in_force" and view["in_force_version"] == version

    r = await api.client.post(f"/api/agreements/{agreement_id}/leave", headers=cleo.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"agreement_id": agreement_id, "title": "Trio", "relation": "former"}
    assert int(r.headers["accord-position"]) == await api.position()

    view = await api.view(ana, agreement_id)
    assert view["parties"] == [person_ref(ana), person_ref(ben)]
    assert view["status"] == "drafting"
    assert view["in_force_version"] is None
    assert view["consented"] == []
    assert view["version"] == version  # the content did not change
    # The one who left sees nothing any more, at once.
    assert await api.call("GET", "/api/agreements", cleo, 200) == []
    assert await api.call("GET", f"/api/agreements/{agreement_id}", cleo, 404) == NOT_FOUND
    assert await rejected(api, "POST", f"/api/agreements/{agreement_id}/leave", cleo, 404) == NOT_FOUND
    # Those who remain can consent afresh and bring it back into force.
    await api.consent(ana, agreement_id, version)
    view = await api.consent(ben, agreement_id, version)
    assert (view["status"], view["in_force_version"]) == ("in_force", version)


async def test_the_last_party_leaving_closes_it(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana, "Solo"))["agreement_id"]
    r = await api.client.post(f"/api/agreements/{agreement_id}/leave", headers=ana.headers)
    assert r.status_code == 200
    assert r.json()["relation"] == "former"
    assert await api.call("GET", "/api/agreements", ana, 200) == []
    assert await api.call("GET", f"/api/agreements/{agreement_id}", ana, 404) == NOT_FOUND


# --------------------------------------------------------------------------
# Clauses
# --------------------------------------------------------------------------


async def test_add_edit_remove_clauses_with_revisions(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause_id = new_id()
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/clauses",
        json={"topic": "safer_sex", "text": "Condoms with new partners.", "clause_id": clause_id},
        headers=ana.headers,
    )
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["version"] == 1
    assert view["clauses"] == [
        {"clause_id": clause_id, "topic": "safer_sex", "text": "Condoms with new partners.", "revision": 1}
    ]
    assert int(r.headers["accord-position"]) == await api.position()

    # A clause without a chosen id gets one.
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/clauses",
        json={"topic": "scheduling", "text": "Sundays are ours."},
        headers=ben.headers,
    )
    assert r.status_code == 201
    other = [c for c in r.json()["clauses"] if c["topic"] == "scheduling"][0]
    assert UUID(other["clause_id"]) and other["revision"] == 1
    assert r.json()["version"] == 2

    r = await api.client.put(
        f"/api/agreements/{agreement_id}/clauses/{clause_id}",
        json={"text": "Condoms and a recent test with new partners.", "based_on_revision": 1},
        headers=ben.headers,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert clause_of(view, clause_id) == {
        "clause_id": clause_id,
        "topic": "safer_sex",
        "text": "Condoms and a recent test with new partners.",
        "revision": 2,
    }
    assert view["version"] == 3
    assert int(r.headers["accord-position"]) == await api.position()
    view = await api.edit_clause(ana, agreement_id, clause_id, "Condoms, always.", 2)
    assert clause_of(view, clause_id)["revision"] == 3
    assert view["version"] == 4

    r = await api.client.delete(
        f"/api/agreements/{agreement_id}/clauses/{clause_id}",
        params={"based_on_revision": 3},
        headers=ana.headers,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert [c["clause_id"] for c in view["clauses"]] == [other["clause_id"]]
    assert view["version"] == 5
    assert int(r.headers["accord-position"]) == await api.position()
    assert await api.view(ben, agreement_id) == view


async def test_a_stale_edit_is_409_with_the_winners_text(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "Tell each other about new dates.")
    clause_id = clause["clause_id"]
    # Ben edits first, from revision 1.
    await api.edit_clause(ben, agreement_id, clause_id, "Tell each other before a first date.", 1)
    # Ana edits from revision 1 too: she loses, and sees what Ben wrote.
    path = f"/api/agreements/{agreement_id}/clauses/{clause_id}"
    problem = await rejected(
        api, "PUT", path, ana, 409, code="stale_revision",
        json={"text": "Tell each other within a day.", "based_on_revision": 1},
    )
    assert problem["current"] == {
        "clause_id": clause_id,
        "revision": 2,
        "text": "Tell each other before a first date.",
    }
    # A removal based on a stale revision is refused the same way.
    problem = await rejected(
        api, "DELETE", path, ana, 409, code="stale_revision", params={"based_on_revision": 1}
    )
    assert problem["current"]["revision"] == 2
    # Nothing was lost: Ben's text stands, and Ana can edit from it.
    assert clause_of(await api.view(ana, agreement_id), clause_id)["text"] == "Tell each other before a first date."
    view = await api.edit_clause(ana, agreement_id, clause_id, "Tell each other within a day.", 2)
    assert clause_of(view, clause_id)["revision"] == 3


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        pytest.param({"topic": "Hobbies!", "text": "x"}, 400, "topic", id="not-a-topic-key"),
        pytest.param({"topic": "boundaries", "text": ""}, 400, "text", id="empty-text"),
        pytest.param({"topic": "boundaries", "text": "x" * 5001}, 400, "text", id="text-too-long"),
        pytest.param({"topic": "boundaries"}, 400, None, id="missing-text"),
        pytest.param({"topic": "boundaries", "text": "   "}, 422, "text", id="blank-text"),
    ],
)
async def test_add_clause_refusals(api: Api, payload, status, field) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    problem = await rejected(api, "POST", f"/api/agreements/{agreement_id}/clauses", ana, status, json=payload)
    if field is not None:
        assert fields_of(problem) == [field]
    else:
        assert "text" in problem["detail"]
    assert (await api.view(ana, agreement_id))["clauses"] == []


async def test_add_clause_with_a_used_id_is_409(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    clause = await api.add_clause(ana, agreement_id, "One.")
    await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/clauses", ana, 409, code="already_exists",
        json={"topic": "other", "text": "Two.", "clause_id": clause["clause_id"]},
    )


async def test_edit_and_remove_refusals(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    clause = await api.add_clause(ana, agreement_id, "Same words.")
    path = f"/api/agreements/{agreement_id}/clauses/{clause['clause_id']}"

    problem = await rejected(api, "PUT", path, ana, 400, json={"text": "New.", "based_on_revision": 0})
    assert fields_of(problem) == ["based_on_revision"]
    problem = await rejected(api, "PUT", path, ana, 400, json={"text": "", "based_on_revision": 1})
    assert fields_of(problem) == ["text"]
    problem = await rejected(api, "PUT", path, ana, 422, code="validation_failed",
                             json={"text": "Same words.", "based_on_revision": 1})
    assert problem["errors"] == [{"field": "text", "rule": "is the same as the current text"}]
    problem = await rejected(api, "DELETE", path, ana, 400, params={"based_on_revision": 0})
    assert fields_of(problem) == ["based_on_revision"]
    problem = await rejected(api, "DELETE", path, ana, 400)
    assert "based_on_revision" in problem["detail"]
    # An unknown clause is not found.
    missing = f"/api/agreements/{agreement_id}/clauses/{new_id()}"
    assert await rejected(api, "PUT", missing, ana, 404, json={"text": "x", "based_on_revision": 1}) == NOT_FOUND
    assert await rejected(api, "DELETE", missing, ana, 404, params={"based_on_revision": 1}) == NOT_FOUND


async def test_a_missing_query_parameter_is_named_in_errors(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    clause = await api.add_clause(ana, agreement_id, "Words.")
    path = f"/api/agreements/{agreement_id}/clauses/{clause['clause_id']}"
    problem = await rejected(api, "DELETE", path, ana, 400)
    assert problem["errors"] == [{"field": "based_on_revision", "rule": "is required"}]


# --------------------------------------------------------------------------
# Consent and ratification
# --------------------------------------------------------------------------


async def test_consent_ratify_and_in_force(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "Ask before sleepovers.")
    version = (await api.view(ana, agreement_id))["version"]
    assert version == 1

    r = await api.client.post(
        f"/api/agreements/{agreement_id}/consents", json={"version": version}, headers=ana.headers
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["consented"] == [ana.sid]
    assert (view["status"], view["in_force_version"]) == ("drafting", None)
    assert int(r.headers["accord-position"]) == await api.position()

    # Consenting twice is refused.
    await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/consents", ana, 409, code="already_done",
        json={"version": version},
    )

    before = await api.position()
    view = await api.consent(ben, agreement_id, version)
    assert view["status"] == "in_force"
    assert view["in_force_version"] == version
    assert view["consented"] == sorted([ana.sid, ben.sid])
    # Consent and ratification: two events.
    assert await api.position() == before + 2

    # In force: no more drafting.
    path = f"/api/agreements/{agreement_id}/clauses/{clause['clause_id']}"
    await rejected(api, "PUT", path, ben, 409, code="in_force",
                   json={"text": "Ask a day before sleepovers.", "based_on_revision": 1})
    await rejected(api, "DELETE", path, ben, 409, code="in_force", params={"based_on_revision": 1})
    await rejected(api, "POST", f"/api/agreements/{agreement_id}/clauses", ben, 409, code="in_force",
                   json={"topic": "other", "text": "More."})
    await rejected(api, "DELETE", f"/api/agreements/{agreement_id}/consents/mine", ben, 409, code="in_force")
    assert clause_of(await api.view(ana, agreement_id), clause["clause_id"])["text"] == "Ask before sleepovers."


async def test_one_party_alone_cannot_ratify(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    await api.add_clause(ana, agreement_id, "Me, myself.")
    view = await api.consent(ana, agreement_id, 1)
    assert (view["status"], view["consented"]) == ("drafting", [ana.sid])


async def test_consent_to_an_old_version_is_409_with_the_current_one(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "First words.")
    await api.edit_clause(ben, agreement_id, clause["clause_id"], "Second words.", 1)
    problem = await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/consents", ana, 409, code="stale_version",
        json={"version": 1},
    )
    assert problem["current"] == {"version": 2}
    problem = await rejected(
        api, "POST", f"/api/agreements/{agreement_id}/consents", ana, 400, json={"version": -1}
    )
    assert fields_of(problem) == ["version"]


async def test_a_change_drops_consent_and_consent_can_be_withdrawn(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "First words.")
    assert (await api.consent(ana, agreement_id, 1))["consented"] == [ana.sid]
    view = await api.edit_clause(ben, agreement_id, clause["clause_id"], "Other words.", 1)
    assert view["consented"] == []
    assert (await api.consent(ana, agreement_id, 2))["consented"] == [ana.sid]

    r = await api.client.delete(f"/api/agreements/{agreement_id}/consents/mine", headers=ana.headers)
    assert r.status_code == 200, r.text
    assert r.json()["consented"] == []
    assert r.json()["status"] == "drafting"
    assert int(r.headers["accord-position"]) == await api.position()
    await rejected(api, "DELETE", f"/api/agreements/{agreement_id}/consents/mine", ana, 409, code="not_consented")


# --------------------------------------------------------------------------
# Renegotiation
# --------------------------------------------------------------------------


async def in_force_pair(api: Api) -> tuple[Person, Person, str, dict[str, Any]]:
    """Two parties with version 1 (one boundaries clause) in force."""
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "No overnight dates on weeknights.")
    await api.ratify(ana, ben, agreement_id)
    return ana, ben, agreement_id, clause


async def test_propose_comment_accept_adopts_the_next_version(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    proposal_id = new_id()
    new_clause = new_id()
    changes = [
        {"kind": "edit", "clause_id": clause["clause_id"], "text": "Overnight dates on Fridays are fine."},
        {"kind": "add", "clause_id": new_clause, "topic": "check_ins", "text": "Monthly check-in."},
    ]
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/proposals",
        json={"changes": changes, "reason": "My schedule changed.", "proposal_id": proposal_id},
        headers=ben.headers,
    )
    assert r.status_code == 201, r.text
    assert int(r.headers["accord-position"]) == await api.position()
    proposal = proposal_of(r.json(), proposal_id)
    assert proposal == {
        "proposal_id": proposal_id,
        "proposer": ben.sid,
        "base_version": 1,
        "reason": "My schedule changed.",
        "status": "open",
        "changes": [
            {"kind": "edit", "clause_id": clause["clause_id"], "topic": None,
             "text": "Overnight dates on Fridays are fine.", "revisit_on": None},
            {"kind": "add", "clause_id": new_clause, "topic": "check_ins", "text": "Monthly check-in.",
             "revisit_on": None},
        ],
        "accepted_by": [ben.sid],
        "comments": [],
        "end_date": None,
    }
    # The version in force is untouched while the proposal is open.
    assert r.json()["in_force_version"] == 1
    assert r.json()["clauses"] == [clause]

    r = await api.client.post(
        f"/api/agreements/{agreement_id}/proposals/{proposal_id}/comments",
        json={"text": "Fridays work for me."},
        headers=ana.headers,
    )
    assert r.status_code == 201, r.text
    comments = proposal_of(r.json(), proposal_id)["comments"]
    assert len(comments) == 1
    assert (comments[0]["author"], comments[0]["text"]) == (ana.sid, "Fridays work for me.")
    assert UUID(comments[0]["comment_id"]) and comments[0]["written_at"]

    before = await api.position()
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/proposals/{proposal_id}/accept", headers=ana.headers
    )
    assert r.status_code == 200, r.text
    view = r.json()
    # Accepted, adopted, ratified: three events.
    assert int(r.headers["accord-position"]) == before + 3 == await api.position()
    assert proposal_of(view, proposal_id)["status"] == "adopted"
    assert proposal_of(view, proposal_id)["accepted_by"] == sorted([ana.sid, ben.sid])
    assert (view["status"], view["version"], view["in_force_version"]) == ("in_force", 2, 2)
    assert view["consented"] == sorted([ana.sid, ben.sid])
    assert clause_of(view, clause["clause_id"]) == {
        **clause, "text": "Overnight dates on Fridays are fine.", "revision": 2
    }
    assert clause_of(view, new_clause) == {
        "clause_id": new_clause, "topic": "check_ins", "text": "Monthly check-in.", "revision": 1
    }
    # Closed: no more accepting, declining or commenting.
    accept = f"/api/agreements/{agreement_id}/proposals/{proposal_id}/accept"
    await rejected(api, "POST", accept, ana, 409, code="proposal_closed")
    await rejected(api, "POST", f"/api/agreements/{agreement_id}/proposals/{proposal_id}/comments",
                   ana, 409, code="proposal_closed", json={"text": "Late."})


async def test_decline_keeps_the_version_in_force(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    proposal_id, _ = await api.propose(
        ben, agreement_id, [{"kind": "remove", "clause_id": clause["clause_id"]}], "Drop it?"
    )
    r = await api.client.post(
        f"/api/agreements/{agreement_id}/proposals/{proposal_id}/decline",
        json={"reason": "I still need this boundary."},
        headers=ana.headers,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert int(r.headers["accord-position"]) == await api.position()
    assert proposal_of(view, proposal_id)["status"] == "declined"
    assert (view["status"], view["version"], view["in_force_version"]) == ("in_force", 1, 1)
    assert view["clauses"] == [clause]
    await rejected(api, "POST", f"/api/agreements/{agreement_id}/proposals/{proposal_id}/accept",
                   ana, 409, code="proposal_closed")
    problem = await rejected(api, "POST", f"/api/agreements/{agreement_id}/proposals/{new_id()}/decline",
                             ana, 400, json={"reason": ""})
    assert fields_of(problem) == ["reason"]


async def test_only_the_proposer_may_withdraw(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    proposal_id, _ = await api.propose(
        ben, agreement_id, [{"kind": "edit", "clause_id": clause["clause_id"], "text": "Softer."}]
    )
    path = f"/api/agreements/{agreement_id}/proposals/{proposal_id}/withdraw"
    await rejected(api, "POST", path, ana, 409, code="not_the_author")
    r = await api.client.post(path, headers=ben.headers)
    assert r.status_code == 200, r.text
    assert int(r.headers["accord-position"]) == await api.position()
    assert proposal_of(r.json(), proposal_id)["status"] == "withdrawn"
    assert r.json()["in_force_version"] == 1
    await rejected(api, "POST", path, ben, 409, code="proposal_closed")


async def test_a_proposal_against_an_older_version_is_out_of_date(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    first, _ = await api.propose(
        ben, agreement_id, [{"kind": "edit", "clause_id": clause["clause_id"], "text": "Fridays ok."}]
    )
    second, _ = await api.propose(
        ana, agreement_id, [{"kind": "add", "topic": "privacy", "text": "No photos online."}]
    )
    view = await api.call("POST", f"/api/agreements/{agreement_id}/proposals/{first}/accept", ana, 200)
    assert view["in_force_version"] == 2
    assert proposal_of(view, second)["status"] == "out_of_date"
    assert proposal_of(view, second)["base_version"] == 1
    await rejected(api, "POST", f"/api/agreements/{agreement_id}/proposals/{second}/accept",
                   ben, 409, code="proposal_out_of_date")
    # Proposed again against the version in force, it can be adopted.
    third, _ = await api.propose(
        ana, agreement_id, [{"kind": "add", "topic": "privacy", "text": "No photos online."}]
    )
    view = await api.call("POST", f"/api/agreements/{agreement_id}/proposals/{third}/accept", ben, 200)
    assert (view["in_force_version"], proposal_of(view, third)["base_version"]) == (3, 2)


async def test_propose_refusals(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "Draft words.")
    path = f"/api/agreements/{agreement_id}/proposals"
    edit = {"kind": "edit", "clause_id": clause["clause_id"], "text": "Other words."}
    # Nothing is in force yet: edit the draft instead.
    await rejected(api, "POST", path, ana, 409, code="not_in_force", json={"changes": [edit], "reason": "r"})
    await api.ratify(ana, ben, agreement_id)

    cases: list[tuple[dict[str, Any], int, str]] = [
        # Empty is well formed (a renegotiation may change only the end date), but changes nothing.
        ({"changes": [], "reason": "r"}, 422, "changes"),
        ({"changes": [edit], "reason": ""}, 400, "reason"),
        ({"changes": [{**edit, "kind": "rename"}], "reason": "r"}, 400, "changes[0].kind"),
        ({"changes": [{"kind": "add", "topic": "Hobbies!", "text": "x"}], "reason": "r"}, 400, "changes[0].topic"),
        ({"changes": [{"kind": "edit", "text": "x"}], "reason": "r"}, 422, "changes[0].clause_id"),
        ({"changes": [{**edit, "topic": "privacy"}], "reason": "r"}, 422, "changes[0].topic"),
        ({"changes": [{**edit, "text": "Draft words."}], "reason": "r"}, 422, "changes[0].text"),
        ({"changes": [{"kind": "remove", "clause_id": clause["clause_id"], "text": "x"}], "reason": "r"},
         422, "changes[0].text"),
        ({"changes": [edit, {**edit, "text": "Third words."}], "reason": "r"}, 422, "changes[1].clause_id"),
        ({"changes": [{"kind": "add", "topic": "other"}], "reason": "r"}, 422, "changes[0].text"),
    ]
    for payload, status, field in cases:
        problem = await rejected(api, "POST", path, ana, status, json=payload)
        assert fields_of(problem) == [field], (payload, problem)
    view = await api.view(ana, agreement_id)
    assert view["proposals"] == []


# --------------------------------------------------------------------------
# Repair notes
# --------------------------------------------------------------------------


async def test_repair_note_write_acknowledge_and_link(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    note = {
        "clause_id": clause["clause_id"],
        "what_happened": "I stayed over on a Tuesday.",
        "impact": "Ben felt his evening was taken.",
        "intentions": "I will ask first next time.",
    }
    r = await api.client.post(f"/api/agreements/{agreement_id}/repair-notes", json=note, headers=ana.headers)
    assert r.status_code == 201, r.text
    assert int(r.headers["accord-position"]) == await api.position()
    notes = r.json()["repair_notes"]
    assert len(notes) == 1
    note_id = notes[0]["note_id"]
    assert notes[0] == {
        "note_id": note_id,
        "author": ana.sid,
        **note,
        "acknowledged_by": [],
        "linked_proposals": [],
    }

    ack = f"/api/agreements/{agreement_id}/repair-notes/{note_id}/acknowledge"
    await rejected(api, "POST", ack, ana, 409, code="own_repair_note")
    r = await api.client.post(ack, headers=ben.headers)
    assert r.status_code == 200, r.text
    assert int(r.headers["accord-position"]) == await api.position()
    assert r.json()["repair_notes"][0]["acknowledged_by"] == [ben.sid]
    await rejected(api, "POST", ack, ben, 409, code="already_done")

    proposal_id, _ = await api.propose(
        ana, agreement_id,
        [{"kind": "edit", "clause_id": clause["clause_id"], "text": "Weeknight stays need a day's notice."}],
        "After what happened on Tuesday.",
    )
    link = f"/api/agreements/{agreement_id}/repair-notes/{note_id}/links"
    await rejected(api, "POST", link, ben, 409, code="not_the_author", json={"proposal_id": proposal_id})
    assert await rejected(api, "POST", link, ana, 404, json={"proposal_id": new_id()}) == NOT_FOUND
    r = await api.client.post(link, json={"proposal_id": proposal_id}, headers=ana.headers)
    assert r.status_code == 200, r.text
    assert int(r.headers["accord-position"]) == await api.position()
    assert r.json()["repair_notes"][0]["linked_proposals"] == [proposal_id]
    await rejected(api, "POST", link, ana, 409, code="already_done", json={"proposal_id": proposal_id})
    assert (await api.view(ben, agreement_id))["repair_notes"] == r.json()["repair_notes"]


async def test_repair_note_refusals(api: Api) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    path = f"/api/agreements/{agreement_id}/repair-notes"
    good = {"clause_id": clause["clause_id"], "what_happened": "a", "impact": "b", "intentions": "c"}
    problem = await rejected(api, "POST", path, ana, 400, json={**good, "impact": ""})
    assert fields_of(problem) == ["impact"]
    problem = await rejected(api, "POST", path, ana, 422, json={**good, "intentions": "  "})
    assert fields_of(problem) == ["intentions"]
    problem = await rejected(api, "POST", path, ana, 400, json={**good, "clause_id": "nope"})
    assert fields_of(problem) == ["clause_id"]
    assert await rejected(api, "POST", path, ana, 404, json={**good, "clause_id": new_id()}) == NOT_FOUND
    missing = f"/api/agreements/{agreement_id}/repair-notes/{new_id()}/acknowledge"
    assert await rejected(api, "POST", missing, ben, 404) == NOT_FOUND


# --------------------------------------------------------------------------
# Timeline, versions, diff
# --------------------------------------------------------------------------


async def test_timeline_versions_and_diff(api: Api) -> None:
    ana, ben = await api.person("ana"), await api.person("ben")
    positions: list[int] = []

    async def step(method: str, path: str, who: Person, status: int, **kwargs: Any) -> Any:
        r = await api.client.request(method, path, headers=who.headers, **kwargs)
        assert r.status_code == status, r.text
        positions.append(int(r.headers["accord-position"]))
        return r.json()

    agreement_id = (await step("POST", "/api/agreements", ana, 201, json={"title": "Us"}))["agreement_id"]
    base = f"/api/agreements/{agreement_id}"
    await step("POST", f"{base}/invitations", ana, 202, json={"handle": ben.handle})
    await step("POST", f"{base}/invitation/accept", ben, 200)
    c1, c2 = new_id(), new_id()
    await step("POST", f"{base}/clauses", ana, 201,
               json={"clause_id": c1, "topic": "boundaries", "text": "Ask before a sleepover."})
    await step("POST", f"{base}/clauses", ben, 201,
               json={"clause_id": c2, "topic": "privacy", "text": "No photos."})
    await step("PUT", f"{base}/clauses/{c1}", ben, 200,
               json={"text": "Ask a day before a sleepover.", "based_on_revision": 1})
    await step("DELETE", f"{base}/clauses/{c2}", ana, 200, params={"based_on_revision": 1})
    await step("POST", f"{base}/consents", ana, 200, json={"version": 4})
    await step("POST", f"{base}/consents", ben, 200, json={"version": 4})  # consented + ratified
    proposal_id = new_id()
    await step("POST", f"{base}/proposals", ben, 201, json={
        "proposal_id": proposal_id, "reason": "Spontaneity matters to me.",
        "changes": [{"kind": "edit", "clause_id": c1, "text": "Ask an hour before a sleepover."}],
    })
    await step("POST", f"{base}/proposals/{proposal_id}/comments", ana, 201, json={"text": "An hour is ok."})
    await step("POST", f"{base}/proposals/{proposal_id}/accept", ana, 200)  # accepted, adopted, ratified
    view = await step("POST", f"{base}/repair-notes", ana, 201, json={
        "clause_id": c1, "what_happened": "I forgot to ask.", "impact": "Ben was hurt.", "intentions": "Ask."
    })
    note_id = view["repair_notes"][0]["note_id"]
    await step("POST", f"{base}/repair-notes/{note_id}/acknowledge", ben, 200)
    await step("POST", f"{base}/repair-notes/{note_id}/links", ana, 200, json={"proposal_id": proposal_id})
    declined = new_id()
    await step("POST", f"{base}/proposals", ana, 201, json={
        "proposal_id": declined, "reason": "Simpler.", "changes": [{"kind": "remove", "clause_id": c1}]})
    await step("POST", f"{base}/proposals/{declined}/decline", ben, 200, json={"reason": "Not yet."})
    withdrawn = new_id()
    await step("POST", f"{base}/proposals", ben, 201, json={
        "proposal_id": withdrawn, "reason": "Hm.", "changes": [{"kind": "remove", "clause_id": c1}]})
    await step("POST", f"{base}/proposals/{withdrawn}/withdraw", ben, 200)

    r = await api.client.get(f"{base}/timeline", headers=ben.headers)
    assert r.status_code == 200, r.text
    entries = r.json()
    kinds = [(e["kind"], e["actor"]) for e in entries]
    A, B = ana.sid, ben.sid
    assert kinds == [
        ("drafted", A), ("invited", A), ("joined", B),
        ("clause_added", A), ("clause_added", B), ("clause_edited", B), ("clause_removed", A),
        ("consented", A), ("consented", B), ("ratified", None),
        ("proposed", B), ("commented", A), ("accepted", A), ("adopted", None), ("ratified", None),
        ("repair_note", A), ("acknowledged", B), ("repair_note_linked", A),
        ("proposed", A), ("declined", B), ("proposed", B), ("withdrawn", B),
    ]
    entry_positions = [e["position"] for e in entries]
    assert entry_positions == sorted(set(entry_positions)), "positions strictly increase"
    # Each response's Accord-Position is the position of its command's last event.
    assert set(positions) <= set(entry_positions)
    assert entry_positions[-1] == positions[-1] == await api.position()
    assert [e["version"] for e in entries][:10] == [0, 0, 0, 1, 2, 3, 4, 4, 4, 4]
    by_kind: dict[str, dict[str, Any]] = {}
    for e in entries:
        by_kind.setdefault(e["kind"], e)
    assert by_kind["proposed"]["text"] == "Spontaneity matters to me."
    assert by_kind["proposed"]["proposal_id"] == proposal_id
    assert by_kind["commented"]["text"] == "An hour is ok."
    assert by_kind["declined"]["text"] == "Not yet."
    assert by_kind["repair_note"]["note_id"] == note_id
    assert by_kind["adopted"]["version"] == 5
    assert all(e["at"] for e in entries)
    # Both parties read the same history.
    assert (await api.client.get(f"{base}/timeline", headers=ana.headers)).json() == entries

    # The agreement as it was at each version.
    clause_1 = {"clause_id": c1, "topic": "boundaries", "text": "Ask before a sleepover.", "revision": 1}
    assert await api.call("GET", f"{base}/versions/0", ana, 200) == []
    assert await api.call("GET", f"{base}/versions/1", ana, 200) == [clause_1]
    clause_2 = {"clause_id": c2, "topic": "privacy", "text": "No photos.", "revision": 1}
    assert await api.call("GET", f"{base}/versions/2", ana, 200) == [clause_1, clause_2]
    edited = {**clause_1, "text": "Ask a day before a sleepover.", "revision": 2}
    assert await api.call("GET", f"{base}/versions/3", ana, 200) == [edited, clause_2]
    assert await api.call("GET", f"{base}/versions/4", ana, 200) == [edited]
    adopted = {**clause_1, "text": "Ask an hour before a sleepover.", "revision": 3}
    assert await api.call("GET", f"{base}/versions/5", ben, 200) == [adopted]
    assert await api.call("GET", f"{base}/versions/6", ana, 404) == NOT_FOUND

    # The difference between versions, word by word.
    diff = await api.call("GET", f"{base}/diff", ana, 200, params={"from": 2, "to": 5})
    assert diff == {
        "added": [],
        "removed": [clause_2],
        "changed": [{
            "clause_id": c1,
            "topic": "boundaries",
            "old_revision": 1,
            "new_revision": 3,
            "segments": [
                ["equal", "Ask"],
                ["insert", " an hour"],
                ["equal", " before a sleepover."],
            ],
        }],
    }
    diff = await api.call("GET", f"{base}/diff", ana, 200, params={"from": 3, "to": 4})
    assert diff == {"added": [], "removed": [clause_2], "changed": []}
    diff = await api.call("GET", f"{base}/diff", ana, 200, params={"from": 0, "to": 1})
    assert diff == {"added": [clause_1], "removed": [], "changed": []}
    diff = await api.call("GET", f"{base}/diff", ana, 200, params={"from": 4, "to": 5})
    segments = diff["changed"][0]["segments"]
    assert segments == [
        ["equal", "Ask "], ["delete", "a"], ["insert", "an"], ["equal", " "],
        ["delete", "day"], ["insert", "hour"], ["equal", " before a sleepover."],
    ]
    # Read without inserts it is the old text; without deletes, the new one.
    assert "".join(t for op, t in segments if op != "insert") == "Ask a day before a sleepover."
    assert "".join(t for op, t in segments if op != "delete") == "Ask an hour before a sleepover."
    assert await api.call("GET", f"{base}/diff", ana, 404, params={"from": 0, "to": 9}) == NOT_FOUND
    problem = assert_problem(
        await api.client.get(f"{base}/diff", params={"from": -1, "to": 2}, headers=ana.headers), 400
    )
    assert len(problem["errors"]) == 1
    assert_problem(await api.client.get(f"{base}/diff", params={"to": 2}, headers=ana.headers), 400)
    assert_problem(await api.client.get(f"{base}/versions/x", headers=ana.headers), 404)


async def test_diff_validation_names_the_query_parameter(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    r = await api.client.get(
        f"/api/agreements/{agreement_id}/diff", params={"from": -1, "to": 0}, headers=ana.headers
    )
    assert fields_of(assert_problem(r, 400)) == ["from"]
    r = await api.client.get(
        f"/api/agreements/{agreement_id}/diff", params={"from": 0, "to": "x"}, headers=ana.headers
    )
    assert fields_of(assert_problem(r, 400)) == ["to"]
    r = await api.client.get(f"/api/agreements/{agreement_id}/diff", params={"to": 0}, headers=ana.headers)
    assert assert_problem(r, 400)["errors"] == [{"field": "from", "rule": "is required"}]


# --------------------------------------------------------------------------
# Every route: 401 without a token, 404 for anyone who is not a party
# --------------------------------------------------------------------------


def every_route(agreement_id: str, clause_id: str, proposal_id: str, note_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request kwargs) for every route in service/http/agreements.py except create/list."""
    a = f"/api/agreements/{agreement_id}"
    return [
        ("GET", a, {}),
        ("POST", f"{a}/invitations", {"json": {"handle": "someone_else"}}),
        ("GET", f"{a}/invitation", {}),
        ("POST", f"{a}/invitation/accept", {}),
        ("POST", f"{a}/invitation/decline", {}),
        ("POST", f"{a}/leave", {}),
        ("POST", f"{a}/clauses", {"json": {"topic": "other", "text": "Intruding."}}),
        ("PUT", f"{a}/clauses/{clause_id}", {"json": {"text": "Intruding.", "based_on_revision": 1}}),
        ("DELETE", f"{a}/clauses/{clause_id}", {"params": {"based_on_revision": 1}}),
        ("POST", f"{a}/consents", {"json": {"version": 1}}),
        ("DELETE", f"{a}/consents/mine", {}),
        ("POST", f"{a}/proposals", {"json": {"changes": [{"kind": "remove", "clause_id": clause_id}], "reason": "x"}}),
        ("POST", f"{a}/proposals/{proposal_id}/comments", {"json": {"text": "Intruding."}}),
        ("POST", f"{a}/proposals/{proposal_id}/accept", {}),
        ("POST", f"{a}/proposals/{proposal_id}/decline", {"json": {"reason": "Intruding."}}),
        ("POST", f"{a}/proposals/{proposal_id}/withdraw", {}),
        ("POST", f"{a}/repair-notes", {"json": {"clause_id": clause_id, "what_happened": "a", "impact": "b", "intentions": "c"}}),
        ("POST", f"{a}/repair-notes/{note_id}/acknowledge", {}),
        ("POST", f"{a}/repair-notes/{note_id}/links", {"json": {"proposal_id": proposal_id}}),
        ("GET", f"{a}/timeline", {}),
        ("GET", f"{a}/versions/1", {}),
        ("GET", f"{a}/diff", {"params": {"from": 0, "to": 1}}),
    ]


async def full_agreement(api: Api) -> tuple[Person, Person, dict[str, str]]:
    """An in-force agreement with a clause, an open proposal and a repair note."""
    ana, ben, agreement_id, clause = await in_force_pair(api)
    proposal_id, _ = await api.propose(
        ben, agreement_id, [{"kind": "edit", "clause_id": clause["clause_id"], "text": "Changed."}]
    )
    view = await api.call("POST", f"/api/agreements/{agreement_id}/repair-notes", ana, 201, json={
        "clause_id": clause["clause_id"], "what_happened": "a", "impact": "b", "intentions": "c"})
    ids = {
        "agreement_id": agreement_id,
        "clause_id": clause["clause_id"],
        "proposal_id": proposal_id,
        "note_id": view["repair_notes"][0]["note_id"],
    }
    return ana, ben, ids


async def test_every_route_is_401_without_a_token(api: Api) -> None:
    _, _, ids = await full_agreement(api)
    routes = [("POST", "/api/agreements", {"json": {"title": "x"}}), ("GET", "/api/agreements", {}),
              *every_route(**ids)]
    assert len(routes) == 24
    for method, path, kwargs in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r = await api.client.request(method, path, headers=headers, **kwargs)
            assert_problem(r, 401, code="unauthorized")
            assert r.headers["www-authenticate"] == 'Bearer realm="accord"', (method, path)


async def test_every_route_is_404_for_a_stranger_exactly_as_for_nothing(api: Api) -> None:
    ana, _, ids = await full_agreement(api)
    stranger = await api.person("eve")
    before = await api.position()
    real = every_route(**ids)
    fake = every_route(**{**ids, "agreement_id": new_id()})
    for (method, path, kwargs), (_, fake_path, fake_kwargs) in zip(real, fake, strict=True):
        r = await api.client.request(method, path, headers=stranger.headers, **kwargs)
        f = await api.client.request(method, fake_path, headers=stranger.headers, **fake_kwargs)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json() == NOT_FOUND, (method, path)
        # The same answer as for an agreement that does not exist, byte for byte.
        assert (f.status_code, f.content) == (r.status_code, r.content), (method, path)
        assert comparable_headers(f) == comparable_headers(r), (method, path)
        # A party asking about an agreement that does not exist gets it too.
        p = await api.client.request(method, fake_path, headers=ana.headers, **fake_kwargs)
        assert (p.status_code, p.content) == (404, r.content), (method, fake_path, p.text)
    assert await api.position() == before
    assert await api.call("GET", "/api/agreements", stranger, 200) == []


async def test_an_invitee_sees_only_the_invitation(api: Api) -> None:
    ana, _, ids = await full_agreement(api)
    cleo = await api.person("cleo")
    await api.invite(ana, ids["agreement_id"], cleo.handle)
    before = await api.position()
    party_only = [
        route for route in every_route(**ids)[1:]
        if not route[1].endswith(("/invitation", "/invitation/accept", "/invitation/decline"))
    ]
    for method, path, kwargs in party_only:
        r = await api.client.request(method, path, headers=cleo.headers, **kwargs)
        assert (r.status_code, r.json()) == (404, NOT_FOUND), (method, path, r.text)
    assert await api.position() == before
    invitation = await api.call("GET", f"/api/agreements/{ids['agreement_id']}/invitation", cleo, 200)
    assert invitation["invited_by"] == {"key": str(ana.id), "name": ana.name, "person_id": str(ana.id)}
    assert {k: v for k, v in invitation.items() if k not in ("invited_by", "parties")} == {
        "agreement_id": ids["agreement_id"],
        "title": "Our agreement",
        "status": "in_force",
    }
    # Cleo knows neither party but Ana, who introduced herself by inviting her.
    assert [p["name"] for p in invitation["parties"] if p["person_id"] is not None] == [ana.name]
    assert all(p["name"].startswith("Someone (") for p in invitation["parties"] if p["person_id"] is None)
    # The agreement itself: the title, nothing of its content.
    assert await api.call("GET", f"/api/agreements/{ids['agreement_id']}", cleo, 200) == {
        "agreement_id": ids["agreement_id"],
        "title": "Our agreement",
        "relation": "invited",
    }


# --------------------------------------------------------------------------
# Idempotency-Key
# --------------------------------------------------------------------------


async def test_a_repeated_key_replays_the_first_response_and_appends_nothing(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    path = f"/api/agreements/{agreement_id}/clauses"
    payload = {"topic": "privacy", "text": "No names in group chats."}
    first = await api.client.post(path, json=payload, headers=ana.with_key("add-privacy-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    position = await api.position()
    assert int(first.headers["accord-position"]) == position

    # Meanwhile the agreement moves on.
    await api.add_clause(ben, agreement_id, "Something else.", "other")
    position = await api.position()

    again = await api.client.post(path, json=payload, headers=ana.with_key("add-privacy-1"))
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["accord-position"] == first.headers["accord-position"]
    assert again.headers["content-type"] == "application/json"
    assert await api.position() == position
    privacy = [c for c in (await api.view(ana, agreement_id))["clauses"] if c["topic"] == "privacy"]
    assert len(privacy) == 1


@pytest.mark.parametrize("route", ["create", "invite", "consent", "accept", "propose", "note"])
async def test_every_kind_of_post_is_idempotent(api: Api, route: str) -> None:
    ana, ben, agreement_id, clause = await in_force_pair(api)
    cleo = await api.person("cleo")
    base = f"/api/agreements/{agreement_id}"
    who = ana
    if route == "create":
        path, payload, status = "/api/agreements", {"title": "Once"}, 201
    elif route == "invite":
        path, payload, status = f"{base}/invitations", {"handle": cleo.handle}, 202
    elif route == "consent":
        await api.add_clause(ana, (a2 := (await api.create(ana))["agreement_id"]), "Solo.")
        path, payload, status = f"/api/agreements/{a2}/consents", {"version": 1}, 200
    elif route == "accept":
        proposal_id, _ = await api.propose(ben, agreement_id, [{"kind": "remove", "clause_id": clause["clause_id"]}])
        path, payload, status = f"{base}/proposals/{proposal_id}/accept", None, 200
    elif route == "propose":
        path, payload, status = f"{base}/proposals", {
            "changes": [{"kind": "add", "topic": "other", "text": "Added once."}], "reason": "r"}, 201
    else:
        path, payload, status = f"{base}/repair-notes", {
            "clause_id": clause["clause_id"], "what_happened": "a", "impact": "b", "intentions": "c"}, 201
    kwargs: dict[str, Any] = {} if payload is None else {"json": payload}
    first = await api.client.post(path, headers=who.with_key(f"k-{route}"), **kwargs)
    assert first.status_code == status, first.text
    position = await api.position()
    again = await api.client.post(path, headers=who.with_key(f"k-{route}"), **kwargs)
    assert again.status_code == status, again.text
    assert (again.content, again.headers["idempotent-replayed"]) == (first.content, "true")
    assert again.headers["accord-position"] == first.headers["accord-position"]
    assert await api.position() == position


async def test_a_key_reused_for_a_different_request_is_422(api: Api) -> None:
    ana = await api.person("ana")
    agreement_id = (await api.create(ana))["agreement_id"]
    path = f"/api/agreements/{agreement_id}/clauses"
    first = await api.client.post(path, json={"topic": "other", "text": "One."}, headers=ana.with_key("k"))
    assert first.status_code == 201
    problem = await rejected(
        api, "POST", path, ana, 422, code="idempotency_key_reused",
        json={"topic": "other", "text": "Two."}, headers={"Idempotency-Key": "k"},
    )
    assert fields_of(problem) == ["Idempotency-Key"]
    # Also on another route.
    await rejected(
        api, "POST", "/api/agreements", ana, 422, code="idempotency_key_reused",
        json={"title": "Other"}, headers={"Idempotency-Key": "k"},
    )
    assert [c["text"] for c in (await api.view(ana, agreement_id))["clauses"]] == ["One."]


async def test_keys_belong_to_their_caller(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    path = f"/api/agreements/{agreement_id}/clauses"
    a = await api.client.post(path, json={"topic": "other", "text": "Same."}, headers=ana.with_key("shared"))
    b = await api.client.post(path, json={"topic": "other", "text": "Same."}, headers=ben.with_key("shared"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert "idempotent-replayed" not in b.headers
    assert int(b.headers["accord-position"]) == int(a.headers["accord-position"]) + 1
    assert [c["text"] for c in (await api.view(ana, agreement_id))["clauses"]] == ["Same.", "Same."]
    # Ben using the key Ana used with a different body is not a reuse either.
    c = await api.client.post(path, json={"topic": "other", "text": "Else."}, headers=ben.with_key("k-ana"))
    d = await api.client.post(path, json={"topic": "other", "text": "Other."}, headers=ana.with_key("k-ana"))
    assert (c.status_code, d.status_code) == (201, 201)


async def test_a_refused_command_does_not_spend_its_key(api: Api) -> None:
    ana, ben, agreement_id = await api.pair()
    await api.add_clause(ana, agreement_id, "Words.")
    path = f"/api/agreements/{agreement_id}/consents"
    keyed = {"Idempotency-Key": "consent"}
    await rejected(api, "POST", path, ana, 409, code="stale_version", json={"version": 0}, headers=keyed)
    # Refused again, not replayed: nothing was recorded for the key.
    r = await api.client.post(path, json={"version": 0}, headers=ana.with_key("consent"))
    assert_problem(r, 409, code="stale_version")
    assert "idempotent-replayed" not in r.headers
    # The corrected request may use the same key, and then it is recorded.
    first = await api.client.post(path, json={"version": 1}, headers=ana.with_key("consent"))
    assert first.status_code == 200, first.text
    assert first.json()["consented"] == [ana.sid]
    again = await api.client.post(path, json={"version": 1}, headers=ana.with_key("consent"))
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "k" * 201, "tab\there"])
async def test_an_invalid_key_is_400(api: Api, key: str) -> None:
    ana = await api.person("ana")
    problem = await rejected(api, "POST", "/api/agreements", ana, 400, json={"title": "x"},
                             headers={"Idempotency-Key": key})
    assert fields_of(problem) == ["Idempotency-Key"]
