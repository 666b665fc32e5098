"""Accord's event log against the real eventsourcing library (9.5).

(a) the library's own PostgreSQL recorder and Accord's store write into the
    same `accord_events` table, and Accord's subscriber sees all of it in order;
(b) aggregates round-trip between Accord's store (+ MsgspecMapper) and a
    library `Application` named "Accord";
(c) the library's own recorder test cases, run against Accord's PostgresStore
    and SQLiteStore through a small synchronous ApplicationRecorder wrapper.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    Subscription,
)
from eventsourcing.persistence import (
    StoredEvent as LibStoredEvent,
)

from service.store import connect
from service.store.base import ConflictError, EventStore, NewEvent, StoredEvent
from service.store.mapper import MsgspecMapper


def _import_library_cases() -> Any:
    """`eventsourcing.tests.persistence`, even without pycryptodome.

    That module imports the library's AESCipher (extra "crypto", i.e.
    pycryptodome) at the top, though the recorder cases used here never touch
    it. When pycryptodome is absent, import it against a throwaway stand-in
    for `Crypto`, then forget the stand-in (and `eventsourcing.cipher`) so
    nothing else in the session can pick it up. Installing
    `eventsourcing[crypto]` with the test extras makes this unnecessary.
    """
    import importlib
    import sys
    import types

    try:
        return importlib.import_module("eventsourcing.tests.persistence")
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("Crypto"):
            raise
    names = ["Crypto", "Crypto.Cipher", "Crypto.Cipher.AES", "Crypto.Cipher._mode_gcm"]
    stand_ins = {name: types.ModuleType(name) for name in names}
    stand_ins["Crypto"].Cipher = stand_ins["Crypto.Cipher"]  # type: ignore[attr-defined]
    stand_ins["Crypto.Cipher"].AES = stand_ins["Crypto.Cipher.AES"]  # type: ignore[attr-defined]
    stand_ins["Crypto.Cipher.AES"].key_size = (16, 24, 32)  # type: ignore[attr-defined]
    stand_ins["Crypto.Cipher._mode_gcm"].GcmMode = type("GcmMode", (), {})  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        sys.modules.pop("eventsourcing.cipher", None)
        return importlib.import_module("eventsourcing.tests.persistence")
    finally:
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.pop("eventsourcing.cipher", None)


lib_cases = _import_library_cases()

T = TypeVar("T")
MAPPER_TOPIC = "service.store.mapper:MsgspecMapper"
WAIT = 15.0


# --------------------------------------------------------------------------
# A small aggregate and the library application named "Accord"
# --------------------------------------------------------------------------


class Pact(Aggregate):
    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        title: str
        parties: tuple[UUID, ...]
        stake: Decimal
        note: str | None

        def apply(self, pact: Pact) -> None:
            pact.title = self.title
            pact.parties = self.parties
            pact.stake = self.stake
            pact.note = self.note
            pact.reviews = 0
            pact.last_review = None

    class Reviewed(Event):
        by: UUID
        at: datetime
        note: str | None

        def apply(self, pact: Pact) -> None:
            pact.reviews += 1
            pact.last_review = self.at
            pact.note = self.note

    @classmethod
    def create(cls, title: str) -> Pact:
        return cls._create(
            cls.Created, id=uuid4(), title=title, parties=(uuid4(), uuid4()), stake=Decimal("2.50"), note=None
        )

    def review(self, note: str | None) -> None:
        self.trigger_event(
            self.Reviewed, by=self.parties[0], at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc), note=note
        )


def pact_state(p: Pact) -> dict[str, Any]:
    names = ("id", "version", "created_on", "modified_on", "title", "parties", "stake", "note", "reviews", "last_review")
    return {n: getattr(p, n) for n in names}


def make_pact(title: str, reviews: int = 2) -> Pact:
    pact = Pact.create(title)
    for i in range(reviews):
        pact.review(note=None if i % 2 else f"review {i}")
    return pact


class Accord(Application):
    """The library's application with Accord's name: its table is accord_events."""


def library_app(dsn: str, params: Callable[[str], dict[str, str]]) -> Accord:
    p = params(dsn)
    app = Accord(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": p["dbname"],
            "POSTGRES_HOST": p["host"],
            "POSTGRES_PORT": p["port"],
            "POSTGRES_USER": p["user"],
            "POSTGRES_PASSWORD": p["password"],
            "POSTGRES_LOCK_TIMEOUT": "5",
            "MAPPER_TOPIC": MAPPER_TOPIC,
        }
    )
    assert app.name == "Accord"
    assert isinstance(app.mapper, MsgspecMapper)
    return app


def to_new_events(mapper: MsgspecMapper, events: Sequence[Any]) -> list[NewEvent]:
    out = []
    for event in events:
        s = mapper.to_stored_event(event)
        out.append(NewEvent(originator_id=s.originator_id, originator_version=s.originator_version, topic=s.topic, state=s.state))
    return out


def to_lib_stored(e: StoredEvent) -> LibStoredEvent:
    return LibStoredEvent(originator_id=e.originator_id, originator_version=e.originator_version, topic=e.topic, state=e.state)


async def collect(store: EventStore, after: int, until: int, timeout: float = WAIT) -> list[StoredEvent]:
    """Subscribe from `after` and collect until position `until` is seen."""
    got: list[StoredEvent] = []
    iterator = store.subscribe(after)

    async def run() -> None:
        async for event in iterator:
            got.append(event)
            if event.position >= until:
                return

    try:
        await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        raise AssertionError(
            f"subscriber saw {len(got)} events up to {got[-1].position if got else None}, not {until}"
        ) from None
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    return got


# --------------------------------------------------------------------------
# (a) and (b): one table, two writers
# --------------------------------------------------------------------------


@pytest.mark.postgres
async def test_library_and_accord_writes_seen_in_order_by_accord_subscriber(
    new_pg_database: Callable[[], str], pg_params: Callable[[str], dict[str, str]]
) -> None:
    dsn = new_pg_database()
    # The library creates the table first; Accord must adopt it as it is.
    app = library_app(dsn, pg_params)
    store = connect(dsn)
    await store.open()
    tail_events: list[StoredEvent] = []
    tail_iter = store.subscribe(0)

    async def tail() -> None:
        async for event in tail_iter:
            tail_events.append(event)

    tail_task = asyncio.create_task(tail())
    try:
        mapper = app.mapper
        saved: list[Pact] = []

        def library_writes(n: int) -> None:
            for i in range(n):
                pact = make_pact(f"library {i}")
                app.save(pact)
                saved.append(pact)

        accord_positions: list[int] = []

        async def accord_writes(n: int) -> None:
            for i in range(n):
                pact = make_pact(f"accord {i}")
                appended = await store.append(to_new_events(mapper, pact.collect_events()))
                accord_positions.extend(appended.positions)
                saved.append(pact)

        # Interleaved one by one, then both at once from two threads of control.
        await asyncio.to_thread(library_writes, 1)
        await accord_writes(1)
        await asyncio.to_thread(library_writes, 1)
        await asyncio.gather(asyncio.to_thread(library_writes, 15), accord_writes(15), accord_writes(15))

        total = 3 * len(saved)
        assert await store.max_position() >= total
        library_view = app.recorder.select_notifications(start=None, limit=10_000)
        assert len(library_view) == total
        last = library_view[-1].id
        deadline = asyncio.get_running_loop().time() + WAIT
        while not tail_events or tail_events[-1].position < last:
            assert asyncio.get_running_loop().time() < deadline, (
                f"subscriber saw {len(tail_events)} of {total} events"
            )
            await asyncio.sleep(0.02)

        # Exactly the library's view of the log, in the same order.
        assert [e.position for e in tail_events] == [n.id for n in library_view]
        assert [(e.originator_id, e.originator_version, e.topic, e.state) for e in tail_events] == [
            (n.originator_id, n.originator_version, n.topic, n.state) for n in library_view
        ]
        assert set(accord_positions) <= {e.position for e in tail_events}
        # Every aggregate, however written, reads back equal through both sides.
        for pact in saved:
            stream = await store.read_stream(pact.id)
            rebuilt = None
            for e in stream:
                rebuilt = mapper.to_domain_event(to_lib_stored(e)).mutate(rebuilt)
            assert pact_state(rebuilt) == pact_state(pact)
            assert pact_state(app.repository.get(pact.id)) == pact_state(pact)
    finally:
        tail_task.cancel()
        await asyncio.wait({tail_task}, timeout=5)
        await store.close()
        app.close()


@pytest.mark.postgres
async def test_aggregate_appended_by_accord_loads_in_library_application(
    new_pg_database: Callable[[], str], pg_params: Callable[[str], dict[str, str]]
) -> None:
    dsn = new_pg_database()
    # Accord creates the table first; the library must accept it as it is.
    store = connect(dsn)
    await store.open()
    app = library_app(dsn, pg_params)
    try:
        mapper = MsgspecMapper()
        pact = make_pact("written by Accord", reviews=3)
        events = pact.collect_events()
        appended = await store.append(to_new_events(mapper, events[:2]))
        appended2 = await store.append(to_new_events(mapper, events[2:]), command_id="review-2")

        loaded = app.repository.get(pact.id)
        assert isinstance(loaded, Pact)
        assert pact_state(loaded) == pact_state(pact)
        assert type(loaded.stake) is Decimal and str(loaded.stake) == "2.50"
        assert all(type(p) is UUID for p in loaded.parties)
        # Historical versions too.
        assert app.repository.get(pact.id, version=1).reviews == 0

        notifications = app.recorder.select_notifications(start=None, limit=100)
        assert [n.id for n in notifications] == appended.positions + appended2.positions
        assert app.recorder.max_notification_id() == appended2.positions[-1]

        # The library continues the aggregate; Accord sees the same stream.
        loaded.review(note="by the library")
        app.save(loaded)
        stream = await store.read_stream(pact.id)
        assert [e.originator_version for e in stream] == [1, 2, 3, 4, 5]
        # And Accord's conflict check covers versions the library wrote.
        with pytest.raises(ConflictError) as caught:
            await store.append([NewEvent(originator_id=pact.id, originator_version=5, topic="x", state=b"{}")])
        assert (caught.value.originator_id, caught.value.originator_version) == (pact.id, 5)
        # The library's conflict check covers versions Accord wrote.
        stale = app.repository.get(pact.id, version=4)
        stale.review(note="stale")
        with pytest.raises(IntegrityError):
            app.save(stale)
    finally:
        app.close()
        await store.close()


# --------------------------------------------------------------------------
# (c) the library's own recorder test cases, through a sync wrapper
# --------------------------------------------------------------------------


class SyncRecorder(ApplicationRecorder):
    """The library's ApplicationRecorder interface over an async EventStore.

    The store lives on a private event loop in a thread; each call is a
    coroutine submitted to it. Conflicts become the library's IntegrityError.
    """

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sync-recorder", daemon=True)
        self._thread.start()
        self.store: EventStore = self.run(self._open(url))

    @staticmethod
    async def _open(url: str) -> EventStore:
        store = connect(url)
        await store.open()
        return store

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def close(self) -> None:
        try:
            self.run(self.store.close(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()

    def insert_events(self, stored_events: Sequence[LibStoredEvent], **kwargs: Any) -> Sequence[int] | None:
        events = [
            NewEvent(
                originator_id=e.originator_id if isinstance(e.originator_id, UUID) else UUID(e.originator_id),
                originator_version=e.originator_version,
                topic=e.topic,
                state=e.state,
            )
            for e in stored_events
        ]
        try:
            return self.run(self.store.append(events)).positions
        except ConflictError as error:
            raise IntegrityError(str(error)) from error

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[LibStoredEvent]:
        oid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        events = self.run(self.store.read_stream(oid, gt=gt, lte=lte, desc=desc, limit=limit))
        return [to_lib_stored(e) for e in events]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        if start is None:
            after = 0
        else:
            after = max(0, start - 1 if inclusive_of_start else start)
        events = self.run(self.store.read_log(after, limit=limit, topics=topics))
        if stop is not None:
            events = [e for e in events if e.position <= stop]
        return [notification(e) for e in events]

    def max_notification_id(self) -> int | None:
        return self.run(self.store.max_position()) or None

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[ApplicationRecorder]:
        return SyncSubscription(self, gt=gt, topics=topics)


def notification(e: StoredEvent) -> Notification:
    return Notification(
        id=e.position, originator_id=e.originator_id, originator_version=e.originator_version, topic=e.topic, state=e.state
    )


class SyncSubscription(Subscription[SyncRecorder]):
    """Blocking iteration over `store.subscribe(gt)`; topics filtered here
    (Accord's subscribe has no topic filter; readers filter what they read)."""

    def __init__(self, recorder: SyncRecorder, gt: int | None = None, topics: Sequence[str] = ()) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._sync = recorder

        async def make() -> Any:
            return recorder.store.subscribe(gt or 0)

        self._iterator = recorder.run(make())
        self._closed = False

    def _close_iterator(self) -> None:
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            self._sync.run(aclose(), timeout=10)

    def stop(self) -> None:
        super().stop()
        self._close_iterator()

    def __next__(self) -> Notification:
        while True:
            if self._has_been_stopped or self._closed:
                raise StopIteration
            future = self._sync.submit(self._iterator.__anext__())
            while True:
                try:
                    event = future.result(timeout=0.1)
                    break
                except concurrent.futures.TimeoutError:
                    if self._has_been_stopped:
                        future.cancel()
                        raise StopIteration from None
            if self._topics and event.topic not in self._topics:
                continue
            return notification(event)


# No library test method is skipped: Accord's stores offer everything these
# cases exercise (insert/select, notifications with start/stop/topics/
# inclusive_of_start, max id, concurrent writers and readers, throughput,
# non-interleaving ids, and -- enabled below, "optional" in the library --
# subscriptions). The wrapper's only adaptations: IntegrityError for
# ConflictError, and topic filtering of subscriptions on the client side,
# since Accord's subscribe() takes no topics.
class _AccordRecorderCases(lib_cases.ApplicationRecorderTestCase):
    """Subclasses pick the store; each created recorder gets an empty log."""

    __test__ = False
    kind = ""

    @pytest.fixture(autouse=True)
    def _log_urls(self, request: pytest.FixtureRequest, tmp_path: Any) -> None:
        if self.kind == "postgresql":
            self._new_url: Callable[[], str] = request.getfixturevalue("new_pg_database")
        else:
            counter = itertools.count()
            self._new_url = lambda: f"sqlite:///{tmp_path.resolve()}/lib-{next(counter)}.db"

    def create_recorder(self) -> SyncRecorder:
        recorder = SyncRecorder(self._new_url())
        self.addCleanup(recorder.close)
        return recorder

    def test_insert_subscribe(self) -> None:
        # "optional" in the library (not every recorder has subscriptions); Accord's does.
        self.optional_test_insert_subscribe()


class _AccordNonInterleavingCases(lib_cases.NonInterleavingNotificationIDsBaseCase):
    __test__ = False
    kind = ""
    _log_urls = _AccordRecorderCases._log_urls
    create_recorder = _AccordRecorderCases.create_recorder


class TestLibraryRecorderCasesSQLite(_AccordRecorderCases):
    __test__ = True
    kind = "sqlite"


@pytest.mark.postgres
class TestLibraryRecorderCasesPostgres(_AccordRecorderCases):
    __test__ = True
    kind = "postgresql"


class TestLibraryNonInterleavingSQLite(_AccordNonInterleavingCases):
    __test__ = True
    kind = "sqlite"


@pytest.mark.postgres
class TestLibraryNonInterleavingPostgres(_AccordNonInterleavingCases):
    __test__ = True
    kind = "postgresql"


@pytest.mark.postgres
async def test_sealed_agreement_loads_in_library_application_with_the_master_key(
    new_pg_database: Callable[[], str], pg_params: Callable[[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accord's events rest sealed; the library, given SealedMapper and the master key, still loads them."""
    from domain.agreement import Agreement
    from service.crypto import Keyring, MasterKeys, parse_master_key
    from service.store.sealed import SealedStore
    from tests.servers import TEST_MASTER_KEY

    dsn = new_pg_database()
    raw = connect(dsn)
    await raw.open()
    keys = Keyring(raw, MasterKeys(parse_master_key(TEST_MASTER_KEY, "test")))
    store = SealedStore(raw, keys)
    monkeypatch.setenv("ACCORD_DATABASE_URL", dsn)
    monkeypatch.setenv("ACCORD_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setattr("tests.store.test_interop.MAPPER_TOPIC", "service.store.mapper:SealedMapper")
    app = library_app(dsn, pg_params)
    try:
        now = datetime.now(timezone.utc)
        ana = uuid4()
        agreement = Agreement.create("mkSealedTitle", ana, now)
        agreement.add_clause(ana, uuid4(), "boundaries", "mkSealedClause", now)
        mapper = MsgspecMapper()
        events = [
            NewEvent(s.originator_id, s.originator_version, s.topic, s.state, sealed=True)
            for s in map(mapper.to_stored_event, agreement.collect_events())
        ]
        await store.append(events)
        assert all(b"mkSealed" not in e.state for e in await raw.read_stream(agreement.id))
        loaded = app.repository.get(agreement.id)
        assert isinstance(loaded, Agreement)
        assert loaded.title == "mkSealedTitle"
        assert [c.text for c in loaded.clauses.values()] == ["mkSealedClause"]
    finally:
        app.close()
        await raw.close()
