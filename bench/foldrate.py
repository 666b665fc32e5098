"""A rebuild in a process of its own: `python -m bench.foldrate` < {"dsn", "rounds"} > JSON.

bench/rebuild.py runs it from the current tree and, with `--before`, from
the overlay of earlier modules (bench/before.py), so both start from a fresh
interpreter and are compared on the same log in the same run. Besides the
whole rebuild (read + decode + ReadModels.apply, events and seconds), it
times its two parts of Accord's own in memory, over the first `parts` events
read beforehand: decoding alone and folding alone (µs per event, best of 3).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time

from service.readmodels import ReadModels
from service.store.mapper import MsgspecMapper
from service.store.postgres import PostgresStore

from .rebuild import FREEZE_EVERY, read_models, replay


def _best(run, count: int) -> float:  # noqa: ANN001 - a callable timed three times
    best = float("inf")
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        gc.unfreeze()
    return best * 1e6 / count


async def main(spec: dict) -> dict:
    store = PostgresStore(spec["dsn"])
    await store.open()
    events, seconds = 0, 0.0
    try:
        await replay(store, decode=False)  # warm the caches,
        await replay(store, read_models(), limit=20_000)  # and the interpreter's
        for _ in range(int(spec["rounds"])):
            gc.collect()
            start = time.perf_counter()
            events += await replay(store, read_models())
            seconds += time.perf_counter() - start
        records, after = [], 0
        while len(records) < int(spec.get("parts", 50_000)) and (page := await store.read_log(after, limit=1000)):
            records += page
            after = page[-1].position
    finally:
        await store.close()
    to_domain = MsgspecMapper().to_domain_event
    decoded = [(to_domain(r), r.position) for r in records]

    def decode() -> None:
        for r in records:
            to_domain(r)

    def fold() -> None:
        apply = ReadModels().apply
        for event, position in decoded:
            apply(event, position)
            if position % FREEZE_EVERY == 0:
                gc.freeze()

    return {
        "events": events,
        "seconds": seconds,
        "decode_us": _best(decode, len(records)),
        "fold_us": _best(fold, len(decoded)),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.stdin.read())))))
