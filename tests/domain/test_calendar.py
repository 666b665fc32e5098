"""The events layer of consent as specifications: given slots, links, shows, grants and blocks,
then what each viewer's calendar holds (in full, busy, or nothing).

The cast: Mina is partners with Theo and with Sam; Sam is partners with Jules, so Jules is Mina's
metamour; Zed knows nobody. Mina and Theo are the parties of an agreement that may grant Jules
the `events` scopes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from domain.cadence import Cadence
from domain.calendar import CHECK_IN, Slot
from domain.checkins import CheckIn, check_in_slots
from domain.network import Interval
from domain.policy import (
    AgreementFact,
    CalendarFacts,
    GrantFact,
    LinkFact,
    Network,
    PlanDetails,
    calendar_view,
    full_plans,
    pseudonym,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
SECRET = b"a server secret"


def live(a: UUID, b: UUID) -> LinkFact:
    return LinkFact(a=a, b=b, status="live", proposer=a, intervals=(Interval(T0),))


class Scene:
    def __init__(self) -> None:
        self.mina, self.theo, self.sam, self.jules, self.zed = (uuid4() for _ in range(5))
        self.names = {self.mina: "Mina", self.theo: "Theo", self.sam: "Sam", self.jules: "Jules", self.zed: "Zed"}
        self.network = Network(links=(live(self.mina, self.theo), live(self.mina, self.sam), live(self.sam, self.jules)))
        self.agreement = AgreementFact(agreement_id=uuid4(), title="Us", parties=(self.mina, self.theo))
        #: person -> what they show the viewer.
        self.shows: dict[UUID, dict[UUID, str]] = {}
        self.grants: list[GrantFact] = []
        self.blocks: dict[UUID, frozenset[UUID]] = {}
        self.slots: list[Slot] = []

    def plan(self, *people: UUID, start: datetime = NOW, hours: int = 2, kind: str = "date", status: str = "accepted") -> Slot:
        slot = Slot(
            id=uuid4(),
            kind=kind,
            participants=people,
            start=start,
            end=start + timedelta(hours=hours),
            time_zone="Europe/Berlin",
            status=status,  # type: ignore[arg-type]
        )
        self.slots.append(slot)
        return slot

    def show_busy(self, person: UUID, to: UUID) -> None:
        self.shows.setdefault(person, {})[to] = "busy"

    def grant(self, *scopes: str, audience: UUID | None = None) -> None:
        self.grants.append(
            GrantFact(
                grant_id=uuid4(),
                agreement_id=self.agreement.agreement_id,
                audience=audience or self.jules,
                scopes=frozenset(scopes),
                consents={self.mina: T0 + timedelta(days=1), self.theo: T0 + timedelta(days=1)},
            )
        )

    def calendar(self, viewer: UUID, **options: bool):  # type: ignore[no-untyped-def]
        facts = CalendarFacts(
            network=self.network,
            shows={person: shown[viewer] for person, shown in self.shows.items() if viewer in shown},  # type: ignore[misc]
            agreements=(self.agreement,),
            grants=tuple(self.grants),
            blocks=self.blocks,
            cadences=getattr(self, "cadences", {}),
        )
        full = full_plans(viewer, self.slots, facts, NOW)
        details = {plan: PlanDetails(title="Dinner", place="Lupo") for plan in full}
        return calendar_view(viewer, self.slots, facts, self.names, SECRET, NOW, details, **options)


@pytest.fixture
def s() -> Scene:
    return Scene()


def names(entry) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.name for p in entry.people]


# Participants


def test_participants_see_a_plan_in_full(s: Scene) -> None:
    plan = s.plan(s.mina, s.theo)
    for viewer in (s.mina, s.theo):
        (entry,) = s.calendar(viewer)
        assert entry.sight == "full"
        assert (entry.plan_id, entry.entry_id, entry.title, entry.place) == (plan.id, f"plan:{plan.id}", "Dinner", "Lupo")
        assert names(entry) == ["Mina", "Theo"]


def test_a_plans_participants_see_each_other_named_only_once_introduced(s: Scene) -> None:
    """Theo and Sam, both Mina's partners, never disclosed themselves to each other: Mina's brunch
    with both names each of them to the other only once they accepted it."""
    slot = s.plan(s.mina, s.theo, s.sam, status="proposed")
    s.slots[-1] = slot = msgspec.structs.replace(slot, named=frozenset({s.mina, s.theo}))
    (entry,) = s.calendar(s.theo)
    assert names(entry) == ["Mina", "Theo", pseudonym(s.sam, s.theo, SECRET).name]
    (entry,) = s.calendar(s.sam)
    assert names(entry) == ["Mina", "Theo", "Sam"]


def test_time_no_longer_held_is_on_nobodys_calendar(s: Scene) -> None:
    s.plan(s.mina, s.theo, status="cancelled")
    s.plan(s.mina, s.theo, status="declined")
    s.show_busy(s.mina, s.sam)
    assert s.calendar(s.mina) == s.calendar(s.sam) == ()


# Partners: busy, or nothing


def test_a_partner_sees_nothing_by_default(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    assert s.calendar(s.sam) == ()


def test_a_partner_shown_busy_sees_that_one_person_busy_and_nothing_else(s: Scene) -> None:
    plan = s.plan(s.mina, s.theo)
    s.show_busy(s.mina, s.sam)
    (entry,) = s.calendar(s.sam)
    assert entry.sight == "busy"
    assert names(entry) == ["Mina"]
    assert (entry.start, entry.end) == (plan.start, plan.end)
    assert (entry.plan_id, entry.kind, entry.title, entry.place, entry.status) == (None,) * 5
    assert str(plan.id) not in entry.entry_id and str(plan.id) not in msgspec.json.encode(entry).decode()


def test_an_invitation_not_yet_accepted_is_nobodys_busy_time_but_the_proposers(s: Scene) -> None:
    """Theo proposed Mina a date she has not answered: Sam, to whom both show their time as busy, sees only Theo's time
    (Theo committed it by proposing); Mina's shows once she accepted. Her own calendar has it either way."""
    s.network = Network(links=(*s.network.links, live(s.theo, s.sam)))
    plan = s.plan(s.theo, s.mina, status="proposed")
    s.slots[-1] = msgspec.structs.replace(plan, committed=frozenset({s.theo}))
    s.show_busy(s.mina, s.sam)
    s.show_busy(s.theo, s.sam)
    assert [names(e) for e in s.calendar(s.sam)] == [["Theo"]]
    (mine,) = s.calendar(s.mina)
    assert (mine.sight, mine.status) == ("full", "proposed")
    s.slots[-1] = msgspec.structs.replace(plan, committed=frozenset({s.theo, s.mina}), status="accepted")
    assert sorted(names(e)[0] for e in s.calendar(s.sam)) == ["Mina", "Theo"]


