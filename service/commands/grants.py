"""Use cases of sharing grants: propose, consent, revoke (their lapse is the scheduler's).

Only a party may touch an agreement's grants; the audience is addressed by
handle and answered alike whether or not it has an account, or has blocked the
caller (`person_for`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID, uuid4

from domain import policy
from domain.agreement import Agreement
from domain.errors import NotFound
from domain.grants import SharingGrant
from service.commands.runner import CommandKey, CommandRunner, Outcome
from service.visibility import GrantView, Visibility


class Grants:
    def __init__(
        self,
        commands: CommandRunner,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settle: Callable[[Outcome], Awaitable[Outcome]],
        person_for: Callable[[str, UUID], Awaitable[UUID]],
        seal_text: Callable[[UUID, str], Awaitable[str]],
    ) -> None:
        self.seal_text = seal_text
        self.commands = commands
        self.visibility = visibility
        self.clock = clock
        self.settle = settle
        self.person_for = person_for

    async def _parties(self, caller: UUID, agreement_id: UUID) -> list[UUID]:
        agreement = await self.commands.load(Agreement, agreement_id)
        policy.check_party(caller, agreement_id, agreement.parties)
        return list(agreement.parties)


    async def _on_grant(
        self,
        caller: UUID,
        agreement_id: UUID,
        grant_id: UUID,
        key: CommandKey | None,
        command: Callable[[SharingGrant | None, list[UUID]], SharingGrant],
        creates: bool = False,
    ) -> Outcome:
        parties = await self._parties(caller, agreement_id)

        def decide(grant: SharingGrant | None) -> SharingGrant:
            if grant is not None and grant.agreement_id != agreement_id:
                raise NotFound("grant", grant_id)
            return command(grant, parties)

        async def render(grant: SharingGrant) -> GrantView:
            # Built from the grant itself, so a command's answer includes its own change.
            return await self.visibility.grant_view(caller, grant, parties)

        outcome = await self.commands.run(
            SharingGrant, grant_id, decide, render, key=key, creates=creates
        )
        return await self.settle(outcome)

    async def propose_grant(
        self,
        caller: UUID,
        agreement_id: UUID,
        audience_handle: str,
        scopes: list[str],
        until: datetime | None,
        no_reshare: bool,
        key: CommandKey | None,
    ) -> Outcome:
        audience = await self.person_for(audience_handle, caller)
        # The handle is the audience's: sealed with their key, so deleting their account erases it here too.
        sealed = await self.seal_text(audience, audience_handle.casefold())
        grant_id = uuid4()
        return await self._on_grant(
            caller,
            agreement_id,
            grant_id,
            key,
            lambda _, parties: SharingGrant.propose(
                grant_id,
                agreement_id,
                caller,
                parties,
                audience,
                scopes,
                until,
                no_reshare,
                self.clock(),
                handle=sealed,
            ),
            creates=True,
        )

    async def consent_to_grant(
        self, caller: UUID, agreement_id: UUID, grant_id: UUID, key: CommandKey | None
    ) -> Outcome:
        def consent(grant: SharingGrant | None, parties: list[UUID]) -> SharingGrant:
            assert grant is not None
            grant.consent(caller, parties, self.clock())
            return grant

        return await self._on_grant(caller, agreement_id, grant_id, key, consent)

    async def revoke_grant(
        self, caller: UUID, agreement_id: UUID, grant_id: UUID, key: CommandKey | None
    ) -> Outcome:
        def revoke(grant: SharingGrant | None, parties: list[UUID]) -> SharingGrant:
            assert grant is not None
            grant.revoke(caller, parties, self.clock())
            return grant

        return await self._on_grant(caller, agreement_id, grant_id, key, revoke)
