"""Consented views of everything, for every person, from this process's read models.

The one place the service asks `domain.policy` what someone may see: HTTP
reads of shared agreements and the network, and every websocket push, come
from here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from uuid import UUID

import msgspec

from domain import policy
from service.readmodels import ReadModels, Touched
from service.views import AgreementSummary, party_view

NETWORK = "network"
AGREEMENT = "agreement:"
GRANTS = "grants:"


class GrantSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A sharing grant as pushed to the agreement's parties (the full view is GET …/grants)."""

    grant_id: UUID
    audience_handle: str
    scopes: tuple[str, ...]
    until: datetime | None
    no_reshare: bool
    consented_by: tuple[UUID, ...]
    revoked: bool
    lapsed: bool

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

    def grants(self, viewer: UUID, agreement_id: UUID) -> list[GrantSummary] | None:
        """The agreement's grants, for its parties only."""
        agreement = self.models.agreements.get(agreement_id)
        if agreement is None or viewer not in agreement.parties:
            return None
        return [
            GrantSummary(
                grant_id=grant.id,
                audience_handle=grant.handle,
                scopes=tuple(grant.scopes),
                until=grant.until,
                no_reshare=grant.no_reshare,
                consented_by=tuple(p for p in agreement.parties if p in grant.consents),
                revoked=grant.is_revoked,
                lapsed=grant.lapsed,
            )
            for grant in sorted(self.models.grants_for(agreement_id), key=lambda g: str(g.id))
        ]

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

    def ref(self, person: UUID, viewer: UUID) -> policy.PersonRef:
        return policy.person_ref(person, viewer, self.models.network, self.names, self.secret())

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
