"""Sharing grants as specifications: given a grant, when a party acts, then events or an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.agreement import TOPICS
from domain.errors import (
    AlreadyDone,
    GrantLapsed,
    GrantNotDue,
    GrantRevoked,
    NotAParty,
    ValidationFailed,
)
from domain.grants import SCOPES, SharingGrant
from domain.policy import grant_fact, grant_is_active
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
UNTIL = NOW + timedelta(days=7)


class Cast:
    """Mina and Jo are the parties; Sam is Jo's partner, so Mina's metamour."""

    def __init__(self) -> None:
        self.mina, self.jo, self.sam = uuid4(), uuid4(), uuid4()
        self.agreement_id = uuid4()

    @property
    def parties(self) -> tuple[UUID, UUID]:
        return (self.mina, self.jo)

    def propose(self, **overrides: object) -> SharingGrant:
        args: dict[str, object] = dict(
            grant_id=uuid4(),
            agreement_id=self.agreement_id,
            proposer=self.mina,
            parties=self.parties,
            audience=self.sam,
            scopes=("clauses:boundaries", "identity"),
            until=None,
            no_reshare=False,
            now=NOW,
        )
        args.update(overrides)
        return SharingGrant.propose(**args)  # type: ignore[arg-type]


def is_active(grant: SharingGrant, parties: tuple[UUID, ...], now: datetime) -> bool:
    """What the policy (the one place that decides it) says of this aggregate."""
    return grant_is_active(grant_fact(grant), parties, now)


@pytest.fixture
def cast() -> Cast:
    return Cast()


# Proposing


def test_a_party_proposes_a_grant_and_has_thereby_consented(cast):
    grant_id = uuid4()

    grant = cast.propose(grant_id=grant_id, until=UNTIL, no_reshare=True)

    assert grant.id == grant_id
    assert then(grant) == [
        (
            SharingGrant.Proposed,
            {
                "agreement_id": cast.agreement_id,
                "proposer": cast.mina,
                "audience": cast.sam,
                "scopes": ("clauses:boundaries", "identity"),
                "until": UNTIL,
                "no_reshare": True,
                "handle": "",
            },
        )
    ]
    assert grant.consents == {cast.mina: NOW}


def test_the_grant_is_inactive_until_every_party_consents(cast):
    grant = cast.propose()
    assert not is_active(grant, cast.parties, NOW)

    grant.consent(cast.jo, cast.parties, LATER)

    assert then(grant)[-1] == (SharingGrant.Consented, {"by": cast.jo})
    assert is_active(grant, cast.parties, LATER)


def test_a_party_joining_later_makes_it_inactive_until_they_consent(cast):
    grant = cast.propose()
    grant.consent(cast.jo, cast.parties, NOW)
    kit = uuid4()
    parties_now = (*cast.parties, kit)

    assert not is_active(grant, parties_now, LATER)

    grant.consent(kit, parties_now, LATER)
    assert is_active(grant, parties_now, LATER)


def test_only_a_current_party_consents(cast):
    grant = cast.propose()

    with pytest.raises(NotAParty) as error:
        grant.consent(cast.sam, cast.parties, NOW)
    assert (error.value.agreement_id, error.value.person_id) == (cast.agreement_id, cast.sam)


def test_consent_counts_once(cast):
    with pytest.raises(AlreadyDone):
        cast.propose().consent(cast.mina, cast.parties, NOW)


# Revoking


@pytest.mark.parametrize("who", ["proposer", "other party"])
def test_any_party_revokes_effective_at_once(cast, who):
    grant = cast.propose()
    grant.consent(cast.jo, cast.parties, NOW)
    grant.collect_events()
    by = cast.mina if who == "proposer" else cast.jo

    grant.revoke(by, cast.parties, LATER)

    assert then(grant) == [(SharingGrant.Revoked, {"by": by})]
    assert not is_active(grant, cast.parties, LATER)


def test_revoking_is_final(cast):
    grant = cast.propose()
    grant.revoke(cast.jo, cast.parties, NOW)

    with pytest.raises(GrantRevoked) as error:
        grant.consent(cast.jo, cast.parties, LATER)
    assert error.value.grant_id == grant.id
    with pytest.raises(GrantRevoked):
        grant.revoke(cast.mina, cast.parties, LATER)


def test_the_audience_cannot_revoke(cast):
    with pytest.raises(NotAParty):
        cast.propose().revoke(cast.sam, cast.parties, NOW)


# Lapsing


def test_a_grant_lapses_at_its_end(cast):
    grant = cast.propose(until=UNTIL)
    grant.consent(cast.jo, cast.parties, NOW)

    assert is_active(grant, cast.parties, UNTIL - timedelta(seconds=1))
    assert not is_active(grant, cast.parties, UNTIL)


def test_a_recorded_lapse_ends_it_whatever_the_clock_says(cast):
    # Given a grant whose end came and whose lapse was recorded,
    grant = cast.propose(until=UNTIL)
    grant.consent(cast.jo, cast.parties, NOW)
    grant.lapse(UNTIL)

    # then it is over, even for a process whose clock is still before the end.
    assert then(grant)[-1] == (SharingGrant.Lapsed, {})
    assert not is_active(grant, cast.parties, NOW)


def test_no_consent_to_a_lapsed_grant(cast):
    grant = cast.propose(until=UNTIL)

    with pytest.raises(GrantLapsed) as error:
        grant.consent(cast.jo, cast.parties, UNTIL)
    assert error.value.until == UNTIL


def test_a_lapsed_grant_may_still_be_revoked(cast):
    grant = cast.propose(until=UNTIL)

    grant.revoke(cast.jo, cast.parties, UNTIL + timedelta(days=1))

    assert grant.is_revoked


# Validation


def test_every_scope_is_accepted(cast):
    assert set(SCOPES) == {"identity", "relationship", "history", "events", "events:busy"} | {
        f"clauses:{topic}" for topic in TOPICS
    }
    assert cast.propose(scopes=SCOPES).scopes == SCOPES


@pytest.mark.parametrize(
    ("scopes", "rule"),
    [
        ((), "at least one"),
        (("clauses:Gardening",), "'clauses:Gardening' is not one of"),
        (("signals",), "'signals' is not one of"),
        (("history", "history"), "each scope once"),
    ],
)
def test_scopes_are_validated(cast, scopes, rule):
    with pytest.raises(ValidationFailed) as error:
        cast.propose(scopes=scopes)
    assert error.value.field == "scopes"
    assert rule in error.value.rule


def test_the_audience_cannot_be_a_party(cast):
    with pytest.raises(ValidationFailed) as error:
        cast.propose(audience=cast.jo)
    assert error.value.field == "audience"


def test_only_a_party_proposes(cast):
    with pytest.raises(NotAParty):
        cast.propose(proposer=uuid4())


@pytest.mark.parametrize("until", [NOW, NOW - timedelta(days=1)])
def test_the_end_date_lies_ahead(cast, until):
    with pytest.raises(ValidationFailed) as error:
        cast.propose(until=until)
    assert (error.value.field, error.value.rule) == ("until", "must be in the future")


def test_the_end_date_carries_a_time_zone(cast):
    with pytest.raises(ValidationFailed) as error:
        cast.propose(until=datetime(2030, 1, 1))
    assert error.value.field == "until"


# Storage


def test_every_event_round_trips_through_msgspec_by_its_type_hints(cast):
    grant = cast.propose(until=UNTIL)
    grant.consent(cast.jo, cast.parties, NOW)
    grant.revoke(cast.mina, cast.parties, LATER)
    events = grant.collect_events()
    assert {type(e) for e in events} == {
        SharingGrant.Proposed,
        SharingGrant.Consented,
        SharingGrant.Revoked,
    }
    assert_round_trips(events)


# Lapsing


def test_a_grant_lapses_once_after_its_end_date(cast):
    grant = cast.propose(until=UNTIL)
    grant.collect_events()
    with pytest.raises(GrantNotDue):
        grant.lapse(UNTIL - timedelta(seconds=1))
    assert grant.is_due_to_lapse(UNTIL)
    grant.lapse(UNTIL)
    assert [type(e) for e in grant.collect_events()] == [SharingGrant.Lapsed]
    with pytest.raises(GrantNotDue):
        grant.lapse(UNTIL + timedelta(days=1))


def test_a_revoked_or_open_ended_grant_never_lapses(cast):
    revoked = cast.propose(until=UNTIL)
    revoked.revoke(cast.mina, cast.parties, NOW)
    assert not revoked.is_due_to_lapse(UNTIL + timedelta(days=1))
    with pytest.raises(GrantNotDue):
        revoked.lapse(UNTIL + timedelta(days=1))
    open_ended = cast.propose(until=None)
    assert not open_ended.is_due_to_lapse(UNTIL + timedelta(days=365))
