"""The feed shows each kind of viewer exactly their calendar: GET /calendar/<token>.ics against GET /api/calendar.

One world per module and store. Mina and Theo, partners, have an accepted
date, a proposed call and a cancelled overnight, and keep a weekly check-in
on Sundays at 02:30 in Berlin (so the spring change falls on one; the first
occurrence skipped, the second moved past the third); Mina and Sam,
partners, a monthly one on the 31st. Around them: Sam, whom Mina shows
her time as busy; Jo, Mina's partner, shown nothing; Ira, Theo's partner,
with a grant of `events` on an agreement of Mina and Theo; Kai, Theo's
partner, without one; Sky, a stranger; Lee, Mina's partner, shown busy and
then blocked by her (a block changes nothing Lee sees: he cannot tell). Each one's feed is parsed with
`icalendar`, its recurrences expanded with `recurring-ical-events`, and
compared with their calendar over the same window: the same events at the
same instants, each saying what the entry says, and nothing more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.read.ics import label
from tests.api.conftest import Api, Person, wait_until_ready
from tests.api.test_consent_matrix import grant

FEED = "/api/me/calendar-feed"
TODAY = datetime.combine(date.today(), time(0), tzinfo=UTC)
#: The compared window: tomorrow to 20 weeks on (past the last Sunday of March), inside every feed's window.
START, END = TODAY + timedelta(days=1), TODAY + timedelta(days=141)
VIEWERS = ("mina", "theo", "sam", "jo", "ira", "kai", "sky", "lee")


@dataclass
class World:
    people: dict[str, Person]
    tokens: dict[str, str]


def at(days: int, hour: int) -> datetime:
    return TODAY + timedelta(days=days, hours=hour)


def next_sunday() -> date:
    return (TODAY + timedelta(days=(6 - TODAY.weekday()) % 7 or 7)).date()


async def build(client: AsyncTestClient[Litestar]) -> World:
    await wait_until_ready(client)
    api = Api(client)
    p = {name: await api.person(name) for name in VIEWERS}
    mina, theo = p["mina"], p["theo"]
    await api.link(mina, theo)
    for partner in ("sam", "jo", "lee"):
        await api.link(mina, p[partner])
    for partner in ("ira", "kai"):
        await api.link(theo, p[partner])
    await api.call(
        "PUT", "/api/me/availability", mina, 200,
        json={"time_zone": "Europe/Berlin", "partners": [{"person_id": p[n].sid, "shows": "busy"} for n in ("sam", "lee")]},
    )  # fmt: skip
    await api.call("POST", "/api/me/blocks", mina, 201, json={"handle": p["lee"].handle})
    agreement_id = (await api.create(mina, "Mina and Theo"))["agreement_id"]
    await api.invite(mina, agreement_id, theo.handle)
    await api.accept_invitation(theo, agreement_id)
    await grant(api, agreement_id, mina, p["ira"].handle, ["events"], (theo,))
    dinner = await api.call(
        "POST", "/api/plans", mina, 201,
        json={"kind": "date", "title": "Dinner at Luigi's", "place": "Luigi's, Kastanienallee",
              "start": at(3, 18).isoformat(), "end": at(3, 22).isoformat(), "time_zone": "Europe/Berlin",
              "invitees": [theo.handle]},
    )  # fmt: skip
    await api.call("POST", f"/api/plans/{dinner['plan_id']}/answer", theo, 200, json={"answer": "accepted"})
    await api.call(
        "POST", "/api/plans", theo, 201,
        json={"kind": "call", "title": "Call about the trip", "start": at(10, 17).isoformat(),
              "end": at(10, 18).isoformat(), "time_zone": "Europe/Berlin", "invitees": [mina.handle]},
    )  # fmt: skip
    cancelled = await api.call(
        "POST", "/api/plans", mina, 201,
        json={"kind": "overnight", "title": "Cabin weekend", "start": at(12, 16).isoformat(),
              "end": at(13, 10).isoformat(), "time_zone": "Europe/Berlin", "invitees": [theo.handle]},
    )  # fmt: skip
    await api.call("POST", f"/api/plans/{cancelled['plan_id']}/cancel", theo, 200, json={"note": "sorry"})
    weekly = await api.call(
        "POST", "/api/check-ins", mina, 201,
        json={"kind": "weekly", "weekday": 6, "at": "02:30", "time_zone": "Europe/Berlin",
              "starts_on": next_sunday().isoformat(), "partner_id": theo.sid},
    )  # fmt: skip
    occurrences = f"/api/check-ins/{weekly['check_in_id']}/occurrences"
    await api.call("POST", f"{occurrences}/0/skip", theo, 200, json={"reason": "away"})
    moved_to = datetime.combine(next_sunday() + timedelta(days=8), time(18), tzinfo=UTC)
    await api.call("POST", f"{occurrences}/1/move", mina, 200, json={"to": moved_to.isoformat(), "reason": "travel"})
    await api.call(
        "POST", "/api/check-ins", p["sam"], 201,
        json={"kind": "monthly", "day": 31, "at": "19:00", "time_zone": "Europe/Berlin",
              "starts_on": START.date().isoformat(), "partner_id": mina.sid},
    )  # fmt: skip
    tokens = {name: (await api.call("POST", FEED, p[name], 201))["token"] for name in VIEWERS}
    return World(people=p, tokens=tokens)


_WORLDS: dict[int, World] = {}


@pytest.fixture
async def world(client: AsyncTestClient[Litestar]) -> World:
    if id(client) not in _WORLDS:
        _WORLDS[id(client)] = await build(client)
    return _WORLDS[id(client)]


def from_feed(feed: bytes) -> Counter[tuple[Any, ...]]:
    """Each instance in the window as (summary, start, end, location), from the feed alone."""
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(feed)).between(START, END)
    return Counter(
        (str(e["SUMMARY"]), e.start.astimezone(UTC), e.end.astimezone(UTC), str(e.get("LOCATION", "")) or None)
        for e in found
    )


def from_view(entries: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """The same of each entry of GET /api/calendar."""

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    return Counter(
        (
            "Busy" if e["sight"] == "busy" else e["title"] or label(e["kind"]),
            moment(e["start"]),
            moment(e["end"]),
            e["place"] if e["sight"] == "full" else None,
        )
        for e in entries
    )


async def both(client: AsyncTestClient[Litestar], world: World, name: str) -> tuple[bytes, list[dict[str, Any]]]:
    feed = await client.get(f"/calendar/{world.tokens[name]}.ics")
    assert feed.status_code == 200, feed.text
    view = await client.get(
        "/api/calendar", params={"from": START.isoformat(), "to": END.isoformat()}, headers=world.people[name].headers
    )
    assert view.status_code == 200, view.text
    return feed.content, view.json()["entries"]


@pytest.mark.parametrize("name", VIEWERS)
async def test_the_feed_holds_exactly_the_viewers_calendar(
    client: AsyncTestClient[Litestar], world: World, name: str
) -> None:
    feed, entries = await both(client, world, name)
    assert from_feed(feed) == from_view(entries)


async def test_each_kind_of_viewer_sees_what_they_were_meant_to(client: AsyncTestClient[Litestar], world: World) -> None:
    """The comparison above is not empty against empty: what each viewer's feed holds, by kind."""
    seen = {}
    for name in VIEWERS:
        feed, _ = await both(client, world, name)
        seen[name] = Counter(summary for summary, *_ in from_feed(feed).elements())
    days = [START.date() + timedelta(days=n) for n in range((END - START).days)]
    weeks = sum(day.weekday() == 6 for day in days) - 1  # Sundays, less the skipped one
    months = sum((day + timedelta(days=1)).day == 1 for day in days)  # the 31st, or the month's last day
    plans = Counter({"Dinner at Luigi's": 1, "Call about the trip": 1})  # the cancelled one holds no time
    assert seen["mina"] == plans + Counter({"Check-in": weeks + months})
    assert seen["theo"] == plans + Counter({"Check-in": weeks})
    # Mina shows Sam her time as busy: the check-ins and the dinner; not the call Theo proposed, which she
    # has not accepted (an invitation unanswered is no one's busy time).
    assert seen["sam"] == Counter({"Check-in": months, "Busy": weeks + 1})
    # `events`: the plans in full; a check-in's content is its participants' own, so its people are busy.
    assert seen["ira"] == plans + Counter({"Busy": 2 * weeks})
    # A block is not told: Lee goes on seeing Mina's time as busy, as she showed it him.
    assert seen["lee"] == Counter({"Busy": weeks + 1 + months})
    assert seen["jo"] == seen["kai"] == seen["sky"] == Counter()


