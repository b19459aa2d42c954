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
        ShortestExpectedDelayScheduler.leastExpectedDelay(in: pool, idleWinsOutright: true)
    }
}
