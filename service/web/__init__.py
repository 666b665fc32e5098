"""The browser app: server-rendered pages, their templates, and a little plain JavaScript.

`create_app` registers `routers()` and `templates()`; nothing else of the app
knows the pages exist.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from domain.errors import DomainError, NotAParty, NotFound, NotToBeShared
from service.accounts import RateLimited
from service.commands import Busy
from service.store import StoreUnavailable
from service.web import present
from service.web.availability import AvailabilityPages
from service.web.blocks import BlockPages
from service.web.feeds import FeedPages
from service.web.calendar import CalendarPages
from service.web.checkins import CheckInPages
from service.web.documents import DocumentPages
from service.web.export import ExportPages
from service.web.inbox_pages import EmailPages, InboxPages
from service.web.pages import CONTROLLERS, SignInRequired
from service.web.plans import PlanPages
from service.web.printing import DocumentPrintingPages, PrintingPages
from service.web.security import SecurityHeaders, csrf_token, require_csrf_token
from service.web.security_pages import CONTROLLERS as SECURITY_CONTROLLERS
from service.web.signals import SignalPages

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
#: Fragment requests (live updates) get a status, not a page to sign in on.
FRAGMENT_HEADER = "accord-fragment"


def templates() -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(present.GLOBALS)
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=configure)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if request.headers.get(FRAGMENT_HEADER):
        return Response(content=detail, status_code=status, media_type="text/plain")
    # Signed in (the page's `me` was resolved before the error): the navigation stays.
    me = request.state.get("me")
    signed_in = {"csrf": csrf_token(request), "new_key": lambda: uuid4().hex} if me is not None else {}
    return Template(
        template_name="error.html",
        context={"title": title, "detail": detail, "me": me, "status": status, **signed_in},
        status_code=status,
    )


def _on_sign_in_required(request: Request, _: SignInRequired) -> Response:
    if request.headers.get(FRAGMENT_HEADER):
        return Response(content="signed out", status_code=401, media_type="text/plain")
    target = request.url.path if request.method == "GET" else "/agreements"
    return Redirect(path=f"/sign-in?next={quote(target, safe='/')}", status_code=303)


def _on_domain(request: Request, error: DomainError) -> Response:
    if isinstance(error, (NotFound, NotAParty)):
        # The same page whether it does not exist or is not yours to see.
        return _error_page(request, 404, "Not found", "There is nothing here that you may see.")
    if isinstance(error, NotToBeShared):
        detail = "They asked that what they share with you not be passed on, so it cannot be downloaded. You can still read it here."
        return _error_page(request, 403, "Not to be passed on", detail)
    return _error_page(request, 409, "That could not be done", "Go back, reload the page and try again.")


def _on_http(request: Request, error: HTTPException) -> Response:
    return _error_page(request, error.status_code, "That could not be done", str(error.detail))


def _on_rate_limited(request: Request, error: RateLimited) -> Response:
    response = _error_page(
        request, 429, "Too many changes at once", f"Wait {error.retry_after} seconds, then go back and try again."
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _on_unavailable(request: Request, _: Exception) -> Response:
    return _error_page(request, 503, "Accord is unavailable", "The agreements store is out of reach. Try again in a moment.")


def _on_unexpected(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on page %s", request.scope.get("path_template", ""))
    return _error_page(request, 500, "Something went wrong", "Nothing you did caused this. Try again in a moment.")


def is_page(request: Request) -> bool:
    """Whether a request's address belongs to the pages (not the API, operations or static files)."""
    from service.web.pages import NOT_PAGES

    return not request.url.path.lstrip("/").startswith(NOT_PAGES)


def on_unrouted(request: Request, error: HTTPException) -> Response | None:
    """A page address no route matched (a malformed id, say): the HTML not-found page.

    Raised before any page's dependencies ran, so whether someone is signed in is
    not known here; most unknown addresses reach `ElsewherePages` instead, whose
    page keeps the navigation.
    """
    if error.status_code not in (404, 405) or not is_page(request):
        return None
    if error.status_code == 405:
        page = _error_page(request, 405, "That could not be done", "This page does not take that request.")
    else:
        page = _error_page(request, 404, "Not found", "There is nothing here that you may see.")
    page.headers.update(error.headers or {})  # 405's Allow
    return page


def routers() -> list[Router]:
    """The pages, guarded by the CSRF check, and the static files; both with security headers."""
    pages = Router(
        path="/",
        route_handlers=[
            *CONTROLLERS, ExportPages, *SECURITY_CONTROLLERS, InboxPages, EmailPages, CheckInPages, PrintingPages,
            DocumentPrintingPages, DocumentPages, SignalPages, BlockPages, CalendarPages, AvailabilityPages, PlanPages,
            FeedPages,
        ],
        guards=[require_csrf_token],
        middleware=[SecurityHeaders()],
        include_in_schema=False,
        exception_handlers={
            SignInRequired: _on_sign_in_required,
            DomainError: _on_domain,
            HTTPException: _on_http,
            RateLimited: _on_rate_limited,
            StoreUnavailable: _on_unavailable,
            Busy: _on_unavailable,
            Exception: _on_unexpected,
        },
    )
    static = create_static_files_router(
        path="/static", directories=[HERE / "static"], middleware=[SecurityHeaders()], include_in_schema=False
    )
    return [pages, static]
