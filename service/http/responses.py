"""Shared response helpers and the documented responses of every route.

What a route answers on success is its decorator's `status_code`, and nothing
else: a command that creates something is 201, one that changes something is
200 (202 where the answer must not tell whether a handle has an account).
`respond` sets no status of its own, so the OpenAPI document, which litestar
builds from the decorator, cannot say one thing while the route does another.
"""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

from service.commands import Outcome
from service.http.errors import Problem

POSITION = "Accord-Position"


def respond(outcome: Outcome) -> Response[Any]:
    """A command's response: its body, and the log position that holds it; the status is the route's."""
    headers = {POSITION: str(outcome.position)}
    if outcome.repeated:
        headers["Idempotent-Replayed"] = "true"
    return Response(outcome.body, headers=headers)


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type="application/problem+json")


BAD_REQUEST = {400: _problem("The body or a parameter is malformed; `errors` names each field and rule")}
UNAUTHORIZED = {401: _problem("No token, or an unknown, expired or signed-out one")}
NOT_FOUND = {404: _problem("Not found, or not visible to the caller: the two are indistinguishable")}
CONFLICT = {
    409: _problem(
        "The command conflicts with the current state (a stale revision or version, a closed or "
        "out-of-date proposal, something already done); `current` holds what is there now"
    )
}
#: Every command may read its body (an Idempotency-Key is bound to it), so every command may get this.
TOO_LARGE = {413: _problem("The request body is larger than the limit (64 KiB unless configured)")}
UNPROCESSABLE = {422: _problem("A domain rule refused a value; `errors` names the field and rule")}
RATE_LIMITED = {429: _problem("Too many attempts; see Retry-After")}
#: A read waits for the log position its `Accord-Position` header names; any request may find the database away.
BEHIND = {
    503: _problem(
        "This server has not caught up with the `Accord-Position` named, or the database is unreachable; "
        "retry after Retry-After"
    )
}
STORE_AWAY = {503: _problem("The database is unreachable; retry after Retry-After")}
UNAVAILABLE = {
    503: _problem(
        "The event log is unreachable, or the agreement is too busy; "
        "retry after Retry-After with the same Idempotency-Key"
    )
}

READ = {**UNAUTHORIZED, **NOT_FOUND, **BAD_REQUEST, **BEHIND}
COMMAND = {
    **UNAUTHORIZED,
    **NOT_FOUND,
    **BAD_REQUEST,
    **CONFLICT,
    **TOO_LARGE,
    **UNPROCESSABLE,
    **RATE_LIMITED,
    **UNAVAILABLE,
}
#: An export of what a metamour sees, where a grant asks them not to pass it on.
NOT_TO_BE_SHARED = {
    403: _problem("A grant the caller sees it through says \"do not reshare\": they may read it, not export it")
}
