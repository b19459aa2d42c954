import Control
import Core
import Wire

/// Everything lvsd exports at one moment: the listing lvsadm gets (counters since the last
/// `-Z`, with the estimator's rates), each worker's frame and drop counters, the health
/// checkers' view and the VRRP instances. Built off the packet path (lvsd reads the workers
/// between their batches, as for `lvsadm -L --stats`); the exporters only read it.
public struct DirectorObservation: Sendable, Hashable {
    public var snapshot: AdminSnapshot
    public var workers: [WorkerObservation]
    public var health: [RealServerHealthObservation]
    public var vrrp: [VRRPObservation]
    /// Monotonic nanoseconds when it was taken.
    public var takenAt: UInt64

    public init(snapshot: AdminSnapshot, workers: [WorkerObservation] = [], health: [RealServerHealthObservation] = [],
                vrrp: [VRRPObservation] = [], takenAt: UInt64 = 0) {
        self.snapshot = snapshot
        self.workers = workers
        self.health = health
        self.vrrp = vrrp
        self.takenAt = takenAt
    }

    /// The totals over every service (the kernel's `tot_stats`, what /proc/net/ip_vs_stats shows).
    public var totals: AdminSnapshot.Counters {
        var total = TrafficStats()
        for service in snapshot.services { total = total &+ service.stats.trafficStats }
        return AdminSnapshot.Counters(total)
    }

    /// The totals' rates, added up over the services.
    public var totalRates: TrafficRates {
        var r = TrafficRates()
        for s in snapshot.services {
            r.connectionsPerSecond &+= s.rates.connectionsPerSecond
            r.packetsInPerSecond &+= s.rates.packetsInPerSecond
            r.packetsOutPerSecond &+= s.rates.packetsOutPerSecond
            r.bytesInPerSecond &+= s.rates.bytesInPerSecond
            r.bytesOutPerSecond &+= s.rates.bytesOutPerSecond
        }
        return r
    }

    /// Connections in every worker's table.
    public var tableEntries: Int { workers.reduce(0) { $0 &+ $1.tableEntries } }
    /// Every worker's table capacity added up (`--connections`).
    public var tableCapacity: Int { workers.reduce(0) { $0 &+ $1.tableCapacity } }

    /// A drop reason's count over every worker.
    public func dropped(_ reason: DropReason) -> UInt64 {
        workers.reduce(0) { $0 &+ $1.drops[Int(reason.rawValue)] }
    }

    public func passed(_ reason: PassReason) -> UInt64 {
        workers.reduce(0) { $0 &+ $1.passes[Int(reason.rawValue)] }
    }
}

/// One worker's director counters, read on the worker's own thread.
public struct WorkerObservation: Sendable, Hashable {
    public var index: Int
    public var framesReceived: UInt64
    public var framesForwarded: UInt64
    public var framesAnswered: UInt64
    public var framesPassed: UInt64
    public var framesDropped: UInt64
    public var tableEntries: Int
    public var tableCapacity: Int
    /// Indexed by `DropReason.rawValue` / `PassReason.rawValue`.
    public var drops: [UInt64]
    public var passes: [UInt64]
    /// The packet engine's own counters by name (rx-ring-drops, tx-ring-full, ...), in its order.
    public var engine: [EngineEvent] = []

    public struct EngineEvent: Sendable, Hashable {
        public var name: String
        public var count: UInt64
        public init(name: String, count: UInt64) {
            self.name = name
            self.count = count
        }
    }

    public init(index: Int, framesReceived: UInt64 = 0, framesForwarded: UInt64 = 0, framesAnswered: UInt64 = 0,
                framesPassed: UInt64 = 0, framesDropped: UInt64 = 0, tableEntries: Int = 0, tableCapacity: Int = 0,
                drops: [UInt64] = Array(repeating: 0, count: DropReason.allCases.count),
                passes: [UInt64] = Array(repeating: 0, count: PassReason.allCases.count)) {
        self.index = index
        self.framesReceived = framesReceived
        self.framesForwarded = framesForwarded
        self.framesAnswered = framesAnswered
        self.framesPassed = framesPassed
        self.framesDropped = framesDropped
        self.tableEntries = tableEntries
        self.tableCapacity = tableCapacity
        self.drops = drops
        self.passes = passes
    }

    /// Reads `director`; call it on the director's worker thread (`LiveDirector.withEachDirector`).
    public init(index: Int, director: Director) {
        self.init(index: index, framesReceived: director.framesReceived, framesForwarded: director.framesForwarded,
                  framesAnswered: director.framesAnswered, framesPassed: director.framesPassed,
                  framesDropped: director.framesDropped, tableEntries: director.table.count,
                  tableCapacity: director.table.capacity,
                  drops: DropReason.allCases.map { director.count($0) },
                  passes: PassReason.allCases.map { director.count($0) })
    }
}

/// A checked real server: alive or not, and each checker's view.
public struct RealServerHealthObservation: Sendable, Hashable {
    public var service: ServiceKey
    public var endpoint: Endpoint
    public var alive: Bool
    /// The weight it runs with; nil when the checkers took it out of the table.
    public var tableWeight: Int32?
    /// Times it went DOWN or came back UP since lvsd started.
    public var transitions: UInt64
    public var checkers: [CheckerObservation]

    public init(service: ServiceKey, endpoint: Endpoint, alive: Bool, tableWeight: Int32?, transitions: UInt64 = 0,
                checkers: [CheckerObservation]) {
        self.service = service
        self.endpoint = endpoint
        self.alive = alive
        self.tableWeight = tableWeight
        self.transitions = transitions
        self.checkers = checkers
    }

    /// Why it is down, in the checkers' words (empty when up).
    public var downReason: String {
        guard !alive else { return "" }
        let reasons = checkers.filter { !$0.up }.map { "\($0.kind): \($0.lastFailure ?? "not checked yet")" }
        return reasons.isEmpty ? "down" : reasons.joined(separator: "; ")
    }
}

public struct CheckerObservation: Sendable, Hashable {
    /// keepalived's checker keyword (TCP_CHECK, HTTP_GET, ...).
    public var kind: String
    public var up: Bool
    /// The last attempt's failure, as the log words it.
    public var lastFailure: String?
    /// How long the last check took, in seconds; nil before the first one finished.
    public var lastDuration: Double?

    public init(kind: String, up: Bool, lastFailure: String? = nil, lastDuration: Double? = nil) {
        self.kind = kind
        self.up = up
        self.lastFailure = lastFailure
        self.lastDuration = lastDuration
    }
}

/// A VRRP instance as `lvsadm --vrrp` shows it, with keepalived's counters by name
/// (`VRRPCounter`'s raw values: adverts_received, became_master, ...).
public struct VRRPObservation: Sendable, Hashable {
    public var name: String
    /// keepalived's word: INIT, BACKUP, MASTER, FAULT, STOP.
    public var state: String
    public var priority: Int
    public var effectivePriority: Int
    public var counters: [String: UInt64]

    public init(name: String, state: String, priority: Int, effectivePriority: Int, counters: [String: UInt64]) {
        self.name = name
        self.state = state
        self.priority = priority
        self.effectivePriority = effectivePriority
        self.counters = counters
    }
}
