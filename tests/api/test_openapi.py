"""The OpenAPI document and the routes agree: success statuses, error statuses, HEAD.

- Every operation in `/schema/openapi.json` documents exactly one success
  status, and a valid request to it (one scenario per operation, below; an
  operation without one fails the test) answers exactly that status.
- The statuses the README promises are documented: 413, 429 and 503 on every
  command, 503 on every read; and they really are answered.
- HEAD answers wherever GET does, with GET's status and headers and no body,
  for every GET route of the app (API, pages, static files, the schema); and
  `Allow` lists every method of a path.
- What the live schemathesis run (tests/e2e/test_schemathesis.py) found stays
  fixed: closed bodies, item limits, the Idempotency-Key rule, NUL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tests import checkins, mailbox, plans
from tests.api.conftest import PASSWORD, Api, Person, assert_problem, unique_handle
from tests.authenticator import SoftAuthenticator

SCHEMA = "/schema/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")

Scenario = Callable[[Api], Awaitable[httpx.Response]]
#: (METHOD, path as the document writes it) -> a valid request to that operation, on fresh people and agreements.
SCENARIOS: dict[tuple[str, str], Scenario] = {}


def scenario(method: str, path: str) -> Callable[[Scenario], Scenario]:
    def register(run: Scenario) -> Scenario:
        SCENARIOS[method, path] = run
        return run

    return register


async def send(api: Api, method: str, path: str, who: Person | None = None, **kwargs: Any) -> httpx.Response:
    return await api.client.request(method, path, headers=who.headers if who else {}, **kwargs)


async def operations(client: AsyncTestClient[Litestar]) -> dict[tuple[str, str], dict[str, Any]]:
    r = await client.get(SCHEMA)
    assert r.status_code == 200, r.text
    return {
        (method.upper(), path): operation
        for path, item in r.json()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


# --------------------------------------------------------------------------
# Worlds the scenarios start from
# --------------------------------------------------------------------------

A = "/api/agreements"


async def drafting(api: Api) -> tuple[Person, Person, str, dict[str, Any]]:
    """Two parties of a draft with one clause: (ana, ben, agreement_id, clause)."""
    ana, ben, agreement_id = await api.pair()
    return ana, ben, agreement_id, await api.add_clause(ana, agreement_id, "We talk on Sundays.")


async def in_force(api: Api) -> tuple[Person, Person, str, dict[str, Any]]:
    """The same, ratified at its version 1."""
    ana, ben, agreement_id, clause = await drafting(api)
    await api.ratify(ana, ben, agreement_id)
    return ana, ben, agreement_id, clause


async def proposal(api: Api) -> tuple[Person, Person, str, str]:
    """An open renegotiation by ana: (ana, ben, agreement_id, proposal_id)."""
    ana, ben, agreement_id, clause = await in_force(api)
    change = {"kind": "edit", "clause_id": clause["clause_id"], "text": "We talk on Mondays."}
    proposal_id, _ = await api.propose(ana, agreement_id, [change])
    return ana, ben, agreement_id, proposal_id


async def repair_note(api: Api) -> tuple[Person, Person, str, str]:
    """A repair note by ana: (ana, ben, agreement_id, note_id)."""
    ana, ben, agreement_id, clause = await in_force(api)
    body = {"clause_id": clause["clause_id"], "what_happened": "late", "impact": "hurt", "intentions": "on time"}
    view = await api.call("POST", f"{A}/{agreement_id}/repair-notes", ana, 201, json=body)
    return ana, ben, agreement_id, view["repair_notes"][0]["note_id"]


async def grant(api: Api) -> tuple[Person, Person, str, str]:
    """A grant proposed by ana to a metamour, not yet consented to by ben: (ana, ben, agreement_id, grant_id)."""
    ana, ben, agreement_id, _ = await drafting(api)
    sam = await api.person("sam")
    body = {"audience": sam.handle, "scopes": ["clauses:boundaries"]}
    found = await api.call("POST", f"{A}/{agreement_id}/grants", ana, 201, json=body)
    return ana, ben, agreement_id, found["grant_id"]


# --------------------------------------------------------------------------
# One valid request per operation
# --------------------------------------------------------------------------


@scenario("GET", "/health")
async def _health(api: Api) -> httpx.Response:
    return await send(api, "GET", "/health")


@scenario("GET", "/health/ready")
async def _ready(api: Api) -> httpx.Response:
    return await send(api, "GET", "/health/ready")


@scenario("POST", "/api/accounts")
async def _register(api: Api) -> httpx.Response:
    body = {"handle": unique_handle(), "display_name": "New", "password": PASSWORD}
    return await send(api, "POST", "/api/accounts", json=body)


@scenario("POST", "/api/sessions")
async def _sign_in(api: Api) -> httpx.Response:
    who = await api.person()
    return await send(api, "POST", "/api/sessions", json={"handle": who.handle, "password": PASSWORD})


@scenario("DELETE", "/api/sessions/current")
async def _sign_out(api: Api) -> httpx.Response:
    return await send(api, "DELETE", "/api/sessions/current", await api.person())


@scenario("GET", "/api/me")
async def _me(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/me", await api.person())


@scenario("DELETE", "/api/me")
async def _delete_me(api: Api) -> httpx.Response:
    from tests.api.conftest import PASSWORD

    return await send(api, "DELETE", "/api/me", await api.person(), json={"password": PASSWORD})


for _export in ("/api/me/export", "/api/me/export.md", "/api/me/export.zip"):

    @scenario("GET", _export)
    async def _exported(api: Api, path: str = _export) -> httpx.Response:
        ana, *_ = await in_force(api)
        return await send(api, "GET", path, ana)


@scenario("POST", A)
async def _create(api: Api) -> httpx.Response:
    return await send(api, "POST", A, await api.person(), json={"title": "Ours"})


@scenario("GET", A)
async def _mine(api: Api) -> httpx.Response:
    ana, _, _ = await api.pair()
    return await send(api, "GET", A, ana)


@scenario("GET", A + "/{agreement_id}")
async def _view(api: Api) -> httpx.Response:
    ana, _, agreement_id = await api.pair()
    return await send(api, "GET", f"{A}/{agreement_id}", ana)


@scenario("GET", "/api/templates")
async def _templates(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/templates", await api.person())


@scenario("GET", "/api/templates/{template_id}")
async def _template(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/templates/one_page_contract", await api.person())


@scenario("POST", A + "/{agreement_id}/invitations")
async def _invite(api: Api) -> httpx.Response:
    ana, ben = await api.person(), await api.person()
    agreement_id = (await api.create(ana))["agreement_id"]
    return await send(api, "POST", f"{A}/{agreement_id}/invitations", ana, json={"handle": ben.handle})


async def _invited(api: Api) -> tuple[Person, str]:
    ana, ben = await api.person(), await api.person()
    agreement_id = (await api.create(ana))["agreement_id"]
    await api.invite(ana, agreement_id, ben.handle)
    return ben, agreement_id


@scenario("GET", A + "/{agreement_id}/invitation")
async def _invitation(api: Api) -> httpx.Response:
    ben, agreement_id = await _invited(api)
    return await send(api, "GET", f"{A}/{agreement_id}/invitation", ben)


@scenario("POST", A + "/{agreement_id}/invitation/accept")
async def _accept_invitation(api: Api) -> httpx.Response:
    ben, agreement_id = await _invited(api)
    return await send(api, "POST", f"{A}/{agreement_id}/invitation/accept", ben)


@scenario("POST", A + "/{agreement_id}/invitation/decline")
async def _decline_invitation(api: Api) -> httpx.Response:
    ben, agreement_id = await _invited(api)
    return await send(api, "POST", f"{A}/{agreement_id}/invitation/decline", ben)


@scenario("POST", A + "/{agreement_id}/leave")
async def _leave(api: Api) -> httpx.Response:
    _, ben, agreement_id = await api.pair()
    return await send(api, "POST", f"{A}/{agreement_id}/leave", ben)


@scenario("POST", A + "/{agreement_id}/discard")
async def _ask_to_discard(api: Api) -> httpx.Response:
    _, ben, agreement_id = await api.pair()
    return await send(api, "POST", f"{A}/{agreement_id}/discard", ben)


@scenario("DELETE", A + "/{agreement_id}/discard")
async def _withdraw_discard(api: Api) -> httpx.Response:
    _, ben, agreement_id = await api.pair()
    await send(api, "POST", f"{A}/{agreement_id}/discard", ben)
    return await send(api, "DELETE", f"{A}/{agreement_id}/discard", ben)


@scenario("POST", A + "/{agreement_id}/clauses")
async def _add_clause(api: Api) -> httpx.Response:
    ana, _, agreement_id = await api.pair()
    body = {"topic": "boundaries", "text": "Ask first."}
    return await send(api, "POST", f"{A}/{agreement_id}/clauses", ana, json=body)


@scenario("PUT", A + "/{agreement_id}/clauses/{clause_id}")
async def _edit_clause(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await drafting(api)
    body = {"text": "Ask first, always.", "based_on_revision": clause["revision"]}
    return await send(api, "PUT", f"{A}/{agreement_id}/clauses/{clause['clause_id']}", ana, json=body)


@scenario("DELETE", A + "/{agreement_id}/clauses/{clause_id}")
async def _remove_clause(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await drafting(api)
    path = f"{A}/{agreement_id}/clauses/{clause['clause_id']}?based_on_revision={clause['revision']}"
    return await send(api, "DELETE", path, ana)


@scenario("POST", A + "/{agreement_id}/consents")
async def _consent(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await drafting(api)
    version = (await api.view(ana, agreement_id))["version"]
    return await send(api, "POST", f"{A}/{agreement_id}/consents", ana, json={"version": version})


@scenario("DELETE", A + "/{agreement_id}/consents/mine")
async def _withdraw_consent(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await drafting(api)
    await api.consent(ana, agreement_id, (await api.view(ana, agreement_id))["version"])
    return await send(api, "DELETE", f"{A}/{agreement_id}/consents/mine", ana)


@scenario("POST", A + "/{agreement_id}/proposals")
async def _propose(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await in_force(api)
    body = {"changes": [{"kind": "remove", "clause_id": clause["clause_id"]}], "reason": "done with it"}
    return await send(api, "POST", f"{A}/{agreement_id}/proposals", ana, json=body)


@scenario("POST", A + "/{agreement_id}/proposals/{proposal_id}/comments")
async def _comment(api: Api) -> httpx.Response:
    _, ben, agreement_id, proposal_id = await proposal(api)
    return await send(api, "POST", f"{A}/{agreement_id}/proposals/{proposal_id}/comments", ben, json={"text": "hm"})


@scenario("POST", A + "/{agreement_id}/proposals/{proposal_id}/accept")
async def _accept(api: Api) -> httpx.Response:
    _, ben, agreement_id, proposal_id = await proposal(api)
    return await send(api, "POST", f"{A}/{agreement_id}/proposals/{proposal_id}/accept", ben)


@scenario("POST", A + "/{agreement_id}/proposals/{proposal_id}/decline")
async def _decline(api: Api) -> httpx.Response:
    _, ben, agreement_id, proposal_id = await proposal(api)
    path = f"{A}/{agreement_id}/proposals/{proposal_id}/decline"
    return await send(api, "POST", path, ben, json={"reason": "not yet"})


@scenario("POST", A + "/{agreement_id}/proposals/{proposal_id}/withdraw")
async def _withdraw(api: Api) -> httpx.Response:
    ana, _, agreement_id, proposal_id = await proposal(api)
    return await send(api, "POST", f"{A}/{agreement_id}/proposals/{proposal_id}/withdraw", ana)


@scenario("POST", A + "/{agreement_id}/repair-notes")
async def _write_repair_note(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await in_force(api)
    body = {"clause_id": clause["clause_id"], "what_happened": "late", "impact": "hurt", "intentions": "on time"}
    return await send(api, "POST", f"{A}/{agreement_id}/repair-notes", ana, json=body)


@scenario("POST", A + "/{agreement_id}/repair-notes/{note_id}/acknowledge")
async def _acknowledge(api: Api) -> httpx.Response:
    _, ben, agreement_id, note_id = await repair_note(api)
    return await send(api, "POST", f"{A}/{agreement_id}/repair-notes/{note_id}/acknowledge", ben)


@scenario("POST", A + "/{agreement_id}/repair-notes/{note_id}/links")
async def _link_repair_note(api: Api) -> httpx.Response:
    ana, _, agreement_id, note_id = await repair_note(api)
    view = await api.view(ana, agreement_id)
    change = {"kind": "edit", "clause_id": view["clauses"][0]["clause_id"], "text": "Better."}
    proposal_id, _ = await api.propose(ana, agreement_id, [change])
    path = f"{A}/{agreement_id}/repair-notes/{note_id}/links"
    return await send(api, "POST", path, ana, json={"proposal_id": proposal_id})


@scenario("PUT", A + "/{agreement_id}/clauses/{clause_id}/revisit")
async def _set_revisit_date(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await drafting(api)
    body = {"revisit_on": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()}
    return await send(api, "PUT", f"{A}/{agreement_id}/clauses/{clause['clause_id']}/revisit", ana, json=body)


@scenario("PUT", A + "/{agreement_id}/end-date")
async def _set_end_date(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await drafting(api)
    body = {"until": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()}
    return await send(api, "PUT", f"{A}/{agreement_id}/end-date", ana, json=body)


@scenario("POST", A + "/{agreement_id}/clauses/{clause_id}/reaffirm")
async def _reaffirm(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause_id = await api.due_for_review()
    return await send(api, "POST", f"{A}/{agreement_id}/clauses/{clause_id}/reaffirm", ana, json={"revision": 1})


@scenario("GET", A + "/{agreement_id}/timeline")
async def _timeline(api: Api) -> httpx.Response:
    ana, _, agreement_id = await api.pair()
    return await send(api, "GET", f"{A}/{agreement_id}/timeline", ana)


@scenario("GET", A + "/{agreement_id}/versions/{version}")
async def _version(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await in_force(api)
    return await send(api, "GET", f"{A}/{agreement_id}/versions/1", ana)


@scenario("GET", A + "/{agreement_id}/diff")
async def _diff(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await in_force(api)
    return await send(api, "GET", f"{A}/{agreement_id}/diff?from=0&to=1", ana)


@scenario("GET", "/api/network")
async def _network(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/network", await api.person())


@scenario("POST", "/api/links")
async def _propose_link(api: Api) -> httpx.Response:
    ana, ben = await api.person(), await api.person()
    return await send(api, "POST", "/api/links", ana, json={"handle": ben.handle})


async def _link_proposed(api: Api) -> tuple[Person, Person, str]:
    ana, ben = await api.person(), await api.person()
    return ana, ben, await api.propose_link(ana, ben)


@scenario("POST", "/api/links/{link_id}/confirm")
async def _confirm_link(api: Api) -> httpx.Response:
    _, ben, link_id = await _link_proposed(api)
    return await send(api, "POST", f"/api/links/{link_id}/confirm", ben)


@scenario("POST", "/api/links/{link_id}/decline")
async def _decline_link(api: Api) -> httpx.Response:
    _, ben, link_id = await _link_proposed(api)
    return await send(api, "POST", f"/api/links/{link_id}/decline", ben)


@scenario("POST", "/api/links/{link_id}/withdraw")
async def _withdraw_link(api: Api) -> httpx.Response:
    ana, _, link_id = await _link_proposed(api)
    return await send(api, "POST", f"/api/links/{link_id}/withdraw", ana)


@scenario("POST", "/api/links/{link_id}/end")
async def _end_link(api: Api) -> httpx.Response:
    ana, ben = await api.person(), await api.person()
    link_id = await api.link(ana, ben)
    return await send(api, "POST", f"/api/links/{link_id}/end", ana)


@scenario("PUT", "/api/disclosures/{audience_id}")
async def _disclose(api: Api) -> httpx.Response:
    ana, ben = await api.person(), await api.person()
    return await send(api, "PUT", f"/api/disclosures/{ben.id}", ana, json={"disclosed": True})


@scenario("GET", A + "/{agreement_id}/grants")
async def _grants(api: Api) -> httpx.Response:
    ana, _, agreement_id, _ = await grant(api)
    return await send(api, "GET", f"{A}/{agreement_id}/grants", ana)


@scenario("POST", A + "/{agreement_id}/grants")
async def _propose_grant(api: Api) -> httpx.Response:
    ana, _, agreement_id = await api.pair()
    sam = await api.person("sam")
    body = {"audience": sam.handle, "scopes": ["clauses:boundaries"]}
    return await send(api, "POST", f"{A}/{agreement_id}/grants", ana, json=body)


@scenario("POST", A + "/{agreement_id}/grants/{grant_id}/consent")
async def _consent_to_grant(api: Api) -> httpx.Response:
    _, ben, agreement_id, grant_id = await grant(api)
    return await send(api, "POST", f"{A}/{agreement_id}/grants/{grant_id}/consent", ben)


@scenario("POST", A + "/{agreement_id}/grants/{grant_id}/revoke")
async def _revoke_grant(api: Api) -> httpx.Response:
    _, ben, agreement_id, grant_id = await grant(api)
    return await send(api, "POST", f"{A}/{agreement_id}/grants/{grant_id}/revoke", ben)


# Check-ins

CI = "/api/check-ins"


def _cadence(**more: Any) -> dict[str, Any]:
    return checkins.weekly(**more)


async def check_in(api: Api) -> tuple[Person, Person, str]:
    """A weekly check-in between two partners: (ana, ben, check_in_id); occurrence 0 is open."""
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    view = await api.call("POST", CI, ana, 201, json=_cadence(partner_id=ben.sid))
    return ana, ben, view["check_in_id"]


async def closed_check_in(api: Api) -> tuple[Person, Person, str, str, str, str]:
    """A check-in among an agreement's parties (in force), occurrence 0 closed with one action point:
    (ana, ben, check_in_id, action_point_id, agreement_id, clause_id)."""
    ana, ben, agreement_id, clause = await in_force(api)
    view = await api.call("POST", CI, ana, 201, json=_cadence(agreement_id=agreement_id))
    body = {"plan": "Walks", "action_points": ["Mondays instead"]}
    view = await api.call("POST", f"{CI}/{view['check_in_id']}/occurrences/0/close", ana, 200, json=body)
    point = view["occurrences"][-1]["action_points"][0]["action_point_id"]
    return ana, ben, view["check_in_id"], point, agreement_id, clause["clause_id"]


@scenario("POST", CI)
async def _start_check_in(api: Api) -> httpx.Response:
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    return await send(api, "POST", CI, ana, json=_cadence(partner_id=ben.sid))


@scenario("GET", CI)
async def _my_check_ins(api: Api) -> httpx.Response:
    ana, _, _ = await check_in(api)
    return await send(api, "GET", CI, ana)


@scenario("GET", CI + "/{check_in_id}")
async def _view_check_in(api: Api) -> httpx.Response:
    _, ben, check_in_id = await check_in(api)
    return await send(api, "GET", f"{CI}/{check_in_id}", ben)


@scenario("PUT", CI + "/{check_in_id}/prompts")
async def _check_in_prompts(api: Api) -> httpx.Response:
    _, ben, check_in_id = await check_in(api)
    return await send(api, "PUT", f"{CI}/{check_in_id}/prompts", ben, json={"prompts": ["How are we?"]})


for _verb in ("pause", "end"):

    @scenario("POST", CI + "/{check_in_id}/" + _verb)
    async def _check_in_status(api: Api, verb: str = _verb) -> httpx.Response:
        _, ben, check_in_id = await check_in(api)
        return await send(api, "POST", f"{CI}/{check_in_id}/{verb}", ben)


@scenario("POST", CI + "/{check_in_id}/resume")
async def _resume_check_in(api: Api) -> httpx.Response:
    ana, ben, check_in_id = await check_in(api)
    await api.call("POST", f"{CI}/{check_in_id}/pause", ana, 200)
    return await send(api, "POST", f"{CI}/{check_in_id}/resume", ben)


@scenario("PUT", CI + "/{check_in_id}/occurrences/{index}/preparation")
async def _prepare(api: Api) -> httpx.Response:
    ana, _, check_in_id = await check_in(api)
    body = {"answers": ["a walk", "", "", "", ""]}
    return await send(api, "PUT", f"{CI}/{check_in_id}/occurrences/0/preparation", ana, json=body)


@scenario("POST", CI + "/{check_in_id}/occurrences/{index}/share")
async def _share(api: Api) -> httpx.Response:
    ana, _, check_in_id = await check_in(api)
    body = {"answers": ["a walk", "", "", "", ""]}
    await api.call("PUT", f"{CI}/{check_in_id}/occurrences/0/preparation", ana, 200, json=body)
    return await send(api, "POST", f"{CI}/{check_in_id}/occurrences/0/share", ana)


@scenario("POST", CI + "/{check_in_id}/occurrences/{index}/close")
async def _close(api: Api) -> httpx.Response:
    ana, _, check_in_id = await check_in(api)
    body = {"plan": "Walks on Sunday", "action_points": ["Ask about Friday"]}
    return await send(api, "POST", f"{CI}/{check_in_id}/occurrences/0/close", ana, json=body)


@scenario("POST", CI + "/{check_in_id}/occurrences/{index}/move")
async def _move(api: Api) -> httpx.Response:
    ana, _, check_in_id = await check_in(api)
    body = {"to": checkins.LATER, "reason": "travel"}
    return await send(api, "POST", f"{CI}/{check_in_id}/occurrences/0/move", ana, json=body)


@scenario("POST", CI + "/{check_in_id}/occurrences/{index}/skip")
async def _skip(api: Api) -> httpx.Response:
    ana, _, check_in_id = await check_in(api)
    return await send(api, "POST", f"{CI}/{check_in_id}/occurrences/0/skip", ana, json={"reason": "ill"})


@scenario("POST", CI + "/{check_in_id}/action-points/{action_point_id}/proposal")
async def _action_point_proposal(api: Api) -> httpx.Response:
    _, ben, check_in_id, point, agreement_id, clause_id = await closed_check_in(api)
    body = {"agreement_id": agreement_id, "changes": [{"kind": "edit", "clause_id": clause_id, "text": "Mondays."}]}
    return await send(api, "POST", f"{CI}/{check_in_id}/action-points/{point}/proposal", ben, json=body)


@scenario("GET", A + "/{agreement_id}/clauses/{clause_id}/audience")
async def _audience(api: Api) -> httpx.Response:
    ana, _, agreement_id, clause = await in_force(api)
    return await send(api, "GET", f"{A}/{agreement_id}/clauses/{clause['clause_id']}/audience", ana)


@scenario("GET", A + "/{agreement_id}/grants/{grant_id}/preview")
async def _preview_grant(api: Api) -> httpx.Response:
    ana, _, agreement_id, grant_id = await grant(api)
    return await send(api, "GET", f"{A}/{agreement_id}/grants/{grant_id}/preview", ana)


for _printed in ("export.md", "export.pdf"):

    @scenario("GET", A + "/{agreement_id}/" + _printed)
    async def _export_agreement(api: Api, route: str = _printed) -> httpx.Response:
        ana, _, agreement_id, _ = await in_force(api)
        return await send(api, "GET", f"{A}/{agreement_id}/{route}?version=1", ana)


# Account security: the caller's own sessions, password and passkeys (tests/api/test_account_security.py)

ORIGIN = "http://testserver.local"


async def with_passkey(api: Api) -> tuple[Person, SoftAuthenticator, str]:
    """Someone with a registered passkey: (them, their authenticator, the passkey's id)."""
    me, key = await api.person(), SoftAuthenticator(ORIGIN)
    ceremony = (await send(api, "POST", "/api/me/passkeys/challenges", me)).json()
    body = {"challenge_id": ceremony["challenge_id"], "credential": key.create(ceremony["options"])}
    r = await send(api, "POST", "/api/me/passkeys", me, json=body)
    return me, key, r.json()["passkey_id"]


@scenario("GET", "/api/me/sessions")
async def _sessions(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/me/sessions", await api.person())


@scenario("DELETE", "/api/me/sessions/{session_id}")
async def _end_session(api: Api) -> httpx.Response:
    me = await api.person()
    [session] = (await send(api, "GET", "/api/me/sessions", me)).json()
    return await send(api, "DELETE", f"/api/me/sessions/{session['session_id']}", me)


@scenario("DELETE", "/api/me/sessions")
async def _sign_out_everywhere(api: Api) -> httpx.Response:
    return await send(api, "DELETE", "/api/me/sessions", await api.person())


@scenario("PUT", "/api/me/password")
async def _change_password(api: Api) -> httpx.Response:
    body = {"current_password": PASSWORD, "new_password": "another long passphrase"}
    return await send(api, "PUT", "/api/me/password", await api.person(), json=body)


@scenario("GET", "/api/me/passkeys")
async def _passkeys(api: Api) -> httpx.Response:
    me, _, _ = await with_passkey(api)
    return await send(api, "GET", "/api/me/passkeys", me)


@scenario("POST", "/api/me/passkeys/challenges")
async def _passkey_challenge(api: Api) -> httpx.Response:
    return await send(api, "POST", "/api/me/passkeys/challenges", await api.person())


@scenario("POST", "/api/me/passkeys")
async def _register_passkey(api: Api) -> httpx.Response:
    me, key = await api.person(), SoftAuthenticator(ORIGIN)
    ceremony = (await send(api, "POST", "/api/me/passkeys/challenges", me)).json()
    body = {"challenge_id": ceremony["challenge_id"], "credential": key.create(ceremony["options"])}
    return await send(api, "POST", "/api/me/passkeys", me, json=body)


@scenario("DELETE", "/api/me/passkeys/{passkey_id}")
async def _remove_passkey(api: Api) -> httpx.Response:
    me, _, passkey_id = await with_passkey(api)
    return await send(api, "DELETE", f"/api/me/passkeys/{passkey_id}", me)


@scenario("GET", "/api/me/second-factor")
async def _second_factor_setting(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/me/second-factor", await api.person())


@scenario("PUT", "/api/me/second-factor")
async def _require_passkey(api: Api) -> httpx.Response:
    me, _, _ = await with_passkey(api)
    return await send(api, "PUT", "/api/me/second-factor", me, json={"passkey_required": True})


@scenario("POST", "/api/sessions/passkey/challenges")
async def _passkey_sign_in_challenge(api: Api) -> httpx.Response:
    return await send(api, "POST", "/api/sessions/passkey/challenges")


@scenario("POST", "/api/sessions/passkey")
async def _passkey_sign_in(api: Api) -> httpx.Response:
    _, key, _ = await with_passkey(api)
    ceremony = (await send(api, "POST", "/api/sessions/passkey/challenges")).json()
    body = {"challenge_id": ceremony["challenge_id"], "credential": key.get(ceremony["options"])}
    return await send(api, "POST", "/api/sessions/passkey", json=body)


@scenario("POST", "/api/sessions/second-factor")
async def _second_factor(api: Api) -> httpx.Response:
    me, key, _ = await with_passkey(api)
    await send(api, "PUT", "/api/me/second-factor", me, json={"passkey_required": True})
    step = (await send(api, "POST", "/api/sessions", json={"handle": me.handle, "password": PASSWORD})).json()
    body = {"challenge_id": step["current"]["challenge_id"], "credential": key.get(step["current"]["options"])}
    return await send(api, "POST", "/api/sessions/second-factor", json=body)


# The inbox and email reminders (tests/api/test_inbox.py)


async def with_address(api: Api, confirmed: bool = False) -> Person:
    me = await api.person("mail")
    address = f"{me.handle}@example.org"
    await send(api, "PUT", "/api/me/email", me, json={"address": address})
    if confirmed:
        [message] = mailbox.shared().wait_for(address)
        await send(api, "POST", "/api/me/email/confirm", me, json={"token": mailbox.confirm_token(message)})
    return me


@scenario("GET", "/api/me/inbox")
async def _inbox(api: Api) -> httpx.Response:
    ana, ben, agreement_id, _ = await drafting(api)
    return await send(api, "GET", "/api/me/inbox", ben)


@scenario("GET", "/api/me/email")
async def _email(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/me/email", await with_address(api))


@scenario("PUT", "/api/me/email")
async def _set_address(api: Api) -> httpx.Response:
    me = await api.person("mail")
    return await send(api, "PUT", "/api/me/email", me, json={"address": f"{me.handle}@example.org"})


@scenario("POST", "/api/me/email/confirm")
async def _confirm_address(api: Api) -> httpx.Response:
    me = await api.person("mail")
    address = f"{me.handle}@example.org"
    await send(api, "PUT", "/api/me/email", me, json={"address": address})
    [message] = mailbox.shared().wait_for(address)
    return await send(api, "POST", "/api/me/email/confirm", me, json={"token": mailbox.confirm_token(message)})


@scenario("PUT", "/api/me/email/kinds")
async def _choose_kinds(api: Api) -> httpx.Response:
    return await send(api, "PUT", "/api/me/email/kinds", await with_address(api), json={"kinds": ["invitation"]})


@scenario("DELETE", "/api/me/email")
async def _remove_address(api: Api) -> httpx.Response:
    return await send(api, "DELETE", "/api/me/email", await with_address(api, confirmed=True))


# Blocks (tests/api/test_blocks.py)


@scenario("GET", "/api/me/blocks")
async def _blocks(api: Api) -> httpx.Response:
    me, ex = await api.person("me"), await api.person("ex")
    await send(api, "POST", "/api/me/blocks", me, json={"handle": ex.handle})
    return await send(api, "GET", "/api/me/blocks", me)


@scenario("POST", "/api/me/blocks")
async def _block(api: Api) -> httpx.Response:
    me, ex = await api.person("me"), await api.person("ex")
    return await send(api, "POST", "/api/me/blocks", me, json={"handle": ex.handle})


@scenario("DELETE", "/api/me/blocks/{block_id}")
async def _unblock(api: Api) -> httpx.Response:
    me, ex = await api.person("me"), await api.person("ex")
    made = (await send(api, "POST", "/api/me/blocks", me, json={"handle": ex.handle})).json()
    return await send(api, "DELETE", f"/api/me/blocks/{made['block_id']}", me)


# Plans (tests/api/test_plans.py)

PL = "/api/plans"


async def plan(api: Api) -> tuple[Person, Person, str]:
    """A date Ana proposed to her partner Ben: (ana, ben, plan_id)."""
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    view = await api.call("POST", PL, ana, 201, json=plans.plan_body(ben))
    return ana, ben, view["plan_id"]


@scenario("POST", PL)
async def _propose_plan(api: Api) -> httpx.Response:
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    return await send(api, "POST", PL, ana, json=plans.plan_body(ben))


@scenario("GET", PL)
async def _my_plans(api: Api) -> httpx.Response:
    ana, _, _ = await plan(api)
    return await send(api, "GET", PL, ana)


@scenario("GET", PL + "/{plan_id}")
async def _view_plan(api: Api) -> httpx.Response:
    _, ben, plan_id = await plan(api)
    return await send(api, "GET", f"{PL}/{plan_id}", ben)


@scenario("POST", PL + "/{plan_id}/answer")
async def _answer_plan(api: Api) -> httpx.Response:
    _, ben, plan_id = await plan(api)
    return await send(api, "POST", f"{PL}/{plan_id}/answer", ben, json={"answer": "accepted"})


@scenario("POST", PL + "/{plan_id}/reschedule")
async def _reschedule_plan(api: Api) -> httpx.Response:
    _, ben, plan_id = await plan(api)
    body = plans.plan_body()
    times = {k: body[k] for k in ("start", "end", "time_zone")}
    return await send(api, "POST", f"{PL}/{plan_id}/reschedule", ben, json=times)


@scenario("POST", PL + "/{plan_id}/cancel")
async def _cancel_plan(api: Api) -> httpx.Response:
    _, ben, plan_id = await plan(api)
    return await send(api, "POST", f"{PL}/{plan_id}/cancel", ben, json={"note": "sorry"})


# --------------------------------------------------------------------------
# Success statuses
# --------------------------------------------------------------------------


def success_statuses(operation: dict[str, Any]) -> list[int]:
    return sorted(int(code) for code in operation["responses"] if code.startswith("2"))


async def test_every_operation_has_a_scenario(client: AsyncTestClient[Litestar]) -> None:
    documented = set(await operations(client))
    assert documented - set(SCENARIOS) == set(), "operations without a scenario in this file"
    assert set(SCENARIOS) - documented == set(), "scenarios for operations the document does not have"


@pytest.mark.parametrize("operation", sorted(SCENARIOS), ids=lambda o: f"{o[0]} {o[1]}")
async def test_the_documented_success_status_is_the_one_answered(
    api: Api, client: AsyncTestClient[Litestar], operation: tuple[str, str]
) -> None:
    documented = (await operations(client))[operation]
    [status] = success_statuses(documented)  # exactly one
    r = await SCENARIOS[operation](api)
    assert r.status_code == status, f"{operation}: documented {status}, answered {r.status_code}: {r.text}"


#: The last word of a POST that changes something (rather than creating it).
CHANGES = r"/(accept|decline|withdraw|end|confirm|consent|revoke|acknowledge|leave|reaffirm)$"


async def test_a_command_that_creates_is_201_and_one_that_changes_is_200(client: AsyncTestClient[Litestar]) -> None:
    """The rule, read off the document; 202 only where the answer must not tell whether a handle exists."""
    found = {op: success_statuses(o) for op, o in (await operations(client)).items()}
    accepted = {("POST", A + "/{agreement_id}/invitations"), ("POST", "/api/links")}
    for (method, path), statuses in found.items():
        if (method, path) in accepted:
            assert statuses == [202], (method, path)
        elif method == "POST" and re.search(CHANGES, path):
            assert statuses == [200], (method, path)
        elif method == "POST" and path.endswith("/consents"):
            assert statuses == [200], (method, path)
    assert found["POST", A + "/{agreement_id}/repair-notes/{note_id}/links"] == [200]
    assert found["DELETE", "/api/sessions/current"] == [204]


# --------------------------------------------------------------------------
# Error statuses the README promises
# --------------------------------------------------------------------------


def is_command(method: str, path: str, operation: dict[str, Any]) -> bool:
    takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    return method != "GET" and takes_key


async def test_the_promised_statuses_are_documented(client: AsyncTestClient[Litestar]) -> None:
    ops = await operations(client)
    for (method, path), operation in ops.items():
        statuses = set(operation["responses"])
        where = f"{method} {path}"
        # Any request may find the database away; a read may name a position not reached yet.
        assert "503" in statuses, where
        if "requestBody" in operation:
            assert "413" in statuses, where
        if is_command(method, path, operation):
            assert {"401", "404", "409", "413", "422", "429", "503"} <= statuses, where
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                assert "application/problem+json" in response["content"], f"{where} {code}"
    commands = [op for op, o in ops.items() if is_command(*op, o)]
    assert len(commands) > 25  # the walk found them
    assert {"413", "429"} <= set(ops["POST", "/api/accounts"]["responses"])
    assert {"413", "429"} <= set(ops["POST", "/api/sessions"]["responses"])


async def test_a_body_over_the_limit_is_413(api: Api, make_client: Callable[..., Any]) -> None:
    ana = await api.person()
    async with make_client(max_body_bytes=1024) as small:
        r = await small.post(A, json={"title": "x" * 2000}, headers=ana.headers)
        assert_problem(r, 413)
        # A command without a body schema reads its body too when a key binds it to the request.
        _, ben, agreement_id = await api.pair()
        r = await small.post(
            f"{A}/{agreement_id}/leave", content=b"x" * 2000, headers=ben.with_key("k"),
        )
        assert_problem(r, 413)
        r = await small.post("/api/sessions", json={"handle": ana.handle, "password": "x" * 2000})
        assert_problem(r, 413)


async def test_too_many_commands_are_429_with_retry_after(api: Api, make_client: Callable[..., Any]) -> None:
    ana = await api.person()
    async with make_client(command_rate_per_minute=2) as limited:
        for title in ("one", "two"):
            assert (await limited.post(A, json={"title": title}, headers=ana.headers)).status_code == 201
        r = await limited.post(A, json={"title": "three"}, headers=ana.headers)
        assert_problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1
        # Reads are not counted.
        assert (await limited.get(A, headers=ana.headers)).status_code == 200


async def test_a_read_naming_a_position_not_reached_is_503(api: Api) -> None:
    ana = await api.person()
    far = str(await api.position() + 1_000_000)
    r = await api.client.get(A, headers={**ana.headers, "Accord-Position": far})
    assert_problem(r, 503)
    assert r.headers["retry-after"] == "1"
    # Not a number a command could have given: ignored, not a 500.
    for odd in ("²".encode("latin-1"), b"1" * 5000, b"-1", b"0x10"):
        r = await api.client.get(A, headers={**ana.headers, "Accord-Position": odd})  # type: ignore[dict-item]
        assert r.status_code == 200, (odd, r.text)


# --------------------------------------------------------------------------
# HEAD
# --------------------------------------------------------------------------

#: Headers that differ between any two responses by design.
PER_RESPONSE = {"date", "x-request-id", "accord-position"}
STATIC = Path(__file__).resolve().parents[2] / "service" / "web" / "static"


def comparable(r: httpx.Response) -> dict[str, Any]:
    headers = {k: v for k, v in r.headers.items() if k not in PER_RESPONSE and k != "set-cookie"}
    if r.request.url.path == "/metrics":
        # Counters move between any two scrapes, and so does the length.
        headers.pop("content-length")
    # A new page visitor gets a fresh random cookie each time: compare what is set, not the random value.
    cookies = sorted(re.sub(r"=[^;]*", "=…", c, count=1) for c in r.headers.get_list("set-cookie"))
    return {"status": r.status_code, "headers": headers, "cookies": cookies}


async def test_head_answers_every_get_route_like_get_without_a_body(
    api: Api, client: AsyncTestClient[Litestar]
) -> None:
    ana, ben, agreement_id, clause = await in_force(api)
    await api.call("POST", "/api/links", ana, 202, json={"handle": ben.handle})
    values = {
        "agreement_id": agreement_id,
        "clause_id": clause["clause_id"],
        "version": "1",
        "file_path": sorted(p.name for p in STATIC.iterdir())[0],
        "path": "openapi.yaml",
    }
    by_type = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "path": "nothing-here"}
    # The pages' session cookie holds the same token the API issues.
    page_session = {"accord_session": ana.headers["Authorization"].removeprefix("Bearer ")}
    routes = [r for r in client.app.routes if isinstance(r, HTTPRoute) and "GET" in r.methods]
    assert len(routes) > 30
    checked = []
    for route in routes:
        # Known ids where the world has them; any other parameter gets a value of its type (a 404 is an answer too).
        path = re.sub(r"\{(\w+):(\w+)\}", lambda m: values.get(m.group(1), by_type[m.group(2)]), route.path)
        query = {"from": 0, "to": 1} if path.endswith("/diff") else {}
        for who in ({}, ana.headers):
            for cookies in ({}, page_session):
                answers = []
                for method in ("GET", "HEAD"):
                    client.cookies.clear()
                    client.cookies.update(cookies)
                    answers.append(await client.request(method, path, params=query, headers=who))
                get, head = answers
                assert head.status_code != 405, path
                assert comparable(head) == comparable(get), f"HEAD {path}"
                assert head.content == b"", f"HEAD {path}"
        checked.append(route.path)
    assert "/health" in checked and "/" in checked and "/static/{file_path:path}" in checked
    client.cookies.clear()


async def test_allow_lists_every_method_of_a_path_and_head_wherever_get_is(client: AsyncTestClient[Litestar]) -> None:
    """OPTIONS and 405 say which methods a path takes: all of them (not the first handler's), HEAD with GET."""
    values = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "path": "live.js"}
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        expected = set(route.methods) | ({"HEAD"} if "GET" in route.methods else set())
        path = re.sub(r"\{\w+:(\w+)\}", lambda m: values[m.group(1)], route.path)
        r = await client.options(path)
        assert r.status_code == 204, path
        assert set(r.headers["allow"].split(", ")) == expected, path
        unused = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in route.methods)
        r = await client.request(unused, path)
        assert r.status_code == 405, (unused, path)
        assert set(r.headers["allow"].split(", ")) == expected, (unused, path)


# --------------------------------------------------------------------------
# What schemathesis found (tests/e2e/test_schemathesis.py), kept fixed here
# --------------------------------------------------------------------------


async def test_request_bodies_are_documented_as_closed_with_their_item_limits(
    client: AsyncTestClient[Litestar],
) -> None:
    """Bodies refuse unknown fields (400): the document said any field was fine. List items keep their limits."""
    schemas = (await client.get(SCHEMA)).json()["components"]["schemas"]
    bodies = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for operation in (await operations(client)).values()
        if "requestBody" in operation
    }
    assert {"Register", "Propose", "ProposeGrant"} <= bodies
    for name in bodies | {"Change"}:
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["ProposeGrant"]["properties"]["scopes"]["items"]["maxLength"] == 40


