#!/usr/bin/env bash
# TUN throughput by encapsulation (issue 16, not run in CI): IPIP, GRE (with and without its
# checksum) and GUE (no checksum, UDP checksum, remote checksum offload) side by side in one
# run, with iperf3 through lvsd and `lvsd realserver` decapsulating in user space, plus the
# same iperf3 straight to the real server as the ceiling.
#
#   sudo Benchmarks/tunnels.sh [--lvsd PATH] [--seconds N] [--streams N]
#
#   --lvsd PATH   lvsd binary (default: the debug build, `swift build --show-bin-path`; give
#                 the release one, `swift build -c release`, for numbers worth comparing)
#   --seconds N   length of each iperf3 run (default 5)
#   --streams N   iperf3 parallel streams (default 1)
#
# Topology (as Tests/EndToEndTests/TunnelTypesE2ETests.swift): client c0 198.18.0.2, director
# d0 198.18.0.1 and the real server's e0 198.18.0.3 on one bridge, VIP 198.18.0.100; the
# tunnels run over a second veth, director d1 198.18.1.1 — real server e1 198.18.1.2, and the
# real server answers the client directly on the bridge. The client sends (iperf3's default
# direction), so the measured bytes are the ones that go through the tunnel; the kernel's
# default offloads everywhere. The figure is iperf3's receiver-side bits/s.
#
# Addresses: 198.18.0.0/15 only; namespaces lvst-<pid>-tunb-*; nothing in the root namespace.
# Everything started here is killed by PID and every namespace deleted on exit (trap).
# Bounded: each iperf3 run lasts --seconds (with a timeout), ~7 runs.
set -euo pipefail

LVSD=""
SECONDS_RUN=5
STREAMS=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --lvsd) LVSD="$2"; shift 2 ;;
        --seconds) SECONDS_RUN="$2"; shift 2 ;;
        --streams) STREAMS="$2"; shift 2 ;;
        *) echo "usage: $0 [--lvsd PATH] [--seconds N] [--streams N]" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "tunnels.sh: needs root (network namespaces)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "tunnels.sh: needs iperf3 (Scripts/install-deps.sh)" >&2; exit 1; }
HERE="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "$LVSD" ]]; then LVSD="$(cd "$HERE" && swift build --show-bin-path)/lvsd"; fi
[[ -x "$LVSD" ]] || { echo "tunnels.sh: no lvsd at $LVSD (swift build first)" >&2; exit 1; }

P="lvst-$$-tunb-"
DIR="/tmp/lvst-$$-tunb"
VIP=198.18.0.100
PIDS=()
mkdir -p "$DIR"

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    for n in sw c d r; do ip netns delete "$P$n" 2>/dev/null; done
    rm -rf "$DIR"
}
trap cleanup EXIT

nx() { local n="$1"; shift; ip netns exec "$P$n" "$@"; }
wait_for() { # seconds, file, text
    local deadline=$((SECONDS + $1))
    until grep -q "$3" "$2" 2>/dev/null; do
        (( SECONDS < deadline )) || { echo "tunnels.sh: timed out waiting for '$3' in $2" >&2; cat "$2" >&2; exit 1; }
        sleep 0.1
    done
}

# --- topology ---------------------------------------------------------------------------
for n in sw c d r; do ip netns add "$P$n"; ip -n "$P$n" link set lo up; done
ip -n "${P}sw" link add br0 type bridge
ip -n "${P}sw" link set br0 up
for spec in c:c0:198.18.0.2 d:d0:198.18.0.1 r:e0:198.18.0.3; do
    IFS=: read -r n name addr <<<"$spec"
    ip -n "${P}sw" link add "p$n" type veth peer name "$name" netns "$P$n"
    ip -n "${P}sw" link set "p$n" master br0 up
    ip -n "$P$n" address add "$addr/24" dev "$name"
    ip -n "$P$n" link set "$name" up
done
ip -n "${P}d" link add d1 type veth peer name e1 netns "${P}r"
ip -n "${P}d" address add 198.18.1.1/24 dev d1
ip -n "${P}r" address add 198.18.1.2/24 dev e1
ip -n "${P}d" link set d1 up
ip -n "${P}r" link set e1 up

nx r "$LVSD" realserver --vip $VIP --mode tun --director 198.18.1.1 --gue-port 6080 >"$DIR/realserver.log" 2>&1 &
PIDS+=($!)
wait_for 15 "$DIR/realserver.log" decapsulating
nx r iperf3 -s -p 5201 >"$DIR/iperf3-server.log" 2>&1 &
PIDS+=($!)
sleep 0.5

# receiver bits/s of one iperf3 run against ADDRESS, in Gbit/s
measure() {
    local out
    out=$(nx c timeout $((SECONDS_RUN + 15)) iperf3 -c "$1" -p 5201 -t "$SECONDS_RUN" -P "$STREAMS" -J 2>/dev/null) || { echo "failed"; return; }
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$out" \
        || echo "failed"
}

echo "tunnels.sh: lvsd $LVSD, ${SECONDS_RUN} s per run, $STREAMS stream(s), client -> VIP (through the tunnel)"
printf '%-34s %10s\n' "path" "Gbit/s"
printf '%-34s %10s\n' "direct to the real server (no lvsd)" "$(measure 198.18.0.3)"

for options in "--tun-type ipip" "--tun-type gre --tun-nocsum" "--tun-type gre --tun-csum" \
               "--tun-type gue --tun-port 6080 --tun-nocsum" "--tun-type gue --tun-port 6080 --tun-csum" \
               "--tun-type gue --tun-port 6080 --tun-remcsum"; do
    cat >"$DIR/rules" <<EOF
interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
-A -t $VIP:5201 -s rr
-a -t $VIP:5201 -r 198.18.1.2 -i $options
EOF
    : >"$DIR/lvsd.log"
    nx d "$LVSD" --config "$DIR/rules" --interface d0 --interface d1 --connections 65536 \
        --socket "$DIR/lvsd.sock" >>"$DIR/lvsd.log" 2>&1 &
    pid=$!
    PIDS+=($pid)
    wait_for 15 "$DIR/lvsd.log" "neighbour 198.18.1.2"
    printf '%-34s %10s\n' "${options#--tun-type }" "$(measure $VIP)"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
done
