import Wire

/// An index into the connection table's slab; 0 is "no connection".
public typealias ConnectionHandle = UInt32

/// One entry of the connection table, IPVS's `struct ip_vs_conn` reduced to what a
/// userspace director needs. 128 bytes (asserted in tests); the table preallocates all of them at start.
///
/// Addresses follow IPVS naming: c = client, v = virtual, d = destination (real server),
/// l = local (FullNAT source toward the real server).
public struct Connection {
    // First cache line: everything the in-hash lookup compares, so a lookup touches one
    // line per chain entry (the slab is 64-byte aligned; see ConnectionTable).
    public var clientAddress: IPAddress
    public var virtualAddress: IPAddress
    public var destinationAddress: IPAddress
    public var clientPort: UInt16
    public var virtualPort: UInt16
    public var destinationPort: UInt16
    public var localPort: UInt16
    // Intrusive link of the in-hash chain.
    @usableFromInline var inNext: ConnectionHandle
    public var proto: TransportProtocol
    public var method: ForwardingMethod
    public var state: ConnectionState
    public var flags: ConnectionFlags

    // Second cache line.
    public var localAddress: IPAddress
    /// Absolute expiry time (ns on the injected clock); refreshed lazily, see `ConnectionTable`.
    public var expires: UInt64
    /// The peer MAC the client's frames came from (client or its router): replies go back to it.
    public var clientMAC: MACAddress
    // Intrusive links: out-hash chain, timer wheel slot list.
    @usableFromInline var outNext: ConnectionHandle
    @usableFromInline var wheelNext: ConnectionHandle
    @usableFromInline var wheelPrev: ConnectionHandle
    /// Global index of the real server in the director's real-server slab.
    public var realServer: UInt32
    /// The persistence template that controls this connection (IPVS `cp->control`), or 0.
    public var template: ConnectionHandle
    /// Connections this one controls (IPVS `n_control`): a template's connections, or an FTP
    /// control connection's data connections (`FTPDataLink`). Such an entry is re-armed
    /// instead of expired.
    public var controlled: UInt32
    /// Current timeout in seconds (IPVS `cp->timeout`), from the state's table entry.
    public var timeout: UInt32
    /// Index of the FullNAT local address pool the local port came from.
    public var localPool: UInt16
    public var ingressInterface: UInt8
    /// Client packets seen modulo the sync period (IPVS `cp->in_pkts` as
    /// `ip_vs_sync_conn_needed` reads it), for a sync master; the slab's last free byte.
    public var syncPackets: UInt8

    init() {
        clientAddress = .zero; virtualAddress = .zero; destinationAddress = .zero; localAddress = .zero
        clientPort = 0; virtualPort = 0; destinationPort = 0; localPort = 0
        expires = 0; clientMAC = .zero
        realServer = 0; template = 0; controlled = 0; localPool = 0
        inNext = 0; outNext = 0; wheelNext = 0; wheelPrev = 0
        timeout = 0; proto = .tcp; method = .directRouting; state = .none; flags = []; ingressInterface = 0
        syncPackets = 0
    }

    /// A connection as `ip_vs_conn_new` (ip_vs_conn.c) starts one: bound to real server
    /// `realServer` and its forwarding method, in `state` for `timeout` seconds from `now`,
    /// counted inactive unless synced as active, and with `.noOutput` when the method's replies
    /// bypass the director (DR, TUN). Every site that creates a connection (a scheduled flow,
    /// the SYN proxy's, an FTP data connection, a synced one) starts here; the site adds what
    /// only it knows (a FullNAT local port, the controlling template).
    public init(_ proto: TransportProtocol, client: IPAddress, clientPort: UInt16, virtual: IPAddress,
                virtualPort: UInt16, destination: IPAddress, destinationPort: UInt16, method: ForwardingMethod,
                realServer: UInt32, state: ConnectionState, timeout: UInt32, now: UInt64, inactive: Bool = true,
                clientMAC: MACAddress = .zero, ingressInterface: UInt8 = 0) {
        self.init()
        self.proto = proto
        clientAddress = client
        self.clientPort = clientPort
        virtualAddress = virtual
        self.virtualPort = virtualPort
        destinationAddress = destination
        self.destinationPort = destinationPort
        self.method = method
        self.realServer = realServer
        self.state = state
        self.timeout = timeout
        expires = now &+ UInt64(timeout) * 1_000_000_000
        self.clientMAC = clientMAC
        self.ingressInterface = ingressInterface
        flags = inactive ? [.inactive] : []
        if !method.repliesTraverseDirector { flags.insert(.noOutput) }
    }

    /// A persistence template (IPVS's `IP_VS_CONN_F_TEMPLATE` connection from
    /// ip_vs_sched_persist): keyed by the masked client address with client port 0 and the
    /// service's virtual side (`Director.templateKey`), naming the real server its client's
    /// connections go to, for `timeout` seconds from `now`. Scheduled and synced templates
    /// start here; a synced one keeps its record's client port and state (IPVS sends 0 and
    /// NONE).
    public init(template proto: TransportProtocol, client: IPAddress, clientPort: UInt16 = 0, virtual: IPAddress,
                virtualPort: UInt16, destination: IPAddress, destinationPort: UInt16, method: ForwardingMethod,
                realServer: UInt32, state: ConnectionState = .none, timeout: UInt32, now: UInt64) {
        self.init()
        self.proto = proto
        clientAddress = client
        self.clientPort = clientPort
        virtualAddress = virtual
        self.virtualPort = virtualPort
        destinationAddress = destination
        self.destinationPort = destinationPort
        self.method = method
        self.realServer = realServer
        flags = [.template]
        self.state = state
        self.timeout = timeout
        expires = now &+ UInt64(timeout) * 1_000_000_000
    }

    /// The tuple a reply from the real server carries as its destination: CIP:cport for NAT,
    /// LIP:lport for FullNAT.
    @inlinable public var replyDestination: (IPAddress, UInt16) {
        method == .fullNAT ? (localAddress, localPort) : (clientAddress, clientPort)
    }
}

/// IPVS connection flags that matter here (`IP_VS_CONN_F_*`).
public struct ConnectionFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A persistence template, not a real connection (IP_VS_CONN_F_TEMPLATE).
    public static let template = ConnectionFlags(rawValue: 1 << 0)
    /// Counted in the real server's inactive connections (IP_VS_CONN_F_INACTIVE).
    public static let inactive = ConnectionFlags(rawValue: 1 << 1)
    /// Replies bypass the director (DR, TUN): TCP state uses the INPUT_ONLY table
    /// (IP_VS_CONN_F_NOOUTPUT).
    public static let noOutput = ConnectionFlags(rawValue: 1 << 2)
    /// Linked in the out-hash (replies come back through the director).
    public static let hashedOut = ConnectionFlags(rawValue: 1 << 3)
    /// Slot in use.
    public static let inUse = ConnectionFlags(rawValue: 1 << 4)
    /// An invalidated template taken out of the in-hash while connections it controls live on
    /// (IPVS rehashes such a template with port 0xffff so it is never found again).
    public static let unhashed = ConnectionFlags(rawValue: 1 << 5)
    /// Opened by the SYN proxy: its segments are translated both ways (Docs/adr/0007).
    public static let synProxy = ConnectionFlags(rawValue: 1 << 6)
    /// The SYN proxy sent the real server its SYN and waits for the SYN-ACK.
    public static let synProxyAwaitingServer = ConnectionFlags(rawValue: 1 << 7)
}