async def test_busy_events_carry_nothing_but_the_time(client: AsyncTestClient[Litestar], world: World) -> None:
    theo = world.people["theo"]
    for name in ("sam", "ira"):
        feed, _ = await both(client, world, name)
        busy = [e for e in icalendar.Calendar.from_ical(feed).walk("VEVENT") if str(e["SUMMARY"]) == "Busy"]
        assert busy and all(set(e) == {"UID", "DTSTAMP", "SUMMARY", "DTSTART", "DTEND"} for e in busy)
        assert theo.sid not in feed.decode() and "Mina and Theo" not in feed.decode()
    # Sam sees only busy time: not a word of what it is, or with whom.
    feed, _ = await both(client, world, "sam")
    for secret in ("Luigi", "Dinner", "Call about", "Cabin", theo.name, theo.handle):
        assert secret not in feed.decode(), secret


async def test_a_participants_feed_names_people_as_they_see_them_with_stable_uids(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    feed, entries = await both(client, world, "mina")
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    series = [e for e in events if "RRULE" in e]
    assert sorted(e["RRULE"]["FREQ"][0] for e in series) == ["MONTHLY", "WEEKLY"]
    uids = {str(e["UID"]) for e in events}
    series_of = {e["entry_id"]: f"checkin:{e['check_in_id']}" for e in entries if e["kind"] == "check_in"}
    assert uids == {f"{series_of.get(e['entry_id'], e['entry_id'])}@accord" for e in entries}
    for entry in entries:
        uid = f"{series_of.get(entry['entry_id'], entry['entry_id'])}@accord"
        event = next(e for e in events if str(e["UID"]) == uid)
        assert all(person["name"] in str(event["DESCRIPTION"]) for person in entry["people"])
        if entry["kind"] != "check_in":
            assert str(event["LOCATION"] if entry["place"] else "") == (entry["place"] or "")
            assert str(event["STATUS"]) == {"accepted": "CONFIRMED", "proposed": "TENTATIVE"}[entry["status"]]
    again, _ = await both(client, world, "mina")
    assert {str(e["UID"]) for e in icalendar.Calendar.from_ical(again).walk("VEVENT")} == uids


async def test_a_revoked_feed_shows_nothing_and_a_new_one_the_same_calendar(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    api, sam = Api(client), world.people["sam"]
    before, _ = await both(client, world, "sam")
    await api.call("DELETE", FEED, sam, 200)
    assert (await client.get(f"/calendar/{world.tokens['sam']}.ics")).status_code == 404
    world.tokens["sam"] = (await api.call("POST", FEED, sam, 201))["token"]
    after, entries = await both(client, world, "sam")
    assert from_feed(after) == from_feed(before) == from_view(entries)
