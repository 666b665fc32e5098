"""Every error leaves as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain.errors import (
    AlreadyDone,
    AlreadyExists,
    AlreadyInvolved,
    BookingRefused,
    CheckInStatusForbids,
    DocumentChanged,
    DomainError,
    GrantLapsed,
    GrantNotDue,
    GrantRevoked,
    InForce,
    LinkStatusForbids,
    NotAParty,
    NotAskedToDiscard,
    NotConsented,
    NotDue,
    NotFound,
    NothingDue,
    NotInForce,
    NotInLink,
    NotInvited,
    NotTheAuthor,
    NotToBeShared,
    OccurrenceNotDue,
    OccurrenceNotOpen,
    OwnProposal,
    OwnRepairNote,
    PlanChanged,
    PlanStatusForbids,
    ProposalClosed,
    ProposalOutOfDate,
    StaleRevision,
    StaleVersion,
    ValidationFailed,
)
from service.accounts import RateLimited, SignInFailed
from service.commands import Busy, KeyReused
from service.store import StoreUnavailable
from service.store.base import HandleTaken

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


class FieldProblem(msgspec.Struct):
    field: str
    rule: str


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []
    current: Any = None


def problem(
    status: int,
    detail: str,
    *,
    code: str = "",
    errors: list[FieldProblem] | None = None,
    current: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    title = HTTPStatus(status).phrase
    kind = code or title.lower().replace(" ", "_").replace("'", "")
    return Response(
        Problem(
            type=f"https://accord.example/problems/{kind}",
            title=title,
            status=status,
            detail=detail,
            errors=errors or [],
            current=current,
        ),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


_AT = re.compile(r"^(?P<rule>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")
_REQUIRED = re.compile(r"missing required field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"^Missing required (?P<source>\w+) parameter '(?P<field>[^']+)'")


def _alias(request: Request, key: str) -> str:
    """The name the client used: a parameter's declared alias, not the Python name."""
    handler = request.scope.get("route_handler")
    parameter = getattr(handler, "parsed_fn_signature", None)
    parameter = parameter.parameters.get(key) if parameter is not None else None
    return getattr(getattr(parameter, "kwarg_definition", None), "name", None) or key


def _field_problems(request: Request, exc: ValidationException) -> list[FieldProblem]:
    if (missing := _MISSING.match(str(exc.detail))) is not None:
        return [FieldProblem(field=missing.group("field"), rule="is required")]
    found = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        match = _AT.match(message)
        rule = match.group("rule") if match else message
        path = ((match.group("path") if match else None) or "").lstrip(".")
        if (unknown := _UNKNOWN.search(rule)) is not None:
            field = ".".join(p for p in (path, unknown.group("field")) if p)
            found.append(FieldProblem(field=field, rule="is not a known field"))
            continue
        if (required := _REQUIRED.search(rule)) is not None:
            field = ".".join(p for p in (path, required.group("field")) if p)
            found.append(FieldProblem(field=field, rule="is required"))
            continue
        field = path or _alias(request, str(item.get("key") or "body"))
        found.append(FieldProblem(field=field, rule=rule))
    return found


def on_validation(request: Request, exc: ValidationException) -> Response[Problem]:
    errors = _field_problems(request, exc)
    detail = "; ".join(f"{e.field}: {e.rule}" for e in errors) or str(exc.detail)
    return problem(400, detail, code="invalid_request", errors=errors)


def on_http(request: Request, exc: HTTPException) -> Response[Problem]:
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


