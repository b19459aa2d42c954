#!/usr/bin/env bash
# Fanout program cost: what the kernel pays per frame for lvsd's PACKET_FANOUT_CBPF steering
# program (Sources/PacketIO/FanoutProgram*.swift), with and without the FTP client-address
# rules, measured through a live `lvsd run --workers 2` in network namespaces.
#
#   Benchmarks/fanout.sh [--rounds N] [--frames N] [--flows N] [--lvsd PATH] [--no-build]
#
#   --rounds N   rounds; each runs every configuration once, interleaved (default 3)
#   --frames N   frames per flood (default 1000000; the stopped measurement sends N/4)
#   --flows N    distinct UDP flows (clients) in the traffic (default 4096)
#   --lvsd PATH  use this lvsd instead of building the repository's (implies --no-build)
#
# Configurations (one chain of namespaces, lvsd restarted for each):
#   w1     lvsd --workers 1: no fanout group, no program (the baseline)
#   plain  lvsd --workers 2, a NAT UDP service VIP:5000: the program without FTP rules
#   ftp    the same plus a NAT FTP service VIP:21 on the same VIP and real server: every
#          frame to the VIP takes the client-address rule (Docs/ftp.md), the longer program
#
#   lvst-<pid>-bchgen (g0) ──veth── (f0) lvst-<pid>-bchfwd (f1) ──veth── (s0) lvst-<pid>-bchsink
#
# Per configuration and round:
#   - flood: the generator (Drain/drain-gen.c, a TPACKET_V3 TX ring, 64-byte UDP frames
#     over --flows clients, unpaced) sends --frames frames through lvsd; the sink counts with
#     veth's rx_packets. Reported: frames delivered, delivered kpps over the generator's run,
#     and the whole box's CPU time (/proc/stat, all CPUs) per delivered frame.
#   - stopped: lvsd is SIGSTOPped and the generator sends --frames/4 frames into it. veth
#     runs the receiver's side (netif_rx, the fanout demux with the program, tpacket_rcv,
#     which drops once the ring is full) in the sender's softirq, so the generator's own CPU
#     time per frame (GNU time, user + system) is the kernel's receive path with the program
#     and without lvsd's share: the difference between the configurations is the program's
#     cost (the classic program is translated to eBPF and JITed when bpf_jit_enable is 1).
# lvsd's log line "steering program of N instructions" gives each program's length.
#
# Needs root, Scripts/install-deps.sh's packages and a C compiler. Addresses 198.18.0.0/15
# only; namespaces lvst-<pid>-bch*, removed on exit, also on failure or Ctrl-C. Every step is
# bounded by `timeout`; the whole run takes ~2 minutes after the build. Not part of CI.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=3
frames=1000000
flows=4096
build=true
lvsd=$repo/.build/release/lvsd
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --frames) frames=$2; shift 2 ;;
        --flows) flows=$2; shift 2 ;;
        --lvsd) lvsd=$(realpath "$2"); build=false; shift 2 ;;
        --no-build) build=false; shift ;;
        *) echo "usage: $0 [--rounds N] [--frames N] [--flows N] [--lvsd PATH] [--no-build]" >&2; exit 2 ;;
    esac
