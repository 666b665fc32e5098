"""An export as files: its JSON, its Markdown, and both in one zip.

The same bytes whether the API or a page is asked for them.
"""

from __future__ import annotations

import io
import zipfile

import msgspec

from service.read.export import Export
from service.web import markdown

JSON_NAME = "accord-export.json"
MARKDOWN_NAME = "accord-export.md"
ZIP_NAME = "accord-export.zip"
MARKDOWN = "text/markdown"
ZIP = "application/zip"

encode = msgspec.json.Encoder().encode


def disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


def bundle(export: Export) -> bytes:
    """One zip holding `export.json` and `export.md`, dated when the export was made."""
    when = export.exported_at.timetuple()[:6]
    buffer = io.BytesIO()
    # Stored, not deflated: the size then depends on the content alone, so a HEAD's
    # Content-Length is the GET's.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in (
            ("export.json", msgspec.json.format(encode(export), indent=2)),
            ("export.md", markdown.render(export).encode()),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return buffer.getvalue()
