"""What the domain specifications share: reading the events an aggregate raised, and checking them as stored.

Each spec is "given these commands, when one more, then these events (or an
error)": `then(aggregate)` gives the events raised since the last look, by
class and the fields that are the event's own (without the envelope every
event has).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable

import msgspec
from eventsourcing.domain import Aggregate

#: Fields every event has: which aggregate, its version, when, and the event's topic.
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def then(aggregate: Aggregate) -> list[tuple[type, dict[str, object]]]:
    """The new events, as (class, fields other than the envelope)."""
    return [
        (type(e), {k: v for k, v in vars(e).items() if k not in ENVELOPE})
        for e in aggregate.collect_events()
    ]


def assert_round_trips(events: Iterable[Aggregate.Event]) -> None:
    """Each event's state survives msgspec JSON, decoded by the type hints of the event's class.

    The originator id is left out: the store keeps it in a column of its own.
    """
    for event in events:
        hints = typing.get_type_hints(type(event))
        fields = [
            (f.name, hints[f.name]) for f in dataclasses.fields(event) if f.name != "originator_id"
        ]
        state = {name: getattr(event, name) for name, _ in fields}
        shape = msgspec.defstruct("State", fields, kw_only=True)
        decoded = msgspec.json.decode(msgspec.json.encode(state), type=shape)
        assert {name: getattr(decoded, name) for name, _ in fields} == state, type(event).__name__
