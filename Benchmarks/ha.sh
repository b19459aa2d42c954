#!/usr/bin/env bash
# High-availability numbers for issue 14 (not run in CI): two lvsd directors with VRRP and
# connection sync from keepalived.conf (`vrrp_instance VI_1`, `lvs_sync_daemon d0 VI_1`), a DR
# service on two nginx real servers, a client; all in network namespaces on one bridge.
#
#   sudo Benchmarks/ha.sh [--lvsd PATH] [--seconds N] [--rate-connections N]
#
#   --lvsd PATH   lvsd binary (default: the debug build, `swift build --show-bin-path`); lvsadm
#                 is taken from the same folder
#   --seconds N   length of the sync-lag load (default 8)
#   --rate-connections N   wrk connections for the load (default 16)
#
# Measures, in this order:
#   1. takeover after SIGTERM on the master (priority-0 advert) and after SIGKILL
#      (Master_Down_Interval): from the signal to the backup's "-> MASTER" log line;
#   2. a loop of short HTTP requests (one connection each, 0.5 s timeout) across a master
#      SIGKILL: requests sent, failed, and the outage (first failure to first success after);
#   3. sync lag under load (wrk, `Connection: close`, as many new connections/s as the pair
#      manages, aim ~5,000/s): per connection, from its 3rd client packet passing the bridge
#      port of the client to the first sync datagram naming its client port leaving the bridge
#      port toward the backup (tcpdump on the bridge, one clock), p50/p99/max;
#   4. sync bandwidth: IP bytes of sync datagrams the backup received (nft counter on its
#      input) during that load, per 1,000 connections; and, with the load stopped and 1,000
#      connections held open idle, the refresh walk's bytes per 3 s.
#
# Addresses: 198.18.0.0/24 only; namespaces lvst-<pid>-hab-*; nothing in the root namespace.
# Everything started here is killed by PID and every namespace deleted on exit (trap). Bounded:
# each phase has its own timeout; the whole run takes ~1.5 minutes.
set -euo pipefail

LVSD=""
SECONDS_LOAD=8
WRK_CONNECTIONS=16
while [[ $# -gt 0 ]]; do
    case "$1" in
        --lvsd) LVSD="$2"; shift 2 ;;
        --seconds) SECONDS_LOAD="$2"; shift 2 ;;
        --rate-connections) WRK_CONNECTIONS="$2"; shift 2 ;;
        *) echo "usage: $0 [--lvsd PATH] [--seconds N] [--rate-connections N]" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "ha.sh: needs root (network namespaces)" >&2; exit 1; }
HERE="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "$LVSD" ]]; then LVSD="$(cd "$HERE" && swift build --show-bin-path)/lvsd"; fi
LVSADM="$(dirname "$LVSD")/lvsadm"
[[ -x "$LVSD" && -x "$LVSADM" ]] || { echo "ha.sh: no lvsd/lvsadm at $LVSD (swift build first)" >&2; exit 1; }

P="lvst-$$-hab-"
DIR="/tmp/lvst-$$-hab"
VIP=198.18.0.100
PIDS=()
mkdir -p "$DIR"

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    for n in sw c a b r1 r2; do
        for pid in $(ip netns pids "$P$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns delete "$P$n" 2>/dev/null
    done
    rm -rf "$DIR"
}
trap cleanup EXIT

nx() { local n="$1"; shift; ip netns exec "$P$n" "$@"; }

# --- topology ---------------------------------------------------------------------------
for n in sw c a b r1 r2; do ip netns add "$P$n"; ip -n "$P$n" link set lo up; done
ip -n "${P}sw" link add br0 type bridge mcast_snooping 0
ip -n "${P}sw" link set br0 up
for spec in c:198.18.0.2 a:198.18.0.11 b:198.18.0.12 r1:198.18.0.21 r2:198.18.0.22; do
    n="${spec%%:*}"; addr="${spec#*:}"
    ip -n "${P}sw" link add "p$n" type veth peer name d0 netns "$P$n"
    ip -n "${P}sw" link set "p$n" master br0
    ip -n "${P}sw" link set "p$n" up
    ip -n "$P$n" address add "$addr/24" dev d0
    ip -n "$P$n" link set d0 up
done
for r in r1 r2; do
    ip -n "$P$r" address add "$VIP/32" dev lo
    nx "$r" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.d0.arp_ignore=1 net.ipv4.conf.d0.arp_announce=2
    mkdir -p "$DIR/$r"
    cat > "$DIR/$r/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $DIR/$r/nginx.pid;
error_log $DIR/$r/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 300;
    server { listen 80 reuseport backlog=4096; location / { return 200 "$r\n"; } }
}
EOF
    ip netns exec "$P$r" nginx -c "$DIR/$r/nginx.conf" -p "$DIR/$r" &
    PIDS+=($!)
done

