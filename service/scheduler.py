"""Time-driven events: what falls due is appended to the log by the leading process.

Due times come from the projections (`lapses`: grants whose end date has not
been recorded; `reviews`: revisit dates and end dates of agreements in
force). Each firing carries a command id derived from the thing and
what falls due, so a repeat, a restart or a second leader for a moment never
fires twice: the store answers the first outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain.agreement import Agreement
from domain.errors import DomainError
from domain.grants import SharingGrant
from projections import lapses, reviews
from service.commands import CommandKey, CommandRunner
from service.store import EventStore, StoreError

log = logging.getLogger(__name__)


async def _nothing(_: object) -> dict[str, str]:
    return {}


class Scheduler:
    def __init__(
        self,
        store: EventStore,
        commands: CommandRunner,
        clock: Callable[[], datetime],
        poll_interval: float,
    ) -> None:
        self.store = store
        self.commands = commands
        self.clock = clock
        self.poll_interval = poll_interval

    async def run(self, lost: asyncio.Event) -> None:
        while not lost.is_set():
            try:
                await self.fire_due()
            except StoreError as error:
                log.info("scheduler waiting for the database: %s", type(error).__name__)
            await asyncio.sleep(self.poll_interval)

    async def fire_due(self) -> None:
        now = self.clock()
        for key, _ in await self.store.due_documents(lapses.PROJECTION.name, now):
            await self._lapse(UUID(key), now)
        for key, data in await self.store.due_documents(reviews.PROJECTION.name, now):
            await self._fall_due(UUID(key), reviews.PROJECTION.decode(data), now)

    async def _lapse(self, grant_id: UUID, now: datetime) -> None:
        def lapsed(grant: SharingGrant | None) -> SharingGrant:
            assert grant is not None
            grant.lapse(now)
            return grant

        key = CommandKey(caller=grant_id, key="lapse", fingerprint="lapse")
        try:
            await self.commands.run(SharingGrant, grant_id, lapsed, _nothing, key=key)
        except DomainError as error:
            log.info("grant lapse not due: %s", type(error).__name__)

    async def _fall_due(self, agreement_id: UUID, pending: reviews.Pending, now: datetime) -> None:
        """Clauses fall due for review, or the agreement lapses: once per due time of one schedule."""

        def fell_due(agreement: Agreement | None) -> Agreement:
            assert agreement is not None
            agreement.fall_due(now)
            return agreement

        due = reviews.PROJECTION.due(pending)
        assert due is not None
        firing = f"due:{due.isoformat()}:{pending.since}"
        key = CommandKey(caller=agreement_id, key=firing, fingerprint="fall_due")
        try:
            await self.commands.run(Agreement, agreement_id, fell_due, _nothing, key=key)
        except DomainError as error:
            log.info("agreement review not due: %s", type(error).__name__)
