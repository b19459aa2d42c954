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
swift test --skip-build "$@"

echo "test: all tests passed."
