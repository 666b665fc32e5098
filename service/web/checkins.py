"""The browser app's check-in pages: my check-ins, one series with its open occurrence, and the forms.

Each handler runs the same use case as the JSON API (service/commands/checkins.py),
so the same consent policy decides: a series someone does not take part in is
"not found". Preparation is saved as one types (static/checkin.js posts the
form after a pause in typing, with `Accord-Fragment`, and gets 204); without
script it is saved with its button.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from domain.agreement import ClauseChange
from domain.cadence import Cadence, starts_at, zone
from domain.checkins import DEFAULT_PROMPTS
from domain.errors import NotFound
from domain.policy import CheckInView
from service.application import Accord
from service.http.deps import AccordDep
from service.http.wire import (
    CloseOccurrence,
    MoveOccurrence,
    Prepare,
    SkipOccurrence,
    StartCheckIn,
)
from service.views import AgreementView
from service.web import present
from service.web.forms import Failed, Form, FormInvalid, decode, failed, read_form
from service.web.pages import (
    ME,
    REFUSALS,
    Action,
    Me,
    form_addresses,
    render,
    see_other,
)

Id = FromPath[UUID]
Index = FromPath[int]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STATUS_WORDS = {
    "open": "coming up",
    "closed": "plan agreed",
    "skipped": "skipped",
    # Without blame: it did not happen, that is all.
    "missed": "did not happen",
}


def local_when(moment: datetime | None, time_zone: str) -> str:
    """A moment as the series' own clock shows it."""
    if moment is None:
        return ""
    return moment.astimezone(zone(time_zone)).strftime(f"%a %-d %b %Y, %H:%M ({time_zone})")


def cadence_words(cadence: Cadence) -> str:
    every = "" if cadence.every == 1 else f" every {cadence.every} {'weeks' if cadence.kind == 'weekly' else 'months'}"
    if cadence.kind == "weekly":
        assert cadence.weekday is not None
        return f"{WEEKDAYS[cadence.weekday]}s at {cadence.at}{every}, {cadence.time_zone}"
    return f"Monthly on day {cadence.day} at {cadence.at}{every}, {cadence.time_zone}"


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _is_fragment(request: Request) -> bool:
    return bool(request.headers.get("accord-fragment"))


