/// The statistics of one service or real server as the control plane shows them: the
/// workers' counters only ever grow (each worker owns its own, summed without locks), so
/// `ipvsadm -Z` moves a zero point instead of clearing them, as the kernel's
/// `ip_vs_zero_stats` keeps `kstats0` and reports `kstats - kstats0`
/// (net/netfilter/ipvs/ip_vs_ctl.c, `ip_vs_export_stats_user`). Rates come from a
/// `RateEstimator` fed with the same totals.
public struct StatsAccount: Sendable, Hashable {
    /// The totals at the last `-Z` (or when the account was opened).
    public private(set) var zeroPoint: TrafficStats
    public private(set) var estimator: RateEstimator

    /// Opens an account whose rates start from `totals` as they are at `now`, and whose
    /// counters count from `zeroPoint` (by default `totals`, so it shows zero).
    public init(totals: TrafficStats = TrafficStats(), now: UInt64, zeroPoint: TrafficStats? = nil) {
        self.zeroPoint = zeroPoint ?? totals
        estimator = RateEstimator(totals: totals, now: now)
    }

    /// The counters since the last zeroing.
    public func shown(_ totals: TrafficStats) -> TrafficStats { totals.since(zeroPoint) }

    public var rates: TrafficRates { estimator.rates }

    /// Feeds the estimator; call at least every two seconds.
    public mutating func tick(totals: TrafficStats, now: UInt64) {
        estimator.update(totals: totals, now: now)
    }

    /// `ipvsadm -Z`: counters and rates restart at zero (`ip_vs_zero_stats`).
    public mutating func zero(totals: TrafficStats) {
        zeroPoint = totals
        estimator.zero(totals: totals)
    }
}

extension TrafficStats {
    /// Field-wise `self - base`, wrapping like the kernel's u64 counters.
    public func since(_ base: TrafficStats) -> TrafficStats {
        var d = TrafficStats()
        d.connections = connections &- base.connections
        d.packetsIn = packetsIn &- base.packetsIn
        d.packetsOut = packetsOut &- base.packetsOut
        d.bytesIn = bytesIn &- base.bytesIn
        d.bytesOut = bytesOut &- base.bytesOut
        return d
    }

    /// Field-wise sum, for adding up the workers' counters.
    public static func &+ (a: TrafficStats, b: TrafficStats) -> TrafficStats {
        var s = TrafficStats()
        s.connections = a.connections &+ b.connections
        s.packetsIn = a.packetsIn &+ b.packetsIn
        s.packetsOut = a.packetsOut &+ b.packetsOut
        s.bytesIn = a.bytesIn &+ b.bytesIn
        s.bytesOut = a.bytesOut &+ b.bytesOut
        return s
    }
}
