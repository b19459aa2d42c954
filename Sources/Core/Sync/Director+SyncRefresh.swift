/// The sync master's refresh walk: every synced connection and template noted again once per
/// `SyncSettings.refreshPeriod`, idle ones included.
///
/// IPVS re-sends a connection only when one of its packets passes (`sync_threshold`,
/// `sync_period`, `sync_refresh_period`, ip_vs_sync.c `ip_vs_sync_conn_needed`), so a backup
/// that starts late never hears of a connection that stays quiet: when such a director
/// preempts (keepalived issues #1966 and #237), the quiet connection's next packet finds no
/// entry. The walk bounds that: a backup that has listened for one full period holds every
/// connection the master had when it started listening. `VRRPInstanceConfig.syncRelearnPeriod`
/// holds preemption back that long.
///
/// The walk runs on the worker between batches, a slice per call in proportion to the time
/// since the last one, and never fills more than half the note ring, so packet-driven notes
/// keep their room; whatever it could not take waits for the next call.
extension Director {
    /// Notes the slots due by `now`; a no-op unless this director is a sync master with a
    /// refresh period. Returns the connections and templates noted.
    @discardableResult
    public func refreshSync(now: UInt64) -> Int {
        guard syncMaster else { return 0 }
        let period = sync.settings.refreshPeriod
        guard period > 0 else { return 0 }
        let slots = table.capacity
        if sync.refreshClock == 0 || now < sync.refreshClock {
            sync.refreshClock = now
            return 0
        }
        // Slots owed for the elapsed time, fractions carried to the next call, at most one
        // pass (a stalled worker catches up by one pass, not by many). slots × period stays
        // far below 2⁶⁴ for any table that fits in memory and a period of minutes.
        let elapsed = min(now - sync.refreshClock, period)
        sync.refreshClock = now
        sync.refreshCredit += UInt64(slots) * elapsed
        let owed = Int(sync.refreshCredit / period)
        sync.refreshCredit %= period
        sync.refreshOwed = min(sync.refreshOwed + owed, slots)
        guard sync.refreshOwed > 0 else { return 0 }
        var noted = 0
        let room = sync.capacity / 2
        // At most this many slots per call, so frames never wait behind a long walk (a worker
        // idle for 50 ms owes 1/60 of a 3 s pass; a million-entry table, ~17,000 slots).
        var budget = Self.refreshSlotsPerCall
        while sync.refreshOwed > 0 && sync.count < room && budget > 0 {
            budget -= 1
            let h = ConnectionHandle(sync.refreshCursor)
            let c = table.entry(h)
            if c.pointee.flags.contains(.inUse) && !c.pointee.flags.contains(.unhashed) && c.pointee.expires > now
                && Self.refreshes(c.pointee) {
                sync.append(SyncNote(h, c))
                noted += 1
            }
            sync.refreshOwed -= 1
            if sync.refreshCursor == slots {
                sync.refreshCursor = 1
                sync.counters.refreshPasses &+= 1
            } else {
                sync.refreshCursor += 1
            }
        }
        sync.counters.connectionsRefreshed &+= UInt64(noted)
        return noted
    }

    /// Slots one `refreshSync` call walks at most; what is left is owed to the next call.
    static let refreshSlotsPerCall = 65_536

    /// Templates, UDP, and ESTABLISHED TCP: what a new master needs to carry traffic on.
    /// Half-open connections are never synced, and closing ones are left out: their moves were
    /// synced when they happened, and TIME_WAIT's two minutes would otherwise have the walk
    /// re-send every short connection of the last two minutes. A connection goes without its
    /// template: the template's own slot is walked too, and a backup makes the template when a
    /// connection comes first (`receiveSyncMessage`).
    static func refreshes(_ c: Connection) -> Bool {
        if c.flags.contains(.template) || c.proto == .udp { return true }
        return c.state == .established
    }
}
