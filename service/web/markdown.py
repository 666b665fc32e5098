"""An export as Markdown: the same facts as its JSON, for people to read.

Made from the `Export` alone (service/read/export.py), so it can say nothing
the JSON does not hold. People's own words are escaped, so a clause that looks
like Markdown or HTML reads as what was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from uuid import UUID

import msgspec

from domain.availability import RULES as BOOKING_RULES
from domain.calendar import PLAN_KINDS as CALENDAR_KINDS
from domain.policy import (
    CheckInView,
    DocumentView,
    InvitationView,
    NetworkView,
    PlanView,
    SharedView,
    SignalView,
)
from service.read.export import Export, ExportedAgreement
from service.views import AgreementView
from service.visibility import AvailabilityView, CalendarView
from service.web import present

#: Characters Markdown (or the HTML it allows) would act on anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]<>|&])")
#: What Markdown would act on at the start of a line (a heading, a quote, a list, a rule).
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def text(words: str) -> str:
    """Someone's words, on one line, shown as written."""
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", " ".join(words.split())))


def quoted(words: str) -> str:
    """Someone's words as a block quote, line by line."""
    lines = [
        _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", line.strip()))
        for line in words.splitlines()
    ]
    return "\n".join(f"> {line}".rstrip() for line in lines or [""])


def render(export: Export) -> str:
    return "\n".join(_document(export)).rstrip() + "\n"


def _document(export: Export) -> Iterator[str]:
    me = export.account
    yield f"# Accord: everything {text(me.display_name)} may see"
    yield ""
    yield (
        f"Exported {present.when(export.exported_at)}. This is what Accord shows you, and nothing more: "
        "agreements you are a party of or invited to, and what others chose to share with you. "
        f"The same facts, for programs, are in `export.json` (format `{export.format}`)."
    )
    yield ""
    yield "## Your account"
    yield ""
    yield f"- Display name: {text(me.display_name)}"
    yield f"- Handle: `@{me.handle}`"
    yield f"- Person id: `{me.person_id}`"
    yield ""
    yield from _network(export.network)
    yield f"## Agreements ({len(export.agreements)})"
    yield ""
    if not export.agreements:
        yield "None yet."
        yield ""
    for agreement in export.agreements:
        yield from _agreement(agreement, me.person_id)
    if export.check_ins:
        yield f"## Check-ins ({len(export.check_ins)})"
        yield ""
    for check_in in export.check_ins:
        yield from _check_in(check_in, me.person_id)
    if export.documents:
        yield f"## Personal documents ({len(export.documents)})"
        yield ""
    for exported in export.documents:
        yield from personal_document(exported.document)
    if export.signals is not None and (export.signals.received or export.signals.sent):
        yield from _signals(export.signals.received, export.signals.sent)
    if export.plans:
        yield f"## Plans ({len(export.plans)})"
        yield ""
    for plan in export.plans:
        yield from _plan(plan)
    if export.availability is not None:
        yield from _availability(export.availability)
    if export.calendar is not None and export.calendar.entries:
        yield from _calendar(export.calendar)
    if export.calendar_feed is not None:
        yield "## Calendar feed"
        yield ""
        if export.calendar_feed.active and export.calendar_feed.issued_at is not None:
            yield f"- On since {present.local_when(export.calendar_feed.issued_at, 'UTC')} (its address is not kept)"
        else:
            yield "- Off"
        yield ""


def _calendar(view: CalendarView) -> Iterator[str]:
    """Each entry of my calendar, in my time zone: what it is, or whose busy time."""
    yield f"## Calendar ({len(view.entries)}, times in {view.time_zone})"
    yield ""
    for entry in view.entries:
        when = f"{present.local_when(entry.start, view.time_zone)} to {present.local_when(entry.end, view.time_zone)}"
        people = ", ".join(text(p.name) for p in entry.people)
        if entry.sight == "busy":
            yield f"- {when}: {people}, busy"
        else:
            what = text(entry.title) if entry.title else CALENDAR_KINDS.get(entry.kind or "", "Check-in")
            yield f"- {when}: {what} ({entry.status}), with {people}"
    yield ""


