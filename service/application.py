"""The application: every collaborator built once and wired, and the process's background work.

The use cases live one module per aggregate in service/commands/, the reads in
service/read/queries.py, and both reach data only through their parameters;
here they are built with the store, the clock, the read models and the one
view function, and the follower, projector, scheduler and leader are started.
A command waits for this process's follower to pass its own position before
returning, so the caller's next read shows its write. Nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from uuid import UUID

from domain.errors import NotFound, ValidationFailed
from domain.policy import CalendarEntry
from service.accounts import Accounts, RateLimiter, SignInFailed
from service.commands import CommandRunner, Outcome
from service.commands.calendar import CalendarReads
from service.commands.agreements import Agreements
from service.commands.availability import Availabilities, AvailabilityReads, BookingCheck
from service.commands.blocks import Blocking
from service.commands.checkins import CheckInReads, CheckIns
from service.commands.documents import DocumentReads, Documents
from service.commands.erasure import Erasures
from service.commands.feeds import Feeds
from service.commands.grants import Grants
from service.commands.network import Network
from service.commands.plans import PlanReads, Plans
from service.commands.reminders import EmailReminders
from service.commands.signals import SignalReads, Signals
from service.crypto import Keyring, master_keys
from service.library import load_library
from service.live.hub import Connection, Hub
from service.mail import Mailer
from service.read.export import Exports
from service.read.follower import Follower, Projected
from service.read.leader import Leader
from service.read.models import ReadModels
from service.read.projector import PROJECTIONS, Projector
from service.read.queries import Queries
from service.scheduler import Scheduler
from service.security import AccountSecurity, SecondFactorRequired
from service.settings import Settings
from service.store import EventStore, connect
from service.store.base import Account
from service.store.mapper import MsgspecMapper
from service.store.sealed import SealedStore
from service.visibility import Names, Visibility

log = logging.getLogger(__name__)



def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Lag:
    """How far this process's follower trails the log."""

    def __init__(self, store: EventStore, position: Callable[[], int]) -> None:
        self.store = store
        self.position = position
        self.latest = 0
        self.caught_up_at = time.monotonic()

    async def refresh(self) -> None:
        self.latest = max(self.latest, await self.store.max_position())
        self.followed()

    def followed(self) -> None:
        if self.position() >= self.latest:
            self.caught_up_at = time.monotonic()

    @property
    def positions(self) -> int:
        return max(0, self.latest - self.position())

    def seconds(self) -> float:
        return 0.0 if self.positions == 0 else time.monotonic() - self.caught_up_at


