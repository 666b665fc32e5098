"""Accord's use cases: one method per thing a person can do.

Dependencies are parameters; nothing here knows HTTP. Reads of one agreement
load its stream (always current); lists come from projections fed by the log
follower, and a command waits for this process's follower to pass its own
position before returning, so the caller's next read shows its write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

from domain import policy
from domain.agreement import Agreement, ClauseChange
from domain.errors import NotFound
from domain.policy import SharedView
from projections.diff import VersionDiff, diff_versions
from projections.timeline import Entry, Timeline, agreement_at
from projections.timeline import evolve as evolve_timeline
from service.accounts import Accounts, RateLimiter
from service.commands import CommandKey, CommandRunner, Outcome
from service.live.hub import Connection, Hub
from service.read.follower import Follower, Projected
from service.read.leader import Leader
from service.read.models import ReadModels
from service.read.projector import PROJECTIONS, Projector
from service.scheduler import Scheduler
from service.settings import Settings
from service.sharing import Sharing
from service.store import EventStore, connect
from service.store.base import Account
from service.store.mapper import MsgspecMapper
from service.views import AgreementSummary, AgreementView, ClauseView, clause_views
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
        self.auth_limiter = RateLimiter(settings.auth_rate_per_minute)
        self.command_limiter = RateLimiter(settings.command_rate_per_minute)
        #: Where views read documents and streams: a replica when one is set, else the primary.
        self.reads = (
            connect(settings.replica_database_url, poll_interval=settings.poll_interval, read_only=True)
            if settings.replica_database_url
            else store
        )
        self.models = ReadModels(self.reads, self.mapper, settings.cache_size)
        self.hub = Hub(retain=settings.live_retain)
        self.names = Names(store, settings.cache_size)
        self._secret = settings.secret.encode()
        # Services read the time through this, so replacing `self.clock` reaches them all.
        now = lambda: self.clock()  # noqa: E731
        self.visibility = Visibility(self.models, self.names, lambda: self._secret, now)
        self.sharing = Sharing(
            store,
            self.commands,
            self.models,
            self.visibility,
            now,
            self._settled,
            self.names.load,
            lambda: self._secret,
        )
        self.projected = Projected(
            self.reads, tuple(p.name for p in PROJECTIONS), settings.poll_interval, wakes=store
        )
        self.follower = Follower(store, self.mapper, self.models, self.visibility, self.hub, self.projected)
        self.projector = Projector(
            store, self.mapper, PROJECTIONS, settings.poll_interval, on_projected=self.projected.told
        )
        self.scheduler = Scheduler(store, self.commands, now, settings.poll_interval)
        self.leader = Leader(store, (self.projector.run, self.scheduler.run), settings.poll_interval)
        self.lag = Lag(store, lambda: self.follower.position)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.store.open()
        if self.reads is not self.store:
            await self.reads.open()
        if not self._secret:
            self._secret = await self.store.server_secret()
        self._tasks = [
            asyncio.create_task(self.leader.run(), name="accord-leader"),
            asyncio.create_task(self.projected.listen(), name="accord-projected"),
            asyncio.create_task(self.follower.run(), name="accord-follower"),
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

    # Accounts

    async def register(self, client: str, handle: str, display_name: str, password: str) -> Account:
        self.auth_limiter.check(client)
        return await self.accounts.register(handle, display_name, password)

    async def sign_in(self, client: str, handle: str, password: str) -> tuple[str, Account, datetime]:
        self.auth_limiter.check(client)
        return await self.accounts.sign_in(handle, password, self.clock())

    async def authenticate(self, token: str) -> UUID:
        return await self.accounts.authenticate(token, self.clock())

    async def sign_out(self, token: str) -> None:
        await self.accounts.sign_out(token)

    async def person(self, person_id: UUID) -> Account:
        found = await self.store.accounts_by_ids([person_id])
        if person_id not in found:
            raise NotFound("person", person_id)
        return found[person_id]

    # Agreements: commands

    async def _settled(self, outcome: Outcome) -> Outcome:
        # Read-your-writes in this process: lists reflect the command once it returns.
        await self.caught_up(outcome.position, timeout=2.0)
        return outcome

    async def _render(self, agreement: Agreement) -> AgreementView:
        return await self.visibility.party_view(agreement)

    async def _on_agreement(
        self,
        caller: UUID,
        agreement_id: UUID,
        key: CommandKey | None,
        command: Callable[[Agreement], None],
    ) -> Outcome:
        def decide(agreement: Agreement | None) -> Agreement:
            assert agreement is not None
            # Non-parties learn nothing, not even that the agreement exists.
            policy.check_involved(caller, agreement_id, agreement.parties, agreement.invitees)
            command(agreement)
            return agreement

        outcome = await self.commands.run(
            Agreement, agreement_id, decide, self._render_for(caller), key=key
        )
        return await self._settled(outcome)

    def _render_for(self, caller: UUID) -> Callable[[Agreement], object]:
        async def render(agreement: Agreement) -> object:
            if policy.relation(caller, agreement.parties) != "party":
                return AgreementSummary(
                    agreement_id=agreement.id, title=agreement.title, relation="former"
                )
            return await self._render(agreement)

        return render

    async def create_agreement(
        self, caller: UUID, title: str, key: CommandKey | None, agreement_id: UUID | None = None
    ) -> Outcome:
        new_id = agreement_id or uuid4()
        outcome = await self.commands.run(
            Agreement,
            new_id,
            lambda _: Agreement.create(title, caller, self.clock(), agreement_id=new_id),
            self._render,
            key=key,
            creates=True,
        )
        return await self._settled(outcome)

    async def invite(
        self, caller: UUID, agreement_id: UUID, handle: str, key: CommandKey | None
    ) -> Outcome:
        # An unknown handle is invited all the same, so the answer tells nothing.
        invitee = await self.sharing.person_for(handle)
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.invite(caller, invitee, self.clock(), handle=handle.casefold()),
        )

    async def accept_invitation(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.accept_invitation(caller, self.clock())
        )

    async def decline_invitation(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.decline_invitation(caller, self.clock())
        )

    async def leave(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.leave(caller, self.clock())
        )

    async def add_clause(
        self,
        caller: UUID,
        agreement_id: UUID,
        topic: str,
        text: str,
        key: CommandKey | None,
        clause_id: UUID | None = None,
    ) -> Outcome:
        new_id = clause_id or uuid4()
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.add_clause(caller, new_id, topic, text, self.clock()),
        )

    async def edit_clause(
        self,
        caller: UUID,
        agreement_id: UUID,
        clause_id: UUID,
        text: str,
        based_on_revision: int,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.edit_clause(caller, clause_id, text, based_on_revision, self.clock()),
        )

    async def remove_clause(
        self,
        caller: UUID,
        agreement_id: UUID,
        clause_id: UUID,
        based_on_revision: int,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.remove_clause(caller, clause_id, based_on_revision, self.clock()),
        )

    async def consent(
        self, caller: UUID, agreement_id: UUID, version: int, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.consent(caller, version, self.clock())
        )

    async def withdraw_consent(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.withdraw_consent(caller, self.clock())
        )

    async def propose(
        self,
        caller: UUID,
        agreement_id: UUID,
        changes: list[ClauseChange],
        reason: str,
        key: CommandKey | None,
        proposal_id: UUID | None = None,
    ) -> Outcome:
        new_id = proposal_id or uuid4()
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.propose(caller, new_id, changes, reason, self.clock()),
        )

    async def comment(
        self, caller: UUID, agreement_id: UUID, proposal_id: UUID, text: str, key: CommandKey | None
    ) -> Outcome:
        comment_id = uuid4()
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.comment(caller, proposal_id, comment_id, text, self.clock()),
        )

    async def accept(
        self, caller: UUID, agreement_id: UUID, proposal_id: UUID, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.accept(caller, proposal_id, self.clock())
        )

    async def decline(
        self, caller: UUID, agreement_id: UUID, proposal_id: UUID, reason: str, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.decline(caller, proposal_id, reason, self.clock())
        )

    async def withdraw(
        self, caller: UUID, agreement_id: UUID, proposal_id: UUID, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.withdraw(caller, proposal_id, self.clock())
        )

    async def write_repair_note(
        self,
        caller: UUID,
        agreement_id: UUID,
        clause_id: UUID,
        what_happened: str,
        impact: str,
        intentions: str,
        key: CommandKey | None,
    ) -> Outcome:
        note_id = uuid4()
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.write_repair_note(
                caller, note_id, clause_id, what_happened, impact, intentions, self.clock()
            ),
        )

    async def acknowledge_repair_note(
        self, caller: UUID, agreement_id: UUID, note_id: UUID, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.acknowledge_repair_note(caller, note_id, self.clock()),
        )

    async def link_repair_note(
        self,
        caller: UUID,
        agreement_id: UUID,
        note_id: UUID,
        proposal_id: UUID,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.link_repair_note(caller, note_id, proposal_id, self.clock()),
        )

    # Agreements: reads

    async def _as_party(self, caller: UUID, agreement_id: UUID) -> Agreement:
        agreement = await self.commands.load(Agreement, agreement_id)
        policy.check_party(caller, agreement_id, agreement.parties)
        return agreement

    async def view_agreement(
        self, caller: UUID, agreement_id: UUID
    ) -> AgreementView | AgreementSummary | SharedView:
        """A party's full view, an invitee's summary, a metamour's consented view, or 404.

        A party always sees the agreement's current state, on any process: the
        cached one when the log holds nothing newer (one indexed lookup), else
        its stream read afresh. A metamour's view is the read models' (as every
        push is). Anyone else's read loads the stream too, so a stranger's 404
        costs the same whether or not the agreement exists. The one view
        function decides each.
        """
        cached = await self.models.agreement(agreement_id)
        if cached is not None and policy.relation(caller, cached.parties, cached.invitees) is None:
            if (shared := await self.visibility.shared(caller, agreement_id)) is not None:
                return shared
        if cached is not None and not await self.store.read_stream(agreement_id, gt=cached.version, limit=1):
            current: Agreement | None = cached
        else:
            current = await self.commands.load_if_any(Agreement, agreement_id)
        view = await self.visibility.agreement(caller, agreement_id, current)
        if view is None:
            raise NotFound("agreement", agreement_id)
        return view

    async def my_agreements(self, caller: UUID) -> list[AgreementSummary]:
        """Mine, my invitations, and those shared with me (without their titles)."""
        index = await self.models.person(caller)
        summaries = []
        for agreement_id, relation in index.agreements.items():
            # (An index may be a moment ahead of this process: what it cannot load yet, it lists next time.)
            if (agreement := await self.models.agreement(agreement_id)) is not None:
                summaries.append(AgreementSummary(agreement_id=agreement_id, title=agreement.title, relation=relation))
        for agreement_id in set(index.granted) - set(index.agreements):
            if await self.visibility.shared(caller, agreement_id) is not None:
                summaries.append(AgreementSummary(agreement_id=agreement_id, relation="shared"))
        return sorted(summaries, key=lambda s: str(s.agreement_id))

    async def invitation(self, caller: UUID, agreement_id: UUID) -> policy.InvitationView:
        """An invitation as its invitee may see it: the title, who invited them, and the parties,
        named as `domain.policy.view_invitation` decides."""
        agreement = await self.commands.load(Agreement, agreement_id)
        invitations = {i: agreement.inviters[i] for i in agreement.invitees if i in agreement.inviters}
        people = {caller, *agreement.parties, *invitations.values()}
        await self.names.load(people)
        view = policy.view_invitation(
            caller,
            agreement.id,
            agreement.title,
            agreement.status,
            tuple(agreement.parties),
            invitations,
            await self.models.network_touching(people),
            self.names,
            self._secret,
        )
        if view is None:
            raise NotFound("agreement", agreement_id)
        return view

    async def timeline(self, caller: UUID, agreement_id: UUID) -> Timeline:
        await self._as_party(caller, agreement_id)
        state = Timeline()
        for stored in await self.store.read_stream(agreement_id):
            state = evolve_timeline(state, self.mapper.to_domain_event(stored), stored.position)
        return state

    async def entries(self, caller: UUID, agreement_id: UUID) -> list[Entry]:
        return list((await self.timeline(caller, agreement_id)).entries)

    async def version(self, caller: UUID, agreement_id: UUID, version: int) -> list[ClauseView]:
        content = agreement_at(await self.timeline(caller, agreement_id), version)
        if content is None:
            raise NotFound("version", agreement_id)
        return clause_views(dict(content))

    async def diff(self, caller: UUID, agreement_id: UUID, old: int, new: int) -> VersionDiff:
        state = await self.timeline(caller, agreement_id)
        before, after = agreement_at(state, old), agreement_at(state, new)
        if before is None or after is None:
            raise NotFound("version", agreement_id)
        return diff_versions(before, after)
