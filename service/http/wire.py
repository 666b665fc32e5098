"""Request bodies: msgspec Structs whose constraints are the documented limits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
import msgspec.inspect
from litestar.openapi.spec import Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition
from msgspec import Meta

from domain.agreement import MAX_CLAUSE_TEXT, MAX_NOTE, MAX_TITLE, MAX_TOPIC, TOPICS
from domain.checkins import (
    MAX_ACTION_POINT,
    MAX_ACTION_POINTS,
    MAX_ANSWER,
    MAX_PLAN,
    MAX_PROMPT,
    MAX_PROMPTS,
    MAX_REASON,
)
from domain.documents import MAX_HEADING as MAX_DOCUMENT_HEADING
from domain.documents import MAX_SECTION as MAX_DOCUMENT_SECTION

Title = Annotated[str, Meta(min_length=1, max_length=MAX_TITLE)]
ClauseText = Annotated[str, Meta(min_length=1, max_length=MAX_CLAUSE_TEXT)]
Note = Annotated[str, Meta(min_length=1, max_length=MAX_NOTE)]
Handle = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{2,32}$", description="2-32 letters, digits, _ . -")]
#: Shown on pages and in drawings; a control character is never part of a name (and PostgreSQL text cannot hold NUL).
DisplayName = Annotated[
    str, Meta(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$", description="no control characters")
]
Password = Annotated[str, Meta(min_length=10, max_length=200)]
Topic = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_TOPIC,
        pattern=r"^[^\W_]+(_[^\W_]+)*$",
        description=f"one of {', '.join(TOPICS)}, or a topic of your own: lowercase words joined by _",
    ),
]
Revision = Annotated[int, Meta(ge=1)]
Version = Annotated[int, Meta(ge=0)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Unknown fields are an error, so a typo never silently does nothing."""


class StrictSchemas(OpenAPISchemaPlugin):
    """The OpenAPI document says what `Strict` bodies enforce.

    litestar's own Struct schema does not read `forbid_unknown_fields`, and
    leaves out the limits of a list's items, so bodies the document allowed
    (an extra field, a 41-character scope) were answered 400. This plugin is
    asked first; it lets the built-in one draw the schema, closes it
    (`additionalProperties: false`) and puts the item limits back.
    """

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return not field_definition.is_union and field_definition.is_subclass_of(Strict)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        builtin = next(
            plugin
            for plugin in schema_creator.plugins
            if plugin is not self and schema_creator.plugin_supports_field(plugin, field_definition)
        )
        schema: Schema = builtin.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        _item_limits(field_definition.type_, schema)
        return schema


def _item_limits(struct: type[Strict], schema: Schema) -> None:
    """Put back the limits of a list's strings (`list[Scope]`), which litestar's schema leaves out."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[union-attr]
        kind = field.type
        if not (isinstance(kind, msgspec.inspect.ListType) and isinstance(kind.item_type, msgspec.inspect.StrType)):
            continue
        prop = (schema.properties or {}).get(field.encode_name)
        if isinstance(prop, Schema) and isinstance(prop.items, Schema):
            item = kind.item_type
            prop.items.min_length, prop.items.max_length, prop.items.pattern = (
                item.min_length, item.max_length, item.pattern
            )


class Register(Strict):
    handle: Handle
    display_name: DisplayName
    password: Password


class SignIn(Strict):
    handle: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class DeleteAccount(Strict):
    password: Annotated[str, Meta(min_length=1, max_length=200, description="Your password, asked again")]


class Me(msgspec.Struct, frozen=True):
    person_id: UUID
    handle: str
    display_name: str


class Session(msgspec.Struct, frozen=True):
    token: str
    expires_at: datetime
    person: Me


TemplateId = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a template's id (GET /api/templates)")]


class CreateAgreement(Strict):
    title: Title
    agreement_id: UUID | None = None
    #: Start from this agreement template: its clauses become the first drafts.
    template_id: TemplateId | None = None


class Invite(Strict):
    handle: Handle


class Invited(msgspec.Struct, frozen=True):
    """The same answer whether or not the handle has an account."""

    status: Literal["invited"] = "invited"


class AddClause(Strict):
    topic: Topic
    text: ClauseText
    clause_id: UUID | None = None


class EditClause(Strict):
    text: ClauseText
    based_on_revision: Revision


class Consent(Strict):
    version: Version


class Change(Strict):
    kind: Literal["add", "edit", "remove"]
    clause_id: UUID | None = None
    topic: Topic | None = None
    text: ClauseText | None = None
    #: The clause's revisit date once the change is adopted (add or edit; none if left out).
    revisit_on: date | None = None


class SetEndDate(Strict):
    """The draft's end date: in force until that day begins (UTC); null makes it open-ended."""

    until: date | None


