"""Resuming never re-sends what consent has since withdrawn.

Consent is judged when a frame is sent, not when the change was first made:
a socket that resumes with `since` gets the current view of each thing that
changed while it was away, and a removal for what it held and may no longer
see — never an old view. Each way consent ends is tried twice:

- "held, then withdrawn": the client held the metamour view when it left;
  meanwhile the shared clause changed (a marker the client never saw) and
  consent ended. On resume: only the removal.
- "given and withdrawn while away": the client saw nothing when it left;
  meanwhile a grant (with `identity`) was given, the clause changed, and
  consent ended. On resume: nothing at all about the agreement, no text and
  no name.

A steady socket of the same person stays open throughout: once it has
received the withdrawal, the server has judged it, and the roaming socket
resumes from its old position.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    SOON,
    Api,
    Live,
    Person,
    Server,
    Servers,
    World,
    build_world,
    share_boundaries,
)

#: Text only ever visible during a grant that was later withdrawn.
MARKER = "MARKER-7Q2 only while the grant held"

#: Ends Sam's view of the agreement; returns once Sam's steady socket was told.
Ending = Callable[[Api, World, Live], Awaitable[None]]


async def revoke(api: Api, world: World, steady: Live) -> None:
    assert world.grant_id is not None
    await api.revoke_grant(world.mina, world.agreement_id, world.grant_id)
    await wait_removed(steady, world.key)


async def end_the_link(api: Api, world: World, steady: Live) -> None:
    await api.end_link(world.sam, world.links["jo-sam"])
    await wait_removed(steady, world.key)


async def lapse(api: Api, world: World, steady: Live) -> None:
    """Replace the grant by one that ends in two seconds; the scheduler appends `Lapsed`."""
    await revoke(api, world, steady)
    until = datetime.now(timezone.utc) + timedelta(seconds=2)
    body = {"audience": world.sam.handle, "scopes": ["clauses:boundaries", "identity"], "until": until.isoformat()}
    grant = await api.call("POST", f"/api/agreements/{world.agreement_id}/grants", world.mina, 201, json=body)
    await api.consent_to_grant(world.jo, world.agreement_id, grant["grant_id"])
    world.grant_id = grant["grant_id"]
    while world.key not in steady.views:
        await steady.update()
    await wait_removed(steady, world.key)


ENDINGS: dict[str, Ending] = {"revoked": revoke, "lapsed": lapse, "link-ended": end_the_link}


def text_of(frames: list[dict[str, Any]]) -> str:
    return json.dumps(frames)


async def change_shared_clause(api: Api, world: World, text: str) -> None:
    changes = [{"kind": "edit", "clause_id": world.boundary["clause_id"], "text": text}]
    proposal = await api.propose(world.jo, world.agreement_id, changes)
    await api.accept(world.mina, world.agreement_id, proposal)


async def truth(server: Server, who: Person) -> dict[str, Any]:
    fresh = await Live.open(server, who)
    await fresh.close()
    return fresh.views


async def showing(live: Live, key: str, text: str) -> None:
    """Read until this socket's view of `key` shows `text`."""
    while text not in text_of([live.views.get(key)]):
        await live.update()


