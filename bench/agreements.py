"""Realistic agreement histories, made by the domain itself, encoded as the store keeps them.

An agreement: created, 1-3 people invited and joining, 4-10 clauses added,
3-12 edits, everyone's consent (so it is ratified), and in half of them a
renegotiation that is commented on, accepted and adopted. About 30 events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from functools import cache
from uuid import UUID

from domain.agreement import TOPICS, Agreement, ClauseChange
from service.store.base import NewEvent
from service.store.mapper import MsgspecMapper

WORDS = (
    "we check in before a first date with someone new and share how we feel about it "
    "condoms for penetrative sex with partners outside this agreement unless tested "
    "together overnight stays are planned at least a week ahead on the shared calendar "
    "either of us may ask for a pause and the other honours it without needing a reason"
).split()


def _id(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _text(rng: random.Random, low: int = 12, high: int = 60) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high))).capitalize() + "."


def agreement_events(rng: random.Random, start: datetime, creator: UUID | None = None) -> list[Agreement.Event]:
    """One agreement's history; `creator` (a person with an account, say) or someone random makes it."""
    clock = iter(start + timedelta(minutes=7 * i) for i in range(10_000))
    made_by = _id(rng)
    creator, others = creator or made_by, [_id(rng) for _ in range(rng.randint(1, 3))]
    parties = [creator, *others]
    a = Agreement.create(_text(rng, 2, 6), creator, next(clock), agreement_id=_id(rng))
    for person in others:
        a.invite(creator, person, next(clock), handle=f"@{person.hex[:8]}")
        a.accept_invitation(person, next(clock))
    for _ in range(rng.randint(4, 10)):
        a.add_clause(rng.choice(parties), _id(rng), rng.choice(TOPICS), _text(rng), next(clock))
    for _ in range(rng.randint(3, 12)):
        clause = a.clauses[rng.choice(list(a.clauses))]
        a.edit_clause(rng.choice(parties), clause.clause_id, _text(rng), clause.revision, next(clock))
    for person in parties:
        a.consent(person, a.content_version, next(clock))  # the last one ratifies
    if rng.random() < 0.5:
        proposal = _id(rng)
        edit = ClauseChange("edit", rng.choice(list(a.clauses)), text=_text(rng))
        a.propose(creator, proposal, [edit], _text(rng, 5, 20), next(clock))
        a.comment(others[0], proposal, _id(rng), _text(rng, 5, 20), next(clock))
        for person in others:
            a.accept(person, proposal, next(clock))  # the last one adopts and ratifies
    return a.collect_events()


def encoded(seed: int = 8, agreements: int | None = 1, creators: Sequence[UUID] = ()) -> Iterator[NewEvent]:
    """The events of `agreements` agreements (None: endless), as the store's records.

    The first `len(creators)` agreements are made by those people, one each.
    """
    rng, mapper = random.Random(seed), MsgspecMapper()
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    made = 0
    while agreements is None or made < agreements:
        creator = creators[made] if made < len(creators) else None
        made += 1
        for event in agreement_events(rng, start + timedelta(minutes=made), creator):
            s = mapper.to_stored_event(event)
            yield NewEvent(s.originator_id, s.originator_version, s.topic, s.state)


@cache
def payload() -> tuple[str, bytes]:
    """One ClauseEdited's topic and state: the bytes every appender writes."""
    edit = next(e for e in encoded() if e.topic.endswith("ClauseEdited"))
    return edit.topic, edit.state