def test_a_busy_entry_id_is_stable_for_its_viewer_and_matches_nobody_elses(s: Scene) -> None:
    s.plan(s.mina, s.sam)
    s.show_busy(s.mina, s.theo)
    s.show_busy(s.sam, s.jules)
    (theos,) = s.calendar(s.theo)
    (jules,) = s.calendar(s.jules)
    assert theos.entry_id == s.calendar(s.theo)[0].entry_id
    assert theos.entry_id != jules.entry_id
    assert names(theos) == ["Mina"] and names(jules) == ["Sam"]


def test_busy_is_shown_only_to_a_live_partner(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.show_busy(s.mina, s.jules)  # Jules is no partner of Mina's: the choice shows nothing
    assert s.calendar(s.jules) == ()


# Metamours: only through a holding grant


def test_a_metamour_sees_nothing_without_an_events_grant(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.grant("identity", "relationship")
    assert s.calendar(s.jules) == ()


def test_a_metamour_with_events_sees_the_plan_in_full(s: Scene) -> None:
    plan = s.plan(s.mina, s.theo)
    s.grant("events", "identity")
    (entry,) = s.calendar(s.jules)
    assert (entry.sight, entry.plan_id, entry.title) == ("full", plan.id, "Dinner")
    assert names(entry) == ["Mina", "Theo"]


def test_without_identity_a_metamour_sees_pseudonyms(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.grant("events")
    (entry,) = s.calendar(s.jules)
    assert all(p.person_id is None for p in entry.people)


def test_a_metamour_with_events_busy_sees_each_participant_busy(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.grant("events:busy", "identity")
    entries = s.calendar(s.jules)
    assert [e.sight for e in entries] == ["busy", "busy"]
    assert sorted(names(e)[0] for e in entries) == ["Mina", "Theo"]
    assert all(e.plan_id is None and e.title is None for e in entries)


def test_a_grant_covers_only_plans_among_its_agreements_parties(s: Scene) -> None:
    s.plan(s.mina, s.sam)  # Sam is no party of the agreement
    s.grant("events")
    assert s.calendar(s.jules) == ()


def test_a_grant_that_does_not_hold_shows_nothing(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.grant("events")
    s.grants[0] = msgspec.structs.replace(s.grants[0], revoked=True)
    assert s.calendar(s.jules) == ()


def test_strangers_see_nothing(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.show_busy(s.mina, s.zed)
    s.grant("events", audience=s.zed)
    assert s.calendar(s.zed) == ()


# Blocks


def test_a_block_changes_nothing_the_blocked_person_sees_and_hides_their_time_from_the_blocker(s: Scene) -> None:
    s.plan(s.mina, s.sam)
    s.show_busy(s.sam, s.jules)
    s.show_busy(s.jules, s.sam)
    s.plan(s.jules, s.zed)
    seen = s.calendar(s.jules)
    assert {e.sight for e in s.calendar(s.sam)} == {"full", "busy"}
    s.blocks[s.sam] = frozenset({s.jules})
    assert s.calendar(s.jules) == seen and seen  # Jules cannot tell
    assert [e.sight for e in s.calendar(s.sam)] == ["full"]  # Sam no longer sees Jules's time


def test_a_plan_never_reaches_someone_who_blocked_its_proposer(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.blocks[s.theo] = frozenset({s.mina})
    s.show_busy(s.theo, s.mina)
    assert s.calendar(s.theo) == ()
    (entry,) = s.calendar(s.mina)  # the proposer sees it as sent
    assert entry.sight == "full"


def test_a_metamour_who_blocked_a_participant_sees_only_the_others_time(s: Scene) -> None:
    s.plan(s.mina, s.theo)
    s.grant("events", "identity")
    s.blocks[s.jules] = frozenset({s.theo})
    (entry,) = s.calendar(s.jules)
    assert entry.sight == "busy" and names(entry) == ["Mina"]


# Conflicts


def test_the_viewers_own_overlapping_entries_are_conflicts(s: Scene) -> None:
    first = s.plan(s.mina, s.theo, start=NOW)
    second = s.plan(s.mina, s.sam, start=NOW + timedelta(hours=1))
    s.plan(s.mina, s.sam, start=NOW + timedelta(hours=2))  # starts as the first ends: no conflict
    entries = {e.entry_id: e for e in s.calendar(s.mina)}
    assert entries[f"plan:{first.id}"].conflicts == (f"plan:{second.id}",)
    assert set(entries[f"plan:{second.id}"].conflicts) == {f"plan:{first.id}"} | {
        e for e in entries if e not in (f"plan:{first.id}", f"plan:{second.id}")
    }
    s.show_busy(s.mina, s.sam)
    s.plan(s.theo, s.mina, start=NOW, status="cancelled")
    assert all(not e.conflicts for e in s.calendar(s.theo))


# Check-ins on the calendar

#: Sundays at 19:00 in Berlin; summer time ends on Sunday 25 October 2026.
SUNDAYS = Cadence(kind="weekly", weekday=6, at="19:00", time_zone="Europe/Berlin", starts_on=date(2026, 10, 12))


def check_in(s: Scene) -> CheckIn:
    return CheckIn.start(uuid4(), s.mina, (s.mina, s.sam), SUNDAYS, None, NOW, link_id=uuid4())


def test_check_in_occurrences_keep_their_wall_clock_time_across_the_dst_change(s: Scene) -> None:
    series = check_in(s)
    slots = check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=21))
    assert [(slot.index, slot.start) for slot in slots] == [
        (0, datetime(2026, 10, 18, 17, 0, tzinfo=UTC)),  # 19:00 CEST
        (1, datetime(2026, 10, 25, 18, 0, tzinfo=UTC)),  # 19:00 CET
        (2, datetime(2026, 11, 1, 18, 0, tzinfo=UTC)),
    ]
    assert all(slot.kind == CHECK_IN and slot.end - slot.start == timedelta(hours=1) for slot in slots)
    assert slots[0].participants == (s.mina, s.sam)


def test_a_moved_occurrence_stands_where_it_was_moved_and_a_skipped_one_holds_no_time(s: Scene) -> None:
    series = check_in(s)
    series.move(s.sam, 0, datetime(2026, 10, 17, 10, 0, tzinfo=UTC), "away", NOW)
    slots = check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=8))
    assert [(slot.index, slot.start) for slot in slots] == [(0, datetime(2026, 10, 17, 10, 0, tzinfo=UTC))]
    series.skip(s.sam, 0, "ill", NOW)
    slots = check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=14))
    assert [(slot.index, slot.status) for slot in slots] == [(0, "cancelled"), (1, "accepted")]


def test_a_paused_series_shows_no_further_occurrences_and_one_nobody_takes_part_in_shows_none(s: Scene) -> None:
    series = check_in(s)
    series.pause(s.mina, NOW)
    assert [slot.index for slot in check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=30))] == [0]
    assert check_in_slots(series, set(), NOW, NOW + timedelta(days=30)) == ()


