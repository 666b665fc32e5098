"""What waits for a person: the rules of the inbox, pure.

Each kind of item is one function of (viewer, agreement) yielding the items of
that kind; `KINDS` lists them, and `items` runs them all. The service builds a
person's inbox from the agreements they are involved in, through the one view
function (service/visibility.py `Visibility.inbox`).

Adding a kind is one function here: appended to `KINDS` when it lives on an
agreement (a due review); over a thing's view from the policy otherwise (a
check-in, `check_in`, which `Visibility.inbox` calls). Either way its name goes
in `KIND_NAMES`, so people may choose to be reminded of it, and its wording in
service/web/inbox_pages.py `KIND_LABELS`. An item's `key` names the thing and the version of it that
waits: a reminder is sent once per key (service/reminders.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain.agreement import Agreement, start_of
from domain.policy import CheckInView, PlanView, SignalView


class InboxItem(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """One of `KIND_NAMES`."""
    thing_id: UUID
    """The invitation's, version's or review's agreement, the proposal, the repair note, ..."""
    agreement_id: UUID | None
    """The agreement it belongs to, if any."""
    link: str
    """Where it is answered in the web app."""
    since: datetime
    """When it began waiting for this person."""
    title: str
    """The agreement's title, which the person may see: for the page, never for an email."""
    key: str
    """What waits, exactly (the thing and its version): one reminder per key."""


ItemRule = Callable[[UUID, Agreement], Iterable[InboxItem]]

#: Every kind a person may be reminded of, with what the choice reads as on the page.
KIND_NAMES: dict[str, str] = {
    "invitation": "Invitations",
    "consent": "Versions to consent to",
    "proposal": "Proposals",
    "repair_note": "Repair notes to acknowledge",
    "review": "Clauses due for review",
    "check_in": "Check-ins to prepare for",
    "signal": "Signals sent to me",
    "plan": "Plans waiting for my answer",
}

#: A check-in waits for its participants' preparation from this long before it starts.
PREPARE_AHEAD = timedelta(days=1)


def _item(kind: str, thing_id: UUID, agreement: Agreement, link: str, since: datetime | None, version: object) -> InboxItem:
    return InboxItem(
        kind=kind,
        thing_id=thing_id,
        agreement_id=agreement.id,
        link=link,
        since=since or agreement.created_on,
        title=agreement.title,
        key=f"{kind}:{thing_id}:{version}",
    )


def invitation(viewer: UUID, agreement: Agreement) -> Iterator[InboxItem]:
    """They were invited and have not answered."""
    if viewer in agreement.invitees:
        since = agreement.invited_at[viewer]
        yield _item("invitation", agreement.id, agreement, f"/agreements/{agreement.id}", since, int(since.timestamp()))


def consent(viewer: UUID, agreement: Agreement) -> Iterator[InboxItem]:
    """A draft with clauses whose current version they, a party, have not consented to."""
    if (
        agreement.status == "drafting"
        and agreement.clauses
        and viewer in agreement.parties
        and viewer not in agreement.consents
    ):
        since = agreement.version_since
        # When the version or who is in it last changed: either asks for consent afresh.
        version = f"{agreement.content_version}.{int(since.timestamp() * 1e6)}"
        yield _item("consent", agreement.id, agreement, f"/agreements/{agreement.id}#consent", since, version)


def proposal(viewer: UUID, agreement: Agreement) -> Iterator[InboxItem]:
    """An open proposal of the agreement they, a party, have not accepted."""
    if viewer not in agreement.parties:
        return
    for p in agreement.proposals.values():
        if p.status == "open" and viewer not in p.accepted_by:
            link = f"/agreements/{agreement.id}#proposal-{p.proposal_id}"
            yield _item("proposal", p.proposal_id, agreement, link, p.proposed_at, 1)


def repair_note(viewer: UUID, agreement: Agreement) -> Iterator[InboxItem]:
    """A repair note someone else wrote that they, a party, have not acknowledged."""
    if viewer not in agreement.parties:
        return
    for n in agreement.repair_notes.values():
        if n.author != viewer and viewer not in n.acknowledged_by:
            link = f"/agreements/{agreement.id}#note-{n.note_id}"
            yield _item("repair_note", n.note_id, agreement, link, n.written_at, 1)


