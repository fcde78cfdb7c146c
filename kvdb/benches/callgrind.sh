#!/bin/sh
# Instructions per operation of each client of benches/compare, counted by callgrind:
# reproducible where wall and CPU times are not (a shared 2-core machine).
#
#   sh kvdb/benches/callgrind.sh            # from the workspace root; needs valgrind
#
# Runs the harness in --quick mode under callgrind for the sync workloads, then prints, per
# client function (pair_raw = (a), pair_layer / pair_model_layer = (b), pair_kvdb /
# pair_model_kvdb = (c)), the instructions per SET+GET pair, including redis-rs and the
# kernel-call wrappers but not the kernel.
set -eu
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo bench -p kvdb --bench compare --no-run >/dev/null 2>&1
bin=$(cargo bench -p kvdb --bench compare --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*compare[^"]*\)".*/\1/p' | tail -1)
out=$(mktemp -d)
# 200 pairs per round, 5 rounds and one warm-up round: 1200 calls of each pair function.
pairs=1200
for workload in "set+get JSON, none" "set_model+get_model JSON, none" "set+get JSON, zstd" \
    "set+get JSON, gzip" "set+get JSON, zlib"; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" --quick --no-memory \
        --only "$workload" --out "$out" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null \
        | awk -v w="$workload" -v n="$pairs" '/compare::sync::pair_/ {
            gsub(",", "", $1); f = $0; sub(/.*compare::sync::/, "", f); sub(/ .*/, "", f);
            printf "%-32s %-18s %8.0f instructions per pair\n", w, f, $1 / n }'
done
rm -rf "$out"
