"""The scheduler marks a missed check-in occurrence exactly once: two processes on one store, and a restart.

Each "process" here is its own command runner and scheduler on its own connection to the
same store (SQLite file or PostgreSQL database), sharing nothing in memory.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from domain.cadence import Cadence, starts_at
from domain.checkins import GRACE, CheckIn
from domain.network import PartnerLink
from projections import checkins
from service.commands import CommandRunner
from service.read.projector import PROJECTIONS, Projector
from service.scheduler import Scheduler
from service.store import connect
from service.store.mapper import MsgspecMapper

NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
CADENCE = Cadence(kind="weekly", weekday=1, at="19:00", time_zone="Europe/Berlin", starts_on=date(2026, 10, 12))


async def _nothing(_: object) -> dict[str, str]:
    return {}


async def live_link(runner: CommandRunner, a: UUID, b: UUID) -> UUID:
    link_id = PartnerLink.id_for(a, b)
    await runner.run(PartnerLink, link_id, lambda _: PartnerLink.propose(a, b, NOW - timedelta(days=1)), _nothing, key=None, creates=True)

    def confirm(link: PartnerLink | None) -> PartnerLink:
        assert link is not None
        link.confirm(b, NOW - timedelta(days=1))
        return link

    await runner.run(PartnerLink, link_id, confirm, _nothing, key=None)
    return link_id


async def test_a_missed_occurrence_is_marked_once(store, store_url: str) -> None:  # noqa: ANN001
    mapper = MsgspecMapper()
    mina, theo, check_in_id = uuid4(), uuid4(), uuid4()
    link_id = await live_link(CommandRunner(store, mapper), mina, theo)
    await CommandRunner(store, mapper).run(
        CheckIn,
        check_in_id,
        lambda _: CheckIn.start(check_in_id, mina, (mina, theo), CADENCE, None, NOW, link_id=link_id),
        _nothing,
        key=None,
        creates=True,
    )
    projector = Projector(store, mapper, PROJECTIONS, 0.05)
    while await projector.step():
        pass
    [(key, data)] = await store.due_documents(checkins.DUE.name, datetime(2100, 1, 1, tzinfo=UTC))
    due = checkins.DUE.decode(data)
    assert (key, due.index) == (str(check_in_id), 0)
    later = due.starts_at + GRACE

    # Not yet: a second before the grace ends nothing is due.
    early = Scheduler(store, CommandRunner(store, mapper), lambda: later - timedelta(seconds=1), 0.05)
    await early.fire_due()
    assert len(await store.read_stream(check_in_id)) == 2

    other = connect(store_url)
    await other.open()
    try:
        first = Scheduler(store, CommandRunner(store, mapper), lambda: later, 0.05)
        second = Scheduler(other, CommandRunner(other, MsgspecMapper()), lambda: later, 0.05)
        await asyncio.gather(first.fire_due(), second.fire_due())
        # Restarted before the projections moved on: the same due document, fired again.
        restarted = Scheduler(other, CommandRunner(other, MsgspecMapper()), lambda: later, 0.05)
        await restarted.fire_due()
    finally:
        await other.close()

    events = [mapper.to_domain_event(s) for s in await store.read_stream(check_in_id)]
    assert [type(e) for e in events] == [
        CheckIn.Started,
        CheckIn.OccurrenceOpened,
        CheckIn.Missed,
        CheckIn.OccurrenceOpened,
    ]
    assert events[2].index == 0 and events[3].index == 1
    while await projector.step():
        pass
    [(_, data)] = await store.due_documents(checkins.DUE.name, datetime(2100, 1, 1, tzinfo=UTC))
    assert checkins.DUE.decode(data).index == 1


async def test_a_series_whose_link_ended_stops_instead_of_missing(store) -> None:  # noqa: ANN001
    mapper = MsgspecMapper()
    runner = CommandRunner(store, mapper)
    mina, theo, check_in_id = uuid4(), uuid4(), uuid4()
    link_id = await live_link(runner, mina, theo)
    await runner.run(
        CheckIn, check_in_id,
        lambda _: CheckIn.start(check_in_id, mina, (mina, theo), CADENCE, None, NOW, link_id=link_id),
        _nothing, key=None, creates=True,
    )  # fmt: skip

    def end(link: PartnerLink | None) -> PartnerLink:
        assert link is not None
        link.end(theo, NOW)
        return link

    await runner.run(PartnerLink, link_id, end, _nothing, key=None)
    projector = Projector(store, mapper, PROJECTIONS, 0.05)
    while await projector.step():
        pass
    later = starts_at(CADENCE, 0) + GRACE
    for _ in range(2):
        await Scheduler(store, CommandRunner(store, mapper), lambda: later, 0.05).fire_due()
        while await projector.step():
            pass
    events = [mapper.to_domain_event(s) for s in await store.read_stream(check_in_id)]
    assert [type(e) for e in events] == [CheckIn.Started, CheckIn.OccurrenceOpened, CheckIn.Stopped]
    assert events[-1].reason == "link_ended"
    assert await store.due_documents(checkins.DUE.name, datetime(2100, 1, 1, tzinfo=UTC)) == []

