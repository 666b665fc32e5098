"""What waits for a person (domain/inbox.py), and their email reminders (domain/reminders.py)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain import inbox
from domain.errors import AlreadyDone, ValidationFailed
from domain.reminders import Reminders, check_address
from tests.domain.test_agreement import (
    LATER,
    NOW,
    drafting,
    in_force,
    proposed,
    with_clause,
)


def waiting(viewer, agreement):
    return [(i.kind, i.thing_id) for i in inbox.items(viewer, agreement)]


def test_an_invitation_waits_for_the_invitee_only(mina, jo, sam):
    agreement = drafting(mina)
    agreement.invite(mina, jo, LATER)
    [item] = inbox.items(jo, agreement)
    assert (item.kind, item.thing_id, item.since, item.title) == ("invitation", agreement.id, LATER, agreement.title)
    assert waiting(mina, agreement) == [] and waiting(sam, agreement) == []


def test_a_version_waits_for_each_party_who_has_not_consented(mina, jo):
    agreement = drafting(mina, jo)
    assert waiting(mina, agreement) == []  # no clauses: nothing to consent to
    with_clause(agreement, mina)
    assert waiting(mina, agreement) == waiting(jo, agreement) == [("consent", agreement.id)]
    first = inbox.items(jo, agreement)[0].key
    agreement.consent(mina, agreement.content_version, NOW)
    assert waiting(mina, agreement) == []
    # A new version is a new thing to consent to: a new key.
    with_clause(agreement, mina, "Another.")
    assert inbox.items(jo, agreement)[0].key != first


def test_a_proposal_waits_for_the_parties_who_have_not_accepted_it(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    proposal_id = proposed(agreement, mina, clause_id, "Changed.")
    assert waiting(mina, agreement) == []
    assert waiting(jo, agreement) == [("proposal", proposal_id)]
    agreement.accept(jo, proposal_id, LATER)
    assert waiting(jo, agreement) == []


def test_a_repair_note_waits_for_the_others_until_acknowledged(mina, jo):
    agreement, clause_id = in_force(mina, jo)
    note_id = uuid4()
    agreement.write_repair_note(mina, note_id, clause_id, "what", "impact", "intentions", LATER)
    assert waiting(mina, agreement) == []
    [item] = inbox.items(jo, agreement)
    assert (item.kind, item.thing_id, item.since) == ("repair_note", note_id, LATER)
    agreement.acknowledge_repair_note(jo, note_id, LATER)
    assert waiting(jo, agreement) == []


def test_due_is_chosen_kinds_waiting_long_enough_and_not_reminded(mina, jo):
    agreement = drafting(mina)
    agreement.invite(mina, jo, NOW)
    items = inbox.items(jo, agreement)
    assert inbox.due(items, ["invitation"], [], NOW) == items
    assert inbox.due(items, ["invitation"], [], NOW - timedelta(seconds=1)) == []  # not waited long enough
    assert inbox.due(items, ["proposal"], [], LATER) == []  # not chosen
    assert inbox.due(items, ["invitation"], [items[0].key], LATER) == []  # reminded already


def confirmed(person):
    reminders = Reminders.create(person, NOW)
    reminders.add_address("sealed", "digest", LATER, NOW)
    reminders.confirm("digest", NOW)
    return reminders


def test_an_address_is_confirmed_by_its_token_once_before_it_expires(mina):
    reminders = Reminders.create(mina, NOW)
    reminders.add_address("sealed", "digest", NOW + timedelta(hours=1), NOW)
    with pytest.raises(ValidationFailed):
        reminders.confirm("other", NOW)
    with pytest.raises(ValidationFailed):
        reminders.confirm("digest", NOW + timedelta(hours=2))
    reminders.confirm("digest", NOW)
    assert reminders.confirmed
    with pytest.raises(AlreadyDone):
        reminders.confirm("digest", NOW)


def test_a_reminder_is_sent_once_per_key_and_failed_ones_come_back(mina):
    reminders = confirmed(mina)
    reminders.remind(["a", "b"], ["a", "b"], NOW)
    with pytest.raises(AlreadyDone):
        reminders.remind(["a"], ["a", "b"], NOW)
    reminders.failed(["b"], NOW)
    reminders.remind(["b"], ["a", "b"], NOW)
    # What no longer waits is forgotten: the reminded set stays as small as the inbox.
    reminders.remind(["c"], ["c"], LATER)
    assert reminders.reminded == {"c"}


def test_nothing_is_reminded_to_an_unconfirmed_address(mina):
    reminders = Reminders.create(mina, NOW)
    reminders.add_address("sealed", "digest", LATER, NOW)
    with pytest.raises(ValidationFailed):
        reminders.remind(["a"], ["a"], NOW)


@pytest.mark.parametrize("bad", ["", "plain", "a@b", "a b@c.org", "<a@b.org>", "a@b.org,c@d.org", "x" * 250 + "@b.org"])
def test_an_address_is_one_plain_address(bad):
    with pytest.raises(ValidationFailed) as raised:
        check_address(bad)
    assert raised.value.field == "address"


def test_only_known_kinds_are_chosen(mina):
    reminders = confirmed(mina)
    reminders.choose(["proposal"], NOW)
    assert reminders.kinds == ("proposal",)
    with pytest.raises(ValidationFailed):
        reminders.choose(["gossip"], NOW)
