"""Encryption at rest: data keys per owner, wrapped by a master key that is never stored.

Every owner of intimate text (an agreement, a person, a grant) has a 256-bit
data key. Text is sealed with AES-256-GCM under its owner's key, with a fresh
96-bit nonce each time and the owner's id as associated data, so a ciphertext
cannot be moved to another owner. Data keys rest in `accord_keys`, each
wrapped (AES-256-GCM again) by the master key, which lives only in a setting
or a file. Destroying an owner's row is crypto-shredding: what was sealed for
it can no longer be read by anyone, with or without the master key.

A sealed value starts with the byte 0x01, then the nonce, then the ciphertext
and its tag; JSON (what the mapper writes) never starts with that byte, so a
reader tells sealed from clear without a flag.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

SEALED = b"\x01"
NONCE = 12
#: Marks text sealed inside another's event (base64 follows); no handle can start with it.
TEXT_PREFIX = "~sealed:"
#: The owner of the key that derives handle digests (no person or agreement has this id).
HANDLES = UUID(int=1)


class KeysError(Exception):
    """Base of the key errors."""


class MasterKeyMissing(KeysError):
    """No master key is configured where one is required."""


class MasterKeyInvalid(KeysError):
    """A master key that is not 32 bytes of URL-safe base64, or that does not open this database's keys."""


class Shredded(KeysError):
    """The owner's data key was destroyed: what was sealed for it is gone."""

    def __init__(self, owner: UUID) -> None:
        super().__init__(f"the data key of {owner} was destroyed")
        self.owner = owner


def parse_master_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise MasterKeyInvalid(f"{where} must be 32 bytes in URL-safe base64 (make one with `accord new-master-key`)")
    return key


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def fingerprint(master: bytes) -> bytes:
    """Names a master key without revealing anything about it (stored beside each wrapped key)."""
    return hmac.new(master, b"accord master key fingerprint", hashlib.sha256).digest()[:8]


class MasterKeys:
    """The current master key (wraps new keys) and earlier ones (still unwrap, during a rotation)."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self.current = current
        self.current_id = fingerprint(current)
        self._by_id = {fingerprint(k): AESGCM(k) for k in (current, *previous)}

    @property
    def ids(self) -> set[bytes]:
        return set(self._by_id)

    def wrap(self, owner: UUID, key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._by_id[self.current_id].encrypt(nonce, key, owner.bytes)

    def unwrap(self, owner: UUID, wrapped: bytes, master_id: bytes) -> bytes:
        cipher = self._by_id.get(master_id)
        if cipher is None:
            raise MasterKeyInvalid(
                "a data key is wrapped by a master key this process was not given"
                " (set ACCORD_MASTER_KEY, and ACCORD_PREVIOUS_MASTER_KEYS during a rotation)"
            )
        try:
            return cipher.decrypt(wrapped[:NONCE], wrapped[NONCE:], owner.bytes)
        except InvalidTag:
            raise MasterKeyInvalid(f"the data key of {owner} does not open with its master key") from None


def master_keys(settings: Any, store: Any) -> MasterKeys:
    """The master keys the settings name; the embedded store makes a key file beside its database once."""
    embedded = Path(store.path) if getattr(store, "kind", "") == "sqlite" else None
    return load_master_keys(settings.master_key, settings.master_key_file, settings.previous_master_keys, embedded_beside=embedded)


def load_master_keys(key: str, key_file: str, previous: str, *, embedded_beside: Path | None) -> MasterKeys:
    if key:
        current = parse_master_key(key, "ACCORD_MASTER_KEY")
    elif key_file:
        path = Path(key_file)
        if not path.exists():
            raise MasterKeyMissing(f"ACCORD_MASTER_KEY_FILE names {path}, which does not exist")
        current = parse_master_key(path.read_text(), str(path))
    elif embedded_beside is not None:
        path = embedded_beside.with_name(embedded_beside.name + ".key")
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(new_master_key() + "\n")
            log.warning(
                "made a master key at %s (mode 0600): without it the database's intimate text cannot be read;"
                " back it up apart from the database",
                path.resolve(),
            )
        current = parse_master_key(path.read_text(), str(path))
    else:
        raise MasterKeyMissing(
            "no master key: set ACCORD_MASTER_KEY (32 bytes, URL-safe base64; `accord new-master-key` makes one)"
            " or ACCORD_MASTER_KEY_FILE. On PostgreSQL Accord never makes one itself, so a missing setting"
            " cannot start a second key beside the one that wrapped this database's data keys."
        )
    olds = [parse_master_key(p, "ACCORD_PREVIOUS_MASTER_KEYS") for p in previous.split(",") if p.strip()]
    return MasterKeys(current, olds)


def seal(key: AESGCM, owner: UUID, data: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE)
    return SEALED + nonce + key.encrypt(nonce, data, owner.bytes)


def is_sealed(data: bytes) -> bool:
    return data[:1] == SEALED


def open_sealed(key: AESGCM, owner: UUID, data: bytes, associated: bytes | None = None) -> bytes:
    """`associated`: `owner.bytes`, when the caller opens many of one owner's and made it once."""
    try:
        return key.decrypt(data[1 : 1 + NONCE], data[1 + NONCE :], owner.bytes if associated is None else associated)
    except InvalidTag:
        raise MasterKeyInvalid(f"a value sealed for {owner} does not open with its data key") from None


