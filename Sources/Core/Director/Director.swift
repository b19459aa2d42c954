import Wire

/// The director: one worker's connection table, services and counters, and the per-frame
/// `process` that turns a received frame into a `Verdict`.
///
/// Pure and deterministic: no syscalls, no clock of its own (every call passes `now`, in
/// nanoseconds of a monotonic clock), no allocation per frame. Several workers each own a
/// `Director`; nothing here is shared between them.
public final class Director {
    /// The configuration snapshot in force; `install(_:)` swaps it between batches.
    public internal(set) var snapshot: DirectorSnapshot
    public var config: DirectorConfig { snapshot.config }
    /// Which worker this director is (its share of FullNAT local ports).
    public let workerSlice: WorkerSlice
    public internal(set) var timeouts: TimeoutTable
    /// Timeouts in nanoseconds, indexed by `ConnectionState.rawValue`.
    @usableFromInline var timeoutNanos: [UInt64]

    public internal(set) var table: ConnectionTable

    /// The services of the snapshot in force, in its order (service lookups give that index).
    @usableFromInline var services: [ServiceRuntime]
    @usableFromInline var serviceIndex: [ServiceKey: Int]
    /// Every FullNAT local address in force, mapped to its port pool's slot.
    @usableFromInline var localAddressIndex: [IPAddress: Int]
    /// The snapshot's lookups of the new-connection path (flat tables, no SipHash).
    @usableFromInline var serviceLookup = AddressTable([])
    @usableFromInline var fwmarkLookup = AddressTable([])
    @usableFromInline var fwmarkClassifier = FirewallMarkClassifier([])
    @usableFromInline var hasPortZero = false
    /// `DirectorConfig.tunables`, copied so the data path reads them without the snapshot.
    @usableFromInline var tunables = IPVSTunables.defaults
    @usableFromInline var virtualAddressLookup = AddressTable([])
    @usableFromInline var localAddressLookup = AddressTable([])
    /// Addresses of VRRP instances this director is not MASTER of (`DirectorConfig.standbyAddresses`).
    @usableFromInline var standbyLookup = AddressTable([])
    @usableFromInline var hasStandby = false
    /// FullNAT port pools by slot (`Connection.localPool`). A pool whose address left the
    /// configuration is retired: it hands out nothing, takes back the ports of its connections
    /// as they expire, and its slot is reused once it holds none.
    @usableFromInline var localPools: [LocalPortPoolBox]
    @usableFromInline var localPoolRetired: [Bool]
    /// Where new local addresses' port rings start (see `init`).
    let localPortRotation: Int
    /// Some real server uses NAT or FullNAT, so unknown packets are also probed as replies.
    @usableFromInline var hasReplyMethods = false

    // Real servers by identity (`RealServerID.slot`): every server this director has been
    // configured with, those removed since included (IPVS's dest trash), so a connection's
    // server never moves. Grown by `install`, never shrunk.
    @usableFromInline var realServers: UnsafeMutablePointer<RealServer>
    @usableFromInline var realServerStats: UnsafeMutablePointer<TrafficStats>
    @usableFromInline var realServerRoute: UnsafeMutablePointer<NextHop>
    /// Slots in use: every identity handed out so far.
    public internal(set) var realServerCount: Int
    var realServerCapacity: Int
    /// Whether a snapshot has named each slot yet (a slot is handed out by the identity
    /// registry before this director first hears of it).
    var realServerConfigured: [Bool] = []

    // Interfaces as trivial arrays, so the data path reads them without retain traffic.
    @usableFromInline var interfaceMACs: [MACAddress]
    @usableFromInline var interfaceMTUs: [Int]
    /// The first IPv4 address of each interface (IPIP outer source), or .zero.
    @usableFromInline var interfaceIPv4: [IPAddress]
    /// The first global IPv6 address of each interface (IPv6 outer source), or .zero.
    @usableFromInline var interfaceIPv6: [IPAddress]

    @usableFromInline let dropCounters: UnsafeMutablePointer<UInt64>
    @usableFromInline let passCounters: UnsafeMutablePointer<UInt64>
    public internal(set) var framesReceived: UInt64 = 0
    public internal(set) var framesForwarded: UInt64 = 0
    public internal(set) var framesAnswered: UInt64 = 0

    /// The outer IPv4 identification for IPIP; a counter, as the kernel's is per destination.
    @usableFromInline var tunnelIdentification: UInt16 = 0

    /// Fragment tracking: maps (source, destination, protocol, fragment ID) of a datagram
    /// whose first fragment hit a connection to that connection, so later fragments follow.
    @usableFromInline var fragments: FragmentCache

