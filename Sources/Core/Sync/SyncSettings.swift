import Wire

/// A sync daemon's settings as ipvsadm's `--start-daemon` and the `net.ipv4.vs.sync_*`
/// sysctls give them (ipvsadm(8); Documentation/networking/ipvs-sysctl.rst).
public struct SyncSettings: Hashable, Sendable {
    /// `--syncid`: the group a master stamps on its messages; a backup with a non-zero one
    /// ignores other groups' messages.
    public var syncID: UInt8
    /// `--sync-maxlen`: the most bytes of one message (UDP payload). ipvsadm's default fits a
    /// 1500-byte MTU (1500 − 20 − 8).
    public var maxMessageLength: Int
    /// `sync_threshold` and `sync_period` (3 and 50): a connection that is not changing state
    /// is synced when its client packet count modulo the period equals the threshold — its
    /// 3rd packet, then every 50th. A period of 0 syncs it once, at the threshold. The period
    /// is held in the connection's one spare byte, so it is at most 255.
    public var threshold: UInt8
    public var period: UInt8
    /// Sync notes one worker can hold between two drains; a note that finds the ring full is
    /// counted (`SyncCounters.ringFull`) and lost, as IPVS drops a sync buffer past
    /// `sync_qlen_max`.
    public var ringCapacity: Int
    /// Nanoseconds in which the master walks its whole table and notes every synced
    /// connection and template again, idle ones included (`Director.refreshSync`); 0: never,
    /// as IPVS. A backup that has listened this long holds the whole table, which is what
    /// lets a returning director preempt without losing connections (Docs/connection-sync.md).
    public var refreshPeriod: UInt64
    /// The key of the master's worker-steering hash, sent on FullNAT entries when it runs
    /// several workers (nil: one worker, nothing to agree on).
    public var steeringKey: UInt32?

    public static let defaultMaxMessageLength = 1472
    /// Room for the largest entry lvsd writes (IPv6 with sequence data, the local endpoint,
    /// the client peer, the steering key and the stream shift, padded).
    public static let minimumMaxMessageLength = SyncMessage.headerLength + SyncConnection.ipv6Length + 26 + 20 + 9 + 6 + 17 + 2

    public init(syncID: UInt8 = 0, maxMessageLength: Int = SyncSettings.defaultMaxMessageLength,
                threshold: UInt8 = 3, period: UInt8 = 50, ringCapacity: Int = 4096, refreshPeriod: UInt64 = 0) {
        precondition(maxMessageLength >= Self.minimumMaxMessageLength && maxMessageLength <= 65507,
                     "sync-maxlen \(maxMessageLength) is outside \(Self.minimumMaxMessageLength)...65507")
        // ip_vs_ctl.c refuses a threshold at or above a non-zero period.
        precondition(period == 0 || threshold < period, "sync_threshold must be below sync_period")
        precondition(ringCapacity > 0, "a sync ring holds at least one note")
        self.syncID = syncID
        self.maxMessageLength = maxMessageLength
        self.threshold = threshold
        self.period = period
        self.ringCapacity = ringCapacity
        self.refreshPeriod = refreshPeriod
    }

    /// TCP states a connection is synced in (`ip_vs_sync_conn_needed`): established and the
    /// closing ones; SYN states are not, so a half-open connection never reaches the backup.
    @usableFromInline static let syncedTCPStates: UInt16 =
        1 << ConnectionState.established.rawValue | 1 << ConnectionState.finWait.rawValue
        | 1 << ConnectionState.close.rawValue | 1 << ConnectionState.closeWait.rawValue
        | 1 << ConnectionState.timeWait.rawValue

    /// `ip_vs_sync_conn_needed` without `sync_refresh_period`: whether a client packet that
    /// moved a connection from `before` to `after` (its `packets`-th modulo the period) is synced.
    @inlinable
    func needed(_ proto: TransportProtocol, before: ConnectionState, after: ConnectionState, packets: UInt8) -> Bool {
        if proto == .tcp {
            guard Self.syncedTCPStates & (1 << UInt16(after.rawValue)) != 0 else { return false }
            // A change into a closing state goes at once; into ESTABLISHED it waits for the
            // threshold packet like any other.
            if after != before && after != .established { return true }
        }
        return packets == threshold
    }

    /// The next packet count: modulo the period, or saturating when the period is 0.
    @inlinable
    func counting(_ packets: UInt8) -> UInt8 {
        if period == 0 { return packets == .max ? .max : packets + 1 }
        return packets + 1 >= period ? 0 : packets + 1
    }
}
