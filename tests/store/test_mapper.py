"""MsgspecMapper: domain events to stored records and back, keeping types.

Written like the domain code (postponed annotations, explicit event classes
with `apply`), since that is what the mapper has to handle.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment, get_topic

from service.store.mapper import MsgspecMapper

MAPPER_TOPIC = "service.store.mapper:MsgspecMapper"


class Pledge(Aggregate):
    """A small aggregate whose events use every kind of field Accord needs."""

    class Event(Aggregate.Event):
        pass

    class Created(Event, Aggregate.Created):
        title: str
        owner: UUID
        amount: Decimal
        due: datetime
        count: int
        note: str | None
        tags: tuple[str, ...]

        def apply(self, pledge: Pledge) -> None:
            pledge.title = self.title
            pledge.owner = self.owner
            pledge.amount = self.amount
            pledge.due = self.due
            pledge.count = self.count
            pledge.note = self.note
            pledge.tags = self.tags
            pledge.witnesses = ()

    class Adjusted(Event):
        amount: Decimal
        note: str | None
        due: datetime | None
        witnesses: tuple[UUID, ...]
        count: int

        def apply(self, pledge: Pledge) -> None:
            pledge.amount = self.amount
            pledge.note = self.note
            if self.due is not None:
                pledge.due = self.due
            pledge.witnesses = self.witnesses
            pledge.count += self.count

    @classmethod
    def create(cls, *, title: str, owner: UUID, amount: Decimal, due: datetime, tags: tuple[str, ...]) -> Pledge:
        return cls._create(
            cls.Created,
            id=uuid4(),
            title=title,
            owner=owner,
            amount=amount,
            due=due,
            count=0,
            note=None,
            tags=tags,
        )

    def adjust(
        self, *, amount: Decimal, note: str | None, due: datetime | None, witnesses: tuple[UUID, ...], count: int
    ) -> None:
        self.trigger_event(
            self.Adjusted, amount=amount, note=note, due=due, witnesses=witnesses, count=count
        )


STATE_ATTRS = ("id", "version", "created_on", "modified_on", "title", "owner", "amount", "due", "count", "note", "tags", "witnesses")


def pledge_state(p: Pledge) -> dict[str, Any]:
    return {name: getattr(p, name) for name in STATE_ATTRS}


def make_pledge() -> Pledge:
    ist = timezone(timedelta(hours=5, minutes=30))
    p = Pledge.create(
        title="Sunday dinners, ♥ included",
        owner=uuid4(),
        amount=Decimal("12345678901234567890.000000001"),
        due=datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=ist),
        tags=("care", "time", ""),
    )
    p.adjust(amount=Decimal("1.10"), note=None, due=None, witnesses=(), count=3)
    p.adjust(
        amount=Decimal("-0.000"),
        note="renegotiated",
        due=datetime(2032, 1, 1, tzinfo=timezone.utc),
        witnesses=(uuid4(), uuid4()),
        count=-1,
    )
    return p


@pytest.fixture(scope="module")
def mapper() -> MsgspecMapper:
    """Constructed the way the library does it, from MAPPER_TOPIC."""
    factory = InfrastructureFactory.construct(
        Environment(name="Accord", env={"PERSISTENCE_MODULE": "eventsourcing.popo", "MAPPER_TOPIC": MAPPER_TOPIC})
    )
    m = factory.mapper()
    assert type(m) is MsgspecMapper
    return m


def assert_same_typed_fields(decoded: object, original: object) -> None:
    assert type(decoded) is type(original)
    for f in fields(original):  # type: ignore[arg-type]
        a, b = getattr(decoded, f.name), getattr(original, f.name)
        assert type(a) is type(b), f"{type(original).__qualname__}.{f.name}: {type(a)} != {type(b)}"
        assert a == b, f"{type(original).__qualname__}.{f.name}: {a!r} != {b!r}"
        if isinstance(b, Decimal):
            assert str(a) == str(b), f"{f.name}: Decimal {a} lost its exact digits {b}"
        if isinstance(b, datetime):
            assert a.utcoffset() == b.utcoffset(), f"{f.name}: {a} has another offset than {b}"
        if isinstance(b, tuple):
            assert [type(x) for x in a] == [type(x) for x in b]


def test_round_trip_keeps_types(mapper: MsgspecMapper) -> None:
    pledge = make_pledge()
    events = pledge.collect_events()
    assert [type(e) for e in events] == [Pledge.Created, Pledge.Adjusted, Pledge.Adjusted]

    decoded = []
    for event in events:
        stored = mapper.to_stored_event(event)
        assert isinstance(stored, StoredEvent)
        assert stored.originator_id == event.originator_id
        assert stored.originator_version == event.originator_version
        assert stored.topic == get_topic(type(event))
        assert isinstance(stored.state, bytes)
        state = json.loads(stored.state)  # msgspec JSON: plain JSON on disk
        assert "originator_id" not in state and "originator_version" not in state
        assert "class_version" not in state  # class_version 1 is implicit, like the library

        back = mapper.to_domain_event(stored)
        assert_same_typed_fields(back, event)
        assert back == event
        decoded.append(back)

    # The decoded events rebuild an equal aggregate.
    rebuilt = None
    for event in decoded:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, Pledge)
    assert pledge_state(rebuilt) == pledge_state(pledge)
    assert str(rebuilt.amount) == "-0.000"
    assert type(rebuilt.witnesses) is tuple and all(type(w) is UUID for w in rebuilt.witnesses)


def test_optional_fields_both_ways(mapper: MsgspecMapper) -> None:
    pledge = make_pledge()
    _, with_none, with_values = pledge.collect_events()
    assert with_none.note is None and with_none.due is None
    back = mapper.to_domain_event(mapper.to_stored_event(with_none))
    assert back.note is None and back.due is None
    back = mapper.to_domain_event(mapper.to_stored_event(with_values))
    assert back.note == "renegotiated"
    assert back.due == datetime(2032, 1, 1, tzinfo=timezone.utc)


def test_string_originator_id_becomes_uuid(mapper: MsgspecMapper) -> None:
    created = make_pledge().collect_events()[0]
    stored = mapper.to_stored_event(created)
    as_text = StoredEvent(
        originator_id=str(stored.originator_id),
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state,
    )
    back = mapper.to_domain_event(as_text)
    assert type(back.originator_id) is UUID
    assert back == created


def test_wrong_type_in_state_is_refused(mapper: MsgspecMapper) -> None:
    created = make_pledge().collect_events()[0]
    stored = mapper.to_stored_event(created)
    state = json.loads(stored.state)
    state["count"] = "not a number"
    bad = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )
    with pytest.raises(Exception):  # noqa: B017,PT011 - any decoding error, not a wrong value
        mapper.to_domain_event(bad)


def test_compressor_from_environment() -> None:
    factory = InfrastructureFactory.construct(
        Environment(
            name="Accord",
            env={
                "PERSISTENCE_MODULE": "eventsourcing.popo",
                "MAPPER_TOPIC": MAPPER_TOPIC,
                "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            },
        )
    )
    m = factory.mapper()
    assert type(m) is MsgspecMapper
    created = make_pledge().collect_events()[0]
    stored = m.to_stored_event(created)
    json.loads(zlib.decompress(stored.state))
    assert m.to_domain_event(stored) == created


class PledgeApp(Application):
    env: ClassVar[dict[str, str]] = {"PERSISTENCE_MODULE": "eventsourcing.popo", "MAPPER_TOPIC": MAPPER_TOPIC}


def test_library_application_uses_it_via_mapper_topic() -> None:
    app = PledgeApp()
    try:
        assert type(app.mapper) is MsgspecMapper
        pledge = make_pledge()
        app.save(pledge)
        loaded = app.repository.get(pledge.id)
        assert pledge_state(loaded) == pledge_state(pledge)
        assert type(loaded.amount) is Decimal and str(loaded.amount) == "-0.000"
        # And the notification log holds msgspec JSON.
        notifications = app.recorder.select_notifications(start=None, limit=10)
        assert len(notifications) == 3
        assert json.loads(notifications[0].state)["title"] == "Sunday dinners, ♥ included"
    finally:
        app.close()


# --------------------------------------------------------------------------
# Upcasting
# --------------------------------------------------------------------------


class Vow(Aggregate):
    class Event(Aggregate.Event):
        pass

    class SpokenV1(Event):
        """The first shape of the event: only words."""

        words: str

    class SpokenV2(Event):
        """Added a language; old events get "en"."""

        class_version = 2
        upcasts: ClassVar[list[str]] = []

        words: str
        language: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            Vow.SpokenV2.upcasts.append("v1_v2")
            state["words"] = state["words"].strip()
            state["language"] = "en"

    class SpokenV3(Event):
        """Renamed language to lang, and counted the words."""

        class_version = 3
        upcasts: ClassVar[list[str]] = []

        words: str
        lang: str
        word_count: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            Vow.SpokenV3.upcasts.append("v1_v2")
            state["words"] = state["words"].strip()
            state["language"] = "en"

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            Vow.SpokenV3.upcasts.append("v2_v3")
            state["lang"] = state.pop("language")
            state["word_count"] = len(state["words"].split())


STAMP = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


def stored_as(event: object, cls: type, mapper: MsgspecMapper) -> StoredEvent:
    """Encode `event` with its own class, then label it with `cls`'s topic:
    what the log holds after the event class was changed in the code."""
    stored = mapper.to_stored_event(event)
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=get_topic(cls),
        state=stored.state,
    )


@pytest.fixture(autouse=True)
def _reset_upcast_log() -> None:
    Vow.SpokenV2.upcasts.clear()
    Vow.SpokenV3.upcasts.clear()


def test_upcast_v1_to_v2(mapper: MsgspecMapper) -> None:
    vow_id = uuid4()
    old = Vow.SpokenV1(originator_id=vow_id, originator_version=2, timestamp=STAMP, words="  I will  ")
    stored = stored_as(old, Vow.SpokenV2, mapper)
    assert "class_version" not in json.loads(stored.state)

    new = mapper.to_domain_event(stored)
    assert type(new) is Vow.SpokenV2
    assert Vow.SpokenV2.upcasts == ["v1_v2"]
    assert new.words == "I will"
    assert new.language == "en"
    assert new.originator_id == vow_id and type(new.originator_id) is UUID
    assert new.originator_version == 2
    assert new.timestamp == STAMP and type(new.timestamp) is datetime


def test_upcast_v1_through_v3(mapper: MsgspecMapper) -> None:
    old = Vow.SpokenV1(originator_id=uuid4(), originator_version=1, timestamp=STAMP, words=" yes, and  more ")
    new = mapper.to_domain_event(stored_as(old, Vow.SpokenV3, mapper))
    assert type(new) is Vow.SpokenV3
    assert Vow.SpokenV3.upcasts == ["v1_v2", "v2_v3"]
    assert (new.words, new.lang, new.word_count) == ("yes, and  more", "en", 3)
    assert type(new.word_count) is int
    assert not hasattr(new, "language")
    assert new.timestamp == STAMP and type(new.timestamp) is datetime


def test_current_version_is_recorded_and_not_upcast(mapper: MsgspecMapper) -> None:
    v2 = Vow.SpokenV2(originator_id=uuid4(), originator_version=1, timestamp=STAMP, words="ja", language="de")
    stored = mapper.to_stored_event(v2)
    assert json.loads(stored.state)["class_version"] == 2
    back = mapper.to_domain_event(stored)
    assert Vow.SpokenV2.upcasts == []
    assert back == v2
    assert "class_version" not in vars(back)

    # A v2 record read by the v3 class runs only the v2 -> v3 step.
    newer = mapper.to_domain_event(stored_as(v2, Vow.SpokenV3, mapper))
    assert Vow.SpokenV3.upcasts == ["v2_v3"]
    assert (newer.words, newer.lang, newer.word_count) == ("ja", "de", 1)

    v3 = Vow.SpokenV3(originator_id=uuid4(), originator_version=1, timestamp=STAMP, words="oui", lang="fr", word_count=1)
    Vow.SpokenV3.upcasts.clear()
    assert mapper.to_domain_event(mapper.to_stored_event(v3)) == v3
    assert Vow.SpokenV3.upcasts == []


def test_every_check_in_event_round_trips(mapper: MsgspecMapper) -> None:
    """The check-in's events keep their types through the mapper: a cadence (with its date), answers,
    action points, moments and ids."""
    from datetime import date

    from domain.cadence import Cadence, starts_at
    from domain.checkins import GRACE, ActionPoint, CheckIn

    now = datetime(2026, 10, 12, 9, tzinfo=timezone.utc)
    cadence = Cadence(kind="weekly", weekday=1, at="19:00", time_zone="Europe/Berlin", starts_on=date(2026, 10, 12))
    mina, theo = uuid4(), uuid4()
    check_in = CheckIn.start(uuid4(), mina, (mina, theo), cadence, None, now, agreement_id=uuid4())
    check_in.prepare(mina, 0, ("a", "", "c", "", "e"), now)
    check_in.share(mina, 0, now)
    check_in.move(theo, 0, now + timedelta(days=2), "late train", now)
    point = ActionPoint(uuid4(), "talk about overnights")
    check_in.close(theo, 0, "dinner", [point], now)
    check_in.record_proposal(theo, point.action_point_id, uuid4(), uuid4(), now)
    check_in.change_prompts(mina, ["one"], now)
    check_in.skip(mina, 1, "away", now)
    check_in.miss(2, starts_at(cadence, 2) + GRACE)
    check_in.pause(mina, now)
    check_in.resume(theo, now)
    check_in.stop(check_in.open_index, "too_few_participants", starts_at(cadence, check_in.open_index) + GRACE)
    events = check_in.collect_events()
    assert len({type(e) for e in events}) == 13
    for event in events:
        back = mapper.to_domain_event(mapper.to_stored_event(event))
        assert type(back) is type(event) and vars(back) == vars(event), type(event).__name__


def test_a_renegotiation_stored_before_end_dates_and_revisit_dates_reads_without_them(mapper: MsgspecMapper) -> None:
    """Agreement.Proposed version 1 had no `end_date`, and its changes no `revisit_on`."""
    from domain.agreement import Agreement, ClauseChange

    clause_id = uuid4()
    v1 = {
        "timestamp": STAMP.isoformat(),
        "by": str(uuid4()),
        "proposal_id": str(uuid4()),
        "base_version": 1,
        "changes": [{"kind": "edit", "clause_id": str(clause_id), "topic": None, "text": "Fridays too."}],
        "reason": "New job.",
    }
    stored = StoredEvent(
        originator_id=uuid4(), originator_version=5, topic=get_topic(Agreement.Proposed), state=json.dumps(v1).encode()
    )
    event = mapper.to_domain_event(stored)
    assert event.end_date is None
    assert event.changes == (ClauseChange("edit", clause_id, text="Fridays too."),)
    assert json.loads(mapper.to_stored_event(event).state)["class_version"] == 2


def test_every_personal_document_event_round_trips(mapper: MsgspecMapper) -> None:
    """A personal document's events keep their types through the mapper: sections, versions, people, moments."""
    from domain.documents import PersonalDocument, Section

    now = datetime(2026, 10, 12, 9, tzinfo=timezone.utc)
    owner, partner = uuid4(), uuid4()
    sections = [Section("", "racing heart"), Section("", "a walk"), Section("", "advice"), Section("", "text me")]
    document = PersonalDocument.write(uuid4(), owner, "care_plan", sections, now)
    document.revise(owner, 1, [*sections[:3], Section("", "call me")], now + timedelta(hours=1))
    document.share_with(owner, partner, "sealed-handle", now)
    document.revoke_share(owner, partner, now)
    document.delete(owner, now)
    events = document.collect_events()
    assert len({type(e) for e in events}) == 5


