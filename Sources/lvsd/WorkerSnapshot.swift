import Control
import Core

extension AdminSnapshot {
    /// Several workers' directors as one table (Docs/adr/0002): the workers run one
    /// configuration, each with its own connection table, so `size=` is their tables'
    /// total and every counter — a real server's active, inactive and persistent
    /// connections and traffic, a service's traffic, a local address's connections — and the
    /// connection list are the workers' added together.
    init(workers: [Director], now: UInt64, includeConnections: Bool) {
        self.init(merging: workers.map { AdminSnapshot(director: $0, now: now, includeConnections: includeConnections) })
    }

    /// Each worker's own snapshot (taken on its thread), added up as above.
    init(merging parts: [AdminSnapshot]) {
        self = parts.first ?? AdminSnapshot(tableSize: 0)
        for other in parts.dropFirst() {
            tableSize += other.tableSize
            connections += other.connections
            for theirs in other.services {
                guard let s = services.firstIndex(where: { $0.key == theirs.key }) else { continue }
                services[s].stats = Counters(services[s].stats.trafficStats &+ theirs.stats.trafficStats)
                for server in theirs.realServers {
                    guard let r = services[s].realServers.firstIndex(where: { $0.endpoint == server.endpoint }) else { continue }
                    services[s].realServers[r].activeConnections &+= server.activeConnections
                    services[s].realServers[r].inactiveConnections &+= server.inactiveConnections
                    services[s].realServers[r].persistentConnections &+= server.persistentConnections
                    services[s].realServers[r].stats = Counters(services[s].realServers[r].stats.trafficStats &+ server.stats.trafficStats)
                }
                for local in theirs.localAddresses {
                    guard let l = services[s].localAddresses.firstIndex(where: { $0.address == local.address }) else { continue }
                    services[s].localAddresses[l].connections &+= local.connections
                }
            }
        }
    }
}
