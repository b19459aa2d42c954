// Runs one benchmark scenario in a plain loop, for `perf record` or
// `valgrind --tool=callgrind` (which the benchmark harness would drown out):
//   ProfileDriver reconfigure[-nat] 0 [connections]   (the stall of a configuration swap)
//   ProfileDriver hit-dr|hit-dr-hot|hit-nat|hit-nat-reply|new-dr|new-nat [packets] [connections]
//   (append -batch to a hit scenario to go through Director.process(batch:), 32 frames a round)
//   ProfileDriver stream-fullnat|stream-fullnat-proxy-v2|stream-fullnat-toa|stream-nat|stream-ftp-227|
//                 stream-ftp-port|stream-ftp-shifted|synproxy [packets] [connections]
import DirectorWorkload

#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
let scenario = args.count > 1 ? args[1] : "hit-dr"
let packets = args.count > 2 ? Int(args[2]) ?? 10_000_000 : 10_000_000
let connections = args.count > 3 ? Int(args[3]) ?? 1_000_000 : 1_000_000

func seconds() -> Double { Double(wallNanos()) / 1e9 }

/// One decimal place, without Foundation.
func fixed(_ x: Double) -> String { "\(Double(Int(x * 10)) / 10)" }

if scenario == "wheel-check" {
    // One ESTABLISHED connection with `ipvsadm --set 7200 0 0`, then the clock walks
    // 1 s at a time for 2000 s (one wheel turn is ~1100 s). Prints each 100 s, so a hang shows.
    var config = BenchLab.config(.directRouting, scheduler: .roundRobin)
    config.timeouts.set(tcp: 7200, tcpFin: 0, udp: 0)
    let director = Director(config: config, capacity: 16, now: startOfTime)
    let raw = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 64)
    var now = startOfTime
    for flags in [TCPFlags.syn, TCPFlags.ack] {
        TCPFrame.write(to: raw + 64, sourceMAC: BenchLab.clientMAC, destinationMAC: BenchLab.directorClientMAC,
                       source: BenchLab.baselineClientBase, destination: BenchLab.vip.ipv4, sourcePort: 40000,
                       destinationPort: 80, flags: flags, sequence: 1, acknowledgment: 1)
        var packet = PacketBuffer(base: raw, capacity: 256, offset: 64, length: TCPFrame.length)
        now += 1_000_000
        print("\(flags == .syn ? "SYN" : "ACK"): \(director.process(&packet, now: now)), state \(director.lastEvent.stateAfter)")
    }
    for second in 1...2000 {
        director.expire(now: now + UInt64(second) * 1_000_000_000)
        if second % 100 == 0 { print("t+\(second) s: \(director.table.count) connection(s)") }
    }
    exit(0)
}

if scenario == "schedulers" {
    // Selection cost per scheduler (issue 4): 200,000 selects over varied flows from a pool of
    // 10, 100 and 1000 servers with mixed weights and counters; then Maglev rebuild times.
    var rng = SplitMix64(state: 7)
    print("scheduler   servers   ns/select (thread CPU)")
    for n in [10, 100, 1000] {
        var servers = (0..<n).map { i -> RealServer in
            var s = RealServer(RealServerConfig(address: IPAddress(ipv4: 0xC612_0100 + UInt32(i)), port: 80,
                                                weight: Int32(1 + i % 4)))
            s.activeConnections = Int32(rng.next() % 500)
            s.inactiveConnections = Int32(rng.next() % 2000)
            return s
        }
        let flows = (0..<1024).map { i in
            FlowTuple(proto: .tcp, clientAddress: IPAddress(ipv4: 0xC612_0000 | UInt32(truncatingIfNeeded: rng.next() & 0xFFFF)),
                      clientPort: UInt16(truncatingIfNeeded: 1024 + i), virtualAddress: IPAddress(ipv4: 0xC612_000A),
                      virtualPort: 80, now: 1_000_000_000)
        }
        for kind in SchedulerKind.allCases {
            RealServerPool.with(&servers) { pool in
                var scheduler = SchedulerInstance(kind: kind, pool: pool, flags: [])
                let selects = 200_000
                var sink = 0
                let c0 = threadCPUNanos()
                for i in 0..<selects { sink &+= scheduler.select(from: pool, flow: flows[i & 1023]) ?? 0 }
                let ns = Double(threadCPUNanos() - c0) / Double(selects)
                func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
                print("\(pad(kind.rawValue, 11)) \(pad(String(n), 9)) \(fixed(ns))\(sink == -1 ? "!" : "")")
            }
        }
    }
    for n in [100, 1000] {
        var servers = (0..<n).map { i in
            RealServer(RealServerConfig(address: IPAddress(ipv4: 0xC612_0100 + UInt32(i)), port: 80, weight: 1))
        }
        RealServerPool.with(&servers) { pool in
            let rounds = 20
            let c0 = threadCPUNanos()
            for _ in 0..<rounds { _ = MaglevHashingScheduler(pool: pool, flags: [], tableSize: 65537) }
            let ms = Double(threadCPUNanos() - c0) / Double(rounds) / 1e6
            print("mh rebuild, M = 65537, \(n) servers: \(Double(Int(ms * 100)) / 100) ms")
        }
    }
    exit(0)
}

