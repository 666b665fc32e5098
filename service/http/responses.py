"""Shared response helpers and the documented error responses."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

from service.commands import Outcome
from service.http.errors import Problem

POSITION = "Accord-Position"


def respond(outcome: Outcome, status_code: int = 200) -> Response[Any]:
    """A command's response: its body, and the log position that holds it."""
    headers = {POSITION: str(outcome.position)}
    if outcome.repeated:
        headers["Idempotent-Replayed"] = "true"
    return Response(outcome.body, status_code=status_code, headers=headers)


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type="application/problem+json")


BAD_REQUEST = {400: _problem("The body or a parameter is malformed; `errors` names each field and rule")}
UNAUTHORIZED = {401: _problem("No token, or an unknown, expired or signed-out one")}
NOT_FOUND = {404: _problem("Not found, or not visible to the caller: the two are indistinguishable")}
CONFLICT = {
    409: _problem(
        "The command conflicts with the current state (a stale revision or version, a closed proposal); "
        "`current` holds what is there now"
    )
}
UNPROCESSABLE = {422: _problem("A domain rule refused a value; `errors` names the field and rule")}
RATE_LIMITED = {429: _problem("Too many attempts; see Retry-After")}
UNAVAILABLE = {503: _problem("The event log is unreachable; retry with the same Idempotency-Key")}

READ = {**UNAUTHORIZED, **NOT_FOUND, **BAD_REQUEST}
COMMAND = {**READ, **CONFLICT, **UNPROCESSABLE, **UNAVAILABLE}
