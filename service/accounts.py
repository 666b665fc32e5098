"""Accounts, passwords and sign-in tokens. Nothing here enters the event log."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import deque
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from service.store import EventStore
from service.store.base import Account, HandleTaken


class SignInFailed(Exception):
    """Wrong handle or password, or an expired or revoked token: never says which."""


class RateLimited(Exception):
    """Over a limit; `limit` names it (the problem's type), when it has a name."""

    def __init__(self, retry_after: int, limit: str = "", what: str = "attempts") -> None:
        super().__init__(f"too many {what}; retry after {retry_after} s")
        self.retry_after = retry_after
        self.limit = limit


def token_digest(token: str) -> bytes:
    # Tokens are 256 random bits: a fast hash is enough, and the table never holds one.
    return hashlib.sha256(token.encode()).digest()


class RateLimiter:
    """At most `limit` hits per key in a sliding `window` of seconds, in this process.

    One limiter serves one limit for many keys (a client address, a sender, a recipient):
    `check` refuses the caller over the limit, `allow` only says whether a hit fits.
    `name` and `what` word the refusal (`RateLimited`).
    """

    def __init__(self, limit: int, window: float = 60.0, *, name: str = "", what: str = "attempts") -> None:
        self.limit = limit
        self.window = window
        self.name = name
        self.what = what
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        if (wait := self._hit(key)) is not None:
            raise RateLimited(wait, self.name, self.what)

    def allow(self, key: str) -> bool:
        """Count a hit for `key` if it fits under the limit; False (and nothing counted) if not."""
        return self._hit(key) is None

    def _hit(self, key: str) -> int | None:
        """Seconds until a hit would fit, or None when this one did (and was counted)."""
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return int(hits[0] + self.window - now) + 1
        hits.append(now)
        if len(self._hits) > 10_000:
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}
        return None


class Accounts:
    def __init__(self, store: EventStore, *, hashing: str, token_ttl: timedelta) -> None:
        self.store = store
        self.hasher = (
            PasswordHasher.from_parameters(profiles.CHEAPEST)
            if hashing == "cheapest"
            else PasswordHasher()
        )
        self.token_ttl = token_ttl
        # Verifying against this when the handle is unknown keeps timing alike.
        self._decoy = self.hasher.hash(secrets.token_hex(16))

    async def register(self, handle: str, display_name: str, password: str) -> Account:
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        account = Account(
            person_id=uuid4(), handle=handle, display_name=display_name, password_hash=password_hash
        )
        await self.store.create_account(account)  # HandleTaken propagates
        return Account(account.person_id, handle.casefold(), display_name, password_hash)

    async def sign_in(self, handle: str, password: str, now: datetime) -> tuple[str, Account, datetime]:
        account = await self.check_password(handle, password)
        token, expires_at = await self.issue(account.person_id, now)
        return token, account, expires_at

    async def check_password(self, handle: str, password: str) -> Account:
        """The account whose handle and password these are; SignInFailed otherwise."""
        account = await self.store.account_by_handle(handle)
        try:
            await asyncio.to_thread(
                self.hasher.verify, account.password_hash if account else self._decoy, password
            )
        except (VerificationError, InvalidHashError):
            raise SignInFailed from None
        if account is None:
            raise SignInFailed
        return account

    async def issue(self, person_id: UUID, now: datetime) -> tuple[str, datetime]:
        """A new session's token and when it expires."""
        token = secrets.token_urlsafe(32)
        expires_at = now + self.token_ttl
        await self.store.start_session(token_digest(token), person_id, now, expires_at)
        return token, expires_at

    async def confirm_password(self, person_id: UUID, password: str) -> None:
        """SignInFailed unless `password` is this person's (asked again before an account is deleted)."""
        account = (await self.store.accounts_by_ids([person_id])).get(person_id)
        try:
            await asyncio.to_thread(self.hasher.verify, account.password_hash if account else self._decoy, password)
        except (VerificationError, InvalidHashError):
            raise SignInFailed from None
        if account is None:
            raise SignInFailed

    async def authenticate(self, token: str, now: datetime) -> UUID:
        return (await self.authenticate_at(token, now))[0]

    async def authenticate_at(self, token: str, now: datetime) -> tuple[UUID, int]:
        """The token's person, and the log's last position when it was checked (one round trip)."""
        found = await self.store.token_owner_at(token_digest(token), now)
        if found is None:
            raise SignInFailed
        return found

    async def sign_out(self, token: str) -> None:
        await self.store.revoke_token(token_digest(token))


__all__ = ["Accounts", "HandleTaken", "RateLimited", "RateLimiter", "SignInFailed", "token_digest"]
