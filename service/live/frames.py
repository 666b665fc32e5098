"""The websocket protocol: tagged msgspec Structs, one typed decoder each way.

A client authenticates with its first frame (never a token in the URL), may
name the last position it saw, and then receives each change to something it
may see as the new consented view of that thing, tagged with its position.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Frame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, frozen=True):
    pass


# Client to server


class Auth(Frame, tag="auth"):
    """First frame: a bearer token (or empty, to use the session cookie); `since` resumes."""

    token: str = ""
    since: int | None = None


class Ping(Frame, tag="ping"):
    pass


ClientFrame = Auth | Ping

# Server to client


class Ready(Frame, tag="ready"):
    person_id: str


class Change(msgspec.Struct, frozen=True, omit_defaults=True):
    """The new view of one thing (`key`: `agreement:<id>`, `grants:<id>`, `network`, `inbox`), or its removal.

    After `removed`, nothing more about that thing is sent unless it becomes
    visible again.
    """

    key: str
    view: Any = None
    removed: bool = False


class Update(Frame, tag="update"):
    """Every change one log position made to what this person may see."""

    position: int
    changes: list[Change]


class View(msgspec.Struct, frozen=True):
    key: str
    view: Any


class Resync(Frame, tag="resync"):
    """Everything the person may see now; replaces what the client holds."""

    position: int
    views: list[View]


class Synced(Frame, tag="synced"):
    """Catch-up is over: what follows is live."""

    position: int


class Pong(Frame, tag="pong"):
    pass


class Error(Frame, tag="error"):
    code: str
    detail: str


class Reconnect(Frame, tag="reconnect"):
    """The server is going away or the client fell behind: reconnect with `since`."""

    detail: str


ServerFrame = Ready | Update | Resync | Synced | Pong | Error | Reconnect

decode_client = msgspec.json.Decoder(ClientFrame).decode
decode_server = msgspec.json.Decoder(ServerFrame).decode
encode = msgspec.json.Encoder().encode
