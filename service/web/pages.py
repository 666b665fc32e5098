"""The browser app's pages.

Each handler reads or runs one `Accord` use case, the same call the JSON API
makes, so every page goes through the same consent policy. A refused form is
rendered again with the person's own text and the reason beside the field; an
accepted one redirects (303), so reloading never sends it twice. A `.../live`
route renders just the part of its page that live updates replace.

Every page records the log position it was rendered at *before* reading, so
the live script can ask the websocket for everything after it, without a gap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from domain.agreement import ClauseChange, EndDateChange
from domain.errors import DomainError, NotFound
from domain.grants import is_scope
from domain.policy import SharedView
from domain.signals import KINDS as SIGNAL_KINDS
from service.accounts import RateLimited, SignInFailed
from service.application import Accord
from service.commands import KeyReused
from service.http.auth import client
from service.http.deps import AccordDep
from service.http.errors import problem
from service.http.security import relying_party
from service.http.wire import (
    AddClause,
    CommentOn,
    Consent,
    CreateAgreement,
    Decline,
    EditClause,
    Invite,
    LinkRepairNote,
    Propose,
    ProposeGrant,
    ProposeLink,
    Reaffirm,
    Register,
    SetDisclosure,
    SignIn,
    WriteRepairNote,
)
from service.security import SecondFactorRequired
from service.store.base import Account, HandleTaken
from service.views import AgreementSummary, AgreementView
from service.visibility import signal_bar
from service.web import present
from service.web.forms import (
    Failed,
    Form,
    FormInvalid,
    decode,
    failed,
    kept_values,
    read_form,
)
from service.web.graph import draw
from service.web.security import (
    SESSION_COOKIE,
    clear_session,
    csrf_token,
    ensure_presession,
    set_session,
)

Id = FromPath[UUID]
Action = Callable[[Form], Awaitable[object]]
#: What a use case may refuse a form with; anything else is a fault, not an answer.
REFUSALS = (FormInvalid, DomainError, KeyReused)


class SignInRequired(Exception):
    """No session, or an expired or signed-out one: the page sends the person to sign in."""


async def provide_me(request: Request, accord: AccordDep) -> Account:
    # A dependency of its own batch (see service/http/auth.py provide_caller): no task group per request.
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired
    try:
        me = await accord.person(await accord.authenticate(token))
    except (SignInFailed, NotFound):
        raise SignInRequired from None
    # An error page shown for this request keeps the signed-in navigation.
    request.state.me = me
    # The navigation's count of what waits (kept current by static/live.js's `inbox` key).
    request.state.inbox_count = (await accord.visibility.inbox(me.person_id)).count
    # The signal bar on every signed-in page: whom one may signal in one tap.
    request.state.signal_bar = await signal_bar(accord.visibility.signal_views, me.person_id)
    return me


Me = NamedDependency[Account]
ME = {"me": Provide(provide_me)}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    me: Account | None,
    failed: Failed | None = None,
) -> Template:
    response = Template(
        template_name=template,
        context={
            **context,
            "me": me,
            "csrf": csrf_token(request),
            "forms": present.FormState(failed),
            "new_key": lambda: uuid4().hex,
            "inbox_count": request.state.get("inbox_count"),
            "signal_bar": request.state.get("signal_bar"),
            "signal_kinds": SIGNAL_KINDS,
        },
        status_code=failed.status if failed else 200,
    )
    if me is None:
        ensure_presession(request, response)
    return response


def see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


async def act(
    request: Request,
    caller: UUID | None,
    form_id: str,
    action: Action,
    refused: Callable[[Failed], Awaitable[Any]],
    then: str,
) -> Response[Any]:
    """A form's post: `action` on the form; refused, `refused` renders the page again with the form as
    sent and why (`failed`); done, on to `then` (303, so a reload does not post again)."""
    form = await read_form(request, caller)
    try:
        await action(form)
    except REFUSALS as error:
        return await refused(failed(form_id, form, error))
    return see_other(then)


def _local(path: str | None) -> str:
    """Only paths on this site: a `next` naming another site would be an open redirect."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/agreements"


