import Wire

/// Which real server gets a new connection. One implementation per file, as in IPVS
/// (net/netfilter/ipvs/ip_vs_<name>.c); called only when the connection table misses.
///
/// A scheduler is a value owned by its virtual service. `init` runs off the packet path
/// whenever the pool changes (servers added or removed, weights edited), so lookup tables
/// (sh's 256 buckets, wrr's gcd and maximum weight) are built there; `select` runs on the
/// first packet of a flow and must not allocate.
public protocol Scheduler {
    init(pool: RealServerPool, flags: SchedulerFlags)

    /// The index in `pool` of the server for a new connection from `flow`, or nil when
    /// no server is available (every server quiescent, overloaded or absent).
    mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int?
}

/// The addresses of a flow's first packet, as schedulers that hash on them need.
public struct FlowTuple: Sendable, Hashable {
    public var proto: TransportProtocol
    public var clientAddress: IPAddress
    public var clientPort: UInt16
    public var virtualAddress: IPAddress
    public var virtualPort: UInt16
    /// When the first packet arrived (the Director's clock, nanoseconds). Only schedulers with
    /// timed state read it (lblc and lblcr expire their destination caches).
    public var now: UInt64

    public init(proto: TransportProtocol, clientAddress: IPAddress, clientPort: UInt16,
                virtualAddress: IPAddress, virtualPort: UInt16, now: UInt64 = 0) {
        self.proto = proto
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.virtualAddress = virtualAddress
        self.virtualPort = virtualPort
        self.now = now
    }
}

/// Scheduler names as ipvsadm's `-s` takes them: the full IPVS set, one case and one file each.
public enum SchedulerKind: String, Sendable, Hashable, CaseIterable {
    case roundRobin = "rr"
    case weightedRoundRobin = "wrr"
    case leastConnection = "lc"
    case weightedLeastConnection = "wlc"
    case sourceHashing = "sh"
    case destinationHashing = "dh"
    case shortestExpectedDelay = "sed"
    case neverQueue = "nq"
    case weightedFailover = "fo"
    case weightedOverflow = "ovf"
    case powerOfTwoChoices = "twos"
    case localityBasedLeastConnection = "lblc"
    case replicatedLocalityBasedLeastConnection = "lblcr"
    case maglevHashing = "mh"

    /// ipvsadm's default scheduler (`DEF_SCHED`).
    public static let ipvsDefault = SchedulerKind.weightedLeastConnection
}

/// Scheduler flags (`--sched-flags` / keepalived `sh-fallback`, `sh-port`, ...).
/// IPVS names them IP_VS_SVC_F_SCHED1..3; each scheduler reads its own meaning.
public struct SchedulerFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `sh-fallback` / `mh-fallback` (flag-1): try another server when the hashed one is unavailable.
    public static let fallback = SchedulerFlags(rawValue: 1)
    /// `sh-port` / `mh-port` (flag-2): hash the client port too.
    public static let port = SchedulerFlags(rawValue: 2)
    /// flag-3, unused by every IPVS scheduler.
    public static let flag3 = SchedulerFlags(rawValue: 4)
}

/// The scheduler of one service, dispatched by a switch rather than an existential so the
/// first-packet path stays free of witness tables and allocation.
public enum SchedulerInstance {
    case roundRobin(RoundRobinScheduler)
    case weightedRoundRobin(WeightedRoundRobinScheduler)
    case leastConnection(LeastConnectionScheduler)
    case weightedLeastConnection(WeightedLeastConnectionScheduler)
    case sourceHashing(SourceHashingScheduler)
    case destinationHashing(DestinationHashingScheduler)
    case shortestExpectedDelay(ShortestExpectedDelayScheduler)
    case neverQueue(NeverQueueScheduler)
    case weightedFailover(WeightedFailoverScheduler)
    case weightedOverflow(WeightedOverflowScheduler)
    case powerOfTwoChoices(PowerOfTwoChoicesScheduler)
    case localityBasedLeastConnection(LocalityBasedLeastConnectionScheduler)
    case replicatedLocalityBasedLeastConnection(ReplicatedLocalityBasedLeastConnectionScheduler)
    case maglevHashing(MaglevHashingScheduler)

