import Control
import Core
import Wire

/// What the web monitor draws, as JSON (`/api/state` and each server-sent event): the same
/// observation the metrics come from, shaped for a page.
public struct MonitorState: Codable, Sendable, Hashable {
    public struct Rates: Codable, Sendable, Hashable {
        public var connections: UInt64
        public var packetsIn: UInt64
        public var packetsOut: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64

        init(_ r: TrafficRates) {
            connections = r.connectionsPerSecond
            packetsIn = r.packetsInPerSecond
            packetsOut = r.packetsOutPerSecond
            bytesIn = r.bytesInPerSecond
            bytesOut = r.bytesOutPerSecond
        }
    }

    public struct RealServer: Codable, Sendable, Hashable {
        public var endpoint: String
        public var method: String
        public var weight: Int32
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32
        public var connections: UInt64
        /// UP, DOWN, or "unchecked" when no checker watches it.
        public var health: String
        /// Why it is down, in the checkers' words.
        public var reason: String
        public var rates: Rates
        /// False for a server its checkers took out of the table (keepalived removes it from
        /// IPVS): listed from the checkers' view, with no counters.
        public var inTable: Bool = true
    }

    public struct Service: Codable, Sendable, Hashable {
        public var name: String
        public var scheduler: String
        public var connections: UInt64
        public var rates: Rates
        public var realServers: [RealServer]
    }

    public struct Instance: Codable, Sendable, Hashable {
        public var name: String
        public var state: String
        public var priority: Int
    }

    public var services: [Service]
    public var tableEntries: Int
    public var tableCapacity: Int
    /// Non-zero drop reasons, by name.
    public var drops: [String: UInt64]
    public var framesReceived: UInt64
    public var framesForwarded: UInt64
    public var rates: Rates
    public var vrrp: [Instance]
    /// Seconds since lvsd's monotonic clock started: the charts' x axis.
    public var time: Double
    /// Each service's recent rates, oldest first (only in the page's first state).
    var history: [String: MonitorHistory.Series]?

    public init(_ o: DirectorObservation) {
        let health = Dictionary(o.health.map { (Key($0.service, $0.endpoint), $0) }, uniquingKeysWith: { a, _ in a })
        services = o.snapshot.services.map { service in
            let proto = service.key.proto == .tcp ? "TCP" : "UDP"
            var rows = service.realServers.map { rs in
                let checked = health[Key(service.key, rs.endpoint)]
                return RealServer(
                    endpoint: rs.endpoint.description, method: rs.method.description, weight: rs.weight,
                    activeConnections: rs.activeConnections, inactiveConnections: rs.inactiveConnections,
                    connections: rs.stats.connections, health: checked.map { $0.alive ? "UP" : "DOWN" } ?? "unchecked",
                    reason: checked?.downReason ?? "", rates: Rates(rs.rates))
            }
            let listed = Set(service.realServers.map(\.endpoint))
            for checked in o.health where checked.service == service.key && !listed.contains(checked.endpoint) {
                rows.append(RealServer(
                    endpoint: checked.endpoint.description, method: "", weight: 0, activeConnections: 0, inactiveConnections: 0,
                    connections: 0, health: checked.alive ? "UP" : "DOWN", reason: checked.downReason,
                    rates: Rates(TrafficRates()), inTable: false))
            }
            return Service(
                name: "\(proto) \(Endpoint(service.key.address, service.key.port))", scheduler: service.scheduler,
                connections: service.stats.connections, rates: Rates(service.rates), realServers: rows)
        }
        tableEntries = o.tableEntries
        tableCapacity = o.tableCapacity
        var drops: [String: UInt64] = [:]
        for reason in DropReason.allCases {
            let n = o.dropped(reason)
            if n > 0 { drops[reason.description] = n }
        }
        self.drops = drops
        framesReceived = o.workers.reduce(0) { $0 &+ $1.framesReceived }
        framesForwarded = o.workers.reduce(0) { $0 &+ $1.framesForwarded }
        rates = Rates(o.totalRates)
        vrrp = o.vrrp.map { Instance(name: $0.name, state: $0.state, priority: $0.effectivePriority) }
        time = Double(o.takenAt) / 1e9
    }

    private struct Key: Hashable {
        var service: ServiceKey
        var endpoint: Endpoint
        init(_ service: ServiceKey, _ endpoint: Endpoint) {
            self.service = service
            self.endpoint = endpoint
        }
    }
}
