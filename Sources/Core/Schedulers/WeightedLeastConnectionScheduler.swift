/// Weighted least-connection scheduling, ipvsadm's default: the available server with the
/// smallest overhead / weight wins; among equal ratios, the one earliest in the pool.
///
/// Port of net/netfilter/ipvs/ip_vs_wlc.c (`ip_vs_wlc_schedule`) with the overhead of
/// include/net/ip_vs.h (`ip_vs_dest_conn_overhead`): active × 256 + inactive. The ratios are
/// compared without division, as IPVS does: a server `h` replaces the current choice `least`
/// only when `loh * h.weight > doh * least.weight` in 64-bit arithmetic, which is strict, so
/// ties keep the earlier server.
///
/// Stateless: nothing to invalidate.
public struct WeightedLeastConnectionScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        // The first available server seeds the search, as in ip_vs_wlc.c's first loop.
        var least = -1
        for index in pool.indices where pool[index].isAvailable {
            least = index
            break
        }
        guard least >= 0 else { return nil }

        var leastServer = pool[least]
        var leastOverhead = Int64(LeastConnectionScheduler.overhead(leastServer))
        var index = least + 1
        while index < pool.count {
            let server = pool[index]
            // IPVS's second loop skips only overloaded servers, but a weight-0 server cannot win
            // there with the non-negative overheads real counters give (0 > x * w is false), and
            // removed servers are not in its list at all; skipping every unavailable server is
            // the same choice.
            if server.isAvailable {
                let overhead = Int64(LeastConnectionScheduler.overhead(server))
                if leastOverhead * Int64(server.weight) > overhead * Int64(leastServer.weight) {
                    least = index
                    leastServer = server
                    leastOverhead = overhead
                }
            }
            index += 1
        }
        return least
    }
}
