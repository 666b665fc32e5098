"""The account security page, and signing in with a passkey.

The same `AccountSecurity` use cases as the API (service/security.py). The
browser's part of a passkey ceremony runs in static/passkeys.js: it asks one of
the JSON routes here for a challenge, lets the browser answer it, and submits
the answer with an ordinary form, so refusals render like any other form's.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from domain.errors import NotFound, ValidationFailed
from service.accounts import RateLimited, SignInFailed
from service.application import Accord
from service.http.auth import client
from service.http.deps import AccordDep
from service.http.security import (
    ChangePassword,
    PasskeyName,
    relying_party,
    session_views,
)
from service.security import Ceremony, encode_id
from service.store.base import Account
from service.web.forms import Failed, Form, FormInvalid, decode, read_form
from service.web.pages import ME, Me, _local, act, render, see_other
from service.web.security import SESSION_COOKIE, clear_session, set_session

PAGE = "/account/security"


class NewPasskey(msgspec.Struct):
    name: PasskeyName


def _credential(form: Form) -> dict[str, Any]:
    try:
        credential = msgspec.json.decode(form.get("credential") or "")
    except msgspec.DecodeError:
        credential = None
    if not isinstance(credential, dict):
        raise FormInvalid({"credential": "the browser sent no passkey; try again"})
    return credential


def ceremony_json(ceremony: Ceremony) -> Response[Any]:
    return Response(
        {"challenge_id": ceremony.challenge_id, "options": ceremony.options}
    )


class AccountSecurityPages(Controller):
    path = PAGE
    dependencies = ME

    async def _page(
        self, request: Request, me: Account, failed: Failed | None = None
    ) -> Template:
        accord: Accord = request.app.state.accord
        context = {
            "section": "security",
            "sessions": session_views(
                await accord.security.sessions(me.person_id),
                request.cookies.get(SESSION_COOKIE),
            ),
            "passkeys": [
                (encode_id(p.credential_id), p)
                for p in await accord.security.passkeys(me.person_id)
            ],
            "passkey_required": await accord.security.passkey_required(me.person_id),
        }
        return render(request, "security.html", context, me=me, failed=failed)

    async def _act(
        self, request: Request, me: Account, form_id: str, action: Any
    ) -> Response[Any]:
        async def limited(form: Form) -> None:
            # Every form here is limited like sign-in, before it is acted on (a 429, not a refusal).
            request.app.state.accord.auth_limiter.check(client(request))
            await action(form)

        return await act(request, None, form_id, limited, lambda f: self._page(request, me, f), PAGE)

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @post("/sessions/{session_id:str}/end")
    async def end_session(
        self, request: Request, accord: AccordDep, me: Me, session_id: FromPath[str]
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.security.end_session(me.person_id, session_id)

        return await self._act(request, me, f"end-{session_id}", action)

    @post("/sessions/end-all")
    async def sign_out_everywhere(
        self, request: Request, accord: AccordDep, me: Me
    ) -> Response[Any]:
        accord.auth_limiter.check(client(request))
        await accord.security.end_sessions(me.person_id)
        response = see_other("/sign-in")
        clear_session(response)
        return response

    @post("/password")
    async def change_password(
        self, request: Request, accord: AccordDep, me: Me
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                ChangePassword,
                current_password=form.get("current_password"),
                new_password=form.get("new_password"),
            )
            token = request.cookies[SESSION_COOKIE]
            await accord.security.change_password(
                me.person_id, data.current_password, data.new_password, token
            )

        return await self._act(request, me, "password", action)

    @post("/passkeys/challenge")
    async def passkey_challenge(
        self, request: Request, accord: AccordDep, me: Me
    ) -> Response[Any]:
        accord.auth_limiter.check(client(request))
        return ceremony_json(
            await accord.security.begin_registration(me, relying_party(request, accord))
        )

    @post("/passkeys")
    async def add_passkey(
        self, request: Request, accord: AccordDep, me: Me
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            name = decode(NewPasskey, name=form.get("name") or "Passkey").name
            await accord.security.finish_registration(
                me.person_id,
                form.get("challenge_id") or "",
                _credential(form),
                name,
                relying_party(request, accord),
            )

        return await self._act(request, me, "add-passkey", action)

    @post("/passkeys/{passkey_id:str}/remove")
    async def remove_passkey(
        self, request: Request, accord: AccordDep, me: Me, passkey_id: FromPath[str]
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.security.remove_passkey(me.person_id, passkey_id)

        return await self._act(request, me, f"remove-{passkey_id}", action)

    @post("/second-factor")
    async def second_factor(
        self, request: Request, accord: AccordDep, me: Me
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.security.require_passkey(
                me.person_id, form.get("passkey_required") == "on"
            )

        return await self._act(request, me, "second-factor", action)

    @get(
        [
            "/sessions/{session_id:str}/end",
            "/sessions/end-all",
            "/password",
            "/passkeys",
            "/passkeys/challenge",
            "/passkeys/{passkey_id:str}/remove",
            "/second-factor",
        ]
    )
    async def revisit(self) -> Response[Any]:
        # A form address opened without its form: the page, never the action.
        return see_other(PAGE)


class PasskeySignInPages(Controller):
    path = "/sign-in"

    def _refused(
        self, request: Request, form: Form, message: str, status: int
    ) -> Template:
        kept = Failed(
            form_id="sign-in", values={}, lists={}, message=message, status=status
        )
        return render(
            request,
            "sign_in.html",
            {"next": _local(form.get("next"))},
            me=None,
            failed=kept,
        )

    async def _signed_in(
        self, request: Request, form: Form, token: str, expires_at: Any
    ) -> Response[Any]:
        response = see_other(_local(form.get("next")))
        set_session(response, request, token, expires_at)
        return response

    @post("/passkey/challenge")
    async def challenge(self, request: Request, accord: AccordDep) -> Response[Any]:
        accord.auth_limiter.check(client(request))
        return ceremony_json(
            await accord.security.begin_sign_in(relying_party(request, accord))
        )

    @post("/passkey")
    async def with_passkey(self, request: Request, accord: AccordDep) -> Response[Any]:
        return await self._finish(
            request, accord, accord.security.finish_sign_in, "That passkey could not sign you in. Try again."
        )

    @post("/second-factor")
    async def second_factor(self, request: Request, accord: AccordDep) -> Response[Any]:
        return await self._finish(
            request, accord, accord.security.finish_second_factor, "Your passkey was not confirmed. Sign in again."
        )

    async def _finish(self, request: Request, accord: Accord, finish: Any, refusal: str) -> Response[Any]:
        """A passkey's answer to a challenge, read from the form: signed in, or refused with `refusal`."""
        form = await read_form(request, None)
        try:
            accord.auth_limiter.check(client(request))
            token, _, expires_at = await finish(
                form.get("challenge_id") or "", _credential(form), relying_party(request, accord)
            )
        except RateLimited as error:
            return self._refused(request, form, f"Too many attempts. Try again in {error.retry_after} seconds.", 429)
        except (SignInFailed, ValidationFailed, FormInvalid, NotFound):
            return self._refused(request, form, refusal, 401)
        return await self._signed_in(request, form, token, expires_at)

    @get(["/passkey", "/passkey/challenge", "/second-factor"])
    async def revisit(self) -> Response[Any]:
        return see_other("/sign-in")


CONTROLLERS = [AccountSecurityPages, PasskeySignInPages]
