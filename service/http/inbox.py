"""The inbox and email reminders over the API: the caller's own, nobody else's.

GET /api/me/inbox lists what waits for the caller (the one view function's
`Visibility.inbox`, the same the `inbox` live key pushes). /api/me/email holds
their reminder address (confirmed by the link sent to it) and what they want
to be reminded of. Every write takes an `Idempotency-Key`.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import JSONBody
from msgspec import Meta

from domain.reminders import MAX_ADDRESS
from service.commands.reminders import EmailSettings
from service.http.auth import CALLER, Caller, client, log_head
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import Strict
from service.visibility import InboxView


class SetAddress(Strict):
    address: Annotated[str, Meta(min_length=3, max_length=MAX_ADDRESS)]


class ConfirmAddress(Strict):
    token: Annotated[str, Meta(min_length=1, max_length=200)]


class ChooseKinds(Strict):
    kinds: Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(max_length=20)]


class InboxController(Controller):
    path = "/api/me"
    tags = ("inbox",)
    dependencies = {**CALLER, **KEY}

    @get(
        "/inbox",
        summary="What waits for me: invitations, versions to consent to, proposals, repair notes, due reviews, check-ins",
        responses=READ,
    )
    async def inbox(self, request: Request, accord: AccordDep, caller: Caller) -> InboxView:
        # As of the log when the request was signed in (what the scheduler or another process just
        # appended too), as far as this process can follow within a moment; else as it stands.
        if (head := log_head(request)) is not None:
            await accord.caught_up(head, timeout=2.0)
        return await accord.visibility.inbox(caller)

    @get("/email", summary="My email reminders: the address, whether it is confirmed, what I am reminded of", responses=READ)
    async def email(self, accord: AccordDep, caller: Caller) -> EmailSettings:
        return await accord.reminders.settings(caller)

    @put(
        "/email",
        summary="Set my reminder address; a confirmation link is sent to it (422 when email is off)",
        responses=COMMAND,
    )
    async def set_address(
        self, request: Request, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[SetAddress]
    ) -> Response[EmailSettings]:
        # Each sends a message to an address someone typed: limited like sign-in, per client address.
        accord.auth_limiter.check(client(request))
        return respond(await accord.reminders.add_address(caller, data.address, key))

    @post("/email/confirm", summary="Confirm my reminder address with the token from its link", status_code=200, responses=COMMAND)
    async def confirm(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ConfirmAddress]
    ) -> Response[EmailSettings]:
        return respond(await accord.reminders.confirm(caller, data.token, key))

    @put("/email/kinds", summary="Choose what I am reminded of by email", responses=COMMAND)
    async def choose(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ChooseKinds]
    ) -> Response[EmailSettings]:
        return respond(await accord.reminders.choose(caller, data.kinds, key))

    @delete("/email", summary="Remove my reminder address: no more email", status_code=200, responses=COMMAND)
    async def remove(self, accord: AccordDep, caller: Caller, key: Key) -> Response[EmailSettings]:
        return respond(await accord.reminders.remove(caller, key))