class KeyTable(Protocol):
    """Where wrapped data keys rest (the stores implement it)."""

    async def data_keys(self, owners: Sequence[UUID]) -> dict[UUID, tuple[bytes, bytes]]: ...

    async def add_data_key(self, owner: UUID, wrapped: bytes, master_id: bytes) -> tuple[bytes, bytes]: ...

    async def delete_data_keys(self, owners: Sequence[UUID]) -> None: ...

    async def all_data_keys(self) -> list[tuple[UUID, bytes, bytes]]: ...

    async def rewrap_data_keys(self, rows: Sequence[tuple[UUID, bytes, bytes, bytes]]) -> int: ...


class Keyring:
    """Data keys, unwrapped on demand and kept in a bounded cache."""

    def __init__(self, table: KeyTable, masters: MasterKeys, cache_size: int = 20000) -> None:
        self.table = table
        self.masters = masters
        self.cache_size = cache_size
        self._cache: OrderedDict[UUID, AESGCM] = OrderedDict()
        self._handles: bytes | None = None

    def keep(self, owner: UUID, key: AESGCM) -> AESGCM:
        self._cache[owner] = key
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return key

    def _unwrap(self, owner: UUID, row: tuple[bytes, bytes]) -> bytes:
        return self.masters.unwrap(owner, *row)

    def _new(self, owner: UUID) -> tuple[bytes, tuple[UUID, bytes, bytes]]:
        """A new raw key for `owner`, and its row as it rests (wrapped by the current master key)."""
        raw = AESGCM.generate_key(bit_length=256)
        return raw, (owner, self.masters.wrap(owner, raw), self.masters.current_id)

    async def _made(self, owner: UUID) -> bytes:
        """`owner`'s raw key as stored, made now if it had none (someone may have made it first:
        then theirs is the one)."""
        _, row = self._new(owner)
        return self._unwrap(owner, await self.table.add_data_key(*row))

    async def keys(self, owners: Iterable[UUID]) -> dict[UUID, AESGCM]:
        """The keys of `owners` that exist (a destroyed or never-made key is absent)."""
        found: dict[UUID, AESGCM] = {}
        missing = []
        for owner in set(owners):
            key = self._cache.get(owner)
            if key is None:
                missing.append(owner)
            else:
                self._cache.move_to_end(owner)
                found[owner] = key
        if missing:
            for owner, row in (await self.table.data_keys(missing)).items():
                found[owner] = self.keep(owner, AESGCM(self._unwrap(owner, row)))
        return found

    async def key(self, owner: UUID, *, create: bool = False) -> AESGCM:
        """`owner`'s key; with `create`, made if it has none."""
        key = (await self.keys((owner,))).get(owner)
        if key is not None:
            return key
        if not create:
            raise Shredded(owner)
        return self.keep(owner, AESGCM(await self._made(owner)))

    async def seal(self, owner: UUID, data: bytes) -> bytes:
        return seal(await self.key(owner, create=True), owner, data)

    def fresh(self, owner: UUID) -> tuple[AESGCM, tuple[UUID, bytes, bytes]]:
        """A new key for a new stream, not yet kept anywhere: its cipher, and the row to store with
        the stream's first events (in the same transaction). `keep` it once they are appended."""
        raw, row = self._new(owner)
        return AESGCM(raw), row

    def cached(self, owner: UUID) -> AESGCM | None:
        return self._cache.get(owner)

    async def open(self, owner: UUID, data: bytes) -> bytes:
        return open_sealed(await self.key(owner), owner, data)

    async def seal_text(self, owner: UUID, text: str) -> str:
        """Text that belongs to `owner` inside something of another's (the handle an invitation was
        addressed to, kept in the agreement's events): sealed with the owner's key, so erasing them
        erases it, wherever it rests."""
        return TEXT_PREFIX + base64.b64encode(await self.seal(owner, text.encode())).decode()

    async def open_text(self, owner: UUID, text: str) -> str:
        """What `seal_text` sealed; empty once the owner's key is destroyed; clear text as it is."""
        if not text.startswith(TEXT_PREFIX):
            return text
        try:
            return (await self.open(owner, base64.b64decode(text[len(TEXT_PREFIX) :]))).decode()
        except Shredded:
            return ""

    async def destroy(self, owners: Sequence[UUID]) -> None:
        """Crypto-shred: the keys are deleted, here and in the table."""
        await self.table.delete_data_keys(owners)
        self.forget(owners)

    def forget(self, owners: Iterable[UUID]) -> None:
        """Drop cached keys (another process destroyed them)."""
        for owner in owners:
            self._cache.pop(owner, None)

    async def handle_digest(self, handle: str) -> str:
        """A keyed digest of a handle: what the accounts table holds, so a dump names nobody."""
        if self._handles is None:
            self._handles = await self._made(HANDLES)
        return hmac.new(self._handles, handle.casefold().encode(), hashlib.sha256).hexdigest()

    async def check(self) -> None:
        """Refuse to run with a master key that wrapped none of this database's keys."""
        rows = await self.table.data_keys([HANDLES])
        if HANDLES in rows:
            self._unwrap(HANDLES, rows[HANDLES])

    async def rotate(self) -> int:
        """Rewrap every data key not under the current master key; no event is touched."""
        rows = []
        for owner, wrapped, master_id in await self.table.all_data_keys():
            if master_id == self.masters.current_id:
                continue
            raw = self.masters.unwrap(owner, wrapped, master_id)
            rows.append((owner, master_id, self.masters.wrap(owner, raw), self.masters.current_id))
        return await self.table.rewrap_data_keys(rows)
