"""Who is a party of, or invited to, which agreement: the index behind "my agreements".

A pure fold over agreement events. The state maps a person to the agreements
they are involved in and how (`party` or `invited`), plus each agreement's title.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.agreement import Agreement

HANDLES = (
    Agreement.Created,
    Agreement.PartyInvited,
    Agreement.InvitationAccepted,
    Agreement.InvitationDeclined,
    Agreement.PartyLeft,
)


class Memberships(msgspec.Struct):
    involved: dict[UUID, dict[UUID, str]] = {}
    titles: dict[UUID, str] = {}

    def of(self, person: UUID) -> dict[UUID, str]:
        return self.involved.get(person, {})


def evolve(state: Memberships, event: object) -> Memberships:
    """Fold one event in place (the service keeps one state per process)."""
    agreement_id: UUID = event.originator_id  # type: ignore[attr-defined]
    match event:
        case Agreement.Created():
            state.titles[agreement_id] = event.title
            state.involved.setdefault(event.creator, {})[agreement_id] = "party"
        case Agreement.PartyInvited():
            state.involved.setdefault(event.invitee, {})[agreement_id] = "invited"
        case Agreement.InvitationAccepted():
            state.involved.setdefault(event.by, {})[agreement_id] = "party"
        case Agreement.InvitationDeclined() | Agreement.PartyLeft():
            state.involved.get(event.by, {}).pop(agreement_id, None)
    return state
