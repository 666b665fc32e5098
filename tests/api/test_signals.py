"""Signals over HTTP: channels both people open, sending, seen, expiry that erases the note, limits,
and who may see any of it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Api, Person, assert_problem
from tests.api.test_at_rest import leaked, raw_dump

S = "/api/signals"


async def channel(api: Api, a: Person, b: Person, open_: bool = True) -> None:
    await api.call("PUT", f"{S}/channels/{b.sid}", a, 200, json={"open": open_})


async def partners_with_channel(api: Api) -> tuple[Person, Person]:
    mina, sam = await api.person("mina"), await api.person("sam")
    await api.link(mina, sam)
    await channel(api, mina, sam)
    await channel(api, sam, mina)
    return mina, sam


async def send(api: Api, who: Person, to: list[Person], kind: str = "home_safe", note: str | None = None) -> Any:
    body: dict[str, Any] = {"to": [p.sid for p in to], "kind": kind}
    if note is not None:
        body["note"] = note
    return await api.call("POST", S, who, 201, json=body)


async def test_partners_open_a_channel_and_a_signal_reaches_the_other(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    sent = await send(api, sam, [mina], note="got the last train")
    assert sent["kind"] == "home_safe" and sent["label"] == "Home safe" and sent["relation"] == "sender"
    assert [r["person"]["person_id"] for r in sent["to"]] == [mina.sid]
    mine = await api.call("GET", S, mina, 200)
    [received] = mine["received"]
    assert received["note"] == "got the last train" and received["sender"]["person_id"] == sam.sid
    assert received["to"] == [] and not received["seen_by_me"]
    assert [c["person"]["person_id"] for c in mine["channels"]] == [sam.sid]
    inbox = await api.call("GET", "/api/me/inbox", mina, 200)
    assert [i["kind"] for i in inbox["items"]] == ["signal"]
    # Seen: shown to the sender only when the recipient allows read receipts.
    await api.call("POST", f"{S}/{received['signal_id']}/seen", mina, 200)
    assert (await api.call("GET", f"{S}/{sent['signal_id']}", sam, 200))["to"][0]["seen_at"] is None
    await api.call("PUT", "/api/signals/settings", mina, 200, json={"read_receipts": True})
    assert (await api.call("GET", f"{S}/{sent['signal_id']}", sam, 200))["to"][0]["seen_at"] is not None
    assert (await api.call("GET", "/api/me/inbox", mina, 200))["items"] == []


async def test_a_signal_reaches_only_along_a_channel_both_opened(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sam = await api.person("mina"), await api.person("sam")
    await api.link(mina, sam)
    await channel(api, sam, mina)  # only Sam's side
    offered = (await api.call("GET", S, mina, 200))["channels"]
    assert [(c["opened"], c["offered"]) for c in offered] == [(False, True)]
    sent = await send(api, sam, [mina], note="one side only")
    assert (await api.call("GET", S, mina, 200))["received"] == []
    r = await client.get(f"{S}/{sent['signal_id']}", headers=mina.headers)
    assert r.status_code == 404
    # Mina opens hers: now it flows; she closes it: at once it does not, and Sam's answer is the same.
    await channel(api, mina, sam)
    assert (await api.call("GET", S, sam, 200))["channels"][0] == {
        **(await api.call("GET", S, sam, 200))["channels"][0], "opened": True, "offered": False
    }
    await send(api, sam, [mina])
    assert len((await api.call("GET", S, mina, 200))["received"]) == 1
    before = (await api.call("GET", S, sam, 200))["channels"]
    await channel(api, mina, sam, False)
    assert (await api.call("GET", S, sam, 200))["channels"] == before  # closing is silent
    answer = await send(api, sam, [mina], kind="still_here")
    assert [r["person"]["person_id"] for r in answer["to"]] == [mina.sid]
    assert [s["kind"] for s in (await api.call("GET", S, mina, 200))["received"]] == ["home_safe"]


async def test_a_stranger_cannot_even_be_offered_a_channel(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sky = await api.person("mina"), await api.person("sky")
    r = await client.put(f"{S}/channels/{sky.id}", headers=mina.headers, json={"open": True})
    other = await client.put(f"{S}/channels/{uuid.uuid4()}", headers=mina.headers, json={"open": True})
    assert r.status_code == 404 and (r.status_code, r.content.replace(sky.sid.encode(), b"")) == (
        other.status_code, other.content.replace(other.request.url.path.split("/")[-1].encode(), b"")
    )


async def test_nobody_else_sees_a_signal(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    jo = await api.person("jo")
    await api.link(sam, jo)  # Mina's metamour
    sent = await send(api, sam, [mina], note="for mina only")
    for who in (jo, await api.person("sky")):
        r = await client.get(f"{S}/{sent['signal_id']}", headers=who.headers)
        other = await client.get(f"{S}/{uuid.uuid4()}", headers=who.headers)
        assert r.status_code == 404 and r.content.count(b"signal") == other.content.count(b"signal")
        assert_problem(await client.post(f"{S}/{sent['signal_id']}/seen", headers=who.headers), 404)
        assert "for mina only" not in str(await api.call("GET", S, who, 200))


async def test_bad_input_names_the_field(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    before = await api.position()
    for body, field, status in (
        ({"to": [sam.sid], "kind": "hello"}, "kind", 422),
        ({"to": [sam.sid], "kind": "home_safe", "note": "x" * 281}, "note", 400),
        ({"to": [], "kind": "home_safe"}, "to", 400),
        ({"to": [mina.sid], "kind": "home_safe"}, "to", 422),
    ):
        r = await client.post(S, headers=mina.headers, json=body)
        assert_problem(r, status)
        assert field in r.text, r.text
    r = await client.put("/api/signals/settings", headers=mina.headers, json={"quiet_from": 22})
    assert_problem(r, 422)
    assert await api.position() == before


async def expire(client: AsyncTestClient[Litestar], after: timedelta, done: Any) -> None:
    """Move the app's clock on by `after` until `done()` holds (the scheduler expired it); then back."""
    accord = client.app.state.accord
    real = accord.clock
    accord.clock = lambda: real() + after
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not await done():
            assert asyncio.get_running_loop().time() < deadline, "the signal never expired"
            await asyncio.sleep(0.05)
    finally:
        accord.clock = real


