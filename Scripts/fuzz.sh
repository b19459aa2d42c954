#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (release, -sanitize=fuzzer,address) and runs each for
# a bounded time, seeded from Fuzz/Corpus/<target>/. Prints inputs executed per target and
# any crash; exits 1 if a target crashed (or did not run). Docs/fuzzing.md says more.
#
#   bash Scripts/fuzz.sh                 every target, 60 s each
#   bash Scripts/fuzz.sh 20              every target, 20 s each (what CI runs)
#   bash Scripts/fuzz.sh 600 frame rules some targets, 600 s each
#
# New inputs that reach new code are kept in Fuzz/.build/fuzz-corpus/<target>/ (reused by
# the next run); a crashing input is written to Fuzz/.build/fuzz-crashes/<target>/ and its
# log to Fuzz/.build/fuzz-logs/<target>.log. Reproduce with
#   SWIFT_BACKTRACE=enable=no Fuzz/.build/release/FuzzFrame CRASH-FILE
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../Fuzz"

seconds=${1:-60}
shift || true
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz: seconds per target must be a positive number, not '$seconds'" >&2; exit 2; }

# target name -> executable product, and the longest input libFuzzer may make.
declare -A product=(
    [frame]=FuzzFrame [http-response]=FuzzHTTPResponse [keepalived]=FuzzKeepalived
    [rules]=FuzzRules [lvsadm]=FuzzLvsadm [control-message]=FuzzControlMessage
    [vrrp]=FuzzVRRP [tunnel]=FuzzTunnel
)
declare -A max_len=(
    [frame]=16384 [http-response]=4096 [keepalived]=8192 [rules]=8192 [lvsadm]=1024 [control-message]=8192
    [vrrp]=1024 [tunnel]=4096
)
all=(frame http-response keepalived rules lvsadm control-message vrrp tunnel)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ -n ${product[$t]:-} ]] || { echo "fuzz: no target '$t'; targets: ${all[*]}" >&2; exit 2; }
done

# The spelling MACHINE-NOTES.md found to work: both flags, or coverage is silently lost or
# SwiftPM's own main runs instead of libFuzzer's.
build=(swift build -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
start=$SECONDS
for t in "${targets[@]}"; do
    echo "fuzz: building ${product[$t]}"
    "${build[@]}" --product "${product[$t]}" 2>&1 | grep -v "Cannot export local symbol '__asan_extra_spill_area'" \
        | grep -E "error|warning: unre|Compiling|complete" || true
    [[ -x .build/release/${product[$t]} ]] || { echo "fuzz: building ${product[$t]} failed" >&2; exit 1; }
done
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"

mkdir -p .build/fuzz-logs
failed=()
summary=()
for t in "${targets[@]}"; do
    corpus=.build/fuzz-corpus/$t
    crashes=.build/fuzz-crashes/$t
    log=.build/fuzz-logs/$t.log
    mkdir -p "$corpus" "$crashes"
    echo "fuzz: running $t for $seconds s"
    set +e
    # Backtraces off: Swift's backtracer hangs libFuzzer after the first crash. The hard
    # timeout covers a hang in the target itself (libFuzzer's -timeout reports slow inputs).
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
        timeout -k 10 $((seconds + 120)) ".build/release/${product[$t]}" \
        -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "Corpus/$t" >"$log" 2>&1
    status=$?
    set -e
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    if [[ -z $runs ]]; then
        # A crash ends the run before the final stats: take the last status line.
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
    fi
    artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //' || true)
    if [[ $status -eq 0 ]]; then
        result="ok"
    else
        result="CRASH (exit $status) ${artifact:-no input saved}; log: Fuzz/$log"
        failed+=("$t")
        grep -m 3 -E "^==[0-9]+==ERROR|Fatal error|SUMMARY|deadly signal|timeout after" "$log" | sed "s/^/fuzz: $t: /" || true
    fi
    summary+=("$(printf '%-16s %10s inputs %7s/s  corpus %5s  %s' "$t" "${runs:-?}" "${rate:-?}" \
        "$(find "$corpus" -type f | wc -l)" "$result")")
done

echo "fuzz: results ($seconds s per target)"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: no crashes"
