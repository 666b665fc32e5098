"""Email reminders: a person's address (confirmed by a link), their choices, and sending what is due.

The address is sealed with its person's key before it is appended, and opened
only to show it to them and to send to it. A confirmation link carries a
single-use token kept only as a digest, good for `email_confirm_seconds`.

`remind_due` is the scheduler's (service/scheduler.py): for each person with a
confirmed address, what waits in their inbox (the one view function) of the
kinds they chose, waiting longer than the delay and not reminded of yet. It
appends `ReminderSent` first, with a command id derived from the person and
what it reminds of, then hands the message to the mail server: a restart or a
second process never sends it twice (at most once). A crash between the append
and the mail server loses that one message; a refusal by the mail server gives
the keys back (`ReminderFailed`), to be tried again at the next scan.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain import inbox
from domain.errors import DomainError, ValidationFailed
from domain.reminders import Reminders, check_address
from domain.signals import in_quiet_hours
from projections import reminders as reminding
from service.commands.runner import Busy, CommandKey, CommandRunner, Outcome
from service.mail import (
    CONFIRM_SUBJECT,
    REMINDER_SUBJECT,
    Mailer,
    MailFailed,
    confirm_text,
    reminder_text,
)
from service.store import EventStore
from service.visibility import Visibility

log = logging.getLogger(__name__)

#: People looked at per scan, least recently reminded first.
SCAN_LIMIT = 10000


class EmailSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A person's email reminders, as they see them: GET /api/me/email."""

    email_on: bool
    """Whether this server sends email at all (ACCORD_SMTP_URL is set)."""
    address: str | None
    confirmed: bool
    kinds: list[str]
    """What they are reminded of: among `choices`."""
    choices: dict[str, str]
    """Every kind of inbox item one may be reminded of, and what it reads as."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class EmailReminders:
    def __init__(
        self,
        store: EventStore,
        commands: CommandRunner,
        visibility: Visibility,
        mailer: Mailer,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        seal_text: Callable[[UUID, str], Awaitable[str]],
        open_text: Callable[[UUID, str], Awaitable[str]],
        *,
        base_url: str,
        delay: timedelta,
        interval: timedelta,
        confirm_for: timedelta,
    ) -> None:
        self.store = store
        self.commands = commands
        self.visibility = visibility
        self.mailer = mailer
        self.clock = clock
        self.settled = settled
        self.seal_text = seal_text
        self.open_text = open_text
        self.base_url = base_url.rstrip("/")
        self.delay = delay
        self.interval = interval
        self.confirm_for = confirm_for
        #: Confirmation messages on their way: sending never holds up the command that asked for it.
        self._sending: set[asyncio.Task[None]] = set()

    # What the person sees

    async def view(self, person: UUID, reminders: Reminders | None) -> EmailSettings:
        address = None
        if reminders is not None and reminders.address:
            address = await self.open_text(person, reminders.address) or None
        return EmailSettings(
            email_on=self.mailer.enabled,
            address=address,
            confirmed=bool(address) and reminders is not None and reminders.confirmed,
            kinds=list(reminders.kinds if reminders is not None else inbox.KIND_NAMES),
            choices=dict(inbox.KIND_NAMES),
        )

    async def settings(self, person: UUID) -> EmailSettings:
        return await self.view(person, await self.commands.load_if_any(Reminders, Reminders.id_for(person)))

    async def _on(self, person: UUID, key: CommandKey | None, command: Callable[[Reminders], None]) -> Outcome:
        def decide(reminders: Reminders | None) -> Reminders:
            if reminders is None:
                reminders = Reminders.create(person, self.clock())
            command(reminders)
            return reminders

        async def render(reminders: Reminders) -> EmailSettings:
            return await self.view(person, reminders)

        outcome = await self.commands.run(Reminders, Reminders.id_for(person), decide, render, key=key, may_create=True)
        return await self.settled(outcome)

    # Commands

    async def add_address(self, person: UUID, address: str, key: CommandKey | None) -> Outcome:
        """Add (or replace) the address; a confirmation link is sent to it, after the command."""
        address = address.strip()
        if not self.mailer.enabled:
            raise ValidationFailed("address", "cannot be added: email is off on this server (no ACCORD_SMTP_URL)")
        check_address(address)
        token = secrets.token_urlsafe(32)
        sealed = await self.seal_text(person, address)
        now = self.clock()
        outcome = await self._on(
            person, key, lambda r: r.add_address(sealed, token_digest(token), now + self.confirm_for, now)
        )
        if not outcome.repeated:
            self._send_later(address, CONFIRM_SUBJECT, confirm_text(self.base_url, token))
        return outcome

    async def confirm(self, person: UUID, token: str, key: CommandKey | None) -> Outcome:
        digest = token_digest(token)
        return await self._on(person, key, lambda r: r.confirm(digest, self.clock()))

    async def choose(self, person: UUID, kinds: list[str], key: CommandKey | None) -> Outcome:
        return await self._on(person, key, lambda r: r.choose(kinds, self.clock()))

    async def remove(self, person: UUID, key: CommandKey | None) -> Outcome:
        return await self._on(person, key, lambda r: r.remove_address(self.clock()))

    def _send_later(self, to: str, subject: str, text: str) -> None:
        async def send() -> None:
            try:
                await self.mailer.send(to, subject, text)
            except MailFailed:
                pass  # logged by the mailer, without the address; asking again sends a fresh link

        task = asyncio.create_task(send(), name="accord-confirmation-email")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    # The scheduler's

    async def remind_due(self, now: datetime) -> int:
        """Send each reminder that is due; how many were sent."""
        if not self.mailer.enabled:
            return 0
        sent = 0
        for _, data in await self.store.due_documents(reminding.PROJECTION.name, now, limit=SCAN_LIMIT):
            person = reminding.PROJECTION.decode(data).person
            try:
                sent += await self._remind(person, now)
            except (DomainError, Busy) as error:
                # Someone else's command got there first, or it is no longer due: the next scan looks again.
                log.info("reminder not sent now: %s", type(error).__name__)
        return sent

    async def _remind(self, person: UUID, now: datetime) -> int:
        reminders = await self.commands.load_if_any(Reminders, Reminders.id_for(person))
        if reminders is None or not reminders.confirmed or not reminders.address:
            return 0
        if reminders.last_sent is not None and now - reminders.last_sent < self.interval:
            return 0
        if in_quiet_hours(await self.visibility.signal_views.book(person), now):
            return 0  # their quiet hours (a signal setting): everything still arrives in the app; reminders wait
        waiting = (await self.visibility.inbox(person)).items
        due = inbox.due(waiting, reminders.kinds, reminders.reminded, now - self.delay)
        if not due:
            return 0
        address = await self.open_text(person, reminders.address)
        if not address:
            return 0  # their key is gone: the account was deleted
        keys = sorted({item.key for item in due})
        waiting_keys = [item.key for item in waiting]
        # Derived from the person and what it reminds of: whoever appends it first sends it, once.
        what = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
        # With the stream's version: a reminder given back after a failure is sent again, under a new id.
        command = CommandKey(caller=person, key=f"reminder:{what}:{reminders.version}", fingerprint="reminder")

        def decide(current: Reminders | None) -> Reminders:
            assert current is not None
            current.remind(keys, waiting_keys, now)
            return current

        async def nothing(_: Reminders) -> dict[str, str]:
            return {}

        outcome = await self.commands.run(Reminders, reminders.id, decide, nothing, key=command)
        if outcome.repeated:
            return 0
        try:
            await self.mailer.send(address, REMINDER_SUBJECT, reminder_text(self.base_url))
        except MailFailed:
            def failed(current: Reminders | None) -> Reminders:
                assert current is not None
                current.failed(keys, self.clock())
                return current

            await self.commands.run(Reminders, reminders.id, failed, nothing, key=None)
            return 0
        return 1