def _availability(view: AvailabilityView) -> Iterator[str]:
    """My time zone, what each partner sees of my time, my booking rules."""
    yield "## Availability"
    yield ""
    yield f"- Time zone: {view.time_zone}"
    for partner in view.partners:
        yield f"- {text(partner.person.name)} sees my other time as: {partner.shows}"
    for name, rule in view.rules.set().items():
        shape = {k: v for k, v in msgspec.structs.asdict(rule).items() if k not in ("mode", "shown_to")}
        said = ", ".join(f"{k}: {', '.join(v) if isinstance(v, tuple) else v}" for k, v in shape.items())
        yield f"- {BOOKING_RULES[name]} ({said}): {rule.mode}s, shown to {rule.shown_to}"
    yield ""


def _plan(view: PlanView) -> Iterator[str]:
    """One plan: what, when and where, everyone's answer, and its history."""
    yield f"### {text(view.kind_label)}: {text(view.title)} ({view.status})"
    yield ""
    yield f"- Plan id: `{view.plan_id}`"
    yield f"- From {present.local_when(view.start, view.time_zone)} to {present.local_when(view.end, view.time_zone)}"
    if view.place:
        yield f"- Place: {text(view.place)}"
    for p in view.participants:
        note = f": {text(p.note)}" if p.note else ""
        yield f"- {text(p.person.name)}: {p.answer}{note}"
    yield ""
    yield "#### History"
    yield ""
    for step in view.history:
        times = ""
        if step.start and step.end:
            times = f", {present.local_when(step.start, view.time_zone)} to {present.local_when(step.end, view.time_zone)}"
        place = f", at {text(step.place)}" if step.place else ""
        note = f": {text(step.note)}" if step.note else ""
        yield f"- {present.when(step.at)}: {text(step.by.name)} {step.step}{times}{place}{note}"
    yield ""


def _signals(received: Sequence[SignalView], sent: Sequence[SignalView]) -> Iterator[str]:
    """The signals not expired yet (each goes, note and all, when it expires)."""
    yield "## Signals"
    yield ""
    for heading, signals in (("Received", received), ("Sent", sent)):
        if signals:
            yield f"### {heading}"
            yield ""
        for s in signals:
            whom = f"from {text(s.sender.name)}" if heading == "Received" else "to " + ", ".join(text(t.person.name) for t in s.to)
            yield f"**{text(s.label)}** {whom}, {present.when(s.sent_at)} (expires {present.when(s.expires_at)})"
            yield ""
            if s.note:
                yield quoted(s.note)
                yield ""


def personal_document(view: DocumentView) -> Iterator[str]:
    """One personal document at the version its view holds: its sections under their headings."""
    whose = "yours" if view.access == "owner" else f"shared with you by {text(view.owner.name)}"
    yield f"### {text(view.title)} ({whose})"
    yield ""
    yield f"- Document id: `{view.document_id}`"
    yield f"- Version {view.version}, {present.when(view.updated_at)}"
    yield ""
    for section in view.sections:
        yield f"#### {text(section.heading) or '(no area named)'}"
        yield ""
        yield quoted(section.text) if section.text.strip() else "(not written)"
        yield ""


def _network(network: NetworkView) -> Iterator[str]:
    yield "## Your network"
    yield ""
    yield "### Your links"
    yield ""
    if not network.links:
        yield "No partner links yet."
    for link in network.links:
        who = "you asked" if link.proposed_by_me else "they asked"
        label = present.LINK_RELATIONS.get(link.status, link.status)
        yield f"- {text(link.other.name)}: {label} ({who})"
        for interval in link.intervals:
            until = present.when(interval.ended_at) if interval.ended_at else "now"
            yield f"  - partners from {present.when(interval.confirmed_at)} until {until}"
    yield ""
    if network.known_links:
        yield "### Relationships shown to you"
        yield ""
        for known in network.known_links:
            yield f"- {text(known.a.name)} and {text(known.b.name)} are partners"
        yield ""


def _agreement(exported: ExportedAgreement, me: UUID) -> Iterator[str]:
    if exported.party is not None:
        yield from _party(exported, exported.party, me)
    elif exported.shared is not None:
        yield from _shared(exported.shared)
    elif exported.invitation is not None:
        yield from _invited(exported.invitation)


