"""Personal documents: a Solo Ethic, a care plan, a security map; versions, history, and shares.

Every mutating route takes an optional `Idempotency-Key` header and answers
with the owner's view and an `Accord-Position` header. A person the document
is shared with reads its current version; anyone else gets 404, whether or
not it exists.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody

from domain.documents import Section
from domain.policy import DocumentView
from projections.documents import VersionEntry
from service.commands.documents import DocumentDeleted
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import (
    DocumentSectionInput,
    ReviseDocument,
    ShareDocument,
    WriteDocument,
)

DocumentId = FromPath[UUID]


def _sections(sections: list[DocumentSectionInput]) -> list[Section]:
    return [Section(heading=s.heading, text=s.text) for s in sections]


class DocumentController(Controller):
    path = "/api/documents"
    tags = ["documents"]
    dependencies = {**CALLER, **KEY}

    @post("/", summary="Write a personal document (a Solo Ethic, a care plan, a security map): version 1", status_code=201, responses=COMMAND)
    async def write(self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[WriteDocument]) -> Response[DocumentView]:
        outcome = await accord.documents.write(caller, data.kind, _sections(data.sections), key, document_id=data.document_id)
        return respond(outcome)

    @get("/", summary="My documents, then those shared with me that I see now", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> list[DocumentView]:
        return await accord.document_reads.mine(caller)

    @get("/{document_id:uuid}", summary="A personal document: all of it for its owner, the current version for a person it is shared with", responses=READ)
    async def view(self, accord: AccordDep, caller: Caller, document_id: DocumentId) -> DocumentView:
        return await accord.document_reads.view(caller, document_id)

    @put("/{document_id:uuid}", summary="Revise it from the version I read: a new version (409 with the current one if it moved on)", status_code=200, responses=COMMAND)
    async def revise(
        self, accord: AccordDep, caller: Caller, key: Key, document_id: DocumentId, data: JSONBody[ReviseDocument]
    ) -> Response[DocumentView]:
        return respond(await accord.documents.revise(caller, document_id, data.based_on_version, _sections(data.sections), key))

    @delete("/{document_id:uuid}", summary="Delete it: its text is destroyed, for everyone it was shared with too", status_code=200, responses=COMMAND)
    async def remove(self, accord: AccordDep, caller: Caller, key: Key, document_id: DocumentId) -> Response[DocumentDeleted]:
        return respond(await accord.documents.delete(caller, document_id, key))

    @get("/{document_id:uuid}/history", summary="Every version, newest first, with word diffs (the owner's)", responses=READ)
    async def history(self, accord: AccordDep, caller: Caller, document_id: DocumentId) -> tuple[VersionEntry, ...]:
        return await accord.document_reads.history(caller, document_id)

    @post("/{document_id:uuid}/shares", summary="Share it with a person, by handle or as a live partner", status_code=200, responses=COMMAND)
    async def share(
        self, accord: AccordDep, caller: Caller, key: Key, document_id: DocumentId, data: JSONBody[ShareDocument]
    ) -> Response[DocumentView]:
        outcome = await accord.documents.share(
            caller, document_id, key, handle=data.handle, partner_id=data.partner_id, explicit=data.explicit
        )
        return respond(outcome)

    @delete("/{document_id:uuid}/shares/{share_key:str}", summary="Stop sharing it with one person, at once", status_code=200, responses=COMMAND)
    async def revoke(
        self, accord: AccordDep, caller: Caller, key: Key, document_id: DocumentId, share_key: FromPath[str]
    ) -> Response[DocumentView]:
        return respond(await accord.documents.revoke(caller, document_id, share_key, key))
