#!/usr/bin/env python3
"""Turns a Benchmarks/system.sh results directory into results.md, results.json and results.png.

    python3 Benchmarks/system-report.py RESULTS_DIR

Reads samples.tsv (round, contender, metric, value), skipped.tsv, meta.json and memory.tsv
(if present). Every number shown is the median over the rounds that produced it; the number
of rounds behind each contender's row is in the n column. The plot is drawn by gnuplot
(Debian gnuplot-nox); without gnuplot the report is written without it.
"""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys

ORDER = [
    "direct",
    "lvsd-nat", "lvsd-nat-w2", "lvsd-nat-pcap",
    "lvsd-dr", "lvsd-dr-w2", "lvsd-dr-pcap",
    "lvsd-fullnat", "lvsd-fullnat-w2", "lvsd-fullnat-pcap",
    "lvsd-tun", "lvsd-tun-w2", "lvsd-tun-pcap",
    "nft-dnat", "haproxy", "nginx-stream",
]


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt(value, digits=0):
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def main():
    out = sys.argv[1]
    meta = json.load(open(os.path.join(out, "meta.json")))
    samples = {}
    rounds_seen = {}
    for row in read_tsv(os.path.join(out, "samples.tsv")):
        try:
            value = float(row["value"])
        except ValueError:
            continue
        samples.setdefault(row["contender"], {}).setdefault(row["metric"], []).append(value)
        if row["metric"] == "load1":
            rounds_seen.setdefault(row["contender"], set()).add(row["round"])
    skipped = {}
    for row in read_tsv(os.path.join(out, "skipped.tsv")):
        skipped.setdefault(row["contender"], []).append(f"round {row['round']}: {row['reason']}")
    memory = {row["metric"]: row["value"] for row in read_tsv(os.path.join(out, "memory.tsv"))}

    names = [c for c in ORDER if c in samples] + sorted(c for c in samples if c not in ORDER)
    med = {c: {m: statistics.median(v) for m, v in samples[c].items()} for c in names}

    def get(c, m):
        return med.get(c, {}).get(m)

    measure = meta.get("measure", "")
    lines = []
    lines.append(f"# SwiftLVS system benchmark, {meta['date']}")
    lines.append("")
    lines.append(f"Commit {meta['commit']}, kernel {meta['kernel']}, {meta['cpus']} × {meta['cpu']}. "
                 f"{meta['rounds']} round(s), interleaved; medians. wrk: {meta['wrk_connections']} connections, "
                 f"{meta['duration']} s, `Connection: close`; iperf3 {meta['bulk_duration']} s per direction; "
                 f"UDP flood {meta['udp_duration']} s; {meta['servers']} real servers (nginx, 1 worker each). "
                 f"Load average at start: {meta['load_start']}.")
    lines.append("")
    if "http1" in measure or "http2" in measure:
        lines.append("## HTTP connections (one request per connection)")
        lines.append("")
        lines.append("1T: wrk 1 thread pinned to one CPU; 2T: wrk 2 threads, unpinned. p50/p99 in ms are wrk's "
                     "(they leave out the TCP handshake). CPU µs/conn: busy time of the whole box (/proc/stat) "
                     "over the run, less the background busy rate measured for 1 s just before with the contender "
                     "idle (bg CPUs), ÷ connections completed (the uncorrected figure is `*_cpu_us` in results.json). SYN rtx: SYNs the client sent again during the 1T / 2T runs (each costs that connection "
                     "1 s, which conn/s shows and wrk's latency does not). n: rounds measured; load: median 1-minute load "
                     "average when the contender's runs began (anything above ~1 is someone else's work).")
        lines.append("")
        lines.append("| contender | n | 1T conn/s | 1T p50 | 1T p99 | 1T CPU µs/conn | 2T conn/s | 2T p50 | 2T p99 | 2T CPU µs/conn | errors | SYN rtx | load | bg CPUs |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in names:
            errors = (get(c, "http1_errors") or 0) + (get(c, "http2_errors") or 0)
            bgs = [v for v in (get(c, "http1_bg_cpus"), get(c, "http2_bg_cpus")) if v is not None]
            bg = statistics.median(bgs) if bgs else None
            r = [get(c, m) for m in ("http1_syn_retrans", "http2_syn_retrans")]
            rtx = "–" if all(v is None for v in r) else " / ".join(fmt(v) for v in r)
            lines.append(
                f"| {c} | {len(rounds_seen.get(c, ()))} | {fmt(get(c, 'http1_cps'))} | {fmt(get(c, 'http1_p50_ms'), 2)} | "
                f"{fmt(get(c, 'http1_p99_ms'), 2)} | {fmt(get(c, 'http1_cpu_marginal_us'), 1)} | {fmt(get(c, 'http2_cps'))} | "
                f"{fmt(get(c, 'http2_p50_ms'), 2)} | {fmt(get(c, 'http2_p99_ms'), 2)} | {fmt(get(c, 'http2_cpu_marginal_us'), 1)} | "
                f"{fmt(errors)} | {rtx} | {fmt(get(c, 'load1'), 1)} | {fmt(bg, 2)} |")
        lines.append("")
    if "lat" in measure:
        lines.append("## One connection at a time")
        lines.append("")
        lines.append("wrk, 1 thread pinned, 1 connection, `Connection: close`: no queueing, so p50 is the time a "
                     "request takes through the path (wrk leaves out the handshake), and \"over direct\" is what "
                     "the director adds to it.")
        lines.append("")
        lines.append("| contender | conn/s | p50 ms | p99 ms | p50 over direct, µs |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        base = get("direct", "lat_p50_ms")
        for c in names:
            p50 = get(c, "lat_p50_ms")
            over = None if p50 is None or base is None else (p50 - base) * 1000
            lines.append(f"| {c} | {fmt(get(c, 'lat_cps'))} | {fmt(p50, 3)} | {fmt(get(c, 'lat_p99_ms'), 3)} | {fmt(over)} |")
        lines.append("")
    if any(m in measure for m in ("bulk", "bigfile", "udp")):
        lines.append("## Bulk TCP and 64-byte UDP")
        lines.append("")
        lines.append("iperf3 one stream, Mbit/s received: fwd = client → server, rev = `-R` (server → client). "
                     "64 MiB: one HTTP download (curl), MB/s, cut off at the bulk duration. "
                     "UDP: 64-byte frames (256 flows) per second reaching the real servers' ingress.")
        lines.append("")
        lines.append("| contender | iperf3 fwd Mbit/s | iperf3 rev Mbit/s | 64 MiB HTTP MB/s | UDP kpps |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for c in names:
            mbit = [None if get(c, m) is None else get(c, m) * 1000 for m in ("bulk_fwd_gbps", "bulk_rev_gbps")]
            lines.append(f"| {c} | {fmt(mbit[0], 1)} | {fmt(mbit[1], 1)} | "
                         f"{fmt(get(c, 'bigfile_mbps'), 1)} | {fmt(get(c, 'udp_kpps'), 1)} |")
        lines.append("")
    if memory:
        lines.append("## Director memory with many connections")
        lines.append("")
        base = int(memory.get("lvsd_rss_base_kib") or 0)
        rss0 = int(memory.get("lvsd_rss_idle_kib") or 0)
        rss1 = int(memory.get("lvsd_rss_full_kib") or 0)
        conns = int(memory.get("lvsd_connections") or 0)
        ct = int(memory.get("conntrack_entries") or 0)
        slab = int(memory.get("conntrack_slab_delta_bytes") or 0)
        lines.append("| director | connections held | memory | bytes/connection | at 1,000,000 |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        if rss1:
            # The table is preallocated for --connections: compare with a 1,000-entry lvsd.
            per = (rss1 - base) * 1024 / conns if conns and base else None
            lines.append(f"| lvsd NAT, `--connections 1000000` (RSS; {rss0 / 1024:,.1f} MiB before any connection, "
                         f"{base / 1024:,.1f} MiB with `--connections 1000`) | {conns:,} | "
                         f"{rss1 / 1024:,.1f} MiB RSS | {fmt(per)} (over the 1,000-entry lvsd) | {rss1 / 1024:,.1f} MiB |")
        if ct:
            per = slab / ct
            lines.append(f"| kernel conntrack (nf_conntrack slab growth; max {memory.get('conntrack_max')}, "
                         f"{memory.get('conntrack_buckets')} hash buckets) | {ct:,} | {slab / 1048576:,.1f} MiB | "
                         f"{fmt(per)} | {per * 1e6 / 1048576:,.1f} MiB (extrapolated) |")
        lines.append("")
    if skipped:
        lines.append("## Skipped")
        lines.append("")
        for c in sorted(skipped):
            for reason in skipped[c]:
                lines.append(f"- {c}: {reason}")
        lines.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))

    result = {
        "meta": meta,
        "contenders": {c: {m: {"median": statistics.median(v), "samples": v} for m, v in samples[c].items()} for c in names},
        "skipped": skipped,
        "memory": memory,
    }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)

    plot(out, names, get)


def plot(out, names, get):
    """conn/s (top) and wrk p50 latency (bottom) per contender, 1T and 2T side by side."""
    rows = [c for c in names if get(c, "http1_cps") is not None or get(c, "http2_cps") is not None]
    if not rows or not shutil.which("gnuplot"):
        return
    data = os.path.join(out, "plot.dat")
    with open(data, "w") as f:
        f.write("# contender cps1 cps2 p50_1 p50_2\n")
        for c in rows:
            vals = [get(c, m) for m in ("http1_cps", "http2_cps", "http1_p50_ms", "http2_p50_ms")]
            f.write(c + " " + " ".join("NaN" if v is None else f"{v:.3f}" for v in vals) + "\n")
    has1 = any(get(c, "http1_cps") is not None for c in rows)
    has2 = any(get(c, "http2_cps") is not None for c in rows)

    def series(col1, col2):
        # Only the layouts that were measured: gnuplot refuses an all-NaN histogram column.
        parts = []
        if has1:
            parts.append(f"'{data}' using {col1}:xtic(1) title 'wrk 1 thread, pinned' lc rgb '#1f77b4'")
        if has2:
            parts.append(f"'{data}' using {col2}" + ("" if has1 else ":xtic(1)") + " title 'wrk 2 threads' lc rgb '#ff7f0e'")
        return "plot " + ", ".join(parts)

    script = f"""
set terminal pngcairo size 1400,900 font "DejaVu Sans,11" noenhanced
set output '{os.path.join(out, "results.png")}'
set multiplot layout 2,1 title "SwiftLVS system benchmark: HTTP with Connection: close (medians)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key tmargin horizontal right
set xtics rotate by -30 left nomirror
set yrange [0:*]
set ylabel "connections/s"
set format y "%.0f"
set lmargin 12
set rmargin 9
{series(2, 3)}
set ylabel "wrk p50 latency, ms (no handshake)"
set format y "%.1f"
{series(4, 5)}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=False)


if __name__ == "__main__":
    main()
