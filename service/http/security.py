"""Account security over the API: sessions, the password, passkeys and the passkey second factor.

Every route here is limited like sign-in (per client address), because each
either signs someone in or guards what signing in rests on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import Meta

from service.accounts import token_digest
from service.application import Accord
from service.http.auth import CALLER, Caller, bearer_token, client
from service.http.deps import AccordDep
from service.http.responses import (
    BAD_REQUEST,
    NOT_FOUND,
    RATE_LIMITED,
    STORE_AWAY,
    TOO_LARGE,
    UNAUTHORIZED,
    UNPROCESSABLE,
    _problem,
)
from service.http.wire import Me, Password, Session, Strict
from service.security import Ceremony, RelyingParty, encode_id
from service.store.base import Account
from service.store.security import Passkey, SessionRecord

#: What names a session (service/store/security.py): 16 hex digits.
SessionId = Annotated[
    str,
    PathParameter(pattern=r"^[0-9a-f]{16}$", description="a session id from the list"),
]
#: A passkey's credential id in base64url, as the list shows it.
PasskeyId = Annotated[
    str,
    PathParameter(
        pattern=r"^[A-Za-z0-9_-]{1,1400}$", description="a passkey id from the list"
    ),
]
ChallengeId = Annotated[str, Meta(min_length=1, max_length=64)]
#: The browser's PublicKeyCredential, as its `toJSON()` (or the same shape built by hand) gives it.
Credential = Annotated[
    dict[str, Any],
    Meta(description="the PublicKeyCredential as JSON (WebAuthn Level 3 toJSON)"),
]
PasskeyName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=60,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="no control characters",
    ),
]



#: What a passkey's answer to a challenge may get back, besides its token.
ANSWERED = {**BAD_REQUEST, **UNAUTHORIZED, **TOO_LARGE, **UNPROCESSABLE, **RATE_LIMITED, **STORE_AWAY}

class SessionView(msgspec.Struct, frozen=True):
    """One signed-in session. `session_id` names it here; it can never be used to sign in."""

    session_id: str
    expires_at: datetime
    current: bool
    created_at: datetime | None = None


class PasskeyView(msgspec.Struct, frozen=True):
    passkey_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None


class CeremonyView(msgspec.Struct, frozen=True):
    """A started passkey ceremony: pass `options` to the browser, send `challenge_id` back with its answer."""

    challenge_id: str
    options: dict[str, Any]


class SecondFactorStep(msgspec.Struct, frozen=True):
    """The password was right; answer this passkey challenge at /api/sessions/second-factor for a token.

    Sent as the `current` of a 401 problem (`second_factor_required`): not signed in yet.
    """

    challenge_id: str
    options: dict[str, Any]
    second_factor: Literal["passkey"] = "passkey"


class SecondFactor(msgspec.Struct, frozen=True):
    passkey_required: bool


class ChangePassword(Strict):
    current_password: Annotated[str, Meta(min_length=1, max_length=200)]
    new_password: Password


class RegisterPasskey(Strict):
    challenge_id: ChallengeId
    credential: Credential
    name: PasskeyName = "Passkey"


class AnswerChallenge(Strict):
    challenge_id: ChallengeId
    credential: Credential


class SetSecondFactor(Strict):
    passkey_required: bool


def relying_party(request: Request, accord: Accord) -> RelyingParty:
    """The settings' relying party, or the request's own host and origin when they are empty."""
    settings = accord.settings
    origin = settings.passkey_origin or f"{request.url.scheme}://{request.url.netloc}"
    rp_id = settings.passkey_rp_id or urlsplit(origin).hostname or "localhost"
    return RelyingParty(id=rp_id, origin=origin, name=settings.passkey_rp_name)


def session_views(
    sessions: list[SessionRecord], token: str | None
) -> list[SessionView]:
    current = token_digest(token) if token else None
    return [
        SessionView(
            session_id=s.session_id,
            expires_at=s.expires_at,
            current=s.token_hash == current,
            created_at=s.created_at,
        )
        for s in sessions
    ]


def passkey_view(passkey: Passkey) -> PasskeyView:
    return PasskeyView(
        passkey_id=encode_id(passkey.credential_id),
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


def signed_in(token: str, account: Account, expires_at: datetime) -> Session:
    me = Me(
        person_id=account.person_id,
        handle=account.handle,
        display_name=account.display_name,
    )
    return Session(token=token, expires_at=expires_at, person=me)


def ceremony_view(ceremony: Ceremony) -> CeremonyView:
    return CeremonyView(challenge_id=ceremony.challenge_id, options=ceremony.options)


SIGNED_IN = {**UNAUTHORIZED, **RATE_LIMITED, **STORE_AWAY}
CHANGE = {**SIGNED_IN, **BAD_REQUEST, **TOO_LARGE}


class SecurityController(Controller):
    """The signed-in person's sessions, password, passkeys and second-factor setting."""

    path = "/api/me"
    tags = ("account security",)
    dependencies = CALLER

    @get("/sessions", summary="My sessions", responses=SIGNED_IN)
    async def sessions(
        self, request: Request, accord: AccordDep, caller: Caller
    ) -> list[SessionView]:
        accord.auth_limiter.check(client(request))
        return session_views(
            await accord.security.sessions(caller), bearer_token(request)
        )

    @delete(
        "/sessions/{session_id:str}",
        summary="End one of my sessions (its open websockets close with 4401)",
        responses={**SIGNED_IN, **BAD_REQUEST, **NOT_FOUND},
    )
    async def end_session(
        self, request: Request, accord: AccordDep, caller: Caller, session_id: SessionId
    ) -> None:
        accord.auth_limiter.check(client(request))
        await accord.security.end_session(caller, session_id)

    @delete(
        "/sessions",
        summary="Sign out everywhere: end every session of mine, this one too",
        responses=SIGNED_IN,
    )
    async def end_sessions(
        self, request: Request, accord: AccordDep, caller: Caller
    ) -> None:
        accord.auth_limiter.check(client(request))
        await accord.security.end_sessions(caller)

    @put(
        "/password",
        summary="Change my password: every other session ends, this one stays",
        status_code=204,
        responses={**CHANGE, **UNPROCESSABLE},
    )
    async def change_password(
        self,
        request: Request,
        accord: AccordDep,
        caller: Caller,
        data: JSONBody[ChangePassword],
    ) -> None:
        accord.auth_limiter.check(client(request))
        token = bearer_token(request)
        assert token is not None  # the caller dependency has checked it
        await accord.security.change_password(
            caller, data.current_password, data.new_password, token
        )

    @get("/passkeys", summary="My passkeys", responses=SIGNED_IN)
    async def passkeys(
        self, request: Request, accord: AccordDep, caller: Caller
    ) -> list[PasskeyView]:
        accord.auth_limiter.check(client(request))
        return [passkey_view(p) for p in await accord.security.passkeys(caller)]

    @post(
        "/passkeys/challenges",
        summary="Start registering a passkey: options for navigator.credentials.create()",
        status_code=201,
        responses=SIGNED_IN,
    )
    async def begin_registration(
        self, request: Request, accord: AccordDep, caller: Caller
    ) -> CeremonyView:
        accord.auth_limiter.check(client(request))
        me = await accord.person(caller)
        return ceremony_view(
            await accord.security.begin_registration(me, relying_party(request, accord))
        )

    @post(
        "/passkeys",
        summary="Register a passkey: the browser's answer to a registration challenge",
        status_code=201,
        responses={**CHANGE, **UNPROCESSABLE},
    )
    async def register_passkey(
        self,
        request: Request,
        accord: AccordDep,
        caller: Caller,
        data: JSONBody[RegisterPasskey],
    ) -> PasskeyView:
        accord.auth_limiter.check(client(request))
        passkey = await accord.security.finish_registration(
            caller,
            data.challenge_id,
            data.credential,
            data.name,
            relying_party(request, accord),
        )
        return passkey_view(passkey)

    @delete(
        "/passkeys/{passkey_id:str}",
        summary="Remove one of my passkeys",
        responses={**SIGNED_IN, **BAD_REQUEST, **NOT_FOUND, **UNPROCESSABLE},
    )
    async def remove_passkey(
        self, request: Request, accord: AccordDep, caller: Caller, passkey_id: PasskeyId
    ) -> None:
        accord.auth_limiter.check(client(request))
        await accord.security.remove_passkey(caller, passkey_id)

    @get(
        "/second-factor",
        summary="Whether signing in with my password also needs a passkey",
        responses=SIGNED_IN,
    )
    async def second_factor(
        self, request: Request, accord: AccordDep, caller: Caller
    ) -> SecondFactor:
        accord.auth_limiter.check(client(request))
        return SecondFactor(
            passkey_required=await accord.security.passkey_required(caller)
        )

    @put(
        "/second-factor",
        summary="Require a passkey after my password, or stop requiring it",
        responses={**CHANGE, **UNPROCESSABLE},
    )
    async def set_second_factor(
        self,
        request: Request,
        accord: AccordDep,
        caller: Caller,
        data: JSONBody[SetSecondFactor],
    ) -> SecondFactor:
        accord.auth_limiter.check(client(request))
        await accord.security.require_passkey(caller, data.passkey_required)
        return SecondFactor(passkey_required=data.passkey_required)


