/// Never-queue scheduling: an idle server (no active connections) takes the connection at
/// once, the earliest idle one in the pool; when none is idle, shortest expected delay
/// decides.
///
/// Port of net/netfilter/ipvs/ip_vs_nq.c (`ip_vs_nq_dest_overhead`, `ip_vs_nq_schedule`):
///
/// | step | rule |
/// | --- | --- |
/// | skip | overloaded servers and weight 0 (and removed servers, absent from IPVS's list) |
/// | idle | the first considered server with `activeConnections == 0` wins outright, whatever its weight; inactive connections do not make a server busy |
/// | otherwise | sed's rule: smallest (active + 1) / weight by 64-bit cross-multiplication, strict, so ties keep the earlier server |
///
/// Stateless: nothing to invalidate.
public struct NeverQueueScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        var least = -1
        var leastOverhead: Int64 = 0
        var leastWeight: Int64 = 0
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable else { continue }
            if server.activeConnections == 0 { return index }
            let overhead = ShortestExpectedDelayScheduler.overhead(server)
            let weight = Int64(server.weight)
            if least < 0 || leastOverhead * weight > overhead * leastWeight {
                least = index
                leastOverhead = overhead
                leastWeight = weight
            }
        }
        return least >= 0 ? least : nil
    }
}
