#!/usr/bin/env bash
# System benchmark: lvsd against the kernel and user-space proxies, end to end, in network
# namespaces on this machine. See Docs/benchmarks.md for what it measures and how to read it.
#
# One topology for every contender, so their runs can be interleaved (round-robin, per round):
#
#            brc (client LAN 198.18.0.0/24, a bridge in the -sw namespace)
#   client ──┤
#            ├── eth0 director eth1 ──┐
#            │                        brs (server LAN 198.18.1.0/24, bridge in -sw)
#            ├── eth1 rs1 eth0 ───────┤
#            └── eth1 rs2 eth0 ───────┘
#
# The real servers' second link (eth1, on the client LAN) is their return path for DR and TUN
# (they answer the client directly, not through the director's kernel) and the path of the
# "direct" contender. NAT and kernel DNAT need the replies to go back through the director, so
# for them that link is down and the real servers' default route (via the director's eth1) is
# the only way back. Proxies and FullNAT answer the director's own server-side addresses.
#
# Addresses: 198.18.0.0/15 only; nothing is added in the root namespace. Offloads, rings and
# sysctls keep the kernel's defaults, except what a contender needs in its own namespace:
# ip_forward=1 in the director for kernel DNAT, and the DR/TUN real-server settings
# `lvsd realserver` makes (VIP on lo, arp_ignore/arp_announce; TUN: rp_filter=0).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
self=$(realpath "$0")

usage() {
    cat <<'EOF'
usage: Benchmarks/system.sh [options]          (as root)

End-to-end benchmark of lvsd (NAT, DR, FullNAT, TUN; AF_PACKET with 1 and 2 workers and
libpcap) against kernel nftables DNAT, HAProxy (mode tcp), nginx stream and a direct
client-to-server path, in network namespaces. Medians over interleaved rounds go to
Benchmarks/results/<timestamp>/ (results.md, results.json, results.png, raw samples, logs).

  --quick              smoke run: 1 round, 3 s wrk runs, 1-2 s bulk and UDP, no memory
                       phase (~3.6 min)
  --rounds N           rounds; each round runs every contender once (default 3)
  --duration S         seconds per wrk run (default 5)
  --bulk-duration S    seconds per iperf3 direction and bound of the 64 MiB download (default 3)
  --udp-duration S     seconds of 64-byte UDP flood (default 3)
  --contenders LIST    comma-separated names or shell patterns (default: all); see --list
  --skip LIST          leave these out (names or patterns)
  --measure LIST       comma-separated subset of lat,http1,http2,bulk,bigfile,udp,memory
                       (default: all; --quick: all but memory)
                         lat      wrk, 1 thread pinned, ONE connection: the director's added
                                  latency at low load (no queueing), Connection: close
                         http1    wrk, 1 thread pinned to one CPU, Connection: close
                         http2    wrk, 2 threads unpinned, Connection: close
                                  (both: conn/s, p50/p99 latency, box CPU µs per connection,
                                  with and without the background measured 1 s before)
                         bulk     iperf3, one stream, client->server and -R
                         bigfile  one HTTP download of a 64 MiB file (curl, bounded)
                         udp      64-byte UDP frames/s through the director, counted at the
                                  real servers (lvsd, kernel DNAT, direct)
                         memory   lvsd RSS with 1,000,000 connections; kernel conntrack
                                  memory per entry (lvsd NAT and kernel DNAT only)
  --drain              also run Benchmarks/drain.sh (lvsd vs a C ring forwarder, ~3 min)
  --connections N      wrk's concurrent connections (default 50)
  --servers N          real servers (default 2, at most 9)
  --lvsd PATH          the lvsd binary (default: .build/release/lvsd, built if missing)
  --build              build lvsd (release) first even if the binary exists
  --no-install         do not apt-get install missing packages
  --out DIR            results directory (default Benchmarks/results/<timestamp>)
  --max-minutes M      hard bound on the whole run (default 45; --quick 12)
  --list               print the contender names and exit
  -h, --help           this text

Everything the script starts is stopped, and its namespaces (lvss-<pid>-*) deleted, when it
ends, fails, or is interrupted.
EOF
}

# ---------------------------------------------------------------------------- settings

rounds=3
duration=5
bulk_duration=3
udp_duration=3
contender_patterns="*"
skip_patterns=""
measure=""
drain=false
wrk_connections=50
servers=2
lvsd=$repo/.build/release/lvsd
build=false
install=true
out=""
max_minutes=""
quick=false

all_contenders=(
    direct
    lvsd-nat lvsd-nat-w2 lvsd-nat-pcap
    lvsd-dr lvsd-dr-w2 lvsd-dr-pcap
    lvsd-fullnat lvsd-fullnat-w2 lvsd-fullnat-pcap
    lvsd-tun lvsd-tun-w2 lvsd-tun-pcap
    nft-dnat haproxy nginx-stream
)
all_measurements=(lat http1 http2 bulk bigfile udp memory)

die() { echo "system.sh: $*" >&2; exit 1; }
original_args=("$@")
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) quick=true; shift ;;
        --rounds) rounds=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --bulk-duration) bulk_duration=$2; shift 2 ;;
        --udp-duration) udp_duration=$2; shift 2 ;;
        --contenders) contender_patterns=$2; shift 2 ;;
        --skip) skip_patterns=$2; shift 2 ;;
        --measure) measure=$2; shift 2 ;;
        --drain) drain=true; shift ;;
        --connections) wrk_connections=$2; shift 2 ;;
        --servers) servers=$2; shift 2 ;;
        --lvsd) lvsd=$(realpath "$2"); shift 2 ;;
        --build) build=true; shift ;;
        --no-install) install=false; shift ;;
        --out) out=$2; shift 2 ;;
        --max-minutes) max_minutes=$2; shift 2 ;;
        --list) printf '%s\n' "${all_contenders[@]}"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
