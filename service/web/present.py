"""Views shaped for templates: names for ids, clauses grouped by topic, words for codes.

Everything here works on the consented views the use cases return, never on
aggregates or read models, so a page cannot show more than the API would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.agreement import MAX_TOPIC, TOPICS, is_topic, topic_key
from domain.cadence import zone
from domain.errors import ValidationFailed
from domain.grants import CLAUSES, HISTORY, IDENTITY, RELATIONSHIP, SCOPES
from domain.policy import (
    FORMER_MEMBER,
    InvitationView,
    NetworkView,
    PersonRef,
    SharedView,
)
from projections.diff import VersionDiff, diff_words
from projections.timeline import Timeline
from service.views import AgreementView, ClauseView
from service.visibility import AudienceView, GrantView
from service.web.forms import Failed, Form, FormInvalid

TOPIC_LABELS = {
    "boundaries": "Boundaries",
    "safer_sex": "Safer sex",
    "scheduling": "Scheduling",
    "check_ins": "Check-ins",
    "metamour_contact": "Metamour contact",
    "privacy": "Privacy",
    "other": "Other",
}

SCOPE_LABELS = {
    IDENTITY: "Our names (otherwise they see pseudonyms)",
    RELATIONSHIP: "That our relationship exists",
    HISTORY: "How the shared clauses changed over time",
    "events": "Our plans on their calendar, in full",
    "events:busy": "Our plans on their calendar, as busy time only",
    **{CLAUSES + topic: f"Clauses on {label.lower()}" for topic, label in TOPIC_LABELS.items()},
}

#: The same scopes as the audience reads them.
SCOPES_SEEN = {
    IDENTITY: "their names",
    RELATIONSHIP: "that their relationship exists",
    HISTORY: "how those clauses changed",
    "events": "their plans, in full",
    "events:busy": "their plans, as busy time",
    **{CLAUSES + topic: f"their clauses on {label.lower()}" for topic, label in TOPIC_LABELS.items()},
}

STATUS_LABELS = {"drafting": "Draft", "in_force": "In force", "lapsed": "Lapsed", "closed": "Closed"}


def topic_label(topic: str) -> str:
    return TOPIC_LABELS.get(topic, topic.replace("_", " ").capitalize())


def scope_label(scope: str, seen: bool = False) -> str:
    known = (SCOPES_SEEN if seen else SCOPE_LABELS).get(scope)
    if known is None and scope.startswith(CLAUSES):
        # A topic of the parties' own: labelled like the built-in ones.
        about = topic_label(scope.removeprefix(CLAUSES)).lower()
        return f"their clauses on {about}" if seen else f"Clauses on {about}"
    return known or scope


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%-d %b %Y, %H:%M UTC")


def local_when(moment: datetime, time_zone: str) -> str:
    """A moment as the clock reads it in `time_zone` (a plan's), naming the zone."""
    return moment.astimezone(zone(time_zone)).strftime(f"%a %-d %b %Y, %H:%M ({time_zone})")


def by_topic(clauses: Any) -> list[tuple[str, list[Any]]]:
    """Clauses grouped under their topics: the built-in ones in their fixed order, then the parties' own by name."""
    return [
        (topic, [c for c in clauses if c.topic == topic])
        for topic in (*TOPICS, *own_topics(clauses))
        if any(c.topic == topic for c in clauses)
    ]


def own_topics(clauses: Any) -> list[str]:
    """The topics among `clauses` that the parties named themselves, by name."""
    return sorted({c.topic for c in clauses if c.topic not in TOPICS})


def chosen_topic(form: Form, name: str) -> str | None:
    """The topic a form names: a topic of one's own typed in `<name>_own` (as its key), else the one chosen."""
    typed = (form.get(f"{name}_own") or "").strip()
    if not typed:
        return form.get(name)
    key = topic_key(typed)
    if not is_topic(key):
        raise FormInvalid({f"{name}_own": f"must have a letter or digit, and at most {MAX_TOPIC} characters as a key"})
    return key


class FormState:
    """What a template needs to show a refused form again: values, errors, the conflict."""

    def __init__(self, failed: Failed | None) -> None:
        self.failed = failed
        self._said: set[str] = set()

    def _mine(self, form_id: str) -> Failed | None:
        return self.failed if self.failed is not None and self.failed.form_id == form_id else None

    def is_failed(self, form_id: str) -> bool:
        return self._mine(form_id) is not None

    def error(self, form_id: str, field: str) -> str:
        found = self._mine(form_id)
        return found.errors.get(field, "") if found else ""

    def message(self, form_id: str) -> str:
        found = self._mine(form_id)
        if found is None:
            return ""
        self._said.add(form_id)
        # Errors about the form as a whole, or a field it does not show, are said at its top.
        stray = [
            rule if field == "form" else f"{field.replace('_', ' ').capitalize()}: {rule}."
            for field, rule in found.errors.items()
            if field in ("form", "clauses", "body")
        ]
        return " ".join([found.message, *stray]).strip()

    def unsaid(self) -> str:
        """The refusal of a form the page no longer shows (a proposal closed meanwhile, say)."""
        if self.failed is None or self.failed.form_id in self._said:
            return ""
        found = self.failed
        return " ".join([found.message, *found.errors.values()]).strip() or "That could not be done."

    def value(self, form_id: str, field: str, default: Any = "") -> Any:
        found = self._mine(form_id)
        if found is not None and field in found.values:
            return found.values[field]
        return default

    def chosen(self, form_id: str, field: str, option: str, default: bool = False) -> bool:
        found = self._mine(form_id)
        if found is not None:
            return option in found.lists.get(field, [])
        return default

    def conflict(self, form_id: str) -> dict[str, Any] | None:
        found = self._mine(form_id)
        return found.conflict if found else None


class Names:
    """Names of an agreement's parties as the viewer sees them; "you" for the viewer.

    Parties name each other. Anyone else the page mentions (someone invited,
    someone who left) is named as `others` says: their names as the policy
    gives them to this viewer, a pseudonym unless they disclose theirs.
    """

    def __init__(self, parties: Any, me: UUID, others: Mapping[UUID, str] | None = None) -> None:
        self.names = {**(others or {}), **{p.person_id: p.name for p in parties}}
        self.me = me

    def __call__(self, person: UUID | None, you: str = "you") -> str:
        if person is None:
            return "Accord"
        if person == self.me:
            return you
        return self.names.get(person, FORMER_MEMBER)

    def listing(self, people: Any, you: str = "you") -> str:
        return listing([self(p, you) for p in people])


def agreement(view: object, me: UUID) -> tuple[str, dict[str, Any]]:
    """Which template shows this view, and its context (an invitation: see `invitation`)."""
    match view:
        case AgreementView():
            return "agreement", party_context(view, me)
        case SharedView():
            return "shared", shared_context(view)
    raise TypeError(type(view))


def invitation(view: InvitationView) -> dict[str, Any]:
    """An invitation: who invited the viewer, and who is in it, as the policy names them."""
    inviter = view.invited_by
    # The inviter first (if still a party), then the others in the policy's order.
    parties = sorted(view.parties, key=lambda p: p.key != inviter.key)
    return {
        "invitation": view,
        "inviter": inviter,
        "parties": parties,
        "pseudonyms": any(p.person_id is None for p in parties),
    }


def listing(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def summary(view: AgreementView, me: UUID) -> dict[str, Any]:
    """One line of "my agreements": who else is in it, its state, and what waits for me."""
    names = Names(view.parties, me)
    waiting = []
    if view.status in ("drafting", "lapsed") and me not in view.consented and view.clauses:
        waiting.append(f"your consent to version {view.version}")
    reviews = sum(1 for r in view.due_reviews if me not in r.reaffirmed_by)
    if reviews:
        waiting.append(f"{reviews} clause{'s' if reviews > 1 else ''} due for review")
    answers = sum(1 for p in view.proposals if p.status == "open" and me not in p.accepted_by)
    if answers:
        waiting.append(f"{answers} renegotiation{'s' if answers > 1 else ''} to answer")
    notes = sum(1 for n in view.repair_notes if n.author != me and me not in n.acknowledged_by)
    if notes:
        waiting.append(f"{notes} repair note{'s' if notes > 1 else ''} to read")
    others = [p.person_id for p in view.parties if p.person_id != me]
    return {
        "view": view,
        "with": names.listing(others) if others else "only you so far",
        "waiting": waiting,
    }


def party_context(view: AgreementView, me: UUID, changed_by: Mapping[UUID, UUID] | None = None) -> dict[str, Any]:
    """`changed_by`: who last changed each clause, to say who changed one under an edit."""
    names = Names(view.parties, me)
    clauses = {c.clause_id: c for c in view.clauses}
    proposals = [p for p in view.proposals if p.status == "open"]
    past = [p for p in reversed(view.proposals) if p.status != "open"]
    last = changed_by or {}
    return {
        "view": view,
        "names": names,
        # A lapsed agreement is drafted again to renew it.
        "drafting": view.status in ("drafting", "lapsed"),
        "in_force": view.status == "in_force",
        "groups": by_topic(view.clauses),
        "own_topics": own_topics(view.clauses),
        "clauses": clauses,
        "open_proposals": proposals,
        "past_proposals": past,
        "notes": list(reversed(view.repair_notes)),
        "i_consented": me in view.consented,
        "waiting_for": [p for p in view.parties if p.person_id not in view.consented],
        "proposal_diff": lambda change: _change_segments(change, clauses),
        "me_id": me,
        "conflict_note": lambda clause_id: conflict_note(names, last.get(clause_id)),
        "conflict_message": lambda clause_id: conflict_message(names, last.get(clause_id)),
        "proposals_by_id": {p.proposal_id: p for p in view.proposals},
        # Consent is to a version's clauses: a version without any has nothing to consent to.
        "can_consent": bool(view.clauses),
        "i_asked_to_discard": me in view.discard_asked,
        "asked_to_discard": [p.person_id for p in view.parties if p.person_id in view.discard_asked and p.person_id != me],
        "not_asked_to_discard": [p.person_id for p in view.parties if p.person_id not in view.discard_asked and p.person_id != me],
        **revisit_context(view, me),
    }


def revisit_context(view: AgreementView, me: UUID) -> dict[str, Any]:
    """Revisit dates, due reviews and the end date, as the agreement page shows them (parties only)."""
    due = {r.clause_id: r for r in view.due_reviews}
    revisits = {r.clause_id: r.revisit_on for r in view.revisits}
    names = Names(view.parties, me)
    return {
        "revisits": revisits,
        "due": due,
        "lapsed": view.status == "lapsed",
        "reaffirmed_by": lambda clause_id: names.listing(due[clause_id].reaffirmed_by, "you"),
        "i_reaffirmed": lambda clause_id: me in due[clause_id].reaffirmed_by,
        # A renegotiation's change carries the clause's revisit date after it: a date still to come is kept.
        "revisit_after_change": lambda clause_id: "" if clause_id in due else _iso(revisits.get(clause_id)),
    }


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def last_changed_by(state: Timeline) -> dict[UUID, UUID]:
    """Who last added or edited each clause, by the timeline."""
    found: dict[UUID, UUID] = {}
    for entry in state.entries:
        if entry.kind in ("clause_added", "clause_edited") and entry.actor is not None:
            for clause_id in entry.clause_ids:
                found[clause_id] = entry.actor
    return found


def conflict_note(names: Names, who: UUID | None) -> str:
    """Who changed a clause under someone's edit, said to the one editing."""
    if who is None:
        return "Another party changed this clause while you were editing."
    if who == names.me:
        return "You changed this clause in another window while you were editing it here."
    return f"{names(who)} changed this clause while you were editing."


def conflict_message(names: Names, who: UUID | None) -> str:
    """The same, and that both versions are shown: said by a refused save and by a live update."""
    both = "That version" if who == names.me else "Their version"
    return f"{conflict_note(names, who)} {both} is shown beside yours; your text is kept."


#: What a page says when a form's address was opened again without the form.
RELOADED = (
    "That form was not sent again: reloading does not repeat a change. "
    "This is the page as it is now; fill the form in again if you still want to."
)


def reloaded() -> Failed:
    return Failed(form_id="reload", values={}, lists={}, message=RELOADED, status=200)


def reloaded_edit(view: AgreementView, clause_id: UUID, based_on: int | None) -> Failed:
    """A clause edit's address opened again: if the clause changed since the edit was based
    on it, the conflict, explained; otherwise that the edit was not saved."""
    clause = next((c for c in view.clauses if c.clause_id == clause_id), None)
    if clause is None or view.status != "drafting":
        return reloaded()
    form_id = f"edit-{clause_id}"
    if based_on is not None and based_on != clause.revision:
        conflict = {"clause_id": clause_id, "revision": clause.revision, "text": clause.text, "reloaded": True}
        return Failed(form_id=form_id, values={}, lists={}, conflict=conflict, status=200)
    return Failed(
        form_id=form_id,
        values={},
        lists={},
        status=200,
        message="Your edit was not saved: reloading does not send a form again. "
        "Edit the clause again if you still want to change it.",
    )


def name_the_conflict(failed: Failed | None, context: Mapping[str, Any]) -> Failed | None:
    """A refused clause edit's message, saying who changed the clause (`context`: `party_context`'s)."""
    if failed is None or failed.conflict is None or "clause_id" not in failed.conflict:
        return failed
    clause_id = failed.conflict["clause_id"]
    if failed.conflict.get("reloaded"):
        message = (
            f"Your edit was not saved. {context['conflict_note'](clause_id)} Reloading does not send "
            "your text again: the clause as it is now is shown; change it again if you still want to."
        )
    else:
        message = context["conflict_message"](clause_id)
    return msgspec.structs.replace(failed, message=message)


def _change_segments(change: Any, clauses: Mapping[UUID, ClauseView]) -> tuple[tuple[str, str], ...]:
    current = clauses.get(change.clause_id)
    if change.kind == "edit" and current is not None:
        return diff_words(current.text, change.text or "")
    if change.kind == "remove":
        return (("delete", current.text if current else ""),)
    return (("insert", change.text or ""),)


def shared_context(view: SharedView) -> dict[str, Any]:
    refs = {p.key: p.name for p in view.parties}
    return {
        "shared": view,
        "groups": by_topic(view.clauses),
        "party_names": [p.name for p in view.parties],
        "pairs": [(refs.get(pair.a, "someone"), refs.get(pair.b, "someone")) for pair in view.links],
        "history": list(reversed(view.history)),
    }


def timeline(
    view: AgreementView,
    state: Timeline,
    diff: VersionDiff,
    old: int,
    new: int,
    me: UUID,
    others: Mapping[UUID, str] | None = None,
) -> dict[str, Any]:
    """`others`: names, as the policy gives them to `me`, of people in the history who are not parties."""
    in_force = sorted({e.version for e in state.entries if e.kind == "ratified"})
    return {
        "view": view,
        "names": Names(view.parties, me, others),
        "entries": list(reversed(state.entries)),
        "versions": sorted(state.versions),
        "ratified": set(in_force),
        "previous_in_force": dict(zip(in_force[1:], in_force)),
        "diff": diff,
        "old": old,
        "new": new,
    }


def default_versions(state: Timeline, old: int | None, new: int | None) -> tuple[int, int]:
    """Unless asked otherwise: the last renegotiation (the two latest versions in force),
    else everything drafted so far."""
    in_force = sorted({e.version for e in state.entries if e.kind == "ratified"})
    latest = max(state.versions, default=0)
    if new is None:
        new = in_force[-1] if len(in_force) >= 2 else latest
    if old is None:
        before = [v for v in in_force if v < new]
        old = before[-1] if before else 0
    return old, new


LINK_RELATIONS = {
    "live": "your partner",
    "proposed": "asked to link",
    "ended": "a past partner",
    "declined": "a link that was declined",
    "withdrawn": "a link that was withdrawn",
}


def names_shown(network: NetworkView, me_as_seen_by: Callable[[UUID], PersonRef]) -> list[dict[str, Any]]:
    """Everyone on the network page who is named there, and whether they see the viewer's name.

    `me_as_seen_by(person)` is the viewer as the policy shows them to that person.
    Pseudonyms are left out: choosing for one would tell which person it stands for.
    """
    people: dict[UUID, tuple[str, str]] = {}
    for link in network.links:
        if link.other.person_id is not None:
            people[link.other.person_id] = (link.other.name, LINK_RELATIONS.get(link.status, link.status))
    for known in network.known_links:
        for ref in (known.a, known.b):
            if ref.person_id is not None and ref.person_id not in people and ref.person_id != network.me.person_id:
                people[ref.person_id] = (ref.name, "in an agreement shown to you")
    return [
        {"person_id": person, "name": name, "relation": relation, "shown": me_as_seen_by(person).person_id is not None}
        for person, (name, relation) in sorted(people.items(), key=lambda item: (item[1][0].casefold(), str(item[0])))
    ]


def through(path: AudienceView, me: UUID) -> str:
    """How an audience comes to see a clause, told from the viewer's side of the path."""
    if path.partner.person_id == me:
        return f"{path.audience.name} is your partner"
    if path.party.person_id == me:
        return f"{path.audience.name} is a partner of {path.partner.name}, your partner"
    return f"{path.audience.name} is a partner of {path.partner.name}, who is a partner of {path.party.name}"


def grant_state(grant: GrantView, names: Names, me: UUID) -> dict[str, str]:
    """What a grant does now, in words: a badge (`style`, `label`) and a sentence.

    Told from `holds` and `why_not` only: the policy decided them, the page just says them.
    """
    who = grant.audience.name
    if grant.holds and grant.holds_through is not None:
        return {"style": "in_force", "label": "Shown now", "text": through(grant.holds_through, me) + "."}
    fresh = "To share with them again, propose a fresh grant."
    style, label, text = {
        "awaiting_consent": ("drafting", "Waiting", f"for {names.listing(grant.waiting_for)} to consent."),
        "revoked": ("muted", "Revoked", "Nothing is shown, and revoking is final."),
        "lapsed": (
            "muted",
            "Ended",
            f"It ran until {when(grant.until)}; nothing is shown any more." if grant.until else "It has ended.",
        ),
        "link_ended": (
            "muted",
            "Ended",
            f"{who} was a partner of a partner when you all consented, and a link on that path has "
            f"ended since, so nothing is shown, even if the link is mended. {fresh}",
        ),
        "linked_after_consent": (
            "muted",
            "Not shown",
            f"{who} became a partner of a partner only after you all consented, and your consent "
            f"covers only the links there were then. {fresh}",
        ),
        "not_a_metamour": (
            "muted",
            "Not shown",
            f"{who} is not a partner of a partner of any of you, so nothing is shown.",
        ),
        "audience_is_party": ("muted", "Not needed", f"{who} is a party now and sees the whole agreement."),
    }.get(grant.why_not or "", ("muted", "Not shown", ""))
    return {"style": style, "label": label, "text": text}


def shared_with(seen: Iterable[AudienceView]) -> int:
    """How many people see a clause beyond its parties (one may see it through several grants)."""
    return len({path.audience.key for path in seen})


def badges(audiences: Mapping[UUID, list[AudienceView]], me: UUID) -> dict[str, Any]:
    """"Shared with N" on each clause in force, and who sees it through whom (`audiences`: each
    clause's, from the policy's `who_can_see`)."""
    return {"audiences": audiences, "through": lambda path: through(path, me)}


def sharing(
    view: AgreementView,
    grants: list[GrantView],
    audiences: Mapping[UUID, list[AudienceView]],
    me: UUID,
) -> dict[str, Any]:
    names = Names(view.parties, me)
    return {
        "view": view,
        "names": names,
        "groups": by_topic(view.clauses),
        "live_grants": [g for g in grants if not g.revoked],
        "revoked_grants": [g for g in grants if g.revoked],
        **badges(audiences, me),
        "scopes": (*SCOPES, *(CLAUSES + topic for topic in own_topics(view.clauses))),
        "me_id": me,
        "grant_state": lambda grant: grant_state(grant, names, me),
    }


def proposed_changes(form: Form, view: AgreementView) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The changes the renegotiation form asks for, and which form field each came from."""
    changes: list[dict[str, Any]] = []
    fields: dict[int, str] = {}
    for clause in view.clauses:
        text = form.get(f"text-{clause.clause_id}")
        if form.get(f"remove-{clause.clause_id}"):
            fields[len(changes)] = f"remove-{clause.clause_id}"
            changes.append({"kind": "remove", "clause_id": clause.clause_id})
        elif text is not None and text != clause.text:
            fields[len(changes)] = f"text-{clause.clause_id}"
            revisit_on = form.get(f"revisit-{clause.clause_id}") or None
            changes.append({"kind": "edit", "clause_id": clause.clause_id, "text": text, "revisit_on": revisit_on})
    if (new_text := form.get("new_text")) and new_text.strip():
        fields[len(changes)] = "new_text"
        revisit_on = form.get("new_revisit") or None
        changes.append({"kind": "add", "topic": chosen_topic(form, "new_topic"), "text": new_text, "revisit_on": revisit_on})
    return changes, fields


def proposed_end_date(form: Form, view: AgreementView) -> dict[str, Any] | None:
    """The renegotiation form's end date, as a change when it differs from the agreement's (empty: open-ended)."""
    value = form.get("new_until")
    if value is None or value == _iso(view.until):
        return None
    return {"until": value or None}


@contextlib.contextmanager
def errors_named(fields: Mapping[int, str]) -> Iterator[None]:
    """Errors about `changes[i].x` are shown beside the form field change `i` came from."""

    def rename(field: str) -> str:
        if field == "changes":
            return "form"
        if field.startswith("end_date"):
            return "new_until"
        if field.startswith("changes[") and "]" in field:
            index, _, rest = field.removeprefix("changes[").partition("]")
            if index.isdigit() and int(index) in fields:
                name = fields[int(index)]
                if rest == ".revisit_on":
                    return "new_revisit" if name == "new_text" else name.replace("text-", "revisit-", 1)
                return "new_topic" if name == "new_text" and rest == ".topic" else name
        return field

    def rule(field: str, rule: str) -> str:
        return "Change, remove or add at least one clause." if field == "changes" else rule

    try:
        yield
    except FormInvalid as error:
        raise FormInvalid({rename(f): rule(f, r) for f, r in error.errors.items()}) from None
    except ValidationFailed as error:
        raise FormInvalid({rename(error.field): rule(error.field, error.rule)}) from None


GLOBALS = {
    "topic_label": topic_label,
    "scope_label": scope_label,
    "status_label": lambda status: STATUS_LABELS.get(status, status),
    "when": when,
    "topics": TOPICS,
    "shared_with": shared_with,
}