def _party(exported: ExportedAgreement, view: AgreementView, me: UUID) -> Iterator[str]:
    names = present.Names(view.parties, me, exported.names)
    yield f"### {text(view.title)}"
    yield ""
    yield "- You are a party."
    yield f"- Agreement id: `{view.agreement_id}`"
    state = present.STATUS_LABELS.get(view.status, view.status)
    in_force = view.in_force_version
    earlier = (
        f" (version {in_force} in force)"
        if in_force not in (None, view.version)
        else ""
    )
    yield f"- Status: {state}, version {view.version}{earlier}"
    yield f"- Parties: {text(names.listing([p.person_id for p in view.parties]))}"
    if view.invitations:
        yield f"- Invited: {', '.join(f'`@{i.handle}`' for i in view.invitations)}"
    if view.consented:
        yield f"- Consented to version {view.version}: {text(names.listing(view.consented))}"
    if view.until:
        yield f"- In force until {view.until.isoformat()}"
    for revisit in view.revisits:
        yield f"- Clause `{revisit.clause_id}` is to be revisited on {revisit.revisit_on.isoformat()}"
    for review in view.due_reviews:
        by = f", reaffirmed by {text(names.listing(review.reaffirmed_by))}" if review.reaffirmed_by else ""
        yield f"- Clause `{review.clause_id}` is due for review (revisit date {review.revisit_on.isoformat()}){by}"
    yield ""
    yield "#### Clauses"
    yield ""
    yield from _clauses(view.clauses, revisions=True)
    if view.proposals:
        yield "#### Renegotiations"
        yield ""
        for p in view.proposals:
            yield f"- {text(names(p.proposer, 'You'))} proposed changes to version {p.base_version} ({p.status})"
            yield f"  - Reason: {text(p.reason)}"
            for change in p.changes:
                topic = (
                    f" on {present.topic_label(change.topic).lower()}"
                    if change.topic
                    else ""
                )
                words = f": {text(change.text)}" if change.text else ""
                yield f"  - {change.kind}{topic} (clause `{change.clause_id}`){words}"
            if p.accepted_by:
                yield f"  - Accepted by {text(names.listing(p.accepted_by))}"
            for comment in p.comments:
                yield f"  - {text(names(comment.author, 'You'))}, {present.when(comment.written_at)}: {text(comment.text)}"
        yield ""
    if view.repair_notes:
        yield "#### Repair notes"
        yield ""
        for n in view.repair_notes:
            yield f"- By {text(names(n.author))}, about clause `{n.clause_id}`"
            yield f"  - What happened: {text(n.what_happened)}"
            yield f"  - Impact: {text(n.impact)}"
            yield f"  - What I will do: {text(n.intentions)}"
            if n.acknowledged_by:
                yield f"  - Acknowledged by {text(names.listing(n.acknowledged_by))}"
        yield ""
    if exported.grants:
        yield "#### Shared with metamours"
        yield ""
        for grant in exported.grants:
            state_of = present.grant_state(grant, names, me)
            scopes = ", ".join(present.scope_label(s).lower() for s in grant.scopes)
            until = f", until {present.when(grant.until)}" if grant.until else ""
            keep = ", not to be reshared" if grant.no_reshare else ""
            yield f"- {text(grant.audience.name)} (`@{grant.audience_handle}`): {scopes}{until}{keep}"
            said = f": {text(state_of['text'])}" if state_of["text"] else ""
            yield f"  - {state_of['label']}{said}"
        yield ""
    if exported.versions:
        yield "#### Versions"
        yield ""
        for version in exported.versions:
            yield f"##### Version {version.version}"
            yield ""
            yield from _clauses(version.clauses, revisions=True)
    if exported.timeline:
        yield "#### Timeline"
        yield ""
        for entry in exported.timeline:
            summary = text(entry.summary)
            if entry.actor is None:
                summary = summary[:1].upper() + summary[1:]
            else:
                summary = f"{text(names(entry.actor, 'You'))} {summary}"
            subject = (
                f" ({text(names(entry.subject))})" if entry.subject is not None else ""
            )
            said = f": {text(entry.text)}" if entry.text else ""
            yield f"- {present.when(entry.at)}: {summary}{subject}{said}"
        yield ""


