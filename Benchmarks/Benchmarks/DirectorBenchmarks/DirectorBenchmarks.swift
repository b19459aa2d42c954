import Benchmark
import DirectorWorkload
import MallocInterposerSwift

// The director's data path with a million live connections in the table.
//
// Each iteration processes a batch of 1000 packets and the scaling factor is `.kilo`: with
// `--scale` the throughput reads in packets/s. Two custom metrics are taken inside the
// packet loop only, without the harness around it:
//   - "CPU ns/packet": the thread's CPU time per packet (CLOCK_THREAD_CPUTIME_ID), which
//     does not grow when other processes share the 2 vCPUs (wall clock does);
//   - "mallocs/1000 packets": the interposer's malloc count across the batch. The harness's
//     own `Malloc (total)` includes a constant ~16 of its own per iteration (the
//     "overhead" benchmark, which never calls the director, shows the same 16).
// Setup (1M SYN + ACK, frame generation) runs in the setup closure and, for new
// connections, before `startMeasurement()`.
//
// Targets (2-core machine): hit ≤ 60 ns/packet, new connection ≤ 250 ns, 0 allocations per
// packet, ≤ 256 bytes of table memory per connection (TableFootprint reports the last).

let batch = 1000
let liveConnections = 1_000_000

let cpuPerPacket = BenchmarkMetric.custom("CPU ns/packet", polarity: .prefersSmaller, useScalingFactor: false)
let mallocsPerBatch = BenchmarkMetric.custom("mallocs/1000 packets", polarity: .prefersSmaller, useScalingFactor: false)

