"""Deleting an account: the person leaves everything, then their key and their account are destroyed.

What they were in goes on for the others. They leave each agreement they are
a party of (its text is the remaining parties' too, and stays with them; an
agreement nobody is left in loses its key), decline the invitations addressed
to them, withdraw the grants they proposed or consented to that are still
pending, and end or answer their partner links (a check-in between partners,
seen by nobody once the link has ended, loses its key); their personal documents
are deleted and lose their keys; each plan they took part in is cancelled (so it
holds nobody's time) and loses its key, since its title, place or answers are
partly theirs. Then their calendar feed is revoked, their sign-in tokens and
recorded command results are deleted, their account becomes a tombstone (an
id, nothing else), and their data key is destroyed, so their handle and name
can never be read again, with or without the master key. Last, an `Erasure`
event tells every process (to forget what it cached of them, close their
sockets, and refresh the views that named them): everyone sees "a former
member" from then on.

Each step tolerates having been done already, so an erasure cut short can be
asked for again until it completes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from domain.agreement import Agreement
from domain.checkins import CheckIn
from domain.documents import PersonalDocument
from domain.errors import AlreadyExists, DomainError
from domain.feeds import CalendarFeed
from domain.network import Erasure, PartnerLink
from domain.plans import Plan
from service.accounts import Accounts
from service.commands.agreements import Agreements
from service.commands.grants import Grants
from service.commands.network import Network
from service.commands.runner import CommandRunner, Outcome
from service.crypto import Keyring
from service.read.models import ReadModels
from service.store import EventStore

log = logging.getLogger(__name__)


class Erasures:
    def __init__(
        self,
        store: EventStore,
        commands: CommandRunner,
        models: ReadModels,
        accounts: Accounts,
        agreements: Agreements,
        grants: Grants,
        network: Network,
        keys: Keyring,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        shred: Callable[[list[UUID]], Awaitable[None]] | None = None,
    ) -> None:
        #: Destroys data keys (and what this process kept of their streams): a check-in between partners.
        self.shred = shred
        self.store = store
        self.commands = commands
        self.models = models
        self.accounts = accounts
        self.agreements = agreements
        self.grants = grants
        self.network = network
        self.keys = keys
        self.clock = clock
        self.settled = settled

    async def erase(self, person: UUID, password: str) -> None:
        await self.accounts.confirm_password(person, password)  # SignInFailed propagates
        index = await self.models.person(person)
        left = []
        for agreement_id in list(index.agreements):
            agreement = await self.commands.load_if_any(Agreement, agreement_id)
            if agreement is None:
                continue
            if person in agreement.parties:
                await self._end_pending_grants(person, agreement)
                await _done(self.agreements.leave(person, agreement_id, None))
                left.append(agreement_id)
            elif person in agreement.invitees:
                await _done(self.agreements.decline_invitation(person, agreement_id, None))
        between_partners = await self._end_check_ins_between_partners(person)
        documents = await self._delete_documents(person)
        plans = await self._cancel_plans(person)
        for link_id in index.links:
            link = await self.commands.load_if_any(PartnerLink, link_id)
            if link is None:
                continue
            if link.status == "live":
                await _done(self.network.end_link(person, link_id, None))
            elif link.status == "proposed":
                answer = self.network.withdraw_link if link.proposer == person else self.network.decline_link
                await _done(answer(person, link_id, None))
        if between_partners and self.shred is not None:
            # Seen by nobody once the link has ended: its text goes with them.
            await self.shred(between_partners)
        if documents and self.shred is not None:
            # Their personal documents are theirs alone: gone for everyone they were shared with too.
            await self.shred(documents)
        await self._revoke_feed(person)
        if plans and self.shred is not None:
            # A plan's text is partly theirs (its title and place, or their answers): gone for everyone.
            await self.shred(plans)
        await self.store.delete_account(person)
        await self.keys.destroy([person])

        def record(_: Erasure | None) -> Erasure:
            return Erasure.record(person, tuple(left), self.clock())

        async def nothing(_: Erasure) -> None:
            return None

        try:
            await self.settled(await self.commands.run(Erasure, Erasure.id_for(person), record, nothing, key=None, creates=True))
        except AlreadyExists:
            pass  # asked again after it completed
        log.info("an account was deleted")

    async def _end_check_ins_between_partners(self, person: UUID) -> list[UUID]:
        """End (so nothing more falls due) each check-in series between this person and a partner; their ids."""
        found = []
        for check_in_id in await self.models.check_ins_of(person):
            check_in = await self.commands.load_if_any(CheckIn, check_in_id)
            if check_in is None or check_in.link_id is None:
                continue
            found.append(check_in_id)
            if check_in.status != "ended":

                def end(current: CheckIn | None) -> CheckIn:
                    assert current is not None
                    current.end(person, self.clock())
                    return current

                async def nothing(_: CheckIn) -> None:
                    return None

                await _done(self.commands.run(CheckIn, check_in_id, end, nothing, key=None))
        return found

    async def _delete_documents(self, person: UUID) -> list[UUID]:
        """Delete (so every reader's view is withdrawn) each personal document this person owns; their ids."""
        found = []
        for document_id in (await self.models.documents_of(person)).owned:
            document = await self.commands.load_if_any(PersonalDocument, document_id)
            if document is None:
                continue  # deleted and shredded already
            found.append(document_id)
            if not document.deleted:

                def delete(current: PersonalDocument | None) -> PersonalDocument:
                    assert current is not None
                    current.delete(person, self.clock())
                    return current

                async def nothing(_: PersonalDocument) -> None:
                    return None

                await _done(self.commands.run(PersonalDocument, document_id, delete, nothing, key=None))
        return found

    async def _revoke_feed(self, person: UUID) -> None:
        """Their calendar feed's address stops working, like any address never issued."""
        feed = await self.commands.load_if_any(CalendarFeed, CalendarFeed.id_for(person))
        if feed is None or not feed.active:
            return

        def revoke(current: CalendarFeed | None) -> CalendarFeed:
            assert current is not None
            current.revoke(self.clock())
            return current

        async def nothing(_: CalendarFeed) -> None:
            return None

        await _done(self.commands.run(CalendarFeed, feed.id, revoke, nothing, key=None))

    async def _cancel_plans(self, person: UUID) -> list[UUID]:
        """Cancel (so it holds nobody's time any more) each plan this person was proposed with; their ids."""
        found = []
        for plan_id in await self.models.plans_of(person):
            plan = await self.commands.load_if_any(Plan, plan_id)
            if plan is None:
                continue  # shredded already
            found.append(plan_id)
            if not plan.cancelled:
                await _done(self._cancel(person, plan_id))
        return found

    async def _cancel(self, person: UUID, plan_id: UUID) -> None:
        """Cancelled and projected before its key goes: its time reads as free wherever plans are read by time."""

        def cancel(current: Plan | None) -> Plan:
            assert current is not None
            current.cancel(person, None, self.clock())
            return current

        async def nothing(_: Plan) -> None:
            return None

        await self.settled(await self.commands.run(Plan, plan_id, cancel, nothing, key=None))

    async def _end_pending_grants(self, person: UUID, agreement: Agreement) -> None:
        for grant in await self.models.grants_for(agreement.id):
            pending = not grant.is_revoked and not set(agreement.parties) <= set(grant.consents)
            if pending and person in grant.consents:
                await _done(self.grants.revoke_grant(person, agreement.id, grant.id, None))


async def _done(step: Awaitable[object]) -> None:
    """A step already taken (by an earlier, cut-short erasure, or by someone else meanwhile) is fine."""
    try:
        await step
    except DomainError as error:
        log.info("erasure step already done: %s", type(error).__name__)


__all__ = ["Erasures"]
