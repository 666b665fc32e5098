"""The projector and the scheduler run in one process per database: the holder of its leadership.

Every process tries to lead; one holds the store's leadership (a PostgreSQL
advisory lock; SQLite's one process) and runs them until it loses it or
stops. A standby takes over when the leader's connection ends, within about
one poll interval, and carries on from the projections' stored positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from service.store import EventStore

log = logging.getLogger(__name__)

Duty = Callable[[asyncio.Event], Awaitable[None]]


class Leader:
    def __init__(self, store: EventStore, duties: Sequence[Duty], poll_interval: float) -> None:
        self.store = store
        self.duties = duties
        self.poll_interval = poll_interval
        self.leading = False

    async def run(self) -> None:
        while True:
            leadership = self.store.leadership()
            await leadership.acquire()
            self.leading = True
            log.info("leading: projecting and scheduling for this database")
            tasks = [asyncio.create_task(duty(leadership.lost)) for duty in self.duties]
            lost = asyncio.create_task(leadership.lost.wait())
            try:
                done, _ = await asyncio.wait([*tasks, lost], return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not lost and (error := task.exception()) is not None:
                        log.error("a leader's duty failed: %r", error)
            finally:
                self.leading = False
                for task in (*tasks, lost):
                    task.cancel()
                for task in (*tasks, lost):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                await leadership.release()
            await asyncio.sleep(self.poll_interval)
