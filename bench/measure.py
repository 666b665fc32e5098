"""Running the load generator against a server, and where the machine's CPU went meanwhile."""

from __future__ import annotations

import time

from . import procs
from .harness import Context, Figure


class CPU:
    """CPU seconds of the server, of PostgreSQL (when the bench started it) and of the whole machine."""

    def __init__(self, ctx: Context, server: procs.Proc | None) -> None:
        self.ctx, self.server = ctx, server
        self.server_s = self.postgres_s = self.machine_s = self.wall_s = 0.0

    def _now(self) -> tuple[float, float, float, float]:
        return (
            self.server.cpu() if self.server else 0.0,
            procs.tree_cpu_seconds(self.ctx.postmaster) if self.ctx.postmaster else 0.0,
            procs.machine_busy_seconds(),
            time.perf_counter(),
        )

    def __enter__(self) -> CPU:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.server_s += end[0] - self._start[0]
        self.postgres_s += end[1] - self._start[1]
        self.machine_s += end[2] - self._start[2]
        self.wall_s += end[3] - self._start[3]


class Load:
    """Requests, latencies and CPU time, summed over rounds."""

    def __init__(self, ctx: Context, server: procs.Proc) -> None:
        self.server = server
        self.cpu = CPU(ctx, server)
        self.requests = self.ok = self.sent = 0
        self.seconds = self.client_cpu = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}

    async def run(self, spec: dict) -> None:
        with self.cpu:
            result = await procs.child("bench.loadgen", {"host": "127.0.0.1", "port": self.server.port, **spec})
        self.requests += result["requests"]
        self.sent += result["sent"]
        self.ok += result["ok"]
        self.seconds += result["elapsed"]
        self.client_cpu += result["cpu_seconds"]
        self.latencies += result["latencies_ms"]
        for status, n in result["statuses"].items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    @property
    def rate(self) -> float:
        """Successful requests per second in the measured windows."""
        return self.ok / self.seconds

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, self.sent)

    def latency_figures(self, section: str, label: str) -> tuple[Figure, Figure]:
        latencies = sorted(self.latencies)
        return (
            Figure(section, f"{label}: p50 latency", procs.percentile(latencies, 0.5), "ms"),
            Figure(section, f"{label}: p99 latency", procs.percentile(latencies, 0.99), "ms"),
        )

    def cpu_note(self, label: str) -> str:
        """Where the CPU went, per request (warm-up included), for the section's notes."""
        c = self.cpu
        return (
            f"{label}: per request, server {self.per_request_ms(c.server_s):.2f} ms CPU,"
            f" PostgreSQL {self.per_request_ms(c.postgres_s):.2f} ms, load generator"
            f" {self.per_request_ms(self.client_cpu):.2f} ms; the server busy {c.server_s / c.wall_s:.2f} of"
            f" its one core, the machine {c.machine_s / c.wall_s:.2f} of {procs.os.cpu_count()} (anyone's work)"
        )
