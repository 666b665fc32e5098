"""The calendar over HTTP: GET /api/calendar, a window of one's time as the events layer of consent shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem

CAL = "/api/calendar"


def window(days: int = 15) -> dict[str, str]:
    start = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    return {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}


async def calendar(api: Api, who: Person, days: int = 15) -> list[dict[str, Any]]:
    return (await api.call("GET", CAL, who, 200, params=window(days)))["entries"]


async def check_in(api: Api) -> tuple[Person, Person, str]:
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    body = {
        "kind": "weekly", "weekday": date.today().weekday(), "at": "19:00", "time_zone": "Europe/Berlin",
        "starts_on": date.today().isoformat(), "partner_id": theo.sid,
    }  # fmt: skip
    view = await api.call("POST", "/api/check-ins", mina, 201, json=body)
    return mina, theo, view["check_in_id"]


async def test_participants_see_their_check_in_occurrences_in_full(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, check_in_id = await check_in(api)
    for who in (mina, theo):
        entries = await calendar(api, who)
        assert len(entries) >= 2
        assert {e["check_in_id"] for e in entries} == {check_in_id}
        assert all(e["sight"] == "full" and e["kind"] == "check_in" for e in entries)
        assert {p["person_id"] for p in entries[0]["people"]} == {mina.sid, theo.sid}


async def test_a_metamour_and_a_stranger_see_nothing_of_it(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, _ = await check_in(api)
    sam = await api.person("sam")
    await api.link(theo, sam)
    for who in (sam, await api.person("zed")):
        assert await calendar(api, who) == []


async def test_without_a_window_it_is_a_week_from_today(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, _, _ = await check_in(api)
    view = await api.call("GET", CAL, mina, 200)
    start = datetime.fromisoformat(view["start"])
    assert datetime.fromisoformat(view["end"]) - start == timedelta(days=7)
    assert start.time() == datetime.min.time() and view["time_zone"]


async def test_a_bad_window_is_a_problem_naming_the_field(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    cases = [
        ({"from": start.isoformat(), "to": start.isoformat()}, 422, "to"),
        ({"from": start.isoformat(), "to": (start + timedelta(days=471)).isoformat()}, 422, "to"),
        ({"from": "2026-10-01T00:00:00", "to": (start + timedelta(days=1)).isoformat()}, 422, "from"),
        ({"from": "yesterday"}, 400, "from"),
    ]
    for params, status, field in cases:
        body = assert_problem(await client.get(CAL, params=params, headers=mina.headers), status)
        assert field in [e["field"] for e in body["errors"]], body


async def test_anonymous_callers_are_refused(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.get(CAL), 401)
