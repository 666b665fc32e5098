"""An ended session's open websockets close at once (4401); the person's other sockets stay open.

Real servers and the real websockets client. That a kept socket stays open is
shown by ordering, never by waiting: it answers a ping after the ended one
was closed, and still receives the next update.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Api, Live, Person, Server, Servers
from tests.servers import PASSWORD

CLOSE_SIGNED_OUT = 4401


async def signed_out(live: Live) -> None:
    """The socket is told its session ended, then closed with 4401."""
    frame = await live.recv()
    assert frame["type"] == "error" and frame["code"] == "signed_out", frame
    with pytest.raises(ConnectionClosed) as closed:
        await live.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_SIGNED_OUT


async def still_open(live: Live) -> None:
    await live.send({"type": "ping"})
    assert await live.recv() == {"type": "pong"}


async def another_session(api: Api, who: Person) -> Person:
    session = await api.sign_in(who.handle)
    return Person(who.id, who.handle, who.name, session["token"])


async def session_id_of(api: Api, who: Person, token_owner: Person) -> str:
    """The id the list gives `token_owner`'s session, asked by `who` (not current unless the same)."""
    sessions = await api.call("GET", "/api/me/sessions", who, 200)
    [found] = [s for s in sessions if s["current"] == (who.token == token_owner.token)]
    return found["session_id"]


async def test_ending_a_session_closes_its_socket_and_keeps_the_others(
    server: Server, api: Api
) -> None:
    laptop = await api.person("mina")
    phone = await another_session(api, laptop)
    on_laptop, on_phone = (
        await Live.open(server, laptop),
        await Live.open(server, phone),
    )

    phone_session = await session_id_of(api, laptop, phone)
    await api.call("DELETE", f"/api/me/sessions/{phone_session}", laptop, 204)

    await signed_out(on_phone)
    await still_open(on_laptop)
    created = await api.create(laptop, "Still live")
    change = await on_laptop.change_to(f"agreement:{created['agreement_id']}")
    assert change["view"]["title"] == "Still live"


async def test_signing_out_closes_that_sessions_socket(
    server: Server, api: Api
) -> None:
    laptop = await api.person("jo")
    phone = await another_session(api, laptop)
    on_laptop, on_phone = (
        await Live.open(server, laptop),
        await Live.open(server, phone),
    )

    await api.call("DELETE", "/api/sessions/current", phone, 204)

    await signed_out(on_phone)
    await still_open(on_laptop)


async def test_a_new_password_closes_the_other_sessions_sockets(
    server: Server, api: Api
) -> None:
    laptop = await api.person("sam")
    phone, tablet = (
        await another_session(api, laptop),
        await another_session(api, laptop),
    )
    on_laptop, on_phone, on_tablet = [
        await Live.open(server, who) for who in (laptop, phone, tablet)
    ]
    on_laptop_too = await Live.open(server, laptop)

    body = {"current_password": PASSWORD, "new_password": "a new and longer passphrase"}
    await api.call("PUT", "/api/me/password", laptop, 204, json=body)

    await signed_out(on_phone)
    await signed_out(on_tablet)
    await still_open(on_laptop)
    await still_open(on_laptop_too)


async def test_signing_out_everywhere_closes_every_socket(
    server: Server, api: Api
) -> None:
    laptop = await api.person("ana")
    phone = await another_session(api, laptop)
    sockets = [await Live.open(server, who) for who in (laptop, phone)]

    await api.call("DELETE", "/api/me/sessions", laptop, 204)

    for live in sockets:
        await signed_out(live)


async def test_an_ended_session_cannot_open_a_socket(server: Server, api: Api) -> None:
    me = await api.person("ben")
    await api.call("DELETE", "/api/sessions/current", me, 204)
    with pytest.raises(AssertionError, match="unauthorized"):
        await Live.open(server, me)


@pytest.mark.postgres
async def test_a_session_ended_through_one_process_closes_its_socket_on_another(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    # The fallback poll is a minute: only the notice can close the socket within the test's wait.
    one, two = (
        servers.start(url, ACCORD_POLL_INTERVAL="60"),
        servers.start(url, ACCORD_POLL_INTERVAL="60"),
    )
    async with httpx.AsyncClient(base_url=one.url, timeout=15) as on_one:
        api = Api(on_one)
        laptop = await api.person("kai")
        phone = await another_session(api, laptop)
        on_laptop, on_phone = await Live.open(two, laptop), await Live.open(two, phone)

        phone_session = await session_id_of(api, laptop, phone)
        await api.call("DELETE", f"/api/me/sessions/{phone_session}", laptop, 204)

        await signed_out(on_phone)
        await still_open(on_laptop)