def review(viewer: UUID, agreement: Agreement) -> Iterator[InboxItem]:
    """A clause due for review that they, a party, have not reaffirmed (or proposed to change)."""
    if viewer not in agreement.parties:
        return
    for r in agreement.due_reviews.values():
        if viewer not in r.reaffirmed_by:
            link = f"/agreements/{agreement.id}#clause-{r.clause_id}"
            yield _item("review", r.clause_id, agreement, link, start_of(r.revisit_on), f"{r.revisit_on}.{r.revision}")


#: The rules over one agreement, in the order a page lists their kinds.
KINDS: list[ItemRule] = [invitation, consent, proposal, repair_note, review]


def check_in(viewer: UUID, view: CheckInView) -> Iterator[InboxItem]:
    """An active series' open occurrence the viewer has not shared their answers for.

    `view` is what the policy lets the viewer see of it (so they take part). It is
    listed from when it opens (upcoming ones too, at their own place in the order)
    and counts as waiting, for a reminder, from `PREPARE_AHEAD` before it starts.
    """
    if view.status != "active":
        return
    for occurrence in view.occurrences:
        if occurrence.index == view.open_index and not occurrence.i_shared:
            with_whom = ", ".join(p.name for p in view.participants if p.person_id != viewer)
            yield InboxItem(
                kind="check_in",
                thing_id=view.check_in_id,
                agreement_id=view.agreement_id,
                link=f"/check-ins/{view.check_in_id}",
                since=occurrence.starts_at - PREPARE_AHEAD,
                title=f"with {with_whom}" if with_whom else "",
                key=f"check_in:{view.check_in_id}:{occurrence.index}:{occurrence.starts_at.isoformat()}",
            )


def signal(view: SignalView) -> Iterator[InboxItem]:
    """A signal that reached the viewer and that they have not marked seen, until it expires.

    `view` is what the policy lets the viewer see of it. A reminder of it says only that
    something waits (as every reminder): never its kind, its note or who sent it."""
    if view.relation == "recipient" and not view.seen_by_me:
        yield InboxItem(
            kind="signal",
            thing_id=view.signal_id,
            agreement_id=None,
            link=f"/signals#signal-{view.signal_id}",
            since=view.sent_at,
            title=f"{view.label} from {view.sender.name}",
            key=f"signal:{view.signal_id}",
        )


def plan(view: PlanView, now: datetime) -> Iterator[InboxItem]:
    """A plan whose times on the table wait for the viewer's answer (each reschedule asks again),
    until it is over: an answer to a past plan changes nothing anyone can use.

    `view` is what the policy lets the viewer see of it."""
    if view.status == "proposed" and view.my_answer == "pending" and now < view.end:
        since = next(s.at for s in reversed(view.history) if s.step in ("proposed", "rescheduled"))
        yield InboxItem(
            kind="plan",
            thing_id=view.plan_id,
            agreement_id=None,
            link=f"/plans/{view.plan_id}",
            since=since,
            title=f"{view.kind_label}: {view.title}",
            key=f"plan:{view.plan_id}:{view.proposal}",
        )


def items(viewer: UUID, agreement: Agreement, rules: Iterable[ItemRule] = KINDS) -> list[InboxItem]:
    return [item for rule in rules for item in rule(viewer, agreement)]


def ordered(found: Iterable[InboxItem]) -> list[InboxItem]:
    """Oldest waiting first; ties by kind and id, so the order is stable."""
    return sorted(found, key=lambda i: (i.since, i.kind, str(i.thing_id)))


def due(found: Iterable[InboxItem], kinds: Iterable[str], reminded: Iterable[str], by: datetime) -> list[InboxItem]:
    """What a reminder may be sent for now: of a chosen kind, waiting since `by` or before, not reminded yet."""
    chosen, done = set(kinds), set(reminded)
    return [i for i in found if i.kind in chosen and i.key not in done and i.since <= by]