def data_keys(store_url: str, owners: list[str]) -> int:
    """How many of these data keys the database holds, read raw (beside the app)."""
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            marks = ",".join("?" * len(owners))
            return conn.execute(f"SELECT count(*) FROM accord_keys WHERE owner IN ({marks})", owners).fetchone()[0]
    import psycopg

    with psycopg.connect(store_url) as conn:
        return conn.execute("SELECT count(*) FROM accord_keys WHERE owner = ANY(%s::uuid[])", (owners,)).fetchone()[0]


def command_records(store_url: str, owner: str) -> int:
    """How many recorded command results are owned by `owner` (their command id starts with it)."""
    query = "SELECT count(*) FROM accord_commands WHERE command_id LIKE "
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            return conn.execute(query + "?", (f"{owner}:%",)).fetchone()[0]
    import psycopg

    with psycopg.connect(store_url) as conn:
        return conn.execute(query + "%s", (f"{owner}:%",)).fetchone()[0]


async def test_expiry_erases_the_note_and_keeps_what_the_sender_chose(
    client: AsyncTestClient[Litestar], store_url: str
) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    await api.call("PUT", "/api/signals/settings", sam, 200, json={"expiry_hours": 2})
    marker = f"mk{uuid.uuid4().hex[:12]}"
    body = {"to": [mina.sid], "kind": "home_safe", "note": f"{marker} kept kind"}
    kept = await api.call("POST", S, sam, 201, json=body, headers=sam.with_key("home-1"))
    assert await api.call("POST", S, sam, 201, json=body, headers=sam.with_key("home-1")) == kept  # a repeat
    # The answer kept for a repeat holds the note: it is recorded under the signal, sealed with its key.
    assert command_records(store_url, kept["signal_id"]) == 1
    await api.call("PUT", "/api/signals/settings", sam, 200, json={"expiry_hours": 2, "keep": "nothing"})
    gone = await send(api, sam, [mina], kind="need_space_tonight", note=f"{marker} nothing stays")
    assert leaked(raw_dump(store_url), {"note": marker}) == []  # sealed at rest from the start
    assert data_keys(store_url, [kept["signal_id"], gone["signal_id"]]) == 2

    async def expired() -> bool:
        return (await client.get(f"{S}/{kept['signal_id']}", headers=sam.headers)).status_code == 404 and (
            (await api.call("GET", S, sam, 200))["kept"] != []
        )

    await expire(client, timedelta(hours=2, minutes=1), expired)
    mine = await api.call("GET", S, sam, 200)
    assert mine["sent"] == [] and [k["kind"] for k in mine["kept"]] == ["home_safe"]
    assert mine["kept"][0]["signal_id"] == kept["signal_id"]
    assert (await api.call("GET", S, mina, 200))["received"] == []
    for signal in (kept, gone):
        assert (await client.get(f"{S}/{signal['signal_id']}", headers=mina.headers)).status_code == 404
    # Its own key is gone: whoever holds the master key and a dump cannot read the note either.
    assert data_keys(store_url, [kept["signal_id"], gone["signal_id"]]) == 0
    assert leaked(raw_dump(store_url), {"note": marker}) == []