async def test_the_idempotency_key_is_documented_on_commands_only_with_the_rule_enforced(
    api: Api, client: AsyncTestClient[Litestar]
) -> None:
    ops = await operations(client)
    for (method, path), operation in ops.items():
        [key] = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"] or [None]
        # Account routes take none: deleting an account ends the very token a repeat would carry;
        # sessions and account security are kept beside the log, not commands on it.
        # Email reminders (/api/me/email...), blocks (/api/me/blocks...) and availability are commands on the log like any other.
        account = path.startswith(("/api/accounts", "/api/sessions", "/api/me/", "/health")) and not path.startswith(
            ("/api/me/email", "/api/me/blocks", "/api/me/availability")
        )
        if method == "GET" or account or path == "/api/me":
            assert key is None, (method, path)
        else:
            assert key is not None and key["required"] is False, (method, path)
            pattern = re.compile(key["schema"]["pattern"])
    ana = await api.person()
    for value, accepted in (("a", True), ("k" * 200, True), ("~!x", True), ("a b", False), ("k" * 201, False)):
        assert bool(pattern.match(value)) is accepted, value
        r = await api.client.post(A, json={"title": "t"}, headers=ana.with_key(value))
        assert r.status_code == (201 if accepted else 400), (value, r.text)
    latin = {**ana.headers, "Idempotency-Key": "é".encode("latin-1")}
    r = await api.client.post(A, json={"title": "t"}, headers=latin)  # type: ignore[arg-type]
    assert_problem(r, 400)


