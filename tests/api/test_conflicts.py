"""Every 409 carries `current`: what is there now, so the caller can decide again without another read.

First over every domain error (a new conflict without a `current` fails
here), then through the API for the conflicts a person can meet, with the
exact `current` for out-of-date and closed proposals.
"""

from __future__ import annotations

import inspect
import types
import typing
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from domain import errors
from service.http.errors import current_of, status_of
from tests.api.conftest import PASSWORD, Api, Person, assert_problem

A = "/api/agreements"


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


SAMPLES: dict[Any, Any] = {
    uuid.UUID: uuid.UUID(int=7),
    int: 3,
    str: "declined",
    datetime: datetime(2030, 1, 1, tzinfo=timezone.utc),
}


def sample(cls: type[errors.DomainError]) -> errors.DomainError:
    """An instance with a value of the right type for every parameter."""
    hints = typing.get_type_hints(cls.__init__, vars(errors))
    args = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        hint = hints[name]
        if isinstance(hint, types.UnionType):
            hint = next(h for h in typing.get_args(hint) if h is not type(None))
        args[name] = SAMPLES[hint]
    return cls(**args)


DOMAIN_ERRORS = [c for c in subclasses(errors.DomainError) if "__init__" in vars(c)]


def test_the_walk_finds_the_domain_errors() -> None:
    names = {c.__name__ for c in DOMAIN_ERRORS}
    assert {"ProposalClosed", "ProposalOutOfDate", "StaleRevision", "AlreadyDone", "NotFound"} <= names


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda c: c.__name__)
def test_every_domain_conflict_says_what_is_there_now(cls: type[errors.DomainError]) -> None:
    error = sample(cls)
    current = current_of(error)
    if status_of(error) == 409:
        assert isinstance(current, dict) and current, f"{cls.__name__} is a 409 without `current`"
    else:
        assert current is None, f"{cls.__name__} is not a conflict but has a `current`"


# --------------------------------------------------------------------------
# Through the API
# --------------------------------------------------------------------------


async def refused(api: Api, method: str, path: str, who: Person, code: str, **kwargs: Any) -> Any:
    r = await api.client.request(method, path, headers=who.headers, **kwargs)
    body = assert_problem(r, 409, code=code)
    assert isinstance(body.get("current"), dict) and body["current"], body
    return body["current"]


async def in_force(api: Api) -> tuple[Person, Person, str, str]:
    ana, ben, agreement_id = await api.pair()
    clause = await api.add_clause(ana, agreement_id, "We talk on Sundays.")
    await api.ratify(ana, ben, agreement_id)
    return ana, ben, agreement_id, clause["clause_id"]


def edit(clause_id: str, text: str) -> list[dict[str, Any]]:
    return [{"kind": "edit", "clause_id": clause_id, "text": text}]


async def test_an_out_of_date_proposal_says_its_status_and_the_version_in_force(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await in_force(api)
    stale, _ = await api.propose(ana, agreement_id, edit(clause_id, "Mondays."))
    adopted, _ = await api.propose(ben, agreement_id, edit(clause_id, "Tuesdays."))
    await api.call("POST", f"{A}/{agreement_id}/proposals/{adopted}/accept", ana, 200)
    current = await refused(api, "POST", f"{A}/{agreement_id}/proposals/{stale}/accept", ben, "proposal_out_of_date")
    assert current == {"proposal_id": stale, "status": "out_of_date", "base_version": 1, "in_force_version": 2}
    # A party leaving puts the agreement back in drafting: nothing is in force.
    carl = await api.person("carl")
    await api.invite(ana, agreement_id, carl.handle)
    await api.accept_invitation(carl, agreement_id)
    current = await refused(
        api, "POST", f"{A}/{agreement_id}/proposals/{adopted}/decline", ben, "proposal_closed", json={"reason": "no"}
    )
    assert current == {"proposal_id": adopted, "status": "adopted", "in_force_version": None}


async def test_a_closed_proposal_says_its_status_and_the_version_in_force(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await in_force(api)
    declined, _ = await api.propose(ana, agreement_id, edit(clause_id, "Mondays."))
    path = f"{A}/{agreement_id}/proposals/{declined}"
    await api.call("POST", f"{path}/decline", ben, 200, json={"reason": "not now"})
    for verb, body in (("accept", None), ("withdraw", None), ("comments", {"text": "but"})):
        who = ben if verb == "accept" else ana
        current = await refused(api, "POST", f"{path}/{verb}", who, "proposal_closed", json=body)
        assert current == {"proposal_id": declined, "status": "declined", "in_force_version": 1}


async def test_other_conflicts_carry_current(api: Api) -> None:
    ana, ben, agreement_id, clause_id = await in_force(api)
    # The agreement's state.
    body = {"topic": "other", "text": "More."}
    assert await refused(api, "POST", f"{A}/{agreement_id}/clauses", ana, "in_force", json=body) == {
        "status": "in_force",
        "in_force_version": 1,
    }
    draft, _, draft_id = await api.pair()
    assert await refused(
        api, "POST", f"{A}/{draft_id}/proposals", draft, "not_in_force",
        json={"changes": [{"kind": "add", "topic": "other", "text": "x"}], "reason": "r"},
    ) == {"status": "drafting", "version": 0}
    assert await refused(api, "DELETE", f"{A}/{draft_id}/consents/mine", draft, "not_consented") == {
        "version": 0,
        "consented": False,
    }
    # Who is involved.
    path = f"{A}/{agreement_id}/invitations"
    body = {"handle": ben.handle}
    assert await refused(api, "POST", path, ana, "already_involved", json=body) == {"relation": "party"}
    assert await refused(api, "POST", f"{A}/{agreement_id}/invitation/accept", ben, "not_invited") == {
        "relation": "party"
    }
    # Done already, or not the author's to do.
    proposal_id, _ = await api.propose(ana, agreement_id, edit(clause_id, "Mondays."))
    path = f"{A}/{agreement_id}/proposals/{proposal_id}"
    assert await refused(api, "POST", f"{path}/accept", ana, "already_done") == {"id": proposal_id, "done": "accepted"}
    assert await refused(api, "POST", f"{path}/withdraw", ben, "not_the_author") == {"id": proposal_id, "yours": False}
    # Client-chosen ids.
    body = {"title": "Again", "agreement_id": agreement_id}
    assert await refused(api, "POST", A, ana, "already_exists", json=body) == {
        "id": agreement_id,
        "kind": "agreement",
        "exists": True,
    }
    # Partner links.
    link_id = await api.propose_link(ana, ben)
    assert await refused(api, "POST", f"/api/links/{link_id}/confirm", ana, "own_proposal") == {
        "link_id": link_id,
        "status": "proposed",
        "proposed_by_me": True,
    }
    await api.confirm_link(ben, link_id)
    assert await refused(api, "POST", f"/api/links/{link_id}/withdraw", ana, "link_status_forbids") == {
        "link_id": link_id,
        "status": "live",
    }


async def test_a_taken_handle_says_so(api: Api) -> None:
    ana = await api.person()
    body = {"handle": ana.handle, "display_name": "Other", "password": PASSWORD}
    r = await api.client.post("/api/accounts", json=body)
    body = assert_problem(r, 409, code="handle_taken")
    assert body["current"] == {"handle": ana.handle, "taken": True}
