"""Consented views of everything, for every person, from this process's read models.

The one place the service asks `domain.policy` what someone may see: HTTP
reads of shared agreements and the network, and every websocket push, come
from here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from domain import policy
from domain.grants import SharingGrant
from service.readmodels import ReadModels, Touched
from service.views import AgreementSummary, party_view

NETWORK = "network"
AGREEMENT = "agreement:"
GRANTS = "grants:"


class AudienceView(msgspec.Struct, frozen=True, kw_only=True):
    """Who sees a clause, through which grant, and along which links."""

    audience: policy.PersonRef
    grant_id: UUID
    party: policy.PersonRef
    partner: policy.PersonRef


class GrantView(msgspec.Struct, frozen=True, kw_only=True):
    """A grant as the agreement's parties see it: GET …/grants and the `grants:<id>` push alike."""

    grant_id: UUID
    agreement_id: UUID
    audience: policy.PersonRef
    audience_handle: str
    """The handle the grant was addressed to: the parties chose the audience by it."""
    scopes: tuple[str, ...]
    until: datetime | None
    no_reshare: bool
    consented_by: tuple[UUID, ...]
    waiting_for: tuple[UUID, ...]
    revoked: bool
    active: bool
    """Every current party consented, and it is neither revoked nor lapsed."""
    holds: bool
    """The audience sees what it grants, now."""
    why_not: policy.WhyNot | None
    """None exactly when it holds; otherwise the first reason it does not (`policy.WhyNot`)."""
    holds_through: AudienceView | None
    """The grant and links it holds through now, named as the viewer may see them."""


encode_view = msgspec.json.Encoder().encode


def agreement_key(agreement_id: UUID) -> str:
    return f"{AGREEMENT}{agreement_id}"


def grants_key(agreement_id: UUID) -> str:
    return f"{GRANTS}{agreement_id}"


