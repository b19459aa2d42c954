/// Shortest-expected-delay scheduling: the available server with the smallest
/// (active + 1) / weight wins; among equal ratios, the one earliest in the pool.
///
/// Port of net/netfilter/ipvs/ip_vs_sed.c (`ip_vs_sed_dest_overhead`, `ip_vs_sed_schedule`).
/// Unlike wlc, only active connections count, and the "+ 1" is the new connection itself, so an
/// idle heavy server beats an idle light one ((0 + 1) / 3 < (0 + 1) / 1), which is the point of
/// SED (Weinrib and Shenker, INFOCOM'88).
///
/// | step | rule |
/// | --- | --- |
/// | seed | the first available server (not overloaded, weight > 0, not removed) |
/// | compare | a later server `d` replaces `least` only when `oh(least) * w(d) > oh(d) * w(least)`, in 64-bit as current kernels do; strict, so ties keep the earlier server |
/// | skip | overloaded servers; weight-0 ones cannot win the strict comparison, and removed ones are not in IPVS's list |
///
/// Stateless: nothing to invalidate.
public struct ShortestExpectedDelayScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    /// `ip_vs_sed_dest_overhead`: active connections plus the one being scheduled.
    @inlinable
    static func overhead(_ server: RealServer) -> Int64 { Int64(server.activeConnections) + 1 }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        Self.leastExpectedDelay(in: pool, idleWinsOutright: false)
    }

    /// The scan both sed and nq make; nq (`idleWinsOutright`) returns the first available
    /// server with no active connections as soon as it meets it.
    @inlinable
    static func leastExpectedDelay(in pool: RealServerPool, idleWinsOutright: Bool) -> Int? {
        var least = -1
        var leastOverhead: Int64 = 0
        var leastWeight: Int64 = 0
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable else { continue }
            if idleWinsOutright && server.activeConnections == 0 { return index }
            let overhead = overhead(server)
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
