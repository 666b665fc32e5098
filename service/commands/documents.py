"""Use cases of a personal document: write, revise, share, revoke a share, delete; and its reads.

Each loads the document, lets the aggregate decide, and appends through the
runner; the answer is the owner's view from the one view function. Anyone but
the owner is told the document does not exist (a person it is shared with
only reads it). A share names a person by handle, resolved as everywhere
else so that the answer never tells whether the handle has an account, or a
live partner picked directly by id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import msgspec

from domain import policy
from domain.documents import PersonalDocument, Section
from domain.errors import NotFound, ValidationFailed, seen
from projections.documents import VersionEntry
from service.commands.runner import CommandKey, CommandRunner, Outcome, seen_by
from service.read.models import ReadModels
from service.visibility import Visibility


class DocumentDeleted(msgspec.Struct, frozen=True):
    document_id: UUID
    deleted: bool = True


class Documents:
    def __init__(
        self,
        commands: CommandRunner,
        models: ReadModels,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
        person_for: Callable[[str, UUID], Awaitable[UUID]],
        seal_text: Callable[[UUID, str], Awaitable[str]],
        shred: Callable[[list[UUID]], Awaitable[None]],
    ) -> None:
        self.commands = commands
        self.models = models
        self.visibility = visibility
        self.clock = clock
        self.settled = settled
        self.person_for = person_for
        self.seal_text = seal_text
        self.shred = shred

    async def write(
        self, caller: UUID, kind: str, sections: Sequence[Section], key: CommandKey | None, *, document_id: UUID | None = None
    ) -> Outcome:
        new_id = document_id or uuid4()
        outcome = await self.commands.run(
            PersonalDocument,
            new_id,
            lambda _: PersonalDocument.write(new_id, caller, kind, sections, self.clock()),
            seen_by(caller, self.visibility.document),
            key=key,
            creates=True,
        )
        return await self.settled(outcome)

    async def _on_document(
        self,
        caller: UUID,
        document_id: UUID,
        key: CommandKey | None,
        command: Callable[[PersonalDocument], None],
        render: Callable[[PersonalDocument], Awaitable[object]] | None = None,
    ) -> Outcome:
        def decide(document: PersonalDocument | None) -> PersonalDocument:
            assert document is not None
            document.check_owner(caller)
            command(document)
            return document

        outcome = await self.commands.run(
            PersonalDocument, document_id, decide, render or seen_by(caller, self.visibility.document), key=key
        )
        return await self.settled(outcome)

    async def revise(
        self, caller: UUID, document_id: UUID, based_on: int, sections: Sequence[Section], key: CommandKey | None
    ) -> Outcome:
        return await self._on_document(
            caller, document_id, key, lambda d: d.revise(caller, based_on, sections, self.clock())
        )

    async def share(
        self,
        caller: UUID,
        document_id: UUID,
        key: CommandKey | None,
        *,
        handle: str | None = None,
        partner_id: UUID | None = None,
        explicit: bool = False,
    ) -> Outcome:
        """With a person by handle (a metamour, or anyone: whether it holds is the policy's), or with a live
        partner by id. Whether a handle has an account is not told: the answer is the same either way."""
        if (handle is None) == (partner_id is None):
            raise ValidationFailed("handle", "name either a handle or a partner (partner_id)")
        if partner_id is not None:
            network = await self.models.network_touching((caller,))
            if partner_id not in policy.partners_of(caller, network.links):
                raise NotFound("person", partner_id)
            person, sealed = partner_id, ""
        else:
            assert handle is not None
            if not handle.strip():
                raise ValidationFailed("handle", "must not be empty")
            # Someone who blocked the owner is answered for as a handle without an account is.
            person = await self.person_for(handle.strip(), caller)
            sealed = await self.seal_text(person, handle.strip().casefold())
        return await self._on_document(
            caller, document_id, key, lambda d: d.share_with(caller, person, sealed, self.clock(), explicit=explicit)
        )

    async def revoke(self, caller: UUID, document_id: UUID, share_key: str, key: CommandKey | None) -> Outcome:
        """Stop sharing with the person the owner's view names by `share_key` (their id, or a pseudonym's key)."""
        view = await self.visibility.document(caller, document_id)
        if view is None or view.shares is None:
            raise NotFound("document", document_id)
        document = await self.models.aggregate(PersonalDocument, document_id)
        assert document is not None
        refs = {(await self.visibility.ref(person, caller)).key: person for person in document.shares}
        person = refs.get(share_key)
        if person is None:
            raise NotFound("share", document_id)
        return await self._on_document(caller, document_id, key, lambda d: d.revoke_share(caller, person, self.clock()))

    async def delete(self, caller: UUID, document_id: UUID, key: CommandKey | None) -> Outcome:
        """Deleted, and its key destroyed once that is projected: its text cannot be read again."""

        async def deleted(document: PersonalDocument) -> DocumentDeleted:
            return DocumentDeleted(document_id=document.id)

        outcome = await self._on_document(caller, document_id, key, lambda d: d.delete(caller, self.clock()), deleted)
        if not outcome.repeated:
            await self.shred([document_id])
        return outcome


class DocumentAtVersion(msgspec.Struct, frozen=True, kw_only=True):
    """A document as its reader may export it: `view` now, and the text of the version asked for."""

    view: policy.DocumentView
    version: int
    at: datetime
    sections: tuple[Section, ...]


class DocumentReads:
    """A person's reads: one document, its history (the owner's), and their list."""

    def __init__(self, visibility: Visibility) -> None:
        self.visibility = visibility

    async def view(self, caller: UUID, document_id: UUID) -> policy.DocumentView:
        return seen(await self.visibility.document(caller, document_id), "document", document_id)

    async def history(self, caller: UUID, document_id: UUID) -> tuple[VersionEntry, ...]:
        return seen(await self.visibility.document_history(caller, document_id), "document", document_id)

    async def to_export(self, caller: UUID, document_id: UUID, version: int | None) -> DocumentAtVersion:
        """What `caller` may export of a document: the current version (by default), or, for its
        owner, any earlier one. A reader has the current version only, as on their page, so naming
        another is asking for something they may not see: not found, like a version that never was."""
        view = await self.view(caller, document_id)
        if version is None or version == view.version:
            return DocumentAtVersion(view=view, version=view.version, at=view.updated_at, sections=view.sections)
        history = await self.visibility.document_history(caller, document_id) or ()
        entry = next((e for e in history if e.version == version), None)
        if entry is None:
            raise NotFound("version", document_id)
        return DocumentAtVersion(view=view, version=entry.version, at=entry.at, sections=entry.sections)

    async def mine(self, caller: UUID) -> list[policy.DocumentView]:
        return await self.visibility.my_documents(caller)
