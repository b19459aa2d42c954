import Core
import Wire

/// A real server's health as listings show it.
public struct RealServerHealth: Hashable, Sendable {
    public var service: ServiceKey
    public var endpoint: Endpoint
    public var alive: Bool
    /// The weight it gets in the table now; nil when it is out of the table.
    public var tableWeight: Int32?
    /// keepalived's effective weight (configured, or misc_dynamic's), before clamping.
    public var effectiveWeight: Int64
    public var checkers: [CheckerHealth]
}

/// One checker's state as listings show it.
public struct CheckerHealth: Hashable, Sendable {
    public var id: CheckerID
    public var kind: CheckerKind
    public var target: CheckTarget
    public var up: Bool
    public var hasRun: Bool
    /// Failed attempts in the current retry round.
    public var retries: Int
    public var lastFailure: CheckFailure?
    public var lastRun: Duration?
    /// How long the last check took, from its start to its outcome (timeouts included).
    public var lastDuration: Duration?
}

/// A virtual service's health as listings show it.
public struct ServiceHealth: Hashable, Sendable {
    public var key: ServiceKey
    public var quorumUp: Bool
    public var sorryServerActive: Bool
    /// Sum of alive servers' weights (keepalived weigh_live_realservers).
    public var liveWeight: Int64
    public var realServers: [RealServerHealth]
}

extension HealthModel {
    /// The table entries for service `s`: (endpoint, weight) in plan order, sorry server last.
    /// ipvswrapper.c ipvs_cmd with ipwrapper.c's callers, as a function of the state:
    /// - while the sorry server holds the service, real servers are out (inhibit: weight 0);
    /// - otherwise an alive server has its weight, a failed one is out (inhibit: weight 0);
    /// - the sorry server is in with its weight while active, at weight 0 with
    ///   `sorry_server_inhibit` otherwise.
    func desiredEntries(service s: Int) -> [DesiredEntry] {
        let plan = self.plan.services[s]
        let sorryMode = plan.sorryServer != nil && services[s].sorryActive
        var out: [DesiredEntry] = []
        for (r, rs) in plan.realServers.enumerated() {
            let state = services[s].realServers[r]
            if !sorryMode && state.alive {
                out.append(DesiredEntry(endpoint: rs.endpoint, weight: Int32(Self.realWeight(state.effectiveWeight))))
            } else if rs.inhibitOnFailure {
                out.append(DesiredEntry(endpoint: rs.endpoint, weight: 0))
            }
        }
        if let sorry = plan.sorryServer, sorryMode || sorry.inhibit {
            let weight = sorryMode ? sorry.weight : 0
            // A sorry server that is also a real server (keepalived s_svr_duplicates_rs) keeps one entry.
            if let k = out.firstIndex(where: { $0.endpoint == sorry.endpoint }) {
                if sorryMode { out[k].weight = weight }
            } else {
                out.append(DesiredEntry(endpoint: sorry.endpoint, weight: weight, sorry: sorry))
            }
        }
        return out
    }

    struct DesiredEntry: Hashable {
        var endpoint: Endpoint
        var weight: Int32
        var sorry: SorryServer?
    }

    /// `base` with each health-managed service's real servers replaced by the desired set:
    /// failed servers removed (or at weight 0 with inhibit_on_failure), misc_dynamic weights
    /// applied, the sorry server added while it holds the service. Real servers of `base` the
    /// plan does not list, and services it does not list, are left as they are. Methods and
    /// thresholds come from `base`; a sorry server absent from `base` gets its own method.
    public func desiredConfig(from base: DirectorConfig) -> DirectorConfig {
        var out = base
        for (i, service) in out.services.enumerated() {
            guard let s = plan.services.firstIndex(where: { $0.key == service.key }) else { continue }
            let entries = desiredEntries(service: s)
            let managed = Set(plan.services[s].realServers.map(\.endpoint) + [plan.services[s].sorryServer?.endpoint].compactMap { $0 })
            var servers: [RealServerConfig] = []
            var placed = Set<Endpoint>()
            for rs in service.realServers {
                guard managed.contains(rs.endpoint) else {
                    servers.append(rs)
                    continue
                }
                if let entry = entries.first(where: { $0.endpoint == rs.endpoint }), placed.insert(rs.endpoint).inserted {
                    var copy = rs
                    copy.weight = entry.weight
                    servers.append(copy)
                }
            }
            for entry in entries where !placed.contains(entry.endpoint) {
                guard let sorry = entry.sorry else { continue }
                servers.append(RealServerConfig(address: sorry.endpoint.address, port: sorry.endpoint.port,
                                                weight: entry.weight, method: sorry.method))
            }
            out.services[i].realServers = servers
        }
        return out
    }

    /// Every service's health now, for listings (`lvsadm -L` health column) and tests.
    public var status: [ServiceHealth] {
        var ids: [[[CheckerID]]] = services.map { $0.realServers.map { _ in [] } }
        for (i, c) in checkers.enumerated() { ids[c.service][c.realServer].append(CheckerID(i)) }
        return plan.services.enumerated().map { s, plan in
            let entries = desiredEntries(service: s)
            return ServiceHealth(
                key: plan.key, quorumUp: services[s].quorumUp,
                sorryServerActive: plan.sorryServer != nil && services[s].sorryActive,
                liveWeight: liveWeight(service: s),
                realServers: plan.realServers.enumerated().map { r, rs in
                    let state = services[s].realServers[r]
                    return RealServerHealth(
                        service: plan.key, endpoint: rs.endpoint, alive: state.alive,
                        tableWeight: entries.first(where: { $0.endpoint == rs.endpoint })?.weight,
                        effectiveWeight: state.effectiveWeight,
                        checkers: ids[s][r].map { id in
                            let c = checkers[id.index]
                            return CheckerHealth(id: id, kind: checkerConfigs[id.index].kind, target: checkerConfigs[id.index].target,
                                                 up: c.isUp, hasRun: c.hasRun, retries: c.hasRun ? c.retryIt : 0,
                                                 lastFailure: c.lastFailure, lastRun: c.lastRun, lastDuration: c.lastDuration)
                        })
                })
        }
    }
}