def current_of(exc: DomainError) -> dict[str, Any] | None:
    """What is there now, for a 409: built from the ids and values the error carries.

    Every conflict has one (tests/api/test_conflicts.py walks every error), so
    a client can decide again without another read. It says nothing the
    caller's own view does not already show.
    """
    match exc:
        case StaleRevision():
            return {"clause_id": exc.clause_id, "revision": exc.current_revision, "text": exc.current_text}
        case StaleVersion():
            return {"version": exc.current_version}
        case ProposalOutOfDate():
            return {
                "proposal_id": exc.proposal_id,
                "status": "out_of_date",
                "base_version": exc.base_version,
                "in_force_version": exc.in_force_version,
            }
        case ProposalClosed():
            return {"proposal_id": exc.proposal_id, "status": exc.status, "in_force_version": exc.in_force_version}
        case InForce():
            return {"status": "in_force", "in_force_version": exc.version}
        case NotInForce():
            return {"status": "drafting", "version": exc.version}
        case AlreadyInvolved() | NotInvited():
            return {"relation": exc.relation}
        case NotConsented():
            return {"version": exc.version, "consented": False}
        case NotAskedToDiscard():
            return {"id": exc.agreement_id, "asked_to_discard": False}
        case AlreadyDone():
            done = {"id": exc.thing_id, "done": exc.action}
            return done if exc.version is None else {**done, "version": exc.version}
        case AlreadyExists():
            return {"id": exc.thing_id, "kind": exc.thing, "exists": True}
        case NotTheAuthor():
            return {"id": exc.thing_id, "yours": False}
        case OwnRepairNote():
            return {"id": exc.note_id, "yours": True}
        case OwnProposal():
            return {"link_id": exc.link_id, "status": exc.status, "proposed_by_me": True}
        case LinkStatusForbids():
            return {"link_id": exc.link_id, "status": exc.status}
        case GrantRevoked():
            return {"grant_id": exc.grant_id, "revoked": True}
        case GrantLapsed():
            return {"grant_id": exc.grant_id, "lapsed": True, "until": exc.until}
        case GrantNotDue():
            return {"grant_id": exc.grant_id, "lapsed": False}
        case CheckInStatusForbids():
            return {"check_in_id": exc.check_in_id, "status": exc.status}
        case OccurrenceNotOpen():
            return {"check_in_id": exc.check_in_id, "index": exc.index, "open_index": exc.open_index}
        case OccurrenceNotDue():
            return {"check_in_id": exc.check_in_id, "index": exc.index, "missed": False}
        case NotDue():
            return {"clause_id": exc.clause_id, "due_for_review": False}
        case NothingDue():
            return {"id": exc.agreement_id, "due": False}
        case PlanStatusForbids():
            return {"plan_id": exc.plan_id, "status": exc.status}
        case PlanChanged():
            return {"plan_id": exc.plan_id, "proposal": exc.current_proposal}
        case DocumentChanged():
            return {"document_id": exc.document_id, "version": exc.current_version, "sections": exc.sections}
        case BookingRefused():
            return {"plan_id": exc.plan_id, "breaches": exc.breaches}
    return None


def status_of(exc: DomainError) -> int:
    if isinstance(exc, (NotFound, NotAParty, NotInLink)):
        return 404
    if isinstance(exc, ValidationFailed):
        return 422
    if isinstance(exc, NotToBeShared):
        # The caller sees the thing; what they may not do with it is not a conflict to retry.
        return 403
    return 409


def on_domain(request: Request, exc: DomainError) -> Response[Problem]:
    status = status_of(exc)
    if status == 404:
        # Whether a thing exists is itself private: one answer for all three.
        return problem(404, "not found", code="not_found")
    if isinstance(exc, ValidationFailed):
        return problem(
            422, str(exc), code=exc.code, errors=[FieldProblem(field=exc.field, rule=exc.rule)]
        )
    if status == 403:
        return problem(403, str(exc), code=exc.code)
    return problem(409, str(exc), code=exc.code, current=current_of(exc))


def on_unavailable(request: Request, exc: StoreUnavailable) -> Response[Problem]:
    log.warning("store unavailable: %s", type(exc.__cause__ or exc).__name__)
    return problem(
        503,
        "the event log is unavailable; the command may not have been recorded — "
        "retry with the same Idempotency-Key",
        headers={"Retry-After": "1"},
    )


def on_unexpected(request: Request, exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.scope.get("path_template", ""))
    return problem(500, "internal error")


def on_key_reused(request: Request, exc: KeyReused) -> Response[Problem]:
    return problem(
        422,
        "this Idempotency-Key was already used for a different request",
        code="idempotency_key_reused",
        errors=[FieldProblem(field="Idempotency-Key", rule="must not be reused for a different request")],
    )


def on_busy(request: Request, exc: Busy) -> Response[Problem]:
    return problem(503, "too many changes at once to what this request changes; retry", headers={"Retry-After": "1"})


def on_rate_limited(request: Request, exc: RateLimited) -> Response[Problem]:
    # A named limit is the problem's type (`.../problems/link_proposals_per_sender`).
    return problem(429, str(exc), code=exc.limit, headers={"Retry-After": str(exc.retry_after)})


def on_sign_in_failed(request: Request, exc: SignInFailed) -> Response[Problem]:
    return problem(401, "wrong handle or password", code="sign_in_failed")


def on_handle_taken(request: Request, exc: HandleTaken) -> Response[Problem]:
    # The store names the handle it refused; `current` says it is held, as every 409 says what is there.
    handle = str(exc.args[0]) if exc.args else None
    return problem(
        409,
        "that handle is taken; choose another",
        code="handle_taken",
        errors=[FieldProblem(field="handle", rule="must not be taken")],
        current={"handle": handle, "taken": True},
    )


HANDLERS = {
    KeyReused: on_key_reused,
    Busy: on_busy,
    RateLimited: on_rate_limited,
    SignInFailed: on_sign_in_failed,
    HandleTaken: on_handle_taken,
    ValidationException: on_validation,
    HTTPException: on_http,
    DomainError: on_domain,
    StoreUnavailable: on_unavailable,
    Exception: on_unexpected,
}
