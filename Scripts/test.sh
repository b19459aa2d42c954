#!/usr/bin/env bash
# The test command: installs system dependencies (Debian 12, as root), builds everything
# including tests, and runs the whole suite. Extra arguments go to `swift test`
# (for example: bash Scripts/test.sh --filter PcapFile).
#
# Network-namespace tests are serialized inside their own suites, so `swift test` keeps its
# default parallelism.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash Scripts/install-deps.sh

echo "test: swift build --build-tests"
swift build --build-tests

echo "test: swift test"
log=$(mktemp "${TMPDIR:-/tmp}/swiftlvs-test.XXXXXX")
# Namespace tests delete what they make in a defer; a test process killed outright cannot,
# so the namespaces named with the tests' prefix (lvst-) are removed here too, pass or fail.
cleanup() {
    rm -f "$log"
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^lvst-/ {print $1}'); do
        ip netns delete "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
set +e
swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Swift Testing's summary names the count; XCTest's "Executed 0 tests" line (it runs none
# of ours) would otherwise be the last word a reader sees.
count=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
if [[ $status -ne 0 ]]; then
    echo "test: FAILED (swift test exited $status)"
    exit "$status"
fi

# Fuzzing (Docs/fuzzing.md): every libFuzzer target in Fuzz/ for a short time, seeded from
# Fuzz/Corpus/; a crash fails the run. Only for the whole suite (not with --filter and the
# like). Cost on 2 cores: building Fuzz/ in release with ASan 3-5 min from clean, then
# 8 targets × FUZZ_SECONDS (15 s). The hard timeout bounds a hung build or target.
if [[ $# -eq 0 ]]; then
    fuzz_seconds=${FUZZ_SECONDS:-15}
    echo "test: fuzz (Scripts/fuzz.sh $fuzz_seconds)"
    if ! timeout -k 30 1200 bash Scripts/fuzz.sh "$fuzz_seconds"; then
        echo "test: FAILED (fuzzing: see the crash above; Docs/fuzzing.md says how to turn it into a test)"
        exit 1
    fi
fi
echo "${count:-0} passed, 0 failed"
