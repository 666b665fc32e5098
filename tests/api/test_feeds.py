"""Calendar feeds over HTTP, on both stores: the secret address, and what a calendar app reads from it.

The address is shown once; only its digest rests. An unknown, revoked,
replaced or erased owner's token answers exactly like a made-up one.
"""

from __future__ import annotations

import secrets
from typing import Any

import icalendar
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import PASSWORD, Api, Person, assert_problem, comparable_headers
from tests.api.test_at_rest import raw_dump

FEED = "/api/me/calendar-feed"


async def issue(api: Api, who: Person, **kwargs: Any) -> dict[str, Any]:
    return await api.call("POST", FEED, who, 201, **kwargs)


async def read(api: Api, token: str) -> Any:
    return await api.client.get(f"/calendar/{token}.ics")


def made_up() -> str:
    return secrets.token_urlsafe(32)


async def assert_like_a_made_up_token(api: Api, token: str) -> None:
    r, other = await read(api, token), await read(api, made_up())
    assert_problem(r, 404)
    assert (r.status_code, r.content, comparable_headers(r)) == (
        other.status_code,
        other.content,
        comparable_headers(other),
    )


async def test_a_feed_is_issued_once_shown_and_read_without_signing_in(api: Api) -> None:
    mina = await api.person("mina")
    assert await api.call("GET", FEED, mina, 200) == {"active": False, "issued_at": None}

    issued = await issue(api, mina)

    assert issued["active"] is True and len(issued["token"]) == 43
    assert issued["url"] == f"http://testserver.local/calendar/{issued['token']}.ics"
    status = await api.call("GET", FEED, mina, 200)
    assert status == {"active": True, "issued_at": issued["issued_at"]} and issued["token"] not in str(status)
    r = await read(api, issued["token"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert r.headers["cache-control"] == "private, no-store"
    calendar = icalendar.Calendar.from_ical(r.content)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]).startswith("-//Accord")


async def test_issuing_again_replaces_the_address(api: Api) -> None:
    mina = await api.person("mina")
    first = await issue(api, mina)
    second = await issue(api, mina)

    assert first["token"] != second["token"]
    assert (await read(api, second["token"])).status_code == 200
    await assert_like_a_made_up_token(api, first["token"])


async def test_a_revoked_address_answers_like_a_made_up_one_and_there_is_nothing_left_to_revoke(api: Api) -> None:
    mina = await api.person("mina")
    token = (await issue(api, mina))["token"]

    assert await api.call("DELETE", FEED, mina, 200) == {"active": False, "issued_at": None}

    await assert_like_a_made_up_token(api, token)
    before = await api.position()
    assert_problem(await api.client.delete(FEED, headers=mina.headers), 404)
    assert await api.position() == before
    assert await api.call("GET", FEED, mina, 200) == {"active": False, "issued_at": None}


async def test_a_repeated_issue_appends_nothing_and_shows_no_token(api: Api) -> None:
    mina = await api.person("mina")
    first = await issue(api, mina, headers={"Idempotency-Key": "feed-1"})
    before = await api.position()

    again = await api.client.post(FEED, headers=mina.with_key("feed-1"))

    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first, "token": None, "url": None}
    assert await api.position() == before
    assert (await read(api, first["token"])).status_code == 200


async def test_addresses_that_are_no_token_of_ours_are_404_alike(api: Api) -> None:
    mina = await api.person("mina")
    token = (await issue(api, mina))["token"]
    for path in (f"/calendar/{token}", f"/calendar/{token}.ics.ics", f"/calendar/{'x' * 500}.ics", "/calendar/.ics"):
        r = await api.client.get(path)
        assert_problem(r, 404)
        assert r.content == (await read(api, made_up())).content, path


async def test_another_persons_token_is_theirs_alone(api: Api) -> None:
    mina, theo = await api.person("mina"), await api.person("theo")
    mine, theirs = (await issue(api, mina))["token"], (await issue(api, theo))["token"]
    await api.call("DELETE", FEED, theo, 200)
    assert (await read(api, mine)).status_code == 200
    await assert_like_a_made_up_token(api, theirs)


async def test_only_the_tokens_digest_rests(client: AsyncTestClient[Litestar], store_url: str) -> None:
    api = Api(client)
    mina = await api.person("mina")
    tokens = [(await issue(api, mina, headers={"Idempotency-Key": f"k-{n}"}))["token"] for n in range(2)]
    dump = raw_dump(store_url)
    assert len(dump) > 10_000
    assert [t for t in tokens if t.encode() in dump or t.encode().hex().encode() in dump] == []


async def test_an_erased_persons_feed_stops_answering(api: Api) -> None:
    mina = await api.person("mina")
    token = (await issue(api, mina))["token"]
    await api.call("DELETE", "/api/me", mina, 204, json={"password": PASSWORD})
    await assert_like_a_made_up_token(api, token)


async def test_signing_in_is_needed_to_issue_or_see_a_feed(api: Api) -> None:
    for method in ("GET", "POST", "DELETE"):
        assert_problem(await api.client.request(method, FEED), 401)
