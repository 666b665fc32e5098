"""Blocks as specifications (given events, when a command, then events), and the reach policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.blocks import Blocks
from domain.errors import NotFound, ValidationFailed
from domain.policy import may_reach
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)


def listed(person=None) -> Blocks:
    blocks = Blocks.create(person or uuid4(), NOW)
    blocks.collect_events()
    return blocks


def test_blocking_someone_records_whom_and_how_they_were_named() -> None:
    mina, ex = uuid4(), uuid4()
    blocks = listed(mina)

    block_id = blocks.block(ex, "ex_handle", NOW)

    assert then(blocks) == [(Blocks.PersonBlocked, {"block_id": block_id, "blocked": ex, "handle": "ex_handle"})]
    assert blocks.blocked == {ex}
    assert block_id == Blocks.block_id_for(mina, ex, "ex_handle") != ex


def test_blocking_again_the_same_way_appends_nothing_and_answers_the_same_block() -> None:
    blocks, ex = listed(), uuid4()
    first = blocks.block(ex, "", NOW)
    blocks.collect_events()

    assert blocks.block(ex, "", LATER) == first
    assert then(blocks) == []


def test_a_block_by_handle_and_one_from_the_page_are_two_blocks() -> None:
    """One would tell the blocker that the handle is that person's."""
    blocks, ex = listed(), uuid4()
    by_page = blocks.block(ex, "", NOW)
    by_handle = blocks.block(ex, "ex_handle", NOW)
    assert by_page != by_handle and len(then(blocks)) == 2
    blocks.unblock(by_page, LATER)
    assert blocks.blocked == {ex}


def test_one_cannot_block_oneself() -> None:
    mina = uuid4()
    blocks = listed(mina)
    with pytest.raises(ValidationFailed) as refused:
        blocks.block(mina, "mina", NOW)
    assert refused.value.field == "handle"
    with pytest.raises(ValidationFailed) as refused:
        blocks.block(mina, "", NOW)
    assert refused.value.field == "person"
    assert then(blocks) == []


def test_unblocking_removes_the_block_only() -> None:
    blocks, ex, sam = listed(), uuid4(), uuid4()
    block_id = blocks.block(ex, "", NOW)
    blocks.block(sam, "", NOW)
    blocks.collect_events()

    blocks.unblock(block_id, LATER)

    assert then(blocks) == [(Blocks.PersonUnblocked, {"block_id": block_id})]
    assert blocks.blocked == {sam}


def test_unblocking_what_is_not_blocked_is_not_found() -> None:
    blocks = listed()
    with pytest.raises(NotFound):
        blocks.unblock(uuid4(), NOW)


def test_block_events_rest_sealed_and_round_trip() -> None:
    blocks = Blocks.create(uuid4(), NOW)
    blocks.unblock(blocks.block(uuid4(), "ex", NOW), LATER)
    events = blocks.collect_events()
    assert all(type(e).intimate for e in events)
    assert_round_trips(events)


def test_may_reach_is_no_only_for_someone_the_recipient_blocked() -> None:
    mina, ex, sam = uuid4(), uuid4(), uuid4()
    assert may_reach(ex, mina, ())
    assert not may_reach(ex, mina, {ex})
    assert may_reach(sam, mina, {ex})
    # A block is one way: the blocker still reaches the person they blocked.
    assert may_reach(mina, ex, ())
    assert may_reach(mina, mina, {mina})
