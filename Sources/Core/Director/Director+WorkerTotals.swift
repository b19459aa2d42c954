/// Several workers' directors reported as one (`lvsd` at exit, `ipvsadm -L -n` layout).
extension Director {
    /// Adds `other`'s per-real-server and per-service counters (active, inactive and
    /// persistent connections, traffic) to this director's, so that one listing shows the
    /// totals of a multi-worker engine, whose workers run directors of one configuration
    /// (real server i is the same server in each).
    ///
    /// For reporting only, after both directors stopped processing frames: afterwards this
    /// director's counters no longer describe its own connection table, so it must not
    /// process or expire anything again.
    public func addCounters(of other: Director) {
        precondition(other !== self && other.realServerCount == realServerCount && other.services.count == services.count,
                     "addCounters needs another director of the same configuration")
        for i in 0..<realServerCount {
            let theirs = other.realServers[i]
            realServers[i].activeConnections &+= theirs.activeConnections
            realServers[i].inactiveConnections &+= theirs.inactiveConnections
            realServers[i].persistentConnections &+= theirs.persistentConnections
            realServerStats[i].add(other.realServerStats[i])
        }
        for si in services.indices { services[si].stats.add(other.services[si].stats) }
    }
}

extension TrafficStats {
    mutating func add(_ other: TrafficStats) {
        connections &+= other.connections
        packetsIn &+= other.packetsIn
        packetsOut &+= other.packetsOut
        bytesIn &+= other.bytesIn
        bytesOut &+= other.bytesOut
    }
}
