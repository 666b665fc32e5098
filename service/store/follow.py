"""Catch up from a position, then follow the log live.

Wake-ups (NOTIFY, an in-process append) are only hints: the follower always
reads the log by position, and polls as a fallback, so a lost or merged hint
costs at most one poll interval and never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from .base import StoredEvent, StoreUnavailable

log = logging.getLogger(__name__)

PAGE = 500


class _Readable(Protocol):
    async def read_log(self, after: int = 0, *, limit: int = 500) -> list[StoredEvent]: ...


async def follow(
    store: _Readable,
    after: int,
    listen: Callable[[asyncio.Event], Awaitable[None]],
    poll_interval: float,
) -> AsyncIterator[StoredEvent]:
    position = after
    wake = asyncio.Event()
    listener = asyncio.create_task(listen(wake))
    try:
        while True:
            wake.clear()
            try:
                events = await store.read_log(position, limit=PAGE)
            except StoreUnavailable:
                log.info("log unavailable; follower retrying from %d", position)
                await asyncio.sleep(poll_interval)
                continue
            except Exception:
                # Whatever went wrong, a follower that stops is worse: retry by position.
                log.exception("reading the log failed; follower retrying from %d", position)
                await asyncio.sleep(poll_interval)
                continue
            for event in events:
                position = event.position
                yield event
            if len(events) == PAGE:
                continue
            # asyncio.timeout, not wait_for: no inner task that a cancellation could strand.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_interval):
                    await wake.wait()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