async def test_a_nul_is_refused_before_it_reaches_the_store(api: Api) -> None:
    """PostgreSQL text cannot hold NUL: a display name with one was a 500 there, a sign-in with one too."""
    body = {"handle": unique_handle(), "display_name": "A\u0000B", "password": PASSWORD}
    problem = assert_problem(await api.client.post("/api/accounts", json=body), 400)
    assert [e["field"] for e in problem["errors"]] == ["display_name"]
    r = await api.client.post("/api/sessions", json={"handle": "a\u0000b", "password": PASSWORD})
    assert_problem(r, 401, code="sign_in_failed")


# Personal documents

DOC = "/api/documents"
_CARE_PLAN = {"kind": "care_plan", "sections": [{"text": "racing heart"}, {"text": "a walk"}, {"text": "advice"}, {"text": "text me"}]}


async def shared_document(api: Api) -> tuple[Person, Person, str]:
    """Ana's care plan, shared with her partner Ben: (ana, ben, document_id)."""
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    view = await api.call("POST", DOC, ana, 201, json=_CARE_PLAN)
    await api.call("POST", f"{DOC}/{view['document_id']}/shares", ana, 200, json={"partner_id": ben.sid})
    return ana, ben, view["document_id"]


@scenario("POST", DOC)
async def _write_document(api: Api) -> httpx.Response:
    return await send(api, "POST", DOC, await api.person("ana"), json=_CARE_PLAN)


