import Wire

/// Locality-based least-connection scheduling: each destination address sticks to the server
/// it was last given, for cache clusters, unless that server is gone, quiesced or clearly
/// overloaded; then weighted least-connection picks a new one and the cache remembers it.
///
/// Port of net/netfilter/ipvs/ip_vs_lblc.c (`ip_vs_lblc_schedule`, `__ip_vs_lblc_schedule`,
/// `is_overloaded`, `ip_vs_lblc_new`), with the cache bounded as `LocalityCache` describes:
///
/// | step | rule |
/// | --- | --- |
/// | key | the flow's destination (virtual) address |
/// | hit | refresh the entry's last use; keep its server if not removed, weight > 0 and not *lblc-overloaded* |
/// | lblc-overloaded | `active > weight` while some configured server has `active × 2 < weight` (someone is under half load) |
/// | miss or rejected | wlc over every server that is not flag-overloaded and has weight > 0 (`__ip_vs_lblc_schedule` is wlc's rule); none means no server and the entry is left alone; otherwise the entry now maps to that server |
/// | expiry | an entry unused for `expiration` (sysctl `lblc_expiration`, default 24 h) is gone |
///
/// IPVS does not test the threshold overload flag (`-x`) of a cached server, only the lblc
/// rule above, so a cached destination keeps reaching a server past its upper threshold; this
/// port keeps that. The clock is `FlowTuple.now`.
///
/// Invalidated by: nothing in IPVS (lblc has no add_dest/del_dest hooks, the cache survives
/// pool changes). Here a pool change rebuilds the scheduler and so starts an empty cache: the
/// Director makes a new instance on every weight edit or removal.
public struct LocalityBasedLeastConnectionScheduler: Scheduler {
    /// DEFAULT_EXPIRATION of ip_vs_lblc.c: 24 hours, in nanoseconds.
    public static let defaultExpiration: UInt64 = 24 * 60 * 60 * 1_000_000_000

    @usableFromInline let cache: LocalityCache

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        self.init(pool: pool, flags: flags, expiration: Self.defaultExpiration)
    }

    public init(pool: RealServerPool, flags: SchedulerFlags, expiration: UInt64) {
        cache = LocalityCache(width: 1, expiration: expiration)
    }

    /// `is_overloaded` of ip_vs_lblc.c / ip_vs_lblcr.c: more active connections than weight,
    /// while another configured server runs below half its weight.
    @inlinable
    static func isLocalityOverloaded(_ server: RealServer, in pool: RealServerPool) -> Bool {
        guard server.activeConnections > server.weight else { return false }
        for index in pool.indices where !pool[index].isRemoved {
            if Int64(pool[index].activeConnections) * 2 < Int64(pool[index].weight) { return true }
        }
        return false
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let now = flow.now
        let entry = cache.find(flow.virtualAddress, now: now)
        if let entry {
            cache.lastUse[entry] = now
            let cached = cache.member(entry, 0)
            if cached >= 0, cached < pool.count {
                let server = pool[cached]
                if !server.isRemoved && server.weight > 0 && !Self.isLocalityOverloaded(server, in: pool) {
                    return cached
                }
            }
        }
        var wlc = WeightedLeastConnectionScheduler(pool: pool, flags: [])
        guard let chosen = wlc.select(from: pool, flow: flow) else { return nil }
        if let entry {
            cache.members[entry * cache.width] = Int32(chosen)
        } else {
            _ = cache.insert(flow.virtualAddress, server: Int32(chosen), now: now)
        }
        return chosen
    }
}