if $quick; then
    # --quick sets what the user did not set explicitly on the command line.
    [[ " ${original_args[*]} " == *" --rounds "* ]] || rounds=1
    [[ " ${original_args[*]} " == *" --duration "* ]] || duration=3
    [[ " ${original_args[*]} " == *" --bulk-duration "* ]] || bulk_duration=1
    [[ " ${original_args[*]} " == *" --udp-duration "* ]] || udp_duration=2
    [[ -n $measure ]] || measure=lat,http1,http2,bulk,bigfile,udp
    [[ -n $max_minutes ]] || max_minutes=12
fi
[[ -n $measure ]] || measure=$(IFS=,; echo "${all_measurements[*]}")
[[ -n $max_minutes ]] || max_minutes=45
for n in "$rounds" "$duration" "$bulk_duration" "$udp_duration" "$wrk_connections" "$servers" "$max_minutes"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "numeric options take positive integers (got '$n')"
done
[[ $servers -le 9 ]] || die "--servers is at most 9"
for m in ${measure//,/ }; do
    [[ " ${all_measurements[*]} " == *" $m "* ]] || die "unknown measurement '$m' (known: ${all_measurements[*]})"
done
wants() { [[ ,$measure, == *,$1,* ]]; }

# matches NAME LIST: whether NAME matches one of the comma-separated shell patterns.
matches() {
    local name=$1 pattern patterns
    # read -a, not an unquoted expansion: "*" must not glob against the current directory.
    IFS=, read -ra patterns <<<"$2"
    for pattern in "${patterns[@]}"; do
        # shellcheck disable=SC2053  # the pattern is meant to glob
        [[ $name == $pattern ]] && return 0
    done
    return 1
}
contenders=()
for c in "${all_contenders[@]}"; do
    matches "$c" "$contender_patterns" || continue
    [[ -n $skip_patterns ]] && matches "$c" "$skip_patterns" && continue
    contenders+=("$c")
done
[[ ${#contenders[@]} -gt 0 ]] || die "no contender matches --contenders '$contender_patterns' (see --list)"
[[ $(id -u) -eq 0 ]] || die "run as root (network namespaces, AF_PACKET, nftables)"

say() { echo "== $*"; }
note() { echo "   $*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------------------- packages

# Installs what the benchmark runs, as Scripts/install-deps.sh does: apt only when something
# is missing, and a temporary policy-rc.d so nginx and haproxy do not start as services.
install_packages() {
    local wanted=(iproute2 nftables ethtool curl python3 wrk iperf3 haproxy libnginx-mod-stream
                  netsniff-ng gnuplot-nox) missing=() p have_nginx=false flavour
    installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]; }
    for p in "${wanted[@]}"; do installed "$p" || missing+=("$p"); done
    for flavour in nginx-light nginx nginx-core nginx-full nginx-extras; do
        installed "$flavour" && { have_nginx=true; break; }
    done
    $have_nginx || missing+=(nginx-light)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    $install || { note "missing packages (${missing[*]}); --no-install given, contenders needing them are skipped"; return 0; }
    say "installing ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d created=false
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# Temporary, from SwiftLVS Benchmarks/system.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created=true
    fi
    local status=0
    {
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
    } </dev/null >/tmp/system-sh-apt.$$.log 2>&1 || status=$?
    $created && rm -f "$policy"
    if [[ $status -ne 0 ]]; then
        tail -20 /tmp/system-sh-apt.$$.log >&2
        note "apt-get failed (status $status); contenders needing missing packages are skipped"
    fi
    rm -f /tmp/system-sh-apt.$$.log
}

# ---------------------------------------------------------------------------- bound the run

# The whole measurement runs under timeout(1); its SIGTERM reaches the cleanup trap below.
if [[ -z ${SYSBENCH_BOUNDED:-} ]]; then
    install_packages
    for tool in ip nft wrk curl python3 taskset timeout; do
        command -v "$tool" >/dev/null || die "$tool not found (install it or drop --no-install)"
    done
    if $build || [[ ! -x $lvsd && $lvsd == "$repo/.build/release/lvsd" ]]; then
        say "building lvsd (release; nice, bounded to 30 min)"
        (cd "$repo" && nice -n 10 timeout 1800 swift build -c release --product lvsd 2>&1 \
            | grep -Ev '^\[[0-9]+/[0-9]+\]') || true
    fi
    export SYSBENCH_BOUNDED=1
    exec timeout --kill-after=30 "$((max_minutes * 60))" "$self" "${original_args[@]}" --no-install
fi

# ---------------------------------------------------------------------------- state, cleanup

prefix="lvss-$$-"
ns_client=${prefix}client ns_dir=${prefix}dir ns_sw=${prefix}sw
rs_ns() { echo "${prefix}rs$1"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lvss-$$-XXXX")
chmod 755 "$work"    # nginx workers run as nobody and read the pages from here
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=${out:-$repo/Benchmarks/results/$stamp}
mkdir -p "$results/logs"
results=$(realpath "$results")
started=()           # PIDs this script started (each is the program itself: ip netns exec execs)
namespaces=()

# kill_started PID...: SIGTERM, up to 5 s to exit, then SIGKILL. Only PIDs we started.
kill_started() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM HUP
    [[ ${#started[@]} -gt 0 ]] && kill_started "${started[@]}"
    local ns pids
    for ns in "${namespaces[@]}"; do
        # Whatever is still inside our own namespaces was started by us (nginx workers, a
        # helper's child): end it before deleting the namespace.
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [[ -n $pids ]] && kill_started $pids
        ip netns delete "$ns" 2>/dev/null
    done
    rm -rf "$work"
    [[ $status -ne 0 ]] && echo "system.sh: exiting with status $status; partial results in $results" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'echo "system.sh: interrupted" >&2; exit 130' INT HUP
trap 'echo "system.sh: terminated (time bound or signal)" >&2; exit 143' TERM

# ---------------------------------------------------------------------------- topology

VIP=198.18.0.10
CLIENT=198.18.0.2
DIR_C=198.18.0.1 DIR_S=198.18.1.1
SRC_HAPROXY=198.18.1.2 SRC_NGINX=198.18.1.3
FLOOD_CLIENTS=198.19.0.0      # UDP flood sources: flow i is 198.19.(i/256).(i%256)
mac() { printf '02:53:42:00:%02x:%02x' "$1" "$2"; }
MAC_CLIENT=$(mac 2 0) MAC_DIR0=$(mac 1 0) MAC_DIR1=$(mac 1 1)
rs_addr() { echo "198.18.1.1$1"; }         # on the server LAN (eth0)
rs_caddr() { echo "198.18.0.1$1"; }        # on the client LAN (eth1)
lip() { echo "198.18.1.$((100 + $1))"; }   # FullNAT local addresses

# veth NS NAME MAC BRIDGE: NAME in NS, its peer in the switch namespace on BRIDGE.
veth() {
    local ns=$1 name=$2 address=$3 bridge=$4 peer
    peer="$bridge-${ns#"$prefix"}"
    ip link add "$name" address "$address" netns "$ns" type veth peer name "$peer" netns "$ns_sw"
    ip -n "$ns_sw" link set "$peer" master "$bridge" up
    ip -n "$ns" link set "$name" up
}

build_topology() {
    local i ns
    namespaces=("$ns_client" "$ns_dir" "$ns_sw")
    for i in $(seq "$servers"); do namespaces+=("$(rs_ns "$i")"); done
    for ns in "${namespaces[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    for b in brc brs; do
        # No multicast snooping: lvsd answers neighbour solicitations without joining groups.
        ip -n "$ns_sw" link add "$b" type bridge mcast_snooping 0
        ip -n "$ns_sw" link set "$b" up
    done
    veth "$ns_client" eth0 "$MAC_CLIENT" brc
    veth "$ns_dir" eth0 "$MAC_DIR0" brc
    veth "$ns_dir" eth1 "$MAC_DIR1" brs
    ip -n "$ns_client" address add $CLIENT/24 dev eth0
    ip -n "$ns_dir" address add $DIR_C/24 dev eth0
    ip -n "$ns_dir" address add $DIR_S/24 dev eth1
    # One source address per proxy towards the servers: each proxy's upstream connections
    # then have their own 4-tuples, so one proxy never inherits the other's TIME_WAITs (at
    # the servers or in the director) from the run before it.
    ip -n "$ns_dir" address add $SRC_HAPROXY/24 dev eth1
    ip -n "$ns_dir" address add $SRC_NGINX/24 dev eth1
    # Kernel DNAT forwards the flood's 198.19/16 sources; the route is only for rp lookups.
    ip -n "$ns_dir" route add 198.19.0.0/16 via $CLIENT
    for i in $(seq "$servers"); do
        ns=$(rs_ns "$i")
        veth "$ns" eth0 "$(mac $((0x10 + i)) 0)" brs
        veth "$ns" eth1 "$(mac $((0x10 + i)) 1)" brc
        ip -n "$ns" address add "$(rs_addr "$i")/24" dev eth0
        ip -n "$ns" address add "$(rs_caddr "$i")/24" dev eth1
        ip -n "$ns" route add default via $DIR_S
    done
}

# return_path direct|director: DR, TUN, direct, proxies and FullNAT may use the real servers'
# client-LAN link; NAT and kernel DNAT must not (their replies have to cross the director).
return_path() {
    local i state=up
    [[ $1 == director ]] && state=down
    for i in $(seq "$servers"); do ip -n "$(rs_ns "$i")" link set eth1 "$state"; done
    # Links coming up need a moment before they pass traffic.
    [[ $state == up ]] && sleep 0.3
    return 0
}

# Real-server counters for the UDP flood: frames to port 9 (or IPIP carrying them, for TUN)
# are counted and dropped at netdev ingress, before the kernel's stack (AF_PACKET taps, such
# as the TUN helper's, still see them: they run before the ingress hook).
rs_counters() {
    local i ns
    for i in $(seq "$servers"); do
        ns=$(rs_ns "$i")
        ip netns exec "$ns" nft -f - <<'EOF'
table netdev sysbench {
  chain in0 {
    type filter hook ingress device "eth0" priority 0; policy accept;
    udp dport 9 counter drop
    ip protocol 4 @nh,232,8 17 @nh,336,16 9 counter drop
  }
  chain in1 {
    type filter hook ingress device "eth1" priority 0; policy accept;
    udp dport 9 counter drop
  }
}
EOF
    done
}
udp_count() {
    local i total=0 n
    for i in $(seq "$servers"); do
        for n in $(ip netns exec "$(rs_ns "$i")" nft list table netdev sysbench | grep -o 'packets [0-9]*' | cut -d' ' -f2); do
            total=$((total + n))
        done
    done
    echo "$total"
}

# wait_listen NS PROTO PORT PID WHAT: until something listens on PORT in NS (15 s).
wait_listen() {
    local ns=$1 proto=$2 port=$3 pid=$4 what=$5 flag=-Htln
    [[ $proto == udp ]] && flag=-Huln
    for _ in $(seq 150); do
        [[ -n $(ip netns exec "$ns" ss $flag "sport = :$port") ]] && return 0
        kill -0 "$pid" 2>/dev/null || { echo "$what exited before listening" >&2; return 1; }
        sleep 0.1
    done
    echo "$what did not listen on $proto/$port within 15 s" >&2
    return 1
}

# start NS LOG ARGV...: starts ARGV in NS in the background, records its PID in $pid.
start() {
    local ns=$1 log=$2; shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    pid=$!
    started+=("$pid")
}
# stop PID: ends a process started with start() and forgets it.
stop() {
    local p keep=()
    kill_started "$1"
    for p in "${started[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    started=("${keep[@]}")
}

start_real_servers() {
    local i ns dir
    head -c $((64 << 20)) /dev/urandom >"$work/big.bin"
    chmod 644 "$work/big.bin"
    for i in $(seq "$servers"); do
        ns=$(rs_ns "$i") dir=$work/rs$i
        mkdir -p "$dir/www"
        echo "rs$i" >"$dir/www/index.html"
        ln "$work/big.bin" "$dir/www/big.bin"
        chmod -R a+rX "$dir"
        cat >"$dir/nginx.conf" <<EOF
# One worker per real server: the box has 2 CPUs for everything.
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  server { listen 80 default_server; root $dir/www; }
}
EOF
        start "$ns" "$results/logs/rs$i-nginx.log" nginx -e "$dir/nginx-error.log" -p "$dir/" -c "$dir/nginx.conf"
        wait_listen "$ns" tcp 80 "$pid" "rs$i nginx"
        # DR/TUN real-server settings, once (VIP on lo, arp_ignore=1, arp_announce=2); they are
        # harmless for the other contenders, whose traffic never reaches the VIP on lo.
        # Without an lvsd binary only the non-lvsd contenders run, and they need none of this.
        if [[ -x $lvsd ]]; then
            ip netns exec "$ns" "$lvsd" realserver --vip $VIP --mode dr >"$results/logs/rs$i-realserver.log" 2>&1 \
                || { cat "$results/logs/rs$i-realserver.log" >&2; die "lvsd realserver failed in rs$i"; }
        fi
    done
    start "$(rs_ns 1)" "$results/logs/rs1-iperf3.log" iperf3 -s -p 5201
    wait_listen "$(rs_ns 1)" tcp 5201 "$pid" "iperf3 server"
}

# ---------------------------------------------------------------------------- contenders

# Per contender: the target the client talks to, and which return path it needs.
target_of() { if [[ $1 == direct ]]; then rs_caddr 1; else echo $VIP; fi; }
return_path_of() {
    case $1 in lvsd-nat*|nft-dnat) echo director ;; *) echo direct ;; esac
}
supports_udp() { case $1 in lvsd-*|nft-dnat|direct) return 0 ;; *) return 1 ;; esac; }

# lvsd_rules MODE LIP_INDEX: the rules file (ipvsadm -S syntax plus interface lines). Services:
# TCP 80 (nginx, rr over all real servers), TCP 5201 (iperf3 on rs1 only: its control and
# data connections must reach the same server) and UDP 9 (the flood, counted at the servers).
lvsd_rules() {
    local mode=$1 lipi=$2 flag i eth0_extra=""
    case $mode in nat) flag=-m ;; dr) flag=-g ;; fullnat) flag=-b ;; tun) flag=-i ;; esac
    # DR and TUN: the VIP is one of the director's client-side addresses.
    [[ $mode == dr || $mode == tun ]] && eth0_extra=" address $VIP"
    echo "# written by Benchmarks/system.sh: lvsd $mode"
    echo "interface eth0 mac 00:00:00:00:00:00 address $DIR_C$eth0_extra"
    echo "interface eth1 mac 00:00:00:00:00:00 address $DIR_S"
    echo "-A -t $VIP:80 -s rr"
    for i in $(seq "$servers"); do echo "-a -t $VIP:80 -r $(rs_addr "$i"):80 $flag -w 1"; done
    echo "-A -t $VIP:5201 -s rr"
    echo "-a -t $VIP:5201 -r $(rs_addr 1):5201 $flag -w 1"
    echo "-A -u $VIP:9 -s rr"
    for i in $(seq "$servers"); do echo "-a -u $VIP:9 -r $(rs_addr "$i"):9 $flag -w 1"; done
    if [[ $mode == fullnat ]]; then
        echo "--add-laddr -z $(lip "$lipi") -t $VIP:80"
        echo "--add-laddr -z $(lip "$lipi") -t $VIP:5201"
        echo "--add-laddr -z $(lip "$lipi") -u $VIP:9"
    fi
}

