"""My calendar feed (get, issue or replace, revoke), and the feed itself, read by calendar apps without signing in.

GET /calendar/<token>.ics answers an unknown, revoked or replaced token with
the same 404 as any made-up one: a token's history is nobody's business.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath

from domain.errors import NotFound
from domain.feeds import FEEDS_NAMESPACE
from service.commands.runner import Outcome
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import BAD_REQUEST, COMMAND, NOT_FOUND, READ, STORE_AWAY, respond
from service.visibility import FeedView, my_feed

FEED_PATH = "/calendar"
SUFFIX = ".ics"
#: litestar adds "; charset=utf-8" to text types.
MEDIA_TYPE = "text/calendar"


class IssuedFeed(msgspec.Struct, frozen=True, kw_only=True):
    """A feed just issued: its address, shown this once. The answer to a repeat of the same request (its
    Idempotency-Key) has `token` and `url` null: only the token's digest rests, so issue again."""

    active: bool
    issued_at: datetime | None = None
    token: str | None = None
    url: str | None = None


def feed_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{FEED_PATH}/{token}{SUFFIX}"


class FeedController(Controller):
    path = "/api/me/calendar-feed"
    tags = ["calendar"]
    dependencies = {**CALLER, **KEY}

    @get("/", summary="Whether I have a calendar feed, and since when (never its address: that is shown once)", responses=READ)
    async def feed(self, accord: AccordDep, caller: Caller) -> FeedView:
        return await my_feed(accord.visibility, caller)

    @post(
        "/",
        summary="Issue my calendar feed's secret address, shown this once; an earlier one stops working",
        status_code=201,
        responses=COMMAND,
    )
    async def issue(self, request: Request, accord: AccordDep, caller: Caller, key: Key) -> Response[IssuedFeed]:
        outcome, token = await accord.feeds.issue(caller, key)
        view = msgspec.json.decode(outcome.body, type=FeedView) if outcome.repeated else outcome.body
        base = accord.settings.base_url or str(request.base_url)
        issued = IssuedFeed(
            active=view.active,
            issued_at=view.issued_at,
            token=token,
            url=None if token is None else feed_url(base, token),
        )
        return respond(Outcome(body=issued, position=outcome.position, repeated=outcome.repeated))

    @delete("/", summary="Revoke my calendar feed: its address answers 404 from now on", status_code=200, responses=COMMAND)
    async def revoke(self, accord: AccordDep, caller: Caller, key: Key) -> Response[FeedView]:
        return respond(await accord.feeds.revoke(caller, key))


class CalendarFeedController(Controller):
    path = FEED_PATH
    tags = ["calendar"]

    @get(
        "/{feed:str}",
        summary=(
            "A calendar feed (RFC 5545) by its secret address, for calendar apps: no sign-in. "
            "An unknown, revoked or replaced address is 404, like any made-up one"
        ),
        media_type=MEDIA_TYPE,
        responses={**NOT_FOUND, **BAD_REQUEST, **STORE_AWAY},
    )
    async def calendar(self, accord: AccordDep, feed: FromPath[str]) -> Response[bytes]:
        body = await accord.feeds.calendar(feed[: -len(SUFFIX)]) if feed.endswith(SUFFIX) else None
        if body is None:
            raise NotFound("calendar_feed", FEEDS_NAMESPACE)
        # Whoever holds the address sees the calendar: no cache on the way may keep a copy.
        return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "private, no-store"})
