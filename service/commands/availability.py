"""Use cases of availability: a person's time zone, what each partner sees of their time, their booking rules.

A change names only what it changes (a field left out stays as it is), so two
pages changing different things at once both land. What a partner sees can be
chosen only for a live partner; anyone else is 404, as if nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import msgspec

from domain import policy
from domain.availability import Availability, BookingRules, PartnerShows
from domain.errors import NotFound
from service.commands.runner import CommandKey, CommandRunner, Outcome
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
        found = await self.views.rules(caller, person)
        if found is None:
            raise NotFound("person", person)
        return found