class CheckInPages(Controller):
    path = "/check-ins"
    dependencies = ME

    # My check-ins

    async def _list(self, request: Request, me: Any, failed_form: Failed | None = None) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        network = await accord.queries.network(me.person_id)
        partners = network.live_partners()
        agreements = [s for s in await accord.queries.my_agreements(me.person_id) if s.relation == "party"]
        context = {
            "check_ins": await accord.check_in_reads.mine(me.person_id),
            "partners": partners,
            "agreements": agreements,
            "weekdays": WEEKDAYS,
            "default_prompts": "\n".join(DEFAULT_PROMPTS),
            "today": date.today().isoformat(),
            # Chosen with the form, so sending it twice starts one series and lands on it.
            "new_check_in_id": uuid4(),
            "position": position,
        }
        return render(request, "checkins.html", context, me=me, failed=failed_form)

    @get("/")
    async def mine(self, request: Request, me: Me) -> Template:
        return await self._list(request, me)

    @post("/")
    async def start(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        form = await read_form(request, me.person_id)
        try:
            kind, _, basis = (form.get("with") or "").partition(":")
            weekly = form.get("kind") != "monthly"
            data = decode(
                StartCheckIn,
                kind=form.get("kind"),
                at=form.get("at"),
                time_zone=form.get("time_zone"),
                starts_on=form.get("starts_on"),
                every=form.get("every") or 1,
                weekday=form.get("weekday") if weekly else None,
                day=form.get("day") if not weekly else None,
                partner_id=basis if kind == "partner" else None,
                agreement_id=basis if kind == "agreement" else None,
                prompts=lines(form.get("prompts")) or None,
                check_in_id=form.get("check_in_id"),
            )
            cadence = Cadence(
                kind=data.kind, at=data.at, time_zone=data.time_zone, starts_on=data.starts_on,
                every=data.every, weekday=data.weekday, day=data.day,
            )  # fmt: skip
            check_in_id = data.check_in_id or uuid4()
            await accord.check_ins.start(
                me.person_id, cadence, data.prompts, form.key,
                partner_id=data.partner_id, agreement_id=data.agreement_id, check_in_id=check_in_id,
            )  # fmt: skip
        except REFUSALS as error:
            return await self._list(request, me, failed("start", form, error))
        return see_other(f"/check-ins/{check_in_id}")

    # One series

    async def _page(
        self, request: Request, me: Any, check_in_id: UUID, failed_form: Failed | None = None, *, live: bool = False
    ) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.check_in_reads.view(me.person_id, check_in_id)
        context = {
            "c": view,
            "open": next((o for o in view.occurrences if o.index == view.open_index), None),
            "past": [o for o in view.occurrences if o.index != view.open_index],
            "cadence": cadence_words(view.cadence),
            "when": lambda moment: local_when(moment, view.cadence.time_zone),
            "status_words": STATUS_WORDS,
            "now": accord.clock(),
            # The cadence's next few dates after the open one (each opens when the one before it ends).
            "upcoming": [starts_at(view.cadence, i) for i in range(view.open_index + 1, view.open_index + 4)]
            if view.open_index is not None and view.status == "active"
            else [],
            "position": position,
            "targets": await self._targets(accord, me.person_id, view),
        }
        template = "checkin_live.html" if live else "checkin.html"
        return render(request, template, context, me=me, failed=failed_form)

    async def _targets(self, accord: Accord, person: UUID, view: CheckInView) -> list[tuple[AgreementView, Any]]:
        """Clauses an action point may propose to change: of agreements in force whose parties are the participants."""
        ids = [view.agreement_id] if view.agreement_id else [
            s.agreement_id for s in await accord.queries.my_agreements(person) if s.relation == "party"
        ]
        found = []
        for agreement_id in ids:
            try:
                agreement = await accord.queries.view_agreement(person, agreement_id)
            except NotFound:
                continue
            same_people = isinstance(agreement, AgreementView) and {p.person_id for p in agreement.parties} == {
                p.person_id for p in view.participants
            }
            if same_people and agreement.status == "in_force":
                found += [(agreement, clause) for clause in agreement.clauses]
        return found

    async def _act(self, request: Request, me: Any, check_in_id: UUID, form_id: str, action: Action) -> Response[Any]:
        form = await read_form(request, me.person_id)
        try:
            await action(form)
        except REFUSALS as error:
            refusal = failed(form_id, form, error)
            if _is_fragment(request):
                # The script saving as one types says so beside the form; the page is not sent.
                return Response(content=refusal.message or "; ".join(refusal.errors.values()), status_code=refusal.status, media_type="text/plain")
            return await self._page(request, me, check_in_id, refusal)
        if _is_fragment(request):
            return Response(content=b"", status_code=204)
        return see_other(f"/check-ins/{check_in_id}#{form_id}")

    @get("/{check_in_id:uuid}")
    async def series(self, request: Request, me: Me, check_in_id: Id) -> Template:
        return await self._page(request, me, check_in_id)

    @get("/{check_in_id:uuid}/live")
    async def live(self, request: Request, me: Me, check_in_id: Id) -> Template:
        return await self._page(request, me, check_in_id, live=True)

    @post("/{check_in_id:uuid}/occurrences/{index:int}/preparation")
    async def prepare(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, index: Index) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(Prepare, answers=form.getall("answer"))
            await accord.check_ins.prepare(me.person_id, check_in_id, index, data.answers, form.key)

        return await self._act(request, me, check_in_id, "prepare", action)

    @post("/{check_in_id:uuid}/occurrences/{index:int}/share")
    async def share(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, index: Index) -> Response[Any]:
        async def action(form: Form) -> None:
            answers = form.getall("answer")
            if answers:
                # What is in the form is what is shared: saved first, in case the last keystrokes were not yet.
                await accord.check_ins.prepare(me.person_id, check_in_id, index, decode(Prepare, answers=answers).answers, None)
            await accord.check_ins.share(me.person_id, check_in_id, index, form.key)

        return await self._act(request, me, check_in_id, "prepare", action)

    @post("/{check_in_id:uuid}/occurrences/{index:int}/close")
    async def close(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, index: Index) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(CloseOccurrence, plan=form.get("plan"), action_points=lines(form.get("action_points")))
            await accord.check_ins.close(me.person_id, check_in_id, index, data.plan, data.action_points, form.key)

        return await self._act(request, me, check_in_id, "close", action)

    @post("/{check_in_id:uuid}/occurrences/{index:int}/move")
    async def move(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, index: Index) -> Response[Any]:
        async def action(form: Form) -> None:
            view = await accord.check_in_reads.view(me.person_id, check_in_id)
            to = form.get("to") or ""
            try:
                moment = datetime.fromisoformat(to).replace(tzinfo=zone(view.cadence.time_zone))
            except ValueError:
                raise FormInvalid({"to": "must be a date and time"}) from None
            data = decode(MoveOccurrence, to=moment.isoformat(), reason=form.get("reason"))
            await accord.check_ins.move(me.person_id, check_in_id, index, data.to, data.reason, form.key)

        return await self._act(request, me, check_in_id, "move", action)

    @post("/{check_in_id:uuid}/occurrences/{index:int}/skip")
    async def skip(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, index: Index) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(SkipOccurrence, reason=form.get("reason"))
            await accord.check_ins.skip(me.person_id, check_in_id, index, data.reason, form.key)

        return await self._act(request, me, check_in_id, "skip", action)

    @post("/{check_in_id:uuid}/prompts")
    async def prompts(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.check_ins.change_prompts(me.person_id, check_in_id, lines(form.get("prompts")), form.key)

        return await self._act(request, me, check_in_id, "prompts", action)

    @post("/{check_in_id:uuid}/{verb:str}")
    async def status(self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, verb: FromPath[str]) -> Response[Any]:
        commands = {"pause": accord.check_ins.pause, "resume": accord.check_ins.resume, "end": accord.check_ins.end}
        if verb not in commands:
            raise NotFound("page", check_in_id)
        command = commands[verb]
        return await self._act(request, me, check_in_id, "status", lambda form: command(me.person_id, check_in_id, form.key))

    @post("/{check_in_id:uuid}/action-points/{action_point_id:uuid}/proposal")
    async def propose(
        self, request: Request, accord: AccordDep, me: Me, check_in_id: Id, action_point_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            target = (form.get("clause") or "").split(":")
            text = form.get("text") or ""
            if len(target) != 2:
                raise FormInvalid({"clause": "choose the clause to change"})
            try:
                agreement_id, clause_id = UUID(target[0]), UUID(target[1])
            except ValueError:
                raise FormInvalid({"clause": "choose the clause to change"}) from None
            if not text.strip():
                raise FormInvalid({"text": "must not be empty"})
            changes = [ClauseChange("edit", clause_id, None, text)]
            await accord.check_ins.propose_from_action_point(
                me.person_id, check_in_id, action_point_id, agreement_id, changes, form.key
            )

        return await self._act(request, me, check_in_id, f"ap-{action_point_id}", action)

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        check_in_id = request.path_params.get("check_in_id")
        if check_in_id is None:
            return await self._list(request, me, present.reloaded())
        return await self._page(request, me, check_in_id, present.reloaded())