contender_pid=""
contender_extra_pids=()
contender_log=""

# start_lvsd NAME LOG [EXTRA lvsd ARGS]: starts lvsd for contender NAME (lvsd-MODE[-w2|-pcap]).
start_lvsd() {
    local name=$1 log=$2 mode variant lipi=0 args=(); shift 2
    mode=${name#lvsd-}; mode=${mode%%-*}
    variant=${name#lvsd-"$mode"}
    case $variant in
        -w2) args=(--workers 2); lipi=1 ;;
        -pcap) args=(--engine pcap); lipi=2 ;;
    esac
    lvsd_rules "$mode" "$lipi" >"$work/$name.rules"
    cp "$work/$name.rules" "$results/logs/$name.rules"
    if [[ $mode == tun ]]; then
        # The kernel has no ipip module: lvsd's helper decapsulates on each real server.
        local i
        for i in $(seq "$servers"); do
            start "$(rs_ns "$i")" "$work/rs$i-tun.log" "$lvsd" realserver --vip $VIP --mode tun --interface eth0
            contender_extra_pids+=("$pid")
            wait_for_line "$work/rs$i-tun.log" decapsulating "$pid" || { cat "$work/rs$i-tun.log" >&2; return 1; }
        done
    fi
    start "$ns_dir" "$log" "$lvsd" run --config "$work/$name.rules" --interface eth0 --interface eth1 \
        --socket "$work/lvsd.sock" "${args[@]}" "$@"
    contender_pid=$pid
    wait_for_line "$log" "lvsd: running on" "$pid" || {
        tail -3 "$log" >&2
        echo "lvsd exited or was not running within 20 s (log: ${log##*/})" >&2
        return 1
    }
    # Its gratuitous ARP goes out right after; let the client take it in.
    sleep 0.3
}

