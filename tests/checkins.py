"""What tests of check-ins share: a cadence that starts soon, and a moment after it, relative to today.

Relative, because a series may start at most a year back and five ahead of the day it is made on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

#: A month ahead: the first occurrence is always in the future, the second over a week after it.
STARTS_ON = (date.today() + timedelta(days=30)).isoformat()
#: A moment after the first occurrence, for moving it.
LATER = datetime.combine(date.today() + timedelta(days=60), time(18), tzinfo=timezone.utc).isoformat()


def weekly(**more: Any) -> dict[str, Any]:
    """Tuesdays at 19:00 in Berlin, from a month from now, with `more` (a partner or an agreement)."""
    return {"kind": "weekly", "weekday": 1, "at": "19:00", "time_zone": "Europe/Berlin", "starts_on": STARTS_ON, **more}
