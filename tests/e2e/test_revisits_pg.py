"""Two `accord serve` processes on one PostgreSQL, and a restart: a due review is appended once.

The agreement is made ten days in the past (an in-process `Accord` whose clock
says so), with a clause to revisit five days ago; nothing has fired it yet.
Then two servers start on the log: whichever leads appends `ReviewDue`, once;
the other, a restarted one and the survivor after the first stops never append
it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from service.application import Accord
from service.settings import Settings
from service.store import connect
from tests.e2e.conftest import SOON, Servers
from tests.servers import PASSWORD, TEST_MASTER_KEY, Person, ServerApi

pytestmark = pytest.mark.postgres

A = "/api/agreements"


async def made_in_the_past(url: str) -> tuple[str, str, str]:
    """Mina and Theo's agreement, ratified ten days ago, its clause due five days ago.

    Returns Mina's handle, Theo's, and the agreement's id.
    """
    past = datetime.now(UTC) - timedelta(days=10)
    settings = Settings(database_url=url, password_hashing="cheapest", master_key=TEST_MASTER_KEY)
    accord = Accord(connect(url, poll_interval=settings.poll_interval), settings, clock=lambda: past)
    await accord.start()
    try:
        suffix = uuid4().hex[:8]
        mina = await accord.register("test", f"mina_{suffix}", "Mina", PASSWORD)
        theo = await accord.register("test", f"theo_{suffix}", "Theo", PASSWORD)
        agreement_id, clause_id = uuid4(), uuid4()
        agreements = accord.agreements
        await agreements.create_agreement(mina.person_id, "Mina & Theo", None, agreement_id)
        await agreements.invite(mina.person_id, agreement_id, theo.handle, None)
        await agreements.accept_invitation(theo.person_id, agreement_id, None)
        await agreements.add_clause(mina.person_id, agreement_id, "check_ins", "A message a day.", None, clause_id)
        revisit_on = (past + timedelta(days=5)).date()
        await agreements.set_revisit_date(mina.person_id, agreement_id, clause_id, revisit_on, None)
        for person in (mina, theo):
            await agreements.consent(person.person_id, agreement_id, 2, None)
    finally:
        await accord.stop()
    return mina.handle, theo.handle, str(agreement_id)


async def due_entries(api: ServerApi, who: Person, agreement_id: str) -> int:
    timeline = await api.call("GET", f"{A}/{agreement_id}/timeline", who, 200)
    return sum(1 for entry in timeline if entry["kind"] == "due_for_review")


async def eventually(check: Callable[[], Any], timeout: float = SOON * 2) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.1)
    return found


async def test_two_processes_and_a_restart_append_a_due_review_once(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    mina_handle, _, agreement_id = await made_in_the_past(url)
    first, second = servers.start(url), servers.start(url)

    async with httpx.AsyncClient(base_url=second.url, timeout=15) as client:
        api = ServerApi(client)
        session = await api.sign_in(mina_handle)
        mina = Person(session["person"]["person_id"], mina_handle, "Mina", session["token"])
        view = await eventually(lambda: _due_view(api, mina, agreement_id))
        assert [review["revisit_on"] for review in view["due_reviews"]] == [view["revisits"][0]["revisit_on"]]
        assert await due_entries(api, mina, agreement_id) == 1

        # The first stops; a new process starts; the second may lead now. Nothing fires again.
        first.stop()
        third = servers.start(url)
        reaffirmed = await api.call(
            "POST", f"{A}/{agreement_id}/clauses/{view['due_reviews'][0]['clause_id']}/reaffirm", mina, 200,
            json={"revision": 1},
        )  # fmt: skip
        assert reaffirmed["due_reviews"][0]["reaffirmed_by"] == [mina.id]
        async with httpx.AsyncClient(base_url=third.url, timeout=15) as on_third:
            on_third_api = ServerApi(on_third)
            await eventually(lambda: _has_reached(on_third_api, api.position))
            assert await due_entries(on_third_api, mina, agreement_id) == 1
        assert await due_entries(api, mina, agreement_id) == 1


async def _due_view(api: ServerApi, who: Person, agreement_id: str) -> dict[str, Any] | None:
    view = await api.view(who, agreement_id)
    return view if view["due_reviews"] else None


async def _has_reached(api: ServerApi, position: int) -> bool:
    health = (await api.client.get("/health")).json()
    return health["position"] >= position