# wait_for_line FILE TEXT PID: until FILE contains TEXT (20 s), or PID exits.
wait_for_line() {
    for _ in $(seq 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_nft_dnat() {
    local i map="" first=""
    for i in $(seq "$servers"); do map+="${map:+, }$((i - 1)) : $(rs_addr "$i")"; done
    ip -n "$ns_dir" address add $VIP/32 dev eth0
    ip netns exec "$ns_dir" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$ns_dir" nft -f - <<EOF
table ip sysbench_dnat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport 80 dnat to numgen inc mod $servers map { $map }
    ip daddr $VIP tcp dport 5201 dnat to $(rs_addr 1)
    ip daddr $VIP udp dport 9 dnat to numgen inc mod $servers map { $map }
  }
}
EOF
}
stop_nft_dnat() {
    ip netns exec "$ns_dir" nft delete table ip sysbench_dnat 2>/dev/null || true
    ip netns exec "$ns_dir" sysctl -qw net.ipv4.ip_forward=0
    ip -n "$ns_dir" address del $VIP/32 dev eth0 2>/dev/null || true
}

start_haproxy() {
    local log=$1 i
    {
        echo "global"
        echo "  maxconn 9000"   # 2 FDs each; the hard FD limit here is 20000
        echo "defaults"
        echo "  mode tcp"
        echo "  timeout connect 3s"
        echo "  timeout client 30s"
        echo "  timeout server 30s"
        echo "  source $SRC_HAPROXY"
        echo "frontend web"
        echo "  bind $VIP:80"
        echo "  default_backend web"
        echo "backend web"
        echo "  balance roundrobin"
        for i in $(seq "$servers"); do echo "  server rs$i $(rs_addr "$i"):80"; done
        echo "frontend bulk"
        echo "  bind $VIP:5201"
        echo "  default_backend bulk"
        echo "backend bulk"
        echo "  server rs1 $(rs_addr 1):5201"
    } >"$work/haproxy.cfg"
    cp "$work/haproxy.cfg" "$results/logs/haproxy.cfg"
    ip -n "$ns_dir" address add $VIP/32 dev eth0
    start "$ns_dir" "$log" haproxy -db -f "$work/haproxy.cfg"
    contender_pid=$pid
    wait_listen "$ns_dir" tcp 80 "$pid" haproxy
}

