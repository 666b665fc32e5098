"""The browser app's personal document pages: my documents and those shared with me, writing one,
reading and revising it, its history with diffs, and sharing it (or not).

Each handler runs the same use case as the JSON API (service/commands/documents.py),
so the same policy decides: a document someone may not read is "not found".
A security map is never offered for sharing unless its owner ticks the box
that says they mean to share it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from domain.documents import (
    HEADINGS,
    KIND_NAMES,
    PRIVATE_KINDS,
    SECURITY_AREAS,
    Section,
)
from domain.errors import NotFound
from domain.templates import document_sections
from service.application import Accord
from service.http.deps import AccordDep
from service.http.wire import ReviseDocument, ShareDocument, WriteDocument
from service.web import present
from service.web.forms import Failed, Form, decode, failed, read_form
from service.web.pages import (
    ME,
    REFUSALS,
    Action,
    Me,
    act,
    form_addresses,
    render,
    see_other,
)

Id = FromPath[UUID]
#: What each kind is for, on the page that offers to write one.
KIND_HINTS = {
    "solo_ethic": "What solo means to you: autonomy, home, time, and what partners can expect.",
    "care_plan": "For when you are activated: the signs, what helps, what does not, how to reach you. "
    "Best written in a calm moment.",
    "security_map": "Three areas where you feel insecure, and one action for each. Private: shared only if you choose to.",
}


def blank(kind: str) -> list[Section]:
    return [Section(h, "") for h in HEADINGS.get(kind, ("",) * SECURITY_AREAS)]


def sections_of(form: Form) -> list[dict[str, str]]:
    return [{"heading": h, "text": t} for h, t in zip(form.getall("heading"), form.getall("text"), strict=False)]


class DocumentPages(Controller):
    path = "/documents"
    dependencies = ME

    async def _list(self, request: Request, me: Any, failed_form: Failed | None = None) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        views = await accord.document_reads.mine(me.person_id)
        context = {
            "mine": [v for v in views if v.access == "owner"],
            "shared": [v for v in views if v.access == "shared"],
            "kinds": KIND_NAMES,
            "hints": KIND_HINTS,
            "position": position,
        }
        return render(request, "documents.html", context, me=me, failed=failed_form)

    @get("/")
    async def mine(self, request: Request, me: Me) -> Template:
        return await self._list(request, me)

    @get("/live")
    async def mine_live(self, request: Request, me: Me) -> Template:
        accord: Accord = request.app.state.accord
        views = await accord.document_reads.mine(me.person_id)
        context = {"mine": [v for v in views if v.access == "owner"], "shared": [v for v in views if v.access == "shared"]}
        return render(request, "documents_live.html", context, me=me)

    async def _new(
        self, request: Request, me: Any, kind: str, failed_form: Failed | None = None, template_id: str | None = None
    ) -> Template:
        if kind not in KIND_NAMES:
            raise NotFound("page", uuid4())
        accord: Accord = request.app.state.accord
        templates = accord.library.documents(kind)
        chosen = next((t for t in templates if t.template_id == template_id), None)
        context = {
            "kind": kind,
            "title": KIND_NAMES[kind],
            "hint": KIND_HINTS[kind],
            # Our starting words, to rewrite in one's own (the library's document templates).
            "templates": templates,
            "template": chosen,
            "sections": blank(kind) if chosen is None else document_sections(chosen),
            "fixed": kind in HEADINGS,
            "new_document_id": uuid4(),
        }
        return render(request, "document_new.html", context, me=me, failed=failed_form)

    @get("/new/{kind:str}")
    async def new(
        self, request: Request, me: Me, kind: FromPath[str], template: FromQuery[str | None] = None
    ) -> Template:
        return await self._new(request, me, kind, template_id=template)

    @post("/")
    async def write(self, request: Request, accord: AccordDep, me: Me) -> Response[Any]:
        form = await read_form(request, me.person_id)
        kind = form.get("kind") or ""
        try:
            data = decode(WriteDocument, kind=kind, sections=sections_of(form), document_id=form.get("document_id"))
            document_id = data.document_id or uuid4()
            sections = [Section(s.heading, s.text) for s in data.sections]
            await accord.documents.write(me.person_id, data.kind, sections, form.key, document_id=document_id)
        except REFUSALS as error:
            if kind not in KIND_NAMES:
                return await self._list(request, me, failed("write", form, error))
            return await self._new(request, me, kind, failed("write", form, error))
        return see_other(f"/documents/{document_id}")

    # One document

    async def _page(
        self, request: Request, me: Any, document_id: UUID, failed_form: Failed | None = None, *, live: bool = False
    ) -> Template:
        accord: Accord = request.app.state.accord
        position = accord.position
        view = await accord.document_reads.view(me.person_id, document_id)
        partners: list[Any] = []
        if view.access == "owner":
            network = await accord.queries.network(me.person_id)
            shared_with = {s.person.person_id for s in view.shares or ()}
            partners = [p for p in network.live_partners() if p.person_id not in shared_with]
        context = {
            "d": view,
            "partners": partners,
            "private": view.kind in PRIVATE_KINDS,
            "fixed": view.kind in HEADINGS,
            "position": position,
        }
        template = "document_live.html" if live else "document.html"
        return render(request, template, context, me=me, failed=failed_form)

    async def _act(self, request: Request, me: Any, document_id: UUID, form_id: str, action: Action) -> Response[Any]:
        refused = lambda f: self._page(request, me, document_id, f)  # noqa: E731
        return await act(request, me.person_id, form_id, action, refused, f"/documents/{document_id}#{form_id}")

    @get("/{document_id:uuid}")
    async def document(self, request: Request, me: Me, document_id: Id) -> Template:
        return await self._page(request, me, document_id)

    @get("/{document_id:uuid}/live")
    async def live(self, request: Request, me: Me, document_id: Id) -> Template:
        return await self._page(request, me, document_id, live=True)

    @get("/{document_id:uuid}/history")
    async def history(self, request: Request, accord: AccordDep, me: Me, document_id: Id) -> Template:
        view = await accord.document_reads.view(me.person_id, document_id)
        versions = await accord.document_reads.history(me.person_id, document_id)
        return render(request, "document_history.html", {"d": view, "versions": versions}, me=me)

    @post("/{document_id:uuid}")
    async def revise(self, request: Request, accord: AccordDep, me: Me, document_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(ReviseDocument, based_on_version=form.get("based_on_version"), sections=sections_of(form))
            sections = [Section(s.heading, s.text) for s in data.sections]
            await accord.documents.revise(me.person_id, document_id, data.based_on_version, sections, form.key)

        return await self._act(request, me, document_id, "revise", action)

    @post("/{document_id:uuid}/shares")
    async def share(self, request: Request, accord: AccordDep, me: Me, document_id: Id) -> Response[Any]:
        async def action(form: Form) -> None:
            data = decode(
                ShareDocument,
                handle=(form.get("handle") or "").strip().lstrip("@") or None,
                partner_id=form.get("partner_id") or None,
                explicit=form.get("explicit") == "yes",
            )
            await accord.documents.share(
                me.person_id, document_id, form.key, handle=data.handle, partner_id=data.partner_id, explicit=data.explicit
            )

        return await self._act(request, me, document_id, "share", action)

    @post("/{document_id:uuid}/shares/{share_key:str}/revoke")
    async def revoke(self, request: Request, accord: AccordDep, me: Me, document_id: Id, share_key: FromPath[str]) -> Response[Any]:
        async def action(form: Form) -> None:
            await accord.documents.revoke(me.person_id, document_id, share_key, form.key)

        return await self._act(request, me, document_id, "shares", action)

    @post("/{document_id:uuid}/delete")
    async def delete(self, request: Request, accord: AccordDep, me: Me, document_id: Id) -> Response[Any]:
        form = await read_form(request, me.person_id)
        try:
            await accord.documents.delete(me.person_id, document_id, form.key)
        except REFUSALS as error:
            return await self._page(request, me, document_id, failed("delete", form, error))
        return see_other("/documents")

    @get(form_addresses(locals()))
    async def revisit(self, request: Request, me: Me) -> Template:
        document_id = request.path_params.get("document_id")
        if document_id is None:
            return await self._list(request, me, present.reloaded())
        return await self._page(request, me, document_id, present.reloaded())
