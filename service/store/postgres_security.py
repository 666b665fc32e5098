"""Sessions, passkeys, the second-factor setting and challenges on PostgreSQL (see security.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from .security import SESSIONS_ENDED, Challenge, Passkey, SessionRecord

log = logging.getLogger(__name__)

SCHEMA = """
CREATE INDEX IF NOT EXISTS accord_tokens_person ON accord_tokens (person_id);
CREATE TABLE IF NOT EXISTS accord_sessions (
    token_hash bytea PRIMARY KEY REFERENCES accord_tokens (token_hash) ON DELETE CASCADE,
    created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS accord_passkeys (
    credential_id bytea PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES accord_accounts (person_id) ON DELETE CASCADE,
    public_key bytea NOT NULL,
    sign_count bigint NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz);
CREATE INDEX IF NOT EXISTS accord_passkeys_person ON accord_passkeys (person_id);
CREATE TABLE IF NOT EXISTS accord_second_factor (
    person_id uuid PRIMARY KEY REFERENCES accord_accounts (person_id) ON DELETE CASCADE,
    passkey_required boolean NOT NULL);
CREATE TABLE IF NOT EXISTS accord_challenges (
    challenge_id text PRIMARY KEY,
    purpose text NOT NULL,
    person_id uuid,
    challenge bytea NOT NULL,
    expires_at timestamptz NOT NULL);
"""

#: What deleting an account removes of its security (in delete_account's transaction).
FORGET_PERSON = (
    "DELETE FROM accord_passkeys WHERE person_id = $1",
    "DELETE FROM accord_second_factor WHERE person_id = $1",
    "DELETE FROM accord_challenges WHERE person_id = $1",
)

_PASSKEY = (
    "credential_id, person_id, public_key, sign_count, name, created_at, last_used_at"
)
#: Session ids per notification: 17 bytes each keeps a payload far below NOTIFY's 8000.
_PER_NOTICE = 400


def _passkey(row: asyncpg.Record) -> Passkey:
    return Passkey(
        credential_id=bytes(row[0]),
        person_id=row[1],
        public_key=bytes(row[2]),
        sign_count=row[3],
        name=row[4],
        created_at=row[5],
        last_used_at=row[6],
    )


class PostgresSecurity:
    """Mixed into PostgresStore."""

    dsn: str
    poll_interval: float
    pool: asyncpg.Pool
    _fetch: Callable[..., Any]

    async def start_session(
        self,
        token_hash: bytes,
        person_id: UUID,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._fetch(
            "WITH t AS (INSERT INTO accord_tokens (token_hash, person_id, expires_at) VALUES ($1, $2, $4)"
            " RETURNING token_hash)"
            " INSERT INTO accord_sessions (token_hash, created_at) SELECT token_hash, $3 FROM t",
            token_hash,
            person_id,
            created_at,
            expires_at,
        )

    async def live_sessions(
        self, person_id: UUID, now: datetime
    ) -> list[SessionRecord]:
        rows = await self._fetch(
            "SELECT t.token_hash, t.expires_at, s.created_at FROM accord_tokens t"
            " LEFT JOIN accord_sessions s ON s.token_hash = t.token_hash"
            " WHERE t.person_id = $1 AND NOT t.revoked AND t.expires_at > $2"
            " ORDER BY s.created_at DESC NULLS LAST, t.expires_at DESC",
            person_id,
            now,
        )
        return [
            SessionRecord(token_hash=bytes(r[0]), expires_at=r[1], created_at=r[2])
            for r in rows
        ]

    async def end_sessions(
        self, person_id: UUID, token_hashes: Sequence[bytes] | None = None
    ) -> list[bytes]:
        if token_hashes is not None and not token_hashes:
            return []
        # One statement: the revocation and the notices to other processes commit together.
        rows = await self._fetch(
            "WITH ended AS (UPDATE accord_tokens SET revoked = true"
            " WHERE person_id = $1 AND NOT revoked AND ($2::bytea[] IS NULL OR token_hash = ANY($2::bytea[]))"
            " RETURNING token_hash),"
            " told AS (SELECT pg_notify($3, string_agg(encode(substring(token_hash FROM 1 FOR 8), 'hex'), ' '))"
            " FROM (SELECT token_hash, (row_number() OVER ()) / $4 AS batch FROM ended) b GROUP BY batch)"
            " SELECT token_hash FROM ended, (SELECT count(*) FROM told) AS sent",
            person_id,
            None if token_hashes is None else list(token_hashes),
            SESSIONS_ENDED,
            _PER_NOTICE,
        )
        return [bytes(r[0]) for r in rows]

    async def listen_sessions_ended(self, ended: Callable[[list[str]], object]) -> None:
        def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            ended(payload.split())

        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(SESSIONS_ENDED, heard)
                while not conn.is_closed():
                    await asyncio.sleep(self.poll_interval)
                    await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure means reconnect
                log.info("session listener reconnecting after %s", type(error).__name__)
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.poll_interval)

    async def set_password_hash(self, person_id: UUID, password_hash: str) -> None:
        await self._fetch(
            "UPDATE accord_accounts SET password_hash = $2 WHERE person_id = $1",
            person_id,
            password_hash,
        )

    async def add_passkey(self, passkey: Passkey) -> None:
        await self._fetch(
            f"INSERT INTO accord_passkeys ({_PASSKEY}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            passkey.credential_id,
            passkey.person_id,
            passkey.public_key,
            passkey.sign_count,
            passkey.name,
            passkey.created_at,
            passkey.last_used_at,
        )

    async def passkeys(self, person_id: UUID) -> list[Passkey]:
        rows = await self._fetch(
            f"SELECT {_PASSKEY} FROM accord_passkeys WHERE person_id = $1 ORDER BY created_at, credential_id",
            person_id,
        )
        return [_passkey(r) for r in rows]

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        rows = await self._fetch(
            f"SELECT {_PASSKEY} FROM accord_passkeys WHERE credential_id = $1",
            credential_id,
        )
        return _passkey(rows[0]) if rows else None

    async def remove_passkey(self, person_id: UUID, credential_id: bytes) -> bool:
        rows = await self._fetch(
            "DELETE FROM accord_passkeys WHERE person_id = $1 AND credential_id = $2 RETURNING credential_id",
            person_id,
            credential_id,
        )
        return bool(rows)

    async def passkey_used(
        self, credential_id: bytes, sign_count: int, now: datetime
    ) -> None:
        await self._fetch(
            "UPDATE accord_passkeys SET sign_count = $2, last_used_at = $3 WHERE credential_id = $1",
            credential_id,
            sign_count,
            now,
        )

    async def passkey_required(self, person_id: UUID) -> bool:
        rows = await self._fetch(
            "SELECT passkey_required FROM accord_second_factor WHERE person_id = $1",
            person_id,
        )
        return bool(rows and rows[0][0])

    async def set_passkey_required(self, person_id: UUID, required: bool) -> None:
        await self._fetch(
            "INSERT INTO accord_second_factor (person_id, passkey_required) VALUES ($1, $2)"
            " ON CONFLICT (person_id) DO UPDATE SET passkey_required = excluded.passkey_required",
            person_id,
            required,
        )

    async def add_challenge(
        self, challenge_id: str, challenge: Challenge, now: datetime
    ) -> None:
        await self._fetch(
            "WITH gone AS (DELETE FROM accord_challenges WHERE expires_at <= $6)"
            " INSERT INTO accord_challenges (challenge_id, purpose, person_id, challenge, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            challenge_id,
            challenge.purpose,
            challenge.person_id,
            challenge.challenge,
            challenge.expires_at,
            now,
        )

    async def take_challenge(
        self, challenge_id: str, now: datetime
    ) -> Challenge | None:
        rows = await self._fetch(
            "DELETE FROM accord_challenges WHERE challenge_id = $1"
            " RETURNING purpose, challenge, expires_at, person_id",
            challenge_id,
        )
        if not rows or rows[0][2] <= now:
            return None
        purpose, challenge, expires_at, person_id = rows[0]
        return Challenge(
            purpose=purpose,
            challenge=bytes(challenge),
            expires_at=expires_at,
            person_id=person_id,
        )