class Accord:
    def __init__(
        self, store: EventStore, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        #: Data keys for intimate text; the master key comes from settings (or, embedded, a file beside the database).
        self.keys = Keyring(store, master_keys(settings, store), settings.cache_size)
        store = SealedStore(store, self.keys)
        self.store = store
        self.settings = settings
        self.clock = clock
        self.mapper = MsgspecMapper()
        self.commands = CommandRunner(store, self.mapper, streams=max(1, settings.cache_size // 10))
        self.accounts = Accounts(
            store,
            hashing=settings.password_hashing,
            token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        )
        self.auth_limiter = RateLimiter(settings.auth_rate_per_minute)
        self.hub = Hub(retain=settings.live_retain)
        self.security = AccountSecurity(
            store,
            self.accounts,
            lambda: self.clock(),
            self.hub.end_sessions,
            challenge_ttl=timedelta(seconds=settings.passkey_challenge_seconds),
        )
        self.command_limiter = RateLimiter(settings.command_rate_per_minute)
        #: Where views read documents and streams: a replica when one is set, else the primary.
        self.reads = (
            SealedStore(connect(settings.replica_database_url, poll_interval=settings.poll_interval, read_only=True), self.keys)
            if settings.replica_database_url
            else store
        )
        self.models = ReadModels(self.reads, self.mapper, settings.cache_size)
        self.names = Names(store, settings.cache_size)
        self._secret = settings.secret.encode()
        # Services read the time through this, so replacing `self.clock` reaches them all.
        now = lambda: self.clock()  # noqa: E731
        self.visibility = Visibility(self.models, self.names, lambda: self._secret, now, self.keys.open_text)
        # The use cases, one module per aggregate, and the reads: collaborators as parameters.
        self.network = Network(
            store, self.commands, now, self._settled, lambda: self._secret,
            proposals_per_sender=RateLimiter(
                settings.link_proposals_per_sender_per_hour, 3600, name="link_proposals_per_sender", what="link proposals"
            ),
            proposals_per_recipient=RateLimiter(settings.link_proposals_per_recipient_per_hour, 3600),
        )  # fmt: skip
        #: The template library (service/library/*.toml), read once.
        self.library = load_library()
        self.blocking = Blocking(self.commands, self.visibility, now, self._settled, self.network.person_for)
        self.agreements = Agreements(
            self.commands, self.visibility, now, self._settled, self.network.person_for, self._shred,
            self.keys.seal_text,
        )
        self.grants = Grants(
            self.commands, self.visibility, now, self._settled, self.network.person_for, self.keys.seal_text
        )
        self.check_ins = CheckIns(self.commands, self.models, self.visibility, self.agreements, now, self._settled)
        self.check_in_reads = CheckInReads(self.visibility)
        self.documents = Documents(
            self.commands, self.models, self.visibility, now, self._settled, self.network.person_for,
            self.keys.seal_text, self._shred,
        )  # fmt: skip
        self.document_reads = DocumentReads(self.visibility)
        self.signals = Signals(
            self.commands, self.visibility, now, self._settled, self._shred,
            per_sender=RateLimiter(
                settings.signals_per_sender_per_hour, window=3600.0, name="signals_per_sender", what="signals"
            ),
            per_recipient=RateLimiter(settings.signals_per_recipient_per_hour, window=3600.0),
        )  # fmt: skip
        self.signal_reads = SignalReads(self.visibility)
        self.feeds = Feeds(self.commands, self.reads, now, self._settled, self._calendar_entries)
        self.calendar_reads = CalendarReads(self.visibility, now)
        self.availabilities = Availabilities(self.commands, self.visibility, now, self._settled)
        self.availability_reads = AvailabilityReads(self.visibility)
        self.bookings = BookingCheck(self.visibility, self.visibility.plan_slots, self.store, self.caught_up)
        self.plans = Plans(
            self.commands, self.models, self.visibility, now, self._settled, self.network.person_for, self.bookings
        )
        self.plan_reads = PlanReads(self.visibility)
        self.erasures = Erasures(
            store, self.commands, self.models, self.accounts, self.agreements, self.grants, self.network,
            self.keys, now, self._settled, self._shred,
        )  # fmt: skip
        self.queries = Queries(
            store, self.mapper, self.commands, self.models, self.visibility, self.names, lambda: self._secret, now
        )
        self.exports = Exports(self.queries, self.visibility, self.person, now)
        self.projected = Projected(
            self.reads, tuple(p.name for p in PROJECTIONS), settings.poll_interval, wakes=store
        )
        self.follower = Follower(
            store, self.mapper, self.models, self.visibility, self.hub, self.projected, self.keys, self.commands.forget
        )
        self.projector = Projector(
            store, self.mapper, PROJECTIONS, settings.poll_interval, on_projected=self.projected.told
        )
        self.scheduler = Scheduler(store, self.commands, now, settings.poll_interval)
        self.scheduler.expire_signals = self.signals.expire
        self.mailer = Mailer(settings.smtp_url, settings.mail_from)
        self.reminders = EmailReminders(
            store, self.commands, self.visibility, self.mailer, now, self._settled, self.keys.seal_text,
            self.keys.open_text,
            base_url=settings.base_url or f"http://{settings.host}:{settings.port}",
            delay=timedelta(seconds=settings.reminder_delay_seconds),
            interval=timedelta(seconds=settings.reminder_interval_seconds),
            confirm_for=timedelta(seconds=settings.email_confirm_seconds),
        )  # fmt: skip
        self.scheduler.also(self.reminders.remind_due, settings.reminder_scan_seconds)
        self.leader = Leader(store, (self.projector.run, self.scheduler.run), settings.poll_interval)
        self.lag = Lag(store, lambda: self.follower.position)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.store.open()
        if self.reads is not self.store:
            await self.reads.open()
        # A master key that wrapped none of this database's keys is refused here, before anything is read.
        await self.keys.check()
        if not self._secret:
            self._secret = await self.store.server_secret()
        self._tasks = [
            asyncio.create_task(self.leader.run(), name="accord-leader"),
            asyncio.create_task(self.projected.listen(), name="accord-projected"),
            asyncio.create_task(self.follower.run(), name="accord-follower"),
            # Sessions ended by other processes: their sockets here close at once.
            asyncio.create_task(self.store.listen_sessions_ended(self.hub.end_sessions), name="accord-sessions"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - it already failed; shutting down goes on
                log.exception("background task had failed")
        if self.reads is not self.store:
            await self.reads.close()
        await self.store.close()

    @property
    def position(self) -> int:
        """The log position this process's reads and pushes have taken into account."""
        return self.follower.position

    @property
    def alive(self) -> bool:
        """False once a background task has died: this process can no longer serve the truth."""
        return not any(task.done() for task in self._tasks)

    @property
    def ready(self) -> bool:
        """The follower has started (from where the projections stand), and still follows."""
        return self.alive and self.follower.started.is_set()

    async def wait_until_tracking(self, timeout: float) -> bool:
        """Wait until the follower has started, so a socket's views are as of a known position."""
        try:
            async with asyncio.timeout(timeout):
                await self.follower.started.wait()
        except TimeoutError:
            return False
        return True

    async def connect(self, person: UUID, since: int | None) -> Connection:
        return await self.follower.connect(person, since)

    async def caught_up(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until this process's reads include `position`; False on timeout."""
        return await self.follower.caught_up(position, timeout)

    async def _shred(self, owners: list[UUID]) -> None:
        """Destroy these data keys, and drop what this process kept of their streams."""
        await self.keys.destroy(owners)
        for owner in owners:
            self.commands.forget(owner)
            self.models.aggregates.drop(owner)

    async def _calendar_entries(self, viewer: UUID, start: datetime, end: datetime) -> tuple[CalendarEntry, ...]:
        """A feed's entries: the viewer's calendar, each check-in series they take part in as one entry."""
        return (await self.visibility.calendar(viewer, start, end, series=True)).entries

    async def _settled(self, outcome: Outcome) -> Outcome:
        # Read-your-writes in this process: lists reflect the command once it returns.
        await self.caught_up(outcome.position, timeout=2.0)
        return outcome

    # Accounts

    async def register(self, client: str, handle: str, display_name: str, password: str) -> Account:
        self.auth_limiter.check(client)
        return await self.accounts.register(handle, display_name, password)

    async def sign_in(self, client: str, handle: str, password: str) -> tuple[str, Account, datetime]:
        """A session; SecondFactorRequired when the account also asks for a passkey."""
        self.auth_limiter.check(client)
        account = await self.accounts.check_password(handle, password)
        if await self.store.passkey_required(account.person_id):
            raise SecondFactorRequired(account)
        token, expires_at = await self.accounts.issue(account.person_id, self.clock())
        return token, account, expires_at

    async def authenticate(self, token: str) -> UUID:
        return await self.accounts.authenticate(token, self.clock())

    async def authenticate_at(self, token: str) -> tuple[UUID, int]:
        """The token's person, and the log's last position as the token was checked."""
        return await self.accounts.authenticate_at(token, self.clock())

    async def sign_out(self, token: str) -> None:
        """End this token's session, and close its open websockets."""
        try:
            person = await self.authenticate(token)
        except SignInFailed:
            return
        await self.security.end_token(person, token)

    async def erase(self, client: str, person: UUID, password: str) -> None:
        """Delete an account (service/commands/erasure.py); a wrong password is a 422 on `password`."""
        self.auth_limiter.check(client)
        try:
            await self.erasures.erase(person, password)
        except SignInFailed:
            raise ValidationFailed("password", "is not this account's password") from None

    async def person(self, person_id: UUID) -> Account:
        found = await self.store.accounts_by_ids([person_id])
        if person_id not in found:
            raise NotFound("person", person_id)
        return found[person_id]
