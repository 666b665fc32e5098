"""Calendar feeds as specifications (given events, when a command, then events), and the digest projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import NotFound
from domain.feeds import CalendarFeed, digest_of
from projections.feeds import FEEDS, FeedOwner
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)


def fresh(person=None) -> CalendarFeed:
    feed = CalendarFeed.create(person or uuid4(), NOW)
    feed.collect_events()
    return feed


def test_issuing_a_feed_records_only_the_tokens_digest() -> None:
    mina = uuid4()
    feed = fresh(mina)

    feed.issue("s3cret-token", NOW)

    events = then(feed)
    assert events == [(CalendarFeed.FeedIssued, {"person": mina, "digest": digest_of("s3cret-token")})]
    assert "s3cret-token" not in repr(events) and feed.active and feed.issued_at == NOW


def test_issuing_again_revokes_the_address_before_in_the_same_step() -> None:
    feed = fresh()
    feed.issue("first", NOW)
    feed.collect_events()

    feed.issue("second", LATER)

    assert then(feed) == [
        (CalendarFeed.FeedRevoked, {"digest": digest_of("first")}),
        (CalendarFeed.FeedIssued, {"person": feed.person, "digest": digest_of("second")}),
    ]
    assert feed.digest == digest_of("second") and feed.issued_at == LATER


def test_revoking_leaves_no_address() -> None:
    feed = fresh()
    feed.issue("first", NOW)
    feed.collect_events()

    feed.revoke(LATER)

    assert then(feed) == [(CalendarFeed.FeedRevoked, {"digest": digest_of("first")})]
    assert not feed.active and feed.issued_at is None


def test_there_is_nothing_to_revoke_without_a_feed() -> None:
    feed = fresh()
    with pytest.raises(NotFound) as refused:
        feed.revoke(NOW)
    assert refused.value.thing_id == feed.id and then(feed) == []


def test_a_persons_feed_id_is_derived_from_them_alone() -> None:
    mina = uuid4()
    assert CalendarFeed.id_for(mina) == CalendarFeed.create(mina, NOW).id != CalendarFeed.id_for(uuid4())


def test_digests_differ_by_token_and_say_nothing_of_it() -> None:
    assert digest_of("a") != digest_of("b") and len(digest_of("a")) == 64 and "a" != digest_of("a")


def test_every_event_round_trips() -> None:
    feed = CalendarFeed.create(uuid4(), NOW)
    feed.issue("one", NOW)
    feed.issue("two", LATER)
    feed.revoke(LATER)
    assert_round_trips(feed.collect_events())


def test_the_projection_leads_from_a_working_digest_to_its_owner_only() -> None:
    mina = uuid4()
    feed = CalendarFeed.create(mina, NOW)
    feed.issue("first", NOW)
    feed.issue("second", LATER)
    documents: dict[str, FeedOwner | None] = {}
    for event in feed.collect_events():
        if isinstance(event, FEEDS.handles):
            for key in FEEDS.keys(event):
                documents[key] = FEEDS.evolve(documents.get(key), event)

    assert documents == {digest_of("first"): None, digest_of("second"): FeedOwner(person=mina)}
