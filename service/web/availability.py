"""The browser app's Availability page: my time zone, what each partner sees of my time, my booking
rules, and my partners' rules as far as they show them to me.

Every form runs the same use case as PUT /api/me/availability, so the same
checks decide; the page follows the `availability` live key.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from domain.availability import RULES, WEEKDAYS
from domain.calendar import SHOWS
from domain.errors import ValidationFailed
from service.application import Accord
from service.http.availability import (
    BufferAfterDateRule,
    ChangeAvailability,
    OvernightNoticeRule,
    PlansPerWeekRule,
    QuietNightsRule,
    SetRules,
)
from service.store.base import Account
from service.web.forms import Failed, Form, FormInvalid, decode
from service.web.pages import ME, Me, act, form_addresses, render

PAGE = "/availability"
#: What each rule's form asks besides its mode and whom it is shown to.
RULE_FORMS: dict[str, tuple[type[Any], str | None]] = {
    "quiet_nights": (QuietNightsRule, None),
    "overnight_notice": (OvernightNoticeRule, "hours"),
    "plans_per_week": (PlansPerWeekRule, "limit"),
    "buffer_after_date": (BufferAfterDateRule, "hours"),
}


def rules_from(form: Form) -> SetRules:
    """The rules as the form sets them: a rule whose box is not ticked is not set."""
    chosen: dict[str, Any] = {}
    for name, (shape, amount) in RULE_FORMS.items():
        if form.get(f"{name}_on") != "1":
            continue
        fields: dict[str, Any] = {"mode": form.get(f"{name}_mode"), "shown_to": form.get(f"{name}_shown_to")}
        if amount is None:
            fields["weekdays"] = form.getall(f"{name}_weekdays")
        else:
            fields[amount] = form.get(f"{name}_{amount}") or None
        try:
            chosen[name] = decode(shape, **fields)
        except FormInvalid as invalid:
            raise FormInvalid({f"{name}_{field}": rule for field, rule in invalid.errors.items()}) from None
    return SetRules(**chosen)


class AvailabilityPages(Controller):
    path = PAGE
    dependencies = ME

    async def _page(self, request: Request, me: Account, live: bool = False, failed: Failed | None = None) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.availability_reads.mine(me.person_id)
        context: dict[str, Any] = {
            "section": "availability", "availability": view, "shared": view.theirs, "position": position,
            "rule_names": RULES, "weekdays": WEEKDAYS, "shows": SHOWS,
        }  # fmt: skip
        return render(request, "availability_live.html" if live else "availability.html", context, me=me, failed=failed)

    async def _change(self, request: Request, me: Account, form_id: str, change: Any) -> Response[Any]:
        accord: Accord = request.app.state.accord

        async def action(form: Form) -> None:
            data: ChangeAvailability = change(form)
            try:
                await accord.availabilities.change(me.person_id, data.change(), form.key)
            except ValidationFailed as refused:
                # "rules.quiet_nights.weekdays" is shown beside the form's field "quiet_nights_weekdays".
                raise ValidationFailed(refused.field.removeprefix("rules.").replace(".", "_"), refused.rule) from None

        return await act(request, me.person_id, form_id, action, lambda f: self._page(request, me, failed=f), f"{PAGE}#{form_id}")

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/live")
    async def live(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, live=True)

    @post("/time-zone")
    async def time_zone(self, request: Request, me: Me) -> Response[Any]:
        return await self._change(request, me, "time-zone", lambda form: decode(ChangeAvailability, time_zone=form.get("time_zone")))

    @post("/partners")
    async def partners(self, request: Request, me: Me) -> Response[Any]:
        def change(form: Form) -> ChangeAvailability:
            choices = [
                {"person_id": name.removeprefix("shows_"), "shows": value}
                for name, value in form.values.items()
                if name.startswith("shows_")
            ]
            return decode(ChangeAvailability, partners=choices)

        return await self._change(request, me, "partners", change)

    @post("/rules")
    async def rules(self, request: Request, me: Me) -> Response[Any]:
        return await self._change(request, me, "rules", lambda form: ChangeAvailability(rules=rules_from(form)))

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

