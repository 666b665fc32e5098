"""Sampling a server while it is measured: py-spy, if installed (`pip install py-spy`).

`python -m bench --profile DIR` records each section's Accord server during
its first measured round into DIR (collapsed stacks, `*.txt`, which
speedscope or flamegraph.pl read) and prints where the time goes: the
functions with the most samples on the stack (inclusive) and at its top
(self), as shares of the event loop thread's busy samples (py-spy leaves out
those where it waits in a system call, so this is where the CPU goes).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path


def available() -> str | None:
    return shutil.which("py-spy") or (
        str(Path(sys.executable).with_name("py-spy")) if Path(sys.executable).with_name("py-spy").exists() else None
    )


class Recording:
    def __init__(self, proc: asyncio.subprocess.Process, out: Path) -> None:
        self.proc, self.out = proc, out

    async def wait(self) -> Path:
        await self.proc.wait()
        return self.out


async def record(pid: int, out: Path, seconds: float, rate: int = 250) -> Recording | None:
    exe = available()
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    return Recording(proc, out)


def _frame(frame: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:line)"; keep the function and the file's tail.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{name} ({short})"


#: Accord's own packages, split by what they do; everything else is named by its top package.
_OWN = {"service/store": "accord: store", "service/http": "accord: http", "service/live": "accord: live",
        "service": "accord: service", "domain": "accord: domain", "projections": "accord: projections"}


def _layer(frame: str) -> str:
    where = frame.rpartition(" (")[2].rstrip(")")
    path = where.rpartition(":")[0] if ":" in where else where
    parts = path.split("/")
    for depth in (2, 1):
        if (name := _OWN.get("/".join(parts[:depth]))) is not None:
            return name
    return parts[0] if len(parts) > 1 else path


#: The frames every event loop callback runs under: left out of the inclusive list.
_LOOP = {
    "_run_module_as_main", "_run_code", "<module>", "main", "_serve", "Server.run", "asyncio_run",
    "Runner.run", "BaseEventLoop.run_until_complete", "BaseEventLoop.run_forever",
    "BaseEventLoop._run_once", "Handle._run",
}


def summary(collapsed: Path, top: int = 12) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        raw = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        frames = [_frame(f) for f in raw]
        if frames and frames[0].startswith("Thread._bootstrap"):
            continue  # a worker thread (argon2, idle executors): not the event loop
        if raw:
            layers[_layer(raw[-1])] += n
        total += n
        for f in set(frames):
            inclusive[f] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples"]
    lines += ["by layer (the function running):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in layers.most_common(top)]
    below_loop = [(f, n) for f, n in inclusive.most_common() if f.split(" (")[0] not in _LOOP]
    lines += ["inclusive (below the event loop):"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in below_loop[: top * 2]]
    lines += ["self:"] + [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


async def start(ctx, pid: int, name: str, seconds: float) -> Recording | None:  # noqa: ANN001 - a harness Context
    """With `--profile`, begin sampling `pid` for `seconds` (None without it or without py-spy)."""
    if not ctx.profile:
        return None
    recording = await record(pid, Path(ctx.profile, f"{name}.txt"), seconds)
    if recording is None:
        ctx.say("py-spy is not installed: no profile (pip install py-spy)")
    return recording


async def finish(ctx, recording: Recording | None, name: str) -> None:  # noqa: ANN001
    """Wait for a recording, write its summary beside it and print it."""
    if recording is None:
        return
    path = await recording.wait()
    if not path.exists():
        ctx.say(f"py-spy wrote no profile for {name}")
        return
    text = summary(path)
    Path(ctx.profile, f"{name}.summary.txt").write_text(text + "\n")
    ctx.say(f"profile of {name} ({path}):\n" + text)
