"""Use cases of a check-in series: start, prompts, pause/resume/end, prepare, share, close, move, skip,
and an action point becoming a renegotiation.

Each loads the series, lets the aggregate decide, and appends through the
runner; who takes part now is the policy's answer (through `Visibility`), and
the answer to a participant is the one view function's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

from domain import policy
from domain.agreement import ClauseChange
from domain.cadence import Cadence
from domain.checkins import ActionPoint, CheckIn, proposal_id_for
from domain.errors import LinkStatusForbids, NotFound, ValidationFailed, seen
from domain.network import PartnerLink
from service.commands.agreements import Agreements
from service.commands.runner import CommandKey, CommandRunner, Outcome, seen_by
from service.read.models import ReadModels
from service.visibility import CheckInSummary, Visibility


class CheckIns:
    def __init__(
        self,
        commands: CommandRunner,
        models: ReadModels,
        visibility: Visibility,
        agreements: Agreements,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
    ) -> None:
        self.commands = commands
        self.models = models
        self.visibility = visibility
        self.agreements = agreements
        self.clock = clock
        self.settled = settled

    async def start(
        self,
        caller: UUID,
        cadence: Cadence,
        prompts: Sequence[str] | None,
        key: CommandKey | None,
        *,
        partner_id: UUID | None = None,
        agreement_id: UUID | None = None,
        check_in_id: UUID | None = None,
    ) -> Outcome:
        """Between the caller and a live partner, or among the parties of an agreement the caller is in."""
        new_id = check_in_id or uuid4()
        link_id: UUID | None = None
        if (partner_id is None) == (agreement_id is None):
            raise ValidationFailed("partner_id", "name either a partner (partner_id) or an agreement (agreement_id)")
        if partner_id is not None:
            link_id = PartnerLink.id_for(caller, partner_id)
            link = await self.commands.load_if_any(PartnerLink, link_id)
            if link is None or caller == partner_id:
                raise NotFound("partner_link", link_id)
            if not link.is_live:
                raise LinkStatusForbids(link_id, link.status, "the basis of a check-in")
            participants: tuple[UUID, ...] = tuple(sorted(link.people, key=str))
        else:
            assert agreement_id is not None
            agreement = await self.models.agreement(agreement_id)
            if agreement is None:
                raise NotFound("agreement", agreement_id)
            policy.check_party(caller, agreement_id, agreement.parties)
            participants = tuple(agreement.parties)
        outcome = await self.commands.run(
            CheckIn,
            new_id,
            lambda _: CheckIn.start(
                new_id, caller, participants, cadence, prompts, self.clock(), link_id=link_id, agreement_id=agreement_id
            ),
            seen_by(caller, self.visibility.check_in),
            key=key,
            creates=True,
        )
        return await self.settled(outcome)

    async def _on_check_in(
        self, caller: UUID, check_in_id: UUID, key: CommandKey | None, command: Callable[[CheckIn], None]
    ) -> Outcome:
        known = await self.models.aggregate(CheckIn, check_in_id)
        if known is None or caller not in await self.visibility.check_in_participants(known):
            # Non-participants learn nothing, not even that it exists.
            raise NotFound("check_in", check_in_id)

        def decide(check_in: CheckIn | None) -> CheckIn:
            assert check_in is not None
            check_in.check_participant(caller)
            command(check_in)
            return check_in

        outcome = await self.commands.run(CheckIn, check_in_id, decide, seen_by(caller, self.visibility.check_in), key=key)
        return await self.settled(outcome)

    async def change_prompts(self, caller: UUID, check_in_id: UUID, prompts: Sequence[str], key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.change_prompts(caller, prompts, self.clock()))

    async def pause(self, caller: UUID, check_in_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.pause(caller, self.clock()))

    async def resume(self, caller: UUID, check_in_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.resume(caller, self.clock()))

    async def end(self, caller: UUID, check_in_id: UUID, key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.end(caller, self.clock()))

    async def prepare(
        self, caller: UUID, check_in_id: UUID, index: int, answers: Sequence[str], key: CommandKey | None
    ) -> Outcome:
        return await self._on_check_in(
            caller, check_in_id, key, lambda c: c.prepare(caller, index, answers, self.clock())
        )

    async def share(self, caller: UUID, check_in_id: UUID, index: int, key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.share(caller, index, self.clock()))

    async def close(
        self, caller: UUID, check_in_id: UUID, index: int, plan: str, action_points: Sequence[str], key: CommandKey | None
    ) -> Outcome:
        points = [ActionPoint(uuid4(), text) for text in action_points]
        return await self._on_check_in(
            caller, check_in_id, key, lambda c: c.close(caller, index, plan, points, self.clock())
        )

    async def move(
        self, caller: UUID, check_in_id: UUID, index: int, to: datetime, reason: str, key: CommandKey | None
    ) -> Outcome:
        return await self._on_check_in(
            caller, check_in_id, key, lambda c: c.move(caller, index, to, reason, self.clock())
        )

    async def skip(self, caller: UUID, check_in_id: UUID, index: int, reason: str, key: CommandKey | None) -> Outcome:
        return await self._on_check_in(caller, check_in_id, key, lambda c: c.skip(caller, index, reason, self.clock()))

    async def propose_from_action_point(
        self,
        caller: UUID,
        check_in_id: UUID,
        action_point_id: UUID,
        agreement_id: UUID,
        changes: list[ClauseChange],
        key: CommandKey | None,
    ) -> Outcome:
        """Open a renegotiation of `agreement_id` with the action point as its reason, and link the two.

        Only an agreement whose parties are exactly the people taking part (see `check_same_people`). The proposal's id is derived from the
        action point, so a repeat (or a retry after a failure between the two appends) finds the first.
        """
        check_in = await self.models.aggregate(CheckIn, check_in_id)
        participants = set() if check_in is None else await self.visibility.check_in_participants(check_in)
        if check_in is None or caller not in participants:
            raise NotFound("check_in", check_in_id)
        _, point = check_in.action_point(action_point_id)
        agreement = await self.models.agreement(agreement_id)
        if agreement is None:
            raise NotFound("agreement", agreement_id)
        check_in.check_same_people(agreement_id, agreement.parties, participants)
        proposal_id = proposal_id_for(check_in_id, action_point_id)
        if proposal_id not in agreement.proposals:
            await self.agreements.propose(
                caller, agreement_id, changes, point.text, key, proposal_id=proposal_id, check_in_id=check_in_id
            )
        linked = None if key is None else CommandKey(caller=key.caller, key=f"{key.key}:check-in", fingerprint=key.fingerprint)
        return await self._on_check_in(
            caller,
            check_in_id,
            linked,
            lambda c: c.record_proposal(caller, action_point_id, agreement_id, proposal_id, self.clock()),
        )



class CheckInReads:
    """A participant's reads: one series, and their list."""

    def __init__(self, visibility: Visibility) -> None:
        self.visibility = visibility

    async def view(self, caller: UUID, check_in_id: UUID) -> policy.CheckInView:
        return seen(await self.visibility.check_in(caller, check_in_id), "check_in", check_in_id)

    async def mine(self, caller: UUID) -> list[CheckInSummary]:
        return await self.visibility.my_check_ins(caller)
