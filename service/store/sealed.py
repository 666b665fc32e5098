"""The event log with intimate text sealed at rest (service/crypto.py).

`SealedStore` wraps a store: an event marked `sealed` is encrypted with its
stream's data key before it is appended, and a command's recorded result with
its caller's; reads open them again, so everything above this sees clear
events. Topics, ids, versions and positions stay in clear, so the
eventsourcing library still reads the table (and, given the master key, loads
the aggregates: service/store/mapper.py).

An event whose stream's key was destroyed (crypto-shredded) cannot be opened:
a stream read answers as if the stream did not exist, and the global log
yields it as a `SHREDDED` marker at its position, so readers keep their place.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any
from uuid import UUID

import msgspec

from domain.policy import FORMER_MEMBER
from service.crypto import (
    SEALED,
    Keyring,
    Shredded,
    is_sealed,
    open_sealed,
    seal,
)

from .base import Account, Appended, HandleTaken, KeyExists, NewEvent, StoredEvent
from .follow import follow
from .security import Passkey


class _Person(msgspec.Struct, array_like=True):
    handle: str
    name: str


_PERSON = msgspec.msgpack.Encoder()
_PERSON_DECODE = msgspec.msgpack.Decoder(_Person).decode

#: The topic a shredded event is read with: no projection or view handles it.
SHREDDED = "accord:shredded"


def _owner(command_id: str) -> UUID:
    # Command ids are "<caller>:<key>" (service/commands/runner.py): the caller owns the result.
    return UUID(command_id[:36])


class SealedStore:
    def __init__(self, inner: Any, keys: Keyring) -> None:
        self.inner = inner
        self.keys = keys

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def append(self, events: Sequence[NewEvent], *, command_id: str | None = None, result: bytes = b"") -> Appended:
        for attempt in (1, 2):
            sealed, made = await self._sealed(events, fresh_keys=attempt == 1)
            if command_id is not None and result:
                result_sealed = await self.keys.seal(_owner(command_id), result)
            else:
                result_sealed = result
            try:
                appended = await self.inner.append(
                    sealed, command_id=command_id, result=result_sealed, keys=[row for _, row in made.values()]
                )
            except KeyExists:
                continue  # a stream's key was made meanwhile (a retried command): seal with it instead
            for owner, (key, _) in made.items():
                self.keys.keep(owner, key)
            return await self._opened_result(command_id, appended)
        raise KeyExists

    async def _sealed(
        self, events: Sequence[NewEvent], *, fresh_keys: bool
    ) -> tuple[list[NewEvent], dict[UUID, tuple[Any, tuple[UUID, bytes, bytes]]]]:
        """Events as they will rest; and the keys made for new streams, to store with them.

        A stream's first event brings its key, kept in the append's own transaction: no round
        trip of its own, and no key without its stream.
        """
        made: dict[UUID, tuple[Any, tuple[UUID, bytes, bytes]]] = {}
        out = []
        for event in events:
            if event.sealed:
                owner = event.originator_id
                if owner in made:
                    key = made[owner][0]
                elif fresh_keys and event.originator_version == 1 and self.keys.cached(owner) is None:
                    made[owner] = self.keys.fresh(owner)
                    key = made[owner][0]
                else:
                    key = await self._key_for_more(owner, event.originator_version)
                event = NewEvent(owner, event.originator_version, event.topic, seal(key, owner, event.state))
            out.append(event)
        return out, made

    async def _key_for_more(self, owner: UUID, version: int) -> Any:
        """The key to seal a stream's event at `version` with. A stream whose events rest sealed and
        whose key is gone was shredded: it takes no more (Shredded). One written in clear (before
        its kind was sealed) is sealed from now on, with a key made for it."""
        if version > 1:
            found = (await self.keys.keys((owner,))).get(owner)
            if found is not None:
                return found
            if await self._was_sealed(owner):
                raise Shredded(owner)
        return await self.keys.key(owner, create=True)

    async def _was_sealed(self, owner: UUID) -> bool:
        first = await self.inner.read_stream(owner, limit=1)
        return bool(first) and is_sealed(first[0].state)

    async def recorded(self, command_id: str) -> Appended | None:
        appended = await self.inner.recorded(command_id)
        return None if appended is None else await self._opened_result(command_id, appended)

    async def _opened_result(self, command_id: str | None, appended: Appended) -> Appended:
        if command_id is None or not is_sealed(appended.result):
            return appended
        result = await self.keys.open(_owner(command_id), appended.result)
        return Appended(positions=appended.positions, result=result, repeated=appended.repeated)

    async def _open(
        self, events: list[StoredEvent], keys: dict[UUID, Any] | None = None, topics: Collection[str] | None = None
    ) -> tuple[list[StoredEvent], bool]:
        """The events opened (of `topics` only, if given: the rest stay sealed, unread); and whether
        any could not be (its key is gone). Per event this is the cipher and little else: the
        projector and every cache-cold read pass each event of the log through here."""
        wanted = [i for i, e in enumerate(events) if e.state[:1] == SEALED and (topics is None or e.topic in topics)]
        if not wanted:
            return events, False
        if keys is None:
            keys = await self.keys.keys({events[i].originator_id for i in wanted})
        opened = list(events)
        shredded = False
        associated: dict[UUID, bytes] = {}
        for i in wanted:
            e = events[i]
            owner = e.originator_id
            key = keys.get(owner)
            if key is None:
                shredded = True
                opened[i] = StoredEvent(owner, e.originator_version, SHREDDED, b"", e.position)
                continue
            data = associated.get(owner)
            if data is None:
                data = associated[owner] = owner.bytes
            plain = open_sealed(key, owner, e.state, data)
            opened[i] = StoredEvent(owner, e.originator_version, e.topic, plain, e.position)
        return opened, shredded

    async def read_stream(self, originator_id: UUID, **kwargs: Any) -> list[StoredEvent]:
        key = self.keys.cached(originator_id)
        if key is not None:
            stored, keys = await self.inner.read_stream(originator_id, **kwargs), {originator_id: key}
        else:
            # The stream and its key at once: a key not cached costs no second round trip in turn.
            stored, keys = await asyncio.gather(
                self.inner.read_stream(originator_id, **kwargs), self.keys.keys((originator_id,))
            )
        events, shredded = await self._open(stored, keys)
        # A stream whose key is gone is gone: nobody may see it, and it cannot be folded.
        return [] if shredded else events

    async def read_log(
        self, after: int = 0, *, limit: int = 500, topics: Sequence[str] = (), open_topics: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """`open_topics`: only events of these are opened (a projector decodes no others); the rest
        come back as they rest, sealed, holding their places."""
        events, _ = await self._open(await self.inner.read_log(after, limit=limit, topics=topics), topics=open_topics)
        return events

    # Accounts: the handle rests as a keyed digest (what sign-in looks up), and the handle and
    # display name themselves sealed with the person's key, so erasing the key erases them.

    async def create_account(self, account: Account) -> None:
        digest = await self.keys.handle_digest(account.handle)
        sealed = await self.keys.seal(account.person_id, _PERSON.encode(_Person(account.handle.casefold(), account.display_name)))
        try:
            await self.inner.create_account(
                Account(account.person_id, digest, base64.b64encode(sealed).decode(), account.password_hash)
            )
        except HandleTaken:
            raise HandleTaken(account.handle) from None

    async def account_by_handle(self, handle: str) -> Account | None:
        found = await self.inner.account_by_handle(await self.keys.handle_digest(handle))
        return None if found is None else (await self._accounts([found])).get(found.person_id)

    async def accounts_by_ids(self, person_ids: Sequence[UUID]) -> dict[UUID, Account]:
        return await self._accounts(list((await self.inner.accounts_by_ids(person_ids)).values()))

    async def _accounts(self, rows: list[Account]) -> dict[UUID, Account]:
        keys = await self.keys.keys(row.person_id for row in rows)
        opened = {}
        for row in rows:
            key = keys.get(row.person_id)
            if key is None:
                # Erased: the row is a tombstone (no handle, no password), its key destroyed.
                opened[row.person_id] = Account(row.person_id, "", FORMER_MEMBER, "")
                continue
            person = _PERSON_DECODE(open_sealed(key, row.person_id, base64.b64decode(row.display_name)))
            opened[row.person_id] = Account(row.person_id, person.handle, person.name, row.password_hash)
        return opened

    # Passkeys: the name a person gives one ("Ana's phone") rests sealed with their key.

    async def add_passkey(self, passkey: Passkey) -> None:
        name = await self.keys.seal_text(passkey.person_id, passkey.name)
        await self.inner.add_passkey(msgspec.structs.replace(passkey, name=name))

    async def passkeys(self, person_id: UUID) -> list[Passkey]:
        return [await self._named(p) for p in await self.inner.passkeys(person_id)]

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        found = await self.inner.passkey(credential_id)
        return None if found is None else await self._named(found)

    async def _named(self, passkey: Passkey) -> Passkey:
        return msgspec.structs.replace(passkey, name=await self.keys.open_text(passkey.person_id, passkey.name))

    def subscribe(self, after: int = 0) -> AsyncIterator[StoredEvent]:
        return follow(self, after, self.inner.listen, self.inner.poll_interval)


__all__ = ["SHREDDED", "SealedStore", "Shredded"]