def _shared(view: SharedView) -> Iterator[str]:
    yield f"### An agreement between {text(present.listing(sorted(p.name for p in view.parties)))}"
    yield ""
    yield "- Shared with you: every party chose to show you this part of it, and nothing else."
    yield f"- Agreement id: `{view.agreement_id}`"
    yield f"- They chose to show you {present.listing([present.scope_label(s, seen=True) for s in view.scopes])}."
    if view.no_reshare:
        yield "- Please keep this to yourself: they asked that it not be passed on."
    yield ""
    yield "#### Clauses"
    yield ""
    yield from _clauses(view.clauses, revisions=False)
    if view.links:
        refs = {p.key: p.name for p in view.parties}
        yield "#### Relationships"
        yield ""
        for pair in view.links:
            yield f"- {text(refs.get(pair.a, 'someone'))} and {text(refs.get(pair.b, 'someone'))} are partners"
        yield ""
    if view.history:
        yield "#### How it changed"
        yield ""
        for h in view.history:
            words = f": {text(h.text)}" if h.text else ""
            yield f"- {present.when(h.at)}: {present.topic_label(h.topic)}, clause {h.change}{words}"
        yield ""


def _invited(invitation: InvitationView) -> Iterator[str]:
    yield f"### {text(invitation.title)}"
    yield ""
    yield f"- You are invited, by {text(invitation.invited_by.name)}."
    yield f"- Agreement id: `{invitation.agreement_id}`"
    yield f"- Status: {present.STATUS_LABELS.get(invitation.status, invitation.status)}"
    yield f"- Parties: {text(present.listing([p.name for p in invitation.parties]))}"
    yield ""


def _clauses(clauses: Iterable[object], *, revisions: bool) -> Iterator[str]:
    groups = present.by_topic(list(clauses))
    if not groups:
        yield "No clauses."
        yield ""
    for topic, items in groups:
        yield f"**{present.topic_label(topic)}**"
        yield ""
        for clause in items:
            yield quoted(clause.text)  # type: ignore[attr-defined]
            revision = f", revision {clause.revision}" if revisions else ""  # type: ignore[attr-defined]
            yield ""
            yield f"*Clause `{clause.clause_id}`{revision}*"  # type: ignore[attr-defined]
            yield ""


def _check_in(view: CheckInView, me: UUID) -> Iterator[str]:
    others = [p.name for p in view.participants if p.person_id != me]
    yield f"### With {text(', '.join(others))} (`{view.check_in_id}`)"
    yield ""
    cadence = view.cadence
    on = f"weekday {cadence.weekday}" if cadence.kind == "weekly" else f"day {cadence.day}"
    yield f"{cadence.kind.capitalize()} on {on} at {cadence.at} ({cadence.time_zone}), every {cadence.every}; {view.status}."
    yield ""
    for o in view.occurrences:
        yield f"#### {present.when(o.starts_at)}: {o.status}"
        yield ""
        for reason, label in ((o.moved_reason, "Moved"), (o.skipped_reason, "Skipped")):
            if reason:
                yield f"{label}: {text(reason)}"
                yield ""
        mine = [(prompt, answer) for prompt, answer in zip(o.prompts, o.my_answers, strict=False) if answer]
        if mine and not o.i_shared:
            yield "Your preparation (not shared):"
            yield ""
            for prompt, answer in mine:
                yield f"- {text(prompt)}: {text(answer)}"
            yield ""
        for shared in o.shared:
            yield f"Shared by {text(shared.person.name)}:"
            yield ""
            for prompt, answer in zip(o.prompts, shared.answers, strict=False):
                if answer:
                    yield f"- {text(prompt)}: {text(answer)}"
            yield ""
        if o.plan:
            yield "Plan:"
            yield ""
            yield quoted(o.plan)
            yield ""
        for point in o.action_points:
            linked = f" (proposed as a change: `{point.proposal_id}`)" if point.proposal_id else ""
            yield f"- Action point: {text(point.text)}{linked}"
        if o.action_points:
            yield ""

