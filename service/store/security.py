"""Sessions, passkeys, the second-factor setting and WebAuthn challenges: kept beside the log, never in it.

Each lives in a table of its own (`accord_sessions`, `accord_passkeys`,
`accord_second_factor`, `accord_challenges`), so the accounts table keeps its
shape. A session is a sign-in token; the table never holds a token, only its
digest, and a session is named to its owner by `session_id`, a prefix of that
digest: it can end the session but can never be used to authenticate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

#: The channel on which a PostgreSQL store tells every process which sessions ended.
SESSIONS_ENDED = "accord_sessions_ended"


def session_id(token_hash: bytes) -> str:
    """What names a session to its owner: 64 bits of its token's digest, in hex."""
    return token_hash[:8].hex()


class SessionRecord(msgspec.Struct, frozen=True):
    """A live session. `created_at` is None for a token issued before sessions were recorded."""

    token_hash: bytes
    expires_at: datetime
    created_at: datetime | None = None

    @property
    def session_id(self) -> str:
        return session_id(self.token_hash)


class Passkey(msgspec.Struct, frozen=True):
    """A WebAuthn credential registered to an account."""

    credential_id: bytes
    person_id: UUID
    public_key: bytes
    sign_count: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None


class Challenge(msgspec.Struct, frozen=True):
    """A WebAuthn challenge: for one purpose, bound to one account (or none, for usernameless sign-in)."""

    purpose: str
    challenge: bytes
    expires_at: datetime
    person_id: UUID | None = None


class AccountSecurityStore(Protocol):
    async def start_session(
        self,
        token_hash: bytes,
        person_id: UUID,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Record a new token and when it was made, together."""

    async def live_sessions(
        self, person_id: UUID, now: datetime
    ) -> list[SessionRecord]:
        """A person's sessions that are neither revoked nor expired, newest first."""

    async def end_sessions(
        self, person_id: UUID, token_hashes: Sequence[bytes] | None = None
    ) -> list[bytes]:
        """Revoke the person's live tokens among `token_hashes` (all when None); the digests revoked.

        Other processes hear of it (`listen_sessions_ended`).
        """

    async def listen_sessions_ended(self, ended: Callable[[list[str]], object]) -> None:
        """Call `ended` with the session ids ended by any process; runs until cancelled."""

    async def set_password_hash(self, person_id: UUID, password_hash: str) -> None: ...

    async def add_passkey(self, passkey: Passkey) -> None: ...

    async def passkeys(self, person_id: UUID) -> list[Passkey]:
        """A person's passkeys, oldest first."""

    async def passkey(self, credential_id: bytes) -> Passkey | None: ...

    async def remove_passkey(self, person_id: UUID, credential_id: bytes) -> bool:
        """False when the person has no such passkey (someone else's is theirs alone)."""

    async def passkey_used(
        self, credential_id: bytes, sign_count: int, now: datetime
    ) -> None: ...

    async def passkey_required(self, person_id: UUID) -> bool: ...

    async def set_passkey_required(self, person_id: UUID, required: bool) -> None: ...

    async def add_challenge(
        self, challenge_id: str, challenge: Challenge, now: datetime
    ) -> None:
        """Keep a challenge until it is taken or expires (expired ones are cleared as new ones come)."""

    async def take_challenge(
        self, challenge_id: str, now: datetime
    ) -> Challenge | None:
        """The challenge, removed so it is used at most once; None if unknown, taken or expired."""


async def wait_forever() -> None:
    await asyncio.Event().wait()
