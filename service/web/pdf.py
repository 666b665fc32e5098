"""A printable document as a PDF: fpdf2, pure Python, so no system library is needed.

The text is real text (selectable, searchable, read back by `pypdf` in the
tests), set in DejaVu Sans, bundled beside this module with its licence
(service/web/fonts), so any script people write in is shown whatever fonts the
machine has. Anything to be exported (an agreement at a version, a view shared
with a metamour, a personal document) is first made a `Printable`
(service/web/printable.py); this module knows nothing of where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from service.web.printable import Section

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
#: Shown for a character the font has no glyph for (fpdf2 would leave it out without a word).
MISSING = "\ufffd"
MISSING_NOTE = (
    "Some characters (shown as \ufffd) have no glyph in this PDF's font; "
    "the Markdown export holds every word as written."
)


@cache
def _covered() -> frozenset[int]:
    """The characters both bundled faces can draw (fontTools comes with fpdf2)."""
    faces = [set(TTFont(FONTS / name).getBestCmap()) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")]
    return frozenset(set.intersection(*faces))


def drawable(text: str) -> str:
    """`text` with each character the font cannot draw replaced by a visible mark."""
    covered = _covered()
    return "".join(c if ord(c) in covered or c in "\n\t" else MISSING for c in text)


def render_pdf(title: str, sections: Sequence[Section], *, lines: Sequence[str] = ()) -> bytes:
    """`title`, the `lines` under it, then each section: a heading and its paragraphs."""
    title, lines = drawable(title), [drawable(line) for line in lines]
    sections = [Section(drawable(s.heading), tuple(drawable(p) for p in s.paragraphs)) for s in sections]
    if any(MISSING in text for text in (title, *lines, *(t for s in sections for t in (s.heading, *s.paragraphs)))):
        lines.append(MISSING_NOTE)
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("Accord")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    def paragraph(text: str, size: float, style: str = "", after: float = 2) -> None:
        pdf.set_font(FAMILY, style, size)
        pdf.multi_cell(0, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(after)

    paragraph(title, 18, "B", after=3)
    for line in lines:
        paragraph(line, 10, after=1)
    pdf.ln(4)
    for section in sections:
        paragraph(section.heading, 13, "B")
        for text in section.paragraphs:
            paragraph(text, 11, after=3)
        pdf.ln(2)
    return bytes(pdf.output())
