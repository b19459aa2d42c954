#!/usr/bin/env bash
# The unit suites under AddressSanitizer, then under ThreadSanitizer (the workers, mailboxes,
# health thread and control plane share memory), each in a build directory of its own so the
# ordinary build is untouched. Needs what Scripts/test.sh installs; root only for the few
# HealthTests that build namespaces (they skip otherwise). End-to-end suites are not run
# here: they start the built lvsd, not the sanitized test binary. A few HealthTests bound
# how late a check may start; the sanitizers' slowdown can push them over on a busy machine.
#
#   bash Scripts/sanitize.sh [address|thread ...]     (default: both)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suites='WireTests|CoreTests|ControlTests|PacketIOTests|EngineTests|TraceTests|HealthTests|VRRPTests'
kinds=("$@")
[[ ${#kinds[@]} -gt 0 ]] || kinds=(address thread)

# XCTest and Foundation keep some allocations to the end of the process (MACHINE-NOTES), and
# globals initialised once (swift_once) live as long as it: neither is a leak.
suppressions=$(mktemp "${TMPDIR:-/tmp}/lsan.XXXXXX")
trap 'rm -f "$suppressions"' EXIT
printf 'leak:libXCTest.so\nleak:XCTest\nleak:swift_weakAssign\nleak:libFoundation\nleak:once_slow\n' >"$suppressions"

status=0
for kind in "${kinds[@]}"; do
    case $kind in address|thread) ;; *) echo "sanitize.sh: unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;; esac
    echo "sanitize: swift build --build-tests --sanitize=$kind"
    swift build --build-tests --sanitize="$kind" --scratch-path ".build-$kind"
    echo "sanitize: swift test --sanitize=$kind ($suites)"
    if ! LSAN_OPTIONS="suppressions=$suppressions" TSAN_OPTIONS="halt_on_error=1" \
        swift test --skip-build --sanitize="$kind" --scratch-path ".build-$kind" --filter "$suites"; then
        echo "sanitize: FAILED under $kind"
        status=1
    fi
done
exit $status
