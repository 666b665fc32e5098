"""Calendar feeds on a real `accord serve` (uvicorn), read over real HTTP as a calendar app reads them.

The address the API gives is the one that works, with no sign-in; a
replaced or revoked one then answers the same 404 as a made-up one; the feed
parses with `icalendar` and expands with `recurring-ical-events` to the
calendar GET /api/calendar shows (with HEAD answered alike, as some apps ask first).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

import httpx
import icalendar
import recurring_ical_events

from tests.e2e.conftest import Api, Server

FEED = "/api/me/calendar-feed"


async def test_a_feed_on_a_real_server_issued_read_replaced_and_revoked(server: Server, api: Api) -> None:
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    await api.call(
        "POST", "/api/check-ins", mina, 201,
        json={"kind": "weekly", "weekday": 2, "at": "19:00", "time_zone": "Europe/Berlin",
              "starts_on": (date.today() + timedelta(days=1)).isoformat(), "partner_id": theo.id},
    )  # fmt: skip
    first = await api.call("POST", FEED, mina, 201)
    assert first["url"] == f"{server.url}/calendar/{first['token']}.ics"

    async with httpx.AsyncClient(timeout=15) as app:  # a calendar app: no token, no cookie
        r = await app.get(first["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "text/calendar; charset=utf-8"
        head = await app.head(first["url"])
        assert head.status_code == 200 and head.content == b""
        start = datetime.combine(date.today() + timedelta(days=1), time(0), tzinfo=UTC)
        end = start + timedelta(days=70)
        found = recurring_ical_events.of(icalendar.Calendar.from_ical(r.content)).between(start, end)
        window = {"from": start.isoformat(), "to": end.isoformat()}
        view = await api.call("GET", "/api/calendar", mina, 200, params=window)
        assert sorted(e.start.astimezone(UTC) for e in found) == sorted(
            datetime.fromisoformat(e["start"]).astimezone(UTC) for e in view["entries"]
        )
        assert len(found) == 10

        second = await api.call("POST", FEED, mina, 201)
        made_up = await app.get(f"{server.url}/calendar/{secrets.token_urlsafe(32)}.ics")
        replaced = await app.get(first["url"])
        assert made_up.status_code == replaced.status_code == 404 and made_up.content == replaced.content
        assert (await app.get(second["url"])).status_code == 200

        await api.call("DELETE", FEED, mina, 200)
        revoked = await app.get(second["url"])
        assert revoked.status_code == 404 and revoked.content == made_up.content
