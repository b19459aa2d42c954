import Wire

/// A virtual service's identity for the life of the process: it survives reloads, edits
/// and reorderings, and comes back if the service is deleted and added again.
public struct ServiceID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "service#\(rawValue)" }
}

/// A real server's identity for the life of the process, and its slot in each worker's
/// real-server slab (`Connection.realServer` holds it). Weight changes, health transitions
/// and reorderings keep it; a server deleted and added again gets the same one back, as
/// IPVS takes a destination back from its trash (`ip_vs_trash_get_dest`, ip_vs_ctl.c) with
/// its counters and connections.
public struct RealServerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public var slot: Int { Int(rawValue) }
    public var description: String { "rs#\(rawValue)" }
}

/// ipvsadm's identity of a real server: its service (protocol, VIP, vport) and RIP:rport.
public struct RealServerKey: Hashable, Sendable {
    public var service: ServiceKey
    public var address: IPAddress
    public var port: UInt16
    public init(service: ServiceKey, address: IPAddress, port: UInt16) {
        self.service = service
        self.address = address
        self.port = port
    }
}

/// Hands out identities: the same key always gets the same identity, a new key the next
/// free number. A value carried from each configuration snapshot to the next, so every
/// worker, the control plane and (later) connection sync agree on them.
///
/// Identities are never reused, so a connection can never reach a different server through
/// a recycled number; the registry grows by one entry per distinct (service, RIP:rport) ever
/// configured, which even a director under constant churn counts in thousands.
public struct IdentityRegistry: Sendable {
    public private(set) var services: [ServiceKey: ServiceID] = [:]
    public private(set) var realServers: [RealServerKey: RealServerID] = [:]

    public init() {}

    /// The number of real-server identities handed out: every slab is at least this long.
    public var realServerCount: Int { realServers.count }

    public mutating func identity(of key: ServiceKey) -> ServiceID {
        if let id = services[key] { return id }
        let id = ServiceID(rawValue: UInt32(services.count))
        services[key] = id
        return id
    }

    public mutating func identity(of key: RealServerKey) -> RealServerID {
        if let id = realServers[key] { return id }
        let id = RealServerID(rawValue: UInt32(realServers.count))
        realServers[key] = id
        return id
    }
}
