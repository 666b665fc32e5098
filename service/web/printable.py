"""Something to export or print, as plain parts: a title, lines under it, sections of paragraphs.

Exports go through the one view function like any other read: a `Printable` is
made only from what a view already holds (a party's agreement at a version, or
exactly the `SharedView` a metamour reads), so a file can say nothing its
reader's page does not. `markdown` and `service.web.pdf.render_pdf` then write
the same parts as Markdown and as PDF.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.policy import SharedView
from service.commands.documents import DocumentAtVersion
from service.read.queries import AgreementAtVersion
from service.web import markdown as md
from service.web import present


class Section(msgspec.Struct, frozen=True):
    heading: str
    paragraphs: tuple[str, ...]


class Printable(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    #: Under the title: whose it is, which version, when it was made.
    lines: tuple[str, ...]
    sections: tuple[Section, ...]
    #: A name to save it as, without its extension.
    filename: str


def agreement(found: AgreementAtVersion | SharedView, made_at: datetime) -> Printable:
    """An agreement as its reader may export it: a party's version, or a metamour's view."""
    made = f"Exported from Accord on {present.when(made_at)}."
    if isinstance(found, SharedView):
        parties = present.listing(sorted(p.name for p in found.parties))
        context = present.shared_context(found)
        sections = [
            Section(present.topic_label(topic), tuple(c.text for c in items)) for topic, items in context["groups"]
        ]
        if context["pairs"]:
            sections.append(Section("Relationships", tuple(f"{a} and {b} are partners." for a, b in context["pairs"])))
        if found.history:
            sections.append(
                Section(
                    "How it changed",
                    tuple(
                        f"{present.when(h.at)}, {present.topic_label(h.topic)}: clause {h.change}."
                        + (f" {h.text}" if h.text else "")
                        for h in context["history"]
                    ),
                )
            )
        lines = [f"An agreement between {parties}, as they chose to share it with you.", made]
        if found.no_reshare:
            lines.insert(1, "They asked that it not be passed on.")
        return Printable(
            title="Shared with you",
            lines=tuple(lines),
            sections=tuple(sections) or (Section("What they agreed", ("No clauses are shared with you.",)),),
            filename=f"accord-shared-{found.agreement_id}",
        )
    view = found.view
    if found.in_force:
        state = "in force"
    elif found.version == view.version and view.status != "in_force":
        state = "the current draft, not in force"
    else:
        state = "not in force now"
    return Printable(
        title=view.title,
        lines=(
            f"Between {present.listing(sorted(p.name for p in view.parties))}.",
            f"Version {found.version} ({state}).",
            made,
        ),
        sections=tuple(
            Section(present.topic_label(topic), tuple(c.text for c in items))
            for topic, items in present.by_topic(found.clauses)
        )
        or (Section("Clauses", ("No clauses at this version.",)),),
        filename=f"accord-agreement-{view.agreement_id}-v{found.version}",
    )


def document(found: DocumentAtVersion, made_at: datetime) -> Printable:
    """A personal document as its reader may export it: the owner's version, or the current one
    shared with them."""
    view = found.view
    whose = "Yours" if view.access == "owner" else f"By {view.owner.name}, shared with you"
    return Printable(
        title=view.title,
        lines=(
            f"{whose}. Version {found.version}, written {present.when(found.at)}.",
            f"Exported from Accord on {present.when(made_at)}.",
        ),
        sections=tuple(
            Section(s.heading or "(no area named)", (s.text,) if s.text.strip() else ("Not written yet.",))
            for s in found.sections
        ),
        filename=f"accord-document-{view.document_id}-v{found.version}",
    )


def markdown(doc: Printable) -> str:
    """The same parts as Markdown; people's own words escaped, so they read as written."""
    out = [f"# {md.text(doc.title)}", ""]
    out += [*(md.text(line) for line in doc.lines), ""] if doc.lines else []
    for section in doc.sections:
        out += [f"## {md.text(section.heading)}", ""]
        for text in section.paragraphs:
            # A line break someone wrote stays one (a Markdown hard break).
            out += ["  \n".join(md.text(line) for line in text.splitlines() if line.strip()), ""]
    return "\n".join(out).rstrip() + "\n"
