"""Account security: sessions, changing the password, passkeys and the passkey second factor.

Nothing here enters the event log. A session is a sign-in token, named to its
owner by a digest prefix (`session_id`) that cannot authenticate. Ending a
session revokes its token and closes its open websockets here at once; the
store tells the other processes, which close theirs.

Passkeys are WebAuthn credentials (py_webauthn). Every ceremony starts with a
challenge kept in the store: it is used at most once, expires, and is bound
to one purpose and (except for usernameless sign-in) one account, so a
challenge made for one person or ceremony cannot complete another.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from argon2.exceptions import InvalidHashError, VerificationError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain.errors import NotFound, ValidationFailed
from service.accounts import Accounts, SignInFailed, token_digest
from service.store import EventStore
from service.store.base import Account
from service.store.security import Challenge, Passkey, SessionRecord
from service.store.security import session_id as session_id_of

REGISTER = "register"
SIGN_IN = "sign_in"
SECOND_FACTOR = "second_factor"


class RelyingParty(NamedTuple):
    """Who passkeys are made for: the site's domain (`id`), the exact origin pages run on, a name to show."""

    id: str
    origin: str
    name: str = "Accord"


class Ceremony(NamedTuple):
    """A started WebAuthn ceremony: the challenge's id to send back, and the options for the browser."""

    challenge_id: str
    options: dict[str, Any]


class SecondFactorRequired(Exception):
    """The password was right, and this account also asks for a passkey before a token."""

    def __init__(self, account: Account) -> None:
        super().__init__("a passkey is required as well")
        self.account = account


def encode_id(credential_id: bytes) -> str:
    """A passkey's id as the browser spells it (base64url without padding)."""
    return bytes_to_base64url(credential_id)


def decode_id(passkey_id: str) -> bytes | None:
    try:
        return base64url_to_bytes(passkey_id)
    except ValueError:
        return None


def _credential_id(credential: dict[str, Any]) -> bytes | None:
    raw = credential.get("rawId", credential.get("id"))
    return decode_id(raw) if isinstance(raw, str) else None


