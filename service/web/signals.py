"""The browser app's Signals page and the signal bar's form.

The page lists the people one may open a channel to (partners first), received
signals with their age, sent ones with their seen-state where the recipient
allows it, and one's signal settings; it follows the `signals` live key. Every
form runs the same use case as /api/signals, so the same policy decides.
The bar (base.html) posts to /signals/send from any page, and comes back to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from service.application import Accord
from service.http.deps import AccordDep
from service.http.signals import ChangeSignalSettings, SendSignal, SetChannel
from service.store.base import Account
from service.web.forms import Failed, Form, decode
from service.web.pages import ME, Me, act, render

Id = FromPath[UUID]
PAGE = "/signals"


def age(moment: datetime, now: datetime) -> str:
    """How long ago, in words a glance takes in."""
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def back_to(request: Request) -> str:
    """The page a form was sent from (same site only), else the Signals page."""
    path = urlsplit(request.headers.get("referer", "")).path
    return path if path.startswith("/") and not path.startswith("//") else PAGE


class SignalPages(Controller):
    path = PAGE
    dependencies = ME

    async def _page(self, request: Request, me: Account, live: bool = False, failed: Failed | None = None) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.signal_reads.mine(me.person_id)
        context: dict[str, Any] = {
            "section": "signals", "signals": view, "position": position, "now": accord.clock(), "age": age,
        }  # fmt: skip
        return render(request, "signals_live.html" if live else "signals.html", context, me=me, failed=failed)

    async def _act(self, request: Request, me: Account, form_id: str, action: Any, back: str = PAGE) -> Response[Any]:
        return await act(request, me.person_id, form_id, action, lambda f: self._page(request, me, failed=f), back)

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/live")
    async def live(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, live=True)

    @post("/send")
    async def send(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(SendSignal, to=form.getall("to"), kind=form.get("kind"), note=form.get("note") or None)
            await accord.signals.send(me.person_id, data.to, data.kind, data.note, form.key)

        return await self._act(request, me, "send", action, back_to(request))

    @post("/channels/{person_id:uuid}")
    async def channel(self, request: Request, accord: AccordDep, me: Me, person_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(SetChannel, open=form.get("open") == "1")
            if data.open:
                await accord.signals.open_channel(me.person_id, person_id, form.key)
            else:
                await accord.signals.close_channel(me.person_id, person_id, form.key)

        return await self._act(request, me, f"channel-{person_id}", action)

    @post("/{signal_id:uuid}/seen")
    async def seen(self, request: Request, accord: AccordDep, me: Me, signal_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.signals.mark_seen(me.person_id, signal_id, form.key)

        return await self._act(request, me, f"seen-{signal_id}", action)

    @post("/settings")
    async def settings(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                ChangeSignalSettings,
                expiry_hours=form.get("expiry_hours"),
                read_receipts=form.get("read_receipts") == "1",
                quiet_from=form.get("quiet_from") or None,
                quiet_until=form.get("quiet_until") or None,
                time_zone=form.get("time_zone") or "UTC",
                keep=form.get("keep"),
            )
            await accord.signals.change_settings(me.person_id, data.settings(), form.key)

        return await self._act(request, me, "settings", action)
