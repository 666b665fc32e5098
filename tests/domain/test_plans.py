"""Plans as specifications: proposing, answering (nobody is out-voted), rescheduling as a new proposal,
cancelling, the plan as a Slot (across a DST change too), and the policy's rules for who takes part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain import inbox, policy
from domain.cadence import zone
from domain.errors import AlreadyDone, NotFound, PlanChanged, PlanStatusForbids, ValidationFailed
from domain.network import Interval
from domain.plans import Plan, PlanTime, timed
from domain.policy import LinkFact, Network
from projections.plans import PLAN_TIMES
from tests.domain.spec import assert_round_trips, then

NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
#: Saturday 24 October 2026, 20:00 in Berlin (summer time, UTC+2); the clocks go back that night.
SATURDAY = datetime(2026, 10, 24, 18, 0, tzinfo=UTC)
BERLIN = "Europe/Berlin"


def propose(proposer: UUID, *invitees: UUID, **overrides: object) -> Plan:
    fields: dict[str, object] = {
        "kind": "date",
        "title": "Dinner",
        "place": "Harbour kitchen",
        "start": SATURDAY,
        "end": SATURDAY + timedelta(hours=3),
        "time_zone": BERLIN,
    }
    fields |= overrides
    return Plan.propose(uuid4(), proposer, list(invitees), now=NOW, **fields)  # type: ignore[arg-type]


def live(a: UUID, b: UUID, since: datetime = NOW - timedelta(days=30)) -> LinkFact:
    return LinkFact(a=a, b=b, status="live", proposer=a, intervals=(Interval(confirmed_at=since),))


def ended(a: UUID, b: UUID) -> LinkFact:
    interval = Interval(confirmed_at=NOW - timedelta(days=30), ended_at=NOW + timedelta(days=1))
    return LinkFact(a=a, b=b, status="ended", proposer=a, intervals=(interval,))


# Proposing


def test_a_proposal_is_accepted_by_its_proposer_and_waits_for_each_invitee(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam, place="  ")
    [(event, fields)] = then(plan)
    assert event is Plan.Proposed
    assert fields == {
        "proposer": mina,
        "invitees": (jo, sam),
        "kind": "date",
        "title": "Dinner",
        "place": None,
        "start": SATURDAY,
        "end": SATURDAY + timedelta(hours=3),
        "time_zone": BERLIN,
    }
    assert plan.status == "proposed" and plan.proposal == 1
    assert plan.answers == {mina: "accepted", jo: "pending", sam: "pending"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "brunch"}, "kind"),
        ({"title": " "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"place": "x" * 301}, "place"),
        ({"end": SATURDAY}, "end"),
        ({"end": SATURDAY + timedelta(days=15)}, "end"),
        ({"start": datetime(2026, 10, 24, 20, 0)}, "start"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_bad_proposals_name_their_field(mina: UUID, jo: UUID, overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        propose(mina, jo, **overrides)
    assert refused.value.field == field


def test_invitees_are_others_named_once(mina: UUID, jo: UUID) -> None:
    for invitees in ((), (jo, jo), (mina,), tuple(uuid4() for _ in range(21))):
        with pytest.raises(ValidationFailed) as refused:
            propose(mina, *invitees)
        assert refused.value.field == "invitees"


# Answering: nobody is out-voted


def test_accepted_only_when_every_invitee_accepted(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam)
    plan.collect_events()
    plan.answer(jo, "accepted", None, NOW)
    assert plan.status == "proposed"
    plan.answer(sam, "accepted", " see you ", NOW, proposal=1)
    assert then(plan) == [
        (Plan.Answered, {"by": jo, "answer": "accepted", "note": None, "proposal": 1}),
        (Plan.Answered, {"by": sam, "answer": "accepted", "note": "see you", "proposal": 1}),
    ]
    assert plan.status == "accepted"


def test_one_decline_declines_it_and_an_answer_may_change(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam)
    plan.answer(jo, "accepted", None, NOW)
    plan.answer(sam, "declined", "work trip", NOW)
    assert plan.status == "declined" and plan.notes[sam] == "work trip"
    plan.answer(sam, "accepted", None, NOW)
    assert plan.status == "accepted"
    with pytest.raises(AlreadyDone):
        plan.answer(sam, "accepted", None, NOW)


def test_whoever_put_the_times_on_the_table_does_not_answer_them(mina: UUID, jo: UUID) -> None:
    plan = propose(mina, jo)
    with pytest.raises(ValidationFailed) as refused:
        plan.answer(mina, "declined", None, NOW)
    assert refused.value.field == "answer"


def test_only_participants_answer(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo)
    with pytest.raises(NotFound):
        plan.answer(sam, "accepted", None, NOW)
    with pytest.raises(ValidationFailed):
        plan.answer(jo, "maybe", None, NOW)


# Rescheduling is a new proposal; cancelling is final


def test_a_reschedule_puts_new_times_on_the_table_and_asks_everyone_else_again(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam)
    plan.answer(jo, "accepted", None, NOW)
    plan.answer(sam, "accepted", None, NOW)
    plan.collect_events()
    later = SATURDAY + timedelta(days=7)
    plan.reschedule(jo, later, later + timedelta(hours=2), "The park", BERLIN, "next week?", NOW)
    assert then(plan) == [
        (
            Plan.Rescheduled,
            {
                "by": jo,
                "start": later,
                "end": later + timedelta(hours=2),
                "place": "The park",
                "time_zone": BERLIN,
                "note": "next week?",
            },
        )
    ]
    assert plan.status == "proposed" and plan.proposal == 2 and plan.proposed_by == jo
    assert plan.answers == {mina: "pending", jo: "accepted", sam: "pending"}
    # An answer to the first proposal is not an answer to this one.
    with pytest.raises(PlanChanged) as changed:
        plan.answer(mina, "accepted", None, NOW, proposal=1)
    assert (changed.value.proposal, changed.value.current_proposal) == (1, 2)
    plan.answer(mina, "accepted", None, NOW, proposal=2)
    plan.answer(sam, "accepted", None, NOW)
    assert plan.status == "accepted"
    assert [s.step for s in plan.history] == ["proposed", "accepted", "accepted", "rescheduled", "accepted", "accepted"]


def test_a_cancelled_plan_stays_cancelled(mina: UUID, jo: UUID) -> None:
    plan = propose(mina, jo)
    plan.collect_events()
    plan.cancel(jo, "flu", NOW)
    assert then(plan) == [(Plan.Cancelled, {"by": jo, "note": "flu"})]
    assert plan.status == "cancelled" and not plan.slot().holds_time
    with pytest.raises(PlanStatusForbids):
        plan.answer(jo, "accepted", None, NOW)
    with pytest.raises(PlanStatusForbids):
        plan.reschedule(mina, SATURDAY, SATURDAY + timedelta(hours=1), None, BERLIN, None, NOW)
    with pytest.raises(PlanStatusForbids):
        plan.cancel(mina, None, NOW)


# The plan as time


def test_an_overnight_across_the_october_change_keeps_its_wall_clock(mina: UUID, jo: UUID) -> None:
    """Saturday 20:00 to Sunday 12:00 in Berlin: 16 hours on the clock, 17 in fact (the clocks go back)."""
    start = SATURDAY
    end = datetime(2026, 10, 25, 11, 0, tzinfo=UTC)  # Sunday 12:00 winter time (UTC+1)
    plan = propose(mina, jo, kind="overnight", start=start, end=end)
    slot = plan.slot()
    assert slot.kind == "overnight" and slot.participants == (mina, jo) and slot.status == "proposed"
    assert slot.end - slot.start == timedelta(hours=17)
    assert slot.holds_time and slot.overlaps(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC))
    assert slot.start.astimezone(zone(BERLIN)).hour == 20 and slot.end.astimezone(zone(BERLIN)).hour == 12


def test_a_plan_across_the_march_change_is_an_hour_shorter_than_its_wall_clock(mina: UUID, jo: UUID) -> None:
    start = datetime(2027, 3, 27, 19, 0, tzinfo=UTC)  # Saturday 20:00 CET
    end = datetime(2027, 3, 28, 10, 0, tzinfo=UTC)  # Sunday 12:00 CEST
    slot = propose(mina, jo, kind="overnight", start=start, end=end).slot()
    assert slot.end - slot.start == timedelta(hours=15)


def test_the_projection_folds_the_plans_own_time(mina: UUID, jo: UUID, sam: UUID) -> None:
    """PLAN_TIMES is the plan's own fold (`timed`): the document equals the aggregate's time at every step."""
    plan = propose(mina, jo, sam)
    plan.answer(jo, "declined", None, NOW)
    plan.reschedule(jo, SATURDAY, SATURDAY + timedelta(hours=1), None, BERLIN, None, NOW)
    plan.cancel(sam, None, NOW)
    events = plan.collect_events()
    assert_round_trips(events)
    document: PlanTime | None = None
    for event in events:
        document = PLAN_TIMES.evolve(document, event)
        assert PLAN_TIMES.decode(PLAN_TIMES.encode(document)) == document
    assert document == plan.time == timed(timed(timed(timed(None, events[0]), events[1]), events[2]), events[3])


# Who takes part: the policy


def test_invitees_take_part_while_their_link_with_the_proposer_holds(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam).time
    both = Network(links=(live(mina, jo), live(mina, sam)))
    assert policy.plan_participants(plan, both) == {mina, jo, sam}
    # Sam's link ended: he no longer sees it, and the others' answers alone decide it.
    one = Network(links=(live(mina, jo), ended(mina, sam)))
    assert policy.plan_participants(plan, one) == {mina, jo}
    assert not policy.plan_access(sam, plan, one, ())
    # A mended link is a new start: it takes a new plan.
    mended = Network(links=(live(mina, jo), live(mina, sam, since=NOW + timedelta(days=2))))
    assert policy.plan_participants(plan, mended) == {mina, jo}
    # Nobody left to plan with: nobody sees it, its proposer included.
    none = Network(links=(ended(mina, jo), ended(mina, sam)))
    assert policy.plan_participants(plan, none) == set() and policy.plan_slot(plan, none) is None


def test_the_slot_counts_only_the_participants_left(mina: UUID, jo: UUID, sam: UUID) -> None:
    plan = propose(mina, jo, sam)
    plan.answer(jo, "accepted", None, NOW)
    network = Network(links=(live(mina, jo), ended(mina, sam)))
    slot = policy.plan_slot(plan.time, network)
    assert slot is not None and slot.participants == (mina, jo) and slot.status == "accepted"


def test_a_plan_never_reaches_someone_who_blocked_its_proposer(mina: UUID, jo: UUID) -> None:
    plan = propose(mina, jo).time
    network = Network(links=(live(mina, jo),))
    assert not policy.plan_access(jo, plan, network, blocked_by_viewer={mina})
    assert policy.plan_access(mina, plan, network, blocked_by_viewer={jo})  # the proposer's own block list is theirs
    assert policy.plan_access(jo, plan, network, blocked_by_viewer=())


def test_a_participant_is_named_to_the_others_once_they_showed_themselves_and_only_a_participant_sees_it(
    mina: UUID, jo: UUID, sam: UUID
) -> None:
    plan = propose(mina, jo, sam)
    plan.answer(sam, "declined", "away", NOW)
    network = Network(links=(live(mina, jo), live(mina, sam)))
    names = {mina: "Mina", jo: "Jo", sam: "Sam"}

    def seen_by(viewer: UUID) -> policy.PlanView:
        view = policy.view_plan(viewer, plan, network, (), names, b"secret")
        assert view is not None
        return view

    view = seen_by(jo)
    assert view.my_answer == "pending" and view.status == "declined"
    # Jo and Sam are metamours who never disclosed themselves to each other: being invited together
    # does not introduce them; proposing does (Mina), and so does accepting.
    assert [(p.person.name, p.answer, p.note) for p in view.participants] == [
        ("Mina", "accepted", None),
        ("Jo", "pending", None),
        (policy.pseudonym(sam, jo, b"secret").name, "declined", "away"),
    ]
    assert view.participants[2].person.person_id is None
    assert [(s.by.name, s.step) for s in view.history] == [("Mina", "proposed"), (view.participants[2].person.name, "declined")]
    plan.answer(sam, "accepted", None, NOW)
    assert [p.person.name for p in seen_by(jo).participants] == ["Mina", "Jo", "Sam"]
    assert [p.person.name for p in seen_by(sam).participants][1] == policy.pseudonym(jo, sam, b"secret").name
    plan.reschedule(jo, SATURDAY + timedelta(days=1), SATURDAY + timedelta(days=1, hours=2), None, BERLIN, None, NOW)
    # Once shown, always: a reschedule asks Sam again, and Jo, who put the new times on the table, is named now.
    assert [p.person.name for p in seen_by(sam).participants] == ["Mina", "Jo", "Sam"]
    assert [p.person.name for p in seen_by(jo).participants] == ["Mina", "Jo", "Sam"]
    assert policy.view_plan(uuid4(), plan, network, (), names, b"secret") is None


# The inbox


def test_a_plan_waits_in_the_inbox_of_whoever_has_not_answered_until_it_is_over(mina: UUID, jo: UUID) -> None:
    plan = propose(mina, jo)
    network = Network(links=(live(mina, jo),))
    names = {mina: "Mina", jo: "Jo"}

    def waiting(viewer: UUID, now: datetime) -> list[str]:
        view = policy.view_plan(viewer, plan, network, (), names, b"secret")
        assert view is not None
        return [item.key for item in inbox.plan(view, now)]

    assert waiting(jo, NOW) == [f"plan:{plan.id}:1"] and waiting(mina, NOW) == []
    assert waiting(jo, SATURDAY + timedelta(hours=3)) == []  # over: nothing to answer any more
    plan.reschedule(mina, SATURDAY + timedelta(days=1), SATURDAY + timedelta(days=1, hours=2), None, BERLIN, None, NOW)
    assert waiting(jo, NOW) == [f"plan:{plan.id}:2"]  # a new proposal asks again (and reminds again)
    plan.answer(jo, "accepted", None, NOW)
    assert waiting(jo, NOW) == []
