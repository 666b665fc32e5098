"""The calendar over HTTP: GET /api/calendar, a window of one's time as the events layer of consent shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import plans
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


# The events layer for every kind of viewer
#
# Mina and Theo are partners, with a check-in together and an agreement between them.
# Mina's other partners: Sam, shown "busy", and Kai, shown nothing. Theo's other partners
# (Mina's metamours): Jules with a grant for `events` and `identity`, Robin with `events:busy`,
# Lee without a grant. Sky knows nobody.


@dataclass
class Cast:
    people: dict[str, Person]
    check_in_id: str
    agreement_id: str

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


async def events_cast(api: Api) -> Cast:
    people = {name: await api.person(name) for name in ("mina", "theo", "sam", "kai", "jules", "robin", "lee", "sky")}
    mina, theo = people["mina"], people["theo"]
    await api.link(mina, theo)
    for name in ("sam", "kai"):
        await api.link(mina, people[name])
    for name in ("jules", "robin", "lee"):
        await api.link(theo, people[name])
    body = {"partners": [{"person_id": people["sam"].sid, "shows": "busy"}, {"person_id": people["kai"].sid, "shows": "nothing"}]}
    await api.call("PUT", "/api/me/availability", mina, 200, json=body)
    agreement_id = (await api.create(mina, "Mina and Theo"))["agreement_id"]
    await api.invite(mina, agreement_id, theo.handle)
    await api.accept_invitation(theo, agreement_id)
    for audience, scopes in (("jules", ["events", "identity"]), ("robin", ["events:busy"])):
        grant = await api.call(
            "POST", f"/api/agreements/{agreement_id}/grants", mina, 201,
            json={"audience": people[audience].handle, "scopes": scopes},
        )  # fmt: skip
        await api.call("POST", f"/api/agreements/{agreement_id}/grants/{grant['grant_id']}/consent", theo, 200)
    started = await api.call(
        "POST", "/api/check-ins", mina, 201, json={**checkins_weekly(), "partner_id": theo.sid}
    )
    return Cast(people, started["check_in_id"], agreement_id)


def checkins_weekly() -> dict[str, Any]:
    return {"kind": "weekly", "weekday": date.today().weekday(), "at": "19:00", "time_zone": "Europe/Berlin", "starts_on": date.today().isoformat()}


def sights(entries: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    """What a calendar holds, as (sight, whose time) per entry, people by their names."""
    return {(e["sight"], tuple(p["name"] for p in e["people"])) for e in entries}


async def test_each_viewer_sees_a_check_in_in_full_busy_or_not_at_all(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    cast = await events_cast(api)
    mina, theo = cast["mina"].name, cast["theo"].name
    calendars = {name: await calendar(api, cast[name]) for name in cast.people}
    assert calendars["mina"] == calendars["theo"] and calendars["mina"]
    assert sights(calendars["mina"]) == {("full", (mina, theo))}
    # A check-in's content is its participants' own: even `events` shows it as busy time.
    assert sights(calendars["sam"]) == {("busy", (mina,))}
    assert sights(calendars["jules"]) == {("busy", (mina,)), ("busy", (theo,))}
    assert {e["sight"] for e in calendars["robin"]} == {"busy"} and len(calendars["robin"]) == 2 * len(calendars["mina"])
    for name in ("kai", "lee", "sky"):
        assert calendars[name] == [], name
    for name in ("sam", "jules", "robin"):
        text = str(calendars[name])
        assert cast.check_in_id not in text and cast.agreement_id not in text
        assert all(set(e) >= {"entry_id"} and e["check_in_id"] is None and e["kind"] is None for e in calendars[name])
    # Busy entry ids are the viewer's own: nobody else's calendar holds them.
    assert not {e["entry_id"] for e in calendars["sam"]} & {e["entry_id"] for e in calendars["jules"]}


async def test_choosing_nothing_takes_the_busy_time_away_and_a_block_only_from_the_blocker(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    cast = await events_cast(api)
    sam = cast["sam"]
    assert await calendar(api, sam)
    body = {"partners": [{"person_id": sam.sid, "shows": "nothing"}]}
    await api.call("PUT", "/api/me/availability", cast["mina"], 200, json=body)
    assert await calendar(api, sam) == []
    body = {"partners": [{"person_id": sam.sid, "shows": "busy"}]}
    await api.call("PUT", "/api/me/availability", cast["mina"], 200, json=body)
    assert await calendar(api, sam)
    # A block changes nothing the blocked person sees (they cannot tell); the blocker no longer sees their time.
    seen = await calendar(api, sam)
    await api.call("POST", "/api/me/blocks", cast["mina"], 201, json={"handle": sam.handle})
    assert await calendar(api, sam) == seen
    await api.call("POST", "/api/me/blocks", sam, 201, json={"handle": cast["mina"].handle})
    assert await calendar(api, sam) == []


def tomorrow_at(hour: int) -> datetime:
    return datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


async def propose(api: Api, proposer: Person, *invitees: Person, hour: int = 18, title: str = "Dinner at Lupo") -> str:
    start = tomorrow_at(hour)
    body = plans.plan_body(*invitees, title=title, place="Lupo", start=start.isoformat(), end=(start + timedelta(hours=3)).isoformat())
    return (await api.call("POST", "/api/plans", proposer, 201, json=body))["plan_id"]


async def test_each_viewer_sees_a_plan_in_full_busy_or_not_at_all(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    cast = await events_cast(api)
    await api.call("POST", f"/api/check-ins/{cast.check_in_id}/end", cast["mina"], 200)  # only the plan, below
    plan_id = await propose(api, cast["mina"], cast["theo"])
    await api.call("POST", f"/api/plans/{plan_id}/answer", cast["theo"], 200, json={"answer": "accepted"})
    mina, theo = cast["mina"].name, cast["theo"].name
    calendars = {name: await calendar(api, cast[name], days=3) for name in cast.people}
    for name in ("mina", "theo", "jules"):
        [entry] = calendars[name]
        assert (entry["sight"], entry["plan_id"], entry["title"], entry["place"], entry["status"]) == (
            "full", plan_id, "Dinner at Lupo", "Lupo", "accepted"
        ), name
        assert [p["name"] for p in entry["people"]] == [mina, theo]
    assert sights(calendars["sam"]) == {("busy", (mina,))}
    # Without `identity`, Mina is a pseudonym to Robin; Theo, his partner, is named as always.
    robins = {e["people"][0]["name"]: e for e in calendars["robin"]}
    assert len(robins) == 2 and theo in robins and mina not in robins
    assert all(e["sight"] == "busy" for e in robins.values())
    for name in ("kai", "lee", "sky"):
        assert calendars[name] == [], name
    for name in ("sam", "robin"):
        assert plan_id not in str(calendars[name]) and "Lupo" not in str(calendars[name])

    # Cancelled, it holds nobody's time: gone from every calendar.
    await api.call("POST", f"/api/plans/{plan_id}/cancel", cast["theo"], 200, json={"note": "ill"})
    for name in cast.people:
        assert await calendar(api, cast[name], days=3) == [], name


async def test_ones_own_overlapping_plans_are_conflicts(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await api.person("mina"), await api.person("theo"), await api.person("sam")
    await api.link(mina, theo)
    await api.link(mina, sam)
    first = await propose(api, mina, theo, hour=18)
    second = await propose(api, mina, sam, hour=20)
    apart = await propose(api, mina, sam, hour=21, title="Breakfast")  # starts as the first ends
    entries = {e["plan_id"]: e for e in await calendar(api, mina, days=3)}
    assert entries[first]["conflicts"] == [f"plan:{second}"]
    assert set(entries[second]["conflicts"]) == {f"plan:{first}", f"plan:{apart}"}
    # Theo sees only his own plan, and nothing it could clash with.
    [theos] = await calendar(api, theo, days=3)
    assert theos["plan_id"] == first and theos["conflicts"] == []


async def test_export_holds_my_calendar_as_get_shows_it_and_whether_i_have_a_feed(client: AsyncTestClient[Litestar]) -> None:
    """Theo's export holds Mina's busy time (she shows it him), exactly as GET /api/calendar shows the
    export's window; a stranger's holds no calendar entry; the feed's status, never its address."""
    api = Api(client)
    mina, theo, _ = await check_in(api)
    sam, zed = await api.person("sam"), await api.person("zed")
    await api.link(mina, sam)
    await api.call("PUT", "/api/me/availability", mina, 200, json={"partners": [{"person_id": theo.sid, "shows": "busy"}]})
    start = datetime.combine(date.today() + timedelta(days=3), datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
    body = plans.plan_body(sam, title="Climbing", start=start.isoformat(), end=(start + timedelta(hours=2)).isoformat())
    await api.call("POST", "/api/plans", mina, 201, json=body)
    issued = await api.call("POST", "/api/me/calendar-feed", theo, 201)
    export = await api.call("GET", "/api/me/export", theo, 200)
    window = {"from": export["calendar"]["start"], "to": export["calendar"]["end"]}
    assert export["calendar"] == await api.call("GET", CAL, theo, 200, params=window)
    assert any(e["sight"] == "busy" and e["people"][0]["name"] == mina.name for e in export["calendar"]["entries"])
    assert "Climbing" not in str(export) and sam.sid not in str(export)
    assert export["calendar_feed"]["active"] is True and issued["token"] not in str(export)
    markdown = (await client.get("/api/me/export.md", headers=theo.headers)).text
    assert "## Calendar (" in markdown and f"{mina.name}, busy" in markdown and "Climbing" not in markdown
    assert "## Calendar feed" in markdown and issued["token"] not in markdown
    stranger = await api.call("GET", "/api/me/export", zed, 200)
    assert stranger["calendar"]["entries"] == [] and stranger["calendar_feed"] == {"active": False, "issued_at": None}