stream_module() {
    local m
    nginx -V 2>&1 | grep -q -- '--with-stream\( \|$\)' && return 0   # built in
    for m in /usr/share/nginx/modules/ngx_stream_module.so /usr/lib/nginx/modules/ngx_stream_module.so; do
        [[ -f $m ]] && { echo "load_module $m;"; return 0; }
    done
    return 1
}
start_nginx_stream() {
    local log=$1 i dir=$work/nginx-stream load
    load=$(stream_module) || { echo "no nginx stream module (Debian: libnginx-mod-stream)" >&2; return 1; }
    mkdir -p "$dir"
    {
        echo "$load"
        echo "worker_processes auto;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "events { worker_connections 16384; }"
        echo "stream {"
        echo "  proxy_bind $SRC_NGINX;"
        echo "  upstream web {"
        for i in $(seq "$servers"); do echo "    server $(rs_addr "$i"):80;"; done
        echo "  }"
        echo "  server { listen $VIP:80; proxy_pass web; }"
        echo "  server { listen $VIP:5201; proxy_pass $(rs_addr 1):5201; }"
        echo "}"
    } >"$dir/nginx.conf"
    cp "$dir/nginx.conf" "$results/logs/nginx-stream.conf"
    ip -n "$ns_dir" address add $VIP/32 dev eth0
    start "$ns_dir" "$log" nginx -e "$dir/error.log" -p "$dir/" -c "$dir/nginx.conf"
    contender_pid=$pid
    wait_listen "$ns_dir" tcp 80 "$pid" "nginx stream"
}

# contender_available NAME: prints why NAME cannot run on this machine, if it cannot.
contender_available() {
    case $1 in
        lvsd-*) [[ -x $lvsd ]] || echo "no lvsd binary at $lvsd (build failed?)" ;;
        haproxy) command -v haproxy >/dev/null || echo "haproxy not installed" ;;
        nginx-stream) command -v nginx >/dev/null && stream_module >/dev/null || echo "nginx stream module not installed (libnginx-mod-stream)" ;;
        nft-dnat) command -v nft >/dev/null || echo "nft not installed" ;;
        direct) ;;
    esac
    return 0
}

# setup_contender NAME LOG: returns non-zero (reason on stderr) when it cannot start.
setup_contender() {
    local name=$1 log=$2
    contender_pid="" contender_extra_pids=() contender_log=$log
    return_path "$(return_path_of "$name")"
    case $name in
        lvsd-*) start_lvsd "$name" "$log" ;;
        nft-dnat) start_nft_dnat >"$log" 2>&1 || { cat "$log" >&2; return 1; } ;;
        haproxy) start_haproxy "$log" ;;
        nginx-stream) start_nginx_stream "$log" ;;
        direct) : >"$log" ;;
    esac
}

