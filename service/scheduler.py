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
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from domain import policy
from domain.agreement import Agreement
from domain.checkins import CheckIn
from domain.errors import DomainError
from domain.grants import SharingGrant
from domain.network import PartnerLink
from projections import checkins, lapses, reviews, signals
from service.commands import CommandKey, CommandRunner
from service.read.models import link_fact
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
        #: Other time-driven work (`also`): each with how often it runs and when it last did.
        self._also: list[tuple[Callable[[datetime], Awaitable[object]], float, list[float]]] = []
        #: Expires one signal (service/commands/signals.py `Signals.expire`), once it is due.
        self.expire_signals: Callable[[UUID, UUID, datetime], Awaitable[None]] | None = None

    def also(self, fire: Callable[[datetime], Awaitable[object]], every: float) -> None:
        """Run `fire(now)` from the scheduler too, at most every `every` seconds (email reminders)."""
        self._also.append((fire, every, [float("-inf")]))

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
        for key, data in await self.store.due_documents(checkins.DUE.name, now):
            await self._miss(UUID(key), checkins.DUE.decode(data).index, now)
        if self.expire_signals is not None:
            for key, data in await self.store.due_documents(signals.EXPIRY.name, now):
                try:
                    await self.expire_signals(UUID(key), signals.EXPIRY.decode(data).by, now)
                except DomainError as error:
                    log.info("signal expiry not done: %s", type(error).__name__)
        for fire, every, last in self._also:
            if time.monotonic() - last[0] >= every:
                last[0] = time.monotonic()
                await fire(now)

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

    async def _miss(self, check_in_id: UUID, index: int, now: datetime) -> None:
        """The open occurrence `index` passed its grace without a plan: `Missed`, once (its own command id);
        or `Stopped`, once, when fewer than two people take part any more."""
        stopped = await self._stopped_because(check_in_id)

        def missed(check_in: CheckIn | None) -> CheckIn:
            assert check_in is not None
            if stopped is None:
                check_in.miss(index, now)
            else:
                check_in.stop(index, stopped, now)
            return check_in

        what = "missed" if stopped is None else "stopped"
        key = CommandKey(caller=check_in_id, key=f"{what}:{index}", fingerprint=what)
        try:
            await self.commands.run(CheckIn, check_in_id, missed, _nothing, key=key)
        except DomainError as error:
            log.info("check-in occurrence not due: %s", type(error).__name__)

    async def _stopped_because(self, check_in_id: UUID) -> str | None:
        """Why the series can go on no longer (read from the log, as the policy reads it), or None."""
        check_in = await self.commands.load_if_any(CheckIn, check_in_id)
        if check_in is None:
            return None
        if check_in.link_id is not None:
            link = await self.commands.load_if_any(PartnerLink, check_in.link_id)
            basis = policy.CheckInBasis(link=None if link is None else link_fact(link))
            return None if policy.check_in_participants(check_in, basis) else "link_ended"
        agreement = None if check_in.agreement_id is None else await self.commands.load_if_any(Agreement, check_in.agreement_id)
        basis = policy.CheckInBasis(agreement_parties=() if agreement is None else tuple(agreement.parties))
        return None if len(policy.check_in_participants(check_in, basis)) >= 2 else "too_few_participants"

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
