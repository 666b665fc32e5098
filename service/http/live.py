"""`/api/live`: the websocket that pushes consented views as they change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from service.accounts import SignInFailed, token_digest
from service.application import Accord
from service.http.deps import AccordDep
from service.live.frames import (
    Auth,
    Error,
    Ping,
    Pong,
    Ready,
    Reconnect,
    decode_client,
    encode,
)
from service.live.hub import Connection
from service.store import StoreError
from service.store.security import session_id

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
#: Close codes in the application range.
CLOSE_UNAUTHORIZED = 4401
CLOSE_FELL_BEHIND = 4008
CLOSE_TRY_AGAIN = 1013
#: A client too slow to take a goodbye within this is simply dropped.
GOODBYE_TIMEOUT = 2.0
#: How long a socket waits for a starting process to finish catching up.
CATCH_UP_WAIT = 10.0
UNAVAILABLE = "the service is temporarily unavailable; reconnect with since"


async def _authenticate(socket: WebSocket, accord: Accord) -> tuple[UUID, Auth, str] | None:
    """The first frame must be `auth`; a bad one is told why and the socket closed.

    A StoreError (the database cannot be reached) is raised: it is no fault of the client's.
    """
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            raw = await socket.receive_text()
        frame = decode_client(raw)
    except TimeoutError:
        await _refuse(socket, "auth_timeout", "send an auth frame first")
        return None
    except msgspec.ValidationError as error:
        await _refuse(socket, "bad_frame", str(error))
        return None
    except msgspec.DecodeError:
        await _refuse(socket, "bad_frame", "frames are JSON objects with a `type`")
        return None
    if not isinstance(frame, Auth):
        await _refuse(socket, "unauthorized", "the first frame must be auth")
        return None
    token = frame.token
    if not token:
        # A cookie is sent by the browser on its own: only trust it from our own pages.
        if not _same_origin(socket):
            await _refuse(socket, "unauthorized", "cookie sign-in is only accepted from this site")
            return None
        token = socket.cookies.get("accord_session", "")
    try:
        person = await accord.authenticate(token) if token else None
    except SignInFailed:
        person = None
    if person is None:
        await _refuse(socket, "unauthorized", "the token is unknown, expired or signed out")
        return None
    return person, frame, token


def _same_origin(socket: WebSocket) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host", "")


async def _refuse(socket: WebSocket, code: str, detail: str) -> None:
    await socket.send_text(encode(Error(code=code, detail=detail)))
    await socket.close(code=CLOSE_UNAUTHORIZED, reason=code)


async def _still_signed_in(accord: Accord, token: str) -> bool:
    try:
        await accord.authenticate(token)
    except SignInFailed:
        return False
    except StoreError:
        pass  # no session can end while the database is away, and the hub hears of any that does
    return True


async def _unavailable(socket: WebSocket, error: StoreError) -> None:
    """The database cannot be reached: say so, as while starting, and close with 1013."""
    log.warning("live socket sent away, store unavailable: %s", type(error.__cause__ or error).__name__)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(GOODBYE_TIMEOUT):
            await socket.send_text(encode(Reconnect(detail=UNAVAILABLE)))
            await socket.close(code=CLOSE_TRY_AGAIN, reason="unavailable")


async def _send(socket: WebSocket, connection: Connection) -> None:
    """Send what is queued until the socket is gone or has fallen behind."""
    while (data := await connection.next()) is not None:
        await socket.send_text(data.decode())


async def _receive(socket: WebSocket, connection: Connection) -> None:
    while True:
        raw = await socket.receive_text()
        try:
            frame = decode_client(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            connection.offer(Error(code="bad_frame", detail=str(error)))
            continue
        match frame:
            case Ping():
                connection.offer(Pong())
            case Auth():
                connection.offer(Error(code="bad_frame", detail="already authenticated"))


@websocket("/api/live")
async def live(socket: WebSocket, accord: AccordDep) -> None:
    await socket.accept()
    try:
        signed_in = await _authenticate(socket, accord)
    except StoreError as error:
        await _unavailable(socket, error)
        return
    if signed_in is None:
        return
    person, auth, token = signed_in
    if not await accord.wait_until_tracking(CATCH_UP_WAIT):
        # Still catching up after a start: what it would send now would be empty.
        await socket.send_text(encode(Reconnect(detail="server is starting; reconnect with since")))
        await socket.close(code=CLOSE_TRY_AGAIN, reason="starting")
        return
    await socket.send_text(encode(Ready(person_id=str(person))))
    try:
        # What they may see now, computed as no log position is being taken into account.
        connection = await accord.connect(person, auth.since)
    except StoreError as error:
        await _unavailable(socket, error)
        return
    connection.session = session_id(token_digest(token))
    if not await _still_signed_in(accord, token):
        connection.sign_out()  # its session ended while it was connecting
    # This task sends; one more receives. (Each open socket's tasks, queues and events are
    # most of what it costs in memory, so there are no others.) When the socket goes,
    # the receiver's end stops the sending; when it falls behind, the hub interrupts the
    # sending, even a send stuck on a client that stopped reading.
    receiver = asyncio.create_task(_receive(socket, connection))
    receiver.add_done_callback(lambda _: connection.close())
    this = asyncio.current_task()
    assert this is not None
    connection.on_overflow = this.cancel
    try:
        try:
            await _send(socket, connection)
        except asyncio.CancelledError:
            if not connection.overflowed or this.uncancel() > 0:
                raise
        except Exception:  # noqa: BLE001 - the socket went away mid-send: nothing to tell it
            pass
        connection.on_overflow = None
        if connection.signed_out:
            # Its session ended (signed out here, elsewhere, or by a new password): say so and close.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    await socket.send_text(encode(Error(code="signed_out", detail="this session has ended")))
                    await socket.close(code=CLOSE_UNAUTHORIZED, reason="signed out")
        elif connection.overflowed:
            # Fell behind: stop sending, tell it once (if it reads at all), close.
            accord.hub.disconnect(connection)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    await socket.send_text(encode(Reconnect(detail="fell behind; reconnect with since")))
                    await socket.close(code=CLOSE_FELL_BEHIND, reason="fell behind")
    finally:
        connection.on_overflow = None
        accord.hub.disconnect(connection)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
            await receiver
