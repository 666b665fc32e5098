"""Templates: starting texts for an agreement or a personal document.

A template is data (a TOML file in `service/library/`), versioned by its
authors: a change of wording is a new `version`, and an agreement started from
a template records which one and which version. Starting from it only makes
drafts; the parties edit them and consent to them as to any other.

Each template says what it covers (`covers`), and every clause or section says
which of those it is `about`, so a test can hold the library to its claims.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from domain.agreement import MAX_CLAUSE_TEXT, MAX_CLAUSES, MAX_TITLE, check_topic
from domain.documents import HEADINGS, Section
from domain.documents import Kind as DocumentKind
from domain.errors import ValidationFailed

TemplateKind = Literal["agreement", "document"]
TEMPLATE_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")


class TemplateClause(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: What it is about, in the template's words: one of the template's `covers`.
    about: str
    topic: str
    text: str


class TemplateSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A part of a personal document: a heading and a starting text the owner rewrites."""

    about: str
    text: str
    #: A heading of its own, where the document's headings are the owner's (a security map's areas).
    heading: str = ""


class Template(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    template_id: str
    version: int
    kind: TemplateKind
    title: str
    summary: str
    covers: tuple[str, ...]
    clauses: tuple[TemplateClause, ...] = ()
    #: Documents only: which personal document it starts.
    document: DocumentKind | None = None
    sections: tuple[TemplateSection, ...] = ()

    @property
    def parts(self) -> tuple[TemplateClause | TemplateSection, ...]:
        return self.clauses if self.kind == "agreement" else self.sections


def parse_template(template_id: str, raw: Mapping[str, Any]) -> Template:
    """A template from its file's data; the file's name is its id. Raises ValidationFailed naming the field."""
    if not TEMPLATE_ID.fullmatch(template_id):
        raise ValidationFailed("template_id", "must be 2-40 lowercase letters, digits or _, starting with a letter")
    try:
        template = msgspec.convert({**raw, "template_id": template_id}, Template)
    except msgspec.ValidationError as error:
        raise ValidationFailed(template_id, str(error)) from None
    check_template(template)
    return template


def check_template(template: Template) -> None:
    where = template.template_id
    if template.version < 1:
        raise ValidationFailed(f"{where}.version", "must be 1 or more")
    if not template.title.strip() or len(template.title) > MAX_TITLE:
        raise ValidationFailed(f"{where}.title", f"must be 1-{MAX_TITLE} characters")
    if template.kind == "agreement":
        if template.sections or template.document is not None or not template.clauses:
            raise ValidationFailed(f"{where}.clauses", "an agreement template has clauses, and no sections")
        if len(template.clauses) > MAX_CLAUSES:
            raise ValidationFailed(f"{where}.clauses", f"must be at most {MAX_CLAUSES}")
        for i, clause in enumerate(template.clauses):
            check_topic(f"{where}.clauses[{i}].topic", clause.topic)
    elif template.clauses or template.document is None or not template.sections:
        raise ValidationFailed(f"{where}.sections", "a document template names its document and has sections")
    for i, part in enumerate(template.parts):
        if not part.text.strip() or len(part.text) > MAX_CLAUSE_TEXT:
            raise ValidationFailed(f"{where}.parts[{i}].text", f"must be 1-{MAX_CLAUSE_TEXT} characters")
    check_covers(template)


def check_covers(template: Template) -> None:
    """It covers what it claims, and claims what it covers."""
    claimed = set(template.covers)
    about = {part.about for part in template.parts}
    if missing := sorted(claimed - about):
        raise ValidationFailed(f"{template.template_id}.covers", f"claims {', '.join(missing)} but no part is about it")
    if unclaimed := sorted(about - claimed):
        raise ValidationFailed(f"{template.template_id}.covers", f"does not claim {', '.join(unclaimed)}")


def document_sections(template: Template) -> list[Section]:
    """A document template's starting text under its kind's headings: each heading gets the
    section that is about it ("signs" is about "Signs that I am activated"; none: left to write). A security map's areas are the owner's own,
    so its sections keep the template's order and leave the headings to them."""
    fixed = HEADINGS.get(template.document or "")
    if fixed is None:
        return [Section(s.heading, s.text) for s in template.sections]
    def text(heading: str) -> str:
        return next((s.text for s in template.sections if heading.casefold().startswith(s.about.casefold())), "")

    return [Section(heading, text(heading)) for heading in fixed]
