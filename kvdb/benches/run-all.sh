#!/usr/bin/env bash
# Every benchmark of docs/performance.md in one command, with the machine's state printed
# before and after. Rewrites docs/perf/results.md and docs/perf/compare.svg (the comparison
# harness) and docs/perf/concurrency.svg (async throughput against 1-256 tasks: raw redis-rs,
# a hand-written serde_json layer, kvdb, kvdb-py), then appends the kvdb-py and cluster tables
# to results.md.
#
#   bash kvdb/benches/run-all.sh [--quick]
#
# Starts its own loopback redis-server (never 127.0.0.1:6379). kvdb-py comes from
# $KVDB_PY_PYTHON, else target/kvdb-py-venv (built by .ci/run), else /work/kvdbpy-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=""; rounds=31; pairs=20000; py_pairs=3000; reps=3
if [ "${1:-}" = "--quick" ]; then quick="--quick"; rounds=5; pairs=3000; py_pairs=500; reps=2; fi
# Absolute: `cargo bench` runs the harness from kvdb/.
out="$PWD/docs/perf"; [ -n "$quick" ] && out=$(mktemp -d)

machine() {
  echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
    "$(redis-server --version | cut -d' ' -f3); load: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$(date -u +%FT%TZ)"
}
echo "== start: $(machine)"
start_state=$(machine)

py="${KVDB_PY_PYTHON:-}"
for c in target/kvdb-py-venv/bin/python /work/kvdbpy-venv/bin/python; do
  [ -z "$py" ] && [ -x "$c" ] && "$c" -c "import kvdb" 2>/dev/null && py="$c"
done

# kvdb's default features, as users build it: with `tracing` or `metrics` compiled in, every
# operation pays for its span and counters (~2.3k instructions an operation by callgrind, even
# with no subscriber or recorder installed).
cargo bench -p kvdb --no-run -q 2>/dev/null
# 1. The comparison harness (raw / hand-written / kvdb), pinned by itself.
cargo bench -p kvdb --bench compare -- $quick --out "$out"
# 2. Cluster batches against a single server.
cluster=$(cargo bench -q -p kvdb --features testing,cluster --bench cluster -- "$rounds" 2>/dev/null)
# 3. kvdb vs kvdb-py on one server pinned to CPU 0; clients on CPU 1 (cross-core) and on
#    CPU 0 (same core), alternating, $reps rounds each.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "/tmp/kvdb-bench-$port.pid" >/dev/null
trap 'kill "$(cat /tmp/kvdb-bench-'"$port"'.pid)" 2>/dev/null || true' EXIT
sleep 0.3
url="redis://127.0.0.1:$port/0"
side=$(cargo bench -p kvdb --bench kvdb_py_side --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*kvdb_py_side[^"]*\)".*/\1/p' | tail -1)
lines=""
for placement in cross same; do
  cpu=1; [ "$placement" = same ] && cpu=0
  for r in $(seq "$reps"); do
    lines+=$(taskset -c "$cpu" "$side" "$url" "$pairs" 1 4 16 64 256 | sed "s/^{/{\"placement\": \"$placement\", /")$'\n'
    if [ -n "$py" ]; then
      for mode in "sync $py_pairs" "async 1 $py_pairs" "async 4 $py_pairs" "async 16 $py_pairs" \
          "async 64 $py_pairs" "async 256 $py_pairs"; do
        lines+=$(PYTHONPATH=kvdb/tests/fixtures/kvdb-py taskset -c "$cpu" "$py" \
          kvdb/benches/kvdb_py/pairs.py "$url" $mode | sed "s/^{/{\"placement\": \"$placement\", /")$'\n'
      done
    fi
  done
done
printf '%s' "$lines" | "$side" chart "$out/concurrency.svg"
end_state=$(machine)
echo "== end: $end_state"
{
  echo
  echo "### kvdb vs kvdb-py (run-all.sh)"
  echo
  echo "Start: $start_state. End: $end_state."
  echo
  printf '%s' "$lines" | python3 kvdb/benches/kvdb_py/table.py
  echo
  echo "### Cluster batches (benches/cluster.rs)"
  echo
  echo "$cluster"
} >> "$out/results.md"
echo "wrote $out/results.md"
