"""The agreement as a specification: given commands, when one more, then events or an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.agreement import (
    MAX_CLAUSE_TEXT,
    MAX_CLAUSES,
    MAX_PARTIES,
    Agreement,
    ClauseChange,
    EndDateChange,
)
from domain.errors import (
    AlreadyDone,
    AlreadyExists,
    AlreadyInvolved,
    DomainError,
    InForce,
    NotAParty,
    NotConsented,
    NotFound,
    NotInForce,
    NotInvited,
    NotTheAuthor,
    OwnRepairNote,
    ProposalClosed,
    ProposalOutOfDate,
    StaleRevision,
    StaleVersion,
    ValidationFailed,
)
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


def drafting(*people: UUID) -> Agreement:
    """Given an agreement created by the first person and joined by the others."""
    agreement = Agreement.create("Mina, Jo and Sam", people[0], NOW)
    for person in people[1:]:
        agreement.invite(people[0], person, NOW)
        agreement.accept_invitation(person, NOW)
    agreement.collect_events()
    return agreement


CLAUSE_TEXT = "We use condoms with others."


def with_clause(agreement: Agreement, by: UUID, text: str = CLAUSE_TEXT) -> UUID:
    clause_id = uuid4()
    agreement.add_clause(by, clause_id, "safer_sex", text, NOW)
    agreement.collect_events()
    return clause_id


def in_force(*people: UUID) -> tuple[Agreement, UUID]:
    """Given an agreement with one clause, consented to by everyone."""
    agreement = drafting(*people)
    clause_id = with_clause(agreement, people[0])
    for person in people:
        agreement.consent(person, agreement.content_version, NOW)
    agreement.collect_events()
    assert agreement.status == "in_force"
    return agreement, clause_id


def proposed(agreement: Agreement, by: UUID, clause_id: UUID, text: str) -> UUID:
    proposal_id = uuid4()
    change = ClauseChange("edit", clause_id, text=text)
    agreement.propose(by, proposal_id, (change,), "Needs have changed.", NOW)
    agreement.collect_events()
    return proposal_id


# Creation


def test_the_creator_is_the_first_party(mina):
    agreement = Agreement.create("Us", mina, NOW)

    events = agreement.collect_events()
    assert [type(e) for e in events] == [Agreement.Created]
    assert events[0].timestamp == NOW
    assert (events[0].title, events[0].creator) == ("Us", mina)
    assert agreement.parties == [mina]
    assert (agreement.status, agreement.content_version) == ("drafting", 0)


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_title_has_1_to_200_characters(mina, title):
    with pytest.raises(ValidationFailed) as error:
        Agreement.create(title, mina, NOW)
    assert error.value.field == "title"


# Parties


def test_a_party_invites_someone(mina, jo):
    agreement = drafting(mina)

    agreement.invite(mina, jo, LATER)

    assert then(agreement) == [(Agreement.PartyInvited, {"by": mina, "invitee": jo, "handle": ""})]
    assert agreement.invitees == [jo]


def test_only_a_party_may_invite(mina, jo, sam):
    agreement = drafting(mina)

    with pytest.raises(NotAParty) as error:
        agreement.invite(jo, sam, NOW)
    assert (error.value.agreement_id, error.value.person_id) == (agreement.id, jo)


def test_nobody_is_invited_twice_or_while_a_party(mina, jo):
    agreement = drafting(mina)
    agreement.invite(mina, jo, NOW)

    with pytest.raises(AlreadyInvolved):
        agreement.invite(mina, jo, NOW)
    with pytest.raises(AlreadyInvolved):
        agreement.invite(mina, mina, NOW)


def test_an_invitee_who_accepts_becomes_a_party(mina, jo):
    agreement = drafting(mina)
    agreement.invite(mina, jo, NOW)
    agreement.collect_events()

    agreement.accept_invitation(jo, LATER)

    assert then(agreement) == [(Agreement.InvitationAccepted, {"by": jo})]
    assert (agreement.parties, agreement.invitees) == ([mina, jo], [])


def test_only_an_invitee_may_accept(mina, jo):
    agreement = drafting(mina)

    with pytest.raises(NotInvited) as error:
        agreement.accept_invitation(jo, NOW)
    assert error.value.person_id == jo


def test_an_invitee_may_decline(mina, jo):
    agreement = drafting(mina)
    agreement.invite(mina, jo, NOW)
    agreement.collect_events()

    agreement.decline_invitation(jo, LATER)

    assert then(agreement) == [(Agreement.InvitationDeclined, {"by": jo})]
    assert (agreement.parties, agreement.invitees) == ([mina], [])


def test_parties_and_open_invitations_are_limited(mina):
    agreement = drafting(mina)
    for _ in range(MAX_PARTIES - 1):
        agreement.invite(mina, uuid4(), NOW)

    with pytest.raises(ValidationFailed) as error:
        agreement.invite(mina, uuid4(), NOW)
    assert error.value.field == "invitee"


def test_a_party_may_leave(mina, jo):
    agreement = drafting(mina, jo)

    agreement.leave(jo, LATER)

    assert then(agreement) == [(Agreement.PartyLeft, {"by": jo})]
    assert agreement.parties == [mina]


def test_when_the_last_party_leaves_the_agreement_is_closed(mina, jo):
    agreement = drafting(mina)
    agreement.invite(mina, jo, NOW)

    agreement.leave(mina, LATER)

    assert agreement.status == "closed"
    with pytest.raises(NotInvited):
        agreement.accept_invitation(jo, LATER)


def test_a_change_of_parties_clears_consents(mina, jo, sam):
    agreement = drafting(mina, jo)
    with_clause(agreement, mina)
    agreement.consent(mina, 1, NOW)
    agreement.invite(mina, sam, NOW)

    agreement.accept_invitation(sam, LATER)

    assert agreement.consents == set()


def test_a_change_of_parties_ends_the_version_in_force(mina, jo, sam):
    agreement, clause_id = in_force(mina, jo, sam)
    proposal_id = proposed(agreement, mina, clause_id, "We use condoms with everyone.")

    agreement.leave(sam, LATER)

    assert (agreement.status, agreement.in_force_version) == ("drafting", None)
    assert agreement.consents == set()
    assert list(agreement.clauses) == [clause_id]
    assert agreement.proposals[proposal_id].status == "out_of_date"
    # Those who remain consent afresh to the same content.
    agreement.consent(mina, 1, LATER)
    agreement.consent(jo, 1, LATER)
    assert [t for t, _ in then(agreement)][-1] is Agreement.Ratified


# Drafting clauses


def test_a_party_adds_a_clause(mina):
    agreement = drafting(mina)
    clause_id = uuid4()

    agreement.add_clause(mina, clause_id, "boundaries", "No sleepovers on weeknights.", LATER)

    assert then(agreement) == [
        (
            Agreement.ClauseAdded,
            {
                "by": mina,
                "clause_id": clause_id,
                "topic": "boundaries",
                "text": "No sleepovers on weeknights.",
                "version": 1,
            },
        )
    ]
    assert agreement.clauses[clause_id].revision == 1


@pytest.mark.parametrize(
    ("topic", "text", "field"),
    [
        ("Jealousy", "Talk first.", "topic"),  # a topic of one's own is a key: lowercase words joined by _
        ("boundaries", "", "text"),
        ("boundaries", " \n", "text"),
        ("boundaries", "x" * (MAX_CLAUSE_TEXT + 1), "text"),
    ],
)
def test_a_clause_has_a_known_topic_and_1_to_5000_characters(mina, topic, text, field):
    agreement = drafting(mina)

    with pytest.raises(ValidationFailed) as error:
        agreement.add_clause(mina, uuid4(), topic, text, NOW)
    assert error.value.field == field
    assert then(agreement) == []


def test_an_agreement_has_at_most_50_clauses(mina):
    agreement = drafting(mina)
    for _ in range(MAX_CLAUSES):
        agreement.add_clause(mina, uuid4(), "other", "Be kind.", NOW)

    with pytest.raises(ValidationFailed) as error:
        agreement.add_clause(mina, uuid4(), "other", "Be kind.", NOW)
    assert error.value.field == "clauses"


def test_clause_ids_are_never_reused(mina):
    agreement = drafting(mina)
    clause_id = with_clause(agreement, mina)
    agreement.remove_clause(mina, clause_id, 1, NOW)

    with pytest.raises(AlreadyExists) as error:
        agreement.add_clause(mina, clause_id, "other", "Again.", NOW)
    assert error.value.thing_id == clause_id


def test_an_edit_raises_the_revision_and_the_version(mina, jo):
    agreement = drafting(mina, jo)
    clause_id = with_clause(agreement, mina)

    agreement.edit_clause(jo, clause_id, "We use condoms with new partners.", 1, LATER)

    assert then(agreement) == [
        (
            Agreement.ClauseEdited,
            {
                "by": jo,
                "clause_id": clause_id,
                "text": "We use condoms with new partners.",
                "revision": 2,
                "version": 2,
            },
        )
    ]


def test_an_edit_based_on_a_stale_revision_gets_the_current_text(mina, jo):
    agreement = drafting(mina, jo)
    clause_id = with_clause(agreement, mina)
    agreement.edit_clause(jo, clause_id, "Jo's words.", 1, NOW)
    agreement.collect_events()

    with pytest.raises(StaleRevision) as error:
        agreement.edit_clause(mina, clause_id, "Mina's words.", 1, LATER)

    assert error.value.clause_id == clause_id
    assert (error.value.current_revision, error.value.current_text) == (2, "Jo's words.")
    assert error.value.code == "stale_revision"
    assert then(agreement) == []


def test_an_edit_must_change_the_text(mina):
    agreement = drafting(mina)
    clause_id = with_clause(agreement, mina, "Same.")

    with pytest.raises(ValidationFailed):
        agreement.edit_clause(mina, clause_id, "Same.", 1, NOW)


def test_editing_an_unknown_clause_is_not_found(mina):
    agreement = drafting(mina)
    clause_id = uuid4()

    with pytest.raises(NotFound) as error:
        agreement.edit_clause(mina, clause_id, "Text.", 1, NOW)
    assert (error.value.thing, error.value.thing_id) == ("clause", clause_id)


def test_a_party_removes_a_clause(mina):
    agreement = drafting(mina)
    clause_id = with_clause(agreement, mina)

    agreement.remove_clause(mina, clause_id, 1, LATER)

    assert then(agreement) == [
        (Agreement.ClauseRemoved, {"by": mina, "clause_id": clause_id, "version": 2})
    ]
    assert agreement.clauses == {}


def test_removing_based_on_a_stale_revision_is_refused(mina):
    agreement = drafting(mina)
    clause_id = with_clause(agreement, mina)
    agreement.edit_clause(mina, clause_id, "Changed.", 1, NOW)

    with pytest.raises(StaleRevision) as error:
        agreement.remove_clause(mina, clause_id, 1, LATER)
    assert error.value.current_text == "Changed."


def test_clauses_in_force_change_only_by_renegotiation(mina, jo):
    agreement, clause_id = in_force(mina, jo)

    with pytest.raises(InForce) as error:
        agreement.edit_clause(mina, clause_id, "New.", 1, LATER)
    assert "renegotiation" in str(error.value)
    with pytest.raises(InForce):
        agreement.add_clause(mina, uuid4(), "other", "New.", LATER)
    with pytest.raises(InForce):
        agreement.remove_clause(mina, clause_id, 1, LATER)


# Consent and ratification


def test_consent_is_to_the_current_version_only(mina, jo):
    agreement = drafting(mina, jo)
    clause_id = with_clause(agreement, mina)
    agreement.edit_clause(mina, clause_id, "Changed.", 1, NOW)

    with pytest.raises(StaleVersion) as error:
        agreement.consent(jo, 1, LATER)
    assert (error.value.version, error.value.current_version) == (1, 2)


def test_a_party_consents(mina, jo):
    agreement = drafting(mina, jo)
    with_clause(agreement, mina)

    agreement.consent(mina, 1, LATER)

    assert then(agreement) == [(Agreement.Consented, {"by": mina, "version": 1})]


def test_consent_counts_once(mina, jo):
    agreement = drafting(mina, jo)
    with_clause(agreement, mina)
    agreement.consent(mina, 1, NOW)

    with pytest.raises(AlreadyDone):
        agreement.consent(mina, 1, LATER)


def test_a_change_of_content_drops_every_consent(mina, jo):
    agreement = drafting(mina, jo)
    clause_id = with_clause(agreement, mina)
    agreement.consent(mina, 1, NOW)

    agreement.edit_clause(jo, clause_id, "Changed.", 1, LATER)

    assert agreement.consents == set()


def test_when_every_party_has_consented_the_version_is_ratified(mina, jo):
    agreement = drafting(mina, jo)
    with_clause(agreement, mina)
    agreement.consent(mina, 1, NOW)
    agreement.collect_events()

    agreement.consent(jo, 1, LATER)

    assert then(agreement) == [
        (Agreement.Consented, {"by": jo, "version": 1}),
        (Agreement.Ratified, {"version": 1}),
    ]
    assert (agreement.status, agreement.in_force_version) == ("in_force", 1)


def test_one_person_alone_cannot_ratify(mina):
    agreement = drafting(mina)
    with_clause(agreement, mina)

    agreement.consent(mina, 1, LATER)

    assert [t for t, _ in then(agreement)] == [Agreement.Consented]
    assert agreement.status == "drafting"


def test_consent_may_be_withdrawn_before_ratification(mina, jo):
    agreement = drafting(mina, jo)
    with_clause(agreement, mina)
    agreement.consent(mina, 1, NOW)
    agreement.collect_events()

    agreement.withdraw_consent(mina, LATER)

    assert then(agreement) == [(Agreement.ConsentWithdrawn, {"by": mina, "version": 1})]
    with pytest.raises(NotConsented):
        agreement.withdraw_consent(mina, LATER)


def test_consent_to_the_version_in_force_is_not_withdrawn(mina, jo):
    agreement, _ = in_force(mina, jo)

    with pytest.raises(InForce):
        agreement.withdraw_consent(jo, LATER)


# Renegotiation


def test_renegotiation_needs_a_version_in_force(mina, jo):
    agreement = drafting(mina, jo)
    clause_id = with_clause(agreement, mina)

    with pytest.raises(NotInForce):
        proposed(agreement, mina, clause_id, "New.")


def test_a_proposal_records_its_base_version_and_its_proposer_accepts(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    proposal_id = uuid4()
    changes = (
        ClauseChange("edit", clause_id, text="We use condoms with everyone."),
        ClauseChange("add", uuid4(), topic="check_ins", text="Sunday check-ins."),
    )

    agreement.propose(jo, proposal_id, changes, "I started seeing someone.", LATER)

    assert then(agreement) == [
        (
            Agreement.Proposed,
            {
                "by": jo,
                "proposal_id": proposal_id,
                "base_version": 1,
                "changes": changes,
                "reason": "I started seeing someone.",
                "check_in_id": None,
                "end_date": None,
            },
        )
    ]
    assert agreement.proposals[proposal_id].accepted_by == {jo}


@pytest.mark.parametrize(
    ("make_changes", "field"),
    [
        (lambda c: (), "changes"),
        (lambda c: (ClauseChange("edit", c, topic="other", text="New."),), "changes[0].topic"),
        (lambda c: (ClauseChange("edit", c, text=CLAUSE_TEXT),), "changes[0].text"),
        (lambda c: (ClauseChange("edit", c),), "changes[0].text"),
        (lambda c: (ClauseChange("remove", c, text="x"),), "changes[0].text"),
        (lambda c: (ClauseChange("add", uuid4(), topic="no pe", text="x"),), "changes[0].topic"),
        (
            lambda c: (ClauseChange("edit", c, text="A."), ClauseChange("remove", c)),
            "changes[1].clause_id",
        ),
    ],
)
def test_proposed_changes_are_validated(mina, jo, make_changes, field):
    agreement, clause_id = in_force(mina, jo)

    with pytest.raises(ValidationFailed) as error:
        agreement.propose(mina, uuid4(), make_changes(clause_id), "Because.", LATER)
    assert error.value.field == field


def test_a_proposal_to_change_an_unknown_clause_is_not_found(mina, jo):
    agreement, _ = in_force(mina, jo)
    unknown = uuid4()

    with pytest.raises(NotFound) as error:
        agreement.propose(mina, uuid4(), (ClauseChange("remove", unknown),), "Why.", LATER)
    assert error.value.thing_id == unknown


def test_a_party_comments_on_a_proposal(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    proposal_id = proposed(agreement, mina, clause_id, "New.")
    comment_id = uuid4()

    agreement.comment(jo, proposal_id, comment_id, "Can we talk first?", LATER)

    assert then(agreement) == [
        (
            Agreement.Commented,
            {"by": jo, "proposal_id": proposal_id, "comment_id": comment_id,
             "text": "Can we talk first?"},
        )
    ]
    assert agreement.proposals[proposal_id].comments[0].written_at == LATER


def test_accepted_by_everyone_a_proposal_is_adopted_and_in_force(mina, jo, sam):
    agreement, clause_id = in_force(mina, jo, sam)
    proposal_id = proposed(agreement, mina, clause_id, "We use condoms with everyone.")
    agreement.accept(jo, proposal_id, NOW)
    assert [t for t, _ in then(agreement)] == [Agreement.ProposalAccepted]

    agreement.accept(sam, proposal_id, LATER)

    assert then(agreement) == [
        (Agreement.ProposalAccepted, {"by": sam, "proposal_id": proposal_id}),
        (Agreement.ProposalAdopted, {"proposal_id": proposal_id, "version": 2}),
        (Agreement.Ratified, {"version": 2}),
    ]
    clause = agreement.clauses[clause_id]
    assert (clause.text, clause.revision) == ("We use condoms with everyone.", 2)
    assert (agreement.in_force_version, agreement.consents) == (2, {mina, jo, sam})


def test_acceptance_counts_once(mina, jo, sam):
    agreement, clause_id = in_force(mina, jo, sam)
    proposal_id = proposed(agreement, mina, clause_id, "New.")

    with pytest.raises(AlreadyDone):
        agreement.accept(mina, proposal_id, LATER)


def test_a_proposal_made_before_another_was_adopted_is_out_of_date(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    first = proposed(agreement, mina, clause_id, "First idea.")
    second = proposed(agreement, mina, clause_id, "Second idea.")
    agreement.accept(jo, first, NOW)

    with pytest.raises(ProposalOutOfDate) as error:
        agreement.accept(jo, second, LATER)
    assert (error.value.proposal_id, error.value.base_version) == (second, 1)
    assert agreement.proposals[second].is_out_of_date


def test_declining_closes_a_proposal(mina, jo, sam):
    agreement, clause_id = in_force(mina, jo, sam)
    proposal_id = proposed(agreement, mina, clause_id, "New.")

    agreement.decline(jo, proposal_id, "Not ready for that.", LATER)

    assert then(agreement) == [
        (Agreement.ProposalDeclined,
         {"by": jo, "proposal_id": proposal_id, "reason": "Not ready for that."})
    ]
    with pytest.raises(ProposalClosed) as error:
        agreement.accept(sam, proposal_id, LATER)
    assert error.value.status == "declined"
    assert agreement.clauses[clause_id].text == CLAUSE_TEXT


def test_only_the_proposer_may_withdraw(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    proposal_id = proposed(agreement, mina, clause_id, "New.")

    with pytest.raises(NotTheAuthor) as error:
        agreement.withdraw(jo, proposal_id, LATER)
    assert (error.value.thing_id, error.value.person_id) == (proposal_id, jo)

    agreement.withdraw(mina, proposal_id, LATER)
    assert then(agreement) == [
        (Agreement.ProposalWithdrawn, {"by": mina, "proposal_id": proposal_id})
    ]


# Repair notes


def test_a_party_writes_a_repair_note_about_a_clause(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    note_id = uuid4()

    agreement.write_repair_note(
        jo, note_id, clause_id, "I forgot.", "Mina felt unsafe.", "Carry condoms.", LATER
    )

    assert then(agreement) == [
        (
            Agreement.RepairNoteWritten,
            {
                "by": jo,
                "note_id": note_id,
                "clause_id": clause_id,
                "what_happened": "I forgot.",
                "impact": "Mina felt unsafe.",
                "intentions": "Carry condoms.",
            },
        )
    ]


def test_a_repair_note_is_about_an_existing_clause(mina, jo):
    agreement, _ = in_force(mina, jo)

    with pytest.raises(NotFound):
        agreement.write_repair_note(jo, uuid4(), uuid4(), "a", "b", "c", LATER)


def test_each_part_of_a_repair_note_is_required(mina, jo):
    agreement, clause_id = in_force(mina, jo)

    with pytest.raises(ValidationFailed) as error:
        agreement.write_repair_note(jo, uuid4(), clause_id, "I forgot.", "", "Do better.", LATER)
    assert error.value.field == "impact"


def test_others_acknowledge_a_repair_note_once_each(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    note_id = uuid4()
    agreement.write_repair_note(jo, note_id, clause_id, "a", "b", "c", NOW)
    agreement.collect_events()

    with pytest.raises(OwnRepairNote):
        agreement.acknowledge_repair_note(jo, note_id, LATER)
    agreement.acknowledge_repair_note(mina, note_id, LATER)
    assert then(agreement) == [
        (Agreement.RepairNoteAcknowledged, {"by": mina, "note_id": note_id})
    ]
    with pytest.raises(AlreadyDone):
        agreement.acknowledge_repair_note(mina, note_id, LATER)


def test_the_author_links_a_repair_note_to_the_renegotiation_it_led_to(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    note_id = uuid4()
    agreement.write_repair_note(jo, note_id, clause_id, "a", "b", "c", NOW)
    proposal_id = proposed(agreement, jo, clause_id, "New.")

    with pytest.raises(NotTheAuthor):
        agreement.link_repair_note(mina, note_id, proposal_id, LATER)
    with pytest.raises(NotFound):
        agreement.link_repair_note(jo, note_id, uuid4(), LATER)
    agreement.link_repair_note(jo, note_id, proposal_id, LATER)

    assert then(agreement) == [
        (Agreement.RepairNoteLinked, {"by": jo, "note_id": note_id, "proposal_id": proposal_id})
    ]
    assert agreement.repair_notes[note_id].linked_proposals == [proposal_id]


# Every command


COMMANDS_BY = {
    "invite": lambda a, p, ids: a.invite(p, uuid4(), LATER),
    "leave": lambda a, p, ids: a.leave(p, LATER),
    "add_clause": lambda a, p, ids: a.add_clause(p, uuid4(), "other", "x", LATER),
    "edit_clause": lambda a, p, ids: a.edit_clause(p, ids["clause"], "x", 1, LATER),
    "remove_clause": lambda a, p, ids: a.remove_clause(p, ids["clause"], 1, LATER),
    "consent": lambda a, p, ids: a.consent(p, a.content_version, LATER),
    "withdraw_consent": lambda a, p, ids: a.withdraw_consent(p, LATER),
    "propose": lambda a, p, ids: a.propose(
        p, uuid4(), (ClauseChange("remove", ids["clause"]),), "x", LATER
    ),
    "comment": lambda a, p, ids: a.comment(p, ids["proposal"], uuid4(), "x", LATER),
    "accept": lambda a, p, ids: a.accept(p, ids["proposal"], LATER),
    "decline": lambda a, p, ids: a.decline(p, ids["proposal"], "x", LATER),
    "withdraw": lambda a, p, ids: a.withdraw(p, ids["proposal"], LATER),
    "write_repair_note": lambda a, p, ids: a.write_repair_note(
        p, uuid4(), ids["clause"], "a", "b", "c", LATER
    ),
    "acknowledge_repair_note": lambda a, p, ids: a.acknowledge_repair_note(p, ids["note"], LATER),
    "link_repair_note": lambda a, p, ids: a.link_repair_note(
        p, ids["note"], ids["proposal"], LATER
    ),
}


@pytest.mark.parametrize("command", COMMANDS_BY.values(), ids=COMMANDS_BY.keys())
def test_only_a_party_may_act(mina, jo, command):
    agreement, clause_id = in_force(mina, jo)
    note_id = uuid4()
    agreement.write_repair_note(mina, note_id, clause_id, "a", "b", "c", NOW)
    proposal_id = proposed(agreement, mina, clause_id, "x")
    ids = {"clause": clause_id, "proposal": proposal_id, "note": note_id}
    outsider = uuid4()

    with pytest.raises(NotAParty) as error:
        command(agreement, outsider, ids)
    assert error.value.person_id == outsider
    assert then(agreement) == []


def test_every_error_has_its_own_code():
    def family(cls: type[DomainError]) -> list[type[DomainError]]:
        return [cls] + [c for sub in cls.__subclasses__() for c in family(sub)]

    codes = [cls.code for cls in family(DomainError)]
    assert len(codes) > 10
    assert len(set(codes)) == len(codes)


# Events as stored


def event_classes() -> set[type]:
    nested = (v for v in vars(Agreement).values() if isinstance(v, type))
    return {cls for cls in nested if issubclass(cls, Agreement.Event)} - {Agreement.Event}


def every_event(mina: UUID, jo: UUID, sam: UUID) -> list[Agreement.Event]:
    agreement = Agreement.create("All of it", mina, NOW)
    agreement.invite(mina, jo, NOW)
    agreement.accept_invitation(jo, NOW)
    agreement.invite(mina, sam, NOW)
    agreement.decline_invitation(sam, NOW)
    clause_id, gone = uuid4(), uuid4()
    agreement.add_clause(mina, clause_id, "privacy", "No photos.", NOW)
    agreement.add_clause(mina, gone, "other", "Temporary.", NOW)
    agreement.edit_clause(jo, clause_id, "No photos online.", 1, NOW)
    agreement.remove_clause(jo, gone, 1, NOW)
    agreement.consent(mina, 4, NOW)
    agreement.withdraw_consent(mina, NOW)
    agreement.consent(mina, 4, NOW)
    agreement.consent(jo, 4, NOW)
    proposal_id, withdrawn, declined, note_id = uuid4(), uuid4(), uuid4(), uuid4()
    change = (ClauseChange("add", uuid4(), topic="scheduling", text="Tuesdays are ours."),)
    agreement.propose(jo, withdrawn, change, "Maybe.", NOW)
    agreement.withdraw(jo, withdrawn, NOW)
    agreement.propose(jo, declined, change, "Maybe.", NOW)
    agreement.decline(mina, declined, "No.", NOW)
    agreement.propose(mina, proposal_id, change, "Time together.", NOW)
    agreement.comment(jo, proposal_id, uuid4(), "Yes!", NOW)
    agreement.write_repair_note(jo, note_id, clause_id, "a", "b", "c", NOW)
    agreement.acknowledge_repair_note(mina, note_id, NOW)
    agreement.link_repair_note(jo, note_id, proposal_id, NOW)
    agreement.accept(jo, proposal_id, NOW)
    agreement.leave(jo, NOW)
    draft = Agreement.create("Dropped", mina, NOW)
    draft.invite(mina, jo, NOW)
    draft.accept_invitation(jo, NOW)
    draft.ask_to_discard(mina, NOW)
    draft.withdraw_discard(mina, NOW)
    draft.ask_to_discard(mina, NOW)
    draft.ask_to_discard(jo, NOW)
    return [*agreement.collect_events(), *draft.collect_events(), *revisited(mina, jo), *from_template(mina)]


def from_template(mina: UUID) -> list[Agreement.Event]:
    """An agreement started from a template (its clauses are ordinary ClauseAdded events)."""
    from domain.templates import parse_template

    template = parse_template("testing", {
        "version": 2, "kind": "agreement", "title": "Testing", "summary": "How often.", "covers": ["cadence"],
        "clauses": [{"about": "cadence", "topic": "safer_sex", "text": "Every three months."}],
    })  # fmt: skip
    started = Agreement.start_from(template, "From a template", mina, NOW, clause_ids=[uuid4() for _ in template.clauses])
    return list(started.collect_events())


def revisited(mina: UUID, jo: UUID) -> list[Agreement.Event]:
    """The events of revisit dates, reviews and an end date."""
    agreement = Agreement.create("For a season", mina, NOW)
    agreement.invite(mina, jo, NOW)
    agreement.accept_invitation(jo, NOW)
    clause_id = uuid4()
    agreement.add_clause(mina, clause_id, "check_ins", "We talk on Sundays.", NOW)
    agreement.set_revisit_date(mina, clause_id, LATER.date(), NOW)
    agreement.set_end_date(jo, (LATER + timedelta(days=30)).date(), NOW)
    agreement.consent(mina, agreement.content_version, NOW)
    agreement.consent(jo, agreement.content_version, NOW)
    agreement.fall_due(LATER)
    agreement.reaffirm(mina, clause_id, 1, None, LATER)
    agreement.reaffirm(jo, clause_id, 1, None, LATER)
    agreement.propose(mina, uuid4(), (), "Longer.", LATER, end_date=EndDateChange((LATER + timedelta(days=60)).date()))
    agreement.fall_due(LATER + timedelta(days=30))
    return list(agreement.collect_events())


def test_every_event_round_trips_through_msgspec_by_its_type_hints(mina, jo, sam):
    events = every_event(mina, jo, sam)
    assert {type(e) for e in events} == event_classes()

    assert_round_trips(events)
