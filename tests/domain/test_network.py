"""Partner links and disclosures as specifications: given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import (
    LinkStatusForbids,
    NotInLink,
    NotTheAuthor,
    OwnProposal,
    ValidationFailed,
)
from domain.network import Disclosures, Interval, PartnerLink
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
MUCH_LATER = NOW + timedelta(days=60)


def proposed(proposer: UUID, other: UUID) -> PartnerLink:
    link = PartnerLink.propose(proposer, other, NOW)
    link.collect_events()
    return link


def live(proposer: UUID, other: UUID) -> PartnerLink:
    link = proposed(proposer, other)
    link.confirm(other, NOW)
    link.collect_events()
    return link


# Proposing


def test_a_link_exists_only_once_the_other_confirms(mina, jo):
    link = PartnerLink.propose(mina, jo, NOW)

    assert then(link) == [(PartnerLink.Proposed, {"proposer": mina, "other": jo})]
    assert not link.is_live
    assert link.status == "proposed"
    assert link.live_since is None


def test_one_stream_per_pair_whoever_proposes(mina, jo):
    assert PartnerLink.propose(mina, jo, NOW).id == PartnerLink.id_for(mina, jo)
    assert PartnerLink.id_for(mina, jo) == PartnerLink.id_for(jo, mina)
    assert PartnerLink.id_for(mina, jo) != PartnerLink.id_for(mina, uuid4())


def test_nobody_links_with_themselves(mina):
    with pytest.raises(ValidationFailed) as error:
        PartnerLink.propose(mina, mina, NOW)
    assert error.value.field == "other"


# Answering


def test_the_other_confirms(mina, jo):
    link = proposed(mina, jo)

    link.confirm(jo, LATER)

    assert then(link) == [(PartnerLink.Confirmed, {"by": jo})]
    assert link.is_live
    assert link.live_since == LATER
    assert link.intervals == [Interval(confirmed_at=LATER)]


def test_the_proposer_cannot_confirm_their_own_proposal(mina, jo):
    link = proposed(mina, jo)

    with pytest.raises(OwnProposal) as error:
        link.confirm(mina, NOW)
    assert (error.value.link_id, error.value.person_id) == (link.id, mina)
    assert not link.is_live


def test_nobody_else_answers(mina, jo):
    link = proposed(mina, jo)
    stranger = uuid4()

    with pytest.raises(NotInLink) as error:
        link.confirm(stranger, NOW)
    assert (error.value.link_id, error.value.person_id) == (link.id, stranger)


def test_the_other_declines(mina, jo):
    link = proposed(mina, jo)

    link.decline(jo, NOW)

    assert then(link) == [(PartnerLink.Declined, {"by": jo})]
    assert link.status == "declined"
    assert link.intervals == []


def test_the_proposer_cannot_decline(mina, jo):
    with pytest.raises(OwnProposal):
        proposed(mina, jo).decline(mina, NOW)


def test_a_declined_proposal_cannot_be_confirmed(mina, jo):
    link = proposed(mina, jo)
    link.decline(jo, NOW)

    with pytest.raises(LinkStatusForbids) as error:
        link.confirm(jo, NOW)
    assert error.value.status == "declined"


def test_a_live_link_cannot_be_confirmed_again(mina, jo):
    with pytest.raises(LinkStatusForbids):
        live(mina, jo).confirm(jo, NOW)


def test_the_proposer_withdraws_an_unanswered_proposal(mina, jo):
    link = proposed(mina, jo)

    link.withdraw(mina, NOW)

    assert then(link) == [(PartnerLink.Withdrawn, {"by": mina})]
    assert link.status == "withdrawn"


def test_the_person_asked_declines_rather_than_withdraws(mina, jo):
    with pytest.raises(NotTheAuthor):
        proposed(mina, jo).withdraw(jo, NOW)


# Ending


@pytest.mark.parametrize("who", ["proposer", "other"])
def test_either_person_ends_a_live_link(mina, jo, who):
    link = live(mina, jo)

    link.end(mina if who == "proposer" else jo, LATER)

    assert then(link) == [(PartnerLink.Ended, {"by": mina if who == "proposer" else jo})]
    assert not link.is_live
    assert link.status == "ended"


def test_an_ended_link_stays_in_history(mina, jo):
    link = live(mina, jo)

    link.end(jo, LATER)

    assert link.intervals == [Interval(confirmed_at=NOW, ended_at=LATER)]


def test_only_a_live_link_ends(mina, jo):
    with pytest.raises(LinkStatusForbids) as error:
        proposed(mina, jo).end(mina, NOW)
    assert (error.value.status, error.value.action) == ("proposed", "ended")


def test_a_stranger_cannot_end_a_link(mina, jo):
    with pytest.raises(NotInLink):
        live(mina, jo).end(uuid4(), NOW)


# A new cycle in the same stream


def test_a_new_proposal_after_an_end_starts_a_new_cycle(mina, jo):
    link = live(mina, jo)
    link.end(mina, LATER)
    link.collect_events()

    link.propose_again(jo, LATER)

    assert then(link) == [(PartnerLink.Reproposed, {"proposer": jo})]
    assert (link.status, link.proposer, link.cycle) == ("proposed", jo, 2)
    assert link.intervals == [Interval(confirmed_at=NOW, ended_at=LATER)]


def test_a_reconfirmed_link_starts_a_new_live_interval(mina, jo):
    link = live(mina, jo)
    link.end(mina, LATER)
    link.propose_again(jo, LATER)

    link.confirm(mina, MUCH_LATER)

    assert link.live_since == MUCH_LATER
    assert link.intervals == [
        Interval(confirmed_at=NOW, ended_at=LATER),
        Interval(confirmed_at=MUCH_LATER),
    ]


def test_the_person_who_declined_may_propose_back(mina, jo):
    link = proposed(mina, jo)
    link.decline(jo, NOW)

    link.propose_again(jo, LATER)
    link.confirm(mina, LATER)

    assert link.is_live


def test_a_withdrawn_proposal_may_be_made_again(mina, jo):
    link = proposed(mina, jo)
    link.withdraw(mina, NOW)

    link.propose_again(mina, LATER)

    assert link.status == "proposed"


@pytest.mark.parametrize("status", ["proposed", "live"])
def test_no_new_proposal_while_one_is_open_or_the_link_is_live(mina, jo, status):
    link = proposed(mina, jo) if status == "proposed" else live(mina, jo)

    with pytest.raises(LinkStatusForbids) as error:
        link.propose_again(jo, NOW)
    assert error.value.status == status


def test_a_stranger_cannot_propose_in_someone_elses_stream(mina, jo):
    link = proposed(mina, jo)
    link.decline(jo, NOW)

    with pytest.raises(NotInLink):
        link.propose_again(uuid4(), NOW)


# Disclosures


def test_a_person_chooses_per_audience_whether_their_name_is_shown(mina, jo):
    disclosures = Disclosures.create(mina, NOW)
    assert disclosures.id == Disclosures.id_for(mina)
    disclosures.collect_events()

    disclosures.set_disclosure(jo, True, NOW)
    disclosures.set_disclosure(jo, False, LATER)

    assert then(disclosures) == [
        (Disclosures.DisclosureSet, {"audience": jo, "disclosed": True}),
        (Disclosures.DisclosureSet, {"audience": jo, "disclosed": False}),
    ]
    assert disclosures.choices == {jo: False}


def test_repeating_a_choice_appends_nothing(mina, jo):
    disclosures = Disclosures.create(mina, NOW)
    disclosures.set_disclosure(jo, True, NOW)
    disclosures.collect_events()

    disclosures.set_disclosure(jo, True, LATER)

    assert then(disclosures) == []


def test_one_always_sees_ones_own_name(mina):
    with pytest.raises(ValidationFailed) as error:
        Disclosures.create(mina, NOW).set_disclosure(mina, False, NOW)
    assert error.value.field == "audience"


# Storage


def every_event(mina: UUID, jo: UUID) -> list[Aggregate.Event]:
    link = PartnerLink.propose(mina, jo, NOW)
    link.confirm(jo, NOW)
    link.end(mina, LATER)
    link.propose_again(jo, LATER)
    link.decline(mina, LATER)
    link.propose_again(mina, MUCH_LATER)
    link.withdraw(mina, MUCH_LATER)
    disclosures = Disclosures.create(mina, NOW)
    disclosures.set_disclosure(jo, False, NOW)
    return [*link.collect_events(), *disclosures.collect_events()]


def test_every_event_round_trips_through_msgspec_by_its_type_hints(mina, jo):
    events = every_event(mina, jo)
    assert {type(e) for e in events} == {
        PartnerLink.Proposed,
        PartnerLink.Confirmed,
        PartnerLink.Declined,
        PartnerLink.Withdrawn,
        PartnerLink.Ended,
        PartnerLink.Reproposed,
        Disclosures.Created,
        Disclosures.DisclosureSet,
    }
    assert_round_trips(events)


def test_a_link_replays_from_its_events(mina, jo):
    events = every_event(mina, jo)[:6]
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)

    assert replayed.status == "proposed"
    assert replayed.intervals == [Interval(confirmed_at=NOW, ended_at=LATER)]
