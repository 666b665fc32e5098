"""Checks on a list of people someone names (the recipients of a signal, the invitees of a plan)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.errors import ValidationFailed


def check_named(field: str, by: UUID, people: Sequence[UUID], most: int, *, whom: str, oneself: str) -> None:
    """`by` names 1 to `most` people, each once, never themselves; else a refusal on `field` in the
    domain's words (`whom`: who is to be named, `oneself`: why not oneself)."""
    if not people:
        raise ValidationFailed(field, f"name at least one {whom}")
    if len(people) > most:
        raise ValidationFailed(field, f"at most {most} people")
    if len(set(people)) != len(people):
        raise ValidationFailed(field, "names someone twice")
    if by in people:
        raise ValidationFailed(field, oneself)