config() {  # director priority
    cat <<EOF
global_defs {
    lvs_sync_daemon d0 VI_1 id 14
}
lvsd_director {
    interface d0 mac 00:00:00:00:00:00 address $2
}
vrrp_instance VI_1 {
    state BACKUP
    interface d0
    virtual_router_id 71
    priority $3
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass lvshab
    }
    virtual_ipaddress {
        $VIP/24
    }
}
virtual_server $VIP 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.18.0.21 80 {
        weight 1
    }
    real_server 198.18.0.22 80 {
        weight 1
    }
}
EOF
}

declare -A DPID
start_director() {  # name log
    config "$1" "$([[ $1 == a ]] && echo 198.18.0.11 || echo 198.18.0.12)" "$([[ $1 == a ]] && echo 150 || echo 100)" > "$DIR/$1.conf"
    : > "$DIR/$2.log"
    ip netns exec "$P$1" "$LVSD" --config "$DIR/$1.conf" --interface d0 --connections 262144 --socket "$DIR/$1.sock" >> "$DIR/$2.log" 2>&1 &
    DPID[$1]=$!
    PIDS+=($!)
}
# Waits up to $3 s for the log to hold a line matching $2; prints the seconds it took
# (bash's microsecond clock, polled every ~5 ms).
wait_log() {
    local file="$1" pattern="$2" limit="$3" start now
    start=${EPOCHREALTIME/./}
    while ! grep -q -- "$pattern" "$file"; do
        now=${EPOCHREALTIME/./}
        if (( now - start > limit * 1000000 )); then echo "timeout"; return 1; fi
        sleep 0.005
    done
    now=${EPOCHREALTIME/./}
    printf '%d.%03d\n' $(( (now - start) / 1000000 )) $(( (now - start) % 1000000 / 1000 ))
}

echo "ha.sh: lvsd $LVSD"
start_director a a1
wait_log "$DIR/a1.log" "BACKUP -> MASTER" 15 > /dev/null
start_director b b1
wait_log "$DIR/b1.log" "INIT -> BACKUP" 10 > /dev/null
sleep 1

# --- 1. takeover times --------------------------------------------------------------------
kill -TERM "${DPID[a]}"
t_term=$(wait_log "$DIR/b1.log" "BACKUP -> MASTER" 10)
wait "${DPID[a]}" 2>/dev/null || true
start_director a a2   # returns: relearns, then preempts (~6 s + Master_Down_Interval)
t_failback=$(wait_log "$DIR/a2.log" "BACKUP -> MASTER" 30)
wait_log "$DIR/b1.log" "MASTER -> BACKUP" 5 > /dev/null
sleep 1
kill -KILL "${DPID[a]}"
{ wait "${DPID[a]}"; } 2>/dev/null || true
t_kill=$(wait_log "$DIR/b1.log" "MASTER.*master down interval expired" 10 || true)
# b1.log has an earlier "-> MASTER" (the SIGTERM case) with another reason; the KILL one is
# the down timer's.
echo "takeover: SIGTERM $t_term s, SIGKILL $t_kill s; failback (relearn hold + preemption) $t_failback s after the old master started"

# --- 2. short requests across a master kill ------------------------------------------------
start_director a a3
wait_log "$DIR/a3.log" "BACKUP -> MASTER" 30 > /dev/null
sleep 1
cat > "$DIR/loop.py" <<'EOF'
import socket, sys, time
vip, seconds = sys.argv[1], float(sys.argv[2])
end = time.time() + seconds
sent = failed = 0
first_fail = last_fail = None
recovered = None
while time.time() < end:
    t = time.time()
    sent += 1
    try:
        s = socket.create_connection((vip, 80), timeout=0.5)
        s.settimeout(0.5)
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = s.recv(200)
        s.close()
        if not data.startswith(b"HTTP/1.1 200"):
            raise OSError("bad answer")
        if first_fail is not None and recovered is None:
            recovered = t
    except OSError:
        failed += 1
        if first_fail is None:
            first_fail = t
        last_fail = t
outage = (recovered - first_fail) * 1000 if first_fail and recovered else float("nan")
print("requests %d, failed %d, outage %.0f ms (first failure to first success after it)" % (sent, failed, outage))
EOF
ip netns exec "${P}c" python3 "$DIR/loop.py" "$VIP" 10 > "$DIR/loop.out" &
LOOP=$!
PIDS+=($LOOP)
sleep 3
kill -KILL "${DPID[a]}"
{ wait "${DPID[a]}"; } 2>/dev/null || true
wait "$LOOP" || true
echo "short requests across a SIGKILL: $(cat "$DIR/loop.out")"

# B is master now; A returns and takes over again, so B is the backup for the lag run.
start_director a a4
wait_log "$DIR/a4.log" "BACKUP -> MASTER" 30 > /dev/null
sleep 2

