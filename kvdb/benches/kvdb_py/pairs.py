"""kvdb-py's side of the kvdb vs kvdb-py comparison (kvdb/benches/run-all.sh).

    python pairs.py URL sync PAIRS          # SET+GET pairs, one at a time
    python pairs.py URL async TASKS PAIRS   # the same with TASKS concurrent asyncio tasks

Stores the pydantic `models.User` of kvdb's interop fixtures (JSON, no compression) under
`benchpy:*` and prints one JSON line: pairs per second, client CPU per pair (this process's
user+system time) and the stored value's size in bytes. Needs kvdb-py 0.0.2 (`.ci/run`
builds a virtualenv with it) and kvdb/tests/fixtures/kvdb-py on PYTHONPATH.
"""

import asyncio
import json
import sys
import time

from kvdb import KVDBClient

# The same User (and Address) the interop test writes.
from interop import user


def main():
    url, mode = sys.argv[1], sys.argv[2]
    s = KVDBClient.get_session(name=f"benchpy-{mode}", url=url, serializer="json")
    u = user()
    s.set("benchpy:size", u)
    size = s.strlen("benchpy:size")
    if mode == "sync":
        pairs = int(sys.argv[3])
        for i in range(min(pairs, 200)):
            s.set("benchpy:warm", u)
            s.get("benchpy:warm")
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(pairs):
            k = f"benchpy:{i % 1000}"
            s.set(k, u)
            assert s.get(k).id == u.id
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        tasks = 1
    else:
        tasks, pairs = int(sys.argv[3]), int(sys.argv[4])

        async def worker(w, n):
            for i in range(n):
                k = f"benchpy:{w}:{i % 100}"
                await s.aset(k, u)
                assert (await s.aget(k)).id == u.id

        async def run():
            await asyncio.gather(*(worker(w, 20) for w in range(tasks)))
            cpu0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker(w, pairs // tasks) for w in range(tasks)))
            return time.perf_counter() - t0, time.process_time() - cpu0

        wall, cpu = asyncio.run(run())
        pairs = (pairs // tasks) * tasks
    print(json.dumps({
        "client": "kvdb-py 0.0.2",
        "mode": mode,
        "tasks": tasks,
        "pairs": pairs,
        "pairs_per_s": pairs / wall,
        "us_per_pair": wall / pairs * 1e6,
        "cpu_us_per_pair": cpu / pairs * 1e6,
        "stored_bytes": size,
    }))


if __name__ == "__main__":
    main()
