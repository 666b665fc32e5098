"""Use cases of the network and layered consent: partner links, disclosure, sharing grants.

Handles are answered alike whether or not they have an account: a link
proposal, an invitation or a grant to an unknown handle is recorded against
an id derived from the handle with the server's secret, which no account will
ever have and nobody without the secret can compute, and simply never holds.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID, uuid4

import msgspec

from domain import policy
from domain.agreement import Agreement
from domain.errors import NotFound
from domain.grants import SharingGrant
from domain.network import Disclosures, PartnerLink
from service.commands import CommandKey, CommandRunner, Outcome
from service.read.models import ReadModels
from service.store import EventStore
from service.visibility import AudienceView, GrantView, Visibility



class Proposed(msgspec.Struct, frozen=True):
    """The same answer whether or not the handle has an account."""

    status: str = "proposed"


class LinkState(msgspec.Struct, frozen=True, kw_only=True):
    """A link as its own two people see it right after a change."""

    link_id: UUID
    status: str
    proposed_by_me: bool


class DisclosureState(msgspec.Struct, frozen=True):
    audience: UUID
    disclosed: bool


class Sharing:
    def __init__(
        self,
        store: EventStore,
        commands: CommandRunner,
        models: ReadModels,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settle: Callable[[Outcome], Awaitable[Outcome]],
        load_names: Callable[[set[UUID]], Awaitable[None]],
        secret: Callable[[], bytes],
    ) -> None:
        self.store = store
        self.commands = commands
        self.models = models
        self.visibility = visibility
        self.clock = clock
        self.settle = settle
        self.load_names = load_names
        self.secret = secret

    async def person_for(self, handle: str) -> UUID:
        account = await self.store.account_by_handle(handle)
        if account is not None:
            return account.person_id
        digest = hmac.new(self.secret(), b"unknown-handle:" + handle.casefold().encode(), "sha256")
        return UUID(bytes=digest.digest()[:16], version=4)

    # Partner links

    async def propose_link(self, caller: UUID, handle: str, key: CommandKey | None) -> Outcome:
        other = await self.person_for(handle)
        link_id = PartnerLink.id_for(caller, other)

        def decide(link: PartnerLink | None) -> PartnerLink:
            if link is None:
                return PartnerLink.propose(caller, other, self.clock())
            link.propose_again(caller, self.clock())
            return link

        async def render(_: PartnerLink) -> Proposed:
            return Proposed()

        outcome = await self.commands.run(
            PartnerLink, link_id, decide, render, key=key, may_create=True
        )
        return await self.settle(outcome)

    async def _on_link(
        self, caller: UUID, link_id: UUID, key: CommandKey | None, command: Callable[[PartnerLink], None]
    ) -> Outcome:
        def decide(link: PartnerLink | None) -> PartnerLink:
            assert link is not None
            if caller not in link.people:
                raise NotFound("link", link_id)
            command(link)
            return link

        async def render(link: PartnerLink) -> LinkState:
            return LinkState(link_id=link.id, status=link.status, proposed_by_me=link.proposer == caller)

        return await self.settle(await self.commands.run(PartnerLink, link_id, decide, render, key=key))

    async def confirm_link(self, caller: UUID, link_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_link(caller, link_id, key, lambda l: l.confirm(caller, self.clock()))

    async def decline_link(self, caller: UUID, link_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_link(caller, link_id, key, lambda l: l.decline(caller, self.clock()))

    async def withdraw_link(self, caller: UUID, link_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_link(caller, link_id, key, lambda l: l.withdraw(caller, self.clock()))

    async def end_link(self, caller: UUID, link_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_link(caller, link_id, key, lambda l: l.end(caller, self.clock()))

    async def network(self, caller: UUID) -> policy.NetworkView:
        return await self.visibility.network(caller)

    # Disclosure

    async def set_disclosure(
        self, caller: UUID, audience: UUID, disclosed: bool, key: CommandKey | None
    ) -> Outcome:
        stream = Disclosures.id_for(caller)

        def decide(disclosures: Disclosures | None) -> Disclosures:
            if disclosures is None:
                disclosures = Disclosures.create(caller, self.clock())
            disclosures.set_disclosure(audience, disclosed, self.clock())
            return disclosures

        async def render(_: Disclosures) -> DisclosureState:
            return DisclosureState(audience=audience, disclosed=disclosed)

        outcome = await self.commands.run(
            Disclosures, stream, decide, render, key=key, may_create=True
        )
        return await self.settle(outcome)

    # Sharing grants

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
        audience = await self.person_for(audience_handle)
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
                handle=audience_handle.casefold(),
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

    async def grants(self, caller: UUID, agreement_id: UUID) -> list[GrantView]:
        parties = await self._parties(caller, agreement_id)
        return await self.visibility.grant_views(caller, agreement_id, parties)

    async def who_can_see(self, caller: UUID, agreement_id: UUID, clause_id: UUID) -> list[AudienceView]:
        await self._parties(caller, agreement_id)
        fact = await self.models.agreement_fact(agreement_id)
        if fact is None:
            raise NotFound("agreement", agreement_id)
        grants = await self.models.grant_facts(agreement_id)
        network = await self.models.network_touching({*fact.parties, *(g.audience for g in grants)})
        reasons = policy.who_can_see(caller, fact, clause_id, grants, network, self.clock())
        await self.load_names({p for r in reasons for p in (r.audience, r.party, r.partner)})
        return [self.visibility.audience_view(r, caller, network) for r in reasons]
