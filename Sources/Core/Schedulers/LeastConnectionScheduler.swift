/// Least-connection scheduling: the available server with the smallest connection overhead
/// wins; among equals, the one earliest in the pool.
///
/// Port of net/netfilter/ipvs/ip_vs_lc.c (`ip_vs_lc_schedule`) with the overhead of
/// include/net/ip_vs.h (`ip_vs_dest_conn_overhead`): active × 256 + inactive. Weights do not
/// scale the load here; a weight of 0 (or an overloaded or removed server) only excludes the
/// server. The comparison is strict, so a later server must be strictly lighter to win.
///
/// Stateless: nothing to invalidate.
public struct LeastConnectionScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    /// `ip_vs_dest_conn_overhead`, with its 32-bit wrap-around: IPVS computes it in `int`
    /// (shift then add) before lc reads it as `unsigned int` and wlc as `int`.
    @inlinable
    static func overhead(_ server: RealServer) -> Int32 {
        (server.activeConnections &<< 8) &+ server.inactiveConnections
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        var least = -1
        var leastOverhead: UInt32 = 0
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable else { continue }
            // ip_vs_lc.c holds the overhead in an unsigned int.
            let overhead = UInt32(bitPattern: Self.overhead(server))
            if least < 0 || overhead < leastOverhead {
                least = index
                leastOverhead = overhead
            }
        }
        return least < 0 ? nil : least
    }
}
