#!/usr/bin/env bash
# Drain benchmark: lvsd (DR and NAT, 1,000,000-entry connection table) against a minimal C
# TPACKET_V3 ring forwarder (Drain/reference-forwarder.c), in one run.
#
#   Benchmarks/drain.sh [--runs N] [--frames N] [--flows N] [--only LIST] [--perf] [--no-build]
#
#   --runs N     drains per forwarder and direction (default 3; the table shows the median)
#   --frames N   frames the generator sends per drain (default 500000; the RX ring keeps
#                what fits, ~116,000 64-byte frames at most)
#   --flows N    connections lvsd holds during its drains (default 1000000); DR is also
#                drained with frames of only 1,000 of them ("1k hot": no cache misses)
#   --only LIST  comma-separated subset of ref,dr,nat (ratios need ref)
#   --perf       sample each forwarder during its drains (perf record) and print its top symbols
#   --lvsd PATH  use this lvsd binary instead of building the repository's (implies --no-build)
#   --compare PATH  also drain a second lvsd DR (this binary, table filled the same way) in
#                the same rounds, as "lvsd dr B": an A/B test of a data-path change
#   --scrape     run "lvsd dr B" (the same lvsd unless --compare) with --metrics-listen
#                127.0.0.1:9100 and fetch its /metrics every second throughout: what a
#                Prometheus scrape costs the data path (Docs/observability.md)
#   --scrape-every S  fetch every S seconds instead (e.g. 0.05: a drain lasts 50-200 ms, so
#                at 1 s most drains see no scrape; this puts several inside each)
#
# Identical chains of network namespaces, one per forwarder, so all of them stay up and
# their drains can be interleaved (round 1: ref, lvsd DR, lvsd NAT, ...; round 2: ...),
# which puts each forwarder under the same background load as the others:
#
#   <X>gen (g0) ──veth── (f0) <X>fwd (f1) ──veth── (s0) <X>sink
#
#   X = r: the reference forwarder, f0 -> f1 and (a second one) f1 -> f0
#       k: the reference forwarder kicking its TX ring every 32 frames, as lvsd does
#       d: lvsd DR      n: lvsd NAT      e: lvsd DR from --compare
#
# A drain: SIGSTOP the forwarder, fill its RX ring from gen (64-byte UDP frames), SIGCONT
# it and time how fast sink's rx_packets rises (Drain/drain-timer.c). The generator never
# runs while the forwarder drains, so the forwarder has a core to itself (a live generator
# would share the 2 vCPUs). CPU time per packet is the forwarder's process CPU clock over the
# drain / packets; the kernel's veth and sink work runs inside its send() calls and is
# counted in it.
#
# lvsd gets --connections 1000000 and, before its drains, --flows distinct UDP flows (paced,
# repeated until its stats line counts them all), so every drained frame hits one of 1M live
# connections; consecutive frames are 7919 flows apart, all over the table. NAT is also
# drained in the reply direction (the real server's frames to the clients of those flows).
#
# Needs root, Scripts/install-deps.sh's packages, and a C compiler (cc, or the Swift
# toolchain's clang). Namespaces are lvsb-<pid>-*,
# addresses 198.18.0.0/15 only; everything is removed on exit, also on failure or Ctrl-C.
# The measurement is bounded (it runs under `timeout 300`); the release build before it has
# its own limit. Exits non-zero when setup fails or a drain forwards nothing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=3
frames=500000
flows=1000000
build=true
only=ref,dr,nat
perf=false
lvsd=$repo/.build/release/lvsd
compare=""
scrape=false
scrape_every=1
usage() {
    echo "usage: $0 [--runs N] [--frames N] [--flows N] [--only ref,dr,nat] [--perf] [--no-build] [--lvsd PATH] [--compare PATH] [--scrape] [--scrape-every S]" >&2
    exit 2
}
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --frames) frames=$2; shift 2 ;;
        --flows) flows=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --perf) perf=true; shift ;;
        --no-build) build=false; shift ;;
        --lvsd) lvsd=$(realpath "$2"); build=false; shift 2 ;;
        --compare) compare=$(realpath "$2"); shift 2 ;;
        --scrape) scrape=true; shift ;;
        --scrape-every) scrape=true; scrape_every=$2; shift 2 ;;
        *) usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $frames =~ ^[1-9][0-9]*$ && $flows =~ ^[1-9][0-9]*$ ]] || usage