def test_an_agreement_started_from_a_template_round_trips(mapper: MsgspecMapper) -> None:
    """StartedFromTemplate keeps the template's id and version; its clauses are plain ClauseAdded events."""
    from domain.agreement import Agreement
    from service.library import load_library

    template = load_library()["one_page_contract"]
    now = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    agreement = Agreement.start_from(template, "Us", uuid4(), now, clause_ids=[uuid4() for _ in template.clauses])
    events = agreement.collect_events()
    assert Agreement.StartedFromTemplate in {type(e) for e in events}


def test_every_signal_event_round_trips(mapper: MsgspecMapper) -> None:
    """A signal's and a signal book's events keep their types: ids, moments, optional notes and kinds."""
    from domain.signals import Signal, SignalBook, SignalSettings

    now = datetime(2026, 10, 12, 23, tzinfo=timezone.utc)
    sam, mina = uuid4(), uuid4()
    book = SignalBook.create(sam, now)
    book.open_channel(mina, now)
    book.change_settings(SignalSettings(expiry_hours=30, read_receipts=True, quiet_from=22, quiet_until=7, time_zone="Europe/Berlin"), now)
    signal = Signal.send(uuid4(), sam, [mina], [mina], "home_safe", "got the last train", now, book)
    signal.mark_seen(mina, now)
    book.record_expired(signal, now + timedelta(hours=30))
    book.close_channel(mina, now)
    quiet = Signal.send(uuid4(), sam, [mina], [], "still_here", None, now, book)
    events = [*book.collect_events(), *signal.collect_events(), *quiet.collect_events()]
    assert len({type(e) for e in events}) == 7


