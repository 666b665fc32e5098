"""The "Blocked people" account page, and blocking from the network page.

The same use cases as /api/me/blocks; the list is the one view function's
(`Visibility.my_blocks`), shown to its owner only.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from service.application import Accord
from service.http.deps import AccordDep
from service.http.wire import BlockPerson
from service.store.base import Account
from service.web.forms import Failed, Form, decode
from service.web.pages import ME, Id, Me, act, form_addresses, render

BLOCKS_PAGE = "/account/blocks"


class BlockPages(Controller):
    path = BLOCKS_PAGE
    dependencies = ME

    async def _page(self, request: Request, me: Account, failed: Failed | None = None) -> Template:
        accord: Accord = request.app.state.accord
        context = {"section": "blocks", "blocks": await accord.visibility.my_blocks(me.person_id)}
        return render(request, "blocks.html", context, me=me, failed=failed)

    async def _act(self, request: Request, me: Account, form_id: str, action: Any, then: str = BLOCKS_PAGE) -> Response[Any]:
        return await act(request, me.person_id, form_id, action, lambda f: self._page(request, me, f), then)

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @post("/")
    async def block(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(BlockPerson, handle=form.get("handle"))
            await accord.blocking.block(me.person_id, data.handle, None, form.key)

        return await self._act(request, me, "block", action)

    @post("/people/{person_id:uuid}")
    async def block_person(self, request: Request, accord: AccordDep, me: Me, person_id: Id) -> Response[Any]:
        """From the network page: block someone shown there."""
        return await self._act(
            request, me, f"block-{person_id}", lambda form: accord.blocking.block(me.person_id, None, person_id, form.key)
        )

    @post("/{block_id:uuid}/unblock")
    async def unblock(self, request: Request, accord: AccordDep, me: Me, block_id: Id) -> Response[Any]:
        return await self._act(
            request, me, f"unblock-{block_id}", lambda form: accord.blocking.unblock(me.person_id, block_id, form.key)
        )

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)