@scenario("GET", DOC)
async def _my_documents(api: Api) -> httpx.Response:
    _, ben, _ = await shared_document(api)
    return await send(api, "GET", DOC, ben)


@scenario("GET", DOC + "/{document_id}")
async def _view_document(api: Api) -> httpx.Response:
    _, ben, document_id = await shared_document(api)
    return await send(api, "GET", f"{DOC}/{document_id}", ben)


@scenario("PUT", DOC + "/{document_id}")
async def _revise_document(api: Api) -> httpx.Response:
    ana, _, document_id = await shared_document(api)
    body = {"based_on_version": 1, "sections": [{"text": "racing heart"}, {"text": "a long walk"}, {"text": ""}, {"text": ""}]}
    return await send(api, "PUT", f"{DOC}/{document_id}", ana, json=body)


@scenario("DELETE", DOC + "/{document_id}")
async def _delete_document(api: Api) -> httpx.Response:
    ana, _, document_id = await shared_document(api)
    return await send(api, "DELETE", f"{DOC}/{document_id}", ana)


@scenario("GET", DOC + "/{document_id}/history")
async def _document_history(api: Api) -> httpx.Response:
    ana, _, document_id = await shared_document(api)
    return await send(api, "GET", f"{DOC}/{document_id}/history", ana)


