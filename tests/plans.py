"""Plans as the tests propose them: one body for POST /api/plans, the same in every test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

#: A Friday evening in December (Europe/Berlin is UTC+1 then).
START = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


class Invitee(Protocol):
    handle: str


def plan_body(*invitees: Invitee, **overrides: Any) -> dict[str, Any]:
    """A three-hour date at START, for `invitees` by handle; `overrides` replace any field."""
    body: dict[str, Any] = {
        "kind": "date",
        "title": "Dinner at the harbour",
        "place": "Harbour kitchen",
        "start": START.isoformat(),
        "end": (START + timedelta(hours=3)).isoformat(),
        "time_zone": "Europe/Berlin",
        "invitees": [p.handle for p in invitees],
    }
    return {**body, **overrides}
