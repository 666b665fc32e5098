"""Data keys on both stores: sealing, crypto-shredding, wrong and missing master keys, rotation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.crypto import (
    Keyring,
    MasterKeyInvalid,
    MasterKeyMissing,
    MasterKeys,
    Shredded,
    load_master_keys,
    new_master_key,
    parse_master_key,
)
from service.store.base import ConflictError, NewEvent
from service.store.sealed import SHREDDED, SealedStore

ACCORD = Path(sys.executable).with_name("accord")


def masters(*keys: str) -> MasterKeys:
    current, *previous = (parse_master_key(k, "test") for k in keys)
    return MasterKeys(current, previous)


async def test_sealed_text_opens_only_for_its_owner_and_not_after_its_key_is_destroyed(store: Any) -> None:
    keys = Keyring(store, masters(new_master_key()))
    ana, ben = uuid.uuid4(), uuid.uuid4()
    sealed = await keys.seal(ana, b"safer sex: tested monthly")
    assert b"tested" not in sealed
    assert await keys.open(ana, sealed) == b"safer sex: tested monthly"
    # The owner's id is the associated data: a ciphertext moved to another owner does not open.
    await keys.key(ben, create=True)
    with pytest.raises(MasterKeyInvalid):
        await keys.open(ben, sealed)
    # Two seals of the same text differ (a fresh nonce each time).
    assert await keys.seal(ana, b"x") != await keys.seal(ana, b"x")
    await keys.destroy([ana])
    with pytest.raises(Shredded):
        await keys.open(ana, sealed)
    # Not from the cache of another process either, once it re-reads the table.
    fresh = Keyring(store, keys.masters)
    with pytest.raises(Shredded):
        await fresh.open(ana, sealed)


async def test_a_shredded_stream_reads_as_absent_and_the_log_keeps_its_place(store: Any) -> None:
    keys = Keyring(store, masters(new_master_key()))
    sealed = SealedStore(store, keys)
    gone, kept = uuid.uuid4(), uuid.uuid4()
    await sealed.append([NewEvent(gone, 1, "t", b'{"text":"mkgone"}', sealed=True)])
    await sealed.append([NewEvent(kept, 1, "t", b'{"text":"mkkept"}', sealed=True), NewEvent(kept, 2, "t", b"{}")])
    raw = await store.read_log(0)
    assert [e.state[:1] for e in raw] == [b"\x01", b"\x01", b"{"]  # sealed at rest, clear where not marked
    assert [e.state for e in await sealed.read_stream(gone)] == [b'{"text":"mkgone"}']
    await keys.destroy([gone])
    assert await sealed.read_stream(gone) == []
    log = await sealed.read_log(0)
    assert [(e.originator_id, e.topic) for e in log] == [(gone, SHREDDED), (kept, "t"), (kept, "t")]
    assert [e.position for e in log] == [e.position for e in raw]
    assert log[1].state == b'{"text":"mkkept"}'


async def test_a_wrong_master_key_is_refused_with_a_clear_error_never_garbage(store: Any) -> None:
    right = masters(new_master_key())
    keys = Keyring(store, right)
    owner = uuid.uuid4()
    sealed = await keys.seal(owner, b"boundaries")
    await keys.handle_digest("ana")
    wrong = Keyring(store, masters(new_master_key()))
    with pytest.raises(MasterKeyInvalid, match="not given"):
        await wrong.check()
    with pytest.raises(MasterKeyInvalid):
        await wrong.open(owner, sealed)
    await keys.check()


async def test_rotation_rewraps_every_key_and_touches_no_event(store: Any) -> None:
    old, new = new_master_key(), new_master_key()
    keys = Keyring(store, masters(old))
    sealed_store = SealedStore(store, keys)
    owners = [uuid.uuid4() for _ in range(30)]
    for owner in owners:
        await sealed_store.append([NewEvent(owner, 1, "t", b'{"n":"%s"}' % owner.hex.encode(), sealed=True)])
    before = [(e.originator_id, e.state) for e in await store.read_log(0)]
    rotating = Keyring(store, masters(new, old))
    assert await rotating.rotate() == len(owners)
    assert await rotating.rotate() == 0  # nothing left under the old key
    assert [(e.originator_id, e.state) for e in await store.read_log(0)] == before
    after_rotation = SealedStore(store, Keyring(store, masters(new)))
    for owner in owners:
        (event,) = await after_rotation.read_stream(owner)
        assert event.state == b'{"n":"%s"}' % owner.hex.encode()
    with pytest.raises(MasterKeyInvalid):
        await Keyring(store, masters(old)).open(owners[0], (await store.read_stream(owners[0]))[0].state)


def test_master_keys_from_settings(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyMissing, match="ACCORD_MASTER_KEY"):
        load_master_keys("", "", "", embedded_beside=None)
    with pytest.raises(MasterKeyInvalid, match="32 bytes"):
        load_master_keys("too-short", "", "", embedded_beside=None)
    with pytest.raises(MasterKeyMissing, match="does not exist"):
        load_master_keys("", str(tmp_path / "absent"), "", embedded_beside=None)
    key = new_master_key()
    (tmp_path / "mounted").write_text(key + "\n")
    assert load_master_keys("", str(tmp_path / "mounted"), "", embedded_beside=None).current == parse_master_key(key, "k")
    # The embedded store makes one beside its database, readable by its owner only, once.
    database = tmp_path / "accord.db"
    made = load_master_keys("", "", "", embedded_beside=database)
    path = tmp_path / "accord.db.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_keys("", "", "", embedded_beside=database).current == made.current


def _env_without_key(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    return {**env, "ACCORD_PASSWORD_HASHING": "cheapest", **extra}


@pytest.mark.postgres
def test_serve_on_postgresql_refuses_to_start_without_or_with_a_wrong_master_key(new_pg_database: Any) -> None:
    dsn = new_pg_database()
    missing = subprocess.run(
        [str(ACCORD), "serve", "--port", "0", "--database", dsn], check=False, env=_env_without_key(), capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2, missing.stderr
    assert "no master key: set ACCORD_MASTER_KEY" in missing.stderr
    assert "Traceback" not in missing.stderr
    # A database whose keys one master key wrapped refuses another.
    right, wrong = new_master_key(), new_master_key()
    subprocess.run(
        [str(ACCORD), "rotate-master-key", "--database", dsn], env=_env_without_key(ACCORD_MASTER_KEY=right),
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    import asyncio

    from service.store import connect

    async def make_a_key() -> None:
        store = connect(dsn)
        await store.open()
        try:
            await Keyring(store, masters(right)).handle_digest("ana")
        finally:
            await store.close()

    asyncio.run(make_a_key())
    refused = subprocess.run(
        [str(ACCORD), "serve", "--port", "0", "--database", dsn], check=False, env=_env_without_key(ACCORD_MASTER_KEY=wrong),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "wrapped by a master key this process was not given" in refused.stderr
    assert wrong not in refused.stderr and right not in refused.stderr


def test_new_master_key_prints_a_usable_key() -> None:
    out = subprocess.run([str(ACCORD), "new-master-key"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert len(parse_master_key(out.strip(), "printed")) == 32


async def test_the_log_opens_only_the_topics_asked_for(store: Any) -> None:
    keys = Keyring(store, masters(new_master_key()))
    sealed = SealedStore(store, keys)
    owner = uuid.uuid4()
    await sealed.append([NewEvent(owner, 1, "wanted", b'{"a":1}', sealed=True), NewEvent(owner, 2, "other", b'{"b":2}', sealed=True)])
    first, second = await sealed.read_log(0, open_topics={"wanted"})
    assert first.state == b'{"a":1}'
    assert second.state[:1] == b"\x01" and b'"b"' not in second.state  # left as it rests: nobody decodes it
    assert [e.state for e in await sealed.read_log(0)] == [b'{"a":1}', b'{"b":2}']


async def test_a_new_streams_key_rests_with_its_first_event_or_not_at_all(store: Any) -> None:
    keys = Keyring(store, masters(new_master_key()))
    sealed = SealedStore(store, keys)
    owner, taken = uuid.uuid4(), uuid.uuid4()
    await sealed.append([NewEvent(owner, 1, "t", b'{"n":1}', sealed=True)])
    assert owner in await store.data_keys([owner])
    # An append that fails (the version is taken) leaves no key behind.
    await sealed.append([NewEvent(taken, 1, "t", b"{}")])
    with pytest.raises(ConflictError):
        await sealed.append([NewEvent(taken, 1, "t", b'{"n":2}', sealed=True)])
    assert taken not in await store.data_keys([taken])
    # A key made meanwhile (another process, a retried command) is the one used.
    other = uuid.uuid4()
    made_first = await keys.key(other, create=True)
    elsewhere = SealedStore(store, Keyring(store, keys.masters))
    await elsewhere.append([NewEvent(other, 1, "t", b'{"n":3}', sealed=True)])
    (stored,) = await store.read_stream(other)
    assert made_first.decrypt(stored.state[1:13], stored.state[13:], other.bytes) == b'{"n":3}'


async def test_a_stream_written_in_clear_is_sealed_from_then_on_and_a_shredded_one_takes_nothing(store: Any) -> None:
    keys = Keyring(store, masters(new_master_key()))
    sealed = SealedStore(store, keys)
    clear, gone = uuid.uuid4(), uuid.uuid4()
    await store.append([NewEvent(clear, 1, "t", b'{"n":1}')])  # before its kind was sealed
    await sealed.append([NewEvent(clear, 2, "t", b'{"n":2}', sealed=True)])
    assert [e.state[:1] for e in await store.read_stream(clear)] == [b"{", b"\x01"]
    assert [e.state for e in await sealed.read_stream(clear)] == [b'{"n":1}', b'{"n":2}']
    await sealed.append([NewEvent(gone, 1, "t", b'{"n":1}', sealed=True)])
    await keys.destroy([gone])
    with pytest.raises(Shredded):
        await SealedStore(store, Keyring(store, keys.masters)).append([NewEvent(gone, 2, "t", b'{"n":2}', sealed=True)])
    assert gone not in await store.data_keys([gone])  # no key made again for it
