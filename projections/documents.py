"""Personal documents: whose they are and whom they were shared with, and their history with word diffs.

`DOCUMENTS`: one document per person, the personal documents they own and
those ever shared with them (whether a share holds now is the policy's to
say: `domain.policy.document_access`), so "my documents" and the keys of a
person's live views are one read. `history` folds a document's versions into
what the owner reads on its history page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.documents import PersonalDocument, Section
from projections.diff import Segment, diff_words
from projections.projection import Projection


class PersonDocuments(msgspec.Struct):
    owned: list[UUID] = []
    shared: list[UUID] = []


HANDLES = (PersonalDocument.Written, PersonalDocument.SharedWith)


def _keys(event: object) -> Iterable[str]:
    match event:
        case PersonalDocument.Written():
            return (str(event.owner),)
        case PersonalDocument.SharedWith():
            return (str(event.person),)
    return ()


def _evolve(document: PersonDocuments | None, event: object) -> PersonDocuments | None:
    found = PersonDocuments() if document is None else msgspec.structs.replace(document)
    document_id: UUID = event.originator_id  # type: ignore[attr-defined]
    match event:
        case PersonalDocument.Written() if document_id not in found.owned:
            found.owned = [*found.owned, document_id]
        case PersonalDocument.SharedWith() if document_id not in found.shared:
            found.shared = [*found.shared, document_id]
    return found


DOCUMENTS = Projection(name="documents", document=PersonDocuments, handles=HANDLES, keys=_keys, evolve=_evolve)


class SectionChange(msgspec.Struct, frozen=True):
    heading: str
    #: Word by word from the version before (service/web renders it as the agreement diffs are).
    segments: tuple[Segment, ...]
    #: The heading it had before, when the owner renamed it (a security map's area).
    old_heading: str | None = None


class VersionEntry(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    at: datetime
    sections: tuple[Section, ...]
    #: What changed from the version before: empty for the first.
    changes: tuple[SectionChange, ...]


def history(document: PersonalDocument) -> tuple[VersionEntry, ...]:
    """Every version, newest first, each with its word diff against the one before."""
    entries = []
    before: tuple[Section, ...] = ()
    for version in document.versions:
        changes = tuple(
            SectionChange(
                heading=new.heading,
                segments=diff_words(old.text, new.text),
                old_heading=old.heading if old.heading != new.heading else None,
            )
            for old, new in zip(before, version.sections, strict=False)
            if old != new
        )
        entries.append(VersionEntry(version=version.version, at=version.at, sections=version.sections, changes=changes))
        before = version.sections
    return tuple(reversed(entries))