async def test_signals_are_rate_limited_per_sender_and_per_recipient(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    accord = client.app.state.accord
    sender, recipient = accord.signals.per_sender, accord.signals.per_recipient
    limit_sender, limit_recipient = sender.limit, recipient.limit
    sender.limit, recipient.limit = 3, 2
    try:
        for _ in range(2):
            await send(api, sam, [mina])
        # Over Mina's limit: answered as if it went, but it does not reach her.
        answer = await send(api, sam, [mina], kind="still_here")
        assert [r["person"]["person_id"] for r in answer["to"]] == [mina.sid]
        assert len((await api.call("GET", S, mina, 200))["received"]) == 2
        r = await client.post(S, headers=sam.headers, json={"to": [mina.sid], "kind": "home_safe"})
        assert_problem(r, 429)
    finally:
        sender.limit, recipient.limit = limit_sender, limit_recipient


async def test_quiet_hours_and_settings_round_trip(client: AsyncTestClient[Litestar]) -> None:
    api = Api(client)
    mina = await api.person("mina")
    assert (await api.call("GET", "/api/signals/settings", mina, 200))["expiry_hours"] == 24
    body = {"expiry_hours": 12, "read_receipts": True, "quiet_from": 22, "quiet_until": 7, "time_zone": "Europe/Berlin", "keep": "nothing"}
    assert await api.call("PUT", "/api/signals/settings", mina, 200, json=body) == body
    assert await api.call("GET", "/api/signals/settings", mina, 200) == body


async def with_reminders(api: Api, who: Person) -> None:
    """`who` has a confirmed address and is reminded of signals."""
    from tests import mailbox

    address = f"{who.handle}@example.org"
    await api.call("PUT", "/api/me/email", who, 200, json={"address": address})
    [message] = mailbox.shared().wait_for(address)
    await api.call("POST", "/api/me/email/confirm", who, 200, json={"token": mailbox.confirm_token(message)})
    await api.call("PUT", "/api/me/email/kinds", who, 200, json={"kinds": ["signal"]})


async def test_in_quiet_hours_signals_arrive_and_reminders_wait(make_client: Any) -> None:
    """The scan is run here, directly, at known moments (another app may lead the scheduler)."""
    from tests import mailbox

    fast = {"reminder_delay_seconds": 0, "reminder_interval_seconds": 0, "reminder_scan_seconds": 3600.0}
    async with make_client(**fast) as client:
        api = Api(client)
        accord = client.app.state.accord

        async def scan() -> int:
            """One reminder scan, on the app's own event loop (the test client runs it in a thread of its own)."""
            loop = accord._tasks[0].get_loop()
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(accord.reminders.remind_due(datetime.now(UTC)), loop))

        sam, mina, ben = await api.person("sam"), await api.person("mina"), await api.person("ben")
        for other in (mina, ben):
            await api.link(sam, other)
            await channel(api, sam, other)
            await channel(api, other, sam)
            await with_reminders(api, other)
        hour = datetime.now(UTC).hour
        quiet = {"quiet_from": (hour - 1) % 24, "quiet_until": (hour + 2) % 24}
        await api.call("PUT", f"{S}/settings", mina, 200, json=quiet)
        box = mailbox.shared()
        address = {p.handle: f"{p.handle}@example.org" for p in (mina, ben)}
        mail_before = {h: len(box.to(a)) for h, a in address.items()}

        await send(api, sam, [mina, ben])
        assert len((await api.call("GET", S, mina, 200))["received"]) == 1  # it arrives all the same
        await scan()
        box.wait_for(address[ben.handle], count=mail_before[ben.handle] + 1)
        assert len(box.to(address[mina.handle])) == mail_before[mina.handle]  # hers waits
        # Quiet hours over: her reminder goes, saying only that something waits.
        await api.call("PUT", f"{S}/settings", mina, 200, json={})
        assert await scan() == 1
        [*_, reminder] = box.wait_for(address[mina.handle], count=mail_before[mina.handle] + 1)
        assert "Home safe" not in mailbox.body(reminder) and sam.name not in mailbox.body(reminder)