def form_addresses(namespace: Mapping[str, object]) -> list[str]:
    """A controller's form paths that answer POST only.

    The address bar keeps the path a refused form was sent to; reloading it
    without resending, or a restored tab, asks for it with GET. Each such path
    then shows its page as it is now, saying the form was not sent again,
    instead of a bare "405 Method Not Allowed".
    """
    handlers = [h for h in namespace.values() if isinstance(h, HTTPRouteHandler)]
    answered = {path for h in handlers if "GET" in h.http_methods for path in h.paths}
    return sorted({path for h in handlers if "POST" in h.http_methods for path in h.paths} - answered)


async def _invitation_or_none(accord: Accord, me: Account, agreement_id: UUID) -> object:
    try:
        return await accord.queries.invitation(me.person_id, agreement_id)
    except NotFound:
        return None


async def _view_or_none(accord: Accord, me: Account, agreement_id: UUID) -> object:
    try:
        return await accord.queries.view_agreement(me.person_id, agreement_id)
    except NotFound:
        return None


# Accounts


class AccountPages(Controller):
    @get("/", include_in_schema=False)
    async def home(self, request: Request) -> Redirect:
        return see_other("/agreements" if request.cookies.get(SESSION_COOKIE) else "/sign-in")

    @get("/sign-in")
    async def sign_in_page(
        self, request: Request, next_path: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Template:
        return render(request, "sign_in.html", {"next": _local(next_path)}, me=None)

    @post("/sign-in")
    async def sign_in(self, request: Request, accord: AccordDep) -> Response[Any]:
        form = await read_form(request, None)
        try:
            data = decode(SignIn, handle=form.get("handle"), password=form.get("password"))
            token, _, expires_at = await accord.sign_in(client(request), data.handle, data.password)
        except (FormInvalid, SignInFailed, RateLimited) as error:
            refusal = _sign_in_refusal("sign-in", form, error)
            return render(request, "sign_in.html", {"next": _local(form.get("next"))}, me=None, failed=refusal)
        except SecondFactorRequired as step:
            # The password was right; the session comes only with the account's passkey.
            ceremony = await accord.security.begin_second_factor(step.account, relying_party(request, accord))
            return render(request, "second_factor.html", {"ceremony": ceremony, "next": _local(form.get("next"))}, me=None)
        response = see_other(_local(form.get("next")))
        set_session(response, request, token, expires_at)
        return response

    @get("/sign-up")
    async def sign_up_page(self, request: Request) -> Template:
        return render(request, "sign_up.html", {}, me=None)

    @post("/sign-up")
    async def sign_up(self, request: Request, accord: AccordDep) -> Response[Any]:
        form = await read_form(request, None)
        try:
            data = decode(
                Register,
                handle=form.get("handle"),
                display_name=form.get("display_name"),
                password=form.get("password"),
            )
            await accord.register(client(request), data.handle, data.display_name, data.password)
            token, _, expires_at = await accord.sign_in(client(request), data.handle, data.password)
        except (FormInvalid, HandleTaken, RateLimited, SignInFailed) as error:
            refusal = _sign_in_refusal("sign-up", form, error)
            return render(request, "sign_up.html", {}, me=None, failed=refusal)
        response = see_other("/agreements")
        set_session(response, request, token, expires_at)
        return response

    @post("/sign-out", dependencies=ME)
    async def sign_out(self, request: Request, accord: AccordDep, me: Me) -> Redirect:
        await accord.sign_out(request.cookies[SESSION_COOKIE])
        response = see_other("/sign-in")
        clear_session(response)
        return response

    @get(form_addresses(locals()))
    async def revisit(self) -> Redirect:
        # Signing out takes a form (with its CSRF token); an address alone never signs anyone out.
        return see_other("/")


def _sign_in_refusal(form_id: str, form: Form, error: Exception) -> Failed:
    # A password is never sent back into the page.
    kept = {"form_id": form_id, "values": kept_values(form), "lists": {}}
    match error:
        case FormInvalid():
            return Failed(**kept, errors=error.errors)
        case HandleTaken():
            return Failed(**kept, errors={"handle": "is taken; choose another"}, status=409)
        case RateLimited():
            return Failed(**kept, message=f"Too many attempts. Try again in {error.retry_after} seconds.", status=429)
    # Never which part was wrong.
    return Failed(**kept, message="Wrong handle or password.", status=401)


# The network


class NetworkPages(Controller):
    path = "/network"
    dependencies = ME

    async def _page(self, request: Request, me: Account, failed: Failed | None = None, *, live: bool = False) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        network = await accord.queries.network(me.person_id)
        # Me, as the policy shows me to each person named on the page.
        named = {link.other.person_id for link in network.links} | {
            ref.person_id for known in network.known_links for ref in (known.a, known.b)
        }
        seen = {p: await accord.visibility.ref(me.person_id, p) for p in named if p is not None}
        context = {
            "network": network,
            "drawing": draw(network),
            "position": position,
            "names_shown": present.names_shown(network, seen.__getitem__),
        }
        return render(request, "network_live.html" if live else "network.html", context, me=me, failed=failed)

    async def _act(self, request: Request, me: Account, form_id: str, action: Action) -> Response[Any]:
        return await act(request, me.person_id, form_id, action, lambda f: self._page(request, me, f), "/network")

    @get("/")
    async def network(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/live")
    async def live(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, live=True)

    @post("/links")
    async def propose(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(ProposeLink, handle=form.get("handle"))
            await accord.network.propose_link(me.person_id, data.handle, form.key)

        return await self._act(request, me, "link", action)

    @post("/links/{link_id:uuid}/{answer:str}")
    async def answer(self, request: Request, accord: AccordDep, me: Me, link_id: Id, answer: FromPath[str]) -> Response[Any]:
        commands = {
            "confirm": accord.network.confirm_link,
            "decline": accord.network.decline_link,
            "withdraw": accord.network.withdraw_link,
            "end": accord.network.end_link,
        }
        if answer not in commands:
            raise NotFound("link", link_id)
        command = commands[answer]
        return await self._act(request, me, f"link-{link_id}", lambda form: command(me.person_id, link_id, form.key))

    @post("/disclosures/{person_id:uuid}")
    async def disclose(self, request: Request, accord: AccordDep, me: Me, person_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(SetDisclosure, disclosed=form.get("disclosed"))
            await accord.network.set_disclosure(me.person_id, person_id, data.disclosed, form.key)

        response = await self._act(request, me, f"disclose-{person_id}", action)
        return see_other(f"/network#name-{person_id}") if response.status_code == 303 else response

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, present.reloaded())


# My agreements


class AgreementListPages(Controller):
    path = "/agreements"
    dependencies = ME

    async def _page(self, request: Request, me: Account, failed: Failed | None = None, *, live: bool = False) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        summaries = await accord.queries.my_agreements(me.person_id)
        views = {s.agreement_id: await _view_or_none(accord, me, s.agreement_id) for s in summaries}
        mine = [present.summary(v, me.person_id) for v in views.values() if isinstance(v, AgreementView)]
        context = {
            "mine": sorted(mine, key=lambda line: line["view"].title.casefold()),
            "invited": [
                (s, await _invitation_or_none(accord, me, s.agreement_id)) for s in summaries if s.relation == "invited"
            ],
            "shared": [(s, views[s.agreement_id]) for s in summaries if isinstance(views[s.agreement_id], SharedView)],
            "position": position,
            "new_agreement_id": uuid4(),
            "templates": accord.library.of_kind("agreement"),
        }
        return render(request, "agreements_live.html" if live else "agreements.html", context, me=me, failed=failed)

    @get("/")
    async def mine(self, request: Request, me: Me) -> Template:
        return await self._page(request, me)

    @get("/live")
    async def live(self, request: Request, me: Me) -> Template:
        return await self._page(request, me, live=True)

    @post("/")
    async def create(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        form = await read_form(request, me.person_id)
        try:
            data = decode(
                CreateAgreement,
                title=form.get("title"),
                agreement_id=form.get("agreement_id"),
                template_id=form.get("template_id") or None,
            )
            agreement_id = data.agreement_id or uuid4()
            if data.template_id is None:
                await accord.agreements.create_agreement(me.person_id, data.title, form.key, agreement_id)
            else:
                template = accord.library.agreement_template(data.template_id)
                await accord.agreements.start_from_template(me.person_id, template, data.title, form.key, agreement_id)
        except REFUSALS as error:
            return await self._page(request, me, failed("create", form, error))
        return see_other(f"/agreements/{agreement_id}")


# One agreement


class AgreementPages(Controller):
    path = "/agreements/{agreement_id:uuid}"
    dependencies = ME

    # Reads

    async def _page(
        self,
        request: Request,
        me: Account,
        agreement_id: UUID,
        failed: Failed | None = None,
        *,
        live: bool = False,
        reloaded_edit: tuple[UUID, int | None] | None = None,
    ) -> Template:
        """A party's page, an invitation, or a metamour's consented view: whichever `me` may see.

        `reloaded_edit` (a clause, and the revision an edit of it was based on)
        explains an edit that a reload did not send again.
        """
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.queries.view_agreement(me.person_id, agreement_id)
        if isinstance(view, AgreementView):
            changed_by: dict[UUID, UUID] = {}
            if view.status == "drafting" and view.clauses:
                # Who last changed each clause, to say who changed one under an edit.
                changed_by = present.last_changed_by(await accord.queries.timeline(me.person_id, agreement_id))
            context = present.party_context(view, me.person_id, changed_by)
            if view.status == "in_force":
                # "Shared with N" on each clause, with who sees it through whom.
                context |= present.badges(await accord.queries.audiences(me.person_id, agreement_id), me.person_id)
            if reloaded_edit is not None:
                failed = present.reloaded_edit(view, *reloaded_edit)
            failed = present.name_the_conflict(failed, context)
            kind = "agreement"
        elif isinstance(view, AgreementSummary):
            invitation = await accord.queries.invitation(me.person_id, agreement_id)
            kind, context = "invitation", present.invitation(invitation)
        else:
            kind, context = present.agreement(view, me.person_id)
        template = f"{kind}_live.html" if live else f"{kind}.html"
        # `?review=<clause id>`: the renegotiation form opened for a clause due for review.
        # The library names the template an agreement started from.
        context = {**context, "review": request.query_params.get("review"), "library": accord.library}
        return render(request, template, {**context, "position": position}, me=me, failed=failed)

    async def _sharing(
        self, request: Request, me: Account, agreement_id: UUID, failed: Failed | None = None, *, live: bool = False
    ) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await self._as_party(accord, me, agreement_id)
        grants = await accord.queries.grants(me.person_id, agreement_id)
        audiences = await accord.queries.audiences(me.person_id, agreement_id) if view.status == "in_force" else {}
        context = {**present.sharing(view, grants, audiences, me.person_id), "position": position}
        return render(request, "sharing_live.html" if live else "sharing.html", context, me=me, failed=failed)

    @staticmethod
    async def _as_party(accord: Accord, me: Account, agreement_id: UUID) -> AgreementView:
        view = await accord.queries.view_agreement(me.person_id, agreement_id)
        if not isinstance(view, AgreementView):
            raise NotFound("agreement", agreement_id)
        return view

    @get("/")
    async def agreement(self, request: Request, me: Me, agreement_id: Id) -> Template:
        return await self._page(request, me, agreement_id)

    @get("/live")
    async def live(self, request: Request, me: Me, agreement_id: Id) -> Template:
        return await self._page(request, me, agreement_id, live=True)

    @get("/timeline")
    async def timeline(
        self,
        request: Request,
        accord: AccordDep,
        me: Me,
        agreement_id: Id,
        old: Annotated[int | None, QueryParameter(name="from", ge=0)] = None,
        new: Annotated[int | None, QueryParameter(name="to", ge=0)] = None,
        part: Annotated[str | None, QueryParameter(name="part")] = None,
    ) -> Template:
        position = accord.position
        view = await self._as_party(accord, me, agreement_id)
        timeline = await accord.queries.timeline(me.person_id, agreement_id)
        old, new = present.default_versions(timeline, old, new)
        diff = await accord.queries.diff(me.person_id, agreement_id, old, new)
        others = await accord.visibility.others_named(me.person_id, timeline.entries, (p.person_id for p in view.parties))
        context = {**present.timeline(view, timeline, diff, old, new, me.person_id, others), "position": position}
        return render(request, "timeline_live.html" if part == "live" else "timeline.html", context, me=me)

    @get("/sharing")
    async def sharing(self, request: Request, me: Me, agreement_id: Id) -> Template:
        return await self._sharing(request, me, agreement_id)

    @get("/sharing/live")
    async def sharing_live(self, request: Request, me: Me, agreement_id: Id) -> Template:
        return await self._sharing(request, me, agreement_id, live=True)

    # Commands

    async def _act(
        self,
        request: Request,
        me: Account,
        agreement_id: UUID,
        form_id: str,
        action: Action,
        *,
        then: str = "",
        on_sharing: bool = False,
    ) -> Response[Any]:
        again = self._sharing if on_sharing else self._page
        refused = lambda f: again(request, me, agreement_id, f)  # noqa: E731
        return await act(request, me.person_id, form_id, action, refused, f"/agreements/{agreement_id}{then}")

    @post("/invitations")
    async def invite(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(Invite, handle=form.get("handle"))
            await accord.agreements.invite(me.person_id, agreement_id, data.handle, form.key)

        return await self._act(request, me, agreement_id, "invite", action, then="#people")

    @post("/invitation/{answer:str}")
    async def answer_invitation(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, answer: FromPath[str]
    ) -> Response[Any]:
        commands = {"accept": accord.agreements.accept_invitation, "decline": accord.agreements.decline_invitation}
        if answer not in commands:
            raise NotFound("agreement", agreement_id)
        command = commands[answer]
        response = await self._act(
            request, me, agreement_id, "invitation", lambda form: command(me.person_id, agreement_id, form.key)
        )
        return see_other("/agreements") if answer == "decline" and response.status_code == 303 else response

    @post("/leave")
    async def leave(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        response = await self._act(
            request, me, agreement_id, "leave", lambda form: accord.agreements.leave(me.person_id, agreement_id, form.key)
        )
        return see_other("/agreements") if response.status_code == 303 else response

    @post("/discard")
    async def discard(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        gone = False

        async def action(form: Form) -> None:
            nonlocal gone
            outcome = await accord.agreements.ask_to_discard(me.person_id, agreement_id, form.key)
            gone = getattr(outcome.body, "status", None) == "discarded"

        response = await self._act(request, me, agreement_id, "discard", action, then="#discard-details")
        return see_other("/agreements") if gone and response.status_code == 303 else response

    @post("/discard/withdraw")
    async def keep_draft(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        return await self._act(
            request, me, agreement_id, "keep-draft",
            lambda form: accord.agreements.withdraw_discard(me.person_id, agreement_id, form.key),
            then="#discard-details",
        )  # fmt: skip

    @post("/clauses")
    async def add_clause(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        clause_id = uuid4()

        async def action(form: Form) -> None:
            data = decode(AddClause, topic=present.chosen_topic(form, "topic"), text=form.get("text"))
            await accord.agreements.add_clause(me.person_id, agreement_id, data.topic, data.text, form.key, clause_id)

        return await self._act(request, me, agreement_id, "add-clause", action, then=f"#clause-{clause_id}")

    @post("/clauses/{clause_id:uuid}")
    async def edit_clause(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, clause_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(EditClause, text=form.get("text"), based_on_revision=form.get("based_on_revision"))
            await accord.agreements.edit_clause(
                me.person_id, agreement_id, clause_id, data.text, data.based_on_revision, form.key
            )

        return await self._act(request, me, agreement_id, f"edit-{clause_id}", action, then=f"#clause-{clause_id}")

    @post("/clauses/{clause_id:uuid}/remove")
    async def remove_clause(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, clause_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(EditClause, text="-", based_on_revision=form.get("based_on_revision"))
            await accord.agreements.remove_clause(me.person_id, agreement_id, clause_id, data.based_on_revision, form.key)

        return await self._act(request, me, agreement_id, f"edit-{clause_id}", action, then="#clauses")

    @post("/consents")
    async def consent(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(Consent, version=form.get("version"))
            await accord.agreements.consent(me.person_id, agreement_id, data.version, form.key)

        return await self._act(request, me, agreement_id, "consent", action, then="#consent")

    @post("/consents/withdraw")
    async def withdraw_consent(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        return await self._act(
            request, me, agreement_id, "consent",
            lambda form: accord.agreements.withdraw_consent(me.person_id, agreement_id, form.key), then="#consent",
        )  # fmt: skip

    @post("/proposals")
    async def propose(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            view = await self._as_party(accord, me, agreement_id)
            changes, fields = present.proposed_changes(form, view)
            with present.errors_named(fields):
                end_date = present.proposed_end_date(form, view)
                data = decode(Propose, changes=changes, reason=form.get("reason"), end_date=end_date)
                await accord.agreements.propose(
                    me.person_id,
                    agreement_id,
                    [ClauseChange(c.kind, c.clause_id or uuid4(), c.topic, c.text, c.revisit_on) for c in data.changes],
                    data.reason,
                    form.key,
                    end_date=None if data.end_date is None else EndDateChange(data.end_date.until),
                )

        return await self._act(request, me, agreement_id, "propose", action, then="#proposals")

    @post("/proposals/{proposal_id:uuid}/comments")
    async def comment(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, proposal_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(CommentOn, text=form.get("text"))
            await accord.agreements.comment(me.person_id, agreement_id, proposal_id, data.text, form.key)

        form_id = f"comment-{proposal_id}"
        return await self._act(request, me, agreement_id, form_id, action, then=f"#proposal-{proposal_id}")

    @post("/proposals/{proposal_id:uuid}/decline")
    async def decline(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, proposal_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(Decline, reason=form.get("reason"))
            await accord.agreements.decline(me.person_id, agreement_id, proposal_id, data.reason, form.key)

        form_id = f"decline-{proposal_id}"
        return await self._act(request, me, agreement_id, form_id, action, then=f"#proposal-{proposal_id}")

    @post("/proposals/{proposal_id:uuid}/{answer:str}")
    async def answer_proposal(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, proposal_id: Id, answer: FromPath[str]
    ) -> Response[Any]:
        commands = {"accept": accord.agreements.accept, "withdraw": accord.agreements.withdraw}
        if answer not in commands:
            raise NotFound("proposal", proposal_id)
        command = commands[answer]
        return await self._act(
            request, me, agreement_id, f"proposal-{proposal_id}",
            lambda form: command(me.person_id, agreement_id, proposal_id, form.key),
            then=f"#proposal-{proposal_id}",
        )  # fmt: skip

    @post("/repair-notes")
    async def write_repair_note(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                WriteRepairNote,
                clause_id=form.get("clause_id") or None,
                what_happened=form.get("what_happened"),
                impact=form.get("impact"),
                intentions=form.get("intentions"),
            )
            await accord.agreements.write_repair_note(
                me.person_id, agreement_id, data.clause_id, data.what_happened, data.impact, data.intentions, form.key
            )

        return await self._act(request, me, agreement_id, "repair", action, then="#repair")

    @post("/repair-notes/{note_id:uuid}/acknowledge")
    async def acknowledge(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, note_id: Id
    ) -> Response[Any]:
        return await self._act(
            request, me, agreement_id, f"note-{note_id}",
            lambda form: accord.agreements.acknowledge_repair_note(me.person_id, agreement_id, note_id, form.key),
            then=f"#note-{note_id}",
        )  # fmt: skip

    @post("/repair-notes/{note_id:uuid}/links")
    async def link_repair_note(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, note_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(LinkRepairNote, proposal_id=form.get("proposal_id"))
            await accord.agreements.link_repair_note(me.person_id, agreement_id, note_id, data.proposal_id, form.key)

        return await self._act(request, me, agreement_id, f"link-note-{note_id}", action, then=f"#note-{note_id}")

    # Revisit dates, end dates, reviews

    @post("/clauses/{clause_id:uuid}/revisit")
    async def set_revisit_date(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, clause_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            revisit_on = _day(form, "revisit_on")
            await accord.agreements.set_revisit_date(me.person_id, agreement_id, clause_id, revisit_on, form.key)

        return await self._act(request, me, agreement_id, f"revisit-{clause_id}", action, then=f"#clause-{clause_id}")

    @post("/end-date")
    async def set_end_date(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.agreements.set_end_date(me.person_id, agreement_id, _day(form, "until"), form.key)

        return await self._act(request, me, agreement_id, "end-date", action, then="#consent")

    @post("/clauses/{clause_id:uuid}/reaffirm")
    async def reaffirm(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, clause_id: Id
    ) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                Reaffirm, revision=form.get("revision"), next_revisit_on=form.get("next_revisit_on") or None
            )
            await accord.agreements.reaffirm(
                me.person_id, agreement_id, clause_id, data.revision, data.next_revisit_on, form.key
            )

        return await self._act(request, me, agreement_id, f"reaffirm-{clause_id}", action, then=f"#clause-{clause_id}")

    # Sharing

    @post("/grants")
    async def propose_grant(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                ProposeGrant,
                audience=form.get("audience"),
                scopes=[scope for scope in form.getall("scopes") if is_scope(scope)],
                until=_end_of_day(form.get("until")),
                no_reshare=bool(form.get("no_reshare")),
            )
            await accord.grants.propose_grant(
                me.person_id, agreement_id, data.audience, data.scopes, data.until, data.no_reshare, form.key
            )

        return await self._act(request, me, agreement_id, "grant", action, then="/sharing", on_sharing=True)

    @post("/grants/{grant_id:uuid}/{answer:str}")
    async def answer_grant(
        self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, grant_id: Id, answer: FromPath[str]
    ) -> Response[Any]:
        commands = {"consent": accord.grants.consent_to_grant, "revoke": accord.grants.revoke_grant}
        if answer not in commands:
            raise NotFound("grant", grant_id)
        command = commands[answer]
        return await self._act(
            request, me, agreement_id, f"grant-{grant_id}",
            lambda form: command(me.person_id, agreement_id, grant_id, form.key),
            then=f"/sharing#grant-{grant_id}", on_sharing=True,
        )  # fmt: skip

    # A form's address opened again (see `form_addresses`)

    @get(form_addresses(locals()))
    async def revisit(
        self,
        request: Request,
        me: Me,
        agreement_id: Id,
        revision: Annotated[int | None, QueryParameter(name="revision", ge=1)] = None,
    ) -> Template:
        template = request.scope.get("path_template", "")
        if template.endswith("/grants") or "/grants/" in template:
            return await self._sharing(request, me, agreement_id, present.reloaded())
        clause_id = request.path_params.get("clause_id")
        if clause_id is not None and template.endswith("{clause_id}"):
            return await self._page(request, me, agreement_id, reloaded_edit=(clause_id, revision))
        return await self._page(request, me, agreement_id, present.reloaded())


def _day(form: Form, name: str) -> date | None:
    """A date field; left empty, no date (it clears one)."""
    return _parse_day(form.get(name), name)


def _parse_day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise FormInvalid({name: "must be a date"}) from None


def _end_of_day(value: str | None) -> datetime | None:
    """A date from the form means "until the end of that day" (UTC)."""
    day = _parse_day(value, "until")
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.utc) + timedelta(days=1)


# Any other address


#: Addresses that belong to the JSON API and operations, not to the pages: their 404 stays problem+json.
NOT_PAGES = ("api/", "health", "metrics", "schema", "swagger", "static/")


class ElsewherePages(Controller):
    @get("/{address:path}")
    async def not_found(self, request: Request, accord: AccordDep, address: FromPath[str]) -> Response[Any]:
        """An address no page answers: the not-found page, with the navigation when signed in."""
        if address.lstrip("/").startswith(NOT_PAGES):
            return problem(404, "not found", code="not_found")
        try:
            await provide_me(request, accord)  # so the error page keeps the signed-in navigation
        except SignInRequired:
            pass
        raise NotFound("page", address)


CONTROLLERS = [AccountPages, NetworkPages, AgreementListPages, AgreementPages, ElsewherePages]
