"""Account security over the API, on both stores: sessions, the password, passkeys, the second factor."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import PASSWORD, PROBLEM, Api, Person, unique_handle
from tests.authenticator import SoftAuthenticator

ORIGIN = "http://testserver.local"
NEW_PASSWORD = "a brand new passphrase"


async def sign_in(
    client: AsyncTestClient[Litestar], handle: str, password: str = PASSWORD
) -> dict[str, str]:
    r = await client.post(
        "/api/sessions", json={"handle": handle, "password": password}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def signed_in(client: AsyncTestClient[Litestar], headers: dict[str, str]) -> bool:
    r = await client.get("/api/me", headers=headers)
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def field_problem(body: dict[str, Any], field: str) -> str:
    [rule] = [e["rule"] for e in body["errors"] if e["field"] == field]
    return rule


# Sessions


async def test_my_sessions_are_listed_with_this_one_marked_and_no_token(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    other = await sign_in(client, me.handle)

    r = await client.get("/api/me/sessions", headers=me.headers)
    assert r.status_code == 200, r.text
    sessions = r.json()
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    assert all(
        len(s["session_id"]) == 16 and s["created_at"] and s["expires_at"]
        for s in sessions
    )
    for token in (me.headers["Authorization"][7:], other["Authorization"][7:]):
        assert token not in r.text


async def test_ending_one_session_signs_only_it_out(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    other = await sign_in(client, me.handle)
    sessions = (await client.get("/api/me/sessions", headers=me.headers)).json()
    [theirs] = [s["session_id"] for s in sessions if not s["current"]]

    r = await client.delete(f"/api/me/sessions/{theirs}", headers=me.headers)
    assert r.status_code == 204, r.text
    assert not await signed_in(client, other)
    assert await signed_in(client, me.headers)
    # Ended already: there is nothing by that id any more.
    r = await client.delete(f"/api/me/sessions/{theirs}", headers=me.headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)


async def test_a_stranger_cannot_end_someone_elses_session(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    me, stranger = await api.person(), await api.person()
    [mine] = (await client.get("/api/me/sessions", headers=me.headers)).json()

    r = await client.delete(
        f"/api/me/sessions/{mine['session_id']}", headers=stranger.headers
    )
    assert r.status_code == 404, r.text
    assert await signed_in(client, me.headers)


async def test_a_session_id_is_not_a_token(client: AsyncTestClient[Litestar]) -> None:
    me = await Api(client).person()
    [mine] = (await client.get("/api/me/sessions", headers=me.headers)).json()
    assert not await signed_in(
        client, {"Authorization": f"Bearer {mine['session_id']}"}
    )


async def test_a_malformed_session_id_names_the_parameter(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    r = await client.delete("/api/me/sessions/not-a-session", headers=me.headers)
    assert r.status_code == 400, r.text
    assert field_problem(r.json(), "session_id")


async def test_signing_out_everywhere_ends_every_session(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    other = await sign_in(client, me.handle)

    r = await client.delete("/api/me/sessions", headers=me.headers)
    assert r.status_code == 204, r.text
    assert not await signed_in(client, me.headers)
    assert not await signed_in(client, other)


# The password


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    other = await sign_in(client, me.handle)

    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await client.put("/api/me/password", json=body, headers=me.headers)
    assert r.status_code == 204, r.text
    assert await signed_in(client, me.headers)
    assert not await signed_in(client, other)
    r = await client.post(
        "/api/sessions", json={"handle": me.handle, "password": PASSWORD}
    )
    assert r.status_code == 401
    await sign_in(client, me.handle, NEW_PASSWORD)


async def test_a_wrong_current_password_changes_nothing(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    other = await sign_in(client, me.handle)

    body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    r = await client.put("/api/me/password", json=body, headers=me.headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert (
        field_problem(r.json(), "current_password") == "must be your current password"
    )
    assert await signed_in(client, other)
    await sign_in(client, me.handle)


async def test_a_short_new_password_names_the_field(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    r = await client.put(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=me.headers,
    )
    assert r.status_code == 400, r.text
    assert "new_password" in [e["field"] for e in r.json()["errors"]]


# Passkeys


async def register_passkey(
    client: AsyncTestClient[Litestar],
    me: Person,
    key: SoftAuthenticator,
    name: str = "Phone",
) -> dict[str, Any]:
    r = await client.post("/api/me/passkeys/challenges", headers=me.headers)
    assert r.status_code == 201, r.text
    ceremony = r.json()
    credential = key.create(ceremony["options"])
    body = {
        "challenge_id": ceremony["challenge_id"],
        "credential": credential,
        "name": name,
    }
    r = await client.post("/api/me/passkeys", json=body, headers=me.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_registered_passkey_is_listed_and_signs_in_without_a_handle(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    key = SoftAuthenticator(ORIGIN)
    passkey = await register_passkey(client, me, key)
    assert passkey["name"] == "Phone" and passkey["last_used_at"] is None

    r = await client.get("/api/me/passkeys", headers=me.headers)
    assert [p["passkey_id"] for p in r.json()] == [passkey["passkey_id"]]

    ceremony = (await client.post("/api/sessions/passkey/challenges")).json()
    assert (
        "allowCredentials" not in ceremony["options"]
        or not ceremony["options"]["allowCredentials"]
    )
    body = {
        "challenge_id": ceremony["challenge_id"],
        "credential": key.get(ceremony["options"]),
    }
    r = await client.post("/api/sessions/passkey", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["person"]["handle"] == me.handle
    assert await signed_in(client, {"Authorization": f"Bearer {r.json()['token']}"})
    [used] = (await client.get("/api/me/passkeys", headers=me.headers)).json()
    assert used["last_used_at"] is not None


async def test_a_challenge_is_answered_once(client: AsyncTestClient[Litestar]) -> None:
    me = await Api(client).person()
    key = SoftAuthenticator(ORIGIN)
    await register_passkey(client, me, key)

    ceremony = (await client.post("/api/sessions/passkey/challenges")).json()
    body = {
        "challenge_id": ceremony["challenge_id"],
        "credential": key.get(ceremony["options"]),
    }
    assert (await client.post("/api/sessions/passkey", json=body)).status_code == 201
    r = await client.post("/api/sessions/passkey", json=body)
    assert r.status_code == 422, r.text
    assert field_problem(r.json(), "challenge_id")


async def test_a_registration_challenge_is_bound_to_its_account(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    me, stranger = await api.person(), await api.person()
    ceremony = (
        await client.post("/api/me/passkeys/challenges", headers=me.headers)
    ).json()
    credential = SoftAuthenticator(ORIGIN).create(ceremony["options"])

    body = {"challenge_id": ceremony["challenge_id"], "credential": credential}
    r = await client.post("/api/me/passkeys", json=body, headers=stranger.headers)
    assert r.status_code == 422, r.text
    assert field_problem(r.json(), "challenge_id")
    assert (await client.get("/api/me/passkeys", headers=stranger.headers)).json() == []


async def test_an_answer_from_another_origin_is_refused(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    ceremony = (
        await client.post("/api/me/passkeys/challenges", headers=me.headers)
    ).json()
    credential = SoftAuthenticator("https://elsewhere.example").create(
        ceremony["options"]
    )

    body = {"challenge_id": ceremony["challenge_id"], "credential": credential}
    r = await client.post("/api/me/passkeys", json=body, headers=me.headers)
    assert r.status_code == 422, r.text
    assert field_problem(r.json(), "credential").startswith(
        "was not a valid passkey registration"
    )


async def test_a_forged_signature_does_not_sign_in(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    key = SoftAuthenticator(ORIGIN)
    await register_passkey(client, me, key)
    ceremony = (await client.post("/api/sessions/passkey/challenges")).json()
    answer = key.get(ceremony["options"])
    answer["response"]["signature"] = answer["response"]["signature"][:-4] + "AAAA"

    r = await client.post(
        "/api/sessions/passkey",
        json={"challenge_id": ceremony["challenge_id"], "credential": answer},
    )
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)


async def test_a_stranger_cannot_remove_my_passkey(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    me, stranger = await api.person(), await api.person()
    passkey = await register_passkey(client, me, SoftAuthenticator(ORIGIN))

    r = await client.delete(
        f"/api/me/passkeys/{passkey['passkey_id']}", headers=stranger.headers
    )
    assert r.status_code == 404, r.text
    r = await client.delete(
        f"/api/me/passkeys/{passkey['passkey_id']}", headers=me.headers
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/me/passkeys", headers=me.headers)).json() == []


async def test_a_deleted_accounts_passkey_signs_nobody_in(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    key = SoftAuthenticator(ORIGIN)
    await register_passkey(client, me, key)
    r = await client.request(
        "DELETE", "/api/me", json={"password": PASSWORD}, headers=me.headers
    )
    assert r.status_code == 204, r.text

    ceremony = (await client.post("/api/sessions/passkey/challenges")).json()
    body = {
        "challenge_id": ceremony["challenge_id"],
        "credential": key.get(ceremony["options"]),
    }
    assert (await client.post("/api/sessions/passkey", json=body)).status_code == 401


# The second factor


async def test_requiring_a_passkey_needs_one(client: AsyncTestClient[Litestar]) -> None:
    me = await Api(client).person()
    r = await client.put(
        "/api/me/second-factor", json={"passkey_required": True}, headers=me.headers
    )
    assert r.status_code == 422, r.text
    assert (
        field_problem(r.json(), "passkey_required")
        == "needs a registered passkey first"
    )


async def test_with_a_second_factor_the_password_alone_gives_no_token(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    key = SoftAuthenticator(ORIGIN)
    passkey = await register_passkey(client, me, key)
    r = await client.put(
        "/api/me/second-factor", json={"passkey_required": True}, headers=me.headers
    )
    assert r.status_code == 200 and r.json() == {"passkey_required": True}

    r = await client.post(
        "/api/sessions", json={"handle": me.handle, "password": PASSWORD}
    )
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM), (
        r.text
    )
    assert (
        r.json()["type"].endswith("/second_factor_required") and "token" not in r.text
    )
    step = r.json()["current"]
    assert step["second_factor"] == "passkey"
    assert [c["id"] for c in step["options"]["allowCredentials"]] == [
        passkey["passkey_id"]
    ]

    body = {
        "challenge_id": step["challenge_id"],
        "credential": key.get(step["options"]),
    }
    r = await client.post("/api/sessions/second-factor", json=body)
    assert r.status_code == 201, r.text
    assert await signed_in(client, {"Authorization": f"Bearer {r.json()['token']}"})

    # The last passkey stays while it is required.
    r = await client.delete(
        f"/api/me/passkeys/{passkey['passkey_id']}", headers=me.headers
    )
    assert r.status_code == 422
    assert field_problem(r.json(), "passkey_id")


async def test_a_second_factor_step_takes_only_that_accounts_passkey(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    me, other = await api.person(), await api.person()
    await register_passkey(client, me, SoftAuthenticator(ORIGIN))
    await client.put(
        "/api/me/second-factor", json={"passkey_required": True}, headers=me.headers
    )
    theirs = SoftAuthenticator(ORIGIN)
    await register_passkey(client, other, theirs)

    step = (
        await client.post(
            "/api/sessions", json={"handle": me.handle, "password": PASSWORD}
        )
    ).json()["current"]
    answer = theirs.get({**step["options"], "allowCredentials": []})
    r = await client.post(
        "/api/sessions/second-factor",
        json={"challenge_id": step["challenge_id"], "credential": answer},
    )
    assert r.status_code == 401, r.text


async def test_the_second_factor_setting_can_be_read_and_turned_off(
    client: AsyncTestClient[Litestar],
) -> None:
    me = await Api(client).person()
    await register_passkey(client, me, SoftAuthenticator(ORIGIN))
    assert (await client.get("/api/me/second-factor", headers=me.headers)).json() == {
        "passkey_required": False
    }
    await client.put(
        "/api/me/second-factor", json={"passkey_required": True}, headers=me.headers
    )
    await client.put(
        "/api/me/second-factor", json={"passkey_required": False}, headers=me.headers
    )
    await sign_in(client, me.handle)


# Limits


async def test_the_new_routes_are_rate_limited_like_sign_in(make_client: Any) -> None:
    async with make_client(auth_rate_per_minute=3) as client:
        handle = unique_handle()
        await client.post(
            "/api/accounts",
            json={"handle": handle, "display_name": "R", "password": PASSWORD},
        )
        headers = await sign_in(client, handle)
        assert (
            await client.get("/api/me/sessions", headers=headers)
        ).status_code == 200
        r = await client.post("/api/sessions/passkey/challenges")
        assert r.status_code == 429 and r.headers["retry-after"]
