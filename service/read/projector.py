"""The projector: folds the log into the persisted projections, exactly once.

One process per database projects: the holder of the store's leadership (a
PostgreSQL advisory lock; SQLite's one process). It reads the log in pages
from each projection's position, folds each page with the projections' pure
`evolve`, and commits every changed document with the new positions in one
transaction. A commit starts from the positions it read; if another process
projected meanwhile (a leader that lost its lock but not yet its pool), the
commit is refused whole and the positions read again. So each event is
projected exactly once, whoever tries.

A projection being rebuilt (`accord rebuild`, service/read/rebuild.py) is
folded beside the live one, from the start of the log, one page at a time
between the live pages, and takes its place in one transaction once it has
caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from projections import (
    agreement_grants,
    checkins,
    documents,
    lapses,
    people,
    plans,
    reviews,
    signals,
)
from projections import reminders as reminding
from projections.projection import Projection
from service.store import EventStore, StoredEvent, StoreError
from service.store.base import Document, ProjectionCommit, ProjectionMoved
from service.store.mapper import MsgspecMapper

log = logging.getLogger(__name__)

#: Every persisted projection, projected together.
PROJECTIONS: tuple[Projection[Any], ...] = (
    people.PROJECTION, agreement_grants.PROJECTION, lapses.PROJECTION, reviews.PROJECTION
)
#: People with a confirmed address for email reminders (the scheduler's).
PROJECTIONS += (reminding.PROJECTION,)
#: Check-ins: whose they are (an index views read) and when each open occurrence counts as missed.
PROJECTIONS += (checkins.CHECK_INS, checkins.DUE)
#: Personal documents: whose they are and whom they were shared with (an index views read).
PROJECTIONS += (documents.DOCUMENTS,)
#: Signals: whose they are (an index views read) and when each expires.
PROJECTIONS += (signals.SIGNALS, signals.EXPIRY)
#: Plans: whose they are (an index views read) and each plan as time (the calendar's and booking rules').
PROJECTIONS += (plans.PLANS, plans.PLAN_TIMES)

#: Events per page: a live page is what has arrived since the last, a catching-up one this many.
PAGE = 5000
#: A projection being rebuilt is stored under its name with this suffix until it is switched in.
BUILDING = "~build"


def building(name: str) -> str:
    return f"{name}{BUILDING}"


@dataclass
class Step:
    """One projection's documents changed by a page of events, as they will be committed."""

    projection: Projection[Any]
    name: str
    after: int
    #: Where it will be once committed: `after` until a page moves it.
    position: int = field(init=False)
    changed: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.position = self.after

    def commit(self) -> ProjectionCommit:
        p = self.projection
        documents = {
            key: None if doc is None else Document(data=p.encode(doc), due=p.due(doc))
            for key, doc in self.changed.items()
        }
        return ProjectionCommit(name=self.name, after=self.after, position=self.position, documents=documents)


async def fold(
    store: EventStore,
    steps: Sequence[Step],
    events: Sequence[tuple[StoredEvent, Aggregate.Event]],
) -> None:
    """Fold decoded events into each step's documents, reading the ones they touch in one query per step."""
    for step in steps:
        p = step.projection
        touched = [
            (stored.position, event, tuple(p.keys(event)))
            for stored, event in events
            if stored.position > step.after and isinstance(event, p.handles)
        ]
        wanted = sorted({key for _, _, keys in touched for key in keys} - set(step.changed))
        if wanted:
            found = await store.documents(step.name, wanted)
            step.changed.update({key: p.decode(found[key]) if key in found else None for key in wanted})
        for _, event, keys in touched:
            for key in keys:
                step.changed[key] = p.evolve(step.changed[key], event)


def topics_of(projections: Iterable[Projection[Any]]) -> frozenset[str]:
    """The stored topics of the event classes `projections` handle (as the mapper writes them)."""
    return frozenset(get_topic(cls) for p in projections for cls in p.handles)


