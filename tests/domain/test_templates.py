"""Templates and topics of one's own, as specifications.

The library itself (service/library/*.toml) is data: every file loads, and
each covers exactly what it claims. Starting an agreement from a template
makes drafts, nothing more; a topic the parties name is a topic like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest

from domain.agreement import (
    MAX_TOPIC,
    TOPICS,
    Agreement,
    ClauseChange,
    is_topic,
    topic_key,
)
from domain.errors import ValidationFailed
from domain.grants import SharingGrant, check_scopes
from domain.templates import Template, parse_template
from service.library import load_library
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)

#: What the issue asks the library for, and what each template claims to cover.
AGREEMENT_TEMPLATES = {
    "one_page_contract": {"what we are", "boundaries", "safer sex", "time together", "other people", "privacy", "checking in"},
    "safer_sex_and_testing": {"testing cadence", "disclosure", "barriers"},
    "time_and_scheduling": {"anchor nights", "overnights", "notice"},
    "metamour_contact": {"meeting", "sharing", "tension"},
    "repair_agreement": {"telling", "listening", "owning it", "what comes next"},
    "check_in_ritual": {"when", "how it goes", "what we ask", "after"},
}
DOCUMENT_TEMPLATES = {
    "solo_ethic": {"autonomy", "home", "time", "what partners can expect"},
    "care_plan": {"signs", "what helps", "what does not help", "how to reach me"},
    "security_map": {"first area", "second area", "third area"},
}


# The library


def test_every_template_file_loads_and_covers_what_it_claims() -> None:
    library = load_library()
    assert {t.template_id: set(t.covers) for t in library.of_kind("agreement")} == AGREEMENT_TEMPLATES
    assert {t.template_id: set(t.covers) for t in library.of_kind("document")} == DOCUMENT_TEMPLATES
    for template in library.values():
        assert {part.about for part in template.parts} == set(template.covers), template.template_id
        assert template.version >= 1 and template.title and template.summary
        assert all(part.text == part.text.strip() and part.text for part in template.parts)


def test_the_one_page_contract_touches_every_built_in_topic() -> None:
    contract = load_library()["one_page_contract"]
    assert {c.topic for c in contract.clauses} == set(TOPICS)


def test_the_safer_sex_template_speaks_of_testing_disclosure_and_barriers() -> None:
    texts = " ".join(c.text for c in load_library()["safer_sex_and_testing"].clauses).lower()
    for words in ("test", "tell", "barrier"):
        assert words in texts


def test_document_templates_name_their_document() -> None:
    library = load_library()
    for document in DOCUMENT_TEMPLATES:
        [template] = library.documents(document)
        assert template.template_id == document and template.kind == "document" and not template.clauses


@pytest.mark.parametrize("document", DOCUMENT_TEMPLATES)
def test_a_document_template_starts_that_document_under_its_headings(document: str) -> None:
    """Its sections are a valid first version of that document: each text under the heading it is
    about, and every section of the template used."""
    from domain.documents import HEADINGS, PersonalDocument
    from domain.templates import document_sections

    [template] = load_library().documents(document)
    sections = document_sections(template)
    written = PersonalDocument.write(uuid4(), uuid4(), document, sections, datetime(2026, 11, 1, tzinfo=UTC))
    assert written.current.sections == tuple(sections)
    assert {s.text for s in template.sections} <= {s.text for s in sections}
    if document in HEADINGS:
        assert [s.heading for s in sections] == list(HEADINGS[document])
    if document == "care_plan":
        assert sections[0].heading == "Signs that I am activated" and "activated" in sections[0].text


def test_a_template_that_claims_more_than_it_covers_does_not_load() -> None:
    raw = {
        "version": 1, "kind": "agreement", "title": "T", "summary": "S", "covers": ["a", "b"],
        "clauses": [{"about": "a", "topic": "other", "text": "x"}],
    }  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        parse_template("claims_too_much", raw)
    assert refused.value.field == "claims_too_much.covers"
    with pytest.raises(ValidationFailed):
        parse_template("bad_topic", {**raw, "covers": ["a"], "clauses": [{"about": "a", "topic": "Not A Key", "text": "x"}]})
    with pytest.raises(ValidationFailed):
        parse_template("unknown_field", {**raw, "covers": ["a"], "colour": "blue"})
    assert isinstance(parse_template("fine", {**raw, "covers": ["a"]}), Template)


# Starting from a template


@pytest.mark.parametrize("template_id", sorted(AGREEMENT_TEMPLATES))
def test_starting_from_a_template_makes_its_clauses_drafts(template_id: str) -> None:
    template = load_library()[template_id]
    mina = uuid4()
    clause_ids = [uuid4() for _ in template.clauses]
    agreement = Agreement.start_from(template, "Mina and Jo", mina, NOW, clause_ids=clause_ids)
    events = then(agreement)
    assert events[0][0] is Agreement.Created
    assert events[1] == (
        Agreement.StartedFromTemplate, {"template_id": template_id, "template_version": template.version}
    )
    assert events[2:] == [
        (Agreement.ClauseAdded, {"by": mina, "clause_id": i, "topic": c.topic, "text": c.text, "version": n})
        for n, (i, c) in enumerate(zip(clause_ids, template.clauses, strict=True), start=1)
    ]
    assert agreement.status == "drafting" and agreement.consents == set()
    assert agreement.template == (template_id, template.version)


def test_drafts_from_a_template_are_edited_and_consented_to_as_usual() -> None:
    template = load_library()["time_and_scheduling"]
    mina, jo = uuid4(), uuid4()
    clause_ids = [uuid4() for _ in template.clauses]
    agreement = Agreement.start_from(template, "Us", mina, NOW, clause_ids=clause_ids)
    agreement.invite(mina, jo, NOW)
    agreement.accept_invitation(jo, NOW)
    agreement.edit_clause(jo, clause_ids[0], "Sunday is ours.", 1, NOW)
    agreement.consent(mina, agreement.content_version, NOW)
    agreement.consent(jo, agreement.content_version, NOW)
    assert agreement.status == "in_force"
    assert agreement.clauses[clause_ids[0]].text == "Sunday is ours."


def test_a_document_template_does_not_start_an_agreement() -> None:
    with pytest.raises(ValidationFailed) as refused:
        Agreement.start_from(load_library()["care_plan"], "Us", uuid4(), NOW)
    assert refused.value.field == "template_id"


def test_starting_from_a_template_round_trips() -> None:
    template = load_library()["check_in_ritual"]
    agreement = Agreement.start_from(template, "Us", uuid4(), NOW, clause_ids=[uuid4() for _ in template.clauses])
    assert_round_trips(agreement.collect_events())


# Topics of one's own


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Money & shared costs", "money_shared_costs"),
        ("  Kink  ", "kink"),
        ("Safer sex", "safer_sex"),  # a built-in topic's name is that topic
        ("Zärtlichkeit", "zärtlichkeit"),
        ("STRASSE", "strasse"),
        ("家族", "家族"),
        ("kids -- and school", "kids_and_school"),
    ],
)
def test_a_typed_name_has_one_key(typed: str, key: str) -> None:
    assert topic_key(typed) == key
    assert topic_key(key) == key and is_topic(key)


@pytest.mark.parametrize("topic", ["", "Money", "money ", "money__costs", "_money", "x" * (MAX_TOPIC + 1), "a-b", "a:b"])
def test_only_keys_are_topics(topic: str) -> None:
    assert not is_topic(topic)


def test_a_clause_on_a_topic_of_ones_own() -> None:
    mina = uuid4()
    agreement = Agreement.create("Us", mina, NOW)
    agreement.collect_events()
    clause_id = uuid4()
    agreement.add_clause(mina, clause_id, "money", "We split rent by income.", NOW)
    assert then(agreement) == [
        (Agreement.ClauseAdded, {"by": mina, "clause_id": clause_id, "topic": "money", "text": "We split rent by income.", "version": 1})
    ]
    with pytest.raises(ValidationFailed) as refused:
        agreement.add_clause(mina, uuid4(), "Money!", "x", NOW)
    assert refused.value.field == "topic"
    assert then(agreement) == []


def test_a_renegotiation_adds_a_clause_on_a_topic_of_ones_own() -> None:
    mina, jo = uuid4(), uuid4()
    agreement = Agreement.create("Us", mina, NOW)
    agreement.invite(mina, jo, NOW)
    agreement.accept_invitation(jo, NOW)
    agreement.add_clause(mina, uuid4(), "boundaries", "We ask first.", NOW)
    agreement.consent(mina, 1, NOW)
    agreement.consent(jo, 1, NOW)
    added = uuid4()
    proposal_id = uuid4()
    agreement.propose(mina, proposal_id, [ClauseChange("add", added, topic="kids", text="Kids first.")], "new", NOW)
    agreement.accept(jo, proposal_id, NOW)
    assert agreement.clauses[added].topic == "kids"
    with pytest.raises(ValidationFailed) as refused:
        agreement.propose(mina, uuid4(), [ClauseChange("add", uuid4(), topic="Kids", text="x")], "new", NOW)
    assert refused.value.field == "changes[0].topic"


def test_a_grant_may_name_a_topic_of_ones_own() -> None:
    check_scopes(["clauses:money", "clauses:safer_sex", "identity"])
    for bad in (["clauses:Money"], ["clauses:"], ["money"], ["clauses:a b"]):
        with pytest.raises(ValidationFailed) as refused:
            check_scopes(bad)
        assert refused.value.field == "scopes"
    mina, jo, sam = uuid4(), uuid4(), uuid4()
    grant = SharingGrant.propose(uuid4(), uuid4(), mina, (mina, jo), sam, ["clauses:money"], None, False, NOW)
    assert grant.scopes == ("clauses:money",)


def test_template_wire_shape_is_plain_data() -> None:
    template = load_library()["one_page_contract"]
    assert msgspec.json.decode(msgspec.json.encode(template), type=Template) == template
