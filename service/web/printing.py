"""Pages for "see what they see", and an agreement's downloads (Markdown, PDF).

The preview renders the audience's view with the very template the audience's
own page uses (shared_live.html); the downloads are the API's
(service/http/printing.py), asked for with the page's session cookie. Each is
a GET, so it needs no CSRF token: another site can at most make someone save
what they may already read to their own machine.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.response import Template

from domain.errors import NotFound
from service.application import Accord
from service.http.deps import AccordDep
from service.http.printing import Version, agreement_file, document_file
from service.store.base import Account
from service.views import AgreementView
from service.web import present
from service.web.pages import ME, Id, Me, render


class PrintingPages(Controller):
    path = "/agreements/{agreement_id:uuid}"
    dependencies = ME

    @get("/sharing/preview/{grant_id:uuid}")
    async def preview(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, grant_id: Id) -> Template:
        """What a grant's audience sees (or would, once everyone consents), for a party."""
        return await self._preview(request, accord, me, agreement_id, grant_id)

    @get("/sharing/preview/{grant_id:uuid}/live")
    async def preview_live(self, request: Request, accord: AccordDep, me: Me, agreement_id: Id, grant_id: Id) -> Template:
        return await self._preview(request, accord, me, agreement_id, grant_id, live=True)

    @staticmethod
    async def _preview(
        request: Request, accord: Accord, me: Account, agreement_id: UUID, grant_id: UUID, *, live: bool = False
    ) -> Template:
        position = accord.position
        preview = await accord.queries.preview(me.person_id, agreement_id, grant_id)
        view = await accord.queries.view_agreement(me.person_id, agreement_id)
        grant = next((g for g in await accord.queries.grants(me.person_id, agreement_id) if g.grant_id == grant_id), None)
        if grant is None or not isinstance(view, AgreementView):
            raise NotFound("grant", grant_id)
        names = present.Names(view.parties, me.person_id)
        context = {
            "view": view,
            "preview": preview,
            "grant": grant,
            # Why this grant shows them nothing, in the sharing page's words.
            "grant_state_text": present.grant_state(grant, names, me.person_id)["text"],
            "position": position,
            **(present.shared_context(preview.view) if preview.view is not None else {}),
        }
        return render(request, "preview_live.html" if live else "preview.html", context, me=me)

    @get("/export.md")
    async def as_markdown(self, accord: AccordDep, me: Me, agreement_id: Id, version: Version = None) -> Response[bytes | str]:
        return await agreement_file(accord, me.person_id, agreement_id, version, "md")

    @get("/export.pdf")
    async def as_pdf(self, accord: AccordDep, me: Me, agreement_id: Id, version: Version = None) -> Response[bytes | str]:
        return await agreement_file(accord, me.person_id, agreement_id, version, "pdf")


class DocumentPrintingPages(Controller):
    """A personal document's downloads, for its owner and whom it is shared with (the document page links them)."""

    path = "/documents/{document_id:uuid}"
    dependencies = ME

    @get("/export.md")
    async def as_markdown(self, accord: AccordDep, me: Me, document_id: Id, version: Version = None) -> Response[bytes | str]:
        return await document_file(accord, me.person_id, document_id, version, "md")

    @get("/export.pdf")
    async def as_pdf(self, accord: AccordDep, me: Me, document_id: Id, version: Version = None) -> Response[bytes | str]:
        return await document_file(accord, me.person_id, document_id, version, "pdf")
