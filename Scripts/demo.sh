#!/usr/bin/env bash
# The demo: replays each shipped sample capture (Samples/<mode>.pcap, a small client/server
# session) through the director configured by Samples/<mode>.rules, printing every frame's
# header fields before and after the rewrite, the verdict and the connection decision.
# The rewritten frames land in a temporary directory as pcaps to open in Wireshark.
#
# Works on a fresh Debian 12 machine as root: system packages come from install-deps.sh.
# Usage: bash Scripts/demo.sh [mode...]   (modes: nat dr fullnat tun; default all four)
# SWIFTLVS_SCRATCH_PATH, if set, is passed to swift build as --scratch-path.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash Scripts/install-deps.sh

build=(swift build ${SWIFTLVS_SCRATCH_PATH:+--scratch-path "$SWIFTLVS_SCRATCH_PATH"})
echo "demo: ${build[*]} --product lvsd"
"${build[@]}" --product lvsd
lvsd="$("${build[@]}" --show-bin-path)/lvsd"

modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(nat dr fullnat tun)

out=$(mktemp -d "${TMPDIR:-/tmp}/swiftlvs-demo.XXXXXX")

declare -A titles=(
    [nat]="NAT (ipvsadm -m): destination rewritten on the way in, source on the way out"
    [dr]="DR (ipvsadm -g): only the MAC addresses change (and the TTL, as at any router hop)"
    [fullnat]="FullNAT (ipvsadm -b): both ends rewritten, real servers answer the local address"
    [tun]="TUN (ipvsadm -i): an outer IPv4 header carries the datagram to the real server"
)

for mode in "${modes[@]}"; do
    [[ -f Samples/$mode.rules && -f Samples/$mode.pcap ]] \
        || { echo "demo: no sample '$mode' (expected Samples/$mode.rules and Samples/$mode.pcap)" >&2; exit 1; }
    echo
    echo "================================================================================"
    echo "== ${titles[$mode]:-$mode}"
    echo "== lvsd replay --config Samples/$mode.rules Samples/$mode.pcap -o $out/$mode-out.pcap --trace"
    echo "================================================================================"
    "$lvsd" replay --config "Samples/$mode.rules" "Samples/$mode.pcap" -o "$out/$mode-out.pcap" --trace
done

echo
echo "demo: the director's output is in $out:"
for mode in "${modes[@]}"; do
    echo "  $out/$mode-out.pcap   (input: Samples/$mode.pcap)"
done
echo "demo: open them in Wireshark next to the inputs, e.g. 'wireshark $out/nat-out.pcap', or 'tshark -r $out/nat-out.pcap'."
