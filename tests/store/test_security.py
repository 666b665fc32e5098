"""The account-security tables' contract, on every store: sessions, passkeys, the second factor, challenges."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from service.store.base import Account, EventStore
from service.store.security import Challenge, Passkey, session_id

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def account(store: EventStore) -> UUID:
    person = uuid4()
    await store.create_account(Account(person, f"p_{person.hex[:12]}", "P", "hash"))
    return person


async def owner_of(store: object, token: bytes) -> object:
    """Whose live token this is (None if it is not live), as sign-in finds it."""
    found = await store.token_owner_at(token, NOW)  # type: ignore[attr-defined]
    return None if found is None else found[0]


def digest() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


async def test_a_started_session_authenticates_and_is_listed_with_when_it_began(
    store: EventStore,
) -> None:
    person = await account(store)
    token = digest()
    await store.start_session(token, person, NOW, NOW + timedelta(days=30))

    assert await owner_of(store, token) == person
    [session] = await store.live_sessions(person, NOW)
    assert session.token_hash == token
    assert session.created_at == NOW
    assert session.expires_at == NOW + timedelta(days=30)
    assert session.session_id == session_id(token) and len(session.session_id) == 16


async def test_sessions_list_only_the_persons_live_ones_newest_first(
    store: EventStore,
) -> None:
    person, other = await account(store), await account(store)
    older, newer, expired, revoked, theirs = (digest() for _ in range(5))
    await store.start_session(
        older, person, NOW - timedelta(hours=2), NOW + timedelta(days=1)
    )
    await store.start_session(
        newer, person, NOW - timedelta(hours=1), NOW + timedelta(days=1)
    )
    await store.start_session(
        expired, person, NOW - timedelta(days=2), NOW - timedelta(seconds=1)
    )
    await store.start_session(revoked, person, NOW, NOW + timedelta(days=1))
    await store.revoke_token(revoked)
    await store.start_session(theirs, other, NOW, NOW + timedelta(days=1))

    assert [s.token_hash for s in await store.live_sessions(person, NOW)] == [
        newer,
        older,
    ]


async def test_a_token_from_before_sessions_were_recorded_is_listed_without_a_start(
    store: EventStore,
) -> None:
    person = await account(store)
    token = digest()
    await store.add_token(token, person, NOW + timedelta(days=1))

    [session] = await store.live_sessions(person, NOW)
    assert session.token_hash == token and session.created_at is None


async def test_ending_sessions_revokes_only_the_persons_named_ones(
    store: EventStore,
) -> None:
    person, other = await account(store), await account(store)
    mine, kept, theirs = digest(), digest(), digest()
    for token, owner in ((mine, person), (kept, person), (theirs, other)):
        await store.start_session(token, owner, NOW, NOW + timedelta(days=1))

    # Someone else's token named by this person is not theirs to end.
    assert await store.end_sessions(person, [mine, theirs]) == [mine]
    assert await owner_of(store, mine) is None
    assert await owner_of(store, kept) == person
    assert await owner_of(store, theirs) == other
    # Ending an ended one again ends nothing.
    assert await store.end_sessions(person, [mine]) == []
    assert await store.end_sessions(person, []) == []


async def test_ending_every_session_of_a_person(store: EventStore) -> None:
    person, other = await account(store), await account(store)
    first, second, theirs = digest(), digest(), digest()
    for token, owner in ((first, person), (second, person), (theirs, other)):
        await store.start_session(token, owner, NOW, NOW + timedelta(days=1))

    assert sorted(await store.end_sessions(person)) == sorted([first, second])
    assert await store.live_sessions(person, NOW) == []
    assert await owner_of(store, theirs) == other


async def test_a_new_password_hash_replaces_the_old(store: EventStore) -> None:
    person = await account(store)
    await store.set_password_hash(person, "new-hash")
    found = await store.accounts_by_ids([person])
    assert found[person].password_hash == "new-hash"


def passkey(person: UUID, *, name: str = "phone", at: datetime = NOW) -> Passkey:
    return Passkey(
        credential_id=secrets.token_bytes(32),
        person_id=person,
        public_key=secrets.token_bytes(77),
        sign_count=0,
        name=name,
        created_at=at,
    )


async def test_passkeys_are_kept_listed_used_and_removed(store: EventStore) -> None:
    person = await account(store)
    phone, laptop = (
        passkey(person),
        passkey(person, name="laptop", at=NOW + timedelta(minutes=1)),
    )
    await store.add_passkey(laptop)
    await store.add_passkey(phone)

    assert await store.passkeys(person) == [phone, laptop]
    assert await store.passkey(phone.credential_id) == phone
    assert await store.passkey(secrets.token_bytes(32)) is None

    await store.passkey_used(phone.credential_id, 7, NOW + timedelta(hours=1))
    used = await store.passkey(phone.credential_id)
    assert (
        used is not None
        and used.sign_count == 7
        and used.last_used_at == NOW + timedelta(hours=1)
    )

    assert await store.remove_passkey(person, phone.credential_id) is True
    assert await store.remove_passkey(person, phone.credential_id) is False
    assert await store.passkeys(person) == [laptop]


async def test_nobody_removes_someone_elses_passkey(store: EventStore) -> None:
    person, stranger = await account(store), await account(store)
    theirs = passkey(person)
    await store.add_passkey(theirs)

    assert await store.remove_passkey(stranger, theirs.credential_id) is False
    assert await store.passkeys(person) == [theirs]


async def test_the_second_factor_setting_is_off_until_turned_on(
    store: EventStore,
) -> None:
    person = await account(store)
    assert await store.passkey_required(person) is False
    await store.set_passkey_required(person, True)
    assert await store.passkey_required(person) is True
    await store.set_passkey_required(person, False)
    assert await store.passkey_required(person) is False


async def test_a_challenge_is_taken_once(store: EventStore) -> None:
    person = await account(store)
    challenge = Challenge(
        "register", secrets.token_bytes(32), NOW + timedelta(minutes=5), person
    )
    await store.add_challenge("c1", challenge, NOW)

    assert await store.take_challenge("c1", NOW) == challenge
    assert await store.take_challenge("c1", NOW) is None
    assert await store.take_challenge("unknown", NOW) is None


async def test_an_expired_challenge_is_never_taken_and_is_cleared(
    store: EventStore,
) -> None:
    signless = Challenge("sign_in", secrets.token_bytes(32), NOW + timedelta(minutes=5))
    await store.add_challenge("old", signless, NOW)
    later = NOW + timedelta(minutes=5)

    assert await store.take_challenge("old", later) is None
    await store.add_challenge("fresh", signless, NOW)
    await store.add_challenge(
        "newer", Challenge("sign_in", b"x", later + timedelta(minutes=5)), later
    )
    # "fresh" expired when "newer" came, and was cleared then.
    assert await store.take_challenge("fresh", NOW) is None
    assert (await store.take_challenge("newer", later)) is not None
