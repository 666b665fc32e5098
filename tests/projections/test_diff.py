from __future__ import annotations

from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.agreement import Clause
from projections.diff import ChangedClause, diff_versions, diff_words


def test_clauses_added_removed_and_changed():
    kept, changed, removed, added = uuid4(), uuid4(), uuid4(), uuid4()
    old = {
        kept: Clause(kept, "other", "Be kind."),
        changed: Clause(changed, "check_ins", "We check in weekly."),
        removed: Clause(removed, "privacy", "No photos."),
    }
    new = {
        kept: old[kept],
        changed: Clause(changed, "check_ins", "We check in every Sunday.", revision=2),
        added: Clause(added, "scheduling", "Tuesdays are ours."),
    }

    diff = diff_versions(old, new)

    assert diff.added == (new[added],)
    assert diff.removed == (old[removed],)
    assert diff.changed == (
        ChangedClause(
            clause_id=changed,
            topic="check_ins",
            old_revision=1,
            new_revision=2,
            segments=(
                ("equal", "We check in "),
                ("delete", "weekly."),
                ("insert", "every Sunday."),
            ),
        ),
    )


def test_identical_versions_have_no_differences():
    clause_id = uuid4()
    clauses = {clause_id: Clause(clause_id, "other", "Same.")}

    diff = diff_versions(clauses, dict(clauses))

    assert (diff.added, diff.removed, diff.changed) == ((), (), ())


def test_a_word_diff_keeps_whitespace_out_of_changed_words():
    assert diff_words("No sleepovers on weeknights", "No sleepovers on weekends") == (
        ("equal", "No sleepovers on "),
        ("delete", "weeknights"),
        ("insert", "weekends"),
    )
    assert diff_words("a b", "a b c") == (("equal", "a b"), ("insert", " c"))


@given(st.text(alphabet="ab \n"), st.text(alphabet="ab \n"))
def test_a_word_diff_reads_as_either_text(old, new):
    segments = diff_words(old, new)

    assert "".join(text for op, text in segments if op != "insert") == old
    assert "".join(text for op, text in segments if op != "delete") == new
    assert all(text for _, text in segments)
    assert all(a[0] != b[0] for a, b in zip(segments, segments[1:]))