    /// Why the last persistent scheduling attempt failed (set only on failure).
    @usableFromInline var lastPersistentFailure: DropReason = .noDestinationAvailable

    /// Scratch for `process(batch:)`: one round's bucket indices.
    @usableFromInline let batchBuckets: UnsafeMutablePointer<Int>

    /// Connection sync (`Sync/`): the master's note ring and both roles' counters;
    /// `syncMaster` alone gates the data path's hook.
    @usableFromInline var sync = SyncState(SyncSettings(ringCapacity: 1))
    @usableFromInline var syncMaster = false

    /// Coin tosses of the random early drop under table pressure (xorshift64; never zero).
    @usableFromInline var pressureRandom: UInt64

    /// SYN cookies (Docs/adr/0007), keyed from the hash seed (random in lvsd).
    public internal(set) var synCookies: SynCookies
    /// What the director announces in its cookie SYN-ACKs.
    public var synProxySettings = SynProxySettings()
    /// Per connection handle, what the SYN proxy keeps; allocated with the first `syn_proxy`
    /// service, as large as the table, so the data path never allocates.
    @usableFromInline var synProxyEntries: UnsafeMutablePointer<SynProxyEntry>?
    public internal(set) var synProxyCookiesSent: UInt64 = 0
    public internal(set) var synProxyServerResets: UInt64 = 0
    /// SYNs sent to a real server again because the client retransmitted while it had not answered.
    public internal(set) var synProxyServerSynsResent: UInt64 = 0
    /// The FTP helper (`ApplicationLayer/Director+FTP.swift`): on with a NAT/FullNAT FTP service.
    @usableFromInline var ftp = FTPHelper()
    /// Per connection handle, how its TCP streams are moved (SYN proxy, PROXY protocol, TOA,
    /// FTP; Docs/adr/0009); allocated with the first service that needs one, as large as the table.
    @usableFromInline var streamShifts: UnsafeMutablePointer<StreamShift>?
    public internal(set) var proxyProtocolHeadersSent: UInt64 = 0
    public internal(set) var toaAdded: UInt64 = 0
    /// Segments that went on without TOA: no option space, frame room or MTU left.
    public internal(set) var toaNoRoom: UInt64 = 0
    /// The shortest a half-open connection's timeout becomes under table pressure.
    static let halfOpenFloor: UInt64 = 3_000_000_000

    /// What happened to the last frame, for `lvsd replay --trace` and tests.
    public internal(set) var lastEvent = PacketEvent()

    /// - Parameters:
    ///   - config: services, interfaces, static neighbours and timeouts; its `workerSlice`
    ///     says which worker this director is.
    ///   - capacity: connection table size (IPVS's default table holds 4096 buckets; a
    ///     director here preallocates every entry: 1,000,000 by default, ~128 MB).
    ///   - hashSeed: keys the connection hash; pass a random value in production.
    ///   - now: the clock reading at start.
    ///   - localPortRotation: where each FullNAT local address's port ring starts
    ///     (`LocalPortPool`); 0 hands out the range's first port first. Pass a random value in
    ///     production, so a restarted director does not reuse the LIP:lport pairs its
    ///     predecessor just used.
    public convenience init(config: DirectorConfig, capacity: Int = 1_000_000,
                            hashSeed: UInt64 = 0x5157_4C56_535F_5345, now: UInt64 = 0, localPortRotation: Int = 0) {
        self.init(snapshot: DirectorSnapshot(config), workerSlice: config.workerSlice, capacity: capacity,
                  hashSeed: hashSeed, now: now, localPortRotation: localPortRotation)
    }

    /// A director starting from `snapshot`, which the engine builds once for all workers.
    public init(snapshot: DirectorSnapshot, workerSlice: WorkerSlice, capacity: Int = 1_000_000,
                hashSeed: UInt64 = 0x5157_4C56_535F_5345, now: UInt64 = 0, localPortRotation: Int = 0) {
        self.snapshot = snapshot
        self.workerSlice = workerSlice
        self.localPortRotation = localPortRotation
        self.timeouts = snapshot.config.timeouts
        self.timeoutNanos = snapshot.timeoutNanos
        self.table = ConnectionTable(capacity: capacity, seed: hashSeed, now: now)
        pressureRandom = hashSeed | 1
        // Two keys from the seed through SplitMix64's finaliser, so neither is the seed itself.
        synCookies = SynCookies(hashKey: (Self.mix(hashSeed &+ 1), Self.mix(hashSeed &+ 2)),
                                authenticationKey: (Self.mix(hashSeed &+ 3), Self.mix(hashSeed &+ 4)))
        self.fragments = FragmentCache()
        batchBuckets = .allocate(capacity: Director.prefetchRound)
        interfaceMACs = snapshot.interfaceMACs
        interfaceMTUs = snapshot.interfaceMTUs
        interfaceIPv4 = snapshot.interfaceIPv4
        interfaceIPv6 = snapshot.interfaceIPv6
        dropCounters = .allocate(capacity: DropReason.allCases.count)
        dropCounters.initialize(repeating: 0, count: DropReason.allCases.count)
        passCounters = .allocate(capacity: PassReason.allCases.count)
        passCounters.initialize(repeating: 0, count: PassReason.allCases.count)
        realServerCount = 0
        realServerCapacity = 0
        realServers = .allocate(capacity: 1)
        realServerStats = .allocate(capacity: 1)
        realServerRoute = .allocate(capacity: 1)
        services = []
        serviceIndex = [:]
        localAddressIndex = [:]
        localPools = []
        localPoolRetired = []
        _ = apply(snapshot, replacing: nil)
    }

