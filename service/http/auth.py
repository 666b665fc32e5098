"""Who is calling: a bearer token, resolved to a person, or 401."""

from __future__ import annotations

from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from service.accounts import SignInFailed
from service.http.deps import AccordDep

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="accord"'}


def client(request: Request) -> str:
    """The calling address, as rate limits count it."""
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def provide_caller(request: Request, accord: AccordDep) -> UUID:
    # Taking `accord` as a dependency puts the two in separate batches: litestar resolves a batch of more
    # than one dependency in a task group (a task each), which costs more than the sign-in's own Python.
    token = bearer_token(request)
    if token is None:
        raise NotAuthorizedException("sign in first: send Authorization: Bearer <token>", headers=CHALLENGE)
    try:
        person, head = await accord.authenticate_at(token)
    except SignInFailed:
        raise NotAuthorizedException(
            "the token is unknown, expired or signed out", headers=CHALLENGE
        ) from None
    # Everything at or below `head` had committed when the request was signed in: a read whose
    # read models have reached it needs not ask the log for anything newer (service/read/queries.py).
    request.state.log_head = head
    return person


def log_head(request: Request) -> int | None:
    """The log's last position as this request's token was checked (None before sign-in)."""
    return getattr(request.state, "log_head", None)


#: The signed-in person, for handlers that declare it.
Caller = NamedDependency[UUID]

CALLER = {"caller": Provide(provide_caller)}
