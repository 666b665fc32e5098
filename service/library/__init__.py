"""The template library: the TOML files beside this module, shipped as package data.

`load_library()` reads them once, in `create_app`; each file's name is its
template's id. Agreement templates start agreements (`Agreements.start_from_template`);
document templates (`kind = "document"`, with the personal document they start)
are for personal documents: `library.documents("care_plan")`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from importlib.resources import files
from typing import Any

from domain.errors import ValidationFailed
from domain.templates import Template, TemplateKind, parse_template


class Library(Mapping[str, Template]):
    """Templates by id, in the order of their titles."""

    def __init__(self, templates: list[Template]) -> None:
        self._by_id = {t.template_id: t for t in sorted(templates, key=lambda t: (t.kind, t.title))}

    def __getitem__(self, template_id: str) -> Template:
        return self._by_id[template_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def of_kind(self, kind: TemplateKind) -> list[Template]:
        return [t for t in self._by_id.values() if t.kind == kind]

    def agreement_template(self, template_id: str) -> Template:
        """The agreement template of that id; ValidationFailed on `template_id` if there is none."""
        template = self._by_id.get(template_id)
        if template is None or template.kind != "agreement":
            raise ValidationFailed("template_id", "is not an agreement template (GET /api/templates lists them)")
        return template

    def documents(self, document: str) -> list[Template]:
        """The templates that start a personal document of this kind (solo_ethic, care_plan, security_map)."""
        return [t for t in self._by_id.values() if t.document == document]


def _stripped(raw: Any) -> Any:
    # Multi-line TOML strings keep the line break before the closing quotes.
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, list):
        return [_stripped(item) for item in raw]
    if isinstance(raw, dict):
        return {key: _stripped(value) for key, value in raw.items()}
    return raw


def load_library() -> Library:
    """Every template shipped with Accord; a file that does not load is an error (ValidationFailed names it)."""
    folder = files(__name__)
    return Library(
        [
            parse_template(entry.name.removesuffix(".toml"), _stripped(tomllib.loads(entry.read_text("utf-8"))))
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        ]
    )
