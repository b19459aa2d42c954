import Wire

/// The RFC timers, in nanoseconds of the injected clock.
///
/// RFC 5798 §6.1: Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256 and
/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, both in centiseconds.
/// RFC 3768 §6.1 (v2): Skew_Time = (256 − Priority) / 256 seconds, whatever the interval.
/// keepalived computes the same in microseconds (vrrp.h `VRRP_TIMER_SKEW`,
/// `VRRP_MS_DOWN_TIMER`) with `down_timer_adverts` in place of 3, and an owner's skew
/// from 255 even while its priority is lowered.
public enum VRRPTimers {
    public static let nanosecondsPerCentisecond: UInt64 = 10_000_000
    public static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    /// Skew_Time for `priority` (1...255) at `masterInterval` centiseconds.
    public static func skew(version: VRRPVersion, priority: UInt8, masterInterval: UInt16) -> UInt64 {
        let weight = UInt64(256 - Int(priority))
        switch version {
        case .v2: return weight * nanosecondsPerSecond / 256
        case .v3: return weight * UInt64(masterInterval) * nanosecondsPerCentisecond / 256
        }
    }

    /// Master_Down_Interval: `adverts` × the master's interval + Skew_Time.
    public static func masterDown(version: VRRPVersion, priority: UInt8, masterInterval: UInt16, adverts: UInt64 = 3) -> UInt64 {
        adverts * UInt64(masterInterval) * nanosecondsPerCentisecond
            + skew(version: version, priority: priority, masterInterval: masterInterval)
    }
}
