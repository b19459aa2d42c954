#!/usr/bin/env bash
# A bounded spoofed SYN flood at a NAT virtual service while a client does HTTP requests and a
# 100 MiB download through lvsd, once with the SYN proxy (keepalived.conf `syn_proxy`) and once
# without (Docs/adr/0007). Not part of CI: it takes a minute or two and loads both cores.
#
#   sudo bash Scripts/synflood.sh [SYNS]        # default 1000000 SYNs per run, as fast as trafgen goes
#   sudo GAP=10us bash Scripts/synflood.sh       # one SYN every 10 µs (100k SYN/s), trafgen -t
#
# Topology (namespaces lvst-PID-sp*, removed on exit, also on failure):
#   client c0 198.18.0.2 ── d0 198.18.0.1 [lvsd] d1 198.18.1.1 ── r1 198.18.1.2:8080
#                                                d2 198.18.2.1 ── r2 198.18.2.2:8080
# The VIP is 198.18.0.100:80. trafgen (netsniff-ng) in the client namespace sends SYNs to the VIP
# from random sources in 198.19.0.0/16 and random ports; the client meanwhile runs curl requests
# (2 s timeout each) and one download with its sha256 checked. Printed per run: the share of
# requests answered, the download's result, lvsd's peak memory (VmHWM) and its counters.
# lvsd is the one `swift build` made (debug unless you pass -c release to your build and set
# LVSD=path); the figures in Docs/adr/0007 say which.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SYNS=${1:-1000000}
GAP=${GAP:-}
LVSD=${LVSD:-$(swift build --show-bin-path)/lvsd}
[[ $(id -u) -eq 0 ]] || { echo "synflood: needs root (network namespaces)" >&2; exit 1; }
command -v trafgen >/dev/null || { echo "synflood: trafgen missing (apt-get install netsniff-ng)" >&2; exit 1; }
[[ -x $LVSD ]] || { echo "synflood: no lvsd at $LVSD: run swift build first" >&2; exit 1; }

TAG="lvst-$$-sp"
C=${TAG}c D=${TAG}d R1=${TAG}r1 R2=${TAG}r2
WORK=$(mktemp -d /tmp/lvst-sp-flood.XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for ns in $C $D $R1 $R2; do ip netns delete "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

for ns in $C $D $R1 $R2; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$D" link add d0 type veth peer name c0 netns "$C"
ip -n "$D" address add 198.18.0.1/24 dev d0
ip -n "$C" address add 198.18.0.2/24 dev c0
ip -n "$D" link set d0 up
ip -n "$C" link set c0 up
i=1
for rs in $R1 $R2; do
    ip -n "$D" link add d$i type veth peer name e0 netns "$rs"
    ip -n "$D" address add 198.18.$i.1/24 dev d$i
    ip -n "$rs" address add 198.18.$i.2/24 dev e0
    ip -n "$D" link set d$i up
    ip -n "$rs" link set e0 up
    ip -n "$rs" route add default via 198.18.$i.1
    mkdir -p "$WORK/www$i"
    echo "real-server-$i" > "$WORK/www$i/who"
    i=$((i + 1))
done
dd if=/dev/urandom of="$WORK/blob" bs=1M count=100 status=none
DIGEST=$(sha256sum "$WORK/blob" | cut -d' ' -f1)
for i in 1 2; do
    ln "$WORK/blob" "$WORK/www$i/blob"
    rs=$([[ $i -eq 1 ]] && echo "$R1" || echo "$R2")
    (cd "$WORK/www$i" && exec ip netns exec "$rs" python3 -m http.server 8080 >/dev/null 2>&1) &
    PIDS+=($!)
done
for i in 1 2; do
    for _ in $(seq 100); do
        ip netns exec "$D" curl -s -m 1 "http://198.18.$i.2:8080/who" >/dev/null && break
        sleep 0.1
    done
done

D0MAC=$(ip -n "$D" -br link show d0 | awk '{print $3}')
C0MAC=$(ip -n "$C" -br link show c0 | awk '{print $3}')
hexmac() { echo "$1" | sed 's/^/0x/; s/:/, 0x/g'; }
cat > "$WORK/syn.trafgen" <<CONF
{
  $(hexmac "$D0MAC"), $(hexmac "$C0MAC"), 0x08, 0x00,
  0x45, 0x00, const16(40), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  198, 19, drnd(2), 198, 18, 0, 100,
  drnd(2), const16(80), drnd(4), const32(0), 0x50, 0x02, const16(65535), csumtcp(14, 34), const16(0)
}
CONF

run() {
    local proxy=$1
    cat > "$WORK/keepalived.conf" <<CONF
lvsd_director {
    interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
    interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
    interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
}
virtual_server 198.18.0.100 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    syn_proxy $proxy
    real_server 198.18.1.2 8080 {
    }
    real_server 198.18.2.2 8080 {
    }
}
CONF
    ip netns exec "$D" "$LVSD" --config "$WORK/keepalived.conf" --interface d0 --interface d1 --interface d2 \
        --duration 300 > "$WORK/lvsd-$proxy.log" 2>&1 &
    local lvsd=$!
    PIDS+=($lvsd)
    for _ in $(seq 100); do grep -q "neighbour 198.18.2.2" "$WORK/lvsd-$proxy.log" 2>/dev/null && break; sleep 0.1; done

    timeout -s INT 120 ip netns exec "$C" trafgen -o c0 -c "$WORK/syn.trafgen" -n "$SYNS" -P 1 -q ${GAP:+-t "$GAP"} \
        > "$WORK/trafgen.log" 2>&1 &
    local flood=$!
    (ip netns exec "$C" curl -s -m 120 http://198.18.0.100/blob | sha256sum | cut -d' ' -f1 > "$WORK/download") &
    local download=$!
    local ok=0 total=0
    while kill -0 "$flood" 2>/dev/null; do
        total=$((total + 1))
        ip netns exec "$C" curl -s -o /dev/null -m 2 http://198.18.0.100/who && ok=$((ok + 1))
    done
    wait "$flood" || true
    wait "$download" || true
    local hwm
    hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$lvsd/status" 2>/dev/null || echo "?")
    kill -TERM "$lvsd"; wait "$lvsd" || true
    echo "== syn_proxy $proxy: $SYNS spoofed SYNs${GAP:+, one every $GAP}"
    echo "requests answered during the flood: $ok of $total ($(awk -v a=$ok -v t=$total 'BEGIN { if (t) printf "%.1f", 100 * a / t; else print "-" }') %)"
    echo "download: $([[ $(cat "$WORK/download") == "$DIGEST" ]] && echo "sha256 ok" || echo "FAILED")"
    echo "lvsd peak memory (VmHWM): $hwm"
    grep -E "lvsd: totals|lvsd:   (dropped|passed|syn-proxy|engine rx-ring-drops|engine too-large)" "$WORK/lvsd-$proxy.log" || true
}

run on
run off
