#!/usr/bin/env bash
# Runs the director benchmarks (Benchmarks/, a separate SwiftPM package) in release and
# prints the results, then the connection table's memory footprint.
#
#   Scripts/bench.sh              # everything (~6-8 min on 2 vCPUs including the first build)
#   Scripts/bench.sh 'hit DR.*'   # only benchmarks whose name matches the regex
#
# Every step has a time limit, so the script always ends by itself.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"

filter=()
if [[ $# -gt 0 ]]; then filter=(--filter "$1"); fi

echo "== build (release)"
timeout 1200 swift build -c release 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true

echo "== table footprint (capacity 1,000,000)"
timeout 120 .build/release/TableFootprint 1000000

echo "== benchmarks (1,000 packets per iteration; CPU ns/packet is per packet, wall clock per 1,000)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The progress bars are drawn with escape sequences; keep only the result tables.
timeout 1800 swift package --disable-sandbox benchmark --scale --grouping benchmark --no-progress "${filter[@]}" >"$out" 2>&1 || {
    status=$?
    cat "$out"
    echo "benchmark run failed or timed out (exit $status)" >&2
    exit "$status"
}
sed -n '/^DirectorBenchmarks/,$p' "$out" | grep -v 'ETA:'

echo
echo "== summary (p50)"
awk '
    /^(batch hit|hit|new|overhead|stream)/ { name = $0 }
    /CPU ns\/packet/      { split($0, f, "│"); gsub(/ /, "", f[5]); cpu[name] = f[5] }
    /Time \(wall clock\)/ { split($0, f, "│"); unit = f[2]; gsub(/.*\(|\).*/, "", unit); gsub(/ /, "", f[5]); wall[name] = f[5] " " unit "/1000 pkts" }
    /mallocs\/1000/       { split($0, f, "│"); gsub(/ /, "", f[5]); gsub(/ /, "", f[7]); m[name] = f[5] " (p90 " f[7] ")"; order[++n] = name }
    END {
        printf "%-42s %14s %22s %18s\n", "benchmark", "CPU ns/packet", "wall clock", "mallocs/1000 pkts"
        for (i = 1; i <= n; i++) { k = order[i]; printf "%-42s %14s %22s %18s\n", k, cpu[k], wall[k], m[k] }
    }' "$out"
