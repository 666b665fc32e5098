"""What people read: every answer comes from the one view function, or from the policy's own checks.

Reads of one agreement by a party see its current state (the cached one when
the log holds nothing newer, else its stream); lists and metamours' views come
from the read models at this process's follower position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import msgspec

from domain import policy
from domain.agreement import Agreement
from domain.errors import NotFound
from domain.policy import SharedView
from projections.diff import VersionDiff, diff_versions
from projections.timeline import Entry, Timeline, agreement_at
from projections.timeline import evolve as evolve_timeline
from service.commands.runner import CommandRunner
from service.read.models import ReadModels
from service.store import EventStore
from service.store.mapper import MsgspecMapper
from service.views import AgreementSummary, AgreementView, ClauseView, clause_views
from service.visibility import AudienceView, GrantView, Names, Visibility


class AgreementAtVersion(msgspec.Struct, frozen=True, kw_only=True):
    """An agreement's content at one version, for a party to export or print."""

    view: AgreementView
    version: int
    #: Whether it is the version in force now.
    in_force: bool
    clauses: list[ClauseView]


class Queries:
    def __init__(
        self,
        store: EventStore,
        mapper: MsgspecMapper,
        commands: CommandRunner,
        models: ReadModels,
        visibility: Visibility,
        names: Names,
        secret: Callable[[], bytes],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.mapper = mapper
        self.commands = commands
        self.models = models
        self.visibility = visibility
        self.names = names
        self.secret = secret
        self.clock = clock

    async def _as_party(self, caller: UUID, agreement_id: UUID) -> Agreement:
        agreement = await self.commands.load(Agreement, agreement_id)
        policy.check_party(caller, agreement_id, agreement.parties)
        return agreement

    async def view_agreement(
        self, caller: UUID, agreement_id: UUID, *, known_head: int | None = None
    ) -> AgreementView | AgreementSummary | SharedView:
        """A party's full view, an invitee's summary, a metamour's consented view, or 404.

        A party always sees the agreement's current state, on any process: the
        cached one when the log holds nothing newer, else its stream read afresh.
        Nothing newer: the read models have reached `known_head` (the log's last
        position when the request was signed in: the cached aggregate is exact at
        the read models' position), or one indexed lookup says so. A metamour's view is the read models' (as every
        push is). Anyone else's read loads the stream too, so a stranger's 404
        costs the same whether or not the agreement exists. The one view
        function decides each.
        """
        # The aggregate is exact at this position at least: one cached is kept current by the follower,
        # and one read from its stream meanwhile holds everything up to where the follower stood as
        # the read began (the follower may pass `known_head` during that read, the stream read not).
        exact_at = self.models.position
        cached = await self.models.agreement(agreement_id)
        if cached is not None and policy.relation(caller, cached.parties, cached.invitees) is None:
            if (shared := await self.visibility.shared(caller, agreement_id)) is not None:
                return shared
        caught_up = known_head is not None and exact_at >= known_head
        if cached is not None and (caught_up or not await self.store.read_stream(agreement_id, gt=cached.version, limit=1)):
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
            if (agreement := await self.models.agreement(agreement_id)) is not None and not (
                relation == "invited" and await self.visibility.invitation_hidden(caller, agreement)
            ):
                summaries.append(AgreementSummary(agreement_id=agreement_id, title=agreement.title, relation=relation))
        for agreement_id in set(index.granted) - set(index.agreements):
            if await self.visibility.shared(caller, agreement_id) is not None:
                summaries.append(AgreementSummary(agreement_id=agreement_id, relation="shared"))
        return sorted(summaries, key=lambda s: str(s.agreement_id))

    async def invitation(self, caller: UUID, agreement_id: UUID) -> policy.InvitationView:
        """An invitation as its invitee may see it: the title, who invited them, and the parties,
        named as `domain.policy.view_invitation` decides."""
        agreement = await self.commands.load(Agreement, agreement_id)
        if await self.visibility.invitation_hidden(caller, agreement):
            raise NotFound("agreement", agreement_id)
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
            self.secret(),
        )
        if view is None:
            raise NotFound("agreement", agreement_id)
        return view

    async def timeline(self, caller: UUID, agreement_id: UUID) -> Timeline:
        """The whole history, for its parties: the agreement and its timeline from one read of its stream."""
        agreement, state = None, Timeline()
        for stored in await self.store.read_stream(agreement_id):
            event = self.mapper.to_domain_event(stored)
            agreement = event.mutate(agreement)
            state = evolve_timeline(state, event, stored.position)
        if not isinstance(agreement, Agreement):
            raise NotFound("agreement", agreement_id)
        policy.check_party(caller, agreement_id, agreement.parties)
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

    async def network(self, caller: UUID) -> policy.NetworkView:
        return await self.visibility.network(caller)

    async def grants(self, caller: UUID, agreement_id: UUID) -> list[GrantView]:
        """An agreement's sharing grants, for its parties (as it is now, from its stream)."""
        current = await self.commands.load_if_any(Agreement, agreement_id)
        views = await self.visibility.grants(caller, agreement_id, current)
        if views is None:
            raise NotFound("agreement", agreement_id)
        return views

    async def who_can_see(self, caller: UUID, agreement_id: UUID, clause_id: UUID) -> list[AudienceView]:
        return (await self._who_can_see(caller, agreement_id, clause_id))[clause_id]

    async def audiences(self, caller: UUID, agreement_id: UUID) -> dict[UUID, list[AudienceView]]:
        """Who can see each clause in force ("shared with N"), for a party: one read for them all."""
        return await self._who_can_see(caller, agreement_id)

    async def _who_can_see(
        self, caller: UUID, agreement_id: UUID, clause_id: UUID | None = None
    ) -> dict[UUID, list[AudienceView]]:
        """`clause_id`'s audiences, or (None) those of every clause in force."""
        await self._as_party(caller, agreement_id)
        fact = await self.models.agreement_fact(agreement_id)
        if fact is None:
            raise NotFound("agreement", agreement_id)
        grants = await self.models.grant_facts(agreement_id)
        network = await self.models.network_touching({*fact.parties, *(g.audience for g in grants)})
        clauses = [clause_id] if clause_id is not None else [c.clause_id for c in fact.clauses_in_force]
        reasons = {c: policy.who_can_see(caller, fact, c, grants, network, self.clock()) for c in clauses}
        await self.names.load({p for found in reasons.values() for r in found for p in (r.audience, r.party, r.partner)})
        return {c: [self.visibility.audience_view(r, caller, network) for r in found] for c, found in reasons.items()}

    async def preview(self, caller: UUID, agreement_id: UUID, grant_id: UUID) -> policy.GrantPreview:
        """See what they see: for a party, the agreement as a grant's audience sees it."""
        return await self.visibility.preview(caller, agreement_id, grant_id)

    async def agreement_to_export(
        self, caller: UUID, agreement_id: UUID, version: int | None
    ) -> AgreementAtVersion | SharedView:
        """What `caller` may export of an agreement: for a party, its content at `version` (by
        default the version in force, else the latest); for a metamour, exactly their view.

        A metamour has no versions to name (their view counts none), so asking for one is
        asking for something they may not see; a grant that says "do not reshare" refuses
        the export (403: they know the agreement exists). Anyone else: not found.
        """
        view = await self.view_agreement(caller, agreement_id)
        if isinstance(view, SharedView):
            policy.check_may_export(view, version)
            return view
        if not isinstance(view, AgreementView):
            raise NotFound("agreement", agreement_id)
        state = await self.timeline(caller, agreement_id)
        chosen = version if version is not None else state.in_force_version if state.in_force_version is not None else state.version
        content = agreement_at(state, chosen)
        if content is None:
            raise NotFound("version", agreement_id)
        return AgreementAtVersion(
            view=view, version=chosen, in_force=chosen == state.in_force_version, clauses=clause_views(dict(content))
        )