done
for n in "$rounds" "$frames" "$flows"; do
    [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || { echo "fanout.sh: counts must be positive numbers" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "fanout.sh: needs root (network namespaces)" >&2; exit 2; }

cc=${CC:-}
if [[ -z $cc ]]; then
    for c in cc gcc clang "$(dirname "$(command -v swift)")/clang"; do
        command -v "$c" >/dev/null 2>&1 && { cc=$c; break; }
    done
fi
[[ -n $cc ]] || { echo "fanout.sh: no C compiler (set CC)" >&2; exit 2; }

if $build; then
    echo "== build lvsd (release)"
    (cd "$repo" && timeout 1800 swift build -c release --product lvsd 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]') || true
fi
[[ -x $lvsd ]] || { echo "fanout.sh: $lvsd missing" >&2; exit 1; }

prefix=lvst-$$-bch
work=$(mktemp -d)
pid=""
cleanup() {
    local status=$?
    set +e
    if [[ -n $pid ]]; then
        kill -CONT "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    fi
    for ns in gen fwd sink; do ip netns delete "$prefix$ns" 2>/dev/null; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'echo "fanout.sh: interrupted" >&2; exit 130' INT TERM HUP

"$cc" -O2 -Wall -Wextra -Werror -o "$work/drain-gen" "$repo/Benchmarks/Drain/drain-gen.c"

# ---- topology (as drain.sh's chains)
G0_MAC=02:00:00:00:00:01 F0_MAC=02:00:00:00:00:02 F1_MAC=02:00:00:00:01:02 S0_MAC=02:00:00:00:01:01
VIP=198.18.0.10 VPORT=5000 RIP=198.18.2.1 RPORT=5000 CLIENTS=198.19.0.0
gen=${prefix}gen fwd=${prefix}fwd sink=${prefix}sink
for ns in "$gen" "$fwd" "$sink"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add g0 address $G0_MAC netns "$gen" type veth peer name f0 address $F0_MAC netns "$fwd"
ip link add f1 address $F1_MAC netns "$fwd" type veth peer name s0 address $S0_MAC netns "$sink"
ip -n "$gen" link set g0 up; ip -n "$fwd" link set f0 up; ip -n "$fwd" link set f1 up; ip -n "$sink" link set s0 up
ip -n "$gen" address add 198.18.0.1/24 dev g0
ip -n "$fwd" address add 198.18.0.2/24 dev f0
ip -n "$fwd" address add 198.18.2.254/24 dev f1
ip -n "$sink" address add $RIP/24 dev s0
# Every namespace drops what it receives at netdev ingress (AF_PACKET taps run before it).
for spec in "$gen g0" "$fwd f0" "$fwd f1" "$sink s0"; do
    set -- $spec
    printf 'table netdev bch_drop {\n  chain in_%s { type filter hook ingress device "%s" priority 0; policy drop; }\n}\n' "$2" "$2" \
        | ip netns exec "$1" nft -f -
done

rules() {
    cat <<EOF
interface f0 mac 00:00:00:00:00:00 address 198.18.0.2
interface f1 mac 00:00:00:00:00:00 address 198.18.2.254
neighbour $RIP mac $S0_MAC interface f1
--set 0 0 900
-A -u $VIP:$VPORT -s rr
-a -u $VIP:$VPORT -r $RIP:$RPORT -m -w 1
EOF
    if [[ $1 == ftp ]]; then
        printf '%s\n' "-A -t $VIP:21 -s rr" "-a -t $VIP:21 -r $RIP:21 -m -w 1"
    fi
}

sink_count() { ip netns exec "$sink" cat /sys/class/net/s0/statistics/rx_packets; }
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
settle() {
    local before after
    after=$(sink_count)
    for _ in $(seq 100); do
        before=$after; sleep 0.2; after=$(sink_count)
        [[ $before == "$after" ]] && break
    done
    echo "$after"
}
gen() {  # gen COUNT RATE: prints "seconds user system" of the generator
    ip netns exec "$gen" timeout 120 /usr/bin/time -f 'TIME %U %S' "$work/drain-gen" --if g0 --dst-mac $F0_MAC \
        --service $VIP:$VPORT --server $RIP:$RPORT --clients $CLIENTS --flows "$flows" --count "$1" --stride 1 \
        --rate "$2" >"$work/gen.out" 2>"$work/gen.err" || { cat "$work/gen.out" "$work/gen.err" >&2; return 1; }
    local seconds cpu
    seconds=$(grep -oE 'in [0-9.]+ s' "$work/gen.out" | grep -oE '[0-9.]+')
    cpu=$(grep '^TIME' "$work/gen.err" | cut -d' ' -f2-)
    echo "$seconds $cpu"
}

hz=$(getconf CLK_TCK)
results=$work/results
: >"$results"
echo "== bpf_jit_enable=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo ?), $(nproc) CPUs, $rounds rounds, $frames frames, $flows flows"
for round in $(seq "$rounds"); do
    for config in w1 plain ftp; do
        workers=2; [[ $config == w1 ]] && workers=1
        rules "$config" >"$work/rules"
        log=$work/lvsd-$config.log
        ip netns exec "$fwd" "$lvsd" run --config "$work/rules" --interface f0 --interface f1 --workers "$workers" \
            --ring v3 --connections 200000 --duration 100 --stats-interval 0 --socket none >"$log" 2>&1 &
        pid=$!
        for _ in $(seq 200); do grep -q "lvsd: running on" "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        grep -q "lvsd: running on" "$log" || { echo "fanout.sh: lvsd ($config) did not start:" >&2; cat "$log" >&2; exit 1; }
        program=$(grep -oE 'steering program of [0-9]+ instructions' "$log" | head -n 1 | grep -oE '[0-9]+' || echo 0)
        # Every flow once, paced, so the flood below only hits existing connections.
        gen "$flows" 50000 >/dev/null
        settle >/dev/null

        before=$(sink_count); ticks=$(busy_ticks)
        read -r seconds user system < <(gen "$frames" 0)
        after=$(settle); ticks=$(( $(busy_ticks) - ticks ))
        delivered=$((after - before))
        [[ $delivered -gt 0 ]] || { echo "fanout.sh: lvsd ($config) forwarded nothing" >&2; cat "$log" >&2; exit 1; }

        kill -STOP "$pid"
        for _ in $(seq 200); do [[ $(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1) == T ]] && break; sleep 0.01; done
        stopped=$((frames / 4))
        read -r _ suser ssystem < <(gen "$stopped" 0)
        kill -CONT "$pid"

        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
        awk -v c="$config" -v r="$round" -v p="$program" -v d="$delivered" -v f="$frames" -v s="$seconds" \
            -v t="$ticks" -v hz="$hz" -v n="$stopped" -v su="$suser" -v ss="$ssystem" 'BEGIN {
            printf "%s %d %d %d %d %.1f %.0f %.0f\n", c, r, p, d, f, d / s / 1000, t / hz * 1e9 / d, (su + ss) * 1e9 / n
        }' | tee -a "$results" | awk '{ printf "  round %d %-6s program %3d insns: %8d of %d delivered, %6.1f kpps, box CPU %5d ns/frame; lvsd stopped: generator %5d ns/frame\n", $2, $1, $3, $4, $5, $6, $7, $8 }'
    done
done

echo "== medians over $rounds rounds"
for config in w1 plain ftp; do
    awk -v c="$config" '$1 == c' "$results" | sort -k6,6n | awk '{ k[NR] = $6 } END { printf "%s %s ", $1, k[int((NR + 1) / 2)] }'
    awk -v c="$config" '$1 == c' "$results" | sort -k7,7n | awk '{ k[NR] = $7 } END { printf "%s ", k[int((NR + 1) / 2)] }'
    awk -v c="$config" '$1 == c' "$results" | sort -k8,8n | awk '{ k[NR] = $8; p = $3 } END { printf "%s %s\n", k[int((NR + 1) / 2)], p }'
done | awk 'BEGIN { printf "  %-6s %6s %12s %20s %22s\n", "config", "insns", "kpps", "box CPU ns/frame", "stopped: gen ns/frame" }
            { printf "  %-6s %6s %12s %20s %22s\n", $1, $5, $2, $3, $4 }'