class Projector:
    def __init__(
        self,
        store: EventStore,
        mapper: MsgspecMapper,
        projections: Sequence[Projection[Any]],
        poll_interval: float,
        on_projected: Callable[[int], None] = lambda position: None,
    ) -> None:
        self.store = store
        self.mapper = mapper
        self.projections = {p.name: p for p in projections}
        #: The topics any projection handles: every other event is skipped without being decoded.
        self.topics = topics_of(projections)
        self.poll_interval = poll_interval
        self.on_projected = on_projected
        #: The position every live projection has reached.
        self.position = 0
        #: Events this process has folded and committed (a metric).
        self.folded = 0
        #: The stored positions as of this projector's last commit, and when they were last read.
        self._known: dict[str, int] | None = None
        self._known_at = 0.0
        #: Whether the last page was full (more waits in the log), and whether to step again at once.
        self._full = False
        self._more = False

    async def run(self, lost: asyncio.Event) -> None:
        """Project until cancelled, or until `lost` says this process no longer leads."""
        wake = asyncio.Event()
        listener = asyncio.create_task(self.store.listen(wake))
        try:
            while not lost.is_set():
                # Cleared before the log is read: an append committed after the read sets it again.
                wake.clear()
                try:
                    progressed = await self.step()
                except ProjectionMoved:
                    log.warning("another process projected meanwhile; reading positions again")
                    continue
                except StoreError as error:
                    log.info("projector waiting for the database: %s", type(error).__name__)
                    await asyncio.sleep(self.poll_interval)
                    continue
                if progressed and self._more:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await wake.wait()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _positions(self) -> dict[str, int]:
        """The projections' stored positions: as this projector last committed them, read again after
        a poll interval (so a rebuild another process starts is seen) and after anything went wrong."""
        if self._known is None or time.monotonic() - self._known_at > self.poll_interval:
            self._known = None
            self._known = await self.store.projection_positions()
            self._known_at = time.monotonic()
        return dict(self._known)

    async def step(self) -> bool:
        """Project one page for the live projections, and one for any being rebuilt; whether either moved."""
        positions = await self._positions()
        # Forgotten until this step has committed: a failure reads them again.
        known, self._known = self._known, None
        live = [Step(p, name, positions.get(name, 0)) for name, p in self.projections.items()]
        moved = await self._page(live)
        self._more = self._full
        self.position = min(step.position for step in live)
        self.on_projected(self.position)
        builds = [
            Step(self.projections[name.removesuffix(BUILDING)], name, position)
            for name, position in positions.items()
            if name.endswith(BUILDING) and name.removesuffix(BUILDING) in self.projections
        ]
        live_at = {step.name: step.position for step in live}
        switched = False
        for build in builds:
            live_position = live_at[build.projection.name]
            if build.after >= live_position:
                await self.store.switch_projection(build.name, build.projection.name)
                log.info("projection %s rebuilt and switched in at %d", build.projection.name, build.after)
                moved = switched = True
            elif await self._page([build], upto=live_position):
                moved = self._more = True
        if known is not None and not switched:
            self._known = {**known, **{step.name: step.position for step in (*live, *builds)}}
        return moved

    async def _page(self, steps: list[Step], upto: int | None = None) -> bool:
        after = min(step.after for step in steps)
        stored = await self.store.read_log(after, limit=PAGE, open_topics=self.topics)
        if upto is not None:
            stored = [s for s in stored if s.position <= upto]
        self._full = len(stored) == PAGE
        if not stored:
            return False
        decoded = [(s, self.mapper.to_domain_event(s)) for s in stored if s.topic in self.topics]
        await fold(self.store, steps, decoded)
        for step in steps:
            step.position = max(step.position, stored[-1].position)
        await self.store.commit_projections([step.commit() for step in steps])
        self.folded += len(stored)
        return True
