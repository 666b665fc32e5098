"""Personal documents: written and owned by one person, versioned, shared only with people they choose.

Three kinds, each a fixed set of sections (a heading and its text):

- a Solo Ethic: what solo means to me, autonomy, home, time, what partners can expect;
- a care plan: when I am activated, the signs, what helps, what does not, how to reach me;
- a security map: three areas where I feel insecure (the headings are the owner's
  own words), each with one action. Private by default: it is shared only when
  the owner says so explicitly (`explicit`), never offered as one of the others are.

Every revision is a new version (the first is version 1); the versions are
kept, so the owner can read the history with word diffs. The owner shares a
document with a person and revokes it at once. Whether a share lets its
person see the document now (a partner, or a metamour, through links live
since the share) is the policy's question (`domain.policy.document_access`);
here a share is a choice the owner made. Deleting a document destroys its
key (crypto-shredding): its text cannot be read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import AlreadyDone, DocumentChanged, NotFound, ValidationFailed

Kind = Literal["solo_ethic", "care_plan", "security_map"]

#: The fixed headings of each kind, in order; a security map's three headings are the owner's own areas.
HEADINGS: dict[str, tuple[str, ...]] = {
    "solo_ethic": (
        "What solo means to me",
        "Autonomy",
        "Home",
        "Time",
        "What partners can expect",
    ),
    "care_plan": (
        "Signs that I am activated",
        "What helps",
        "What does not help",
        "How to reach me",
    ),
}
KIND_NAMES: dict[str, str] = {
    "solo_ethic": "Solo Ethic",
    "care_plan": "Care plan",
    "security_map": "Security map",
}
#: A security map names this many areas, each with one action.
SECURITY_AREAS = 3
#: Kinds kept private unless the owner explicitly chooses to share.
PRIVATE_KINDS = frozenset({"security_map"})
MAX_HEADING = 200
MAX_SECTION = 5000
MAX_SHARES = 50
MAX_VERSIONS = 1000


class Section(msgspec.Struct, frozen=True):
    heading: str
    text: str


class Version(msgspec.Struct, frozen=True):
    version: int
    at: datetime
    sections: tuple[Section, ...]


def check_kind(kind: str) -> None:
    if kind not in KIND_NAMES:
        raise ValidationFailed("kind", f"must be one of {', '.join(KIND_NAMES)}")


def check_sections(kind: str, sections: Sequence[Section]) -> tuple[Section, ...]:
    """The sections as the kind has them: a fixed heading left empty is filled in; the texts within limits."""
    fixed = HEADINGS.get(kind)
    count = len(fixed) if fixed is not None else SECURITY_AREAS
    if len(sections) != count:
        raise ValidationFailed("sections", f"a {KIND_NAMES[kind]} has {count} sections")
    found = []
    for i, section in enumerate(sections):
        heading = section.heading.strip()
        if fixed is not None:
            if heading and heading != fixed[i]:
                raise ValidationFailed(f"sections[{i}].heading", f"must be {fixed[i]!r} (or left empty)")
            heading = fixed[i]
        elif not heading and section.text.strip():
            raise ValidationFailed(f"sections[{i}].heading", "name the area before its action")
        if len(heading) > MAX_HEADING:
            raise ValidationFailed(f"sections[{i}].heading", f"must be at most {MAX_HEADING} characters")
        if len(section.text) > MAX_SECTION:
            raise ValidationFailed(f"sections[{i}].text", f"must be at most {MAX_SECTION} characters")
        found.append(Section(heading=heading, text=section.text))
    if not any(s.text.strip() or (fixed is None and s.heading) for s in found):
        raise ValidationFailed("sections", "write at least one section")
    return tuple(found)


class PersonalDocument(Aggregate):
    class Event(Aggregate.Event):
        #: Sections are intimate: sealed at rest with this document's own data key.
        intimate = True

    class Written(Event, Aggregate.Created):
        owner: UUID
        kind: str
        sections: tuple[Section, ...]

        def apply(self, document: PersonalDocument) -> None:
            document.owner = self.owner
            document.kind = self.kind
            document.versions = [Version(version=1, at=self.timestamp, sections=self.sections)]
            #: person -> when the current share with them was made.
            document.shares = {}
            document.deleted = False

    class Revised(Event):
        version: int
        sections: tuple[Section, ...]

        def apply(self, document: PersonalDocument) -> None:
            document.versions.append(Version(version=self.version, at=self.timestamp, sections=self.sections))

    class SharedWith(Event):
        person: UUID
        #: The handle the owner chose them by, sealed with the person's own key (empty: a partner picked directly).
        handle: str = ""

        def apply(self, document: PersonalDocument) -> None:
            document.shares[self.person] = (self.timestamp, self.handle)

    class ShareRevoked(Event):
        person: UUID

        def apply(self, document: PersonalDocument) -> None:
            document.shares.pop(self.person, None)

    class Deleted(Event):
        def apply(self, document: PersonalDocument) -> None:
            document.deleted = True
            document.shares = {}

    # Commands

    @classmethod
    def write(
        cls, document_id: UUID, owner: UUID, kind: str, sections: Sequence[Section], now: datetime
    ) -> PersonalDocument:
        check_kind(kind)
        return cls._create(
            cls.Written, id=document_id, timestamp=now, owner=owner, kind=kind, sections=check_sections(kind, sections)
        )

    def revise(self, by: UUID, based_on: int, sections: Sequence[Section], now: datetime) -> None:
        """A new version, from the one the owner last read: a stale base is a conflict, never a silent overwrite."""
        self.check_owner(by)
        self.check_current(based_on)
        checked = check_sections(self.kind, sections)
        if checked == self.current.sections:
            return
        if len(self.versions) >= MAX_VERSIONS:
            raise ValidationFailed("sections", f"a document keeps at most {MAX_VERSIONS} versions")
        self.trigger_event(self.Revised, timestamp=now, version=self.current.version + 1, sections=checked)

    def share_with(self, by: UUID, person: UUID, handle: str, now: datetime, *, explicit: bool = False) -> None:
        self.check_owner(by)
        self.check_shareable(explicit)
        if person == self.owner:
            raise ValidationFailed("handle", "a document is always its owner's to read")
        if person in self.shares:
            raise AlreadyDone("shared", self.id, person)
        if len(self.shares) >= MAX_SHARES:
            raise ValidationFailed("handle", f"a document is shared with at most {MAX_SHARES} people")
        self.trigger_event(self.SharedWith, timestamp=now, person=person, handle=handle)

    def revoke_share(self, by: UUID, person: UUID, now: datetime) -> None:
        self.check_owner(by)
        if person not in self.shares:
            raise NotFound("share", self.id)
        self.trigger_event(self.ShareRevoked, timestamp=now, person=person)

    def delete(self, by: UUID, now: datetime) -> None:
        self.check_owner(by)
        self.trigger_event(self.Deleted, timestamp=now)

    # Lookups

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def version_at(self, version: int) -> Version:
        if not 1 <= version <= len(self.versions):
            raise NotFound("version", self.id)
        return self.versions[version - 1]

    # Invariants

    def check_owner(self, person: UUID) -> None:
        """Anyone but the owner is told it does not exist (a person it is shared with only reads)."""
        if person != self.owner or self.deleted:
            raise NotFound("document", self.id)

    def check_current(self, based_on: int) -> None:
        if based_on != self.current.version:
            changed = DocumentChanged(self.id, based_on, self.current.version)
            changed.sections = self.current.sections
            raise changed

    def check_shareable(self, explicit: bool) -> None:
        if self.kind in PRIVATE_KINDS and not explicit:
            raise ValidationFailed("explicit", f"a {KIND_NAMES[self.kind]} is private: say explicit: true to share it")