/// Runs `body` (which processes `packets` packets) between explicit start/stop marks and
/// records the two custom metrics.
@inline(__always)
func measured(_ benchmark: Benchmark, packets: Int, _ body: () -> Void) {
    benchmark.startMeasurement()
    let mallocs = MallocInterposerSwift.getStatistics().mallocCount
    let cpu = threadCPUNanos()
    body()
    let cpuUsed = threadCPUNanos() - cpu
    let mallocsUsed = MallocInterposerSwift.getStatistics().mallocCount - mallocs
    benchmark.stopMeasurement()
    benchmark.measurement(cpuPerPacket, Int(cpuUsed) / max(packets, 1))
    benchmark.measurement(mallocsPerBatch, mallocsUsed * 1000 / max(packets, 1))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident, cpuPerPacket, mallocsPerBatch],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2000
    )

    // MARK: Established-flow hits

    /// ACKs of established connections (or, with `replies`, the real server's ACKs back to
    /// the client), replayed in a random order over `distinct` connections of the million
    /// (1M: nearly every probe misses the caches; 1k: the connections stay in cache, which
    /// shows the instruction cost alone). Each frame is first copied into a scratch buffer,
    /// as a receive ring hands over fresh bytes; "overhead: frame copy only" is that copy.
    func hit(_ name: String, method: ForwardingMethod, distinct: Int, replies: Bool, batched: Bool = false) {
        Benchmark(name) { benchmark, state in
            let (workload, frames, cursorBox) = state
            let before = workload.forwarded
            let packets = benchmark.scaledIterations.count
            measured(benchmark, packets: packets) {
                if batched {
                    workload.replayBatched(frames, from: &cursorBox.cursor, count: packets, interface: replies ? 1 : 0)
                } else {
                    workload.replay(frames, from: &cursorBox.cursor, count: packets, interface: replies ? 1 : 0)
                }
            }
            if workload.forwarded - before != packets {
                benchmark.error("\(name): a packet was not forwarded: \(String(describing: workload.lastUnexpected))")
            }
        } setup: { () -> (Workload, FramePool, Cursor) in
            let workload = Workload(method: method, scheduler: .weightedLeastConnection,
                                    liveConnections: liveConnections, capacity: Workload.capacity(live: liveConnections))
            return (workload, workload.hitFrames(count: distinct, replies: replies), Cursor())
        }
    }

    hit("hit DR, 1M conns, random order", method: .directRouting, distinct: liveConnections, replies: false)
    hit("hit DR, 1M conns, 1k hot", method: .directRouting, distinct: 1000, replies: false)
    hit("hit NAT in, 1M conns, random order", method: .nat, distinct: liveConnections, replies: false)
    hit("hit NAT reply, 1M conns, random order", method: .nat, distinct: liveConnections, replies: true)
    // The same through Director.process(batch:), 32 frames per call, as a ring block arrives.
    hit("batch hit DR, 1M conns, random order", method: .directRouting, distinct: liveConnections, replies: false,
        batched: true)
    hit("batch hit DR, 1M conns, 1k hot", method: .directRouting, distinct: 1000, replies: false, batched: true)
    hit("batch hit NAT in, 1M conns, random order", method: .nat, distinct: liveConnections, replies: false,
        batched: true)
    hit("batch hit NAT reply, 1M conns, random order", method: .nat, distinct: liveConnections, replies: true,
        batched: true)

    /// The harness's own share of the hit numbers: copying the frame into the scratch buffer.
    Benchmark("overhead: frame copy only, 1M frames") { benchmark, state in
        let (workload, frames, cursorBox) = state
        let packets = benchmark.scaledIterations.count
        measured(benchmark, packets: packets) {
            blackHole(workload.copyOnly(frames, from: &cursorBox.cursor, count: packets))
        }
    } setup: { () -> (Workload, FramePool, Cursor) in
        let workload = Workload(method: .directRouting, scheduler: .roundRobin, liveConnections: 1, capacity: 16)
        let frames = FramePool(count: liveConnections)
        for k in 0..<liveConnections {
            let (address, port) = BenchLab.client(k, base: BenchLab.baselineClientBase)
            workload.writeFromClient(to: frames.frame(k), address: address, port: port, flags: [.ack])
        }
        return (workload, frames, Cursor())
    }

    // MARK: New connections

    /// A SYN from a never-seen client: in-hash miss (and out-hash miss for NAT), scheduling,
    /// insert into a table already holding ~1M connections, and the rewrite. The table has
    /// room for 100k more; when it runs short, an unmeasured clock jump expires the
    /// SYN_RECV connections earlier iterations made.
    func newConnection(_ name: String, method: ForwardingMethod, scheduler: SchedulerKind) {
        Benchmark(name, configuration: .init(maxIterations: 1000)) { benchmark, state in
            let (workload, pool) = state
            workload.prepareSYNs(pool)
            let before = workload.forwarded
            let connectionsBefore = workload.director.table.count
            measured(benchmark, packets: pool.count) {
                workload.processInPlace(pool)
            }
            if workload.forwarded - before != pool.count || workload.director.table.count - connectionsBefore != pool.count {
                benchmark.error("\(name): not every SYN made a connection: \(String(describing: workload.lastUnexpected))")
            }
        } setup: { () -> (Workload, FramePool) in
            let workload = Workload(method: method, scheduler: scheduler, liveConnections: liveConnections,
                                    capacity: Workload.capacity(live: liveConnections, growth: 100_000))
            return (workload, FramePool(count: batch))
        }
    }

    newConnection("new connection DR wlc, 1M in table", method: .directRouting, scheduler: .weightedLeastConnection)
    newConnection("new connection DR rr, 1M in table", method: .directRouting, scheduler: .roundRobin)
    newConnection("new connection NAT wlc, 1M in table", method: .nat, scheduler: .weightedLeastConnection)

    // MARK: Inside the stream (PROXY protocol, TOA, FTP, SYN proxy)

    /// The packets of `StreamScenario` replayed over `connections` connections: FullNAT plain,
    /// with PROXY v2 and with TOA side by side, and an FTP control connection's rewrites next
    /// to a plain NAT connection. Every packet must be forwarded.
    func stream(_ name: String, _ scenario: StreamScenario, connections: Int = 1000) {
        Benchmark(name) { benchmark, state in
            let (workload, cursorBox) = state
            let before = workload.forwarded
            let packets = benchmark.scaledIterations.count
            measured(benchmark, packets: packets) {
                workload.replay(from: &cursorBox.cursor, count: packets)
            }
            if workload.forwarded - before != packets {
                benchmark.error("\(name): a packet was not forwarded: \(String(describing: workload.lastUnexpected))")
            }
        } setup: { () -> (StreamWorkload, Cursor) in
            (StreamWorkload(scenario, connections: connections), Cursor())
        }
    }

    stream("stream FullNAT, data both ways", .fullNAT)
    stream("stream FullNAT + PROXY v2, data both ways", .fullNATProxyV2)
    stream("stream FullNAT + TOA, data both ways", .fullNATTOA)
    stream("stream NAT, data both ways", .nat)
    stream("stream NAT FTP 227 rewrite, 16 sessions", .ftpPassiveReply, connections: 16)
    stream("stream NAT FTP 227 rewrite, 1000 sessions", .ftpPassiveReply)
    stream("stream FullNAT FTP PORT rewrite", .ftpActivePort)
    stream("stream NAT FTP control after a rewrite, both ways", .ftpShifted)

    /// Whole SYN proxy handshakes from fresh clients, each with a request and a reply:
    /// 200 handshakes (1,000 packets) per iteration, CPU ns and mallocs per packet.
    Benchmark("stream SYN proxy handshake + data, FullNAT", configuration: .init(maxIterations: 1000)) { benchmark, workload in
        let handshakes = batch / SynProxyWorkload.packetsPerHandshake
        workload.prepare(handshakes: handshakes)
        let before = workload.asExpected
        measured(benchmark, packets: handshakes * SynProxyWorkload.packetsPerHandshake) {
            workload.run(handshakes: handshakes)
        }
        if workload.asExpected - before != handshakes * SynProxyWorkload.packetsPerHandshake {
            benchmark.error("SYN proxy: a packet had another verdict: \(String(describing: workload.lastUnexpected))")
        }
    } setup: { () -> SynProxyWorkload in
        SynProxyWorkload(pool: 20_000)
    }
}

/// Where the next replayed frame is; kept across iterations so the walk covers every
/// connection instead of the first thousand again and again.
final class Cursor: @unchecked Sendable {
    var cursor = 0
}
