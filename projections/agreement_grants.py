"""Each agreement's sharing grants: one document per agreement, listing its grants' ids."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

from domain.grants import SharingGrant
from projections.projection import Projection


class AgreementGrants(msgspec.Struct):
    grants: list[UUID] = []


HANDLES = (SharingGrant.Proposed,)


def keys(event: object) -> Iterable[str]:
    if isinstance(event, SharingGrant.Proposed):
        return (str(event.agreement_id),)
    return ()


def evolve(document: AgreementGrants | None, event: object) -> AgreementGrants | None:
    grants = [] if document is None else document.grants
    grant_id: UUID = event.originator_id  # type: ignore[attr-defined]
    return AgreementGrants(grants=grants if grant_id in grants else [*grants, grant_id])


PROJECTION = Projection(name="agreement_grants", document=AgreementGrants, handles=HANDLES, keys=keys, evolve=evolve)
