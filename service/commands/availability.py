"""Use cases of availability: a person's time zone, what each partner sees of their time, their booking
rules; and the booking check a plan passes before it is proposed, rescheduled or accepted.

A change names only what it changes (a field left out stays as it is), so two
pages changing different things at once both land. What a partner sees can be
chosen only for a live partner; anyone else is 404, as if nobody.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain import policy
from domain.availability import (
    Availability,
    BookingRules,
    Breach,
    PartnerShows,
    check_booking,
)
from domain.calendar import Slot
from domain.errors import BookingRefused, NotFound, seen
from domain.plans import Plan
from service.commands.runner import Busy, CommandKey, CommandRunner, Outcome
from service.store import EventStore
from service.visibility import AvailabilityView, Visibility


class AvailabilityChange(msgspec.Struct, frozen=True, kw_only=True):
    """What to change; None leaves it as it is."""

    time_zone: str | None = None
    partners: tuple[PartnerShows, ...] | None = None
    rules: BookingRules | None = None


class Availabilities:
    def __init__(
        self,
        commands: CommandRunner,
        visibility: Visibility,
        clock: Callable[[], datetime],
        settled: Callable[[Outcome], Awaitable[Outcome]],
    ) -> None:
        self.commands = commands
        self.visibility = visibility
        self.views = visibility.availability_views
        self.clock = clock
        self.settled = settled

    async def change(self, caller: UUID, change: AvailabilityChange, key: CommandKey | None) -> Outcome:
        if change.partners:
            network = await self.visibility.models.network_around((caller,))
            partners = policy.partners_of(caller, network.links)
            for choice in change.partners:
                if choice.person_id not in partners:
                    raise NotFound("person", choice.person_id)

        def decide(availability: Availability | None) -> Availability:
            now = self.clock()
            availability = availability or Availability.create(caller, now)
            if change.time_zone is not None:
                availability.choose_time_zone(change.time_zone, now)
            for choice in change.partners or ():
                availability.choose_shows(choice.person_id, choice.shows, now)
            if change.rules is not None:
                availability.change_rules(change.rules, now)
            return availability

        async def render(availability: Availability) -> AvailabilityView:
            return await self.views.mine(caller, current=availability)

        outcome = await self.commands.run(
            Availability, Availability.id_for(caller), decide, render, key=key, may_create=True
        )
        return await self.settled(outcome)


class AvailabilityReads:
    def __init__(self, visibility: Visibility) -> None:
        self.views = visibility.availability_views

    async def mine(self, caller: UUID) -> AvailabilityView:
        return await self.views.mine(caller)

    async def rules(self, caller: UUID, person: UUID) -> policy.SharedRules:
        return seen(await self.views.rules(caller, person), "person", person)


#: The slots of one person that overlap a window (the plans projection's, with check-in occurrences if any).
SlotsOf = Callable[[UUID, datetime, datetime], Awaitable[Sequence[Slot]]]
#: How long a booking waits for this process to read the plans appended before it (then: 503, retry).
CATCH_UP_SECONDS = 5.0
#: Around a plan, the owner's other plans a rule may weigh: its local week, and a buffer on either side.
WEEK_AND_A_DAY = timedelta(days=8)


class BookingCheck:
    """Every participant's booking rules, checked on a plan's candidate slot before it is appended.

    A breach of a rule set to `refuse` raises `BookingRefused` (409 `booking_rule`), so nothing
    is appended; breaches of rules set to `warn` come back, for the answer's `warnings`. Either
    way each names its rule and owner only as far as the owner shows that rule to `caller`."""

    def __init__(
        self,
        visibility: Visibility,
        slots_of: SlotsOf,
        store: EventStore,
        caught_up: Callable[[int, float], Awaitable[bool]],
    ) -> None:
        self.visibility = visibility
        self.views = visibility.availability_views
        self.slots_of = slots_of
        self.store = store
        self.caught_up = caught_up

    @contextlib.asynccontextmanager
    async def held(self, people: Collection[UUID]) -> AsyncIterator[None]:
        """Room to judge and append one plan of `people`'s: while it is held, no other plan of any of
        them is judged or appended, in any process, and the rules read every plan appended before it.
        So two proposals at once cannot both pass a rule only one of them may (the second is judged
        with the first among the owner's plans)."""
        async with self.store.exclusive(people):
            if not await self.caught_up(await self.store.max_position(), CATCH_UP_SECONDS):
                raise Busy
            yield

    async def breaches(self, candidate: Slot, proposed_at: datetime) -> list[Breach]:
        found: list[Breach] = []
        for owner in dict.fromkeys(candidate.participants):
            availability = await self.views.of(owner)
            rules = availability.rules.set()
            if not rules:
                continue
            buffer = rules.get("buffer_after_date")
            margin = WEEK_AND_A_DAY + timedelta(hours=getattr(buffer, "hours", 0))
            others = await self.slots_of(owner, candidate.start - margin, candidate.end + margin)
            found += check_booking(availability, candidate, others, proposed_at)
        return found

    async def check_plan(self, caller: UUID, plan: Plan) -> list[policy.BreachView]:
        """A plan as a command's `decide` leaves it, among the participants who count now; notice is
        counted from when the times on the table were proposed (by a proposal or a reschedule)."""
        return await self.check(caller, *await self._candidate(plan))

    async def notes(self, viewer: UUID, plan: Plan) -> list[policy.BreachView]:
        """The rules a plan breaks now, refusing or warning, as `viewer` may know them (the plan page's
        note: rules set since it was proposed, or a warning its proposer was given)."""
        candidate, proposed_at = await self._candidate(plan)
        return await self.views.breaches(viewer, await self.breaches(candidate, proposed_at))

    async def _candidate(self, plan: Plan) -> tuple[Slot, datetime]:
        among = await self.visibility.plan_participants(plan.time)
        proposed_at = max(step.at for step in plan.history if step.step in ("proposed", "rescheduled"))
        return plan.slot(among or None), proposed_at

    async def check(self, caller: UUID, candidate: Slot, proposed_at: datetime) -> list[policy.BreachView]:
        """`proposed_at`: when the candidate was proposed (now, for a proposal or a reschedule; for an
        answer, when the proposal answered was made)."""
        found = await self.breaches(candidate, proposed_at)
        refusing = await self.views.breaches(caller, [b for b in found if b.mode == "refuse"])
        if refusing:
            refused = BookingRefused(candidate.id, "; ".join(view.detail for view in refusing))
            refused.breaches = tuple(refusing)
            raise refused
        return await self.views.breaches(caller, [b for b in found if b.mode == "warn"])