    deinit {
        realServers.deinitialize(count: realServerCount)
        realServerStats.deinitialize(count: realServerCount)
        realServerRoute.deinitialize(count: realServerCount)
        realServers.deallocate()
        realServerStats.deallocate()
        realServerRoute.deallocate()
        dropCounters.deallocate()
        passCounters.deallocate()
        batchBuckets.deallocate()
        synProxyEntries?.deallocate()
        ftp.deallocate()
        streamShifts?.deallocate()
    }

    /// Whether `address` belongs to a VRRP instance this director is not MASTER of: no
    /// ARP/ND answer, no forwarding (`vip-on-standby`).
    @inline(__always) @usableFromInline
    func isStandby(_ address: IPAddress) -> Bool { hasStandby && standbyLookup.contains(address) }

    // MARK: Neighbours

    /// Records where `address` lives (its MAC and interface); every real server with that
    /// address uses it from the next packet on. The live engine calls this from ARP/ND.
    public func setNeighbour(_ address: IPAddress, mac: MACAddress, interface: Int) {
        for i in 0..<realServerCount where realServers[i].address == address {
            realServerRoute[i] = NextHop(mac: mac, interface: interface, resolved: true)
        }
    }

    // MARK: Counters and inspection

    public func count(_ reason: DropReason) -> UInt64 { dropCounters[Int(reason.rawValue)] }
    public func count(_ reason: PassReason) -> UInt64 { passCounters[Int(reason.rawValue)] }
    public var framesDropped: UInt64 { DropReason.allCases.reduce(0) { $0 + count($1) } }
    public var framesPassed: UInt64 { PassReason.allCases.reduce(0) { $0 + count($1) } }

    /// The service's real servers with their live counters, in configuration order.
    public func realServers(ofService key: ServiceKey) -> [RealServer] {
        guard let si = serviceIndex[key] else { return [] }
        let pool = pool(si)
        return pool.indices.map { pool[$0] }
    }

    /// Traffic counters of one real server (IPVS `ip_vs_stats` of a dest), by its position
    /// in the service's configuration.
    public func stats(ofService key: ServiceKey, realServer index: Int) -> TrafficStats {
        guard let si = serviceIndex[key], index >= 0, index < services[si].memberCount else { return TrafficStats() }
        return realServerStats[Int(services[si].members[index])]
    }

    /// Traffic counters of a real server by identity (removed ones included, until restart).
    public func stats(of id: RealServerID) -> TrafficStats {
        id.slot < realServerCount ? realServerStats[id.slot] : TrafficStats()
    }

    /// A service's real server's slot, as `Connection.realServer` holds it.
    public func realServerIndex(service key: ServiceKey, address: IPAddress, port: UInt16) -> Int? {
        guard let si = serviceIndex[key] else { return nil }
        let pool = pool(si)
        return pool.indices.first { pool[$0].address == address && pool[$0].port == port }.map { pool.id(at: $0).slot }
    }

    public func realServer(at index: Int) -> RealServer { realServers[index] }

    /// Changes a real server's weight (`ipvsadm -e ... -w N`) outside a snapshot, for tests
    /// and tools; the scheduler's tables are rebuilt here, off the packet path. Weight 0
    /// quiesces the server.
    public func setWeight(_ weight: Int32, service key: ServiceKey, realServer index: Int) {
        guard let si = serviceIndex[key], index >= 0, index < services[si].memberCount else { return }
        realServers[Int(services[si].members[index])].weight = weight
        rebuildScheduler(si)
    }

    /// Marks a real server removed outside a snapshot, for tests and tools: no new
    /// connections; its connections expire on their next packet or at their timeout.
    public func removeRealServer(service key: ServiceKey, realServer index: Int) {
        guard let si = serviceIndex[key], index >= 0, index < services[si].memberCount else { return }
        realServers[Int(services[si].members[index])].isRemoved = true
        rebuildScheduler(si)
    }

