"""What keeps the browser app safe to use: the session cookie, CSRF tokens, security headers.

The session cookie holds the same opaque token the API issues; it is HttpOnly
(scripts never see it) and SameSite=Lax (no cross-site POST or websocket
carries it; a link followed from a message still opens the page signed in).

CSRF: every form carries a token derived from the session token, and every
unsafe request to a page must present it. Derived rather than stored, so any
service process can check it and nothing is kept; bound to the session, so a
cookie planted by a sibling site cannot be paired with a token the attacker
knows. The sign-in and sign-up forms, before there is a session, derive it
from a random pre-session cookie instead (a double submit, against login
CSRF). The JSON API takes bearer tokens only, never cookies, so it needs no
CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "accord_session"
PRESESSION_COOKIE = "accord_presession"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders(ASGIMiddleware):
    """Adds the security headers to every page and static file response, errors included."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                # Pages show intimate data: never keep them in a shared or back/forward cache.
                if not scope["path"].startswith("/static/"):
                    headers["cache-control"] = "no-store"
            await send(message)

        await next_app(scope, receive, send_with_headers)


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, expires_at: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        # Seconds from now: the cookie lasts exactly as long as the token it holds.
        max_age=max(0, int((expires_at - datetime.now(timezone.utc)).total_seconds())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def ensure_presession(request: Request, response: Response) -> None:
    """Signed-out pages with forms need a random value to derive their CSRF token from."""
    if not request.cookies.get(SESSION_COOKIE) and not request.cookies.get(PRESESSION_COOKIE):
        value = request.state.get("presession") or secrets.token_urlsafe(32)
        response.set_cookie(
            PRESESSION_COOKIE, value, path="/", httponly=True, samesite="lax", secure=_is_https(request)
        )


def csrf_token(request: ASGIConnection) -> str:
    """The token forms on this page must send back; stable for one session."""
    seed = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    if not seed:
        # First visit: the page's response sets this seed as the pre-session cookie.
        seed = request.state.get("presession")
        if seed is None:
            seed = request.state["presession"] = secrets.token_urlsafe(32)
    return hashlib.sha256(b"accord-csrf\0" + seed.encode()).hexdigest()


async def require_csrf_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard on every page route: an unsafe request must carry this session's token."""
    if connection.scope["method"] in SAFE_METHODS:
        return
    request: Request = connection  # type: ignore[assignment]
    sent = (await request.form()).get(CSRF_FIELD, "")
    has_seed = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    if not has_seed or not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise PermissionDeniedException("the form was stale or came from another site; reload and try again")
