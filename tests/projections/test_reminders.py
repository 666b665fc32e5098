"""Whom the scheduler looks at for email reminders (projections/reminders.py): people with a
confirmed address, least recently reminded first, and nobody who removed theirs or left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from domain.network import Erasure
from domain.reminders import Reminders
from projections import reminders as reminding

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def fold(events: list[Any]) -> reminding.Reminding | None:
    document = None
    for event in events:
        keys = list(reminding.keys(event))
        assert keys == [str(Reminders.id_for(reminders_person))]
        document = reminding.evolve(document, event)
    return document


reminders_person = uuid4()


def confirmed() -> tuple[Reminders, list[Any]]:
    reminders = Reminders.create(reminders_person, NOW)
    reminders.add_address("sealed", "digest", NOW + timedelta(days=1), NOW)
    reminders.confirm("digest", NOW + timedelta(minutes=5))
    return reminders, list(reminders.collect_events())


def test_a_confirmed_address_is_looked_at_from_its_confirmation_then_from_its_last_reminder() -> None:
    reminders, events = confirmed()
    document = fold(events)
    assert document is not None and document.person == reminders_person
    assert reminding.due(document) == NOW + timedelta(minutes=5)
    reminders.remind(["a"], ["a"], NOW + timedelta(hours=1))
    document = fold([*events, *reminders.collect_events()])
    assert document is not None and reminding.due(document) == NOW + timedelta(hours=1)


def test_an_unconfirmed_or_removed_address_is_not_looked_at() -> None:
    reminders, events = confirmed()
    reminders.add_address("sealed-2", "digest-2", NOW + timedelta(days=1), NOW)
    assert fold([*events, *reminders.collect_events()]) is None
    reminders, events = confirmed()
    reminders.remove_address(NOW)
    assert fold([*events, *reminders.collect_events()]) is None


def test_a_deleted_account_is_not_looked_at() -> None:
    _, events = confirmed()
    erased = Erasure.record(reminders_person, (), NOW + timedelta(days=2))
    assert fold([*events, *erased.collect_events()]) is None
