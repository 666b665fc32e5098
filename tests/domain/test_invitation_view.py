"""An invitation as its invitee sees it: who invited them, and the parties as the policy names them."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.network import Interval
from domain.policy import LinkFact, Network, view_invitation

SECRET = b"test secret"


def test_the_policy_names_the_inviter_and_the_parties_only_as_it_names_them_anywhere() -> None:
    ana, ben, cleo, dee = (uuid.uuid4() for _ in range(4))
    names = {ana: "Ana", ben: "Ben", cleo: "Cleo", dee: "Dee"}
    since = Interval(confirmed_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    partners = LinkFact(a=ana, b=cleo, status="live", proposer=ana, intervals=(since,))
    network = Network(links=(partners,))
    agreement_id = uuid.uuid4()

    def seen_by(viewer: UUID, invitations: dict[UUID, UUID]) -> Any:
        return view_invitation(viewer, agreement_id, "Sundays", "drafting", (ana, ben, dee), invitations, network, names, SECRET)

    view = seen_by(cleo, {cleo: ben})
    assert view is not None
    # Inviting someone is introducing oneself: Ben is named though he and Cleo have no link.
    assert (view.invited_by.name, view.invited_by.person_id) == ("Ben", ben)
    shown = {ref.name for ref in view.parties}
    assert {"Ana", "Ben"} <= shown, "Ana is Cleo's partner: her name is shown to Cleo anyway"
    (dee_ref,) = [ref for ref in view.parties if ref.name not in ("Ana", "Ben")]
    assert dee_ref.name.startswith("Someone (") and dee_ref.person_id is None, "nothing ties Dee to Cleo"
    # Not invited (or no longer): nothing at all, as for an agreement that does not exist.
    assert seen_by(cleo, {}) is None
    assert seen_by(dee, {cleo: ben}) is None