class Propose(Strict):
    #: May be empty when the renegotiation changes the end date only.
    changes: Annotated[list[Change], Meta(max_length=50)]
    reason: Note
    proposal_id: UUID | None = None
    #: A change of the end date: `{"until": "YYYY-MM-DD"}`, or `{"until": null}` for open-ended.
    end_date: SetEndDate | None = None


class SetRevisitDate(Strict):
    """A draft clause's revisit date (a later day than today, UTC); null clears it."""

    revisit_on: date | None


class Reaffirm(Strict):
    """Keep a clause due for review as it is, at the revision read, with a next revisit date or none."""

    revision: Revision
    next_revisit_on: date | None = None


class CommentOn(Strict):
    text: Note


class Decline(Strict):
    reason: Note


class WriteRepairNote(Strict):
    clause_id: UUID
    what_happened: Note
    impact: Note
    intentions: Note


class LinkRepairNote(Strict):
    proposal_id: UUID


class ProposeLink(Strict):
    handle: Handle


class SetDisclosure(Strict):
    disclosed: bool


Scope = Annotated[str, Meta(max_length=40)]


class ProposeGrant(Strict):
    audience: Handle
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=12)]
    until: datetime | None = None
    no_reshare: bool = False


# Check-ins

Prompt = Annotated[str, Meta(min_length=1, max_length=MAX_PROMPT)]
Answer = Annotated[str, Meta(max_length=MAX_ANSWER)]
Reason = Annotated[str, Meta(min_length=1, max_length=MAX_REASON)]


class StartCheckIn(Strict):
    """Either `partner_id` (a live partner) or `agreement_id` (its parties take part)."""

    kind: Literal["weekly", "monthly"]
    at: Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local time, HH:MM")]
    time_zone: Annotated[str, Meta(min_length=1, max_length=64, description="an IANA time zone, like Europe/Berlin")]
    starts_on: date
    every: Annotated[int, Meta(ge=1, le=12)] = 1
    weekday: Annotated[int, Meta(ge=0, le=6, description="0 Monday .. 6 Sunday (weekly)")] | None = None
    day: Annotated[int, Meta(ge=1, le=31, description="day of the month (monthly); a shorter month uses its last day")] | None = None
    partner_id: UUID | None = None
    agreement_id: UUID | None = None
    prompts: Annotated[list[Prompt], Meta(min_length=1, max_length=MAX_PROMPTS)] | None = None
    check_in_id: UUID | None = None


class ChangePrompts(Strict):
    prompts: Annotated[list[Prompt], Meta(min_length=1, max_length=MAX_PROMPTS)]


class Prepare(Strict):
    answers: Annotated[list[Answer], Meta(max_length=MAX_PROMPTS)]


class CloseOccurrence(Strict):
    plan: Annotated[str, Meta(min_length=1, max_length=MAX_PLAN)]
    action_points: Annotated[list[Annotated[str, Meta(min_length=1, max_length=MAX_ACTION_POINT)]], Meta(max_length=MAX_ACTION_POINTS)] = []


class MoveOccurrence(Strict):
    to: datetime
    reason: Reason


class SkipOccurrence(Strict):
    reason: Reason


class ProposeFromActionPoint(Strict):
    agreement_id: UUID
    changes: Annotated[list[Change], Meta(min_length=1, max_length=50)]


# Personal documents

SectionHeading = Annotated[str, Meta(max_length=MAX_DOCUMENT_HEADING)]
SectionText = Annotated[str, Meta(max_length=MAX_DOCUMENT_SECTION)]


class DocumentSectionInput(Strict):
    """A heading may be left empty where the kind fixes it (a Solo Ethic, a care plan); a security map's
    headings are the owner's three areas, each text its action."""

    text: SectionText
    heading: SectionHeading = ""


class WriteDocument(Strict):
    kind: Literal["solo_ethic", "care_plan", "security_map"]
    sections: Annotated[list[DocumentSectionInput], Meta(min_length=1, max_length=10)]
    document_id: UUID | None = None


class ReviseDocument(Strict):
    based_on_version: Annotated[int, Meta(ge=1, description="the version the owner last read")]
    sections: Annotated[list[DocumentSectionInput], Meta(min_length=1, max_length=10)]


class ShareDocument(Strict):
    """Either `handle` (anyone: a metamour only this way) or `partner_id` (a live partner)."""

    handle: Handle | None = None
    partner_id: UUID | None = None
    #: Required to share a security map, which is private by default.
    explicit: bool = False


# Blocks


class BlockPerson(Strict):
    """Exactly one of the two: a handle (answered alike whether or not it has an account), or a
    person I can see (a `person_id` from my network)."""

    handle: Handle | None = None
    person_id: UUID | None = None
