"""The Inbox page (what waits for me, live) and the "Email reminders" account page.

The inbox is the one view function's (`Visibility.inbox`), as GET
/api/me/inbox gives it; its count in the navigation comes with every signed-in
page (`provide_me`) and follows the `inbox` live key (static/live.js). The email
page runs the same use cases as /api/me/email, and says plainly when this
server sends no email.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Template

from domain.inbox import KIND_NAMES
from service.application import Accord
from service.http.auth import client
from service.http.deps import AccordDep
from service.http.inbox import ChooseKinds, ConfirmAddress, SetAddress
from service.store.base import Account
from service.web.forms import Failed, Form, decode
from service.web.pages import (
    ME,
    Me,
    SignInRequired,
    act,
    provide_me,
    render,
    see_other,
)

EMAIL_PAGE = "/account/email"

#: How each kind of item reads on the Inbox page.
KIND_LABELS: dict[str, str] = {
    "invitation": "You are invited to",
    "consent": "A version waits for your consent in",
    "proposal": "A proposal waits for your answer in",
    "repair_note": "A repair note waits for you to acknowledge it in",
    "review": "A clause is due for review in",
    "check_in": "A check-in to prepare for,",
    "signal": "A signal:",
    "plan": "A plan waits for your answer:",
}


class InboxPages(Controller):
    path = "/inbox"
    dependencies = ME

    async def _page(self, request: Request, me: Account, live: bool = False) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.visibility.inbox(me.person_id)
        context = {"section": "inbox", "inbox": view, "labels": KIND_LABELS, "position": position}
        return render(request, "inbox_live.html" if live else "inbox.html", context, me=me)

    @get("/")
    async def inbox(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/live")
    async def live(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, live=True)


class EmailPages(Controller):
    path = EMAIL_PAGE
    dependencies = ME

    async def _page(
        self, request: Request, me: Account, failed: Failed | None = None, token: str | None = None
    ) -> Template:
        accord: Accord = request.app.state.accord
        context: dict[str, Any] = {
            "section": "email",
            "email": await accord.reminders.settings(me.person_id),
            "kind_names": KIND_NAMES,
            "token": token,
        }
        return render(request, "email.html", context, me=me, failed=failed)

    async def _act(self, request: Request, me: Account, form_id: str, action: Any) -> Response[Any]:
        return await act(request, me.person_id, form_id, action, lambda f: self._page(request, me, f), EMAIL_PAGE)

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/confirm")
    async def confirm_page(
        self, request: Request, accord: AccordDep, token: Annotated[str, QueryParameter(max_length=200)] = ""
    ) -> Response[Any]:
        """The link from the email: a button to confirm (a GET changes nothing).

        Signed out, the link leads through sign-in and back here with its token (the
        navigation's own redirect keeps only the path)."""
        try:
            me = await provide_me(request, accord)
        except SignInRequired:
            return see_other(f"/sign-in?next={quote(f'{EMAIL_PAGE}/confirm?token={token}', safe='')}")
        return await self._page(request, me, token=token)

    @post("/address")
    async def set_address(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(SetAddress, address=form.get("address"))
            # Each sends a message to an address someone typed: limited like sign-in.
            accord.auth_limiter.check(client(request))
            await accord.reminders.add_address(me.person_id, data.address, form.key)

        return await self._act(request, me, "address", action)

    @post("/confirm")
    async def confirm(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(ConfirmAddress, token=form.get("token"))
            await accord.reminders.confirm(me.person_id, data.token, form.key)

        return await self._act(request, me, "confirm", action)

    @post("/kinds")
    async def choose(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(ChooseKinds, kinds=form.getall("kinds"))
            await accord.reminders.choose(me.person_id, data.kinds, form.key)

        return await self._act(request, me, "kinds", action)

    @post("/remove")
    async def remove(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        return await self._act(request, me, "remove", lambda form: accord.reminders.remove(me.person_id, form.key))