    func rebuildScheduler(_ si: Int) {
        let s = services[si]
        services[si].scheduler = SchedulerInstance(kind: s.config.scheduler, pool: pool(si), flags: s.config.schedulerFlags)
    }

    /// Service `si`'s real servers as its scheduler sees them.
    @inline(__always) @usableFromInline
    func pool(_ si: Int) -> RealServerPool {
        RealServerPool(base: realServers, members: services[si].members, count: services[si].memberCount)
    }

    /// Every live connection and template, for listings (`ipvsadm -L -c`).
    public func connections() -> [Connection] {
        var out: [Connection] = []
        table.forEach { _, c in out.append(c) }
        return out
    }

    /// FullNAT connections (not templates) holding a port of local address `lip`, from its
    /// port pool's count (each holds one port until removed), so listings need no table walk.
    public func connections(onLocalAddress lip: IPAddress) -> Int {
        guard let index = localAddressIndex[lip] else { return 0 }
        return localPools[index].pool.inUse
    }

    /// Port pool slots, in force and retired (retired ones are reused once drained).
    public var localPortPoolSlots: Int { localPools.count }

    /// Expires everything due at `now` without a packet (the live engine calls this on idle).
    public func expire(now: UInt64) {
        table.advance(to: now) { t, h in self.expireConnection(&t, h, now: now) }
    }

    /// Timer entries one frame may visit on its way through `process`: the wheel keeps up
    /// with any rate of new connections (each frame makes at most one), and a tick holding a
    /// flood's worth of expiring entries is spread over the frames after it.
    public static let expiryBudgetPerFrame = 64

    /// Expires at most `expiryBudgetPerFrame` due entries (the data path's share).
    @inline(__always)
    func expireSome(now: UInt64) {
        table.advance(to: now, budget: Self.expiryBudgetPerFrame) { t, h in self.expireConnection(&t, h, now: now) }
    }
}

/// Where a real server's packets go: its (or its gateway's) MAC and the interface.
public struct NextHop: Sendable, Hashable {
    public var mac: MACAddress = .zero
    public var interface: Int = 0
    public var resolved = false
}

/// IPVS-style traffic counters (`struct ip_vs_kstats`): connections, packets and bytes in
/// (client → real server) and out (real server → client, NAT/FullNAT only).
public struct TrafficStats: Sendable, Hashable {
    public var connections: UInt64 = 0
    public var packetsIn: UInt64 = 0
    public var packetsOut: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    public init() {}
}

/// One service's run-time state on one worker.
@usableFromInline
struct ServiceRuntime {
    var id: ServiceID
    var config: VirtualServiceConfig
    /// `config.persistence`, `config.key` and `config.onePacket`, kept trivially readable
    /// for the new-connection path.
    var persistence: Persistence?
    var key: ServiceKey
    var onePacket = false
    /// The service's real servers' identities, in the snapshot in force (which owns them).
    var members: UnsafePointer<UInt32>
    var memberCount: Int
    var scheduler: SchedulerInstance
    /// Slots of the director's local port pools (FullNAT), used round-robin.
    var localPools: [Int]
    var nextLocalPool = 0
    /// `config.synProxy`, for a service whose real servers are all NAT or FullNAT.
    var synProxy = false
    /// `config.proxyProtocol` and `config.toa`, for a TCP service whose real servers are all
    /// NAT or FullNAT.
    var proxyProtocol: ProxyProtocolHeader.Version?
    var toa = false
    var stats = TrafficStats()
}

/// A non-copyable pool in a class box so an array of them can be mutated in place.
@usableFromInline
final class LocalPortPoolBox {
    var pool: LocalPortPool
    init(address: IPAddress, range: ClosedRange<UInt16>, slice: WorkerSlice, rotation: Int) {
        pool = LocalPortPool(address: address, range: range, slice: slice, rotation: rotation)
    }
}

/// What the director did with the last frame, for tracing and tests.
public struct PacketEvent: Sendable, Hashable {
    public enum Direction: Sendable, Hashable { case none, fromClient, fromRealServer, icmpFromClientSide, icmpFromRealServerSide }
    public var direction: Direction = .none
    public var connection: ConnectionHandle = 0
    public var newConnection = false
    /// A persistence template placed this connection.
    public var viaTemplate = false
    public var realServer: Int = -1
    public var stateBefore: ConnectionState = .none
    public var stateAfter: ConnectionState = .none
    public init() {}
}

extension Director {
    /// SplitMix64's output function (Steele, Lea, Flood 2014): a bijection that spreads a seed.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
