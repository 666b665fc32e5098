"""The `reviews` projection as a specification: what of an agreement in force waits for a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from domain.agreement import Agreement
from projections import reviews
from tests.projections.test_indexes import fold

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
REVISIT, LATER, END = date(2026, 12, 1), date(2027, 3, 1), date(2027, 6, 1)


def temporary_with_a_revisit_date() -> tuple[Agreement, object, object]:
    mina, jo = uuid4(), uuid4()
    agreement = Agreement.create("For a season", mina, NOW)
    agreement.invite(mina, jo, NOW)
    agreement.accept_invitation(jo, NOW)
    clause_id = uuid4()
    agreement.add_clause(mina, clause_id, "check_ins", "Sundays.", NOW)
    agreement.set_revisit_date(mina, clause_id, REVISIT, NOW)
    agreement.set_end_date(jo, END, NOW)
    return agreement, mina, jo


def test_nothing_waits_for_a_date_while_drafting() -> None:
    agreement, _, _ = temporary_with_a_revisit_date()
    assert fold(reviews.PROJECTION, list(agreement.collect_events())) == {}


def test_an_agreement_in_force_is_due_at_its_earliest_date_until_it_falls_due() -> None:
    agreement, mina, jo = temporary_with_a_revisit_date()
    [clause_id] = agreement.clauses
    for person in (mina, jo):
        agreement.consent(person, agreement.content_version, NOW)
    events = list(agreement.collect_events())
    [document] = fold(reviews.PROJECTION, events).values()
    assert (document.revisits, document.until) == ({str(clause_id): REVISIT}, END)
    assert reviews.PROJECTION.due(document) == datetime(2026, 12, 1, tzinfo=UTC)

    # It falls due: only the end date waits now, and the next firing has a key of its own.
    agreement.fall_due(datetime(2026, 12, 1, tzinfo=UTC))
    events += agreement.collect_events()
    [after] = fold(reviews.PROJECTION, events).values()
    assert (after.revisits, after.until) == ({}, END) and after.since != document.since
    assert reviews.PROJECTION.due(after) == datetime(2027, 6, 1, tzinfo=UTC)

    # Reaffirmed with a next date: that date waits again.
    for person in (mina, jo):
        agreement.reaffirm(person, clause_id, 1, LATER, datetime(2026, 12, 2, tzinfo=UTC))
    events += agreement.collect_events()
    [settled] = fold(reviews.PROJECTION, events).values()
    assert settled.revisits == {str(clause_id): LATER}

    # At its end date it lapses, and nothing waits any more.
    agreement.fall_due(datetime(2027, 6, 1, tzinfo=UTC) + timedelta(hours=1))
    events += agreement.collect_events()
    assert fold(reviews.PROJECTION, events) == {}


def test_a_change_of_parties_takes_it_out_of_force_and_off_the_schedule() -> None:
    agreement, mina, jo = temporary_with_a_revisit_date()
    for person in (mina, jo):
        agreement.consent(person, agreement.content_version, NOW)
    agreement.leave(jo, NOW)
    assert fold(reviews.PROJECTION, list(agreement.collect_events())) == {}
