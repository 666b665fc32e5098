"""Personal documents as specifications: writing, revising from a version, sharing, revoking; and the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain import policy
from domain.documents import HEADINGS, MAX_SECTION, PersonalDocument, Section
from domain.errors import AlreadyDone, DocumentChanged, NotFound, ValidationFailed
from domain.network import Interval
from projections.documents import history
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
MINA, THEO, SAM, SKY = uuid4(), uuid4(), uuid4(), uuid4()


def care_plan(*texts: str) -> list[Section]:
    texts = texts or ("my chest tightens", "a slow walk", "being told to calm down", "text first")
    return [Section("", t) for t in texts]


def written(kind: str = "care_plan", sections: list[Section] | None = None) -> PersonalDocument:
    document = PersonalDocument.write(uuid4(), MINA, kind, sections or care_plan(), NOW)
    document.collect_events()
    return document


def live(a: UUID, b: UUID, since: datetime = NOW - timedelta(days=30)) -> policy.LinkFact:
    return policy.LinkFact(a=a, b=b, status="live", proposer=a, intervals=(Interval(since),))


def ended(a: UUID, b: UUID) -> policy.LinkFact:
    return policy.LinkFact(a=a, b=b, status="ended", proposer=a, intervals=(Interval(NOW - timedelta(days=30), LATER),))


# Writing and revising


def test_writing_a_care_plan_fills_in_its_fixed_headings_as_version_1() -> None:
    document = PersonalDocument.write(uuid4(), MINA, "care_plan", care_plan(), NOW)
    [(kind, fields)] = then(document)
    assert kind is PersonalDocument.Written
    assert [s.heading for s in fields["sections"]] == list(HEADINGS["care_plan"])
    assert document.current.version == 1 and document.owner == MINA


def test_a_fixed_heading_cannot_be_renamed_and_the_count_is_the_kind_s() -> None:
    with pytest.raises(ValidationFailed) as renamed:
        PersonalDocument.write(uuid4(), MINA, "care_plan", [Section("Triggers", "x"), *care_plan()[1:]], NOW)
    assert renamed.value.field == "sections[0].heading"
    with pytest.raises(ValidationFailed) as short:
        PersonalDocument.write(uuid4(), MINA, "solo_ethic", care_plan(), NOW)
    assert short.value.field == "sections"


def test_a_security_map_is_three_areas_in_the_owner_s_words_each_with_one_action() -> None:
    areas = [Section("when plans change late", "ask for a call"), Section("new partners", "name it"), Section("", "")]
    document = PersonalDocument.write(uuid4(), MINA, "security_map", areas, NOW)
    assert [s.heading for s in document.current.sections] == ["when plans change late", "new partners", ""]
    with pytest.raises(ValidationFailed) as nameless:
        PersonalDocument.write(uuid4(), MINA, "security_map", [*areas[:2], Section("", "an action")], NOW)
    assert nameless.value.field == "sections[2].heading"


def test_limits_and_empty_documents_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as long:
        PersonalDocument.write(uuid4(), MINA, "care_plan", care_plan("x" * (MAX_SECTION + 1), "", "", ""), NOW)
    assert long.value.field == "sections[0].text"
    with pytest.raises(ValidationFailed) as empty:
        PersonalDocument.write(uuid4(), MINA, "care_plan", care_plan("", " ", "", ""), NOW)
    assert empty.value.field == "sections"
    with pytest.raises(ValidationFailed) as kind:
        PersonalDocument.write(uuid4(), MINA, "diary", care_plan(), NOW)
    assert kind.value.field == "kind"


def test_revising_from_the_current_version_makes_the_next_one() -> None:
    document = written()
    document.revise(MINA, 1, care_plan("my chest tightens", "a slow walk", "advice", "text first"), LATER)
    [(kind, fields)] = then(document)
    assert kind is PersonalDocument.Revised and fields["version"] == 2
    assert [v.version for v in document.versions] == [1, 2]


def test_revising_from_a_stale_version_is_a_conflict_carrying_what_it_says_now() -> None:
    document = written()
    document.revise(MINA, 1, care_plan("a", "b", "c", "d"), LATER)
    document.collect_events()
    with pytest.raises(DocumentChanged) as stale:
        document.revise(MINA, 1, care_plan("e", "f", "g", "h"), LATER)
    assert stale.value.current_version == 2
    assert [s.text for s in stale.value.sections] == ["a", "b", "c", "d"]  # type: ignore[attr-defined]
    assert then(document) == []


def test_the_same_sections_again_append_nothing() -> None:
    document = written()
    document.revise(MINA, 1, care_plan(), LATER)
    assert then(document) == []


def test_only_the_owner_changes_it_and_anyone_else_is_told_it_does_not_exist() -> None:
    document = written()
    document.share_with(MINA, THEO, "", NOW)
    for command in (
        lambda: document.revise(THEO, 1, care_plan("a", "b", "c", "d"), LATER),
        lambda: document.share_with(THEO, SAM, "", LATER),
        lambda: document.revoke_share(THEO, THEO, LATER),
        lambda: document.delete(THEO, LATER),
    ):
        with pytest.raises(NotFound):
            command()


# Sharing


def test_sharing_and_revoking_are_the_owner_s_explicit_events() -> None:
    document = written()
    document.share_with(MINA, THEO, "", NOW)
    assert then(document) == [(PersonalDocument.SharedWith, {"person": THEO, "handle": ""})]
    with pytest.raises(AlreadyDone):
        document.share_with(MINA, THEO, "", NOW)
    document.revoke_share(MINA, THEO, LATER)
    assert then(document) == [(PersonalDocument.ShareRevoked, {"person": THEO})]
    with pytest.raises(NotFound):
        document.revoke_share(MINA, THEO, LATER)


def test_a_security_map_is_private_unless_the_owner_says_so_explicitly() -> None:
    document = written("security_map", [Section("a", "b"), Section("c", "d"), Section("e", "f")])
    with pytest.raises(ValidationFailed) as private:
        document.share_with(MINA, THEO, "", NOW)
    assert private.value.field == "explicit"
    document.share_with(MINA, THEO, "", NOW, explicit=True)
    assert THEO in document.shares


def test_every_event_round_trips() -> None:
    document = PersonalDocument.write(uuid4(), MINA, "care_plan", care_plan(), NOW)
    document.revise(MINA, 1, care_plan("a", "b", "c", "d"), LATER)
    document.share_with(MINA, THEO, "h", NOW)
    document.revoke_share(MINA, THEO, LATER)
    document.delete(MINA, LATER)
    assert_round_trips(document.collect_events())


# The policy


def network(*links: policy.LinkFact) -> policy.Network:
    return policy.Network(links=links)


def test_the_owner_sees_it_a_partner_it_is_shared_with_sees_it_nobody_else_does() -> None:
    document = written()
    document.share_with(MINA, THEO, "", NOW)
    links = network(live(MINA, THEO), live(THEO, SAM))
    assert policy.document_access(MINA, document, links) == "owner"
    assert policy.document_access(THEO, document, links) == "shared"
    assert policy.document_access(SAM, document, links) is None  # a metamour, not shared with
    assert policy.document_access(SKY, document, links) is None


def test_a_metamour_sees_it_only_through_an_explicit_share_and_while_the_links_hold() -> None:
    document = written()
    document.share_with(MINA, SAM, "sealed", NOW)
    assert policy.document_access(SAM, document, network(live(MINA, THEO), live(THEO, SAM))) == "shared"
    # The link that made Sam a metamour ends: the share ends with it.
    assert policy.document_access(SAM, document, network(live(MINA, THEO), ended(THEO, SAM))) is None
    # Mended after the share: not what Mina chose; sharing again is a fresh choice.
    assert policy.document_access(SAM, document, network(live(MINA, THEO), live(THEO, SAM, since=LATER))) is None


def test_a_share_with_someone_who_is_neither_partner_nor_metamour_shows_nothing() -> None:
    document = written()
    document.share_with(MINA, SKY, "sealed", NOW)
    assert policy.document_access(SKY, document, network(live(MINA, THEO))) is None


def test_a_revoked_share_and_a_deleted_document_show_nothing() -> None:
    document = written()
    document.share_with(MINA, THEO, "", NOW)
    document.revoke_share(MINA, THEO, LATER)
    assert policy.document_access(THEO, document, network(live(MINA, THEO))) is None
    document.delete(MINA, LATER)
    assert policy.document_access(MINA, document, network()) is None


def test_a_person_it_is_shared_with_does_not_learn_who_else_reads_it() -> None:
    document = written()
    document.share_with(MINA, THEO, "", NOW)
    document.share_with(MINA, SAM, "sealed", NOW)
    links = network(live(MINA, THEO), live(THEO, SAM))
    names = {MINA: "Mina", THEO: "Theo", SAM: "Sam"}
    theirs = policy.view_document(THEO, document, links, names, b"s", {})
    assert theirs is not None and theirs.shares is None and theirs.owner.name == "Mina"
    mine = policy.view_document(MINA, document, links, names, b"s", {SAM: "sam"})
    assert mine is not None and mine.shares is not None
    assert [(s.handle, s.holds) for s in mine.shares] == [("", True), ("sam", True)]


def test_the_history_lists_versions_newest_first_with_word_diffs() -> None:
    document = written()
    document.revise(MINA, 1, care_plan("my chest tightens", "a long walk", "being told to calm down", "text first"), LATER)
    newest, first = history(document)
    assert (newest.version, first.version) == (2, 1) and first.changes == ()
    [change] = newest.changes
    assert change.heading == "What helps"
    assert change.segments == (("equal", "a "), ("delete", "slow"), ("insert", "long"), ("equal", " walk"))