def test_participants_see_a_check_in_in_full_others_as_shows_and_grants_decide(s: Scene) -> None:
    s.slots.extend(check_in_slots(check_in(s), {s.mina, s.sam}, NOW, NOW + timedelta(days=8)))
    (entry,) = s.calendar(s.sam)
    assert (entry.sight, entry.kind, entry.index, entry.title) == ("full", CHECK_IN, 0, None)
    assert s.calendar(s.theo) == ()
    s.show_busy(s.mina, s.theo)
    (entry,) = s.calendar(s.theo)
    assert entry.sight == "busy" and names(entry) == ["Mina"]


def test_a_block_between_a_check_ins_participants_changes_nobodys_calendar(s: Scene) -> None:
    """A check-in is its participants' whatever either blocks (as its page is): Sam blocking Mina
    leaves it on both calendars, and Mina's busy time in it as Theo sees it."""
    s.slots.extend(check_in_slots(check_in(s), {s.mina, s.sam}, NOW, NOW + timedelta(days=8)))
    s.show_busy(s.mina, s.theo)
    seen = {who: s.calendar(who) for who in (s.mina, s.sam, s.theo)}
    s.blocks[s.sam] = frozenset({s.mina})
    assert {who: s.calendar(who) for who in (s.mina, s.sam, s.theo)} == seen


