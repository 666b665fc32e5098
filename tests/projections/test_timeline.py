"""The timeline, specified as: given an agreement's events folded in order, then these entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from domain.agreement import Agreement, Clause, ClauseChange
from projections.timeline import (
    HANDLED_EVENTS,
    TOPICS,
    Timeline,
    agreement_at,
    evolve,
    in_force,
)

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """Each command happens a minute after the last, so entries have distinct times."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def fold(events: Iterable[object], state: Timeline | None = None) -> Timeline:
    state = state or Timeline()
    for event in events:
        state = evolve(state, event, state.position + 1)
    return state


@pytest.fixture
def people() -> tuple[UUID, UUID, UUID]:
    return uuid4(), uuid4(), uuid4()


def test_a_drafted_and_ratified_agreement(people):
    mina, jo, _ = people
    now = Clock()
    agreement = Agreement.create("Us", mina, now())
    agreement.invite(mina, jo, now())
    agreement.accept_invitation(jo, now())
    clause_id = uuid4()
    agreement.add_clause(mina, clause_id, "safer_sex", "Condoms with others.", now())
    agreement.edit_clause(jo, clause_id, "Condoms with everyone else.", 1, now())
    agreement.consent(mina, 2, now())
    agreement.consent(jo, 2, now())

    state = fold(agreement.collect_events())

    assert [(e.kind, e.actor, e.version) for e in state.entries] == [
        ("drafted", mina, 0),
        ("invited", mina, 0),
        ("joined", jo, 0),
        ("clause_added", mina, 1),
        ("clause_edited", jo, 2),
        ("consented", mina, 2),
        ("consented", jo, 2),
        ("ratified", None, 2),
    ]
    assert [e.position for e in state.entries] == list(range(1, 9))
    assert state.entries[0].at == START + timedelta(minutes=1)
    assert state.entries[1].subject == jo
    edited = state.entries[4]
    assert (edited.clause_ids, edited.topics) == ((clause_id,), ("safer_sex",))
    assert (state.agreement_id, state.title, state.position) == (agreement.id, "Us", 8)


def test_the_content_of_every_version_is_kept(people):
    mina, _, _ = people
    now = Clock()
    agreement = Agreement.create("Us", mina, now())
    first, second = uuid4(), uuid4()
    agreement.add_clause(mina, first, "boundaries", "Ask first.", now())
    agreement.add_clause(mina, second, "other", "Be kind.", now())
    agreement.edit_clause(mina, first, "Always ask first.", 1, now())
    agreement.remove_clause(mina, second, 1, now())

    state = fold(agreement.collect_events())

    assert agreement_at(state, 0) == {}
    assert agreement_at(state, 2) == {
        first: Clause(first, "boundaries", "Ask first.", 1),
        second: Clause(second, "other", "Be kind.", 1),
    }
    assert agreement_at(state, 3)[first] == Clause(first, "boundaries", "Always ask first.", 2)
    assert agreement_at(state, 4) == {first: Clause(first, "boundaries", "Always ask first.", 2)}
    assert agreement_at(state, 5) is None
    assert agreement_at(state, 4) == agreement.clauses


def test_a_renegotiation_from_proposal_to_adoption(people):
    mina, jo, _ = people
    now = Clock()
    agreement = Agreement.create("Us", mina, now())
    agreement.invite(mina, jo, now())
    agreement.accept_invitation(jo, now())
    clause_id, added = uuid4(), uuid4()
    agreement.add_clause(mina, clause_id, "scheduling", "Fridays are ours.", now())
    agreement.consent(mina, 1, now())
    agreement.consent(jo, 1, now())
    given = fold(agreement.collect_events())
    proposal_id = uuid4()
    changes = (
        ClauseChange("edit", clause_id, text="Fridays and Sundays are ours."),
        ClauseChange("add", added, topic="check_ins", text="Monthly check-ins."),
    )
    agreement.propose(jo, proposal_id, changes, "I miss you.", now())
    agreement.comment(mina, proposal_id, uuid4(), "Me too.", now())
    agreement.accept(mina, proposal_id, now())

    state = fold(agreement.collect_events(), given)

    new_entries = state.entries[len(given.entries):]
    assert [e.kind for e in new_entries] == [
        "proposed", "commented", "accepted", "adopted", "ratified"
    ]
    assert all(e.proposal_id == proposal_id for e in new_entries[:4])
    assert new_entries[0].text == "I miss you."
    assert new_entries[0].clause_ids == (clause_id, added)
    assert new_entries[0].topics == ("scheduling", "check_ins")
    assert new_entries[1].text == "Me too."
    assert (new_entries[3].version, state.in_force_version) == (2, 2)
    assert in_force(state) == agreement.clauses
    before = Clause(clause_id, "scheduling", "Fridays are ours.")
    assert agreement_at(state, 1) == {clause_id: before}


