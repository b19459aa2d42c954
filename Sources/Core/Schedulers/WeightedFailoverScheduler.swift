/// Weighted fail-over scheduling: every new connection goes to the available server with the
/// highest weight; the earliest in the pool among equals. Lower weights are standbys.
///
/// Port of net/netfilter/ipvs/ip_vs_fo.c (`ip_vs_fo_schedule`): the running maximum starts at
/// 0 and a server must beat it strictly, so weight 0 never wins and a tie keeps the earlier
/// server. Connection counters play no part. Overloaded servers are skipped (and removed ones,
/// which IPVS no longer lists).
///
/// Stateless: nothing to invalidate.
public struct WeightedFailoverScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        var best = -1
        var bestWeight: Int32 = 0
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable, server.weight > bestWeight else { continue }
            best = index
            bestWeight = server.weight
        }
        return best >= 0 ? best : nil
    }
}