for _printed in ("export.md", "export.pdf"):

    @scenario("GET", DOC + "/{document_id}/" + _printed)
    async def _export_document(api: Api, route: str = _printed) -> httpx.Response:
        _, ben, document_id = await shared_document(api)
        return await send(api, "GET", f"{DOC}/{document_id}/{route}", ben)


@scenario("POST", DOC + "/{document_id}/shares")
async def _share_document(api: Api) -> httpx.Response:
    ana = await api.person("ana")
    view = await api.call("POST", DOC, ana, 201, json=_CARE_PLAN)
    return await send(api, "POST", f"{DOC}/{view['document_id']}/shares", ana, json={"handle": unique_handle("cy")})


@scenario("DELETE", DOC + "/{document_id}/shares/{share_key}")
async def _revoke_document_share(api: Api) -> httpx.Response:
    ana, ben, document_id = await shared_document(api)
    return await send(api, "DELETE", f"{DOC}/{document_id}/shares/{ben.sid}", ana)


# Signals

SG = "/api/signals"


async def signal_channel(api: Api) -> tuple[Person, Person]:
    """Two partners who both opened a signal channel to each other."""
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    await api.call("PUT", f"{SG}/channels/{ben.sid}", ana, 200, json={"open": True})
    await api.call("PUT", f"{SG}/channels/{ana.sid}", ben, 200, json={"open": True})
    return ana, ben


