"""Availability: my time zone, what each partner sees of my time, my booking rules; and a partner's rules as shown to me.

PUT changes only the fields it names. A partner's rules are seen by that
partner as far as the owner shows each rule to partners; anyone else gets
404, whether or not the person exists.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, put
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from domain.availability import MAX_HOURS, MAX_PLANS_PER_WEEK, BookingRules, Mode, PartnerShows, ShownTo, Weekday
from domain.calendar import Shows
from domain.policy import SharedRules
from service.commands.availability import AvailabilityChange
from service.http.auth import CALLER, Caller
from service.http.deps import AccordDep
from service.http.idempotency import KEY, Key
from service.http.responses import COMMAND, READ, respond
from service.http.wire import Strict
from service.visibility import AvailabilityView

Hours = Annotated[int, Meta(ge=1, le=MAX_HOURS)]


class RuleChoiceBody(Strict, kw_only=True):
    mode: Mode = "refuse"
    shown_to: ShownTo = "nobody"


class QuietNightsRule(RuleChoiceBody, kw_only=True):
    #: Each night runs from 18:00 on that weekday to 06:00 the next morning, in my time zone.
    weekdays: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]


class OvernightNoticeRule(RuleChoiceBody, kw_only=True):
    hours: Hours


class PlansPerWeekRule(RuleChoiceBody, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=MAX_PLANS_PER_WEEK)]


class BufferAfterDateRule(RuleChoiceBody, kw_only=True):
    hours: Hours


class SetRules(Strict):
    """All my rules: a rule left out (or null) is not set."""

    quiet_nights: QuietNightsRule | None = None
    overnight_notice: OvernightNoticeRule | None = None
    plans_per_week: PlansPerWeekRule | None = None
    buffer_after_date: BufferAfterDateRule | None = None


class PartnerChoice(Strict):
    person_id: UUID
    shows: Shows


class ChangeAvailability(Strict):
    """What to change; a field left out stays as it is."""

    time_zone: Annotated[str, Meta(min_length=1, max_length=64, description="an IANA zone, like Europe/Berlin")] | None = None
    partners: Annotated[list[PartnerChoice], Meta(max_length=200)] | None = None
    rules: SetRules | None = None

    def change(self) -> AvailabilityChange:
        return AvailabilityChange(
            time_zone=self.time_zone,
            partners=None
            if self.partners is None
            else tuple(PartnerShows(person_id=p.person_id, shows=p.shows) for p in self.partners),
            rules=None if self.rules is None else msgspec.convert(msgspec.to_builtins(self.rules), BookingRules),
        )


class AvailabilityController(Controller):
    path = "/api/me/availability"
    tags = ["availability"]
    dependencies = {**CALLER, **KEY}

    @get("/", summary="My time zone, what each partner sees of my time, and my booking rules", responses=READ)
    async def mine(self, accord: AccordDep, caller: Caller) -> AvailabilityView:
        return await accord.availability_reads.mine(caller)

    @put(
        "/",
        summary="Change my time zone, what a partner sees of my time (busy or nothing), or my booking rules",
        status_code=200,
        responses=COMMAND,
    )
    async def change(
        self, accord: AccordDep, caller: Caller, key: Key, data: JSONBody[ChangeAvailability]
    ) -> Response[AvailabilityView]:
        return respond(await accord.availabilities.change(caller, data.change(), key))


class PartnerRulesController(Controller):
    path = "/api/people/{person_id:uuid}/availability"
    tags = ["availability"]
    dependencies = CALLER

    @get("/", summary="A partner's booking rules, as far as they show them to me", responses=READ)
    async def rules(self, accord: AccordDep, caller: Caller, person_id: FromPath[UUID]) -> SharedRules:
        return await accord.availability_reads.rules(caller, person_id)
