"""`accord watch`: sign in and print the live updates one person receives.

It needs only the base install: sign-in uses the standard library's urllib (in
a thread), the live feed the websockets client. Each change is one line on
stdout; connection news goes to stderr. On a dropped connection it reconnects
with backoff and `since=<last position>`, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from typing import Any, TextIO

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

#: Seconds between reconnection attempts: doubles up to the cap, reset once connected.
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 10.0
#: Close code the server uses for a refused auth frame.
CLOSE_UNAUTHORIZED = 4401


class SignInFailed(Exception):
    """The server refused the handle and password (or is not an Accord server)."""


def sign_in(server: str, handle: str, password: str, timeout: float = 10.0) -> str:
    """POST /api/sessions; the bearer token. Blocking: call it in a thread."""
    body = json.dumps({"handle": handle, "password": password}).encode()
    request = urllib.request.Request(
        server.rstrip("/") + "/api/sessions",
        data=body,
        headers={"content-type": "application/json", "accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's server
            return json.load(response)["token"]
    except urllib.error.HTTPError as error:
        if error.code >= 500:  # the server is unwell, not the credentials: retry later
            raise ConnectionError(f"sign-in answered {error.code}") from None
        raise SignInFailed(f"sign-in refused ({error.code}): {_detail(error)}") from None


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        return json.load(error).get("detail", error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)


def live_url(server: str) -> str:
    """http(s)://host:port -> ws(s)://host:port/api/live."""
    base = server.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/api/live"
    return "ws://" + base.removeprefix("http://") + "/api/live"


def summarize(view: Any) -> str:
    """A short human summary of one consented view."""
    if not isinstance(view, dict):
        return str(view)
    if "received" in view and "channels" in view:  # one's signals
        opened = sum(1 for c in view["channels"] if c.get("opened"))
        return f"{len(view['received'])} signal(s) received, {len(view['sent'])} sent, {opened} channel(s) opened"
    if "plan_id" in view and "proposal" in view:  # a plan one takes part in
        waiting = sum(1 for p in view.get("participants", ()) if p.get("answer") == "pending")
        return f"{view['kind_label']} {view['title']!r} {view['status']} ({view['start']}), {waiting} answer(s) pending"
    if "me" in view:  # the network
        live = sum(1 for link in view.get("links", ()) if link.get("status") == "live")
        return f"{live} live link(s), {len(view.get('known_links', ()))} other link(s) known"
    if view.get("access") == "metamour":
        clauses = view.get("clauses", ())
        return f"shared with you: {len(clauses)} clause(s) in force [{', '.join(view.get('scopes', ()))}]"
    if "status" in view and "version" in view:  # a party's view
        if view["status"] == "in_force":
            state = f"in force v{view['in_force_version']}"
        else:
            state = f"{view['status']} v{view['version']}"
        details = [f"{len(view.get('clauses', ()))} clause(s)"]
        if view.get("consented"):
            details.append(f"{len(view['consented'])}/{len(view.get('parties', ()))} consented")
        if open_proposals := sum(1 for p in view.get("proposals", ()) if p.get("status") == "open"):
            details.append(f"{open_proposals} open proposal(s)")
        return f"{view.get('title')!r} {state}, {', '.join(details)}"
    if "relation" in view:
        title = f" {view['title']!r}" if view.get("title") else ""
        return f"{view['relation']}{title}"
    return "changed"


class Watcher:
    """The feed of one person: frames in, lines out, the last position remembered."""

    def __init__(self, server: str, handle: str, password: str, out: TextIO, err: TextIO) -> None:
        self.server = server
        self.handle = handle
        self._password = password
        self.out = out
        self.err = err
        self.position: int | None = None
        self.token: str | None = None
        #: Signals already printed, so each is printed once when it arrives.
        self.signals: set[str] = set()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def note(self, line: str) -> None:
        print(f"accord watch: {line}", file=self.err, flush=True)

    def show(self, frame: dict[str, Any]) -> None:
        match frame.get("type"):
            case "update":
                for change in frame["changes"]:
                    what = "removed" if change.get("removed") else summarize(change.get("view"))
                    self.say(f"[{frame['position']}] {change['key']} {what}")
                    self.received(frame["position"], change.get("view"))
                self.position = frame["position"]
            case "resync":
                self.say(f"[{frame['position']}] resync: {len(frame['views'])} thing(s)")
                for item in frame["views"]:
                    self.say(f"[{frame['position']}] {item['key']} {summarize(item['view'])}")
                    self.received(frame["position"], item["view"])
                self.position = frame["position"]
            case "synced":
                self.position = max(self.position or 0, frame["position"])
                self.note(f"live from position {frame['position']}")
            case "ready":
                self.note("connected")
            case "error":
                self.note(f"server error: {frame.get('code')}: {frame.get('detail')}")
            case "reconnect":
                self.note(f"server asks to reconnect: {frame.get('detail')}")

    def received(self, position: int, view: Any) -> None:
        """One line per signal that reached this person, the first time it is shown."""
        if not isinstance(view, dict) or "received" not in view:
            return
        for signal in view["received"]:
            if signal["signal_id"] not in self.signals:
                self.signals.add(signal["signal_id"])
                note = f": {signal['note']}" if signal.get("note") else ""
                self.say(f"[{position}] signal {signal['label']} from {signal['sender']['name']} at {signal['sent_at']}{note}")

    async def run(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            try:
                if self.token is None:
                    self.token = await asyncio.to_thread(sign_in, self.server, self.handle, self._password)
                if await self._session():
                    delay = BACKOFF_FIRST
                    continue  # asked to reconnect, or the server went away cleanly: at once
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as error:
                self.note(f"connection lost ({str(error) or type(error).__name__}); retrying in {delay:.1f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _session(self) -> bool:
        """One connection, until it ends. True when it ended after being live."""
        async with connect(live_url(self.server), max_size=None, open_timeout=10) as socket:
            await socket.send(json.dumps({"type": "auth", "token": self.token, "since": self.position}))
            live = False
            try:
                async for message in socket:
                    frame = json.loads(message)
                    self.show(frame)
                    live = live or frame.get("type") == "synced"
            except ConnectionClosed:
                pass
        if socket.close_code == CLOSE_UNAUTHORIZED:
            # The token expired or was signed out: sign in again (a wrong password then fails).
            self.token = None
            return False
        if not live:
            raise ConnectionError(f"closed before catching up (code {socket.close_code})")
        return True


def main(server: str, handle: str, password: str) -> int:
    watcher = Watcher(server, handle, password, sys.stdout, sys.stderr)
    if not server.startswith(("http://", "https://")):
        watcher.note(f"--server must be an http:// or https:// address, not {server!r}")
        return 2
    try:
        asyncio.run(watcher.run())
    except KeyboardInterrupt:
        return 0
    except SignInFailed as error:
        watcher.note(str(error))
        return 1
    except InvalidURI as error:
        watcher.note(f"bad server address: {error}")
        return 2
    return 0
