"""Accounts over HTTP: register, sign in, who am I, sign out, token expiry, rate limits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests.api.conftest import (
    PASSWORD,
    PROBLEM,
    assert_problem,
    comparable_headers,
    fields_of,
    register_and_sign_in,
    unique_handle,
)

CHALLENGE = 'Bearer realm="accord"'


def body(handle: str, **overrides: object) -> dict[str, object]:
    return {**{"handle": handle, "display_name": "Robin Example", "password": PASSWORD}, **overrides}


# Register


async def test_register_answers_201_with_the_new_person(client) -> None:
    handle = unique_handle()
    before = (await client.get("/health")).json()["position"]
    r = await client.post("/api/accounts", json=body(handle))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    me = r.json()
    assert set(me) == {"person_id", "handle", "display_name"}
    assert uuid.UUID(me["person_id"]).version == 4
    assert me["handle"] == handle
    assert me["display_name"] == "Robin Example"
    # Credentials never leave the server, and never enter the event log.
    assert PASSWORD not in r.text
    assert (await client.get("/health")).json()["position"] == before


async def test_two_registrations_get_different_people(client) -> None:
    first, _ = await register_and_sign_in(client)
    second, _ = await register_and_sign_in(client)
    assert first != second


async def test_a_taken_handle_is_409_naming_the_handle(client) -> None:
    handle = unique_handle()
    assert (await client.post("/api/accounts", json=body(handle))).status_code == 201
    r = await client.post("/api/accounts", json=body(handle, display_name="Someone Else"))
    problem = assert_problem(r, 409, code="handle_taken")
    assert problem["errors"] == [{"field": "handle", "rule": "must not be taken"}]


async def test_handles_are_taken_regardless_of_case(client) -> None:
    handle = unique_handle("case")
    assert (await client.post("/api/accounts", json=body(handle))).status_code == 201
    r = await client.post("/api/accounts", json=body(handle.upper()))
    assert fields_of(assert_problem(r, 409, code="handle_taken")) == ["handle"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"handle": "has space"}, "handle", id="handle-pattern"),
        pytest.param({"handle": "x"}, "handle", id="handle-too-short"),
        pytest.param({"handle": "h" * 33}, "handle", id="handle-too-long"),
        pytest.param({"password": "short"}, "password", id="password-too-short"),
        pytest.param({"password": "p" * 201}, "password", id="password-too-long"),
        pytest.param({"display_name": ""}, "display_name", id="display-name-empty"),
        pytest.param({"display_name": 7}, "display_name", id="display-name-type"),
    ],
)
async def test_an_invalid_registration_is_400_naming_the_field(client, overrides, field) -> None:
    r = await client.post("/api/accounts", json={**body(unique_handle()), **overrides})
    problem = assert_problem(r, 400, code="invalid_request")
    assert fields_of(problem) == [field]
    assert problem["errors"][0]["rule"]
    assert field in problem["detail"]


async def test_a_missing_field_is_400(client) -> None:
    r = await client.post("/api/accounts", json={"handle": unique_handle(), "password": PASSWORD})
    problem = assert_problem(r, 400, code="invalid_request")
    assert len(problem["errors"]) == 1
    assert "display_name" in problem["detail"]


async def test_a_missing_field_is_named_in_errors(client) -> None:
    r = await client.post("/api/accounts", json={"handle": unique_handle(), "password": PASSWORD})
    problem = assert_problem(r, 400, code="invalid_request")
    assert fields_of(problem) == ["display_name"]


async def test_an_unknown_field_is_400_naming_it(client) -> None:
    r = await client.post("/api/accounts", json=body(unique_handle(), nickname="robin"))
    problem = assert_problem(r, 400, code="invalid_request")
    assert problem["errors"] == [{"field": "nickname", "rule": "is not a known field"}]
    assert "nickname" in problem["detail"]


async def test_a_body_that_is_not_json_is_400(client) -> None:
    r = await client.post(
        "/api/accounts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)


async def test_a_rejected_registration_creates_no_account(client) -> None:
    handle = unique_handle()
    await client.post("/api/accounts", json=body(handle, password="short"))
    r = await client.post("/api/sessions", json={"handle": handle, "password": "short"})
    assert_problem(r, 401, code="sign_in_failed")


# Sign in


async def test_sign_in_answers_201_with_a_token_for_the_person(client) -> None:
    handle = unique_handle()
    person_id = (await client.post("/api/accounts", json=body(handle))).json()["person_id"]
    r = await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text
    session = r.json()
    assert set(session) == {"token", "expires_at", "person"}
    assert len(session["token"]) >= 40
    assert session["person"] == {
        "person_id": person_id,
        "handle": handle,
        "display_name": "Robin Example",
    }
    # Signing in again gives another token; both work.
    again = (await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})).json()
    assert again["token"] != session["token"]
    for token in (session["token"], again["token"]):
        me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["person_id"] == person_id


async def test_the_token_expires_after_the_configured_lifetime(make_client) -> None:
    async with make_client(token_ttl_seconds=3600) as client:
        handle = unique_handle()
        await client.post("/api/accounts", json=body(handle))
        r = await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})
        session = r.json()
        accord = client.app.state.accord
        issued = accord.clock()
        expires_at = datetime.fromisoformat(session["expires_at"])
        assert timedelta(seconds=3590) < expires_at - issued <= timedelta(seconds=3600)


async def test_wrong_password_and_unknown_handle_get_the_same_401(client) -> None:
    handle = unique_handle()
    await client.post("/api/accounts", json=body(handle))
    wrong = await client.post("/api/sessions", json={"handle": handle, "password": "not the password"})
    unknown = await client.post(
        "/api/sessions", json={"handle": unique_handle(), "password": "not the password"}
    )
    problem = assert_problem(wrong, 401, code="sign_in_failed")
    assert wrong.content == unknown.content
    assert wrong.status_code == unknown.status_code
    assert comparable_headers(wrong) == comparable_headers(unknown)
    assert problem["detail"] == "wrong handle or password"


async def test_sign_in_with_an_invalid_body_is_400(client) -> None:
    r = await client.post("/api/sessions", json={"handle": "", "password": PASSWORD})
    assert fields_of(assert_problem(r, 400)) == ["handle"]
    r = await client.post("/api/sessions", json={"handle": "someone"})
    assert_problem(r, 400)


# Who am I, and signing out


async def test_me_is_the_signed_in_person(client) -> None:
    handle = unique_handle()
    person_id, headers = await register_and_sign_in(client, handle, "Sam Example")
    r = await client.get("/api/me", headers=headers)
    assert r.status_code == 200
    assert r.json() == {"person_id": str(person_id), "handle": handle, "display_name": "Sam Example"}


async def test_sign_out_revokes_that_token_only(client) -> None:
    handle = unique_handle()
    _, headers = await register_and_sign_in(client, handle)
    other = (await client.post("/api/sessions", json={"handle": handle, "password": PASSWORD})).json()
    other_headers = {"Authorization": f"Bearer {other['token']}"}

    r = await client.delete("/api/sessions/current", headers=headers)
    assert r.status_code == 204, r.text
    assert r.content == b""

    r = await client.get("/api/me", headers=headers)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == CHALLENGE
    # Signing out again with the revoked token is itself unauthorized.
    assert_problem(await client.delete("/api/sessions/current", headers=headers), 401)
    # The other session is untouched.
    assert (await client.get("/api/me", headers=other_headers)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param("Bearer not-a-real-token", id="garbage"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("not-a-real-token", id="no-scheme"),
    ],
)
@pytest.mark.parametrize("path", ["/api/me", "/api/agreements"])
async def test_no_valid_token_is_401_with_a_challenge(client, authorization, path) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await client.get(path, headers=headers)
    assert_problem(r, 401, code="unauthorized")
    assert r.headers["www-authenticate"] == CHALLENGE


async def test_an_expired_token_is_401(client) -> None:
    _, headers = await register_and_sign_in(client)
    accord = client.app.state.accord
    real_clock = accord.clock
    ttl = timedelta(seconds=accord.settings.token_ttl_seconds)
    try:
        now = real_clock()
        accord.clock = lambda: now + ttl - timedelta(seconds=1)
        assert (await client.get("/api/me", headers=headers)).status_code == 200
        accord.clock = lambda: now + ttl + timedelta(seconds=1)
        r = await client.get("/api/me", headers=headers)
        assert_problem(r, 401, code="unauthorized")
        assert r.headers["www-authenticate"] == CHALLENGE
        assert r.json()["detail"] == "the token is unknown, expired or signed out"
    finally:
        accord.clock = real_clock


# Rate limits


async def test_the_fourth_sign_in_attempt_in_a_minute_is_429(make_client) -> None:
    handle = unique_handle()
    # Register through another app instance on the same log, so that no attempt
    # counts against the limited one (the limiter is per process).
    async with make_client() as registrar:
        assert (await registrar.post("/api/accounts", json=body(handle))).status_code == 201
    async with make_client(auth_rate_per_minute=3) as client:
        sign_in = {"handle": handle, "password": PASSWORD}
        assert (await client.post("/api/sessions", json=sign_in)).status_code == 201
        wrong = {"handle": handle, "password": "not the password"}
        assert (await client.post("/api/sessions", json=wrong)).status_code == 401
        assert (await client.post("/api/sessions", json=sign_in)).status_code == 201

        r = await client.post("/api/sessions", json=sign_in)
        assert_problem(r, 429)
        assert r.headers["content-type"].startswith(PROBLEM)
        retry_after = int(r.headers["retry-after"])
        assert 0 < retry_after <= 60
        # Registration shares the limit.
        r = await client.post("/api/accounts", json=body(unique_handle()))
        assert_problem(r, 429)
        assert 0 < int(r.headers["retry-after"]) <= 60


async def test_signed_in_requests_are_not_rate_limited(make_client) -> None:
    async with make_client(auth_rate_per_minute=2) as client:
        _, headers = await register_and_sign_in(client)
        for _ in range(5):
            assert (await client.get("/api/me", headers=headers)).status_code == 200