teardown_contender() {
    local name=$1
    [[ -n $contender_pid ]] && stop "$contender_pid"
    local p
    for p in "${contender_extra_pids[@]}"; do stop "$p"; done
    contender_pid="" contender_extra_pids=()
    case $name in
        nft-dnat) stop_nft_dnat ;;
        haproxy|nginx-stream) ip -n "$ns_dir" address del $VIP/32 dev eth0 2>/dev/null || true ;;
    esac
    # Let connections still closing (FIN/ACK, TIME_WAIT at the servers) settle before the
    # next contender takes the VIP.
    sleep 0.5
}

# ---------------------------------------------------------------------------- measurements

samples=$results/samples.tsv     # round contender metric value
skips=$results/skipped.tsv       # round contender reason
printf 'round\tcontender\tmetric\tvalue\n' >"$samples"
printf 'round\tcontender\treason\n' >"$skips"
record() { printf '%s\t%s\t%s\t%s\n' "$round" "$1" "$2" "$3" >>"$samples"; }
skip() { printf '%s\t%s\t%s\n' "$round" "$1" "$2" >>"$skips"; note "skipped $1: $2"; }

# Busy CPU time of the whole box (all CPUs) in clock ticks: user+nice+system+irq+softirq
# (guest time is inside user; idle, iowait and steal are not busy).
box_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
clk_tck=$(getconf CLK_TCK)
ncpu=$(nproc)

# probe NAME URL: a few requests must be answered before anything is measured (this also
# lets lvsd resolve the real servers' MACs, so the first measured SYNs are not dropped).
probe() {
    local url=$2 i body ok=0
    for i in $(seq $((servers * 2))); do
        body=$(ip netns exec "$ns_client" timeout 5 curl -sS --max-time 3 "$url" 2>&1) && [[ $body == rs* ]] && ok=$((ok + 1))
    done
    [[ $ok -gt 0 ]] || { echo "no HTTP answer through it ($url: ${body:-nothing})"; return 1; }
}

# The client namespace's TCPSynRetrans counter (/proc/net/netstat is per namespace).
syn_retrans() {
    ip netns exec "$ns_client" awk '/^TcpExt:/{ if (!h) { for (i = 2; i <= NF; i++) n[$i] = i; h = 1 } else { print $n["TCPSynRetrans"]; exit } }' /proc/net/netstat
}

# to_ms VALUE: wrk's "1.23ms" / "456.00us" / "1.02s" in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN{ n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) ; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }

# run_wrk NAME LAYOUT URL: one wrk run; records conn/s, p50, p99, errors, box CPU µs/connection.
run_wrk() {
    local name=$1 layout=$2 url=$3 log=$results/logs/wrk-$1-$2-r$round.log cmd b0 b1 requests rps p50 p99 errors
    local connections=$wrk_connections
    if [[ $layout == http1 ]]; then
        cmd=(taskset -c $((ncpu - 1)) wrk -t1)
    elif [[ $layout == lat ]]; then
        # One connection at a time: each request waits only for the path, so p50 is the
        # path's latency (what a timer or a batch would add shows here, not as queueing).
        cmd=(taskset -c $((ncpu - 1)) wrk -t1)
        connections=1
    else
        cmd=(wrk -t2)
    fi
    # The machine may be shared: first take the box's busy rate for 1 s with the contender
    # idle (background), so the marginal CPU per connection can leave it out.
    local g0 g1 s0 s1 t0 t1 bg r0 r1
    g0=$(box_busy) s0=$(date +%s.%N)
    sleep 1
    g1=$(box_busy) s1=$(date +%s.%N)
    bg=$(awk -v b=$((g1 - g0)) -v a="$s0" -v z="$s1" 'BEGIN{printf "%.4f", b / (z - a)}')   # ticks/s
    r0=$(syn_retrans)
    b0=$(box_busy) t0=$(date +%s.%N)
    ip netns exec "$ns_client" timeout -k 5 $((duration + 20)) "${cmd[@]}" -c "$connections" -d "${duration}s" \
        --latency -H 'Connection: close' "$url" >"$log" 2>&1 || { note "wrk failed ($layout), see $log"; return 0; }
    b1=$(box_busy) t1=$(date +%s.%N)
    r1=$(syn_retrans)
    requests=$(awk '/requests in/{print $1; exit}' "$log")
    rps=$(awk '/^Requests\/sec:/{print $2}' "$log")
    p50=$(awk '$1=="50%"{print $2}' "$log")
    p99=$(awk '$1=="99%"{print $2}' "$log")
    errors=$(awk '/Socket errors:/{gsub(/,/,""); n+=$4+$6+$8+$10} /Non-2xx/{n+=$NF} END{print n+0}' "$log")
    [[ -n $requests && $requests -gt 0 ]] || { note "wrk $layout: no requests completed"; record "$name" "${layout}_cps" 0; return 0; }
    record "$name" "${layout}_cps" "$rps"
    record "$name" "${layout}_p50_ms" "$(to_ms "$p50")"
    record "$name" "${layout}_p99_ms" "$(to_ms "$p99")"
    record "$name" "${layout}_errors" "${errors:-0}"
    # SYNs the client had to send again (1 s each): wrk's latency leaves them out, conn/s shows them.
    record "$name" "${layout}_syn_retrans" "$((r1 - r0))"
    record "$name" "${layout}_cpu_us" "$(awk -v b=$((b1 - b0)) -v r="$requests" -v t="$clk_tck" 'BEGIN{printf "%.2f", b / t * 1e6 / r}')"
    record "$name" "${layout}_bg_cpus" "$(awk -v g="$bg" -v t="$clk_tck" 'BEGIN{printf "%.3f", g / t}')"
    record "$name" "${layout}_cpu_marginal_us" "$(awk -v b=$((b1 - b0)) -v g="$bg" -v a="$t0" -v z="$t1" -v r="$requests" -v t="$clk_tck" \
        'BEGIN{m = b - g * (z - a); if (m < 0) m = 0; printf "%.2f", m / t * 1e6 / r}')"
    note "$(printf '%-6s %9.0f conn/s  p50 %6s  p99 %7s  errors %s  SYN retransmits %s' "$layout" "$rps" "$p50" "$p99" "${errors:-0}" "$((r1 - r0))")"
}