class AccountSecurity:
    def __init__(
        self,
        store: EventStore,
        accounts: Accounts,
        now: Callable[[], datetime],
        sessions_ended: Callable[[Iterable[str]], object],
        *,
        challenge_ttl: timedelta,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.now = now
        #: Closes this process's websockets of the sessions named.
        self.sessions_ended = sessions_ended
        self.challenge_ttl = challenge_ttl

    # Sessions

    async def sessions(self, person: UUID) -> list[SessionRecord]:
        return await self.store.live_sessions(person, self.now())

    async def end_session(self, person: UUID, session_id: str) -> None:
        """End one of the person's sessions; NotFound if they have no live one by that id."""
        live = await self.sessions(person)
        found = [s.token_hash for s in live if s.session_id == session_id]
        if not found or not await self._end(person, found):
            raise NotFound("session", session_id)  # type: ignore[arg-type]

    async def end_sessions(self, person: UUID, *, keep: str | None = None) -> int:
        """End every session of the person, but the one whose token is `keep`; how many ended."""
        if keep is None:
            return len(await self._end(person, None))
        kept = token_digest(keep)
        others = [
            s.token_hash for s in await self.sessions(person) if s.token_hash != kept
        ]
        return len(await self._end(person, others))

    async def end_token(self, person: UUID, token: str) -> None:
        """Sign out: end the session of this token."""
        await self._end(person, [token_digest(token)])

    async def _end(self, person: UUID, token_hashes: list[bytes] | None) -> list[bytes]:
        ended = await self.store.end_sessions(person, token_hashes)
        self.sessions_ended(session_id_of(h) for h in ended)
        return ended

    # The password

    async def change_password(
        self, person: UUID, current: str, new: str, token: str
    ) -> None:
        """Check the current password, set the new one, and end every other session."""
        account = (await self.store.accounts_by_ids([person])).get(person)
        if account is None:
            raise NotFound("person", person)
        try:
            await asyncio.to_thread(
                self.accounts.hasher.verify, account.password_hash, current
            )
        except (VerificationError, InvalidHashError):
            raise ValidationFailed(
                "current_password", "must be your current password"
            ) from None
        new_hash = await asyncio.to_thread(self.accounts.hasher.hash, new)
        await self.store.set_password_hash(person, new_hash)
        await self.end_sessions(person, keep=token)

    # Passkeys of a signed-in person

    async def passkeys(self, person: UUID) -> list[Passkey]:
        return await self.store.passkeys(person)

    async def begin_registration(self, account: Account, rp: RelyingParty) -> Ceremony:
        existing = await self.store.passkeys(account.person_id)
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_id=account.person_id.bytes,
            user_name=account.handle,
            user_display_name=account.display_name,
            # Discoverable, so it can sign in without a handle; verified, so it is a factor of its own.
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing
            ],
        )
        return await self._begin(REGISTER, options, account.person_id)

    async def finish_registration(
        self,
        person: UUID,
        challenge_id: str,
        credential: dict[str, Any],
        name: str,
        rp: RelyingParty,
    ) -> Passkey:
        challenge = await self._take(challenge_id, REGISTER, person)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge.challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            raise ValidationFailed(
                "credential", f"was not a valid passkey registration ({error})"
            ) from None
        if await self.store.passkey(verified.credential_id) is not None:
            raise ValidationFailed("credential", "is already registered")
        passkey = Passkey(
            credential_id=verified.credential_id,
            person_id=person,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name,
            created_at=self.now(),
        )
        await self.store.add_passkey(passkey)
        return passkey

    async def remove_passkey(self, person: UUID, passkey_id: str) -> None:
        credential_id = decode_id(passkey_id)
        mine = await self.store.passkeys(person)
        if credential_id is None or all(p.credential_id != credential_id for p in mine):
            raise NotFound("passkey", passkey_id)  # type: ignore[arg-type]
        if len(mine) == 1 and await self.store.passkey_required(person):
            raise ValidationFailed(
                "passkey_id",
                "is your only passkey while one is required; turn the requirement off first",
            )
        if not await self.store.remove_passkey(person, credential_id):
            raise NotFound("passkey", passkey_id)  # type: ignore[arg-type]

    async def passkey_required(self, person: UUID) -> bool:
        return await self.store.passkey_required(person)

    async def require_passkey(self, person: UUID, required: bool) -> None:
        if required and not await self.store.passkeys(person):
            raise ValidationFailed(
                "passkey_required", "needs a registered passkey first"
            )
        await self.store.set_passkey_required(person, required)

    # Signing in with a passkey

    async def begin_sign_in(self, rp: RelyingParty) -> Ceremony:
        """Usernameless: the browser offers whichever passkey of this site the person picks."""
        options = generate_authentication_options(
            rp_id=rp.id, user_verification=UserVerificationRequirement.REQUIRED
        )
        return await self._begin(SIGN_IN, options, None)

    async def finish_sign_in(
        self, challenge_id: str, credential: dict[str, Any], rp: RelyingParty
    ) -> tuple[str, Account, datetime]:
        challenge = await self._take(challenge_id, SIGN_IN, None)
        return await self._signed_in(
            challenge, credential, rp, require_user_verification=True
        )

    async def begin_second_factor(self, account: Account, rp: RelyingParty) -> Ceremony:
        mine = await self.store.passkeys(account.person_id)
        options = generate_authentication_options(
            rp_id=rp.id,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=p.credential_id) for p in mine
            ],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return await self._begin(SECOND_FACTOR, options, account.person_id)

    async def finish_second_factor(
        self, challenge_id: str, credential: dict[str, Any], rp: RelyingParty
    ) -> tuple[str, Account, datetime]:
        challenge = await self._take(challenge_id, SECOND_FACTOR, None)
        return await self._signed_in(
            challenge, credential, rp, require_user_verification=False
        )

    async def _signed_in(
        self,
        challenge: Challenge,
        credential: dict[str, Any],
        rp: RelyingParty,
        *,
        require_user_verification: bool,
    ) -> tuple[str, Account, datetime]:
        credential_id = _credential_id(credential)
        passkey = await self.store.passkey(credential_id) if credential_id else None
        if passkey is None or (
            challenge.person_id is not None and passkey.person_id != challenge.person_id
        ):
            raise SignInFailed
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge.challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=require_user_verification,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError):
            raise SignInFailed from None
        now = self.now()
        await self.store.passkey_used(
            passkey.credential_id, verified.new_sign_count, now
        )
        account = (await self.store.accounts_by_ids([passkey.person_id])).get(
            passkey.person_id
        )
        if account is None:
            raise SignInFailed
        token, expires_at = await self.accounts.issue(account.person_id, now)
        return token, account, expires_at

    # Challenges

    async def _begin(self, purpose: str, options: Any, person: UUID | None) -> Ceremony:
        challenge_id = secrets.token_urlsafe(18)
        now = self.now()
        await self.store.add_challenge(
            challenge_id,
            Challenge(purpose, options.challenge, now + self.challenge_ttl, person),
            now,
        )
        return Ceremony(challenge_id, options_to_json_dict(options))

    async def _take(
        self, challenge_id: str, purpose: str, person: UUID | None
    ) -> Challenge:
        challenge = await self.store.take_challenge(challenge_id, self.now())
        if (
            challenge is None
            or challenge.purpose != purpose
            or (person is not None and challenge.person_id != person)
        ):
            raise ValidationFailed(
                "challenge_id", "is unknown, already used, expired or not for this step"
            )
        return challenge