def test_every_block_event_round_trips(mapper: MsgspecMapper) -> None:
    """A block list's events keep their ids, handle and times through the mapper."""
    from domain.blocks import Blocks

    now = datetime(2026, 11, 29, 20, tzinfo=timezone.utc)
    blocks = Blocks.create(uuid4(), now)
    block_id = blocks.block(uuid4(), "ex", now)
    blocks.unblock(block_id, now + timedelta(hours=1))
    events = blocks.collect_events()
    assert len({type(e) for e in events}) == 3
    for event in events:
        back = mapper.to_domain_event(mapper.to_stored_event(event))
        assert type(back) is type(event) and vars(back) == vars(event), type(event).__name__


def test_every_availability_event_round_trips(mapper: MsgspecMapper) -> None:
    """A person's availability keeps its zone, each partner's choice and the rules (nested Structs) through the mapper."""
    from domain.availability import Availability, BookingRules, BufferAfterDate, OvernightNotice, PlansPerWeek, QuietNights

    now = datetime(2026, 11, 29, 21, tzinfo=timezone.utc)
    availability = Availability.create(uuid4(), now)
    availability.choose_time_zone("Europe/Berlin", now)
    availability.choose_shows(uuid4(), "busy", now)
    availability.change_rules(
        BookingRules(
            quiet_nights=QuietNights(weekdays=("friday", "sunday"), mode="warn", shown_to="partners"),
            overnight_notice=OvernightNotice(hours=48),
            plans_per_week=PlansPerWeek(limit=3, shown_to="partners"),
            buffer_after_date=BufferAfterDate(hours=12, mode="warn"),
        ),
        now,
    )
    events = availability.collect_events()
    assert len({type(e) for e in events}) == 4
    for event in events:
        back = mapper.to_domain_event(mapper.to_stored_event(event))
        assert type(back) is type(event) and vars(back) == vars(event), type(event).__name__


def test_every_plan_event_round_trips(mapper: MsgspecMapper) -> None:
    """A plan's events keep their types through the mapper: ids, invitees, aware moments in a time zone, notes."""
    from domain.plans import Plan

    now = datetime(2026, 10, 20, 9, tzinfo=timezone.utc)
    mina, theo, sam = uuid4(), uuid4(), uuid4()
    start = datetime(2026, 10, 24, 18, tzinfo=timezone(timedelta(hours=2)))
    plan = Plan.propose(uuid4(), mina, [theo, sam], "overnight", "Cabin", None, start, start + timedelta(hours=16), "Europe/Berlin", now)
    plan.answer(theo, "declined", "work", now)
    plan.reschedule(theo, start + timedelta(days=7), start + timedelta(days=7, hours=16), "The cabin", "Europe/Berlin", None, now)
    plan.cancel(sam, "sorry", now)
    events = plan.collect_events()
    assert len({type(e) for e in events}) == 4
    for event in events:
        back = mapper.to_domain_event(mapper.to_stored_event(event))
        assert type(back) is type(event) and vars(back) == vars(event), type(event).__name__
