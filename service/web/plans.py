"""The browser app's plan pages: my plans with the propose form, and one plan (answer, reschedule,
cancel, history).

Each form runs the same use case as /api/plans (service/commands/plans.py), so the same policy
decides: a plan someone does not take part in is "not found". Times are typed as the plan's own
clock shows them (a date and time in its time zone), and shown that way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from domain.cadence import zone
from domain.calendar import PLAN_KINDS
from domain.errors import ValidationFailed
from domain.plans import Plan
from service.application import Accord
from service.http.deps import AccordDep
from service.http.plans import AnswerPlan, CancelPlan, ProposePlan, ReschedulePlan
from service.store.base import Account
from service.web import present
from service.web.forms import Failed, Form, FormInvalid, decode
from service.web.pages import ME, Me, act, form_addresses, render, see_other

Id = FromPath[UUID]
PAGE = "/plans"
ANSWER_WORDS = {"pending": "has not answered", "accepted": "accepted", "declined": "declined"}


def moment(form: Form, name: str, time_zone: str) -> str:
    """A `datetime-local` field read on the plan's own clock, as an aware moment."""
    try:
        zone(time_zone)
    except ValidationFailed:
        raise FormInvalid({"time_zone": "must be a time zone such as Europe/Berlin"}) from None
    try:
        local = datetime.fromisoformat(form.get(name) or "")
    except ValueError:
        raise FormInvalid({name: "must be a date and time"}) from None
    return local.replace(tzinfo=zone(time_zone)).isoformat()


def local_input(at: datetime, time_zone: str) -> str:
    """A moment as a `datetime-local` field's value on the plan's clock."""
    return at.astimezone(zone(time_zone)).strftime("%Y-%m-%dT%H:%M")


class PlanPages(Controller):
    path = PAGE
    dependencies = ME

    async def _list(self, request: Request, me: Account, failed: Failed | None = None, *, live: bool = False) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        network = await accord.queries.network(me.person_id)
        plans = await accord.plan_reads.mine(me.person_id)
        now = accord.clock()
        context: dict[str, Any] = {
            "section": "plans",
            "upcoming": [p for p in plans if p.end >= now],
            "past": [p for p in reversed(plans) if p.end < now],
            "partners": network.live_partners(),
            "kinds": PLAN_KINDS,
            # The propose form's clock: my own time zone (Availability).
            "time_zone": await accord.visibility.availability_views.time_zone(me.person_id),
            "answers": ANSWER_WORDS,
            "when": present.local_when,
            # Chosen with the form, so sending it twice proposes one plan and lands on it.
            "new_plan_id": uuid4(),
            "position": position,
        }
        return render(request, "plans_live.html" if live else "plans.html", context, me=me, failed=failed)

    @get("/")
    async def mine(self, request: Request, me: Me) -> Template:
        return await self._list(request, me)

    @get("/live")
    async def live_list(self, request: Request, me: Me) -> Template:
        return await self._list(request, me, live=True)

    @post("/")
    async def propose(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        form_plan: dict[str, UUID] = {}

        async def action(form: Form) -> None:
            time_zone = form.get("time_zone") or "UTC"
            data = decode(
                ProposePlan,
                kind=form.get("kind"),
                title=form.get("title"),
                place=form.get("place") or None,
                start=moment(form, "start", time_zone),
                end=moment(form, "end", time_zone),
                time_zone=time_zone,
                partner_ids=form.getall("partner_ids"),
                plan_id=form.get("plan_id") or None,
            )
            form_plan["id"] = data.plan_id or uuid4()
            await accord.plans.propose(
                me.person_id, [], data.partner_ids, data.kind, data.title, data.place, data.start, data.end,
                data.time_zone, form.key, plan_id=form_plan["id"],
            )  # fmt: skip

        response = await act(request, me.person_id, "propose", action, lambda f: self._list(request, me, f), PAGE)
        return see_other(f"{PAGE}/{form_plan['id']}") if response.status_code == 303 and "id" in form_plan else response

    # One plan

    async def _page(
        self, request: Request, me: Account, plan_id: UUID, failed: Failed | None = None, *, live: bool = False
    ) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.plan_reads.view(me.person_id, plan_id)
        plan = await accord.models.aggregate(Plan, plan_id)
        context: dict[str, Any] = {
            "section": "plans",
            "p": view,
            # Booking rules it breaks now, as far as their owners show them to me.
            "booking": await accord.bookings.notes(me.person_id, plan) if plan and plan.slot().holds_time else [],
            "answers": ANSWER_WORDS,
            "when": lambda at: present.local_when(at, view.time_zone),
            "local_input": lambda at: local_input(at, view.time_zone),
            "i_proposed_these": view.proposed_by.person_id == me.person_id,
            "position": position,
        }
        return render(request, "plan_live.html" if live else "plan.html", context, me=me, failed=failed)

    async def _act(self, request: Request, me: Account, plan_id: UUID, form_id: str, action: Any) -> Response[Any]:
        refused = lambda f: self._page(request, me, plan_id, f)  # noqa: E731
        return await act(request, me.person_id, form_id, action, refused, f"{PAGE}/{plan_id}")

    @get("/{plan_id:uuid}")
    async def plan(self, request: Request, me: Me, plan_id: Id) -> Template:
        return await self._page(request, me, plan_id)

    @get("/{plan_id:uuid}/live")
    async def live(self, request: Request, me: Me, plan_id: Id) -> Template:
        return await self._page(request, me, plan_id, live=True)

    @post("/{plan_id:uuid}/answer")
    async def answer(self, request: Request, accord: AccordDep, me: Me, plan_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(AnswerPlan, answer=form.get("answer"), note=form.get("note") or None, proposal=form.get("proposal"))
            await accord.plans.answer(me.person_id, plan_id, data.answer, data.note, data.proposal, form.key)

        return await self._act(request, me, plan_id, "answer", action)

    @post("/{plan_id:uuid}/reschedule")
    async def reschedule(self, request: Request, accord: AccordDep, me: Me, plan_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            time_zone = form.get("time_zone") or "UTC"
            data = decode(
                ReschedulePlan,
                start=moment(form, "start", time_zone),
                end=moment(form, "end", time_zone),
                time_zone=time_zone,
                place=form.get("place") or None,
                note=form.get("note") or None,
            )
            await accord.plans.reschedule(
                me.person_id, plan_id, data.start, data.end, data.place, data.time_zone, data.note, form.key
            )

        return await self._act(request, me, plan_id, "reschedule", action)

    @post("/{plan_id:uuid}/cancel")
    async def cancel(self, request: Request, accord: AccordDep, me: Me, plan_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(CancelPlan, note=form.get("note") or None)
            await accord.plans.cancel(me.person_id, plan_id, data.note, form.key)

        return await self._act(request, me, plan_id, "cancel", action)

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        plan_id = request.path_params.get("plan_id")
        if plan_id is None:
            return await self._list(request, me, present.reloaded())
        return await self._page(request, me, plan_id, present.reloaded())
