"""Use cases of an agreement: drafting, invitations, consent, renegotiation, repair notes.

Each loads the agreement, lets the aggregate decide (its named checks), and
appends through the runner; a party's answer is the one view function's.
Collaborators are parameters, wired in `service.app.create_app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from uuid import UUID, uuid4

from domain import policy
from domain.agreement import Agreement, ClauseChange, EndDateChange
from domain.templates import Template
from service.commands.runner import CommandKey, CommandRunner, Outcome
from service.views import AgreementSummary, AgreementView
from service.visibility import Visibility


class Agreements:
    def __init__(
        self,
        commands: CommandRunner,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        person_for: Callable[[str, UUID], Awaitable[UUID]],
        shred: Callable[[list[UUID]], Awaitable[None]],
        seal_text: Callable[[UUID, str], Awaitable[str]],
    ) -> None:
        self.seal_text = seal_text
        #: Destroys data keys: an agreement nobody is in any more loses its text for good.
        self.shred = shred
        self.commands = commands
        self.visibility = visibility
        self.clock = clock
        self.settled = settled
        self.person_for = person_for

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
        return await self.settled(outcome)

    def _render_for(self, caller: UUID) -> Callable[[Agreement], object]:
        async def render(agreement: Agreement) -> object:
            if policy.relation(caller, agreement.parties) != "party":
                discarded = agreement.status == "discarded"
                return AgreementSummary(
                    agreement_id=agreement.id, title=agreement.title, relation="former",
                    status="discarded" if discarded else None,
                )  # fmt: skip
            return await self._render(agreement)

        return render

    async def create_agreement(
        self, caller: UUID, title: str, key: CommandKey | None, agreement_id: UUID | None = None
    ) -> Outcome:
        new_id = agreement_id or uuid4()
        return await self._create(new_id, lambda: Agreement.create(title, caller, self.clock(), agreement_id=new_id), key)

    async def _create(self, new_id: UUID, make: Callable[[], Agreement], key: CommandKey | None) -> Outcome:
        outcome = await self.commands.run(Agreement, new_id, lambda _: make(), self._render, key=key, creates=True)
        return await self.settled(outcome)

    async def start_from_template(
        self, caller: UUID, template: Template, title: str, key: CommandKey | None, agreement_id: UUID | None = None
    ) -> Outcome:
        """Create an agreement with the template's clauses as drafts: one command, its events appended together."""
        new_id = agreement_id or uuid4()
        # Drawn once, outside the decision, so a retried command makes the same clauses.
        clause_ids = [uuid4() for _ in template.clauses]
        return await self._create(
            new_id, lambda: Agreement.start_from(template, title, caller, self.clock(), new_id, clause_ids), key
        )

    async def invite(
        self, caller: UUID, agreement_id: UUID, handle: str, key: CommandKey | None
    ) -> Outcome:
        # An unknown handle is invited all the same, so the answer tells nothing.
        invitee = await self.person_for(handle, caller)
        # The handle is the invitee's: sealed with their key, so deleting their account erases it here too.
        sealed = await self.seal_text(invitee, handle.casefold())
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.invite(caller, invitee, self.clock(), handle=sealed),
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
        return await self._ending(caller, agreement_id, key, lambda a: a.leave(caller, self.clock()))

    async def ask_to_discard(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._ending(caller, agreement_id, key, lambda a: a.ask_to_discard(caller, self.clock()))

    async def withdraw_discard(self, caller: UUID, agreement_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_agreement(caller, agreement_id, key, lambda a: a.withdraw_discard(caller, self.clock()))

    async def _ending(
        self, caller: UUID, agreement_id: UUID, key: CommandKey | None, command: Callable[[Agreement], None]
    ) -> Outcome:
        """A command that may leave the agreement with nobody in it: then its key is destroyed.

        Only once the command is projected (`_on_agreement` returns settled), so the
        projections have taken everyone out of it before its events become unreadable.
        """
        emptied = False

        def run(agreement: Agreement) -> None:
            nonlocal emptied
            command(agreement)
            emptied = not agreement.parties

        outcome = await self._on_agreement(caller, agreement_id, key, run)
        if emptied:
            await self.shred([agreement_id])
        return outcome

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
        end_date: EndDateChange | None = None,
        check_in_id: UUID | None = None,
    ) -> Outcome:
        new_id = proposal_id or uuid4()
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.propose(caller, new_id, changes, reason, self.clock(), end_date, check_in_id=check_in_id),
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

    async def set_revisit_date(
        self, caller: UUID, agreement_id: UUID, clause_id: UUID, revisit_on: date | None, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.set_revisit_date(caller, clause_id, revisit_on, self.clock())
        )

    async def set_end_date(
        self, caller: UUID, agreement_id: UUID, until: date | None, key: CommandKey | None
    ) -> Outcome:
        return await self._on_agreement(
            caller, agreement_id, key, lambda a: a.set_end_date(caller, until, self.clock())
        )

    async def reaffirm(
        self,
        caller: UUID,
        agreement_id: UUID,
        clause_id: UUID,
        revision: int,
        next_revisit_on: date | None,
        key: CommandKey | None,
    ) -> Outcome:
        return await self._on_agreement(
            caller,
            agreement_id,
            key,
            lambda a: a.reaffirm(caller, clause_id, revision, next_revisit_on, self.clock()),
        )
