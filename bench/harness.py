"""What every section shares: figures with their baselines, the run's context, the report.

A section is `async def run(ctx: Context) -> list[Figure]`, listed in
`bench.__main__.SECTIONS`. A figure may be compared with any number of
baselines from the same run; each comparison is a ratio, with the issue's
target where it has one. Figures, not assertions: a missed target is shown,
never raised.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .pg import Server


@dataclass
class Compare:
    label: str
    value: float
    #: The issue's target for value/baseline, if any: a minimum, or a maximum with `at_most`.
    target: float | None = None
    at_most: bool = False


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    vs: list[Compare] = field(default_factory=list)

    def against(self, other: Figure, target: float | None = None, *, at_most: bool = False) -> Figure:
        self.vs.append(Compare(other.name, other.value, target, at_most))
        return self


@dataclass
class Context:
    server: Server
    quick: bool
    #: Where a fsync probe writes (the cluster's directory when we started one), and server logs go.
    scratch: str = tempfile.gettempdir()
    #: With `--profile DIR`: sample each section's Accord server with py-spy into DIR.
    profile: str | None = None
    #: The bench cluster's postmaster, when the bench started it: PostgreSQL's CPU time is measured.
    postmaster: int | None = None
    #: With `--before DIR`: earlier versions of modules to measure too (bench/before.py).
    before: str | None = None
    #: With `--scale`: the startup section also measures 10,000,000 events.
    scale: bool = False
    #: What sections observed beside their figures (CPU shares, profiles), for the results file.
    notes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.say(message)

    def say(self, message: str) -> None:
        print(f"  .. {message}", file=sys.stderr, flush=True)


def fsyncs(directory: str, seconds: float = 1.0) -> tuple[int, float]:
    """8 kB overwrites each followed by fdatasync, for `seconds`: how many, and the time taken.

    A durable commit waits for one such flush of the WAL, so while appends hold
    the table lock through their commit, this is about their ceiling.
    """
    fd, path = tempfile.mkstemp(dir=directory)
    try:
        block = b"\0" * 8192
        os.pwrite(fd, block, 0)
        os.fsync(fd)  # allocated, so the loop only flushes data, like the WAL's preallocated segments
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            count += 1
        return count, time.perf_counter() - start
    finally:
        os.close(fd)
        os.unlink(path)


def machine(ctx: Context) -> dict[str, str]:
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    durable = ", ".join(
        f"{s}={ctx.server.show(s)}" for s in ("fsync", "synchronous_commit", "full_page_writes")
    )
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "PostgreSQL": f"{ctx.server.show('server_version')} ({durable})",
        "Python": f"{platform.python_version()} ({platform.platform()})",
    }


def load() -> str:
    """Load averages (1, 5, 15 min): other work on the machine skews every figure."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def rows(figures: list[Figure]) -> list[list[str]]:
    out = []
    for f in figures:
        first = [f.section, f.name, f"{_num(f.value)} {f.unit}"]
        if not f.vs:
            out.append([*first, "", "", "", ""])
        for i, c in enumerate(f.vs):
            ratio = f.value / c.value if c.value else float("nan")
            target = ""
            if c.target is not None:
                met = ratio <= c.target if c.at_most else ratio >= c.target
                target = f"{'≤' if c.at_most else '≥'} {c.target:g}× {'met' if met else 'MISSED'}"
            lead = first if i == 0 else ["", "", ""]
            out.append([*lead, c.label, _num(c.value), f"{ratio:.2f}×", target])
    return out


HEADER = ["section", "measure", "value", "baseline", "baseline value", "ratio", "target"]


def table(figures: list[Figure]) -> str:
    body = rows(figures)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, body)])


def markdown(
    info: dict[str, str], figures: list[Figure], command: str, notes: str = "", observed: list[str] = ()
) -> str:
    md = ["# Benchmark results", "", f"`{command}`", ""]
    md += [f"- **{k}:** {v}" for k, v in info.items()]
    md += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows(figures)]
    if notes:
        md += ["", notes]
    if observed:
        md += ["", "## Observed in this run", ""]
        for line in observed:
            if "\n" in line:
                md += ["```", line, "```"]
            else:
                md += [f"- {line}"]
    return "\n".join(md) + "\n"
