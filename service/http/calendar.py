"""The calendar: everything on my calendar in a window, as much of each as I may see.

Plans and check-in occurrences I take part in are there in full; a partner's time, as busy,
when they show it to me; a metamour's, only through a grant with `events` or `events:busy`.
Nothing else, not even that it exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.responses import READ, UNPROCESSABLE
from service.visibility import CalendarView


class CalendarController(Controller):
    path = "/api/calendar"
    tags = ["calendar"]
    dependencies = CALLER

    @get(
        "/",
        summary="My calendar from `from` to `to` (at most 470 days; by default a week from today, UTC)",
        responses={**READ, **UNPROCESSABLE},
    )
    async def window(
        self,
        accord: AccordDep,
        caller: Caller,
        start: Annotated[datetime | None, QueryParameter(name="from")] = None,
        end: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> CalendarView:
        return await accord.calendar_reads.window(caller, start, end)
