"""Signals: channels, sending, seen, and one's signal settings.

Every mutating route takes an optional `Idempotency-Key` header. A signal is
seen by its sender and the people it reached; anyone else gets 404, whether
or not it exists (and after it expired, everyone does).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from domain.policy import SignalView
from domain.signals import MAX_NOTE, MAX_RECIPIENTS, SignalSettings
from service.commands.signals import ChannelChoice
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import Strict
from service.visibility import SignalsView

SignalId = FromPath[UUID]
PersonId = FromPath[UUID]


class SendSignal(Strict):
    to: Annotated[list[UUID], Meta(min_length=1, max_length=MAX_RECIPIENTS)]
    kind: Annotated[str, Meta(min_length=1, max_length=40)]
    note: Annotated[str, Meta(max_length=MAX_NOTE)] | None = None
    signal_id: UUID | None = None


class SetChannel(Strict):
    open: bool


class ChangeSignalSettings(Strict):
    expiry_hours: Annotated[int, Meta(ge=1, le=24 * 14)] = 24
    read_receipts: bool = False
    quiet_from: Annotated[int, Meta(ge=0, le=23)] | None = None
    quiet_until: Annotated[int, Meta(ge=0, le=23)] | None = None
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] = "UTC"
    keep: Annotated[str, Meta(max_length=20)] = "kind_and_time"

    def settings(self) -> SignalSettings:
        return SignalSettings(**msgspec.structs.asdict(self))


class SignalController(Controller):
    path = "/api/signals"
    tags = ["signals"]
    dependencies = {**CALLER, **KEY}

    @get("/", summary="My signals: channels, received and sent signals, settings", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> SignalsView:
        return await accord.signal_reads.mine(caller)

    @post(
        "/",
        summary="Send a signal to people I opened a channel to (it reaches those who opened theirs to me)",
        status_code=201,
        responses=COMMAND,
    )
    async def send(self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[SendSignal]) -> Response[SignalView]:
        return respond(await accord.signals.send(caller, data.to, data.kind, data.note, key, signal_id=data.signal_id))

    @get("/{signal_id:uuid}", summary="One signal, as its sender or a recipient sees it", responses=READ)
    async def view(self, accord: AccordDep, caller: Caller, signal_id: SignalId) -> SignalView:
        return await accord.signal_reads.view(caller, signal_id)

    @post("/{signal_id:uuid}/seen", summary="Mark a signal I received as seen", status_code=200, responses=COMMAND)
    async def seen(self, accord: AccordDep, caller: Caller, key: Key, signal_id: SignalId) -> Response[SignalView]:
        return respond(await accord.signals.mark_seen(caller, signal_id, key))

    @put(
        "/channels/{person_id:uuid}",
        summary="Open or close my side of a signal channel to a partner or metamour",
        status_code=200,
        responses=COMMAND,
    )
    async def channel(
        self, accord: AccordDep, caller: Caller, key: Key, person_id: PersonId, data: JSONBody[SetChannel]
    ) -> Response[ChannelChoice]:
        if data.open:
            return respond(await accord.signals.open_channel(caller, person_id, key))
        return respond(await accord.signals.close_channel(caller, person_id, key))


class SignalSettingsController(Controller):
    path = "/api/signals/settings"
    tags = ["signals"]
    dependencies = {**CALLER, **KEY}

    @get("/", summary="My signal settings: expiry, read receipts, quiet hours, what stays", responses=READ)
    async def settings(self, accord: AccordDep, caller: Caller) -> SignalSettings:
        return await accord.signal_reads.settings(caller)

    @put("/", summary="Change my signal settings (they apply to signals I send from now on)", status_code=200, responses=COMMAND)
    async def change(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ChangeSignalSettings]
    ) -> Response[SignalSettings]:
        return respond(await accord.signals.change_settings(caller, data.settings(), key))
