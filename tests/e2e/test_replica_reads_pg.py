"""Reads from a streaming replica: views wait until the replica has replayed the position they need.

A real primary and a real hot standby (pg_basebackup, streaming replication),
both started here; `accord serve` appends and projects on the primary and
reads documents and streams from the replica. Pausing the replica's replay
is how the test holds it behind: a change then reaches nobody until replay
resumes (proved by order: a ping answered first), and a read naming the
change's position waits for it instead of answering from the past.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import _LocalCluster, _pg_unavailable, _wait_ready, find_pg_bindir
from tests.e2e.conftest import Api, Live, Servers, build_world, share_boundaries

pytestmark = pytest.mark.postgres


class Standby(_LocalCluster):
    """A hot standby of `primary`, streaming from it over its unix socket."""

    def __init__(self, bindir: str, primary: _LocalCluster) -> None:
        super().__init__(bindir)
        self.primary = primary

    def start(self) -> str:
        if self.as_root:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(
            "pg_basebackup", "-h", str(self.primary.dir), "-p", str(self.primary.port), "-U", "postgres",
            "-D", str(self.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        options = f"-k {self.dir} -c listen_addresses='' -p {self.port} -c hot_standby=on -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self._start_watchdog()
        return f"postgresql://postgres@/postgres?host={self.dir}"


@pytest.fixture(scope="module")
def primary_and_replica() -> Iterator[tuple[str, str]]:
    """DSNs of one database on a fresh primary and on its streaming replica."""
    bindir = find_pg_bindir()
    if bindir is None:
        _pg_unavailable("replica reads need the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    primary = _LocalCluster(bindir)
    standby = Standby(bindir, primary)
    try:
        admin = primary.start()
        _wait_ready(admin)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE accord")
        replica_admin = standby.start()
        _wait_ready(replica_admin)
        yield admin.replace("/postgres?", "/accord?"), replica_admin.replace("/postgres?", "/accord?")
    finally:
        standby.stop()
        primary.stop()


def replay(replica: str, *, paused: bool) -> None:
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


async def test_views_read_the_replica_once_it_has_replayed_what_they_need(
    primary_and_replica: tuple[str, str], servers: Servers
) -> None:
    primary, replica = primary_and_replica
    server = servers.start(primary, ACCORD_REPLICA_DATABASE_URL=replica)
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        await api.ratify(world.parties, world.agreement_id)
        await share_boundaries(api, world)
        # Sam's consented view is read from the replica (its documents and streams).
        shared = await api.view(world.sam, world.agreement_id)
        assert [c["text"] for c in shared["clauses"]] == [world.boundary["text"]]
        sam = await Live.open(server, world.sam)
        assert sam.views[world.key] == shared

        await asyncio.to_thread(replay, replica, paused=True)
        try:
            await api.revoke_grant(world.mina, world.agreement_id, world.grant_id)
            revoked_at = api.position
            # The replica has not replayed the revocation: nothing reaches Sam yet (a pong comes first),
            # and a read that names the position waits rather than answer from the past.
            await sam.nothing_pending()
            waited = await client.get(
                f"/api/agreements/{world.agreement_id}",
                headers={**world.sam.headers, "Accord-Position": str(revoked_at)},
            )
            assert waited.status_code == 503, waited.text
        finally:
            await asyncio.to_thread(replay, replica, paused=False)
        assert await sam.change_to(world.key) == {"key": world.key, "removed": True}
        await api.call(
            "GET", f"/api/agreements/{world.agreement_id}", world.sam, 404,
            headers={"Accord-Position": str(revoked_at)},
        )  # fmt: skip


def test_a_replica_url_is_refused_for_the_embedded_store(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("accord")), "serve", "--database", f"sqlite:///{tmp_path / 'a.db'}", "--port", "1"],
        env={**os.environ, "ACCORD_REPLICA_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ACCORD_REPLICA_DATABASE_URL is for PostgreSQL" in result.stderr
