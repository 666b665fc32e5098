"""The calendar, live: real servers, the real websockets client.

Whoever's calendar view a change alters gets the fresh view (the same GET /api/calendar answers
for the window the push covers): the participants in full, a partner shown "busy" the busy time.
Someone whose view it does not alter (a partner shown nothing, a stranger) gets nothing at all.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from tests.e2e.conftest import Api, Live, Server

CAL = "/api/calendar"


async def calendar(api: Api, who: Any, view: dict[str, Any]) -> dict[str, Any]:
    return await api.call("GET", CAL, who, 200, params={"from": view["start"], "to": view["end"]})


async def test_a_calendar_change_reaches_exactly_those_whose_view_it_changes(server: Server, api: Api) -> None:
    mina, theo, sam, kai, sky = [await api.person(name) for name in ("mina", "theo", "sam", "kai", "sky")]
    for other in (theo, sam, kai):
        await api.link(mina, other)
    body = {"partners": [{"person_id": sam.id, "shows": "busy"}, {"person_id": kai.id, "shows": "nothing"}]}
    await api.call("PUT", "/api/me/availability", mina, 200, json=body)
    lives = {name: await Live.open(server, who) for name, who in (("theo", theo), ("sam", sam), ("kai", kai), ("sky", sky))}

    weekly = {"kind": "weekly", "weekday": date.today().weekday(), "at": "19:00", "time_zone": "Europe/Berlin", "starts_on": date.today().isoformat()}
    started = await api.call("POST", "/api/check-ins", mina, 201, json={**weekly, "partner_id": theo.id})

    change = await lives["theo"].change_to("calendar")
    assert change["view"] == await calendar(api, theo, change["view"])
    assert {e["check_in_id"] for e in change["view"]["entries"]} == {started["check_in_id"]}
    change = await lives["sam"].change_to("calendar")
    assert change["view"] == await calendar(api, sam, change["view"])
    assert {(e["sight"], e["people"][0]["name"]) for e in change["view"]["entries"]} == {("busy", mina.name)}
    for name in ("kai", "sky"):
        await lives[name].nothing_pending()
        assert started["check_in_id"] not in json.dumps(lives[name].frames)

    # Mina shows Sam nothing from now on: his calendar is empty, so its view goes.
    body = {"partners": [{"person_id": sam.id, "shows": "nothing"}]}
    await api.call("PUT", "/api/me/availability", mina, 200, json=body)
    assert (await lives["sam"].change_to("calendar")).get("removed")
    # Theo's calendar did not change: whatever else reaches him before a pong, it is not his calendar.
    await lives["theo"].send({"type": "ping"})
    while (frame := await lives["theo"].recv()) != {"type": "pong"}:
        assert "calendar" not in {c["key"] for c in frame.get("changes", [])}, frame
    for live in lives.values():
        await live.close()
