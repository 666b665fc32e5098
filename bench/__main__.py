"""`python -m bench [--quick] [--scale] [--only SECTION] [--out bench/RESULTS.md] [--before DIR] [--profile DIR]`.

Starts a durable PostgreSQL of its own (or uses ACCORD_BENCH_DATABASE_URL),
runs each section, prints one table and writes it with the machine's details.
To add a section: a module with `async def run(ctx) -> list[Figure]`, listed below.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable

from . import append, calendar, commands, live, rebuild, sealing, signals, startup, views
from .harness import Context, Figure, load, machine, markdown, table
from .pg import ENV_URL, LocalCluster, Server, find_bindir, wait_ready

SECTIONS: dict[str, Callable[[Context], Awaitable[list[Figure]]]] = {
    "append": append.run,
    "rebuild": rebuild.run,
    "http": commands.run,
    "live": live.run,
    "views": views.run,
    "startup": startup.run,
    "sealing": sealing.run,
    "signals": signals.run,
    "calendar": calendar.run,
}


NOTE = (
    "Each ratio is the figure over its baseline, both from this run; targets are issue 8's, and"
    " issue 12's for startup and the hand-written peers (≥ a minimum, ≤ a maximum: latency,"
    " memory, time to ready). The machine is shared and its disk's"
    " fsync latency drifts, so read the ratios, not the absolute figures. `before:` figures"
    " (with `--before`) are the same measurement of the code as it was before issue 8's fixes."
    " How to read each section, and what bounds each missed target: bench/README.md."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Accord's benchmarks on a durable PostgreSQL it starts: prints a table, writes a results file.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke run")
    parser.add_argument(
        "--scale", action="store_true",
        help="startup also at 10,000,000 events (about 5 GB of disk and 10 minutes of seeding; skipped under 15 GB free)",
    )
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only this section (repeatable)")
    parser.add_argument("--out", default="bench/RESULTS.md", help="results file (default: %(default)s)")
    parser.add_argument(
        "--before", metavar="DIR",
        help="also measure the code with DIR's modules laid over it (an earlier commit's modules, e.g. from git archive), in the same run",
    )
    parser.add_argument("--profile", metavar="DIR", help="sample the Accord server with py-spy in each section, into DIR")
    args = parser.parse_args(argv)

    cluster = None
    if url := os.environ.get(ENV_URL):
        server = Server(url)
        wait_ready(url)
    else:
        bindir = find_bindir()
        if bindir is None:
            sys.exit(f"no PostgreSQL server binaries found; install them or set {ENV_URL}")
        cluster = LocalCluster(bindir)
        server = cluster.start()
    ctx = Context(
        server=server,
        quick=args.quick,
        scratch=str(cluster.dir) if cluster else "/tmp",
        profile=args.profile,
        before=args.before,
        scale=args.scale,
        postmaster=cluster.postmaster() if cluster else None,
    )
    started = time.perf_counter()
    try:
        info = machine(ctx)
        info["load before"] = load()
        figures: list[Figure] = []
        for name in args.only or SECTIONS:
            print(f"section {name}", file=sys.stderr, flush=True)
            figures += asyncio.run(SECTIONS[name](ctx))
    finally:
        if cluster is not None:
            cluster.stop()
    info["load after"] = load()
    flags = [f for f, on in (("--quick", args.quick), ("--scale", args.scale)) if on]
    info["run"] = f"{time.perf_counter() - started:.0f} s" + (f" ({', '.join(flags)})" if flags else "")
    print()
    print("\n".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(table(figures))
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(args.out, "w") as f:
        f.write(markdown(info, figures, command.strip(), NOTE, ctx.notes))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