async def test_closing_a_side_that_is_not_open_is_answered_alike(client: AsyncTestClient[Litestar]) -> None:
    """Closing is silent and idempotent: the same answer for a side never opened, one closed twice,
    and someone who does not exist."""
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    await channel(api, mina, sam, False)
    for person_id in (sam.sid, sam.sid, str(uuid.uuid4())):
        answer = await api.call("PUT", f"{S}/channels/{person_id}", mina, 200, json={"open": False})
        assert answer == {"person_id": person_id, "opened": False}


async def test_my_export_holds_my_signals_as_i_see_them_and_none_of_anyone_elses(
    client: AsyncTestClient[Litestar],
) -> None:
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    sent = await send(api, sam, [mina], note="export-me home by one")
    for who in (mina, sam):
        export = await api.call("GET", "/api/me/export", who, 200)
        assert export["signals"] == await api.call("GET", S, who, 200)
        markdown = (await client.get("/api/me/export.md", headers=who.headers)).text
        assert "## Signals" in markdown and "export-me home by one" in markdown and "Home safe" in markdown
    jo = await api.person("jo")
    export = await api.call("GET", "/api/me/export", jo, 200)
    assert sent["signal_id"] not in str(export) and "export-me" not in str(export)
    assert "## Signals" not in (await client.get("/api/me/export.md", headers=jo.headers)).text


async def test_a_block_stops_signals_at_once_and_the_sender_cannot_tell(client: AsyncTestClient[Litestar]) -> None:
    """Blocking does not end the link or touch the channel, but nothing the blocked person sends
    reaches the blocker any more, what reached them before is gone from their view, and the
    sender's answers are exactly as before. Unblocking restores nothing."""
    api = Api(client)
    mina, sam = await partners_with_channel(api)
    before = await send(api, sam, [mina], note="before the block")
    await api.call("POST", "/api/me/blocks", mina, 201, json={"person_id": sam.sid})
    mine = await api.call("GET", S, mina, 200)
    assert mine["received"] == [] and not any(c["offered"] for c in mine["channels"])
    assert (await client.get(f"{S}/{before['signal_id']}", headers=mina.headers)).status_code == 404
    assert [i["kind"] for i in (await api.call("GET", "/api/me/inbox", mina, 200))["items"]] == []

    during = await send(api, sam, [mina], note="during the block")
    # The sender's view of either is what it would be had it arrived.
    assert [t["person"]["person_id"] for t in during["to"]] == [mina.sid]
    assert (await api.call("GET", f"{S}/{before['signal_id']}", sam, 200))["to"] == before["to"]
    assert [s["signal_id"] for s in (await api.call("GET", S, sam, 200))["sent"]] == [during["signal_id"], before["signal_id"]]

    [block] = await api.call("GET", "/api/me/blocks", mina, 200)
    await api.call("DELETE", f"/api/me/blocks/{block['block_id']}", mina, 200)
    received = (await api.call("GET", S, mina, 200))["received"]
    # What reached her before comes back into view; what was sent during the block never reached her.
    assert [s["signal_id"] for s in received] == [before["signal_id"]]
