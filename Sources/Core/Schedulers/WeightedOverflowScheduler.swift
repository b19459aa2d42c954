/// Overflow scheduling: connections go to the highest-weight server until its active
/// connections exceed its weight, then overflow to the next highest, and so on.
///
/// Port of net/netfilter/ipvs/ip_vs_ovf.c (`ip_vs_ovf_schedule`):
///
/// | step | rule |
/// | --- | --- |
/// | eligible | not overloaded, weight > 0 (not removed), and `activeConnections <= weight`: IPVS skips a server only once active exceeds the weight, so a server with weight w takes connections while it has 0...w active |
/// | choice | the highest weight among the eligible; a later server must be strictly heavier, so ties keep the earlier one |
///
/// Only active connections count, so UDP (always inactive) never overflows; IPVS notes the same.
///
/// Stateless: nothing to invalidate.
public struct WeightedOverflowScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        var best = -1
        var bestWeight: Int32 = 0
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable, server.activeConnections <= server.weight else { continue }
            if best < 0 || server.weight > bestWeight {
                best = index
                bestWeight = server.weight
            }
        }
        return best >= 0 ? best : nil
    }
}
