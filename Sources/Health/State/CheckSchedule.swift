/// When checks run: on a fixed grid per checker, so hundreds of checks never drift.
///
/// keepalived re-arms a checker `delay_loop` after its check *finished* (check_tcp.c
/// tcp_epilog: thread_add_timer(..., delay)), so every check's duration pushes the next one
/// later. SwiftLVS keeps each checker on `anchor + k × delay_loop` instead: after a check the
/// next run is the first grid point after now, so a slow check (a timeout) skips a beat instead
/// of shifting every later check. Retries are the exception, as in keepalived: they run
/// `delay_before_retry` after the failed attempt, and the checker returns to its grid after.
///
/// The anchor is the start time plus a warmup offset in [0, warmup] (check_api.c
/// register_checkers_thread draws it at random, to spread checks over the first delay_loop).
public enum CheckSchedule {
    /// The first grid point strictly after `now` for a checker anchored at `anchor`.
    public static func nextGridPoint(after now: Duration, anchor: Duration, period: Duration) -> Duration {
        let p = nanoseconds(period)
        guard p > 0 else { return now }
        let elapsed = nanoseconds(now - anchor)
        if elapsed < 0 { return anchor }
        let k = elapsed / p + 1
        return anchor + .nanoseconds(k * p)
    }

    /// `warmup × fraction`, fraction in [0, 1).
    public static func warmupOffset(_ warmup: Duration, fraction: Double) -> Duration {
        let f = min(max(fraction, 0), 1)
        return .nanoseconds(Int64(Double(nanoseconds(warmup)) * f))
    }

    /// A duration in whole nanoseconds (saturating).
    public static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}

/// A small deterministic generator (SplitMix64) for warmup offsets: the runner seeds it at
/// random, tests with a constant.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