async def signal(api: Api) -> tuple[Person, Person, str]:
    ana, ben = await signal_channel(api)
    sent = await api.call("POST", SG, ana, 201, json={"to": [ben.sid], "kind": "home_safe", "note": "Back home"})
    return ana, ben, sent["signal_id"]


@scenario("GET", SG)
async def _my_signals(api: Api) -> httpx.Response:
    _, ben, _ = await signal(api)
    return await send(api, "GET", SG, ben)


@scenario("POST", SG)
async def _send_signal(api: Api) -> httpx.Response:
    ana, ben = await signal_channel(api)
    return await send(api, "POST", SG, ana, json={"to": [ben.sid], "kind": "still_here"})


@scenario("GET", SG + "/{signal_id}")
async def _view_signal(api: Api) -> httpx.Response:
    _, ben, signal_id = await signal(api)
    return await send(api, "GET", f"{SG}/{signal_id}", ben)


@scenario("POST", SG + "/{signal_id}/seen")
async def _seen_signal(api: Api) -> httpx.Response:
    _, ben, signal_id = await signal(api)
    return await send(api, "POST", f"{SG}/{signal_id}/seen", ben)


@scenario("PUT", SG + "/channels/{person_id}")
async def _open_channel(api: Api) -> httpx.Response:
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    return await send(api, "PUT", f"{SG}/channels/{ben.sid}", ana, json={"open": True})