# run_iperf NAME TARGET: one stream each way; Gbit/s received.
run_iperf() {
    local name=$1 target=$2 dir flag log value
    for dir in fwd rev; do
        flag=(); [[ $dir == rev ]] && flag=(-R)
        log=$results/logs/iperf3-$name-$dir-r$round.json
        ip netns exec "$ns_client" timeout -k 5 $((bulk_duration + 15)) iperf3 -c "$target" -p 5201 -t "$bulk_duration" \
            --connect-timeout 3000 -J "${flag[@]}" >"$log" 2>&1 || true
        value=$(python3 -c '
import json,sys
try:
    d=json.load(open(sys.argv[1])); print("%.4f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))
except Exception: print("")' "$log")
        if [[ -n $value ]]; then
            record "$name" "bulk_${dir}_gbps" "$value"
            note "iperf3 $dir $value Gbit/s"
        else
            record "$name" "bulk_${dir}_gbps" 0
            note "iperf3 $dir: no result (counted as 0), see $log"
        fi
        # iperf3's server takes one test at a time; give it a moment to be ready again.
        sleep 0.3
    done
}

# run_bigfile NAME URL: one 64 MiB download, bounded by --bulk-duration (a partial download
# counts its bytes over the time it had).
run_bigfile() {
    local name=$1 url=$2 out
    out=$(ip netns exec "$ns_client" timeout -k 2 $((bulk_duration + 5)) curl -s -o /dev/null --max-time "$bulk_duration" \
        -w '%{size_download} %{time_total}' "${url}big.bin" 2>/dev/null) || true
    out=${out:-0 1}
    record "$name" bigfile_mbps "$(awk -v s="${out% *}" -v t="${out#* }" 'BEGIN{printf "%.1f", (t > 0 ? s / t / 1e6 : 0)}')"
    note "64 MiB download: ${out% *} bytes in ${out#* } s"
}

# run_udp NAME: 64-byte UDP frames (256 flows, so both lvsd workers get some) flooded from
# the client for --udp-duration s; the rate is taken at the real servers' ingress counters
# between 0.5 s after the start and the end, so start-up does not count.
run_udp() {
    local name=$1 dst_mac=$MAC_DIR0 service=$VIP:9 c0 c1 t0 t1 gen
    if [[ $name == direct ]]; then
        dst_mac=$(mac 0x11 1) service=$(rs_caddr 1):9
    fi
    ip netns exec "$ns_client" timeout -s INT -k 2 "$udp_duration" "$work/drain-gen" --if eth0 --dst-mac "$dst_mac" \
        --src-mac "$MAC_CLIENT" --service "$service" --clients $FLOOD_CLIENTS --flows 256 --count 1000000000 \
        >"$work/gen.log" 2>&1 &
    gen=$!
    sleep 0.5
    c0=$(udp_count) t0=$(date +%s.%N)
    wait "$gen" || true
    c1=$(udp_count) t1=$(date +%s.%N)
    record "$name" udp_kpps "$(awk -v c=$((c1 - c0)) -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.1f", c / (t1 - t0) / 1000}')"
    note "UDP: $((c1 - c0)) frames at the servers in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') s"
    sleep 0.3   # let queued frames drain before the next contender
}

run_contender() {
    local name=$1 reason target url log
    reason=$(contender_available "$name")
    [[ -z $reason ]] || { skip "$name" "$reason"; return 0; }
    log=$results/logs/$name-r$round.log
    say "round $round/$rounds: $name (load $(load))"
    # Not in $(...): the contender's PIDs must be recorded in this shell.
    if ! setup_contender "$name" "$log" 2>"$work/setup.err"; then
        skip "$name" "did not start: $(tail -3 "$work/setup.err" | tr '\n' ' ')"
        teardown_contender "$name"
        return 0
    fi
    target=$(target_of "$name")
    url="http://$target/"
    if ! reason=$(probe "$name" "$url"); then
        skip "$name" "$reason"
        teardown_contender "$name"
        return 0
    fi
    record "$name" load1 "$(cut -d' ' -f1 /proc/loadavg)"
    wants lat && run_wrk "$name" lat "$url"
    wants http1 && run_wrk "$name" http1 "$url"
    wants http2 && run_wrk "$name" http2 "$url"
    wants bulk && run_iperf "$name" "$target"
    wants bigfile && run_bigfile "$name" "$url"
    if wants udp && supports_udp "$name"; then run_udp "$name"; fi
    teardown_contender "$name"
    # lvsd prints its counters when it stops: keep the summary (drops by reason) visible.
    if [[ $name == lvsd-* ]]; then
        grep -E 'dropped|too-large' "$log" | tail -3 | sed 's/^lvsd: */   lvsd: /' || true
    fi
}

# ---------------------------------------------------------------------------- memory

# lvsd: RSS idle and with 1,000,000 UDP connections (its table is preallocated, ADR 0001).
# Kernel: nf_conntrack slab growth per entry for the same flows through nftables DNAT; the
# global nf_conntrack_max (root namespace, not changed here) caps how many it holds.
memory_phase() {
    local log=$results/logs/memory-lvsd.log rss0 rss1 live=0 pass rate before after flows=1000000 mem=$results/memory.tsv
    printf 'metric\tvalue\n' >"$mem"
    round=memory
    say "memory: lvsd NAT with $flows connections (load $(load))"
    return_path director
    contender_pid="" contender_extra_pids=()
    if start_lvsd lvsd-nat "$log" --connections $flows --stats-interval 1 2>"$work/setup.err"; then
        sleep 1
        rss0=$(awk '/^VmRSS/{print $2}' "/proc/$contender_pid/status")
        for pass in 1 2 3; do
            rate=$((250000 - pass * 50000))
            timeout 60 ip netns exec "$ns_client" "$work/drain-gen" --if eth0 --dst-mac "$MAC_DIR0" --src-mac "$MAC_CLIENT" \
                --service $VIP:9 --clients $FLOOD_CLIENTS --flows $flows --count $flows --stride 1 --rate $rate \
                >>"$work/gen.log" 2>&1 || true
            sleep 2.2   # two fresh stats lines
            live=$(grep -o 'lvsd: stats: .*connections [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
            note "fill pass $pass at $((rate / 1000)) kpps: lvsd holds ${live:-0} connections"
            [[ ${live:-0} -ge $((flows * 99 / 100)) ]] && break
        done
        rss1=$(awk '/^VmRSS/{print $2}' "/proc/$contender_pid/status")
        printf 'lvsd_rss_idle_kib\t%s\nlvsd_rss_full_kib\t%s\nlvsd_connections\t%s\n' "$rss0" "$rss1" "${live:-0}" >>"$mem"
        note "lvsd RSS: idle $rss0 KiB, with ${live:-0} connections $rss1 KiB"
        teardown_contender lvsd-nat
    else
        note "lvsd did not start for the memory phase; see $log"
        teardown_contender lvsd-nat
    fi

    # The table is preallocated (ADR 0001): the same lvsd with room for 1,000 connections
    # gives the RSS that is not the table.
    if start_lvsd lvsd-nat "$results/logs/memory-lvsd-base.log" --connections 1000 2>"$work/setup.err"; then
        sleep 1
        printf 'lvsd_rss_base_kib\t%s\n' "$(awk '/^VmRSS/{print $2}' "/proc/$contender_pid/status")" >>"$mem"
    fi
    teardown_contender lvsd-nat

    say "memory: kernel conntrack through nftables DNAT (load $(load))"
    local slab0 slab1 count0 count1 max buckets
    slab_bytes() { awk '$1=="nf_conntrack"{print $3 * $4; exit}' /proc/slabinfo; }   # num_objs * objsize
    start_nft_dnat
    sleep 0.5
    slab0=$(slab_bytes); count0=$(ip netns exec "$ns_dir" cat /proc/sys/net/netfilter/nf_conntrack_count)
    # Unreplied UDP conntrack entries live 30 s: the fill (5 s at 200 kpps) must be quicker.
    timeout 60 ip netns exec "$ns_client" "$work/drain-gen" --if eth0 --dst-mac "$MAC_DIR0" --src-mac "$MAC_CLIENT" \
        --service $VIP:9 --clients $FLOOD_CLIENTS --flows $flows --count $flows --stride 1 --rate 200000 \
        >>"$work/gen.log" 2>&1 || true
    sleep 1
    slab1=$(slab_bytes); count1=$(ip netns exec "$ns_dir" cat /proc/sys/net/netfilter/nf_conntrack_count)
    max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo "")
    buckets=$(cat /proc/sys/net/netfilter/nf_conntrack_buckets 2>/dev/null || echo "")
    printf 'conntrack_entries\t%s\nconntrack_slab_delta_bytes\t%s\nconntrack_max\t%s\nconntrack_buckets\t%s\n' \
        "$((count1 - count0))" "$((slab1 - slab0))" "$max" "$buckets" >>"$mem"
    note "conntrack: $((count1 - count0)) entries (max $max), slab +$((slab1 - slab0)) bytes"
    stop_nft_dnat
}

# ---------------------------------------------------------------------------- main

say "SwiftLVS system benchmark: ${#contenders[@]} contenders, $rounds round(s), measurements $measure"
note "results in $results; namespaces ${prefix}*; load average $(load)"
{
    echo "{"
    echo "  \"date\": \"$(date -u +%FT%TZ)\","
    echo "  \"commit\": \"$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo -dirty)\","
    echo "  \"kernel\": \"$(uname -r)\","
    echo "  \"cpu\": \"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)\","
    echo "  \"cpus\": $ncpu,"
    echo "  \"rounds\": $rounds, \"duration\": $duration, \"bulk_duration\": $bulk_duration, \"udp_duration\": $udp_duration,"
    echo "  \"wrk_connections\": $wrk_connections, \"servers\": $servers,"
    echo "  \"measure\": \"$measure\", \"load_start\": \"$(load)\""
    echo "}"
} >"$results/meta.json"

cc=${CC:-$(command -v cc || command -v clang || command -v gcc || true)}
[[ -n $cc ]] || die "no C compiler for the UDP generator (cc, clang or gcc)"
"$cc" -O2 -Wall -o "$work/drain-gen" "$repo/Benchmarks/Drain/drain-gen.c"

build_topology
rs_counters
start_real_servers
start_time=$(date +%s)

for round in $(seq "$rounds"); do
    # Rotate the order each round, so no contender always runs first (or right after another).
    n=${#contenders[@]}
    for k in $(seq 0 $((n - 1))); do
        run_contender "${contenders[$(((k + round - 1) % n))]}"
    done
done

if wants memory; then memory_phase; fi
if $drain; then
    say "drain benchmark (Benchmarks/drain.sh)"
    SYSBENCH_BOUNDED= DRAIN_BOUNDED= bash "$repo/Benchmarks/drain.sh" --no-build --lvsd "$lvsd" --runs 3 \
        >"$results/drain.txt" 2>&1 || note "drain.sh failed; see $results/drain.txt"
fi

say "report (measured for $(( $(date +%s) - start_time )) s; load average $(load))"
python3 "$repo/Benchmarks/system-report.py" "$results"
echo
cat "$results/results.md"
say "results: $results"
