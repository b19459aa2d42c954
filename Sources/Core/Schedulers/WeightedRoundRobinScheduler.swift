/// Weighted round-robin: servers take turns in proportion to their weights, interleaved rather
/// than in bursts (weights 4, 3, 2 give A A B A B C A B C, then again).
///
/// Port of net/netfilter/ipvs/ip_vs_wrr.c (`ip_vs_wrr_init_svc`, `ip_vs_wrr_schedule`). The
/// scheduler sweeps the pool repeatedly with a falling threshold `cw`; a sweep picks every
/// server whose weight reaches the threshold. The threshold starts at `mw` and drops by `di`
/// (the gcd of the positive weights) after each sweep. IPVS lowers `mw` by `di - 1` so that
/// the last sweep runs at threshold 1, catching a weight that fell below `di` while the
/// scheduler was running; the sequence for weights that are multiples of `di` is unchanged.
///
/// A server is eligible when it is available (positive weight, not overloaded, not removed)
/// and its weight reaches the threshold; IPVS tests only "not overloaded and weight >= cw",
/// which is the same thing because `cw` is at least 1 whenever it is compared.
///
/// Invalidated by: a pool change (servers added, removed, weights edited). `init` runs again
/// and, like `ip_vs_wrr_init_svc`, restarts from the list head at the highest threshold.
/// (IPVS's `ip_vs_wrr_dest_changed` would keep a partly-swept threshold; a rebuilt scheduler
/// has no history to keep.)
public struct WeightedRoundRobinScheduler: Scheduler {
    /// The server chosen last (`mark->cl`); -1 is the list head.
    @usableFromInline var cursor: Int
    /// Current threshold (`mark->cw`).
    @usableFromInline var currentWeight: Int32
    /// Highest threshold (`mark->mw`): the maximum weight minus (gcd - 1); 0 when no server
    /// has a positive weight.
    @usableFromInline var maximumWeight: Int32
    /// Threshold step (`mark->di`): gcd of the positive weights, 1 when there are none.
    @usableFromInline var step: Int32

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        var divisor: Int32 = 0
        var maximum: Int32 = 0
        for index in pool.indices {
            let server = pool[index]
            // Removed servers are gone from IPVS's destination list; overloaded and quiescent
            // ones still count, as they do in ip_vs_wrr_gcd_weight and ip_vs_wrr_max_weight.
            guard !server.isRemoved else { continue }
            let weight = server.weight
            if weight > 0 {
                divisor = divisor > 0 ? Self.gcd(weight, divisor) : weight
            }
            if weight > maximum { maximum = weight }
        }
        step = divisor > 0 ? divisor : 1
        maximumWeight = maximum - (step - 1)
        currentWeight = maximumWeight
        cursor = -1
    }

    @usableFromInline static func gcd(_ a: Int32, _ b: Int32) -> Int32 {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let count = pool.count
        // An out-of-range cursor means the pool shrank without a rebuild; treat it as the head.
        if cursor >= count { cursor = -1 }
        guard maximumWeight != 0 else { return nil }

        let last = cursor
        var position = cursor
        // `stop` bounds the final sweep once the threshold has wrapped: the servers after
        // `last` were already tried at threshold 1, so the last sweep ends at `last`.
        var stop = Int.min
        var lastPass = false
        var restarted = false
        while true {
            var index = position + 1
            while index < count {
                let server = pool[index]
                if server.isAvailable && server.weight >= currentWeight {
                    cursor = index
                    return index
                }
                if index == stop {
                    cursor = index
                    return nil
                }
                index += 1
            }
            // The sweep reached the end of the list: IPVS's iterator now sits on the head.
            position = -1
            currentWeight -= step
            if currentWeight <= 0 {
                currentWeight = maximumWeight
                // Every server has been tried at threshold 1, either in this call's last pass
                // or because the search began at the head and covered the whole list.
                if lastPass || last == -1 {
                    cursor = -1
                    return nil
                }
                restarted = true
            }
            lastPass = currentWeight <= step
            if lastPass && restarted && last != -1 {
                stop = last
            }
        }
    }
}
