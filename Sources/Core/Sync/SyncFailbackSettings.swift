/// Failback under keepalived's `lvs_sync_daemon` (Docs/connection-sync.md, "Failback"): how
/// often a master started by VRRP re-sends every connection, and how long a director that
/// became BACKUP holds back preemption while it relearns them. lvsd's words on that line:
/// `refresh SECONDS` (1 to 3600) and `relearn SECONDS` (0 to 3600, 0 for keepalived's
/// "preempt at once"); a non-zero hold must cover one refresh period. lvsadm's daemons do
/// not walk and do not hold (IPVS's behaviour).
public struct SyncFailbackSettings: Sendable, Hashable {
    /// The master's refresh walk period (`SyncSettings.refreshPeriod`), nanoseconds.
    public var refreshPeriod: UInt64
    /// The returning director's preemption hold (`VRRPInstanceConfig.syncRelearnPeriod`),
    /// nanoseconds; 0 for none.
    public var relearnPeriod: UInt64

    public init(refreshPeriod: UInt64 = SyncDaemonSettings.vrrpRefreshPeriod,
                relearnPeriod: UInt64 = SyncDaemonSettings.vrrpRelearnPeriod) {
        self.refreshPeriod = refreshPeriod
        self.relearnPeriod = relearnPeriod
    }

    /// Why these periods cannot work together, as a sentence; nil when they can.
    public var problem: String? {
        guard relearnPeriod != 0, relearnPeriod < refreshPeriod else { return nil }
        return "relearn \(relearnPeriod / 1_000_000_000) s is shorter than refresh \(refreshPeriod / 1_000_000_000) s: a returning director could preempt before one whole refresh pass reached it; give relearn at least the refresh period, or 0 for no hold"
    }
}