class PasskeySignInController(Controller):
    """Signing in with a passkey, alone or as the second factor after a password."""

    path = "/api/sessions"
    tags = ("accounts",)

    @post(
        "/passkey/challenges",
        summary="Start signing in with a passkey: options for navigator.credentials.get()",
        status_code=201,
        responses={**RATE_LIMITED, **STORE_AWAY},
    )
    async def begin_sign_in(self, request: Request, accord: AccordDep) -> CeremonyView:
        accord.auth_limiter.check(client(request))
        return ceremony_view(
            await accord.security.begin_sign_in(relying_party(request, accord))
        )

    @post(
        "/passkey",
        summary="Sign in with a passkey for a bearer token",
        status_code=201,
        responses=ANSWERED,
    )
    async def sign_in(
        self, request: Request, accord: AccordDep, data: JSONBody[AnswerChallenge]
    ) -> Session:
        accord.auth_limiter.check(client(request))
        return signed_in(
            *await accord.security.finish_sign_in(
                data.challenge_id, data.credential, relying_party(request, accord)
            )
        )

    @post(
        "/second-factor",
        summary="Finish a password sign-in that asked for a passkey: a bearer token",
        status_code=201,
        responses=ANSWERED,
    )
    async def second_factor(
        self, request: Request, accord: AccordDep, data: JSONBody[AnswerChallenge]
    ) -> Session:
        accord.auth_limiter.check(client(request))
        return signed_in(
            *await accord.security.finish_second_factor(
                data.challenge_id, data.credential, relying_party(request, accord)
            )
        )


#: How the password sign-in documents its 401s: a failure, or the second factor's step.
SECOND_FACTOR_STEP = {
    401: _problem(
        "Wrong handle or password (`sign_in_failed`); or the password was right and the account requires a "
        "passkey as well (`second_factor_required`): then `current` is a SecondFactorStep, whose challenge "
        "answered at POST /api/sessions/second-factor gives the token"
    )
}
