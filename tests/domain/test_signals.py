"""Signals as specifications: channels both people open, sending, seen, what stays after expiry,
quiet hours, and the policy's rules for who a signal reaches and who sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain import policy
from domain.errors import AlreadyDone, NotFound, ValidationFailed
from domain.network import Interval
from domain.policy import LinkFact, Network
from domain.signals import (
    MAX_NOTE,
    Signal,
    SignalBook,
    SignalSettings,
    default_book,
    in_quiet_hours,
)
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 10, 12, 23, 0, tzinfo=UTC)


def live(a, b) -> LinkFact:  # type: ignore[no-untyped-def]
    return LinkFact(a=a, b=b, status="live", proposer=a, intervals=(Interval(confirmed_at=NOW - timedelta(days=9)),))


@pytest.fixture
def people() -> tuple:  # type: ignore[type-arg]
    return uuid4(), uuid4(), uuid4(), uuid4()


def test_a_book_opens_and_closes_one_side_of_a_channel(people: tuple) -> None:  # type: ignore[type-arg]
    sam, mina, *_ = people
    book = SignalBook.create(sam, NOW)
    book.open_channel(mina, NOW)
    book.open_channel(mina, NOW)  # the same choice again: not news
    assert then(book) == [
        (SignalBook.Created, {"person": sam}),
        (SignalBook.ChannelOpened, {"to": mina}),
    ]
    book.close_channel(mina, NOW)
    book.close_channel(mina, NOW)
    assert then(book) == [(SignalBook.ChannelClosed, {"to": mina})]
    with pytest.raises(ValidationFailed):
        book.open_channel(sam, NOW)


def test_settings_are_checked(people: tuple) -> None:  # type: ignore[type-arg]
    book = default_book(people[0], NOW)
    for bad in ({"expiry_hours": 0}, {"keep": "everything"}, {"quiet_from": 22}, {"quiet_from": 25, "quiet_until": 1}, {"time_zone": "Mars/Base"}):
        with pytest.raises(ValidationFailed):
            book.change_settings(SignalSettings(**bad), NOW)  # type: ignore[arg-type]
    assert then(book) == []


def test_a_signal_reaches_only_whom_the_caller_says_and_expires_by_the_senders_setting(people: tuple) -> None:  # type: ignore[type-arg]
    sam, mina, jo, _ = people
    book = default_book(sam, NOW)
    book.change_settings(SignalSettings(expiry_hours=30, keep="nothing"), NOW)
    signal = Signal.send(uuid4(), sam, [mina, jo], [mina], "home_safe", "  ", NOW, book)
    [(cls, fields)] = then(signal)
    assert cls is Signal.Sent and fields["addressed"] == (mina, jo) and fields["recipients"] == (mina,)
    assert fields["note"] is None and fields["expires_at"] == NOW + timedelta(hours=30) and fields["keep"] == "nothing"
    assert not signal.has_expired(NOW + timedelta(hours=29)) and signal.has_expired(NOW + timedelta(hours=30))


@pytest.mark.parametrize(
    ("kind", "note", "to", "field"),
    [("hello", None, "mina", "kind"), ("home_safe", "x" * (MAX_NOTE + 1), "mina", "note"), ("home_safe", None, "self", "to"), ("home_safe", None, "none", "to")],
)
def test_bad_signals_are_refused_naming_the_field(people: tuple, kind: str, note: str | None, to: str, field: str) -> None:  # type: ignore[type-arg]
    sam, mina, *_ = people
    addressed = {"mina": [mina], "self": [sam], "none": []}[to]
    with pytest.raises(ValidationFailed) as error:
        Signal.send(uuid4(), sam, addressed, addressed, kind, note, NOW, default_book(sam, NOW))
    assert error.value.field == field


def test_only_a_recipient_marks_it_seen_once(people: tuple) -> None:  # type: ignore[type-arg]
    sam, mina, jo, _ = people
    signal = Signal.send(uuid4(), sam, [mina, jo], [mina], "still_here", None, NOW, default_book(sam, NOW))
    then(signal)
    signal.mark_seen(mina, NOW)
    assert then(signal) == [(Signal.Seen, {"by": mina})]
    with pytest.raises(AlreadyDone):
        signal.mark_seen(mina, NOW)
    with pytest.raises(NotFound):
        signal.mark_seen(jo, NOW)  # addressed, but it did not reach him
    with pytest.raises(ValidationFailed):
        signal.mark_seen(sam, NOW)


@pytest.mark.parametrize("keep", ["kind_and_time", "nothing"])
def test_what_stays_after_expiry_is_the_senders_choice(people: tuple, keep: str) -> None:  # type: ignore[type-arg]
    sam, mina, *_ = people
    book = default_book(sam, NOW)
    book.change_settings(SignalSettings(keep=keep), NOW)
    then(book)
    signal = Signal.send(uuid4(), sam, [mina], [mina], "home_safe", "secret", NOW, book)
    book.record_expired(signal, NOW + timedelta(days=1))
    book.record_expired(signal, NOW + timedelta(days=1))  # once
    expected = (
        {"signal_id": signal.id, "kind": "home_safe", "sent_at": NOW, "recipients": (mina,)}
        if keep == "kind_and_time"
        else {"signal_id": signal.id, "kind": None, "sent_at": None, "recipients": ()}
    )
    events = book.collect_events()
    assert [(type(e), {k: getattr(e, k) for k in expected}) for e in events] == [(SignalBook.Expired, expected)]
    assert "secret" not in repr(vars(events[0]))
    assert_round_trips(events)


def test_quiet_hours_pass_midnight_in_the_persons_time_zone(people: tuple) -> None:  # type: ignore[type-arg]
    book = default_book(people[0], NOW)
    book.change_settings(SignalSettings(quiet_from=22, quiet_until=7, time_zone="Europe/Berlin"), NOW)
    at = datetime(2026, 10, 12, tzinfo=UTC)
    assert in_quiet_hours(book, at.replace(hour=21))  # 23:00 in Berlin
    assert in_quiet_hours(book, at.replace(hour=4))  # 06:00
    assert not in_quiet_hours(book, at.replace(hour=5))  # 07:00
    assert not in_quiet_hours(default_book(people[0], NOW), at.replace(hour=23))


def test_channels_are_offered_to_partners_and_metamours_and_reach_only_when_both_opened(people: tuple) -> None:  # type: ignore[type-arg]
    sam, mina, jo, sky = people
    links = (live(sam, mina), live(mina, jo))
    assert policy.channel_offer(sam, mina, links) == "partner"
    assert policy.channel_offer(sam, jo, links) == "metamour"
    assert policy.channel_offer(sam, sky, links) is None and policy.channel_offer(sam, sam, links) is None
    assert not policy.may_signal(sam, mina, {sam: {mina}}, links)
    assert policy.may_signal(sam, mina, {sam: {mina}, mina: {sam}}, links)
    assert not policy.may_signal(sam, sky, {sam: {sky}, sky: {sam}}, links)  # a stranger, whatever they chose
    ended = (LinkFact(a=sam, b=mina, status="ended", proposer=sam, intervals=()),)
    assert not policy.may_signal(sam, mina, {sam: {mina}, mina: {sam}}, ended)


def test_a_signal_is_seen_by_its_sender_and_its_recipients_only(people: tuple) -> None:  # type: ignore[type-arg]
    sam, mina, jo, sky = people
    signal = Signal.send(uuid4(), sam, [mina, jo], [mina], "home_safe", "note", NOW, default_book(sam, NOW))
    signal.mark_seen(mina, NOW)
    network = Network(links=(live(sam, mina),), disclosures={})
    names = {sam: "Sam", mina: "Mina", jo: "Jo"}

    def view(viewer, receipts):  # type: ignore[no-untyped-def]
        return policy.view_signal(viewer, signal, receipts, network, names, b"secret")

    assert view(jo, {}) is None and view(sky, {}) is None
    received = view(mina, {})
    assert received is not None and received.note == "note" and received.to == () and received.seen_by_me
    sent = view(sam, {mina: False})
    assert sent is not None and [r.seen_at for r in sent.to] == [None, None]
    sent = view(sam, {mina: True})
    assert sent is not None and sent.to[0].seen_at == NOW and sent.to[1].seen_at is None
