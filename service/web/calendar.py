"""The browser app's calendar: a week and a month of one's time, in one's own time zone, live.

Both pages render GET /api/calendar's entries (the one view function), laid out by local day in
the zone the person chose in their availability settings. A plan one takes part in links to its
page, a check-in occurrence to its series; a partner's or metamour's busy time is only that.
Entries of one's own that overlap are marked as conflicts. The pages follow the `calendar` key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from domain.cadence import zone
from domain.calendar import CHECK_IN, PLAN_KINDS
from domain.policy import CalendarEntry
from service.application import Accord
from service.web.pages import ME, Me, render

PAGE = "/calendar"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Shown:
    """One entry as one day of the page shows it."""

    entry: CalendarEntry
    #: Local times on this day ("" where it runs on from the day before or into the next).
    starts: str
    ends: str
    label: str
    link: str | None

    @property
    def conflict(self) -> bool:
        return bool(self.entry.conflicts)


@dataclass
class Day:
    day: date
    today: bool
    #: In the month shown (a month page shows whole weeks).
    inside: bool = True
    entries: list[Shown] = field(default_factory=list)


def label(entry: CalendarEntry) -> str:
    """What it is, in words: its title, else its kind; busy time says only whose it is."""
    if entry.sight == "busy":
        return f"{entry.people[0].name}: busy"
    if entry.kind == CHECK_IN:
        return "Check-in"
    return entry.title or PLAN_KINDS.get(entry.kind or "", "Plan")


def link(entry: CalendarEntry) -> str | None:
    if entry.plan_id is not None:
        return f"/plans/{entry.plan_id}"
    if entry.check_in_id is not None:
        return f"/check-ins/{entry.check_in_id}"
    return None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def lay_out(entries: tuple[CalendarEntry, ...], first: date, days: int, tz: ZoneInfo, today: date) -> list[Day]:
    """Each local day from `first`, with the entries that touch it (one that runs overnight shows on both days)."""
    laid = [Day(day=first + timedelta(days=i), today=first + timedelta(days=i) == today) for i in range(days)]
    for entry in entries:
        start, end = entry.start.astimezone(tz), entry.end.astimezone(tz)
        for slot in laid:
            begins, ends = local_midnight(slot.day, tz), local_midnight(slot.day + timedelta(days=1), tz)
            if not (entry.start < ends and begins < entry.end):
                continue
            slot.entries.append(
                Shown(
                    entry=entry,
                    starts=start.strftime("%H:%M") if start.date() == slot.day else "",
                    ends=end.strftime("%H:%M") if end.date() == slot.day else "",
                    label=label(entry),
                    link=link(entry),
                )
            )
    return laid


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_day(text: str | None, today: date) -> date:
    """A date from the address (YYYY-MM-DD, or YYYY-MM for a month); today when there is none or it is not one."""
    if text:
        try:
            return date.fromisoformat(text if len(text) > 7 else f"{text}-01")
        except ValueError:
            pass
    return today


class CalendarPages(Controller):
    path = PAGE
    dependencies = ME

    async def _page(self, request: Request, me: Me, view: str, at: str | None, live: bool) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        tz_name = await accord.visibility.availability_views.time_zone(me.person_id)
        tz = zone(tz_name)
        today = accord.clock().astimezone(tz).date()
        day = parse_day(at, today)
        if view == "month":
            month_start = day.replace(day=1)
            first = week_of(month_start)
            next_month = (month_start + timedelta(days=32)).replace(day=1)
            days = (week_of(next_month - timedelta(days=1)) + timedelta(days=7) - first).days
            previous, following = (month_start - timedelta(days=1)).replace(day=1), next_month
            title = month_start.strftime("%B %Y")
        else:
            first = week_of(day)
            days = 7
            previous, following = first - timedelta(days=7), first + timedelta(days=7)
            title = f"Week of {first.strftime('%-d %B %Y')}"
        calendar = await accord.calendar_reads.window(
            me.person_id, local_midnight(first, tz), local_midnight(first + timedelta(days=days), tz)
        )
        laid = lay_out(calendar.entries, first, days, tz, today)
        if view == "month":
            for slot in laid:
                slot.inside = slot.day.month == day.month
        context: dict[str, Any] = {
            "section": "calendar",
            "view": view,
            "title": title,
            "at": (first if view == "week" else day.replace(day=1)).isoformat(),
            "weeks": [laid[i : i + 7] for i in range(0, len(laid), 7)],
            "weekdays": WEEKDAYS,
            "previous": previous.isoformat(),
            "following": following.isoformat(),
            "time_zone": tz_name,
            "conflicts": sum(1 for e in calendar.entries if e.conflicts),
            "position": position,
        }
        return render(request, "calendar_live.html" if live else "calendar.html", context, me=me)

    @get("/")
    async def week(self, request: Request, me: Me, at: Annotated[str | None, QueryParameter(name="week", max_length=10)] = None) -> Template:
        return await self._page(request, me, "week", at, live=False)

    @get("/month")
    async def month(self, request: Request, me: Me, at: Annotated[str | None, QueryParameter(name="month", max_length=10)] = None) -> Template:
        return await self._page(request, me, "month", at, live=False)

    @get("/live")
    async def live(
        self,
        request: Request,
        me: Me,
        view: Annotated[str, QueryParameter(name="view", max_length=5)] = "week",
        at: Annotated[str | None, QueryParameter(name="at", max_length=10)] = None,
    ) -> Template:
        return await self._page(request, me, "month" if view == "month" else "week", at, live=True)
