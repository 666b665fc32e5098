"""Signals live, with real servers and the real websockets client.

Two `accord serve` processes on one PostgreSQL: a signal sent through one
reaches every recipient's socket, on either process. A channel closed by a
recipient stops delivery to their open socket at once: shown by order, since
a later change of theirs arrives and the signal sent before it never did.
And `accord watch` prints a signal that reached its person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Api, Live, Server, Servers
from tests.e2e.test_watch import Watch, watches  # noqa: F401 - the fixture
from tests.servers import PASSWORD, Person

#: Well under the fallback poll (a minute here): a signal arriving this fast was woken by NOTIFY.
PROMPT = 3.0
S = "/api/signals"


@pytest.fixture
def two(servers: Servers, new_pg_database: Callable[[], str]) -> tuple[Server, Server]:
    url = new_pg_database()
    return servers.start(url, ACCORD_POLL_INTERVAL="60"), servers.start(url, ACCORD_POLL_INTERVAL="60")


async def channel(api: Api, a: Person, b: Person, open_: bool = True) -> None:
    await api.call("PUT", f"{S}/channels/{b.id}", a, 200, json={"open": open_})


async def signal_change(live: Live, position: int) -> dict[str, Any]:
    """The update at `position`, which must change this person's signals."""
    update = await live.update_at(position, timeout=PROMPT)
    [change] = [c for c in update["changes"] if c["key"] == "signals"]
    return change["view"]


@pytest.mark.postgres
async def test_a_signal_reaches_recipients_on_both_processes_and_a_closed_channel_stops_it_at_once(
    two: tuple[Server, Server],
) -> None:
    a, b = two
    async with httpx.AsyncClient(base_url=a.url, timeout=15) as on_a, httpx.AsyncClient(base_url=b.url, timeout=15) as on_b:
        api_a, api_b = Api(on_a), Api(on_b)
        sam = await api_b.person("sam")
        partners = [await api_b.person(name) for name in ("mina", "jo", "kai")]
        for partner in partners:
            await api_b.link(sam, partner)
            await channel(api_b, sam, partner)
            await channel(api_b, partner, sam)
        await api_a.caught_up(api_b.position)
        mina, jo, kai = partners
        sockets = {"mina": await Live.open(a, mina), "jo": await Live.open(a, jo), "kai": await Live.open(b, kai)}

        sent_at = time.monotonic()
        body = {"to": [p.id for p in partners], "kind": "home_safe", "note": "Home, all good"}
        first = await api_b.call("POST", S, sam, 201, json=body)
        position = api_b.position
        for live in sockets.values():
            view = await signal_change(live, position)
            assert [(s["signal_id"], s["note"]) for s in view["received"]] == [(first["signal_id"], "Home, all good")]
        assert time.monotonic() - sent_at < PROMPT

        # Kai closes his side through process A; his socket is on B.
        await channel(api_a, kai, sam, False)
        closed_at = api_a.position
        await signal_change(sockets["kai"], closed_at)  # his own choice shows on his page
        second = await api_b.call("POST", S, sam, 201, json={**body, "kind": "still_here", "note": "Still up"})
        dropped_at = api_b.position
        assert [r["person"]["person_id"] for r in second["to"]] == [p.id for p in partners]  # the same answer
        for name in ("mina", "jo"):
            view = await signal_change(sockets[name], dropped_at)
            assert [s["kind"] for s in view["received"]] == ["still_here", "home_safe"]
        # A later change of Kai's own arrives; the signal sent before it did not.
        await api_a.call("PUT", f"{S}/settings", kai, 200, json={"read_receipts": True})
        later = api_a.position
        update = await sockets["kai"].update(timeout=PROMPT)
        assert update["position"] == later, update
        [change] = [c for c in update["changes"] if c["key"] == "signals"]
        assert [s["kind"] for s in change["view"]["received"]] == ["home_safe"]
        assert "Still up" not in str(sockets["kai"].frames)


async def test_accord_watch_prints_a_signal_that_reached_its_person(
    servers: Servers, tmp_path: Path, watches: list[Watch]  # noqa: F811
) -> None:
    server = servers.start(f"sqlite:///{tmp_path.resolve() / 'signals.db'}")
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        mina, sam = await api.person("mina"), await api.person("sam")
        await api.link(mina, sam)
        await channel(api, mina, sam)
        await channel(api, sam, mina)
        watch = await Watch.start(server.url, mina.handle, PASSWORD)
        watches.append(watch)
        await watch.line(watch.err, lambda line: "live from position" in line)
        await api.call("POST", S, sam, 201, json={"to": [mina.id], "kind": "home_safe", "note": "Got the last train"})
        printed = await watch.line(watch.out, lambda line: " signal " in line)
        assert f"signal Home safe from {sam.name} at " in printed and printed.endswith(": Got the last train")
