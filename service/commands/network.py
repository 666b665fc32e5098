"""Use cases of the network: partner links and name disclosure.

Handles are answered alike whether or not they have an account: a link
proposal, an invitation or a grant to an unknown handle is recorded against
an id derived from the handle with the server's secret, which no account will
ever have and nobody without the secret can compute, and simply never holds.

A handle whose person blocked the sender (domain/blocks.py) is answered the
same way, with the same id a handle without an account would get: the sender
cannot tell a block from a missing account, and nothing they send reaches the
blocker, now or after an unblock. A link proposal over the recipient's limit
goes the same way (the recipient hears nothing; the sender's answer is as
usual); one over the sender's own limit is refused (429).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import msgspec

from domain import policy
from domain.blocks import Blocks
from domain.errors import NotFound
from domain.network import Disclosures, PartnerLink
from service.accounts import RateLimiter
from service.commands.runner import CommandKey, CommandRunner, Outcome
from service.store import EventStore


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


class Network:
    def __init__(
        self,
        store: EventStore,
        commands: CommandRunner,
        clock: Callable[[], datetime],
        settle: Callable[[Outcome], Awaitable[Outcome]],
        secret: Callable[[], bytes],
        proposals_per_sender: RateLimiter | None = None,
        proposals_per_recipient: RateLimiter | None = None,
    ) -> None:
        #: Link proposals a sender may make (over it: 429), and a recipient may receive (over it: silence).
        self.proposals_per_sender = proposals_per_sender
        self.proposals_per_recipient = proposals_per_recipient
        self.store = store
        self.commands = commands
        self.clock = clock
        self.settle = settle
        self.secret = secret

    async def person_for(self, handle: str, sender: UUID | None = None) -> UUID:
        """The person `handle` names, as `sender` may reach them: their account's person, or
        (no account, or one that blocked `sender`) an id no account will ever have."""
        account = await self.store.account_by_handle(handle)
        person = self.nobody(handle) if account is None else account.person_id
        # A handle without an account has its (empty) block list read too, so both take the same steps.
        if sender is None or await self.may_reach(sender, person):
            return person
        return self.nobody(handle)

    def nobody(self, handle: str) -> UUID:
        """The id a handle without an account is answered with: the same every time, for everyone."""
        digest = hmac.new(self.secret(), b"unknown-handle:" + handle.casefold().encode(), "sha256")
        return UUID(bytes=digest.digest()[:16], version=4)

    async def may_reach(self, sender: UUID, recipient: UUID) -> bool:
        """The recipient's own block list, read from its stream: a block holds from the moment it is made."""
        blocks = await self.commands.load_if_any(Blocks, Blocks.id_for(recipient))
        return policy.may_reach(sender, recipient, () if blocks is None else blocks.blocked)

    # Partner links

    async def propose_link(self, caller: UUID, handle: str, key: CommandKey | None) -> Outcome:
        # A repeat of a recorded request (same Idempotency-Key) answers as before, and counts for nothing.
        if self.proposals_per_sender is not None and (key is None or await self.commands.repeated(key) is None):
            self.proposals_per_sender.check(str(caller))
        other = await self.person_for(handle, caller)
        if self.proposals_per_recipient is not None and not self.proposals_per_recipient.allow(str(other)):
            other = self.nobody(handle)
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
