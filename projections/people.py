"""Each person's index: the agreements they are in or invited to, the grants naming them, their links.

One document per person (keyed by their id), so that what one person's views
need is one read, however long the log: "my agreements", which agreements
were shared with them, and whose partner links they are one of.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

from domain.agreement import Agreement
from domain.grants import SharingGrant
from domain.network import PartnerLink
from projections.projection import Projection

Relation = str  # "party" or "invited"


class Person(msgspec.Struct):
    #: agreement -> how they are in it: `party` or `invited`.
    agreements: dict[UUID, Relation] = {}
    #: Agreements with a sharing grant naming them as its audience (any state).
    granted: list[UUID] = []
    #: Partner links (any status) they are one of the two people of.
    links: list[UUID] = []


HANDLES = (
    Agreement.Created,
    Agreement.PartyInvited,
    Agreement.InvitationAccepted,
    Agreement.InvitationDeclined,
    Agreement.PartyLeft,
    Agreement.Discarded,
    SharingGrant.Proposed,
    PartnerLink.Proposed,
)


def keys(event: object) -> Iterable[str]:
    match event:
        case Agreement.Created():
            return (str(event.creator),)
        case Agreement.PartyInvited():
            return (str(event.invitee),)
        case Agreement.InvitationAccepted() | Agreement.InvitationDeclined() | Agreement.PartyLeft():
            return (str(event.by),)
        case Agreement.Discarded():
            return tuple(str(person) for person in event.people)
        case SharingGrant.Proposed():
            return (str(event.audience),)
        case PartnerLink.Proposed():
            return (str(event.proposer), str(event.other))
    return ()


def evolve(person: Person | None, event: object) -> Person | None:
    """Fold one event into one of the people it names (a copy: documents are values)."""
    person = Person() if person is None else msgspec.structs.replace(person)
    agreement_id: UUID = event.originator_id  # type: ignore[attr-defined]
    match event:
        case Agreement.Created():
            person.agreements = {**person.agreements, agreement_id: "party"}
        case Agreement.PartyInvited():
            person.agreements = {**person.agreements, agreement_id: "invited"}
        case Agreement.InvitationAccepted():
            person.agreements = {**person.agreements, agreement_id: "party"}
        case Agreement.InvitationDeclined() | Agreement.PartyLeft() | Agreement.Discarded():
            person.agreements = {a: r for a, r in person.agreements.items() if a != agreement_id}
        case SharingGrant.Proposed() if event.agreement_id not in person.granted:
            person.granted = [*person.granted, event.agreement_id]
        case PartnerLink.Proposed() if event.originator_id not in person.links:
            person.links = [*person.links, event.originator_id]
    return person


PROJECTION = Projection(name="people", document=Person, handles=HANDLES, keys=keys, evolve=evolve)
