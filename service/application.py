"""Accord's use cases: one method per thing a person can do.

Dependencies are parameters; nothing here knows HTTP. Reads of one agreement
load its stream (always current); lists come from projections fed by the log
follower, and a command waits for this process's follower to pass its own
position before returning, so the caller's next read shows its write.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from uuid import UUID, uuid4

from domain.agreement import Agreement, ClauseChange
from domain.errors import DomainError, NotFound
from domain.grants import SharingGrant
from domain import policy
from domain.policy import AgreementView as SharedView
from projections.diff import VersionDiff, diff_versions
from projections.timeline import Entry, Timeline, agreement_at
from projections.timeline import evolve as evolve_timeline
from service.accounts import Accounts, RateLimiter
from service.live.hub import Hub
from service.readmodels import ReadModels
from service.sharing import Sharing
from service.visibility import NETWORK, Visibility, encode_view
from service.commands import CommandKey, CommandRunner, Outcome
from service.settings import Settings
from service.store import EventStore, StoredEvent, StoreError
from service.store.base import Account
from service.store.mapper import MsgspecMapper
from service.views import AgreementSummary, AgreementView, ClauseView, clause_views, party_view

log = logging.getLogger(__name__)



#: While catching up, move what has been folded out of the collector's sight this often.
CATCH_UP_FREEZE = 5000


def _lapsed(grant: SharingGrant | None, now: datetime) -> SharingGrant:
    assert grant is not None
    grant.lapse(now)
    return grant


async def _nothing(_: object) -> dict[str, str]:
    return {}


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
        self.models = ReadModels()
        self.hub = Hub()
        self.names: dict[UUID, str] = {}
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
            self._load_names,
            lambda: self._secret,
        )
        self.position = 0
        self.lag = Lag(store, lambda: self.position)
        self._advanced = asyncio.Condition()
        self._follower: asyncio.Task[None] | None = None
        self._lapser: asyncio.Task[None] | None = None
        self._tracking = asyncio.Event()

    async def start(self) -> None:
        await self.store.open()
        if not self._secret:
            self._secret = await self.store.server_secret()
        self._follower = asyncio.create_task(self._follow(), name="accord-follower")
        self._lapser = asyncio.create_task(self._lapse_grants(), name="accord-lapser")

    async def stop(self) -> None:
        for task in (self._lapser, self._follower):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:  # noqa: BLE001 - it already failed; shutting down goes on
                    log.exception("background task had failed")
        await self.store.close()

    async def _lapse_grants(self) -> None:
        """Mark in the log each grant whose end date has passed, so every view of it is withdrawn.

        Every process does this; the command id makes the first one count and the rest repeats.
        """
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            if not self.ready:
                continue
            now = self.clock()
            for grant in [g for g in self.models.grants.values() if g.is_due_to_lapse(now)]:
                key = CommandKey(caller=grant.id, key="lapse", fingerprint="lapse")
                try:
                    await self.commands.run(
                        SharingGrant, grant.id, lambda g: _lapsed(g, now), _nothing, key=key
                    )
                except (DomainError, StoreError) as error:
                    log.info("grant lapse deferred: %s", type(error).__name__)

    @property
    def alive(self) -> bool:
        """False once the follower has died: this process can no longer serve the truth."""
        return self._follower is None or not self._follower.done()

    @property
    def ready(self) -> bool:
        """The follower has caught up with the log as it was at start, and still follows it."""
        following = self._follower is not None and not self._follower.done()
        return following and self.hub.horizon is not None

    async def wait_until_tracking(self, timeout: float) -> bool:
        """Wait until the live hub holds every person's views (after the start-up catch-up)."""
        try:
            async with asyncio.timeout(timeout):
                await self._tracking.wait()
        except TimeoutError:
            return False
        return True

    async def _follow(self) -> None:
        target = await self.store.max_position()
        if target <= self.position:
            await self._start_hub()
        subscription = self.store.subscribe(self.position)
        try:
            async for stored in subscription:
                await self.apply(stored)
                if not self.ready:
                    if stored.position % CATCH_UP_FREEZE == 0:
                        # The read models only grow while catching up: keep the cyclic
                        # collector from walking them again and again (3x faster here).
                        gc.freeze()
                    if stored.position >= target:
                        gc.freeze()
                        await self._start_hub()
                async with self._advanced:
                    self._advanced.notify_all()
        finally:
            await subscription.aclose()

    async def _start_hub(self) -> None:
        await self._load_names_patiently(self.models.people())
        self.hub.start(self.position, self.visibility.everything())
        self._tracking.set()

    async def apply(self, stored: StoredEvent) -> None:
        """Fold one event into the read models and push what it changed to whom."""
        event = self.mapper.to_domain_event(stored)
        touched = self.models.apply(event, stored.position)
        if self.ready:
            await self._load_names_patiently(touched.people | touched.network)
            fresh = self.visibility.fresh(touched, lambda person: self.hub.shown_to(person))
            self.hub.track(stored.position, fresh)
        # Only now: a reader waiting for this position must find its names loaded too.
        self.position = stored.position
        self.lag.followed()

    async def introduce(self, person: UUID) -> None:
        """Make sure the live hub knows a person the log may never have mentioned."""
        if person not in self.hub.shown:
            await self._load_names({person})
            self.hub.introduce(person, {NETWORK: encode_view(self.visibility.network(person))})

    async def _load_names(self, people: set[UUID]) -> None:
        missing = [p for p in people if p not in self.names]
        if missing:
            found = await self.store.accounts_by_ids(missing)
            self.names.update({p: a.display_name for p, a in found.items()})

    async def _load_names_patiently(self, people: set[UUID]) -> None:
        """The follower's own lookups wait out a database outage instead of dying.

        An event is half-folded at this point (the read models have it, the
        pushes do not), so giving up here would lose the pushes for good.
        """
        while True:
            try:
                await self._load_names(people)
                return
            except StoreError:
                log.info("names unavailable; follower waiting for the database")
                await asyncio.sleep(self.settings.poll_interval)

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
        # Names never change once registered: the in-process cache serves them.
        await self._load_names(set(agreement.parties))
        return party_view(agreement, self.names, agreement.invitation_handles)

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
            if caller not in agreement.parties and caller not in agreement.invitees:
                raise NotFound("agreement", agreement_id)
            command(agreement)
            return agreement

        outcome = await self.commands.run(
            Agreement, agreement_id, decide, self._render_for(caller), key=key
        )
        return await self._settled(outcome)

    def _render_for(self, caller: UUID) -> Callable[[Agreement], object]:
        async def render(agreement: Agreement) -> object:
            if caller not in agreement.parties:
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
        if caller not in agreement.parties:
            raise NotFound("agreement", agreement_id)
        return agreement

    async def view_agreement(
        self, caller: UUID, agreement_id: UUID
    ) -> AgreementView | AgreementSummary | SharedView:
        """A party's full view, an invitee's summary, a metamour's consented view, or 404.

        A metamour's view comes from the read models alone; anyone else's read
        loads the stream, so a stranger's 404 costs the same whether or not the
        agreement exists.
        """
        replica = self.models.agreements.get(agreement_id)
        involved = replica is not None and (caller in replica.parties or caller in replica.invitees)
        if not involved and (shared := self.visibility.shared(caller, agreement_id)) is not None:
            return shared
        agreement = await self.commands.load(Agreement, agreement_id)
        if caller in agreement.parties:
            return await self._render(agreement)
        if caller in agreement.invitees:
            return AgreementSummary(agreement_id=agreement_id, title=agreement.title, relation="invited")
        raise NotFound("agreement", agreement_id)

    async def my_agreements(self, caller: UUID) -> list[AgreementSummary]:
        """Mine, my invitations, and those shared with me (without their titles)."""
        involved = self.models.memberships.of(caller)
        summaries = [
            AgreementSummary(
                agreement_id=agreement_id,
                title=self.models.memberships.titles.get(agreement_id, ""),
                relation=relation,
            )
            for agreement_id, relation in involved.items()
        ]
        for agreement_id in self.models.audiences_of(caller) - set(involved):
            if self.visibility.shared(caller, agreement_id) is not None:
                summaries.append(AgreementSummary(agreement_id=agreement_id, relation="shared"))
        return sorted(summaries, key=lambda s: str(s.agreement_id))

    async def invitation(self, caller: UUID, agreement_id: UUID) -> policy.InvitationView:
        """An invitation as its invitee may see it: the title, who invited them, and the parties,
        named as `domain.policy.view_invitation` decides."""
        agreement = await self.commands.load(Agreement, agreement_id)
        invitations = {i: agreement.inviters[i] for i in agreement.invitees if i in agreement.inviters}
        await self._load_names({caller, *agreement.parties, *invitations.values()})
        view = policy.view_invitation(
            caller,
            agreement.id,
            agreement.title,
            agreement.status,
            tuple(agreement.parties),
            invitations,
            self.models.network,
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

    async def caught_up(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until the read models include `position`; False on timeout."""
        if self.position >= position:
            return True
        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(lambda: self.position >= position)
        except TimeoutError:
            return False
        return True
