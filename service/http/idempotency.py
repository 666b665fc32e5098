"""`Idempotency-Key`: a repeated mutating request returns the first response."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIType
from litestar.params import HeaderParameter

from service.commands import CommandKey

MAX_KEY = 200
#: Visible ASCII, no spaces: a UUID or any opaque token fits, and nothing a proxy could rewrite.
KEY_PATTERN = rf"^[!-~]{{1,{MAX_KEY}}}$"
_KEY = re.compile(KEY_PATTERN)

#: Declared here, on the dependency, so the OpenAPI document shows it on exactly the routes that take it
#: (every command) with the rule `provide_key` checks. Its own message names the header, so it is checked
#: here rather than by litestar's validation.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            f"1 to {MAX_KEY} visible ASCII characters, chosen by the client. Repeat a request with the same key "
            "to get the first response; nothing is appended twice."
        ),
        # A header is a string or absent, never null: the document says so.
        schema_extra={"type": OpenAPIType.STRING, "one_of": None, "pattern": KEY_PATTERN, "max_length": MAX_KEY},
    ),
]


async def provide_key(
    request: Request,
    caller: NamedDependency[UUID],
    idempotency_key: IdempotencyKey = None,
) -> CommandKey | None:
    request.app.state.accord.command_limiter.check(str(caller))
    key = idempotency_key
    if key is None:
        return None
    if not _KEY.match(key):
        raise ValidationException(
            extra=[{"key": "Idempotency-Key", "message": f"must be 1 to {MAX_KEY} visible ASCII characters"}]
        )
    body = await request.body()
    fingerprint = CommandKey.fingerprint_of(request.method, request.url.path, body)
    return CommandKey(caller=caller, key=key, fingerprint=fingerprint)


Key = NamedDependency[CommandKey | None]

KEY = {"key": Provide(provide_key)}
