"""Medians of run-all.sh's JSON lines as a markdown table (stdin -> stdout)."""

import collections
import json
import statistics
import sys

rows = collections.defaultdict(list)
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        r = json.loads(line)
        rows[(r["placement"], r["mode"], r["tasks"], r["client"])].append(r)

print("| placement | mode | tasks | client | pairs/s | µs/pair | client CPU µs/pair | stored bytes | vs raw redis-rs |")
print("|---|---|---|---|---|---|---|---|---|")
raw = {}
for (placement, mode, tasks, client), rs in sorted(rows.items()):
    if client == "raw redis-rs":
        raw[(placement, mode, tasks)] = statistics.median(r["pairs_per_s"] for r in rs)
for (placement, mode, tasks, client), rs in sorted(rows.items()):
    rate = statistics.median(r["pairs_per_s"] for r in rs)
    limit = raw.get((placement, mode, tasks))
    ratio = f"{rate / limit:.3f}×" if limit else "—"
    print(f"| {placement}-core | {mode} | {tasks} | {client} | {rate:,.0f} | "
          f"{statistics.median(r['us_per_pair'] for r in rs):.1f} | "
          f"{statistics.median(r['cpu_us_per_pair'] for r in rs):.1f} | "
          f"{rs[0]['stored_bytes']} | {ratio} |")