if scenario.hasPrefix("stream-") || scenario == "synproxy" {
    // The stream scenarios of the benchmarks (StreamWorkload), e.g. `stream-fullnat-proxy-v2`,
    // `stream-ftp-227`, or `synproxy` (whole handshakes); [connections] defaults to 1000 here.
    let count = args.count > 3 ? connections : 1000
    let c0 = threadCPUNanos()
    var done = 0, ok = 0
    if scenario == "synproxy" {
        let w = SynProxyWorkload(pool: 20_000)
        for _ in 0..<(packets / 1000) {
            w.prepare(handshakes: 200)
            w.run(handshakes: 200)
        }
        done = w.processed
        ok = w.asExpected
    } else {
        guard let s = StreamScenario(rawValue: String(scenario.dropFirst(7))) else {
            print("no stream scenario '\(scenario.dropFirst(7))': \(StreamScenario.allCases.map(\.rawValue))")
            exit(2)
        }
        let w = StreamWorkload(s, connections: count)
        var cursor = 0
        w.replay(from: &cursor, count: packets)
        done = w.processed
        ok = w.forwarded
    }
    print("\(scenario): \(done) packets, \(ok) as expected, \(fixed(Double(threadCPUNanos() - c0) / Double(max(done, 1)))) ns/packet thread CPU (setup included)")
    exit(ok == done ? 0 : 1)
}

let setupStart = seconds()
let method: ForwardingMethod = scenario.contains("nat") ? .nat : .directRouting
let isNew = scenario.hasPrefix("new")
let workload = Workload(method: method, scheduler: .weightedLeastConnection, liveConnections: connections,
                        capacity: Workload.capacity(live: connections, growth: isNew ? connections / 10 : 0))
print("setup: \(connections) connections in \(fixed(seconds() - setupStart)) s")

if scenario.hasPrefix("reconfigure") {
    // The forwarding stall of a configuration change with `connections` live connections:
    // the wall time of `Director.reconfigure` on the worker's thread (the worker forwards
    // nothing meanwhile), for a weight change (`lvsadm -e ... -w`), a server added and the
    // same server removed again, each applied `rounds` times; prints each kind's median and
    // maximum.
    let base = BenchLab.config(method, scheduler: .weightedLeastConnection)
    var weighted = base
    weighted.services[0].realServers[0].weight += 1
    var added = base
    added.services[0].realServers.append(RealServerConfig(address: IPAddress("198.18.1.13")!, port: BenchLab.realPort,
                                                          weight: 1, method: method))
    let rounds = 7
    for (name, steps) in [("weight", [weighted, base]), ("add-remove", [added, base])] {
        var times: [Double] = []
        for r in 0..<rounds {
            for step in steps {
                let t0 = seconds()
                workload.director.reconfigure(step)
                if r > 0 { times.append((seconds() - t0) * 1e6) }
            }
        }
        times.sort()
        print("reconfigure \(name): \(workload.director.table.count) connections, stall median \(fixed(times[times.count / 2])) µs, max \(fixed(times.last!)) µs")
    }
    exit(0)
}

var elapsed = 0.0
var cpu: UInt64 = 0
if isNew {
    let pool = FramePool(count: 1000)
    // Only the measured SYNs count: the clock jumps' baseline refreshes process packets too.
    var processed = 0, forwarded = 0
    for _ in 0..<(packets / 1000) {
        workload.prepareSYNs(pool)
        let (p0, f0) = (workload.processed, workload.forwarded)
        let t0 = seconds()
        let c0 = threadCPUNanos()
        workload.processInPlace(pool)
        cpu += threadCPUNanos() - c0
        elapsed += seconds() - t0
        processed += workload.processed - p0
        forwarded += workload.forwarded - f0
    }
    workload.processed = processed
    workload.forwarded = forwarded
} else {
    let batched = scenario.hasSuffix("-batch")
    let name = batched ? String(scenario.dropLast(6)) : scenario
    let frames = workload.hitFrames(count: name.hasSuffix("hot") ? 1000 : connections,
                                    replies: name.hasSuffix("reply"))
    var cursor = 0
    workload.forwarded = 0
    workload.processed = 0
    let t0 = seconds()
    let c0 = threadCPUNanos()
    if batched {
        workload.replayBatched(frames, from: &cursor, count: packets, interface: name.hasSuffix("reply") ? 1 : 0)
    } else {
        workload.replay(frames, from: &cursor, count: packets, interface: name.hasSuffix("reply") ? 1 : 0)
    }
    cpu = threadCPUNanos() - c0
    elapsed = seconds() - t0
}
print("\(scenario): \(workload.processed) packets, \(workload.forwarded) forwarded, "
      + "\(fixed(elapsed / Double(packets) * 1e9)) ns/packet wall, "
      + "\(fixed(Double(cpu) / Double(packets))) ns/packet thread CPU")
