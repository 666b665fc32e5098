"""What changed between two versions of an agreement, down to the word."""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import Literal
from uuid import UUID

import msgspec

from domain.agreement import Clause

Op = Literal["equal", "insert", "delete"]
Segment = tuple[Op, str]

# Whitespace runs are tokens of their own, so a changed word does not drag the
# space after it into the change, and joining all tokens gives the text back.
_TOKENS = re.compile(r"\s+|\S+")


class ChangedClause(msgspec.Struct, frozen=True):
    clause_id: UUID
    topic: str
    old_revision: int
    new_revision: int
    segments: tuple[Segment, ...]


class VersionDiff(msgspec.Struct, frozen=True):
    added: tuple[Clause, ...]
    removed: tuple[Clause, ...]
    changed: tuple[ChangedClause, ...]


def diff_versions(
    old_clauses: Mapping[UUID, Clause], new_clauses: Mapping[UUID, Clause]
) -> VersionDiff:
    return VersionDiff(
        added=tuple(c for i, c in new_clauses.items() if i not in old_clauses),
        removed=tuple(c for i, c in old_clauses.items() if i not in new_clauses),
        changed=tuple(
            ChangedClause(
                clause_id=clause_id,
                topic=new.topic,
                old_revision=old_clauses[clause_id].revision,
                new_revision=new.revision,
                segments=diff_words(old_clauses[clause_id].text, new.text),
            )
            for clause_id, new in new_clauses.items()
            if clause_id in old_clauses and old_clauses[clause_id].text != new.text
        ),
    )


def diff_words(old: str, new: str) -> tuple[Segment, ...]:
    """Segments that read as `old` when inserts are skipped, and as `new` when deletes are."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    # Without autojunk, frequent tokens such as single spaces still anchor the alignment.
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            _append(segments, "delete", "".join(a[i1:i2]))
        if tag in ("insert", "replace"):
            _append(segments, "insert", "".join(b[j1:j2]))
        if tag == "equal":
            _append(segments, "equal", "".join(a[i1:i2]))
    return tuple(segments)


def _append(segments: list[Segment], op: Op, text: str) -> None:
    if segments and segments[-1][0] == op:
        segments[-1] = (op, segments[-1][1] + text)
    else:
        segments.append((op, text))
