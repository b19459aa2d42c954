#!/usr/bin/env bash
# The SwiftLVS lab in one command: installs the system packages (Debian 12, as root), builds
# lvsd, and runs `lvsd lab` with your arguments: a client, a director running lvsd and three
# real servers in network namespaces, HTTP requests load-balanced through the director.
#
#   bash Scripts/lab.sh                       # NAT, round robin, 30 requests
#   bash Scripts/lab.sh --mode dr --requests 60
#   bash Scripts/lab.sh --mode tun --keep     # leave it up; prints the teardown command
#   bash Scripts/lab.sh --help
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash Scripts/install-deps.sh

echo "lab: swift build --product lvsd"
swift build --product lvsd
lvsd="$(swift build --show-bin-path)/lvsd"

if [[ $(id -u) -ne 0 ]]; then
    exec sudo "$lvsd" lab "$@"
fi
exec "$lvsd" lab "$@"