@scenario("GET", "/api/signals/settings")
async def _signal_settings(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/signals/settings", await api.person("ana"))


@scenario("PUT", "/api/signals/settings")
async def _change_signal_settings(api: Api) -> httpx.Response:
    body = {"expiry_hours": 12, "read_receipts": True, "quiet_from": 22, "quiet_until": 7}
    return await send(api, "PUT", "/api/signals/settings", await api.person("ana"), json=body)


# Availability (tests/api/test_availability.py)


@scenario("GET", "/api/me/availability")
async def _my_availability(api: Api) -> httpx.Response:
    return await send(api, "GET", "/api/me/availability", await api.person("ana"))


@scenario("PUT", "/api/me/availability")
async def _change_availability(api: Api) -> httpx.Response:
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    body = {
        "time_zone": "Europe/Berlin",
        "partners": [{"person_id": ben.sid, "shows": "busy"}],
        "rules": {"quiet_nights": {"weekdays": ["friday"], "shown_to": "partners"}},
    }
    return await send(api, "PUT", "/api/me/availability", ana, json=body)


@scenario("GET", "/api/people/{person_id}/availability")
async def _partner_rules(api: Api) -> httpx.Response:
    ana, ben = await api.person("ana"), await api.person("ben")
    await api.link(ana, ben)
    return await send(api, "GET", f"/api/people/{ana.sid}/availability", ben)
