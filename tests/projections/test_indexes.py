"""The persisted index projections as specifications: given these events, then these documents.

Each fold is pure, so the events come from the domain's own commands and the
documents are folded here exactly as the projector folds them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

from domain.agreement import Agreement
from domain.grants import SharingGrant
from domain.network import PartnerLink
from projections import agreement_grants, lapses, people
from projections.projection import Projection

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def fold(projection: Projection[Any], events: list[Any]) -> dict[str, Any]:
    """Every document the events make, by key, as the projector would store them."""
    documents: dict[str, Any] = {}
    for event in events:
        if isinstance(event, projection.handles):
            for key in projection.keys(event):
                documents[key] = projection.evolve(documents.get(key), event)
    # A round trip through the stored form changes nothing.
    for key, document in documents.items():
        if document is not None:
            assert projection.decode(projection.encode(document)) == document
    return {k: d for k, d in documents.items() if d is not None}


def test_people_index_who_is_in_which_agreement_and_how() -> None:
    mina, jo, sam = uuid4(), uuid4(), uuid4()
    agreement = Agreement.create("Ours", mina, NOW)
    agreement.invite(mina, jo, NOW, handle="jo")
    agreement.invite(mina, sam, NOW, handle="sam")
    agreement.accept_invitation(jo, NOW)
    agreement.decline_invitation(sam, NOW)
    events = agreement.collect_events()
    documents = fold(people.PROJECTION, events)
    assert documents[str(mina)].agreements == {agreement.id: "party"}
    assert documents[str(jo)].agreements == {agreement.id: "party"}
    assert documents[str(sam)].agreements == {}

    agreement.leave(jo, NOW)
    documents = fold(people.PROJECTION, events + agreement.collect_events())
    assert documents[str(jo)].agreements == {}
    assert documents[str(mina)].agreements == {agreement.id: "party"}


def test_people_index_links_and_grants_naming_them() -> None:
    mina, jo, sam = uuid4(), uuid4(), uuid4()
    link = PartnerLink.propose(mina, jo, NOW)
    link.confirm(jo, NOW)
    link.end(mina, NOW)
    grant = SharingGrant.propose(uuid4(), uuid4(), mina, [mina, jo], sam, ["clauses:boundaries"], None, False, NOW)
    documents = fold(people.PROJECTION, [*link.collect_events(), *grant.collect_events()])
    assert documents[str(mina)].links == documents[str(jo)].links == [link.id]
    assert documents[str(sam)].granted == [grant.agreement_id]
    assert documents[str(sam)].links == []


def test_an_agreements_grants_are_listed_once_each() -> None:
    agreement_id, mina, sam, kim = uuid4(), uuid4(), uuid4(), uuid4()
    grants = [
        SharingGrant.propose(uuid4(), agreement_id, mina, [mina], audience, ["identity"], None, False, NOW)
        for audience in (sam, kim)
    ]
    events = [e for g in grants for e in g.collect_events()]
    documents = fold(agreement_grants.PROJECTION, events + events[:1])
    assert documents == {str(agreement_id): agreement_grants.AgreementGrants(grants=[g.id for g in grants])}


def test_a_grant_with_an_end_date_is_due_then_until_revoked_or_lapsed() -> None:
    mina, sam = uuid4(), uuid4()
    until = NOW + timedelta(days=1)
    dated, revoked, lapsing, open_ended = (
        SharingGrant.propose(uuid4(), uuid4(), mina, [mina], sam, ["identity"], u, False, NOW)
        for u in (until, until, until, None)
    )
    revoked.revoke(mina, [mina], NOW)
    lapsing.lapse(until)
    events = [e for g in (dated, revoked, lapsing, open_ended) for e in g.collect_events()]
    documents = fold(lapses.PROJECTION, events)
    assert documents == {str(dated.id): lapses.Lapse(until=until)}
    assert lapses.PROJECTION.due(documents[str(dated.id)]) == until
