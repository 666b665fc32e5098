"""Revisit dates, due reviews, reaffirmation and temporary agreements, as specifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.agreement import Agreement, ClauseChange, EndDateChange, Revisit
from domain.errors import AlreadyDone, InForce, NotDue, NothingDue, ValidationFailed
from tests.domain.spec import then

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REVISIT = date(2025, 6, 1)
#: The first moment of the revisit date, in UTC: from then on the clause is due.
DUE = datetime(2025, 6, 1, tzinfo=UTC)
END = date(2025, 9, 1)


def drafting(*people: UUID) -> tuple[Agreement, UUID]:
    agreement = Agreement.create("Our summer", people[0], NOW)
    for person in people[1:]:
        agreement.invite(people[0], person, NOW)
        agreement.accept_invitation(person, NOW)
    clause_id = uuid4()
    agreement.add_clause(people[0], clause_id, "check_ins", "We check in on Sundays.", NOW)
    agreement.collect_events()
    return agreement, clause_id


def ratify(agreement: Agreement, *people: UUID, now: datetime = NOW) -> None:
    for person in people:
        agreement.consent(person, agreement.content_version, now)


def due_for_review(*people: UUID) -> tuple[Agreement, UUID]:
    """Given an agreement in force with one clause whose revisit date has come."""
    agreement, clause_id = drafting(*people)
    agreement.set_revisit_date(people[0], clause_id, REVISIT, NOW)
    ratify(agreement, *people)
    agreement.fall_due(DUE)
    agreement.collect_events()
    return agreement, clause_id


# Setting dates while drafting


def test_a_revisit_date_is_part_of_what_the_parties_consent_to(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    agreement.consent(mina, agreement.content_version, NOW)
    agreement.collect_events()

    agreement.set_revisit_date(jo, clause_id, REVISIT, NOW)

    assert then(agreement) == [
        (Agreement.RevisitDateSet, {"by": jo, "clause_id": clause_id, "revisit_on": REVISIT, "version": 2})
    ]
    # Like an edit: a new version, and consent starts afresh.
    assert agreement.content_version == 2 and agreement.consents == set()
    assert agreement.revisit_dates == {clause_id: REVISIT}


def test_ratifying_a_version_with_dates_schedules_them(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    agreement.set_revisit_date(mina, clause_id, REVISIT, NOW)
    agreement.set_end_date(mina, END, NOW)
    agreement.collect_events()

    ratify(agreement, mina, jo)

    assert [t for t, _ in then(agreement)] == [
        Agreement.Consented, Agreement.Consented, Agreement.Ratified, Agreement.DatesScheduled
    ]
    assert agreement.status == "in_force"


def test_a_date_must_be_later_than_today(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    with pytest.raises(ValidationFailed) as error:
        agreement.set_revisit_date(mina, clause_id, NOW.date(), NOW)
    assert error.value.field == "revisit_on"
    with pytest.raises(ValidationFailed) as error:
        agreement.set_end_date(mina, NOW.date() - timedelta(days=1), NOW)
    assert error.value.field == "until"
    assert then(agreement) == []


def test_dates_in_force_change_only_by_renegotiation(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    ratify(agreement, mina, jo)
    with pytest.raises(InForce):
        agreement.set_revisit_date(mina, clause_id, REVISIT, NOW)
    with pytest.raises(InForce):
        agreement.set_end_date(mina, END, NOW)


# A clause falls due


def test_a_clause_falls_due_when_its_revisit_date_begins(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    agreement.set_revisit_date(mina, clause_id, REVISIT, NOW)
    ratify(agreement, mina, jo)
    agreement.collect_events()

    with pytest.raises(NothingDue):
        agreement.fall_due(DUE - timedelta(microseconds=1))
    agreement.fall_due(DUE)

    assert then(agreement) == [(Agreement.ReviewDue, {"clause_id": clause_id, "revisit_on": REVISIT})]
    assert set(agreement.due_reviews) == {clause_id}


def test_a_clause_falls_due_once(mina, jo):
    agreement, _ = due_for_review(mina, jo)
    with pytest.raises(NothingDue):
        agreement.fall_due(DUE + timedelta(days=3))
    assert then(agreement) == []


def test_nothing_falls_due_while_drafting(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    agreement.set_revisit_date(mina, clause_id, REVISIT, NOW)
    with pytest.raises(NothingDue):
        agreement.fall_due(DUE)


# Reaffirmation


def test_reaffirmation_needs_every_party(mina, jo, sam):
    agreement, clause_id = due_for_review(mina, jo, sam)

    agreement.reaffirm(mina, clause_id, 1, None, DUE)
    agreement.reaffirm(jo, clause_id, 1, None, DUE)
    assert [t for t, _ in then(agreement)] == [Agreement.Reaffirmed, Agreement.Reaffirmed]
    assert clause_id in agreement.due_reviews  # Sam has not yet

    agreement.reaffirm(sam, clause_id, 1, None, DUE)

    assert then(agreement) == [
        (Agreement.Reaffirmed, {"by": sam, "clause_id": clause_id, "revision": 1, "next_revisit_on": None}),
        (Agreement.ReviewSettled, {"clause_id": clause_id, "revision": 1, "next_revisit_on": None}),
    ]
    assert agreement.due_reviews == {} and agreement.revisit_dates == {}


def test_a_next_revisit_date_is_agreed_by_everyone(mina, jo):
    agreement, clause_id = due_for_review(mina, jo)
    later, other = date(2025, 12, 1), date(2026, 1, 1)

    agreement.reaffirm(mina, clause_id, 1, later, DUE)
    # Jo names another next date: reaffirmation starts afresh from Jo's.
    agreement.reaffirm(jo, clause_id, 1, other, DUE)
    assert agreement.due_reviews[clause_id].reaffirmed_by == {jo}
    agreement.reaffirm(mina, clause_id, 1, other, DUE)

    assert then(agreement)[-1] == (
        Agreement.ReviewSettled, {"clause_id": clause_id, "revision": 1, "next_revisit_on": other}
    )
    assert agreement.revisit_dates == {clause_id: other}


def test_reaffirming_twice_is_already_done(mina, jo):
    agreement, clause_id = due_for_review(mina, jo)
    agreement.reaffirm(mina, clause_id, 1, None, DUE)
    with pytest.raises(AlreadyDone):
        agreement.reaffirm(mina, clause_id, 1, None, DUE)


def test_only_a_due_clause_is_reaffirmed(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    ratify(agreement, mina, jo)
    agreement.collect_events()
    with pytest.raises(NotDue) as error:
        agreement.reaffirm(mina, clause_id, 1, None, DUE)
    assert error.value.clause_id == clause_id
    assert then(agreement) == []


def test_a_renegotiation_of_the_clause_ends_its_review(mina, jo):
    agreement, clause_id = due_for_review(mina, jo)
    agreement.reaffirm(mina, clause_id, 1, None, DUE)
    proposal_id = uuid4()
    change = ClauseChange("edit", clause_id, text="We check in every other Sunday.", revisit_on=date(2025, 12, 1))
    agreement.propose(jo, proposal_id, (change,), "Weekly is a lot.", DUE)
    agreement.accept(mina, proposal_id, DUE)

    assert agreement.due_reviews == {}
    assert agreement.revisit_dates == {clause_id: date(2025, 12, 1)}
    assert then(agreement)[-1] == (
        Agreement.DatesScheduled, {"revisits": (Revisit(clause_id, date(2025, 12, 1)),), "until": None}
    )
    with pytest.raises(NotDue):
        agreement.reaffirm(jo, clause_id, 2, None, DUE)


def test_a_change_of_parties_restarts_reaffirmation(mina, jo, sam):
    agreement, clause_id = due_for_review(mina, jo, sam)
    agreement.reaffirm(mina, clause_id, 1, None, DUE)
    agreement.leave(sam, DUE)
    assert agreement.due_reviews == {}

    # Ratified afresh by those who remain, the passed date falls due again: nobody's earlier word carries over.
    ratify(agreement, mina, jo, now=DUE)
    agreement.collect_events()
    agreement.fall_due(DUE)
    assert then(agreement) == [(Agreement.ReviewDue, {"clause_id": clause_id, "revisit_on": REVISIT})]
    assert agreement.due_reviews[clause_id].reaffirmed_by == set()


# A temporary agreement lapses


def test_a_temporary_agreement_lapses_at_its_end_date(mina, jo):
    agreement, clause_id = drafting(mina, jo)
    agreement.set_end_date(mina, END, NOW)
    ratify(agreement, mina, jo)
    agreement.collect_events()
    end = datetime(2025, 9, 1, tzinfo=UTC)

    with pytest.raises(NothingDue):
        agreement.fall_due(end - timedelta(microseconds=1))
    agreement.fall_due(end)

    assert then(agreement) == [(Agreement.Lapsed, {"until": END})]
    assert agreement.status == "lapsed" and agreement.in_force_version is None
    with pytest.raises(NothingDue):
        agreement.fall_due(end + timedelta(days=1))


def test_a_lapsed_agreement_is_renewed_by_consent_to_a_new_end_date(mina, jo):
    agreement, _ = drafting(mina, jo)
    agreement.set_end_date(mina, END, NOW)
    ratify(agreement, mina, jo)
    after = datetime(2025, 9, 2, tzinfo=UTC)
    agreement.fall_due(after)

    # Consent to a version that would lapse at once is refused.
    with pytest.raises(ValidationFailed) as error:
        agreement.consent(mina, agreement.content_version, after)
    assert error.value.field == "until"

    agreement.set_end_date(jo, None, after)
    ratify(agreement, mina, jo, now=after)
    assert agreement.status == "in_force" and agreement.end_date is None


# A renegotiation changes the end date


def test_a_renegotiation_extends_a_temporary_agreement(mina, jo):
    agreement, _ = drafting(mina, jo)
    agreement.set_end_date(mina, END, NOW)
    ratify(agreement, mina, jo)
    agreement.collect_events()
    longer = EndDateChange(date(2026, 3, 1))
    proposal_id = uuid4()

    agreement.propose(jo, proposal_id, (), "One more season.", NOW, end_date=longer)
    agreement.accept(mina, proposal_id, NOW)

    assert agreement.end_date == date(2026, 3, 1) and agreement.status == "in_force"
    assert then(agreement)[-1] == (Agreement.DatesScheduled, {"revisits": (), "until": date(2026, 3, 1)})


def test_a_renegotiation_changes_something(mina, jo):
    agreement, _ = drafting(mina, jo)
    agreement.set_end_date(mina, END, NOW)
    ratify(agreement, mina, jo)
    with pytest.raises(ValidationFailed) as error:
        agreement.propose(jo, uuid4(), (), "Nothing.", NOW)
    assert error.value.field == "changes"
    with pytest.raises(ValidationFailed) as error:
        agreement.propose(jo, uuid4(), (), "The same.", NOW, end_date=EndDateChange(END))
    assert error.value.field == "end_date.until"