[[ $flows -le 1000000 ]] || { echo "drain.sh: --flows is at most 1000000 (lvsd's --connections)" >&2; exit 2; }
wants() { [[ ,$only, == *,$1,* ]]; }
[[ $(id -u) -eq 0 ]] || { echo "drain.sh: run as root (network namespaces, AF_PACKET)" >&2; exit 1; }
for tool in ip nft ethtool timeout; do
    command -v "$tool" >/dev/null || { echo "drain.sh: $tool not found; run Scripts/install-deps.sh" >&2; exit 1; }
done
# A C compiler: $CC, cc, or the clang that comes with the Swift toolchain.
cc=${CC:-$(command -v cc || command -v clang || command -v gcc || true)}
[[ -n $cc ]] || { echo "drain.sh: no C compiler (cc, clang or gcc; the Swift toolchain's clang will do)" >&2; exit 1; }
if $perf; then command -v perf >/dev/null || { echo "drain.sh: --perf needs perf (linux-perf)" >&2; exit 1; }; fi

say() { echo "== $*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- build (bounded by its own timeout), then the measurement again under timeout 300
if [[ -z ${DRAIN_BOUNDED:-} ]]; then
    if $build; then
        say "build lvsd (release)"
        (cd "$repo" && timeout 1200 swift build -c release --product lvsd 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]') || true
    fi
    [[ -x $lvsd ]] || { echo "drain.sh: $lvsd missing; the release build failed" >&2; exit 1; }
    [[ -z $compare || -x $compare ]] || { echo "drain.sh: --compare $compare is not an executable" >&2; exit 1; }
    extra=(--lvsd "$lvsd")
    $perf && extra+=(--perf)
    [[ -n $compare ]] && extra+=(--compare "$compare")
    $scrape && extra+=(--scrape-every "$scrape_every")
    # timeout's SIGTERM reaches the trap below, which removes everything.
    DRAIN_BOUNDED=1 exec timeout --kill-after=20 300 "$0" --no-build --runs "$runs" --frames "$frames" \
        --flows "$flows" --only "$only" "${extra[@]}"
fi

$scrape && [[ -z $compare ]] && compare=$lvsd
prefix="lvsb-$$-"
work=$(mktemp -d "${TMPDIR:-/tmp}/lvsb-$$-XXXX")
started=()      # PIDs of the forwarders this script started

cleanup() {
    local status=$?
    set +e
    for pid in "${started[@]}"; do
        # A stopped process acts on SIGTERM only once continued.
        kill -TERM "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null
    done
    for pid in "${started[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    [[ -n ${scraper_pid:-} ]] && kill -TERM "$scraper_pid" 2>/dev/null
    for ns in $(ip netns list | cut -d' ' -f1 | grep "^$prefix"); do ip netns delete "$ns"; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'echo "drain.sh: interrupted" >&2; exit 130' INT TERM HUP

for program in reference-forwarder drain-gen drain-timer; do
    "$cc" -O2 -Wall -Wextra -Werror -o "$work/$program" "$repo/Benchmarks/Drain/$program.c"
done

# ---- topology
G0_MAC=02:00:00:00:00:01 F0_MAC=02:00:00:00:00:02 F1_MAC=02:00:00:00:01:02 S0_MAC=02:00:00:00:01:01
VIP=198.18.0.10 VPORT=5000 RIP=198.18.2.1 RPORT=5000 CLIENTS=198.19.0.0

# chain X: namespaces ${prefix}Xgen, Xfwd, Xsink, wired as in the header.
chain() {
    local gen=${prefix}$1gen fwd=${prefix}$1fwd sink=${prefix}$1sink ns spec dev rules
    for ns in "$gen" "$fwd" "$sink"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # No IPv6 chatter (router solicitations, MLD) in the rings.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    ip link add g0 address $G0_MAC netns "$gen" type veth peer name f0 address $F0_MAC netns "$fwd"
    ip link add f1 address $F1_MAC netns "$fwd" type veth peer name s0 address $S0_MAC netns "$sink"
    for spec in "$gen g0" "$fwd f0" "$fwd f1" "$sink s0"; do
        set -- $spec
        ip -n "$1" link set "$2" up
    done
    ip -n "$gen" address add 198.18.0.1/24 dev g0
    ip -n "$fwd" address add 198.18.0.2/24 dev f0
    ip -n "$fwd" address add 198.18.2.254/24 dev f1
    ip -n "$sink" address add $RIP/24 dev s0
    # Every namespace drops all it receives at netdev ingress: the sinks count with
    # rx_packets (veth counts before ingress), and the forwarder's kernel stack never sees
    # a frame (AF_PACKET taps run before the ingress hook, so the forwarders get them all).
    for spec in "$gen g0" "$sink s0" "$fwd f0 f1"; do
        set -- $spec
        ns=$1; shift
        rules="table netdev drain {"$'\n'
        for dev in "$@"; do rules+="  chain in_$dev { type filter hook ingress device \"$dev\" priority 0; policy drop; }"$'\n'; done
        printf '%s}\n' "$rules" | ip netns exec "$ns" nft -f -
    done
}

counter() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# Stops PID and waits until the kernel reports it stopped.
stop_process() {
    kill -STOP "$1"
    for _ in $(seq 200); do
        [[ $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) == T ]] && return 0
        sleep 0.01
    done
    echo "drain.sh: process $1 did not stop" >&2
    return 1
}

# Waits (up to 20 s) until a counter stops rising; prints its value.
settle() {
    local before after
    after=$(counter "$1" "$2")
    for _ in $(seq 100); do
        before=$after; sleep 0.2; after=$(counter "$1" "$2")
        [[ $before == "$after" ]] && break
    done
    echo "$after"
}

results=$work/results
: >"$results"

# drain LABEL PID GEN_NS GEN_IF DST_MAC DIRECTION SINK_NS SINK_IF RUN [FLOWS]
drain() {
    local label=$1 pid=$2 gen_ns=$3 gen_if=$4 dst_mac=$5 direction=$6 sink_ns=$7 sink_if=$8 run=$9
    local drain_flows=${10:-$flows} line
    stop_process "$pid"
    # Every frame belongs to one of the first $drain_flows flows (all of which lvsd holds);
    # consecutive frames are 7919 flows apart (a prime, coprime with 10^6 and 10^3), so they
    # land all over the table.
    timeout 60 ip netns exec "$gen_ns" "$work/drain-gen" --if "$gen_if" --dst-mac "$dst_mac" \
        --service $VIP:$VPORT --server $RIP:$RPORT --clients $CLIENTS --direction "$direction" \
        --flows "$drain_flows" --count "$frames" --first $((run * 104729)) --stride 7919 >"$work/gen.log"
    line=$(timeout 60 ip netns exec "$sink_ns" "$work/drain-timer" --pid "$pid" \
        --counter "/sys/class/net/$sink_if/statistics/rx_packets" --quiet-ms 200 --timeout 20) || {
        echo "drain.sh: $label run $run: no frame reached the sink ($line)" >&2
        return 1
    }
    printf '  %-18s run %d: %s (load %s)\n' "$label" "$run" "$line" "$(load)"
    echo "$label $line" >>"$results"
}

# start_forwarder NS LOG READY_TEXT ARGV...: starts ARGV in NS, waits for READY_TEXT in LOG;
# sets $pid.
start_forwarder() {
    local ns=$1 log=$2 ready=$3; shift 3
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    pid=$!    # ip netns exec execs the program: this is the forwarder's own PID
    started+=("$pid")
    for _ in $(seq 200); do
        grep -q "$ready" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "drain.sh: forwarder not ready:" >&2; cat "$log" >&2
    return 1
}

# stop_forwarder PID: SIGTERM and wait; its exit report stays in its log.
stop_forwarder() {
    kill -TERM "$1"; kill -CONT "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1" 2>/dev/null || true
}

# --perf: sample forwarders only while they drain (they are idle or stopped otherwise).
declare -A perf_pids=()
perf_start() {
    $perf || return 0
    perf record -q -F 4999 -o "$work/perf-$1.data" -p "$2" >/dev/null 2>&1 &
    perf_pids[$1]=$!
}
perf_stop() {
    $perf || return 0
    kill -INT "${perf_pids[$1]}"; wait "${perf_pids[$1]}" || true
    perf report -i "$work/perf-$1.data" --no-children --stdio --sort dso,symbol 2>/dev/null \
        | grep -Ev '^(#|$)' | head -30 | cut -c1-150 | sed "s/^/  perf $1: /" || true  # head ends the pipe early
}

# lvsd_rules METHOD: a UDP service with one real server behind f1.
lvsd_rules() {
    cat <<EOF
interface f0 mac 00:00:00:00:00:00 address 198.18.0.2
interface f1 mac 00:00:00:00:00:00 address 198.18.2.254
neighbour $RIP mac $S0_MAC interface f1
# UDP timeout 900 s: no connection expires during the run.
--set 0 0 900
-A -u $VIP:$VPORT -s rr
-a -u $VIP:$VPORT -r $RIP:$RPORT $1 -w 1
EOF
}

# rewrite_check_start NS IF MATCH: from now on, count the UDP frames arriving on IF and
# those of them that also match MATCH (nft expressions: how the forwarder must have
# rewritten them), in rules placed before the chain's drop policy.
rewrite_check_start() {
    ip netns exec "$1" nft add rule netdev drain "in_$2" ip protocol udp counter
    ip netns exec "$1" nft add rule netdev drain "in_$2" $3 counter
}
# rewrite_check_end NS IF WHAT: removes the rules; fails unless every UDP frame matched.
rewrite_check_end() {
    local counts udp valid
    counts=$(ip netns exec "$1" nft list chain netdev drain "in_$2" | grep -o 'packets [0-9]*' | cut -d' ' -f2)
    ip netns exec "$1" nft flush chain netdev drain "in_$2"
    udp=$(echo "$counts" | sed -n 1p) valid=$(echo "$counts" | sed -n 2p)
    if [[ -z $udp || $udp -eq 0 || $valid != "$udp" ]]; then
        echo "drain.sh: $3: ${valid:-0} of ${udp:-0} UDP frames were rewritten as expected" >&2
        return 1
    fi
    echo "  $3: all $udp UDP frames rewritten as expected"
}

# fill_table X NAME MATCH: sends each of the $flows flows through chain X's lvsd, in order
# and paced. Frames lost to a full RX ring (lvsd shares the 2 vCPUs with the generator and
# whatever else runs) leave flows out, so repeat (up to 3 passes; known flows just hit)
# until lvsd's once-a-second stats line counts them all. Every frame reaching the sink must
# match MATCH (the rewrite the forwarding method makes).
fill_table() {
    local x=$1 name=$2 match=$3 before after live=0 pass rate
    rewrite_check_start "${prefix}${x}sink" s0 "$match"
    for pass in 1 2 3; do
        rate=$((250000 - pass * 50000))  # slower each pass: 200, 150, 100 kpps
        before=$(counter "${prefix}${x}sink" s0)
        timeout 60 ip netns exec "${prefix}${x}gen" "$work/drain-gen" --if g0 --dst-mac $F0_MAC \
            --service $VIP:$VPORT --clients $CLIENTS --flows "$flows" --count "$flows" --stride 1 \
            --rate "$rate" >"$work/gen.log"
        after=$(settle "${prefix}${x}sink" s0)
        sleep 1.2  # a fresh stats line
        live=$(grep -o 'stats: .*connections [0-9]*' "$work/$name.log" | tail -1 | grep -o '[0-9]*$' || echo 0)
        echo "  $name fill pass $pass: $(sed 's/^drain-gen: //' "$work/gen.log"); $((after - before)) forwarded; lvsd holds ${live:-0} connections"
        [[ ${live:-0} -ge $flows ]] && break
    done
    if [[ $((after - before)) -eq 0 ]]; then
        echo "drain.sh: lvsd $name forwarded nothing while filling its table" >&2; cat "$work/$name.log" >&2; return 1
    fi
    rewrite_check_end "${prefix}${x}sink" s0 "$name fill"
    [[ ${live:-0} -ge $flows ]] || echo "  warning: only ${live:-0} of $flows flows have a connection; drained frames of the others make new ones"
}

say "topology: chains $only under $prefix* (load average $(load))"
wants ref && chain r && chain k
wants dr && chain d
[[ -n $compare ]] && chain e
wants nat && chain n

# --ring v3: the fill holds 500,000 frames, which only the dense V3 ring can (Docs/adr/0003).
lvsd_args=(--interface f0 --interface f1 --ring v3 --connections 1000000 --duration 280 --stats-interval 1)
if wants ref; then
    start_forwarder "${prefix}rfwd" "$work/ref.log" "ready" "$work/reference-forwarder" --in f0 --out f1 --dst-mac $S0_MAC --duration 280
    ref_pid=$pid
    start_forwarder "${prefix}rfwd" "$work/ref-reverse.log" "ready" "$work/reference-forwarder" --in f1 --out f0 --dst-mac $G0_MAC --duration 280
    refrev_pid=$pid
    # The same forwarder kicking its TX ring after every 32 frames, as lvsd kicks once per
    # 32-frame batch: what the kick frequency alone costs (chain k).
    start_forwarder "${prefix}kfwd" "$work/ref-kick32.log" "ready" "$work/reference-forwarder" --in f0 --out f1 --dst-mac $S0_MAC --duration 280 --kick-every 32
    refk_pid=$pid
fi
lvsd_rules -g >"$work/dr.rules"
if wants dr; then
    start_forwarder "${prefix}dfwd" "$work/dr.log" "lvsd: running on" "$lvsd" run --config "$work/dr.rules" "${lvsd_args[@]}"
    dr_pid=$pid
    say "lvsd DR: filling its table with $flows connections"
    fill_table d dr "ether saddr $F1_MAC ether daddr $S0_MAC ip daddr $VIP udp dport $VPORT"
fi
if [[ -n $compare ]]; then
    b_args=("${lvsd_args[@]}")
    $scrape && b_args+=(--metrics-listen 127.0.0.1:9100)
    start_forwarder "${prefix}efwd" "$work/dr-b.log" "lvsd: running on" "$compare" run --config "$work/dr.rules" "${b_args[@]}"
    drb_pid=$pid
    if $scrape; then
        say "lvsd DR B: /metrics fetched every $scrape_every s (the scrape under test)"
        (while sleep "$scrape_every"; do ip netns exec "${prefix}efwd" curl -s -m 2 -o /dev/null http://127.0.0.1:9100/metrics; done) &
        scraper_pid=$!
    fi
    say "lvsd DR B ($compare): filling its table with $flows connections"
    fill_table e dr-b "ether saddr $F1_MAC ether daddr $S0_MAC ip daddr $VIP udp dport $VPORT"
fi
if wants nat; then
    lvsd_rules -m >"$work/nat.rules"
    start_forwarder "${prefix}nfwd" "$work/nat.log" "lvsd: running on" "$lvsd" run --config "$work/nat.rules" "${lvsd_args[@]}"
    nat_pid=$pid
    say "lvsd NAT: filling its table with $flows connections"
    fill_table n nat "ether saddr $F1_MAC ether daddr $S0_MAC ip daddr $RIP udp dport $RPORT"
    # Replies on 10,000 of those connections must come out to the client from VIP:VPORT.
    rewrite_check_start "${prefix}ngen" g0 "ether saddr $F0_MAC ether daddr $G0_MAC ip saddr $VIP udp sport $VPORT"
    timeout 60 ip netns exec "${prefix}nsink" "$work/drain-gen" --if s0 --dst-mac $F1_MAC --direction from-server \
        --service $VIP:$VPORT --server $RIP:$RPORT --clients $CLIENTS --flows 10000 --count 10000 --rate 100000 >/dev/null
    settle "${prefix}ngen" g0 >/dev/null
    rewrite_check_end "${prefix}ngen" g0 "nat replies"
fi

say "drains: $runs rounds, $frames frames sent per drain (load average $(load))"
wants ref && { perf_start ref "$ref_pid"; perf_start ref-reverse "$refrev_pid"; perf_start ref-kick32 "$refk_pid"; }
wants dr && perf_start dr "$dr_pid"
[[ -n $compare ]] && perf_start dr-b "$drb_pid"
wants nat && perf_start nat "$nat_pid"
$perf && sleep 1
for run in $(seq "$runs"); do
    if wants ref; then
        drain "reference" "$ref_pid" "${prefix}rgen" g0 $F0_MAC to-service "${prefix}rsink" s0 "$run"
        # From the sink side into f1, out of f0: the direction of lvsd NAT's replies.
        drain "reference reverse" "$refrev_pid" "${prefix}rsink" s0 $F1_MAC to-service "${prefix}rgen" g0 "$run"
        drain "reference kick/32" "$refk_pid" "${prefix}kgen" g0 $F0_MAC to-service "${prefix}ksink" s0 "$run"
    fi
    if wants dr; then
        drain "lvsd dr" "$dr_pid" "${prefix}dgen" g0 $F0_MAC to-service "${prefix}dsink" s0 "$run"
        # The same table, but only 1,000 of its connections: the cost without cache misses.
        if [[ $flows -gt 1000 ]]; then
            drain "lvsd dr 1k hot" "$dr_pid" "${prefix}dgen" g0 $F0_MAC to-service "${prefix}dsink" s0 "$run" 1000
        fi
    fi
    if [[ -n $compare ]]; then
        drain "lvsd dr B" "$drb_pid" "${prefix}egen" g0 $F0_MAC to-service "${prefix}esink" s0 "$run"
        if [[ $flows -gt 1000 ]]; then
            drain "lvsd dr B 1k hot" "$drb_pid" "${prefix}egen" g0 $F0_MAC to-service "${prefix}esink" s0 "$run" 1000
        fi
    fi
    if wants nat; then
        drain "lvsd nat" "$nat_pid" "${prefix}ngen" g0 $F0_MAC to-service "${prefix}nsink" s0 "$run"
        # The real server's replies on the same connections: RIP:RPORT -> client into f1,
        # rewritten to VIP:VPORT and sent to the client's MAC out of f0.
        drain "lvsd nat reply" "$nat_pid" "${prefix}nsink" s0 $F1_MAC from-server "${prefix}ngen" g0 "$run"
    fi
done
# A configuration swap with the table full: each lvsd's rules file gets its real server's
# weight changed (1 <-> 2, as `lvsadm -e ... -w` does) and lvsd is sent SIGHUP; the time from
# the signal to lvsd's "reload: done" is the time to effect (read from its log every 2 ms, so
# it is rounded up by that much), and an lvsd that logs its swap also says how long its
# worker stood still. 5 swaps per lvsd, forwarding idle (the generators are stopped).
swap_times() {
    local name=$1 pid=$2 rules=$3 weight before t0 now i
    for i in 1 2 3 4 5; do
        weight=$(( i % 2 + 1 ))
        sed -i -E "s/ -w [0-9]+$/ -w $weight/" "$rules"
        before=$(grep -c "lvsd: reload: done" "$work/$name.log" || true)
        t0=$(date +%s%N)
        kill -HUP "$pid"
        while (( $(grep -c "lvsd: reload: done" "$work/$name.log" || true) <= before )); do
            now=$(date +%s%N)
            (( now - t0 > 10000000000 )) && { echo "drain.sh: lvsd $name did not reload" >&2; return 1; }
            sleep 0.002
        done
        now=$(date +%s%N)
        echo "  swap $name $i: $(( (now - t0) / 1000 )) µs to effect$(grep -o 'in force after .*' "$work/$name.log" | tail -1 | sed 's/^/; lvsd: /')"
    done
}
say "configuration swaps with the table full (weight 1 <-> 2, SIGHUP)"
wants dr && swap_times dr "$dr_pid" "$work/dr.rules"
[[ -n $compare ]] && swap_times dr-b "$drb_pid" "$work/dr.rules"
wants nat && swap_times nat "$nat_pid" "$work/nat.rules"

wants ref && { perf_stop ref; perf_stop ref-reverse; perf_stop ref-kick32; }
wants dr && perf_stop dr
[[ -n $compare ]] && perf_stop dr-b
wants nat && perf_stop nat

say "forwarders' own counters"
for pid in "${started[@]}"; do stop_forwarder "$pid"; done
for name in ref ref-reverse ref-kick32 dr dr-b nat; do
    [[ -f $work/$name.log ]] || continue
    # lvsd: only what it printed at exit (the stats lines before repeat the same counters).
    sed -n '/reference-forwarder: forwarded/p; /lvsd: stopping/,$p' "$work/$name.log" \
        | grep -E 'reference-forwarder: forwarded|lvsd: (totals|  (passed|dropped|engine))' | sed "s/^/  $name: /"
    if [[ $name == dr* || $name == nat ]] && ! grep -q "lvsd: totals" "$work/$name.log"; then
        echo "drain.sh: lvsd $name printed no totals:" >&2; cat "$work/$name.log" >&2; exit 1
    fi
done

# ---- summary
say "summary: median of $runs drains (load average $(load); $(nproc) CPUs)"
awk '
    {
        label = $1; for (i = 2; i <= NF && $i != "packets"; i++) label = label " " $i
        for (; i < NF; i += 2) v[$i] = $(i + 1)
        r = ++n[label]; K[label, r] = v["kpps"]; C[label, r] = v["cpu_ns_per_packet"]; P[label, r] = v["packets"]
        if (!(label in seen)) { seen[label] = 1; order[++m] = label }
    }
    function median(x, count,    i, j, t) {
        for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
        return x[int((count + 1) / 2)]
    }
    function med(a, label,    i, x) { for (i = 1; i <= n[label]; i++) x[i] = a[label, i] + 0; return median(x, n[label]) }
    END {
        printf "%-18s %7s %8s %11s %12s %12s %14s\n", "forwarder", "frames", "kpps", "CPU ns/pkt", "kpps @1 CPU", "kpps vs ref", "@1 CPU vs ref"
        for (k = 1; k <= m; k++) {
            l = order[k]
            ref = (l == "lvsd nat reply" || l == "reference reverse") ? "reference reverse" : "reference"
            line = sprintf("%-18s %7d %8.1f %11.1f %12.1f", l, med(P, l), med(K, l), med(C, l), 1e6 / med(C, l))
            if ((ref in n) && n[ref] == n[l]) {
                # Ratios of the drains of the same round (run back to back, under the same load).
                for (i = 1; i <= n[l]; i++) { rk[i] = K[l, i] / K[ref, i]; rc[i] = C[ref, i] / C[l, i] }
                line = line sprintf(" %11.3fx %13.3fx", median(rk, n[l]), median(rc, n[l]))
            } else line = line sprintf(" %12s %14s", "-", "-")
            print line
        }
    }' "$results"
echo "kpps: frames / seconds from SIGCONT to the last frame at the sink (wall clock: includes time"
echo "other processes held the forwarder's CPU). kpps @1 CPU = 1e6 / CPU ns per packet: the rate"
echo "with a core to itself. Ratios: median over rounds of lvsd / the reference drained just before"
echo "it (same round, same load). Target: lvsd >= 0.95x the reference."
