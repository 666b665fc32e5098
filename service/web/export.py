"""The "Your data" page: what an export holds, the downloads themselves, and deleting the account.

A download is the same export the API gives (service/http/export.py), asked
for with the page's session cookie instead of a bearer token. It is a GET, so
it needs no CSRF token: another site can at most make someone save their own
data to their own machine, and never read it. The pages' security headers
(the Content-Security-Policy among them) come with every download.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from domain.errors import ValidationFailed
from service.accounts import RateLimited
from service.http.auth import client
from service.http.deps import AccordDep
from service.http.wire import DeleteAccount
from service.web import markdown
from service.web.download import (
    JSON_NAME,
    MARKDOWN,
    MARKDOWN_NAME,
    ZIP,
    ZIP_NAME,
    bundle,
    disposition,
    encode,
)
from service.web.forms import Failed, FormInvalid, decode, kept_values, read_form
from service.web.pages import ME, Me, render
from service.web.security import clear_session


def _download(
    content: bytes | str, media_type: str, name: str
) -> Response[bytes | str]:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": disposition(name)},
    )


class ExportPages(Controller):
    path = "/your-data"
    dependencies = ME

    @get("/")
    async def page(self, request: Request, me: Me) -> Template:
        return render(request, "your_data.html", {}, me=me)

    @post("/delete-account")
    async def delete_account(self, request: Request, accord: AccordDep, me: Me) -> Response[object] | Template:
        """Asks for the password again; done, the session ends and the page says what remains."""
        form = await read_form(request, me.person_id)
        try:
            data = decode(DeleteAccount, password=form.get("password"))
            await accord.erase(client(request), me.person_id, data.password)
        except (FormInvalid, ValidationFailed, RateLimited) as error:
            # The password is never sent back into the page.
            kept = {"form_id": "delete-account", "values": kept_values(form), "lists": {}}
            if isinstance(error, RateLimited):
                failed = Failed(**kept, message=f"Too many attempts. Try again in {error.retry_after} seconds.", status=429)
            elif isinstance(error, FormInvalid):
                failed = Failed(**kept, errors=error.errors)
            else:
                failed = Failed(**kept, errors={"password": "is not your password"}, status=422)
            return render(request, "your_data.html", {}, me=me, failed=failed)
        response = render(request, "account_deleted.html", {}, me=None)
        clear_session(response)
        return response

    @get("/export.zip")
    async def as_zip(self, accord: AccordDep, me: Me) -> Response[bytes | str]:
        export = await accord.exports.export(me.person_id)
        return _download(bundle(export), ZIP, ZIP_NAME)

    @get("/export.json")
    async def as_json(self, accord: AccordDep, me: Me) -> Response[bytes | str]:
        export = await accord.exports.export(me.person_id)
        return _download(encode(export), "application/json", JSON_NAME)

    @get("/export.md")
    async def as_markdown(self, accord: AccordDep, me: Me) -> Response[bytes | str]:
        export = await accord.exports.export(me.person_id)
        return _download(markdown.render(export), MARKDOWN, MARKDOWN_NAME)
