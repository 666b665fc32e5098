"""The check-in projections as folds: whose series, and when the open occurrence counts as missed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from domain.cadence import Cadence, starts_at
from domain.checkins import GRACE, CheckIn
from projections import checkins

NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
CADENCE = Cadence(kind="weekly", weekday=1, at="19:00", time_zone="Europe/Berlin", starts_on=date(2026, 10, 12))


def fold(projection, events, key):  # noqa: ANN001, ANN201
    document = None
    for event in events:
        if key in projection.keys(event):
            document = projection.evolve(document, event)
    return document


def test_the_open_occurrence_is_due_at_the_end_of_its_grace_and_not_while_paused() -> None:
    mina, theo = uuid4(), uuid4()
    check_in = CheckIn.start(uuid4(), mina, (mina, theo), CADENCE, None, NOW, link_id=uuid4())
    key = str(check_in.id)
    events = list(check_in.collect_events())
    due = fold(checkins.DUE, events, key)
    assert checkins.due(due) == starts_at(CADENCE, 0) + GRACE

    to = starts_at(CADENCE, 0) + timedelta(days=1)
    check_in.move(theo, 0, to, "travel", NOW)
    check_in.pause(mina, NOW)
    events += check_in.collect_events()
    due = fold(checkins.DUE, events, key)
    assert due.starts_at == to and checkins.due(due) is None

    check_in.resume(theo, NOW)
    check_in.close(theo, 0, "a plan", [], NOW)
    events += check_in.collect_events()
    due = fold(checkins.DUE, events, key)
    assert (due.index, checkins.due(due)) == (1, starts_at(CADENCE, 1) + GRACE)

    check_in.end(mina, NOW)
    events += check_in.collect_events()
    assert fold(checkins.DUE, events, key) is None
    # Both people find the series in their index, whatever became of it.
    for person in (mina, theo):
        assert fold(checkins.CHECK_INS, events, str(person)).check_ins == [check_in.id]
