import Benchmark
import Core
import Wire

// The director's data path with a million live connections in the table.
//
// Each iteration processes a batch of 1000 packets and the scaling factor is `.kilo`, so
// with `--scale` the time metrics read per packet. Malloc counts are per iteration (per
// 1000 packets): 0 there means 0 per packet. Setup (1M SYN + ACK, frame generation) runs in
// the setup closure and, for new connections, before `startMeasurement()`.
//
// Targets (2-core machine): hit ≤ 60 ns/packet, new connection ≤ 250 ns, 0 allocations per
// packet, ≤ 256 bytes of table memory per connection (see TableFootprint for the last).

let batch = 1000
let liveConnections = 1_000_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2000
    )

    // MARK: Established-flow hits

    /// Client → real server ACKs of established connections, replayed in a random order over
    /// `distinct` connections of the million (1M: every probe is a cache miss; 1k: the
    /// connections stay in cache, which shows the instruction cost alone).
    func hit(_ name: String, method: ForwardingMethod, distinct: Int, replies: Bool) {
        Benchmark(name) { benchmark, state in
            let (workload, frames) = state
            var cursor = 0
            let before = workload.forwarded
            benchmark.startMeasurement()
            for _ in 0..<(benchmark.scaledIterations.count / batch) {
                workload.replay(frames, from: &cursor, count: batch, interface: replies ? 1 : 0)
            }
            workload.replay(frames, from: &cursor, count: benchmark.scaledIterations.count % batch, interface: replies ? 1 : 0)
            benchmark.stopMeasurement()
            if workload.forwarded - before != benchmark.scaledIterations.count {
                benchmark.error("\(name): a packet was not forwarded: \(String(describing: workload.lastUnexpected))")
            }
        } setup: { () -> (Workload, FramePool) in
            let workload = Workload(method: method, scheduler: .weightedLeastConnection,
                                    liveConnections: liveConnections, capacity: liveConnections)
            return (workload, workload.hitFrames(count: distinct, replies: replies))
        }
    }

    hit("hit DR, 1M conns, random order", method: .directRouting, distinct: liveConnections, replies: false)
    hit("hit DR, 1M conns, 1k hot", method: .directRouting, distinct: 1000, replies: false)
    hit("hit NAT in, 1M conns, random order", method: .nat, distinct: liveConnections, replies: false)
    hit("hit NAT reply, 1M conns, random order", method: .nat, distinct: liveConnections, replies: true)

    /// The harness's own share of the hit numbers: copying the frame into the scratch buffer.
    Benchmark("overhead: frame copy only, 1M frames") { benchmark, state in
        let (workload, frames) = state
        var cursor = 0
        benchmark.startMeasurement()
        blackHole(workload.copyOnly(frames, from: &cursor, count: benchmark.scaledIterations.count))
        benchmark.stopMeasurement()
    } setup: { () -> (Workload, FramePool) in
        let workload = Workload(method: .directRouting, scheduler: .roundRobin, liveConnections: 1, capacity: 16)
        let frames = FramePool(count: liveConnections)
        for k in 0..<liveConnections {
            let (address, port) = BenchLab.client(k, base: BenchLab.baselineClientBase)
            workload.writeFromClient(to: frames.frame(k), address: address, port: port, flags: [.ack])
        }
        return (workload, frames)
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
            benchmark.startMeasurement()
            workload.processInPlace(pool)
            benchmark.stopMeasurement()
            if workload.forwarded - before != pool.count || workload.director.table.count - connectionsBefore != pool.count {
                benchmark.error("\(name): not every SYN made a connection: \(String(describing: workload.lastUnexpected))")
            }
        } setup: { () -> (Workload, FramePool) in
            let workload = Workload(method: method, scheduler: scheduler, liveConnections: liveConnections,
                                    capacity: 1_100_000)
            return (workload, FramePool(count: batch))
        }
    }

    newConnection("new connection DR wlc, 1M in table", method: .directRouting, scheduler: .weightedLeastConnection)
    newConnection("new connection DR rr, 1M in table", method: .directRouting, scheduler: .roundRobin)
    newConnection("new connection NAT wlc, 1M in table", method: .nat, scheduler: .weightedLeastConnection)
}
