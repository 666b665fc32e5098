"""The HTTP load generator: `python -m bench.loadgen` < spec.json > result.json.

Runs in a process of its own so the server keeps its core. Each connection
sends one request at a time, back to back, for `warmup` then `duration`
seconds; only requests that start and end inside the measured window count.

spec: {"host", "port", "warmup", "duration", "connections": [conn, ...]}, where conn is
  {"kind": "get", "path": "/small", "token": "..."?}: the same GET again and again, or
  {"kind": "edit", "token": "...", "per_target": 50, "targets": [[agreement_id, clause_id, revision], ...]}:
    PUT /api/agreements/{a}/clauses/{c} with based_on_revision = the clause's current
    revision, `per_target` edits of one clause, then the next (cycling), so no edit is
    ever stale and each agreement's stream stays about as long as a real one.
result: {"requests" (measured), "sent" (warm-up and edges too), "ok", "elapsed", "latencies_ms" (sorted), "statuses", "cpu_seconds"}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

from .rawhttp import HTTPConnection

TEXT = (
    "Barriers with new partners until we have both seen recent test results, and we talk "
    "before any change to that; overnight stays are planned a week ahead on the shared calendar"
)


async def run(spec: dict) -> dict:
    host, port = spec["host"], spec["port"]
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    sent = 0
    conns = [await HTTPConnection(host, port).open() for _ in spec["connections"]]
    start = time.perf_counter() + warmup
    end = start + duration

    async def get(conn: HTTPConnection, c: dict) -> None:
        headers = {"authorization": f"Bearer {c['token']}"} if c.get("token") else {}
        raw = conn.encode("GET", c["path"], headers)
        nonlocal sent
        while (t0 := time.perf_counter()) < end:
            status, _, _ = await conn.send(raw)
            sent += 1
            t1 = time.perf_counter()
            if t0 >= start and t1 <= end:
                statuses[status] += 1
                latencies.append((t1 - t0) * 1000)

    async def edit(conn: HTTPConnection, c: dict, index: int) -> None:
        headers = {"authorization": f"Bearer {c['token']}", "content-type": "application/json"}
        targets = [list(t) for t in c["targets"]]
        per_target = int(c["per_target"])
        nonlocal sent
        n = 0
        while (t0 := time.perf_counter()) < end:
            target = targets[(n // per_target) % len(targets)]
            agreement_id, clause_id, revision = target
            body = json.dumps({"text": f"{TEXT} ({index}.{n}).", "based_on_revision": revision}).encode()
            raw = conn.encode("PUT", f"/api/agreements/{agreement_id}/clauses/{clause_id}", headers, body)
            status, _, _ = await conn.send(raw)
            sent += 1
            t1 = time.perf_counter()
            if status == 200:
                target[2] = revision + 1
                n += 1
            if t0 >= start and t1 <= end:
                statuses[status] += 1
                latencies.append((t1 - t0) * 1000)
            if status != 200:
                await asyncio.sleep(0.01)  # a refused edit is counted, and not hammered

    tasks = []
    for i, (conn, c) in enumerate(zip(conns, spec["connections"])):
        tasks.append(get(conn, c) if c["kind"] == "get" else edit(conn, c, i))
    cpu0 = time.process_time()
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu0
    for conn in conns:
        conn.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "sent": sent,
        "ok": statuses.get(200, 0),
        "elapsed": duration,
        "latencies_ms": latencies,
        "statuses": {str(k): v for k, v in statuses.items()},
        "cpu_seconds": cpu,
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
