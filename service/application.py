"""Accord's use cases: one method per thing a person can do.

Dependencies are parameters; nothing here knows HTTP. Reads of one agreement
load its stream (always current); lists come from projections fed by the log
follower, and a command waits for this process's follower to pass its own
position before returning, so the caller's next read shows its write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from service.accounts import Accounts
from service.commands import CommandRunner
from service.settings import Settings
from service.store import EventStore, StoredEvent
from service.store.mapper import MsgspecMapper

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Accord:
    def __init__(
        self, store: EventStore, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.mapper = MsgspecMapper()
        self.commands = CommandRunner(store, self.mapper)
        self.accounts = Accounts(
            store,
            hashing=settings.password_hashing,
            token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        )
        self.position = 0
        self._advanced = asyncio.Condition()
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.open()
        self._follower = asyncio.create_task(self._follow(), name="accord-follower")

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self.store.close()

    async def _follow(self) -> None:
        subscription = self.store.subscribe(self.position)
        try:
            async for stored in subscription:
                self.apply(stored)
                async with self._advanced:
                    self.position = stored.position
                    self._advanced.notify_all()
        finally:
            await subscription.aclose()

    def apply(self, stored: StoredEvent) -> None:
        """Fold one event into this process's read models."""

    async def caught_up(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until the read models include `position`; False on timeout."""
        if self.position >= position:
            return True
        async with self._advanced:
            try:
                await asyncio.wait_for(
                    self._advanced.wait_for(lambda: self.position >= position), timeout
                )
            except TimeoutError:
                return False
        return True