    public init(kind: SchedulerKind, pool: RealServerPool, flags: SchedulerFlags) {
        switch kind {
        case .roundRobin: self = .roundRobin(.init(pool: pool, flags: flags))
        case .weightedRoundRobin: self = .weightedRoundRobin(.init(pool: pool, flags: flags))
        case .leastConnection: self = .leastConnection(.init(pool: pool, flags: flags))
        case .weightedLeastConnection: self = .weightedLeastConnection(.init(pool: pool, flags: flags))
        case .sourceHashing: self = .sourceHashing(.init(pool: pool, flags: flags))
        case .destinationHashing: self = .destinationHashing(.init(pool: pool, flags: flags))
        case .shortestExpectedDelay: self = .shortestExpectedDelay(.init(pool: pool, flags: flags))
        case .neverQueue: self = .neverQueue(.init(pool: pool, flags: flags))
        case .weightedFailover: self = .weightedFailover(.init(pool: pool, flags: flags))
        case .weightedOverflow: self = .weightedOverflow(.init(pool: pool, flags: flags))
        case .powerOfTwoChoices: self = .powerOfTwoChoices(.init(pool: pool, flags: flags))
        case .localityBasedLeastConnection: self = .localityBasedLeastConnection(.init(pool: pool, flags: flags))
        case .replicatedLocalityBasedLeastConnection:
            self = .replicatedLocalityBasedLeastConnection(.init(pool: pool, flags: flags))
        case .maglevHashing: self = .maglevHashing(.init(pool: pool, flags: flags))
        }
    }

    /// The scheduler for `pool` after the service's pool changed from `previous`, keeping
    /// the state IPVS keeps across `-a`/`-d`/`-e` (rr's cursor); every other scheduler
    /// rebuilds its tables as IPVS's `add_dest`/`del_dest`/`upd_dest` hooks do.
    public init(kind: SchedulerKind, pool: RealServerPool, flags: SchedulerFlags,
                replacing old: SchedulerInstance, previous: RealServerPool) {
        self.init(kind: kind, pool: pool, flags: flags)
        if case .roundRobin(var new) = self, case .roundRobin(let before) = old {
            new.carryCursor(from: before, previous: previous, current: pool)
            self = .roundRobin(new)
        }
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        switch self {
        case .roundRobin(var s): defer { self = .roundRobin(s) }; return s.select(from: pool, flow: flow)
        case .weightedRoundRobin(var s): defer { self = .weightedRoundRobin(s) }; return s.select(from: pool, flow: flow)
        case .leastConnection(var s): defer { self = .leastConnection(s) }; return s.select(from: pool, flow: flow)
        case .weightedLeastConnection(var s): defer { self = .weightedLeastConnection(s) }; return s.select(from: pool, flow: flow)
        case .sourceHashing(var s): defer { self = .sourceHashing(s) }; return s.select(from: pool, flow: flow)
        case .destinationHashing(var s): defer { self = .destinationHashing(s) }; return s.select(from: pool, flow: flow)
        case .shortestExpectedDelay(var s): defer { self = .shortestExpectedDelay(s) }; return s.select(from: pool, flow: flow)
        case .neverQueue(var s): defer { self = .neverQueue(s) }; return s.select(from: pool, flow: flow)
        case .weightedFailover(var s): defer { self = .weightedFailover(s) }; return s.select(from: pool, flow: flow)
        case .weightedOverflow(var s): defer { self = .weightedOverflow(s) }; return s.select(from: pool, flow: flow)
        // twos mutates its generator state, a plain UInt64; the locality caches are class
        // storage, so mutating them through this copy does not trigger copy-on-write.
        case .powerOfTwoChoices(var s): defer { self = .powerOfTwoChoices(s) }; return s.select(from: pool, flow: flow)
        case .localityBasedLeastConnection(var s):
            defer { self = .localityBasedLeastConnection(s) }; return s.select(from: pool, flow: flow)
        case .replicatedLocalityBasedLeastConnection(var s):
            defer { self = .replicatedLocalityBasedLeastConnection(s) }; return s.select(from: pool, flow: flow)
        case .maglevHashing(var s): defer { self = .maglevHashing(s) }; return s.select(from: pool, flow: flow)
        }
    }
}
