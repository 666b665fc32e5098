"""Rotating the master key under load, on real servers and a real PostgreSQL: nothing is lost.

The documented procedure: every process gets the new key as ACCORD_MASTER_KEY
and the old one in ACCORD_PREVIOUS_MASTER_KEYS; `accord rotate-master-key`
rewraps every data key while people keep writing; then a process with only
the new key reads everything, and one with only the old key is refused.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.crypto import new_master_key
from tests.e2e.conftest import Api, Servers

pytestmark = pytest.mark.postgres

ACCORD = Path(sys.executable).with_name("accord")


async def test_rotating_the_master_key_while_people_write_loses_nothing(
    servers: Servers, new_pg_database: Callable[[], str]
) -> None:
    url = new_pg_database()
    old, new = new_master_key(), new_master_key()
    first = servers.start(url, ACCORD_MASTER_KEY=old)
    async with httpx.AsyncClient(base_url=first.url, timeout=15) as http:
        api = Api(http)
        people = [await api.person(f"p{i}") for i in range(4)]
        written: dict[str, list[str]] = {}
        for who in people:
            agreement_id = (await api.create(who, f"Before {who.handle}"))["agreement_id"]
            written[agreement_id] = [(await api.add_clause(who, agreement_id, "boundaries", f"old {who.handle}"))["text"]]
    first.stop()

    # Every process now has both keys; the rotation runs while they write.
    rolling = servers.start(url, ACCORD_MASTER_KEY=new, ACCORD_PREVIOUS_MASTER_KEYS=old)
    async with httpx.AsyncClient(base_url=rolling.url, timeout=15) as http:
        api = Api(http)
        writing = True

        async def write(i: int) -> None:
            who = people[i]
            n = 0
            while writing or n < 3:
                agreement_id = (await api.create(who, f"During {i}.{n}"))["agreement_id"]
                text = (await api.add_clause(who, agreement_id, "privacy", f"during {i}.{n}"))["text"]
                written[agreement_id] = [text]
                n += 1

        writers = [asyncio.create_task(write(i)) for i in range(len(people))]
        env = {**os.environ, "ACCORD_MASTER_KEY": new, "ACCORD_PREVIOUS_MASTER_KEYS": old}
        rotated = await asyncio.to_thread(
            subprocess.run, [str(ACCORD), "rotate-master-key", "--database", url],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        writing = False
        await asyncio.gather(*writers)
        assert rotated.returncode == 0, rotated.stderr
        assert "rewrapped" in rotated.stdout and "no event was touched" in rotated.stdout
        # A second pass finds everything under the new key (the writers made theirs under it too).
        again = await asyncio.to_thread(
            subprocess.run, [str(ACCORD), "rotate-master-key", "--database", url],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert "rewrapped 0 data keys" in again.stdout
    rolling.stop()

    # Only the new key now: everything reads as it was written.
    after = servers.start(url, ACCORD_MASTER_KEY=new, ACCORD_PREVIOUS_MASTER_KEYS="")
    async with httpx.AsyncClient(base_url=after.url, timeout=15) as http:
        api = Api(http)
        signed_in = {who.id: await api.sign_in(who.handle) for who in people}
        assert len(signed_in) == len(people)  # handles, sealed with the people's keys, still found
        listed = 0
        for who in people:
            mine = await api.call("GET", "/api/agreements", who, 200)
            listed += len(mine)
            for summary in mine:
                view = await api.view(who, summary["agreement_id"])
                assert [c["text"] for c in view["clauses"]] == written[summary["agreement_id"]]
        assert listed == len(written) > 2 * len(people)
    after.stop()

    # And the old key alone is refused, plainly.
    refused = await asyncio.to_thread(
        subprocess.run, [str(ACCORD), "serve", "--port", "0", "--database", url],
        env={**os.environ, "ACCORD_MASTER_KEY": old, "ACCORD_PREVIOUS_MASTER_KEYS": ""},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "not given" in refused.stderr, refused.stderr
