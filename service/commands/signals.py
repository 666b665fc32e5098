"""Use cases of signals: channels, settings, sending, marking seen, and expiry (the scheduler's).

Who a signal reaches is the policy's answer (`policy.may_signal`, through
`SignalViews.reachable`); what anyone sees of it is the one view function's.
Rate limits: per sender (a 429 to them) and per recipient (over it, the
signal is dropped for that recipient, and the sender is answered as if it went).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4, uuid5

import msgspec

from domain import policy
from domain.errors import NotFound, seen
from domain.signals import Signal, SignalBook, SignalSettings
from service.accounts import RateLimiter
from service.commands.runner import CommandKey, CommandRunner, Outcome, owned_by
from service.visibility import SignalsView, Visibility


class Signals:
    def __init__(
        self,
        commands: CommandRunner,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        shred: Callable[[list[UUID]], Awaitable[None]],
        *,
        per_sender: RateLimiter,
        per_recipient: RateLimiter,
    ) -> None:
        self.commands = commands
        self.visibility = visibility
        self.views = visibility.signal_views
        self.clock = clock
        self.settled = settled
        self.shred = shred
        self.per_sender = per_sender
        self.per_recipient = per_recipient

    async def _on_book(
        self, caller: UUID, key: CommandKey | None, command: Callable[[SignalBook], None], render: Callable[[SignalBook], Awaitable[object]]
    ) -> Outcome:
        def decide(book: SignalBook | None) -> SignalBook:
            book = book or SignalBook.create(caller, self.clock())
            command(book)
            return book

        outcome = await self.commands.run(SignalBook, SignalBook.id_for(caller), decide, render, key=key, may_create=True)
        return await self.settled(outcome)

    async def open_channel(self, caller: UUID, person: UUID, key: CommandKey | None) -> Outcome:
        """Open my side of a channel to a partner or a metamour; anyone else is 404, as if nobody."""
        network = await self.visibility.models.network_around((caller,))
        if policy.channel_offer(caller, person, network.links) is None:
            raise NotFound("person", person)
        return await self._on_book(caller, key, lambda b: b.open_channel(person, self.clock()), self._channel(person, True))

    async def close_channel(self, caller: UUID, person: UUID, key: CommandKey | None) -> Outcome:
        """Close my side, at once and silently: whoever it was open to is told nothing."""
        return await self._on_book(caller, key, lambda b: b.close_channel(person, self.clock()), self._channel(person, False))

    @staticmethod
    def _channel(person: UUID, opened: bool) -> Callable[[SignalBook], Awaitable[object]]:
        async def render(_: SignalBook) -> object:
            return ChannelChoice(person_id=person, opened=opened)

        return render

    async def change_settings(self, caller: UUID, settings: SignalSettings, key: CommandKey | None) -> Outcome:
        async def render(book: SignalBook) -> SignalSettings:
            return book.settings

        return await self._on_book(caller, key, lambda b: b.change_settings(settings, self.clock()), render)

    async def send(
        self,
        caller: UUID,
        to: Sequence[UUID],
        kind: str,
        note: str | None,
        key: CommandKey | None,
        *,
        signal_id: UUID | None = None,
    ) -> Outcome:
        """Send to the people named; it reaches those `policy.may_signal` allows, within their limits.

        The answer is the same whoever it reached: the sender's view names whom they addressed."""
        new_id = signal_id or (uuid4() if key is None else uuid5(caller, key.key))
        key = owned_by(new_id, key, "sent")
        if key is None or await self.commands.repeated(key) is None:
            self.per_sender.check(str(caller))
        now = self.clock()
        book = await self.views.book(caller)
        reachable = await self.views.reachable(caller, list(dict.fromkeys(to)))
        # Over a recipient's limit: silence for them; the sender cannot tell.
        recipients = [person for person in reachable if self.per_recipient.allow(str(person))]

        async def render(signal: Signal) -> object:
            return await self.views.signal(caller, signal.id, current=signal)

        outcome = await self.commands.run(
            Signal,
            new_id,
            lambda _: Signal.send(new_id, caller, list(to), recipients, kind, note, now, book),
            render,
            key=key,
            creates=True,
        )
        return await self.settled(outcome)

    async def mark_seen(self, caller: UUID, signal_id: UUID, key: CommandKey | None) -> Outcome:
        if await self.views.signal(caller, signal_id) is None:
            raise NotFound("signal", signal_id)

        def decide(signal: Signal | None) -> Signal:
            assert signal is not None
            signal.mark_seen(caller, self.clock())
            return signal

        async def render(signal: Signal) -> object:
            return await self.views.signal(caller, signal.id, current=signal)

        key = owned_by(signal_id, key, f"seen:{caller}")
        return await self.settled(await self.commands.run(Signal, signal_id, decide, render, key=key))

    async def expire(self, signal_id: UUID, by: UUID, now: datetime) -> None:
        """The scheduler's: what stays of it goes to its sender's book (once: the command id is the
        signal's), then its key is destroyed, and with it the note, kind and recipients. A signal
        whose stream no longer reads (its key already gone) leaves nothing."""
        signal = await self.commands.load_if_any(Signal, signal_id)

        def decide(book: SignalBook | None) -> SignalBook:
            book = book or SignalBook.create(by, now)
            if signal is None:
                book.record_gone(signal_id, now)
            else:
                book.record_expired(signal, now)
            return book

        async def nothing(_: SignalBook) -> dict[str, str]:
            return {}

        key = CommandKey(caller=signal_id, key="expired", fingerprint="expired")
        await self.commands.run(SignalBook, SignalBook.id_for(by), decide, nothing, key=key, may_create=True)
        await self.shred([signal_id])


class ChannelChoice(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's side of a channel, as they just set it."""

    person_id: UUID
    opened: bool


class SignalReads:
    def __init__(self, visibility: Visibility) -> None:
        self.views = visibility.signal_views

    async def mine(self, caller: UUID) -> SignalsView:
        return await self.views.signals(caller)

    async def view(self, caller: UUID, signal_id: UUID) -> policy.SignalView:
        return seen(await self.views.signal(caller, signal_id), "signal", signal_id)

    async def settings(self, caller: UUID) -> SignalSettings:
        return (await self.views.book(caller)).settings
