import Wire

/// What the data path and the schedulers know about one real server at run time:
/// its configuration, its live counters and flags, and where to send its packets.
///
/// Counters follow IPVS (`struct ip_vs_dest`): `activeConnections` counts TCP connections
/// in ESTABLISHED, `inactiveConnections` every other connection, `persistentConnections`
/// the persistence templates bound to the server. (Kernels since 5.x also count SYN_SENT,
/// SYN_RECV and SYNACK as active, `tcp_state_active_table`; SwiftLVS keeps the classic
/// ESTABLISHED-only rule that ipvsadm's documentation and operators' dashboards assume.)
public struct RealServer: Sendable {
    public var address: IPAddress
    public var port: UInt16
    /// Live weight; 0 = quiescent (no new connections).
    public var weight: Int32 {
        // IPVS __ip_vs_update_dest: last_weight follows every non-zero weight.
        didSet { if weight != 0 { lastWeight = weight } }
    }
    /// IPVS `last_weight`: the weight given when the server was added, then the latest non-zero
    /// one. Maglev (mh) sizes a quiesced server's share by it, so quiescing keeps its slots.
    public var lastWeight: Int32
    public var method: ForwardingMethod
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32
    /// TUN: how packets to this server are wrapped.
    public var tunnel: TunnelSettings
    /// IP_VS_DEST_F_OVERLOAD: set when total connections reach the upper threshold.
    public var isOverloaded: Bool
    public var activeConnections: Int32
    public var inactiveConnections: Int32
    public var persistentConnections: Int32
    /// No longer in its service's configuration: the server keeps its slab slot, counters and
    /// connections (IPVS's dest trash), is never scheduled, and its connections expire on
    /// their next packet or at their timeout (IPVS with `expire_nodest_conn`). Added back, it
    /// is the same server again.
    public var isRemoved: Bool

    public init(_ config: RealServerConfig) {
        address = config.address
        port = config.port
        weight = config.weight
        lastWeight = config.weight
        method = config.method
        upperThreshold = config.upperThreshold
        lowerThreshold = config.lowerThreshold
        tunnel = config.tunnel
        isOverloaded = false
        activeConnections = 0
        inactiveConnections = 0
        persistentConnections = 0
        isRemoved = false
    }

    /// Available for new connections: positive weight, not overloaded, not removed
    /// (IPVS schedulers test `weight > 0 && !(flags & IP_VS_DEST_F_OVERLOAD)`).
    @inlinable public var isAvailable: Bool { weight > 0 && !isOverloaded && !isRemoved }

    /// IPVS's `ip_vs_dest_totalconns`: active + inactive (templates excluded).
    @inlinable public var totalConnections: Int32 { activeConnections &+ inactiveConnections }
}

/// A service's real servers as the schedulers see them: positions 0..<count, each naming a
/// slot of the director's real-server slab by its identity (`RealServerID`).
///
/// The storage belongs to the director and the member list to the configuration snapshot;
/// a pool is a borrowed window onto both, valid for the duration of one call.
public struct RealServerPool {
    @usableFromInline let base: UnsafeMutablePointer<RealServer>
    @usableFromInline let members: UnsafePointer<UInt32>
    public let count: Int

    @inlinable public init(base: UnsafeMutablePointer<RealServer>, members: UnsafePointer<UInt32>, count: Int) {
        self.base = base
        self.members = members
        self.count = count
    }

    @inlinable public var indices: Range<Int> { 0..<count }

    /// The identity of the server at `index`.
    @inlinable public func id(at index: Int) -> RealServerID {
        precondition(index >= 0 && index < count)
        return RealServerID(rawValue: members[index])
    }

    @inlinable public subscript(index: Int) -> RealServer {
        get {
            precondition(index >= 0 && index < count)
            return base[Int(members[index])]
        }
        nonmutating _modify {
            precondition(index >= 0 && index < count)
            yield &base[Int(members[index])]
        }
    }

    /// Runs `body` with a pool over `servers` (identities 0..<count); for tests and table builders.
    public static func with<R>(_ servers: inout [RealServer], _ body: (RealServerPool) throws -> R) rethrows -> R {
        let identities = (0..<UInt32(servers.count)).map { $0 }
        if servers.isEmpty {
            var placeholder = RealServer(RealServerConfig(address: .zero, port: 0))
            var none: UInt32 = 0
            return try withUnsafeMutablePointer(to: &placeholder) { server in
                try withUnsafePointer(to: &none) { try body(RealServerPool(base: server, members: $0, count: 0)) }
            }
        }
        return try servers.withUnsafeMutableBufferPointer { buffer in
            try identities.withUnsafeBufferPointer { ids in
                // Safety: non-empty, so both base addresses exist; the pool does not escape `body`.
                try body(RealServerPool(base: buffer.baseAddress!, members: ids.baseAddress!, count: buffer.count))
            }
        }
    }
}
