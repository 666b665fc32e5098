"""Servers and load generators as processes of their own, and what the OS says about them.

The machine has few cores, so whatever generates load runs in a process of its
own (never on the server's event loop), and every server (`accord serve`, the
minimal litestar app, the plain websockets server) is started the same way:
a child process behind `sh -c 'ulimit -n ...; exec ...'`, its output in a log
file, ready once it answers HTTP (or accepts TCP).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

#: File descriptors for servers and clients holding thousands of sockets.
FD_LIMIT = 20_000

#: `accord serve`'s environment for benchmarks: sign-in is not measured, rate limits must not throttle.
ACCORD_ENV = {
    "ACCORD_PASSWORD_HASHING": "cheapest",
    "ACCORD_COMMAND_RATE_PER_MINUTE": "10000000",
    "ACCORD_AUTH_RATE_PER_MINUTE": "10000000",
    "ACCORD_SIGNALS_PER_SENDER_PER_HOUR": "10000000",
    "ACCORD_SIGNALS_PER_RECIPIENT_PER_HOUR": "10000000",
    "ACCORD_SECRET": "bench",
    # 32 bytes, URL-safe base64: the master key PostgreSQL servers need (bench only).
    "ACCORD_MASTER_KEY": "YmVuY2gtb25seS1tYXN0ZXIta2V5LWZvci1hY2NvcmQ=",
}

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit(wanted: int = FD_LIMIT) -> int:
    """Raise this process's soft fd limit as far as the hard one allows; the new soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def status_kib(pid: int, field: str) -> int:
    """A size field of /proc/<pid>/status (VmRSS, VmHWM, ...), in KiB; 0 if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def descendants(root: int) -> list[int]:
    """The live processes below `root` (children, their children, ...), from /proc's ppid fields."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_rss_bytes(root: int) -> int:
    """Resident memory (VmRSS) of a process and every live descendant, summed (shared pages counted in each)."""
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            total += status_kib(pid, "VmRSS") * 1024
        except OSError:  # it ended meanwhile
            pass
    return total


def mem_available_bytes() -> int:
    """The machine's MemAvailable (what can be allocated without swapping or the OOM killer)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process, its reaped children and its live children (a postmaster and its backends)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(pid: int | str) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    fields = stat(root)
    total = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                child = stat(entry)
            except OSError:
                continue
            if int(child[1]) == root:  # ppid
                total += int(child[11]) + int(child[12])
    return total / tick


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, every process, anyone's)."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Proc:
    """A server child process; `stop()` ends it (SIGINT, then SIGKILL)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log: Path, port: int, cwd: Path = ROOT
    ) -> None:
        self.name, self.port, self.log = name, port, log
        limit = raise_fd_limit()
        command = f"ulimit -n {limit} 2>/dev/null; exec {shlex.join(argv)}"
        self._log = open(log, "ab")
        self.popen = subprocess.Popen(
            ["sh", "-c", command],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid  # `exec` keeps the shell's pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def tree_rss(self) -> int:
        """Its resident memory with that of any child processes (workers) it started."""
        return tree_rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_http(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            while True:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
                try:
                    if (await client.get(path)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.tail()}")
                await asyncio.sleep(0.1)

    async def wait_tcp(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not listening after {timeout} s:\n{self.tail()}") from None
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


def accord(dsn: str, scratch: str, name: str = "accord", tree: Path | None = None) -> Proc:
    """`accord serve` on the bench PostgreSQL, as deployed (its own CLI, log level info).

    With `tree`, from that copy of the code (bench/before.py): `-m` puts the
    working directory first on sys.path, ahead of the editable install.
    """
    port = free_port()
    argv = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--database", dsn]
    return Proc(name, argv, ACCORD_ENV, Path(scratch, f"{name}-{port}.log"), port, cwd=tree or ROOT)


def minimal(scratch: str) -> Proc:
    """bench/minimal.py: one litestar route returning a small Struct, uvicorn configured as `accord serve`."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.minimal", "--port", str(port)]
    return Proc("minimal litestar", argv, {}, Path(scratch, f"minimal-{port}.log"), port)


def peer(module: str, dsn: str, scratch: str) -> Proc:
    """A hand-written litestar + asyncpg peer (bench/peer_view.py, bench/peer_command.py) on `dsn`."""
    port = free_port()
    argv = [sys.executable, "-m", f"bench.{module}", "--port", str(port), "--database", dsn]
    return Proc(module.replace("_", " "), argv, {}, Path(scratch, f"{module}-{port}.log"), port)


def ws_baseline(scratch: str, payload: int) -> Proc:
    """bench/ws_baseline.py: a plain websockets server broadcasting `payload` bytes."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.ws_baseline", "--port", str(port), "--payload", str(payload)]
    return Proc("plain websockets", argv, {}, Path(scratch, f"ws-baseline-{port}.log"), port)


async def child(module: str, spec: dict[str, Any], timeout: float = 300.0, tree: Path | None = None) -> dict[str, Any]:
    """Run `python -m module` with `spec` as JSON on stdin; its last stdout line, as JSON.

    With `tree` (bench/before.py), from there: its modules come first, bench/ after them.
    """
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module,
        cwd=tree or ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(spec).encode()), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{module} did not finish in {timeout} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]
