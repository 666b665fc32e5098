"""Availability over HTTP: my time zone, what each partner sees of my time, my booking rules, and a
partner's rules as far as they show them; bad input, idempotency, concurrent changes, blocks."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem, in_app
from tests.api.test_blocks import synced

ME = "/api/me/availability"

RULES: dict[str, Any] = {
    "quiet_nights": {"weekdays": ["friday"], "mode": "refuse", "shown_to": "partners"},
    "overnight_notice": {"hours": 48, "mode": "warn", "shown_to": "nobody"},
    "plans_per_week": {"limit": 3, "mode": "refuse", "shown_to": "nobody"},
    "buffer_after_date": {"hours": 12, "mode": "warn", "shown_to": "partners"},
}


def rules_of(person: Person) -> str:
    return f"/api/people/{person.sid}/availability"


async def test_a_new_person_shows_nothing_in_utc_with_no_rules(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    mine = await api.call("GET", ME, mina, 200)
    assert mine["time_zone"] == "UTC"
    assert [(p["person"]["person_id"], p["shows"]) for p in mine["partners"]] == [(theo.sid, "nothing")]
    assert all(v is None for v in mine["rules"].values())


async def test_i_choose_my_zone_what_a_partner_sees_and_my_rules(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await api.person("mina"), await api.person("theo"), await api.person("sam")
    await api.link(mina, theo)
    await api.link(sam, mina)
    body = {"time_zone": "Europe/Berlin", "partners": [{"person_id": sam.sid, "shows": "busy"}], "rules": RULES}
    changed = await api.call("PUT", ME, mina, 200, json=body)
    assert changed == await api.call("GET", ME, mina, 200)
    assert changed["time_zone"] == "Europe/Berlin" and changed["rules"] == RULES
    assert {p["person"]["person_id"]: p["shows"] for p in changed["partners"]} == {theo.sid: "nothing", sam.sid: "busy"}
    # A field left out stays as it is.
    changed = await api.call("PUT", ME, mina, 200, json={"partners": [{"person_id": theo.sid, "shows": "busy"}]})
    assert changed["time_zone"] == "Europe/Berlin" and changed["rules"] == RULES
    assert {p["shows"] for p in changed["partners"]} == {"busy"}
    # Rules are replaced as a whole: one left out is no longer set.
    changed = await api.call("PUT", ME, mina, 200, json={"rules": {"plans_per_week": RULES["plans_per_week"]}})
    assert changed["rules"] == {**dict.fromkeys(RULES), "plans_per_week": RULES["plans_per_week"]}


async def test_a_partner_sees_the_rules_shown_to_partners_and_nobody_else_sees_any(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    mina, theo, jules, sky = await api.person("mina"), await api.person("theo"), await api.person("jules"), await api.person("sky")
    await api.link(mina, theo)
    await api.link(theo, jules)  # Mina's metamour
    await api.call("PUT", ME, mina, 200, json={"time_zone": "Europe/Berlin", "rules": RULES})
    shown = await api.call("GET", rules_of(mina), theo, 200)
    assert shown["person"]["person_id"] == mina.sid and shown["time_zone"] == "Europe/Berlin"
    assert shown["rules"] == {
        **dict.fromkeys(RULES), "quiet_nights": RULES["quiet_nights"], "buffer_after_date": RULES["buffer_after_date"]
    }  # fmt: skip
    assert (await api.call("GET", rules_of(mina), mina, 200))["rules"] == RULES
    # A metamour, a stranger, anonymous: 404 exactly as for nobody at all.
    nobody = str(uuid.uuid4())
    for who in (jules, sky):
        r = await client.get(rules_of(mina), headers=who.headers)
        other = await client.get(f"/api/people/{nobody}/availability", headers=who.headers)
        assert_problem(r, 404)
        assert r.content.replace(mina.sid.encode(), b"") == other.content.replace(nobody.encode(), b"")
    assert_problem(await client.get(rules_of(mina)), 401)


async def test_nothing_shown_to_partners_shows_no_zone(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    await api.call("PUT", ME, mina, 200, json={"time_zone": "Europe/Berlin", "rules": {"plans_per_week": RULES["plans_per_week"]}})
    shown = await api.call("GET", rules_of(mina), theo, 200)
    assert shown["time_zone"] is None and all(v is None for v in shown["rules"].values())


async def test_an_ended_link_hides_the_rules_and_a_block_changes_nothing_the_blocked_can_see(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sam = await api.person("mina"), await api.person("theo"), await api.person("sam")
    link_id = await api.link(mina, theo)
    await api.link(mina, sam)
    await api.call("PUT", ME, mina, 200, json={"rules": RULES, "partners": [{"person_id": theo.sid, "shows": "busy"}]})
    await api.call("POST", f"/api/links/{link_id}/end", mina, 200)
    assert_problem(await client.get(rules_of(mina), headers=theo.headers), 404)
    assert [p["person"]["person_id"] for p in (await api.call("GET", ME, mina, 200))["partners"]] == [sam.sid]
    accord = client.app.state.accord
    assert await in_app(client, accord.visibility.availability_views.shows, mina.id, theo.id) == "nothing"
    # A block ends no link: Sam reads Mina's rules as before, and cannot tell.
    before = await client.get(rules_of(mina), headers=sam.headers)
    await api.call("POST", "/api/me/blocks", mina, 201, json={"person_id": sam.sid})
    after = await client.get(rules_of(mina), headers=sam.headers)
    assert (before.status_code, before.content) == (after.status_code, after.content) == (200, after.content)


async def test_what_a_partner_sees_can_be_chosen_for_partners_only(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo, sky = await api.person("mina"), await api.person("theo"), await api.person("sky")
    await api.link(mina, theo)
    before = await api.position()
    for someone in (sky.sid, str(uuid.uuid4())):
        r = await client.put(ME, headers=mina.headers, json={"partners": [{"person_id": someone, "shows": "busy"}]})
        assert_problem(r, 404)
    assert await api.position() == before
    accord = client.app.state.accord
    await api.call("PUT", ME, mina, 200, json={"partners": [{"person_id": theo.sid, "shows": "busy"}]})
    views = accord.visibility.availability_views
    assert await in_app(client, views.shows, mina.id, theo.id) == "busy"
    assert await in_app(client, views.shows, mina.id, sky.id) == "nothing"
    assert await in_app(client, views.time_zone, mina.id) == "UTC"


async def test_bad_input_names_the_field_and_appends_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    before = await api.position()
    for body, field, status in (
        ({"time_zone": "Mars/Olympus"}, "time_zone", 422),
        ({"time_zone": "x" * 65}, "time_zone", 400),
        ({"partners": [{"person_id": theo.sid, "shows": "everything"}]}, "shows", 400),
        ({"rules": {"quiet_nights": {"weekdays": ["someday"]}}}, "weekdays", 400),
        ({"rules": {"quiet_nights": {"weekdays": ["friday", "friday"]}}}, "rules.quiet_nights.weekdays", 422),
        ({"rules": {"plans_per_week": {"limit": 0}}}, "limit", 400),
        ({"rules": {"overnight_notice": {"hours": 48, "mode": "maybe"}}}, "mode", 400),
        ({"rules": {"buffer_after_date": {"hours": 12, "shown_to": "everyone"}}}, "shown_to", 400),
        ({"rules": {"buffer_after_date": {"hours": 12, "colour": "red"}}}, "colour", 400),
        ({"zone": "Europe/Berlin"}, "zone", 400),
    ):
        r = await client.put(ME, headers=mina.headers, json=body)
        assert_problem(r, status)
        assert field in r.text, (body, r.text)
    assert await api.position() == before


async def test_a_repeat_with_the_same_key_appends_nothing(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    body = {"time_zone": "Europe/Berlin"}
    first = await client.put(ME, headers=mina.with_key("tz-1"), json=body)
    position = await api.position()
    again = await client.put(ME, headers=mina.with_key("tz-1"), json=body)
    assert (first.status_code, again.status_code) == (200, 200) and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await api.position() == position
    assert_problem(await client.put(ME, headers=mina.with_key("tz-1"), json={"time_zone": "Asia/Tokyo"}), 422)


async def test_concurrent_changes_of_different_things_both_apply(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    changes = [
        {"time_zone": "Europe/Berlin"},
        {"partners": [{"person_id": theo.sid, "shows": "busy"}]},
        {"rules": RULES},
    ]
    answers = await asyncio.gather(*(client.put(ME, headers=mina.headers, json=c) for c in changes))
    assert [a.status_code for a in answers] == [200, 200, 200]
    mine = await api.call("GET", ME, mina, 200)
    assert mine["time_zone"] == "Europe/Berlin" and mine["rules"] == RULES
    assert mine["partners"][0]["shows"] == "busy"


async def test_my_open_pages_hear_my_change_and_my_partner_only_the_rules_i_show_them(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    hidden = {name: {**rule, "shown_to": "nobody"} for name, rule in RULES.items()}
    with await client.websocket_connect("/api/live") as mine, await client.websocket_connect("/api/live") as theirs:
        synced(mine, mina)
        synced(theirs, theo)
        await api.call("PUT", ME, mina, 200, json={"time_zone": "Europe/Berlin", "rules": hidden})
        changed_at = await api.position()
        # One frame for each event of the change; the last one holds all of it.
        while (frame := mine.receive_json(timeout=20))["position"] < changed_at:
            assert [c["key"] for c in frame["changes"]] == ["availability"], frame
        assert frame["type"] == "update" and frame["position"] == changed_at, frame
        [change] = [c for c in frame["changes"] if c["key"] == "availability"]
        assert change["view"] == await api.call("GET", ME, mina, 200)
        # Theo's next frame is about his own next step: nothing of Mina's rules, shown to nobody, came before it.
        await api.call("PUT", ME, theo, 200, json={"time_zone": "Asia/Tokyo"})
        frame = theirs.receive_json(timeout=20)
        assert frame["position"] == changed_at + 1 and [c["key"] for c in frame["changes"]] == ["availability"], frame
        assert frame["changes"][0]["view"]["theirs"] == []
        # A rule she shows partners reaches his open page at once, as GET answers him.
        await api.call("PUT", ME, mina, 200, json={"rules": {**hidden, "quiet_nights": RULES["quiet_nights"]}})
        shown_at = await api.position()
        while (frame := theirs.receive_json(timeout=20))["position"] < shown_at:
            assert [c["view"]["theirs"] for c in frame["changes"]] == [[]], frame  # the rest of his own step
        [change] = frame["changes"]
        assert change["key"] == "availability" and change["view"] == await api.call("GET", ME, theo, 200)
        [shown] = change["view"]["theirs"]
        assert shown["person"]["person_id"] == mina.sid and [k for k, v in shown["rules"].items() if v] == ["quiet_nights"]


async def test_my_export_holds_my_availability_as_get_shows_it(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, theo = await api.person("mina"), await api.person("theo")
    await api.link(mina, theo)
    body = {"time_zone": "Europe/Berlin", "partners": [{"person_id": theo.sid, "shows": "busy"}], "rules": RULES}
    await api.call("PUT", ME, mina, 200, json=body)
    exported = await api.call("GET", "/api/me/export", mina, 200)
    assert exported["availability"] == await api.call("GET", ME, mina, 200)
    md = (await client.get("/api/me/export.md", headers=mina.headers)).text
    assert "## Availability" in md and "Time zone: Europe/Berlin" in md and f"{theo.name} sees my other time as: busy" in md
    assert "Quiet nights (weekdays: friday): refuses, shown to partners" in md
    assert "Plans per week (limit: 3): refuses, shown to nobody" in md
