import Core
import Wire

/// The daemon's bookkeeping behind `--stats`, `--rate` and `-Z`: one `StatsAccount` per
/// service and per real server, keyed by service and real-server endpoint, fed with the
/// raw totals the workers count.
///
/// The daemon builds a raw snapshot (counters as the workers have them, summed), calls
/// `tick` at least every two seconds so the estimators sample on time, and calls
/// `present` before answering a listing: it replaces each counter with the count since the
/// last `-Z` and fills in the rates. An account appears the first time its key is seen
/// (starting at zero, as a new IPVS service does) and disappears with it. If a total ever
/// goes down (the engine rebuilt its counters), the account starts over from it rather than
/// showing a wrapped number.
public struct StatisticsBook: Sendable {
    struct ServerKey: Hashable, Sendable {
        var service: ServiceKey
        var endpoint: Endpoint
    }

    private var services: [ServiceKey: StatsAccount] = [:]
    private var servers: [ServerKey: StatsAccount] = [:]

    public init() {}

    /// Feeds every estimator with `raw`'s totals (opening and closing accounts as services
    /// and real servers come and go).
    public mutating func tick(_ raw: AdminSnapshot, now: UInt64) {
        var seenServices: Set<ServiceKey> = []
        var seenServers: Set<ServerKey> = []
        for service in raw.services {
            seenServices.insert(service.key)
            Self.tick(&services, service.key, service.stats.trafficStats, now)
            for server in service.realServers {
                let key = ServerKey(service: service.key, endpoint: server.endpoint)
                seenServers.insert(key)
                Self.tick(&servers, key, server.stats.trafficStats, now)
            }
        }
        services = services.filter { seenServices.contains($0.key) }
        servers = servers.filter { seenServers.contains($0.key) }
    }

    private static func tick<Key: Hashable>(_ accounts: inout [Key: StatsAccount], _ key: Key, _ totals: TrafficStats, _ now: UInt64) {
        guard var account = accounts[key], !wentDown(totals, account) else {
            // New here, or the counters restarted: everything counted so far shows (zero
            // point 0, as a fresh IPVS object's), and rates start from now.
            accounts[key] = StatsAccount(totals: totals, now: now, zeroPoint: TrafficStats())
            return
        }
        account.tick(totals: totals, now: now)
        accounts[key] = account
    }

    private static func wentDown(_ totals: TrafficStats, _ account: StatsAccount) -> Bool {
        let last = account.estimator.last
        return totals.connections < last.connections || totals.packetsIn < last.packetsIn
            || totals.packetsOut < last.packetsOut || totals.bytesIn < last.bytesIn || totals.bytesOut < last.bytesOut
    }

    /// `-Z` (`key` nil: every service): counters and rates of the service and its real
    /// servers restart at zero from the totals in `raw` (`ip_vs_zero_service`,
    /// `ip_vs_zero_all`).
    public mutating func zero(_ key: ServiceKey?, in raw: AdminSnapshot, now: UInt64) {
        for service in raw.services where key == nil || service.key == key {
            Self.zero(&services, service.key, service.stats.trafficStats, now)
            for server in service.realServers {
                Self.zero(&servers, ServerKey(service: service.key, endpoint: server.endpoint), server.stats.trafficStats, now)
            }
        }
    }

    private static func zero<Key: Hashable>(_ accounts: inout [Key: StatsAccount], _ key: Key, _ totals: TrafficStats, _ now: UInt64) {
        var account = accounts[key] ?? StatsAccount(totals: totals, now: now)
        account.zero(totals: totals)
        accounts[key] = account
    }

    /// `raw` with each counter as counted since the last `-Z` and the estimated rates.
    public func present(_ raw: AdminSnapshot) -> AdminSnapshot {
        var shown = raw
        for s in shown.services.indices {
            let key = shown.services[s].key
            if let account = services[key] {
                shown.services[s].stats = AdminSnapshot.Counters(account.shown(raw.services[s].stats.trafficStats))
                shown.services[s].rates = account.rates
            }
            for r in shown.services[s].realServers.indices {
                let server = shown.services[s].realServers[r]
                if let account = servers[ServerKey(service: key, endpoint: server.endpoint)] {
                    shown.services[s].realServers[r].stats = AdminSnapshot.Counters(account.shown(server.stats.trafficStats))
                    shown.services[s].realServers[r].rates = account.rates
                }
            }
        }
        return shown
    }
}