# --- 3 and 4. sync lag and bandwidth under load -----------------------------------------------
nx b nft -f - <<'EOF'
table inet lvshab {
    counter sync {}
    chain in { type filter hook input priority 0; udp dport 8848 counter name sync; }
}
EOF
ip netns exec "${P}sw" tcpdump -i pc -U -w "$DIR/client.pcap" "tcp dst port 80" 2>/dev/null &
PIDS+=($!)
ip netns exec "${P}sw" tcpdump -i pb -U -w "$DIR/sync.pcap" "udp dst port 8848" 2>/dev/null &
PIDS+=($!)
sleep 1
timeout $((SECONDS_LOAD + 10)) ip netns exec "${P}c" wrk -t 1 -c "$WRK_CONNECTIONS" -d "${SECONDS_LOAD}s" \
    -H "Connection: close" "http://$VIP/" > "$DIR/wrk.out" 2>&1 || true
sleep 1
bytes_load=$(nx b nft list counter inet lvshab sync | awk '/bytes/ { for (i = 1; i <= NF; i++) if ($i == "bytes") print $(i + 1) }')
for pid in "${PIDS[@]: -2}"; do kill -INT "$pid" 2>/dev/null || true; done
sleep 1
requests=$(awk '/requests in/ { print $1 }' "$DIR/wrk.out")
rate=$(awk '/Requests\/sec/ { print $2 }' "$DIR/wrk.out")
python3 - "$DIR/client.pcap" "$DIR/sync.pcap" <<'EOF'
import struct, sys
def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    nano = magic == 0xa1b23c4d
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        yield sec + frac / (1e9 if nano else 1e6), data[off + 16:off + 16 + incl]
        off += 16 + incl
# The 3rd client packet of each connection (by client port), in order.
third = {}
counts = {}
pending = []
for t, frame in packets(sys.argv[1]):
    if len(frame) < 14 + 20 + 20 or frame[12:14] != b"\x08\x00":
        continue
    ihl = (frame[14] & 15) * 4
    sport = struct.unpack("!H", frame[14 + ihl:16 + ihl])[0]
    flags = frame[14 + ihl + 13]
    if flags & 0x02:            # SYN: a new connection on this port
        counts[sport] = 1
        continue
    if sport not in counts:
        continue
    counts[sport] += 1
    if counts[sport] == 3:
        pending.append((t, sport))
# Sync datagrams: each entry's client port (IPVS v1: 8-byte header, entries of ver_size bytes).
seen = {}
for t, frame in packets(sys.argv[2]):
    if len(frame) < 14 + 20 + 8 + 8 or frame[12:14] != b"\x08\x00":
        continue
    ihl = (frame[14] & 15) * 4
    msg = frame[14 + ihl + 8:]
    n = msg[4]
    off = 8
    for _ in range(n):
        if off + 4 > len(msg):
            break
        size = struct.unpack("!H", msg[off + 2:off + 4])[0] & 0x0fff
        if size < 36 or off + size > len(msg):
            break
        # type, protocol, ver_size, flags (4), state (2), then cport.
        cport = struct.unpack("!H", msg[off + 10:off + 12])[0]
        seen.setdefault(cport, []).append(t)
        off += size
import bisect
lags = []
missing = 0
for t, port in pending:
    times = seen.get(port, [])
    i = bisect.bisect_left(times, t)
    if i < len(times) and times[i] - t < 2:
        lags.append((times[i] - t) * 1000)
    else:
        missing += 1
lags.sort()
def pct(p):
    return lags[min(len(lags) - 1, max(0, int(len(lags) * p + 0.999) - 1))] if lags else float("nan")
print("sync lag (3rd client packet at the bridge -> its sync datagram toward the backup): %d connections, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d without a datagram within 2 s"
      % (len(lags), pct(0.5), pct(0.99), lags[-1] if lags else float("nan"), missing))
EOF
echo "load: wrk $requests connections in ${SECONDS_LOAD} s ($rate new connections/s, one request each)"
if [[ -n "$requests" && "$requests" -gt 0 ]]; then
    echo "sync bandwidth under load: $bytes_load IP bytes for $requests connections: $(( bytes_load * 1000 / requests )) bytes per 1,000 connections"
fi

# Refresh walk: 1,000 idle connections held through A, the counter read over 9 s (3 passes).
cat > "$DIR/hold.py" <<'EOF'
import socket, sys, time
held = []
for i in range(1000):
    s = socket.create_connection((sys.argv[1], 80), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    held.append(s)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
EOF
ip netns exec "${P}c" python3 "$DIR/hold.py" "$VIP" 30 > "$DIR/hold.out" &
PIDS+=($!)
for _ in $(seq 1 200); do grep -q held "$DIR/hold.out" && break; sleep 0.1; done
sleep 4   # the wrk connections expire from the walk's view (TIME_WAIT/CLOSE are short)
b0=$(nx b nft list counter inet lvshab sync | awk '/bytes/ { for (i = 1; i <= NF; i++) if ($i == "bytes") print $(i + 1) }')
sleep 9
b1=$(nx b nft list counter inet lvshab sync | awk '/bytes/ { for (i = 1; i <= NF; i++) if ($i == "bytes") print $(i + 1) }')
echo "refresh walk: $(( (b1 - b0) / 3 )) IP bytes per 3 s pass with 1,000 idle connections held (plus whatever else the table holds)"
