"""The "Calendar feed" account page: get, copy, replace and revoke my feed's secret address.

The same use cases as /api/me/calendar-feed. The address is shown on the page
that answers the form that made it, and never again (only its digest rests):
so that answer is a page, not a redirect, and no cache may keep it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from service.application import Accord
from service.http.deps import AccordDep
from service.http.feeds import feed_url
from service.store.base import Account
from service.visibility import my_feed
from service.web.forms import Failed, failed, read_form
from service.web.pages import ME, REFUSALS, Me, act, form_addresses, render

FEED_PAGE = "/account/calendar-feed"


class FeedPages(Controller):
    path = FEED_PAGE
    dependencies = ME

    async def _page(
        self, request: Request, me: Account, failed: Failed | None = None, *, url: str | None = None
    ) -> Template:
        accord: Accord = request.app.state.accord
        context = {"section": "calendar-feed", "feed": await my_feed(accord.visibility, me.person_id), "url": url}
        page = render(request, "calendar_feed.html", context, me=me, failed=failed)
        if url is not None:
            page.headers["Cache-Control"] = "no-store"
        return page

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @post("/", status_code=200)
    async def issue(self, request: Request, accord: AccordDep, me: Me) -> Template:
        """A new address, shown on this page only (the one before stops working)."""
        form = await read_form(request, me.person_id)
        try:
            _, token = await accord.feeds.issue(me.person_id, form.key)
        except REFUSALS as error:
            return await self._page(request, me, failed("issue", form, error))
        base = accord.settings.base_url or str(request.base_url)
        return await self._page(request, me, url=None if token is None else feed_url(base, token))

    @post("/revoke")
    async def revoke(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        return await act(
            request, me.person_id, "revoke", lambda form: accord.feeds.revoke(me.person_id, form.key),
            lambda f: self._page(request, me, f), FEED_PAGE,
        )  # fmt: skip

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)
