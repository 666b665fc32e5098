"""The template library over the API: the same for everyone signed in.

Templates are Accord's own words, not anyone's data; they are read like the
rest of the API, with a session. Starting an agreement from one is
POST /api/agreements with `template_id`.
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from domain.errors import seen
from domain.templates import Template
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.responses import READ


class TemplateController(Controller):
    path = "/api/templates"
    tags = ("templates",)
    dependencies = CALLER

    @get("/", summary="The template library: agreement templates, then personal document templates", responses=READ)
    async def library(self, accord: AccordDep, caller: Caller) -> list[Template]:
        return list(accord.library.values())

    @get("/{template_id:str}", summary="One template, with its clauses (or a document's sections)", responses=READ)
    async def template(self, accord: AccordDep, caller: Caller, template_id: FromPath[str]) -> Template:
        return seen(accord.library.get(template_id), "template", template_id)  # type: ignore[arg-type]
