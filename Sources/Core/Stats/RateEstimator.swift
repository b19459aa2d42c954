/// IPVS's rate estimator (net/netfilter/ipvs/ip_vs_est.c, the 64-bit `estimation_timer`
/// and `ip_vs_read_estimator` of kernels 4.x and later): every two seconds the change in
/// each counter since the last sample becomes a rate, smoothed as
///
///     avg += (rate - avg) / 4          (W = 2^-2, so an 8-second memory)
///
/// in fixed point: connections and packets per second are kept scaled by 2^10 (the
/// difference over 2 s shifted left by 9), bytes per second by 2^5 (shifted left by 4).
/// Reading rounds to the nearest unit: `(cps + 0x1FF) >> 10`, `(bps + 0xF) >> 5`.
///
/// Pure: the caller supplies the counters and the clock (nanoseconds of a monotonic clock),
/// so every value is reproducible in tests. Counters are the summed totals of all workers;
/// they only grow (a `-Z` moves a baseline elsewhere and calls `zero`, as the kernel's
/// `ip_vs_zero_stats` keeps `kstats0` and calls `ip_vs_zero_estimator`).
public struct RateEstimator: Sendable, Hashable {
    /// The kernel's timer period: `mod_timer(&ipvs->est_timer, jiffies + 2*HZ)`.
    public static let interval: UInt64 = 2_000_000_000

    // Scaled averages (`struct ip_vs_estimator`): cps/inpps/outpps × 2^10, in/outbps × 2^5.
    public private(set) var scaledCPS: UInt64 = 0
    public private(set) var scaledInPPS: UInt64 = 0
    public private(set) var scaledOutPPS: UInt64 = 0
    public private(set) var scaledInBPS: UInt64 = 0
    public private(set) var scaledOutBPS: UInt64 = 0
    /// The counters at the last sample (`last_conns`, `last_inpkts`, ...).
    public private(set) var last: TrafficStats
    /// When the next sample is due.
    public private(set) var nextSample: UInt64

    /// Starts estimating from `totals` at `now`; the first sample is two seconds later
    /// (`ip_vs_start_estimator` joins a timer that fires every 2 s).
    public init(totals: TrafficStats = TrafficStats(), now: UInt64) {
        last = totals
        nextSample = now &+ RateEstimator.interval
    }

    /// Takes every sample due by `now`. The first one sees all the change since the last
    /// sample; if the caller was late by whole intervals, the ones it missed see none, as a
    /// kernel timer would that saw the traffic arrive in one interval. Returns the number
    /// of samples taken.
    @discardableResult
    public mutating func update(totals: TrafficStats, now: UInt64) -> Int {
        var taken = 0
        while now >= nextSample {
            sample(totals)
            nextSample &+= RateEstimator.interval
            taken += 1
        }
        return taken
    }

    /// One `estimation_timer` step for this estimator.
    public mutating func sample(_ totals: TrafficStats) {
        Self.smooth(&scaledCPS, (totals.connections &- last.connections) &<< 9)
        Self.smooth(&scaledInPPS, (totals.packetsIn &- last.packetsIn) &<< 9)
        Self.smooth(&scaledOutPPS, (totals.packetsOut &- last.packetsOut) &<< 9)
        Self.smooth(&scaledInBPS, (totals.bytesIn &- last.bytesIn) &<< 4)
        Self.smooth(&scaledOutBPS, (totals.bytesOut &- last.bytesOut) &<< 4)
        last = totals
    }

    /// `e->x += ((s64)rate - (s64)e->x) >> 2`: the difference is taken as signed and shifted
    /// arithmetically, so a falling rate decays towards the new one from above.
    @inline(__always)
    static func smooth(_ average: inout UInt64, _ rate: UInt64) {
        let delta = Int64(bitPattern: rate) &- Int64(bitPattern: average)
        average &+= UInt64(bitPattern: delta >> 2)
    }

    /// `ip_vs_zero_estimator`: the averages restart at zero from the counters as they are now.
    public mutating func zero(totals: TrafficStats) {
        last = totals
        scaledCPS = 0
        scaledInPPS = 0
        scaledOutPPS = 0
        scaledInBPS = 0
        scaledOutBPS = 0
    }

    /// The rates as `ipvsadm --rate` shows them (`ip_vs_read_estimator`).
    public var rates: TrafficRates {
        TrafficRates(connectionsPerSecond: (scaledCPS &+ 0x1FF) >> 10,
                     packetsInPerSecond: (scaledInPPS &+ 0x1FF) >> 10,
                     packetsOutPerSecond: (scaledOutPPS &+ 0x1FF) >> 10,
                     bytesInPerSecond: (scaledInBPS &+ 0xF) >> 5,
                     bytesOutPerSecond: (scaledOutBPS &+ 0xF) >> 5)
    }
}

/// Estimated rates of one service or real server (the rate half of `struct ip_vs_kstats`).
public struct TrafficRates: Sendable, Hashable, Codable {
    public var connectionsPerSecond: UInt64
    public var packetsInPerSecond: UInt64
    public var packetsOutPerSecond: UInt64
    public var bytesInPerSecond: UInt64
    public var bytesOutPerSecond: UInt64

    public init(connectionsPerSecond: UInt64 = 0, packetsInPerSecond: UInt64 = 0, packetsOutPerSecond: UInt64 = 0,
                bytesInPerSecond: UInt64 = 0, bytesOutPerSecond: UInt64 = 0) {
        self.connectionsPerSecond = connectionsPerSecond
        self.packetsInPerSecond = packetsInPerSecond
        self.packetsOutPerSecond = packetsOutPerSecond
        self.bytesInPerSecond = bytesInPerSecond
        self.bytesOutPerSecond = bytesOutPerSecond
    }
}
