"""Export my data over the API: JSON, Markdown, or both in one zip.

Each route is a download (`Content-Disposition: attachment`) of the same
export, made once per request by the application (service/read/export.py).
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import ResponseHeader

from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.responses import BEHIND, UNAUTHORIZED
from service.read.export import Export
from service.web import markdown
from service.web.download import (
    JSON_NAME,
    MARKDOWN,
    MARKDOWN_NAME,
    ZIP,
    ZIP_NAME,
    bundle,
    disposition,
)


def _disposition(name: str) -> list[ResponseHeader]:
    return [
        ResponseHeader(
            name="Content-Disposition",
            value=disposition(name),
            description="A download, with the name to save it as",
        )
    ]


class ExportController(Controller):
    path = "/api/me"
    tags = ("accounts",)
    dependencies = CALLER

    @get(
        "/export",
        summary="Export my data: everything I may see, as JSON",
        description=(
            "Every agreement I am a party of, am invited to, or that is shared with me, each "
            "exactly as I may see it (with a party's timeline, versions and grants), my network "
            "and my account. Sent as a download."
        ),
        response_headers=_disposition(JSON_NAME),
        responses={**UNAUTHORIZED, **BEHIND},
    )
    async def as_json(self, accord: AccordDep, caller: Caller) -> Export:
        return await accord.exports.export(caller)

    @get(
        "/export.md",
        summary="Export my data as Markdown: the same facts, to read",
        media_type=MARKDOWN,
        response_headers=_disposition(MARKDOWN_NAME),
        responses={**UNAUTHORIZED, **BEHIND},
    )
    async def as_markdown(self, accord: AccordDep, caller: Caller) -> str:
        return markdown.render(await accord.exports.export(caller))

    @get(
        "/export.zip",
        summary="Export my data in one download: a zip of export.json and export.md",
        media_type=ZIP,
        response_headers=_disposition(ZIP_NAME),
        responses={**UNAUTHORIZED, **BEHIND},
    )
    async def as_zip(self, accord: AccordDep, caller: Caller) -> bytes:
        return bundle(await accord.exports.export(caller))
