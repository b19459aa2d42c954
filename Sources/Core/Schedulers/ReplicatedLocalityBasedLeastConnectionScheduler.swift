import Wire

/// Locality-based least-connection with replication: each destination address maps to a set
/// of servers; the least loaded member serves it, the set grows when that member is clearly
/// overloaded, and shrinks by its busiest member when it has not changed for a while.
///
/// Port of net/netfilter/ipvs/ip_vs_lblcr.c (`ip_vs_lblcr_schedule`, `__ip_vs_lblcr_schedule`,
/// `ip_vs_dest_set_min`, `ip_vs_dest_set_max`, `ip_vs_dest_set_insert`, `is_overloaded`), with
/// the cache bounded as `LocalityCache` describes:
///
/// | step | rule |
/// | --- | --- |
/// | key | the flow's destination (virtual) address |
/// | set minimum | members newest first; the first that is not flag-overloaded, has weight > 0 and is not removed seeds; a later one that is not flag-overloaded and not removed replaces it when `oh(min) × w > oh × w(min)` (wlc's overhead, strict) |
/// | set maximum | the first member with weight > 0 seeds; a later one with weight > 0 replaces it when `oh(max) × w < oh × w(max)` |
/// | hit | refresh last use; take the set minimum; then, if the set has more than one member and has not changed for more than `expiration`, erase the set maximum (which may be that minimum: it still serves this flow) |
/// | keep | the set minimum, if any and not *lblc-overloaded* (`active > weight` while some server has `active × 2 < weight`) |
/// | otherwise | wlc over all servers not flag-overloaded with weight > 0; none means no server; the choice joins the set at its head (no change if already a member) |
/// | miss | wlc as above; a new entry with that one server |
/// | expiry | an entry unused for `expiration` (sysctl `lblcr_expiration`, default 24 h) is gone |
///
/// Sets are bounded at `setCapacity` members (IPVS's are unbounded, at most the pool): a ninth
/// server replaces the set maximum, or the oldest member when no member has weight > 0.
/// The clock is `FlowTuple.now`.
///
/// Invalidated by: nothing in IPVS (the cache survives pool changes). Here a pool change
/// rebuilds the scheduler and so starts an empty cache.
public struct ReplicatedLocalityBasedLeastConnectionScheduler: Scheduler {
    /// DEFAULT_EXPIRATION of ip_vs_lblcr.c: 24 hours, in nanoseconds.
    public static let defaultExpiration: UInt64 = 24 * 60 * 60 * 1_000_000_000
    public static let setCapacity = 8

    @usableFromInline let cache: LocalityCache

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        self.init(pool: pool, flags: flags, expiration: Self.defaultExpiration)
    }

    public init(pool: RealServerPool, flags: SchedulerFlags, expiration: UInt64) {
        cache = LocalityCache(width: Self.setCapacity, expiration: expiration)
    }

    /// `ip_vs_dest_set_min`: the member position of the least loaded usable server.
    @inlinable
    func setMinimum(_ entry: Int, _ pool: RealServerPool) -> Int? {
        var least: Int? = nil
        var leastOverhead: Int64 = 0, leastWeight: Int64 = 0
        for k in 0..<Int(cache.counts[entry]) {
            let index = cache.member(entry, k)
            guard index >= 0, index < pool.count else { continue }
            let server = pool[index]
            guard !server.isOverloaded, !server.isRemoved else { continue }
            let overhead = Int64(LeastConnectionScheduler.overhead(server)), weight = Int64(server.weight)
            if least == nil {
                guard weight > 0 else { continue }
            } else if !(leastOverhead * weight > overhead * leastWeight) {
                continue
            }
            least = k
            leastOverhead = overhead
            leastWeight = weight
        }
        return least
    }

    /// `ip_vs_dest_set_max`: the member position of the most loaded server with weight > 0.
    @inlinable
    func setMaximum(_ entry: Int, _ pool: RealServerPool) -> Int? {
        var most: Int? = nil
        var mostOverhead: Int64 = 0, mostWeight: Int64 = 0
        for k in 0..<Int(cache.counts[entry]) {
            let index = cache.member(entry, k)
            guard index >= 0, index < pool.count else { continue }
            let server = pool[index]
            let overhead = Int64(LeastConnectionScheduler.overhead(server)), weight = Int64(server.weight)
            guard weight > 0 else { continue }
            if most != nil && !(mostOverhead * weight < overhead * mostWeight) { continue }
            most = k
            mostOverhead = overhead
            mostWeight = weight
        }
        return most
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let now = flow.now
        var wlc = WeightedLeastConnectionScheduler(pool: pool, flags: [])
        guard let entry = cache.find(flow.virtualAddress, now: now) else {
            guard let chosen = wlc.select(from: pool, flow: flow) else { return nil }
            _ = cache.insert(flow.virtualAddress, server: Int32(chosen), now: now)
            return chosen
        }
        cache.lastUse[entry] = now
        let minimum = setMinimum(entry, pool).map { cache.member(entry, $0) }
        if cache.counts[entry] > 1 && now > cache.lastModified[entry] &+ cache.expiration,
           let most = setMaximum(entry, pool) {
            cache.remove(at: most, from: entry, now: now)
        }
        if let minimum, !LocalityBasedLeastConnectionScheduler.isLocalityOverloaded(pool[minimum], in: pool) {
            return minimum
        }
        guard let chosen = wlc.select(from: pool, flow: flow) else { return nil }
        let evict = setMaximum(entry, pool) ?? (Int(cache.counts[entry]) - 1)
        cache.add(Int32(chosen), to: entry, now: now, evicting: evict)
        return chosen
    }
}
