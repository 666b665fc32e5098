"""Sessions, passkeys, the second-factor setting and challenges in the SQLite file (see security.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from .security import Challenge, Passkey, SessionRecord, wait_forever

SCHEMA = """
CREATE INDEX IF NOT EXISTS accord_tokens_person ON accord_tokens (person_id);
CREATE TABLE IF NOT EXISTS accord_sessions (
    token_hash BLOB PRIMARY KEY REFERENCES accord_tokens (token_hash) ON DELETE CASCADE,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accord_passkeys (
    credential_id BLOB PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES accord_accounts (person_id) ON DELETE CASCADE,
    public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT);
CREATE INDEX IF NOT EXISTS accord_passkeys_person ON accord_passkeys (person_id);
CREATE TABLE IF NOT EXISTS accord_second_factor (
    person_id TEXT PRIMARY KEY REFERENCES accord_accounts (person_id) ON DELETE CASCADE,
    passkey_required INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accord_challenges (
    challenge_id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    person_id TEXT,
    challenge BLOB NOT NULL,
    expires_at TEXT NOT NULL);
"""

#: What deleting an account removes of its security (in delete_account's transaction, before its tokens go).
FORGET_PERSON = (
    "DELETE FROM accord_sessions WHERE token_hash IN (SELECT token_hash FROM accord_tokens WHERE person_id = ?)",
    "DELETE FROM accord_passkeys WHERE person_id = ?",
    "DELETE FROM accord_second_factor WHERE person_id = ?",
    "DELETE FROM accord_challenges WHERE person_id = ?",
)


def _utc(moment: datetime) -> str:
    # ISO strings in UTC compare in time order (the same form sqlite.py writes).
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _passkey(row: tuple) -> Passkey:
    return Passkey(
        credential_id=bytes(row[0]),
        person_id=UUID(row[1]),
        public_key=bytes(row[2]),
        sign_count=row[3],
        name=row[4],
        created_at=datetime.fromisoformat(row[5]),
        last_used_at=_moment(row[6]),
    )


_PASSKEY = (
    "credential_id, person_id, public_key, sign_count, name, created_at, last_used_at"
)


class SQLiteSecurity:
    """Mixed into SQLiteStore: one process, so an ended session needs no telling elsewhere."""

    _query: Callable[..., Any]
    _run: Callable[..., Any]

    async def start_session(
        self,
        token_hash: bytes,
        person_id: UUID,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO accord_tokens (token_hash, person_id, expires_at) VALUES (?, ?, ?)",
                    (token_hash, str(person_id), _utc(expires_at)),
                )
                conn.execute(
                    "INSERT INTO accord_sessions (token_hash, created_at) VALUES (?, ?)",
                    (token_hash, _utc(created_at)),
                )

        await self._run(write)

    async def live_sessions(
        self, person_id: UUID, now: datetime
    ) -> list[SessionRecord]:
        rows = await self._query(
            "SELECT t.token_hash, t.expires_at, s.created_at FROM accord_tokens t"
            " LEFT JOIN accord_sessions s ON s.token_hash = t.token_hash"
            " WHERE t.person_id = ? AND NOT t.revoked AND t.expires_at > ?"
            " ORDER BY s.created_at DESC, t.expires_at DESC",
            (str(person_id), _utc(now)),
        )
        return [
            SessionRecord(
                token_hash=bytes(r[0]),
                expires_at=datetime.fromisoformat(r[1]),
                created_at=_moment(r[2]),
            )
            for r in rows
        ]

    async def end_sessions(
        self, person_id: UUID, token_hashes: Sequence[bytes] | None = None
    ) -> list[bytes]:
        if token_hashes is None:
            rows = await self._query(
                "UPDATE accord_tokens SET revoked = 1 WHERE person_id = ? AND NOT revoked RETURNING token_hash",
                (str(person_id),),
            )
        elif not token_hashes:
            return []
        else:
            marks = ",".join("?" * len(token_hashes))
            rows = await self._query(
                "UPDATE accord_tokens SET revoked = 1"
                f" WHERE person_id = ? AND NOT revoked AND token_hash IN ({marks}) RETURNING token_hash",
                (str(person_id), *token_hashes),
            )
        return [bytes(r[0]) for r in rows]

    async def listen_sessions_ended(self, ended: Callable[[list[str]], object]) -> None:
        await wait_forever()

    async def set_password_hash(self, person_id: UUID, password_hash: str) -> None:
        await self._query(
            "UPDATE accord_accounts SET password_hash = ? WHERE person_id = ?",
            (password_hash, str(person_id)),
        )

    async def add_passkey(self, passkey: Passkey) -> None:
        await self._query(
            f"INSERT INTO accord_passkeys ({_PASSKEY}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                passkey.credential_id,
                str(passkey.person_id),
                passkey.public_key,
                passkey.sign_count,
                passkey.name,
                _utc(passkey.created_at),
                _utc(passkey.last_used_at) if passkey.last_used_at else None,
            ),
        )

    async def passkeys(self, person_id: UUID) -> list[Passkey]:
        rows = await self._query(
            f"SELECT {_PASSKEY} FROM accord_passkeys WHERE person_id = ? ORDER BY created_at, credential_id",
            (str(person_id),),
        )
        return [_passkey(r) for r in rows]

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        rows = await self._query(
            f"SELECT {_PASSKEY} FROM accord_passkeys WHERE credential_id = ?",
            (credential_id,),
        )
        return _passkey(rows[0]) if rows else None

    async def remove_passkey(self, person_id: UUID, credential_id: bytes) -> bool:
        rows = await self._query(
            "DELETE FROM accord_passkeys WHERE person_id = ? AND credential_id = ? RETURNING credential_id",
            (str(person_id), credential_id),
        )
        return bool(rows)

    async def passkey_used(
        self, credential_id: bytes, sign_count: int, now: datetime
    ) -> None:
        await self._query(
            "UPDATE accord_passkeys SET sign_count = ?, last_used_at = ? WHERE credential_id = ?",
            (sign_count, _utc(now), credential_id),
        )

    async def passkey_required(self, person_id: UUID) -> bool:
        rows = await self._query(
            "SELECT passkey_required FROM accord_second_factor WHERE person_id = ?",
            (str(person_id),),
        )
        return bool(rows and rows[0][0])

    async def set_passkey_required(self, person_id: UUID, required: bool) -> None:
        await self._query(
            "INSERT INTO accord_second_factor (person_id, passkey_required) VALUES (?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET passkey_required = excluded.passkey_required",
            (str(person_id), int(required)),
        )

    async def add_challenge(
        self, challenge_id: str, challenge: Challenge, now: datetime
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "DELETE FROM accord_challenges WHERE expires_at <= ?", (_utc(now),)
                )
                conn.execute(
                    "INSERT INTO accord_challenges (challenge_id, purpose, person_id, challenge, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        challenge_id,
                        challenge.purpose,
                        str(challenge.person_id) if challenge.person_id else None,
                        challenge.challenge,
                        _utc(challenge.expires_at),
                    ),
                )

        await self._run(write)

    async def take_challenge(
        self, challenge_id: str, now: datetime
    ) -> Challenge | None:
        rows = await self._query(
            "DELETE FROM accord_challenges WHERE challenge_id = ?"
            " RETURNING purpose, challenge, expires_at, person_id",
            (challenge_id,),
        )
        if not rows or rows[0][2] <= _utc(now):
            return None
        purpose, challenge, expires_at, person_id = rows[0]
        return Challenge(
            purpose=purpose,
            challenge=bytes(challenge),
            expires_at=datetime.fromisoformat(expires_at),
            person_id=UUID(person_id) if person_id else None,
        )
