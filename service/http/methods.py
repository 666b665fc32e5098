"""HEAD wherever GET is, and an `Allow` header that lists every method a path takes.

Two things litestar 2 does not do, fixed in one wrapper around the app that
runs *before* routing (where litestar itself puts CORS):

- HEAD: litestar routes it only to handlers that declare it and answers 405
  elsewhere; declaring it beside every GET would also add HEAD operations to
  the OpenAPI document. Here a HEAD request is routed and handled as the GET
  it stands for, and only the body is left out (RFC 9110, 9.3.2): same status,
  same headers. The document stays as it is; HEAD is implied by GET.
- `Allow`: litestar's automatic OPTIONS answer lists only the methods of the
  first handler registered on a path (litestar#4169, fixed in 3.0 only), so
  OPTIONS /api/agreements said `POST` and not `GET`. The header is rewritten
  from the route's full set of methods, and names HEAD wherever GET is, on
  OPTIONS and on 405 alike.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def _route_methods(scope: Scope) -> set[str] | None:
    """Every method of the route this request matched (the router put its template in the scope)."""
    template = scope.get("path_template")
    app: Litestar | None = scope.get("litestar_app")
    if template is None or app is None:
        return None
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            return set(route.methods)
    return None


def _allow(scope: Scope, listed: str) -> str:
    methods = {m.strip().upper() for m in listed.split(",") if m.strip()}
    if scope["method"] == "OPTIONS":
        methods |= _route_methods(scope) or set()
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def head_and_allow(app: ASGIApp) -> ASGIApp:
    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            # A copy: the server keeps its own scope saying HEAD, and so frames the response as one.
            scope = {**scope, "method": "GET"}  # type: ignore[assignment]

        async def send_fixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "allow" in headers:
                    headers["allow"] = _allow(scope, headers["allow"])
            elif message["type"] == "http.response.body" and head:
                if message.get("more_body", False):
                    return
                # Content-Length stays the GET's, as RFC 9110 allows; no body follows a HEAD.
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(scope, receive, send_fixed)

    return handle
