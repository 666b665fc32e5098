"""`Idempotency-Key`: a repeated mutating request returns the first response."""

from __future__ import annotations

from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException

from service.commands import CommandKey

MAX_KEY = 200


async def provide_key(request: Request, caller: NamedDependency[UUID]) -> CommandKey | None:
    request.app.state.accord.command_limiter.check(str(caller))
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationException(
            extra=[{"key": "Idempotency-Key", "message": f"must be 1 to {MAX_KEY} printable characters"}]
        )
    body = await request.body()
    fingerprint = CommandKey.fingerprint_of(request.method, request.url.path, body)
    return CommandKey(caller=caller, key=key, fingerprint=fingerprint)


Key = NamedDependency[CommandKey | None]

KEY = {"key": Provide(provide_key)}
