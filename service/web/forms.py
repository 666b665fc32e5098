"""From a submitted form to a command's arguments, and from a refusal to words beside the fields.

Forms are decoded into the API's own request Structs (`service.http.wire`), so
a page accepts exactly what the API accepts, with the same limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Request

from domain.errors import BookingRefused, DomainError, StaleRevision, StaleVersion, ValidationFailed
from service.commands import CommandKey, KeyReused
from service.web.security import CSRF_FIELD

T = TypeVar("T")

KEY_FIELD = "idempotency_key"


class FormInvalid(Exception):
    """The form cannot be used as sent; `errors` maps a field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors.items()))
        self.errors = dict(errors)


class Form(msgspec.Struct):
    """What one form sent: its values (line endings as typed, one value per name unless
    repeated), and the idempotency key it was rendered with."""

    values: dict[str, str]
    lists: dict[str, list[str]]
    key: CommandKey | None

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def getall(self, name: str) -> list[str]:
        return self.lists.get(name, [])


async def read_form(request: Request, caller: UUID | None) -> Form:
    """The form, once the caller (if signed in) is within the same command rate as the API's."""
    if caller is not None:
        request.app.state.accord.command_limiter.check(str(caller))
    raw = await request.form()
    lists: dict[str, list[str]] = {}
    for name, value in raw.multi_items():
        if isinstance(value, str) and name != CSRF_FIELD:
            # Browsers send textarea line breaks as CRLF; the domain compares texts exactly.
            lists.setdefault(name, []).append(value.replace("\r\n", "\n"))
    values = {name: found[-1] for name, found in lists.items()}
    return Form(values=values, lists=lists, key=_key(request, caller, lists))


def _key(request: Request, caller: UUID | None, lists: dict[str, list[str]]) -> CommandKey | None:
    """A form sent twice (a double click, a resubmitted page) runs its command once."""
    key = lists.get(KEY_FIELD, [""])[-1]
    if caller is None or not key or len(key) > 100 or not key.isprintable():
        return None
    body = urlencode(sorted((n, v) for n, vs in lists.items() for v in vs)).encode()
    return CommandKey(
        caller=caller,
        key=f"web:{key}",
        fingerprint=CommandKey.fingerprint_of(request.method, request.url.path, body),
    )


def decode(type_: type[T], **fields: Any) -> T:
    """Fields (None left out, so a missing one reads "is required") as the API's Struct."""
    present = {name: value for name, value in fields.items() if value is not None}
    try:
        return msgspec.convert(present, type_, strict=False)
    except msgspec.ValidationError as error:
        field, rule = explain(str(error))
        raise FormInvalid({field: rule}) from None


_AT = re.compile(r"^(?P<rule>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$")
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Expected `str` of length >= 1$"), "must not be empty"),
    (re.compile(r"Expected `str` of length >= (\d+)$"), "must be at least {0} characters"),
    (re.compile(r"Expected `str` of length <= (\d+)$"), "must be at most {0} characters"),
    (re.compile(r"Expected `str` matching regex"), "use 2 to 32 letters, digits, _ . or -"),
    (re.compile(r"Expected `array` of length >= 1$"), "choose at least one"),
    (re.compile(r"Expected `array` of length <= (\d+)$"), "choose at most {0}"),
    (re.compile(r"Expected `int` >= (\d+)$"), "must be at least {0}"),
    (re.compile(r"Expected `int`"), "must be a whole number"),
    (re.compile(r"Invalid enum value"), "choose one of the options"),
    (re.compile(r"Invalid RFC3339 encoded date"), "must be a date"),
)


def explain(message: str) -> tuple[str, str]:
    """A msgspec validation message as (field, a rule a person can act on)."""
    if missing := re.match(r"Object missing required field `(\w+)`", message):
        path = (_AT.match(message) or missing).groupdict().get("path") or ""
        return (f"{path}.{missing.group(1)}".lstrip("."), "is required")
    match = _AT.match(message)
    rule = match.group("rule") if match else message
    path = (match.group("path") if match else "") or "form"
    for pattern, words in _RULES:
        if found := pattern.match(rule):
            return path, words.format(*found.groups())
    return path, rule


class Failed(msgspec.Struct, kw_only=True):
    """A form that was refused, to render again with the person's own text and the reasons."""

    form_id: str
    values: dict[str, str]
    lists: dict[str, list[str]]
    errors: dict[str, str] = {}
    message: str = ""
    #: A clause that changed under an edit: what it says now, and its revision.
    conflict: dict[str, Any] | None = None
    status: int = 422


#: What a refusal means to the person, by the domain error's code.
MESSAGES = {
    "in_force": "This version is in force. Propose a renegotiation to change it.",
    "not_in_force": "Nothing is in force yet: edit the draft instead.",
    "already_done": "You have already done that.",
    "already_exists": "That was already sent.",
    "already_involved": "That person is already a party or already invited.",
    "not_invited": "There is no open invitation for you here.",
    "not_consented": "You have not consented to this version.",
    "proposal_closed": "This proposal is no longer open.",
    "proposal_out_of_date": "The agreement changed since this was proposed. Propose again.",
    "not_the_author": "Only its author can do that.",
    "own_repair_note": "You wrote this note; the others acknowledge it.",
    "link_status_forbids": "That link is not in a state that allows this.",
    "own_proposal": "You proposed this link; the other person answers it.",
    "not_in_link": "That is not your link.",
    "grant_revoked": "This grant was revoked. Propose a new one to share again.",
    "grant_lapsed": "This grant has ended.",
    "not_found": "That is no longer there.",
    "not_a_party": "That is no longer there.",
    "check_in_status_forbids": "This check-in is paused or has ended.",
    "occurrence_not_open": "This check-in has moved on to the next one; the page shows it now.",
    "not_due_for_review": "This clause is not due for review any more: it was reaffirmed or changed.",
}


def kept_values(form: Form) -> dict[str, str]:
    """What a refused form shows again: everything typed, but never a password."""
    return {name: value for name, value in form.values.items() if "password" not in name}


def failed(form_id: str, form: Form, error: Exception) -> Failed:
    base = {"form_id": form_id, "values": kept_values(form), "lists": form.lists}
    match error:
        case FormInvalid():
            return Failed(**base, errors=error.errors)
        case ValidationFailed():
            return Failed(**base, errors={error.field: error.rule})
        case StaleRevision():
            return Failed(
                **base,
                status=409,
                message="Another party changed this clause while you were editing. "
                "Their version is shown beside yours; your text is kept.",
                conflict={"clause_id": error.clause_id, "revision": error.current_revision, "text": error.current_text},
            )
        case StaleVersion():
            return Failed(
                **base,
                status=409,
                message=f"The agreement changed to version {error.current_version} since you "
                "read it. Review it, then consent to what it says now.",
            )
        case KeyReused():
            return Failed(**base, message="This form was already sent. Reload the page to start afresh.")
        case BookingRefused():
            # Already worded for the person sending it: the rule and its owner as far as the owner shows them.
            return Failed(**base, status=409, message=f"This time does not work: {error}.")
        case DomainError():
            message = MESSAGES.get(error.code, "That could not be done.")
            return Failed(**base, status=409, message=message)
    raise error