def test_a_block_leaves_the_time_the_blocker_committed_as_others_see_it(s: Scene) -> None:
    """Sam accepted Mina's date, then blocked her: the plan leaves his calendar, and the busy time he
    shows Jules stays (a block changes nothing anyone else sees). One Mina sends after the block
    never reaches him, so he never commits it: nobody sees him busy in it."""
    accepted = s.plan(s.mina, s.sam)
    s.slots[-1] = msgspec.structs.replace(accepted, committed=frozenset({s.mina, s.sam}))
    s.show_busy(s.sam, s.jules)
    before = s.calendar(s.jules)
    assert [names(e) for e in before] == [["Sam"]]
    s.blocks[s.sam] = frozenset({s.mina})
    assert s.calendar(s.jules) == before and s.calendar(s.sam) == ()
    later = s.plan(s.mina, s.sam, start=NOW + timedelta(days=2), status="proposed")
    s.slots[-1] = msgspec.structs.replace(later, committed=frozenset({s.mina}))
    assert s.calendar(s.jules) == before


def test_a_feed_may_take_a_check_in_series_as_one_entry_with_its_cadence(s: Scene) -> None:
    series = check_in(s)
    series.move(s.sam, 0, datetime(2026, 10, 17, 10, 0, tzinfo=UTC), "away", NOW)
    s.slots.extend(check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=22)))
    s.cadences = {series.id: SUNDAYS}  # type: ignore[attr-defined]
    entries = s.calendar(s.mina, series=True)
    whole = next(e for e in entries if e.entry_id == f"checkin:{series.id}")
    assert (whole.cadence, whole.start, whole.until) == (SUNDAYS, datetime(2026, 10, 18, 17, 0, tzinfo=UTC), None)
    assert [(e.entry_id, e.start) for e in entries if e is not whole] == [
        (f"checkin:{series.id}:0", datetime(2026, 10, 17, 10, 0, tzinfo=UTC))
    ]
    assert len(s.calendar(s.mina)) == 3  # expanded: the moved one and the next two


def test_a_stopped_series_ends_where_its_last_occurrence_did(s: Scene) -> None:
    series = check_in(s)
    series.skip(s.sam, 0, "ill", NOW)  # opens occurrence 1
    series.end(s.mina, NOW)
    slots = check_in_slots(series, {s.mina, s.sam}, NOW, NOW + timedelta(days=60))
    assert [(slot.index, slot.status) for slot in slots] == [(0, "cancelled"), (1, "cancelled")]
    s.slots.extend(slots)
    s.cadences = {series.id: SUNDAYS}  # type: ignore[attr-defined]
    facts_stopped = frozenset({series.id})
    entries = calendar_view(
        s.mina, s.slots, CalendarFacts(network=s.network, cadences=s.cadences, stopped=facts_stopped),  # type: ignore[attr-defined]
        s.names, SECRET, NOW, series=True,
    )  # fmt: skip
    whole = next(e for e in entries if e.entry_id == f"checkin:{series.id}")
    assert whole.until == datetime(2026, 11, 1, 18, 0, tzinfo=UTC)  # occurrence 2, which never comes
    assert sorted(e.index for e in entries if e is not whole) == [0, 1]  # both skipped: exceptions
    assert s.calendar(s.mina) == ()  # expanded, none of it holds time
