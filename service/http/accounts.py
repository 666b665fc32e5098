"""Registration, sign-in and sign-out."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody

from service.http.auth import CALLER, Caller, bearer_token, client
from service.http.deps import AccordDep
from service.http.errors import problem
from service.http.responses import (
    BAD_REQUEST,
    BEHIND,
    RATE_LIMITED,
    STORE_AWAY,
    TOO_LARGE,
    UNAUTHORIZED,
    UNPROCESSABLE,
    _problem,
)
from service.http.security import SECOND_FACTOR_STEP, SecondFactorStep, relying_party
from service.http.wire import DeleteAccount, Me, Register, Session, SignIn
from service.security import SecondFactorRequired
from service.store.base import Account


def _me(account: Account) -> Me:
    return Me(person_id=account.person_id, handle=account.handle, display_name=account.display_name)


class AccountController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post(
        "/accounts",
        summary="Register",
        status_code=201,
        responses={
            **BAD_REQUEST,
            **TOO_LARGE,
            **RATE_LIMITED,
            **STORE_AWAY,
            409: _problem("The handle is taken; `current` names it"),
        },
    )
    async def register(self, request: Request, accord: AccordDep, data: JSONBody[Register]) -> Me:
        account = await accord.register(client(request), data.handle, data.display_name, data.password)
        return _me(account)

    @post(
        "/sessions",
        summary="Sign in for a bearer token",
        status_code=201,
        responses={**BAD_REQUEST, **TOO_LARGE, **RATE_LIMITED, **STORE_AWAY, **SECOND_FACTOR_STEP},
    )
    async def sign_in(self, request: Request, accord: AccordDep, data: JSONBody[SignIn]) -> Session:
        try:
            token, account, expires_at = await accord.sign_in(client(request), data.handle, data.password)
        except SecondFactorRequired as step:
            ceremony = await accord.security.begin_second_factor(step.account, relying_party(request, accord))
            # Not signed in yet: a 401 whose `current` is the passkey step that gives the token.
            step_body = SecondFactorStep(challenge_id=ceremony.challenge_id, options=ceremony.options)
            return problem(  # type: ignore[return-value]
                401,
                "the password was right and this account also requires a passkey: answer `current.options` "
                "with navigator.credentials.get() and send it with `current.challenge_id` to "
                "POST /api/sessions/second-factor",
                code="second_factor_required",
                current=step_body,
            )
        return Session(token=token, expires_at=expires_at, person=_me(account))

    @delete(
        "/sessions/current",
        summary="Sign out: revoke the token used (its open websockets close with 4401)",
        dependencies=CALLER,
        responses={**UNAUTHORIZED, **STORE_AWAY},
    )
    async def sign_out(self, request: Request, accord: AccordDep, caller: Caller) -> None:
        token = bearer_token(request)
        assert token is not None  # the caller dependency has checked it
        await accord.sign_out(token)

    @get("/me", summary="Who I am", dependencies=CALLER, responses={**UNAUTHORIZED, **BEHIND})
    async def me(self, accord: AccordDep, caller: Caller) -> Me:
        return _me(await accord.person(caller))

    @delete(
        "/me",
        summary="Delete my account: asks for the password again; what remains is in the README's privacy section",
        status_code=204,
        dependencies=CALLER,
        responses={**UNAUTHORIZED, **BAD_REQUEST, **UNPROCESSABLE, **TOO_LARGE, **RATE_LIMITED, **STORE_AWAY},
    )
    async def delete_me(self, request: Request, accord: AccordDep, caller: Caller, data: JSONBody[DeleteAccount]) -> None:
        await accord.erase(client(request), caller, data.password)