async def wait_removed(live: Live, key: str) -> None:
    """Read until `key` is removed from what this socket holds."""
    while key in live.views:
        await live.update(timeout=SOON + 3)


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
async def test_a_view_held_then_withdrawn_is_only_removed_on_resume(
    server: Server, api: Api, ending: str
) -> None:
    world = await build_world(api)
    await api.ratify(world.parties, world.agreement_id)
    await share_boundaries(api, world, ("clauses:boundaries", "identity"))
    steady = await Live.open(server, world.sam)
    roaming = await Live.open(server, world.sam)
    assert world.key in roaming.views
    await roaming.close()

    await change_shared_clause(api, world, MARKER)
    await showing(steady, world.key, MARKER)  # the marker was visible, to sockets open then
    await ENDINGS[ending](api, world, steady)
    await api.view(world.sam, world.agreement_id, expect=404)

    resumed = await Live.resume(server, world.sam, roaming)
    assert MARKER not in text_of(resumed.catch_up)
    [update] = resumed.catch_up
    assert {"key": world.key, "removed": True} in update["changes"]
    assert update["position"] == resumed.position
    assert resumed.views == await truth(server, world.sam)


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
async def test_consent_given_and_withdrawn_while_away_is_never_mentioned_on_resume(
    server: Server, api: Api, ending: str
) -> None:
    world = await build_world(api)
    await api.ratify(world.parties, world.agreement_id)
    steady = await Live.open(server, world.sam)
    roaming = await Live.open(server, world.sam)
    assert world.key not in roaming.views
    await roaming.close()

    await share_boundaries(api, world, ("clauses:boundaries", "identity"))
    await change_shared_clause(api, world, MARKER)
    await showing(steady, world.key, MARKER)
    assert world.mina.name in text_of([steady.views[world.key]])
    await ENDINGS[ending](api, world, steady)

    resumed = await Live.resume(server, world.sam, roaming)
    sent = text_of(resumed.catch_up)
    assert world.agreement_id not in sent
    assert MARKER not in sent and world.boundary["text"] not in sent
    assert world.mina.name not in sent, "a name shared only through the withdrawn grant"
    assert resumed.views == await truth(server, world.sam)
    assert world.key not in resumed.views


async def test_a_party_who_left_while_away_is_only_told_of_the_removal(server: Server, api: Api) -> None:
    world = await build_world(api)
    steady = await Live.open(server, world.jo)
    roaming = await Live.open(server, world.jo)
    await roaming.close()

    await api.edit_clause(world.mina, world.agreement_id, world.boundary, MARKER)
    await showing(steady, world.key, MARKER)
    await api.leave(world.jo, world.agreement_id)
    await wait_removed(steady, world.key)
    await api.edit_clause(world.mina, world.agreement_id, world.schedule, MARKER + " after leaving")

    resumed = await Live.resume(server, world.jo, roaming)
    assert MARKER not in text_of(resumed.catch_up)
    assert resumed.catch_up[0]["changes"].count({"key": world.key, "removed": True}) == 1
    assert resumed.views == await truth(server, world.jo)


async def test_a_resume_still_gets_the_current_view_of_what_it_may_see(server: Server, api: Api) -> None:
    """Several changes while away arrive as one current view each, at the current position."""
    world = await build_world(api)
    roaming = await Live.open(server, world.mina)
    await roaming.close()
    clause = world.boundary
    for i in range(3):
        clause = await api.edit_clause(world.jo, world.agreement_id, clause, f"Take {i}.")

    resumed = await Live.resume(server, world.mina, roaming)
    [update] = resumed.catch_up
    assert update["position"] == api.position
    # The draft's new versions also changed what waits for Mina: her inbox comes along.
    assert [c["key"] for c in update["changes"]] == sorted([world.key, "inbox"])
    assert resumed.views[world.key] == await api.view(world.mina, world.agreement_id)
    assert "Take 0." not in text_of(resumed.catch_up)


@pytest.mark.postgres
async def test_the_resume_rule_holds_on_another_process(servers: Servers, new_pg_database: Callable[[], str]) -> None:
    url = new_pg_database()
    a, b = servers.start(url), servers.start(url)
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(
        base_url=b.url, timeout=15
    ) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        world = await build_world(api_a)
        await api_a.ratify(world.parties, world.agreement_id)
        await api_b.caught_up(api_a.position)
        steady_on_b = await Live.open(b, world.sam)
        roaming = await Live.open(a, world.sam)
        await roaming.close()

        await share_boundaries(api_a, world, ("clauses:boundaries", "identity"))
        await change_shared_clause(api_a, world, MARKER)
        await showing(steady_on_b, world.key, MARKER)
        await revoke(api_a, world, steady_on_b)

        resumed = await Live.resume(b, world.sam, roaming)
        assert world.agreement_id not in text_of(resumed.catch_up)
        assert MARKER not in text_of(resumed.catch_up)
        assert resumed.views == await truth(b, world.sam) == await truth(a, world.sam)