class Visibility:
    def __init__(
        self,
        models: ReadModels,
        names: Mapping[UUID, str],
        secret: Callable[[], bytes],
        clock: Callable[[], datetime],
    ) -> None:
        self.models = models
        self.names = names
        self.secret = secret
        self.clock = clock

    # One thing, for one person

    def agreement(self, viewer: UUID, agreement_id: UUID) -> msgspec.Struct | None:
        """What `viewer` may see of an agreement, or None (404: not even that it exists)."""
        agreement = self.models.agreements.get(agreement_id)
        if agreement is None:
            return None
        if viewer in agreement.parties:
            return party_view(agreement, self.names, agreement.invitation_handles)
        if viewer in agreement.invitees:
            return AgreementSummary(agreement_id=agreement_id, title=agreement.title, relation="invited")
        return self.shared(viewer, agreement_id)

    def shared(self, viewer: UUID, agreement_id: UUID) -> policy.AgreementView | None:
        fact = self.models.agreement_fact(agreement_id)
        if fact is None or viewer in fact.parties:
            return None
        return policy.view_agreement(
            viewer,
            fact,
            self.models.grant_facts(agreement_id),
            self.models.network_around(fact.parties),
            self.names,
            self.secret(),
            self.clock(),
        )

    def grants(self, viewer: UUID, agreement_id: UUID) -> list[GrantView] | None:
        """The agreement's grants, for its parties only."""
        agreement = self.models.agreements.get(agreement_id)
        if agreement is None or viewer not in agreement.parties:
            return None
        return self.grant_views(viewer, agreement_id, agreement.parties)

    def grant_views(self, viewer: UUID, agreement_id: UUID, parties: Sequence[UUID]) -> list[GrantView]:
        grants = sorted(self.models.grants_for(agreement_id), key=lambda g: str(g.id))
        return [self.grant_view(viewer, grant, parties) for grant in grants]

    def grant_view(self, viewer: UUID, grant: SharingGrant, parties: Sequence[UUID]) -> GrantView:
        """One grant for one of `parties`; whether it holds, and why not, is the policy's answer.

        The links of the parties and the audience are all the policy looks at, for
        the standing and for the names (whether someone shows a party their name
        turns on links to that party), so only those are handed to it.
        """
        network = self.models.network_touching((*parties, grant.audience))
        standing = policy.grant_standing(policy.grant_fact(grant), parties, network, self.clock())
        return GrantView(
            grant_id=grant.id,
            agreement_id=grant.agreement_id,
            audience=self.ref(grant.audience, viewer, network),
            audience_handle=grant.handle,
            scopes=tuple(grant.scopes),
            until=grant.until,
            no_reshare=grant.no_reshare,
            consented_by=tuple(p for p in parties if p in grant.consents),
            waiting_for=tuple(p for p in parties if p not in grant.consents),
            revoked=grant.is_revoked,
            active=standing.active,
            holds=standing.holds,
            why_not=standing.why_not,
            holds_through=None
            if standing.through is None
            else self.audience_view(standing.through, viewer, network),
        )

    def audience_view(
        self, reason: policy.Reason, viewer: UUID, network: policy.Network | None = None
    ) -> AudienceView:
        """`network`, if given, must hold every link of `viewer` (see `ref`)."""
        return AudienceView(
            audience=self.ref(reason.audience, viewer, network),
            grant_id=reason.grant_id,
            party=self.ref(reason.party, viewer, network),
            partner=self.ref(reason.partner, viewer, network),
        )

    def network(self, viewer: UUID) -> policy.NetworkView:
        relevant = self.involved(viewer)
        facts = [f for a in relevant if (f := self.models.agreement_fact(a)) is not None]
        grants = [g for a in relevant for g in self.models.grant_facts(a)]
        return policy.view_network(
            viewer, self.models.network, self.names, facts, grants, self.secret(), self.clock()
        )

    def involved(self, person: UUID) -> set[UUID]:
        """Agreements `person` is a party of, invited to, or named as a grant's audience in."""
        return set(self.models.memberships.of(person)) | self.models.audiences_of(person)

    def ref(self, person: UUID, viewer: UUID, network: policy.Network | None = None) -> policy.PersonRef:
        """`person` as `viewer` may see them; `discloses` looks only at links between the two,
        so any `network` holding every link of `viewer` (with the disclosures) answers alike."""
        return policy.person_ref(
            person, viewer, self.models.network if network is None else network, self.names, self.secret()
        )

    # Everything that may have changed, encoded for the hub

    def view(self, viewer: UUID, key: str) -> bytes | None:
        found: object
        if key == NETWORK:
            found = self.network(viewer)
        elif key.startswith(GRANTS):
            found = self.grants(viewer, UUID(key.removeprefix(GRANTS)))
        else:
            found = self.agreement(viewer, UUID(key.removeprefix(AGREEMENT)))
        return None if found is None else encode_view(found)

    def keys(self, person: UUID, shown: Iterable[str]) -> set[str]:
        involved = self.involved(person)
        return {
            NETWORK,
            *shown,
            *(agreement_key(a) for a in involved),
            *(grants_key(a) for a in involved),
        }

    def fresh(
        self, touched: Touched, shown: Callable[[UUID], Iterable[str]]
    ) -> dict[UUID, dict[str, bytes | None]]:
        fresh: dict[UUID, dict[str, bytes | None]] = {}
        for person in touched.people:
            views = fresh.setdefault(person, {})
            for agreement_id in touched.agreements:
                for key in (agreement_key(agreement_id), grants_key(agreement_id)):
                    views[key] = self.view(person, key)
        for person in touched.network:
            views = fresh.setdefault(person, {})
            for key in self.keys(person, shown(person)):
                views[key] = self.view(person, key)
        return fresh

    def everything(self) -> dict[UUID, dict[str, bytes]]:
        everyone: dict[UUID, dict[str, bytes]] = {}
        for person in self.models.people():
            views = {key: self.view(person, key) for key in self.keys(person, ())}
            everyone[person] = {k: v for k, v in views.items() if v is not None}
        return everyone
