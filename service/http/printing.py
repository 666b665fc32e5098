"""Export an agreement or a personal document as Markdown or PDF.

An agreement: a party's version, or what a metamour sees; a document: its
owner's version, or the current one for whom it is shared with. The same one
view function as every read decides (service/read/queries.py
`agreement_to_export`, service/commands/documents.py `DocumentReads.to_export`);
these routes only write what it returns. A download, named for what it holds.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, QueryParameter

from service.application import Accord
from service.http.agreements import AgreementId
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.responses import NOT_TO_BE_SHARED, READ
from service.web import printable
from service.web.download import MARKDOWN, disposition
from service.web.pdf import render_pdf

PDF = "application/pdf"
Version = Annotated[
    int | None,
    QueryParameter(
        name="version",
        ge=0,
        description="The version to export (an agreement's parties, a document's owner); by default the one in"
        " force (an agreement's), else the latest",
    ),
]
EXPORTED = {**READ, **NOT_TO_BE_SHARED}


def saved_as(extension: str, what: str = "agreement") -> list[ResponseHeader]:
    return [
        ResponseHeader(
            name="Content-Disposition",
            value=f'attachment; filename="accord-{what}-<id>-v<version>.{extension}"',
            description="A download, with the name to save it as",
            documentation_only=True,
        )
    ]


async def agreement_file(
    accord: Accord, caller: UUID, agreement_id: UUID, version: int | None, kind: Literal["md", "pdf"]
) -> Response[bytes | str]:
    """The agreement as `caller` may export it, as a download: the API's and the pages' alike."""
    found = await accord.queries.agreement_to_export(caller, agreement_id, version)
    return printable_file(printable.agreement(found, accord.queries.clock()), kind)


async def document_file(
    accord: Accord, caller: UUID, document_id: UUID, version: int | None, kind: Literal["md", "pdf"]
) -> Response[bytes | str]:
    """A personal document as `caller` may export it, as a download: the API's and the pages' alike."""
    found = await accord.document_reads.to_export(caller, document_id, version)
    return printable_file(printable.document(found, accord.queries.clock()), kind)


def printable_file(doc: printable.Printable, kind: Literal["md", "pdf"]) -> Response[bytes | str]:
    """Any `Printable` as a Markdown or PDF download (an agreement's, or a personal document's)."""
    if kind == "md":
        return download(printable.markdown(doc), MARKDOWN, f"{doc.filename}.md")
    return download(render_pdf(doc.title, doc.sections, lines=doc.lines), PDF, f"{doc.filename}.pdf")


def download(content: bytes | str, media_type: str, name: str) -> Response[bytes | str]:
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition(name)})


class AgreementExportController(Controller):
    path = "/api/agreements/{agreement_id:uuid}"
    tags = ("agreements",)
    dependencies = CALLER

    @get(
        "/export.md",
        summary="An agreement as Markdown: a party's version, or what a metamour sees",
        media_type=MARKDOWN,
        response_headers=saved_as("md"),
        responses=EXPORTED,
    )
    async def as_markdown(
        self, accord: AccordDep, caller: Caller, agreement_id: AgreementId, version: Version = None
    ) -> Response[bytes | str]:
        return await agreement_file(accord, caller, agreement_id, version, "md")

    @get(
        "/export.pdf",
        summary="An agreement as PDF (selectable text): a party's version, or what a metamour sees",
        media_type=PDF,
        response_headers=saved_as("pdf"),
        responses=EXPORTED,
    )
    async def as_pdf(
        self, accord: AccordDep, caller: Caller, agreement_id: AgreementId, version: Version = None
    ) -> Response[bytes | str]:
        return await agreement_file(accord, caller, agreement_id, version, "pdf")


class DocumentExportController(Controller):
    path = "/api/documents/{document_id:uuid}"
    tags = ("documents",)
    dependencies = CALLER

    @get(
        "/export.md",
        summary="A personal document as Markdown: the owner's version, or the current one shared with me",
        media_type=MARKDOWN,
        response_headers=saved_as("md", "document"),
        responses=READ,
    )
    async def as_markdown(
        self, accord: AccordDep, caller: Caller, document_id: FromPath[UUID], version: Version = None
    ) -> Response[bytes | str]:
        return await document_file(accord, caller, document_id, version, "md")

    @get(
        "/export.pdf",
        summary="A personal document as PDF (selectable text): the owner's version, or the current one shared with me",
        media_type=PDF,
        response_headers=saved_as("pdf", "document"),
        responses=READ,
    )
    async def as_pdf(
        self, accord: AccordDep, caller: Caller, document_id: FromPath[UUID], version: Version = None
    ) -> Response[bytes | str]:
        return await document_file(accord, caller, document_id, version, "pdf")