def test_a_change_of_parties_ends_the_version_in_force(people):
    mina, jo, sam = people
    now = Clock()
    agreement = Agreement.create("Us", mina, now())
    agreement.invite(mina, jo, now())
    agreement.accept_invitation(jo, now())
    agreement.add_clause(mina, uuid4(), "privacy", "No photos.", now())
    agreement.consent(mina, 1, now())
    agreement.consent(jo, 1, now())
    agreement.invite(mina, sam, now())
    ratified = fold(agreement.collect_events())
    assert ratified.in_force_version == 1

    agreement.accept_invitation(sam, now())
    state = fold(agreement.collect_events(), ratified)

    assert state.entries[-1].kind == "joined"
    assert (state.in_force_version, in_force(state)) == (None, None)


def test_declines_withdrawals_leaving_and_repair_notes(people):
    mina, jo, sam = people
    now = Clock()
    agreement = Agreement.create("Us", mina, now())
    for person in (jo, sam):
        agreement.invite(mina, person, now())
    agreement.accept_invitation(jo, now())
    agreement.decline_invitation(sam, now())
    clause_id = uuid4()
    agreement.add_clause(mina, clause_id, "metamour_contact", "Say hi.", now())
    agreement.consent(mina, 1, now())
    agreement.withdraw_consent(mina, now())
    agreement.consent(mina, 1, now())
    agreement.consent(jo, 1, now())
    declined, withdrawn, note_id = uuid4(), uuid4(), uuid4()
    change = (ClauseChange("remove", clause_id),)
    agreement.propose(jo, declined, change, "Awkward.", now())
    agreement.decline(mina, declined, "I like it.", now())
    agreement.propose(jo, withdrawn, change, "Still awkward.", now())
    agreement.withdraw(jo, withdrawn, now())
    agreement.write_repair_note(jo, note_id, clause_id, "I ignored her.", "Hurt.", "Say hi.", now())
    agreement.acknowledge_repair_note(mina, note_id, now())
    agreement.link_repair_note(jo, note_id, withdrawn, now())
    agreement.leave(jo, now())

    state = fold(agreement.collect_events())

    kinds = [e.kind for e in state.entries]
    assert kinds[3:] == [
        "joined", "declined_invitation", "clause_added", "consented", "consent_withdrawn",
        "consented", "consented", "ratified", "proposed", "declined", "proposed", "withdrawn",
        "repair_note", "acknowledged", "repair_note_linked", "left",
    ]
    by_kind = {e.kind: e for e in state.entries}
    assert by_kind["declined"].text == "I like it."
    assert by_kind["repair_note"].text == "I ignored her."
    for kind in ("repair_note", "acknowledged", "repair_note_linked"):
        assert (by_kind[kind].note_id, by_kind[kind].clause_ids) == (note_id, (clause_id,))
        assert by_kind[kind].topics == ("metamour_contact",)
    assert by_kind["repair_note_linked"].proposal_id == withdrawn
    assert state.in_force_version is None


def test_folding_leaves_earlier_states_untouched(people):
    mina, _, _ = people
    agreement = Agreement.create("Us", mina, START)
    created = fold(agreement.collect_events())
    snapshot = msgspec.json.encode(created)
    agreement.add_clause(mina, uuid4(), "other", "Be kind.", START)

    fold(agreement.collect_events(), created)

    assert msgspec.json.encode(created) == snapshot


def test_the_state_round_trips_through_msgspec(people):
    mina, _, _ = people
    agreement = Agreement.create("Us", mina, START)
    agreement.add_clause(mina, uuid4(), "other", "Be kind.", START)
    state = fold(agreement.collect_events())

    assert msgspec.json.decode(msgspec.json.encode(state), type=Timeline) == state


def test_other_events_are_ignored():
    state = Timeline()

    assert evolve(state, object(), 7) is state


def test_it_handles_every_agreement_event_and_declares_their_topics():
    nested = (v for v in vars(Agreement).values() if isinstance(v, type))
    defined = {cls for cls in nested if issubclass(cls, Agreement.Event)} - {Agreement.Event}

    assert set(HANDLED_EVENTS) == defined
    assert "domain.agreement:Agreement.ClauseEdited" in TOPICS
    assert len(TOPICS) == len(HANDLED_EVENTS)
