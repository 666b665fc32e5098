"""`accord watch` as a user runs it: a subprocess against a real server.

It prints one line per change, and after the server dies and comes back it
reconnects by itself and goes on printing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import TITLE, Api, Servers, build_world
from tests.servers import PASSWORD

WAIT = 15.0  # covers the reconnection backoff while the server restarts


class Watch:
    """A running `accord watch`, its stdout and stderr read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        self._more = asyncio.Condition()
        self._readers = [
            asyncio.create_task(self._read(process.stdout, self.out)),
            asyncio.create_task(self._read(process.stderr, self.err)),
        ]

    @classmethod
    async def start(cls, server_url: str, handle: str, password: str) -> Watch:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", "watch", "--server", server_url, "--handle", handle,
            env={**os.environ, "ACCORD_PASSWORD": password},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def _read(self, stream: asyncio.StreamReader | None, lines: list[str]) -> None:
        assert stream is not None
        while line := await stream.readline():
            async with self._more:
                lines.append(line.decode().rstrip("\n"))
                self._more.notify_all()

    async def line(self, lines: list[str], matches: Callable[[str], bool], after: int = 0) -> str:
        """The first line (from index `after`) that matches, waiting for it."""
        try:
            async with asyncio.timeout(WAIT), self._more:
                await self._more.wait_for(lambda: any(matches(line) for line in lines[after:]))
        except TimeoutError:
            pytest.fail(f"no matching line.\nstdout: {self.out}\nstderr: {self.err}")
        return next(line for line in lines[after:] if matches(line))

    async def stop(self) -> int:
        """Ctrl-C, as a user would; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(10):
                code = await self.process.wait()
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        await asyncio.gather(*self._readers)
        return code


@pytest.fixture
async def watches() -> AsyncIterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        await watch.stop()


async def test_watch_prints_each_change_and_reconnects_after_a_crash(
    servers: Servers, tmp_path: Path, watches: list[Watch]
) -> None:
    server = servers.start(f"sqlite:///{tmp_path.resolve() / 'watch.db'}")
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        api = Api(client)
        world = await build_world(api)
        watch = await Watch.start(server.url, world.mina.handle, PASSWORD)
        watches.append(watch)

        # What Mina may see now, then live.
        await watch.line(watch.out, lambda line: world.key in line and TITLE in line)
        await watch.line(watch.err, lambda line: "live from position" in line)

        await api.edit_clause(world.jo, world.agreement_id, world.boundary, "Jo's edit, watched.")
        printed = await watch.line(watch.out, lambda line: line.startswith(f"[{api.position}] {world.key}"))
        assert printed == f"[{api.position}] {world.key} {TITLE!r} drafting v3, 2 clause(s)"

        # The server crashes and comes back; the watch reconnects by itself.
        seen = len(watch.err)
        await server.restart_after_kill()
        await watch.line(watch.err, lambda line: "connection lost" in line, after=seen)
        await watch.line(watch.err, lambda line: "live from position" in line, after=seen)

        await api.add_clause(world.mina, world.agreement_id, "check_ins", "Sunday tea.")
        printed = await watch.line(watch.out, lambda line: line.startswith(f"[{api.position}] {world.key}"))
        assert printed == f"[{api.position}] {world.key} {TITLE!r} drafting v4, 3 clause(s)"

        watches.remove(watch)
        assert await watch.stop() == 0  # Ctrl-C exits cleanly
    output = "\n".join(watch.out + watch.err)
    assert "Traceback" not in output
    assert PASSWORD not in output


async def test_watch_with_a_wrong_password_says_so_and_exits(servers: Servers, tmp_path: Path) -> None:
    server = servers.start(f"sqlite:///{tmp_path.resolve() / 'watch.db'}")
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        mina = await Api(client).person("mina")
    wrong = "not the password at all"
    watch = await Watch.start(server.url, mina.handle, wrong)
    async with asyncio.timeout(WAIT):
        code = await watch.process.wait()
    await watch.stop()
    assert code == 1
    assert any("sign-in refused (401)" in line for line in watch.err), watch.err
    assert wrong not in "\n".join(watch.out + watch.err)
