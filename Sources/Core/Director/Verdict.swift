/// What the director does with one frame. Every frame gets exactly one.
public enum Verdict: Equatable, Sendable {
    /// Rewritten in place; send it on `interface` (its bytes may have moved: read the packet's
    /// `offset` and `length` again).
    case forward(interface: Int)
    /// The frame was replaced by the director's own answer (ARP reply, ICMP
    /// fragmentation-needed, echo reply), to send on `interface`.
    case answer(interface: Int)
    /// Not load-balancer traffic: the host's own stack may have it.
    case pass(PassReason)
    /// Dropped; the reason names the counter that was incremented.
    case drop(DropReason)
}

/// Why a frame was handed to the host instead of being balanced. Each is a counter.
public enum PassReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Neither IPv4, IPv6 nor ARP.
    case notIP
    /// IP traffic not addressed to a virtual service, local address or known connection.
    case notForDirector
    /// An ARP packet that is not a request for one of the director's addresses.
    case arpNotForDirector
    /// An ICMP message that is not an error about a known connection, nor an echo to a VIP.
    case icmpNotRelated

    public var description: String {
        switch self {
        case .notIP: "not-ip"
        case .notForDirector: "not-for-director"
        case .arpNotForDirector: "arp-not-for-director"
        case .icmpNotRelated: "icmp-not-related"
        }
    }
}

/// Why a frame was dropped. Each case is a named counter (`lvsd` prints them by these names).
public enum DropReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case frameTruncated
    case tooManyVLANTags
    case ipv4Truncated
    case ipv4BadVersion
    case ipv4BadHeaderLength
    case ipv4BadTotalLength
    case ipv4BadChecksum
    case ipv6Truncated
    case ipv6BadVersion
    case ipv6BadTotalLength
    case ipv6BadExtensionHeader
    /// An IPv6 packet with an IPv4-mapped source or destination (::ffff:a.b.c.d), which
    /// RFC 4291 §2.5.5.2 keeps off the wire; balancing it would alias IPv4 services.
    case ipv6MappedAddress
    case tcpTruncated
    case tcpBadHeaderLength
    case udpTruncated
    case udpBadLength
    case icmpTruncated
    case arpMalformed
    /// Addressed to a VIP with a protocol that is neither TCP, UDP nor ICMP.
    case unsupportedProtocol
    /// A non-first fragment whose datagram's first fragment created no connection.
    case fragmentWithoutConnection
    /// TTL or hop limit would reach zero on forwarding (IPVS decrement_ttl).
    case ttlExceeded
    /// A VIP with no virtual service on that protocol and port.
    case noService
    /// A TCP segment other than a SYN for a virtual service, with no connection.
    case noConnection
    /// The scheduler found no available real server (IPVS "no destination available").
    case noDestinationAvailable
    /// The connection table is at capacity; existing connections are never evicted.
    case connectionTableFull
    /// A new flow refused at random while the table is nearly full (random early drop of
    /// half-open entries, Docs/adr/0006); existing connections are never touched.
    case tablePressure
    /// Every local port of every FullNAT local address of the service is in use.
    case localPortsExhausted
    /// The real server's MAC address is not known (yet).
    case neighbourUnresolved
    /// The egress interface has no address of the real server's family to use as the
    /// tunnel's outer source.
    case tunnelSourceUnavailable
    /// Too big for the tunnel and DF clear: the outer datagram would need fragmenting.
    case tunnelFragmentationUnsupported
    /// The buffer lacks the head- or tailroom the rewrite needs.
    case noRoom
    /// Larger than the egress MTU and allowed to be fragmented (IPv4 without DF), or an ICMP
    /// error too large to answer: lvsd does not fragment.
    case fragmentationUnsupported
    /// Addressed to (or, for NAT replies, belonging to) a VIP or local address of a VRRP
    /// instance this director is not MASTER of: the master forwards it.
    case vipOnStandby
    /// An ACK to a `syn_proxy` service with no connection whose cookie is not one this
    /// director made in the last two minutes for that client (Docs/adr/0007).
    case synProxyBadCookie
    /// A client segment of a proxied connection before the real server answered its SYN:
    /// the client retransmits it.
    case synProxyAwaitingServer
    /// The first data segment of a `proxy_protocol` connection has no room in its buffer for
    /// the header, or would outgrow an IP datagram with it (Docs/adr/0008).
    case proxyProtocolNoRoom

    public var description: String {
        switch self {
        case .frameTruncated: "frame-truncated"
        case .tooManyVLANTags: "too-many-vlan-tags"
        case .ipv4Truncated: "ipv4-truncated"
        case .ipv4BadVersion: "ipv4-bad-version"
        case .ipv4BadHeaderLength: "ipv4-bad-header-length"
        case .ipv4BadTotalLength: "ipv4-bad-total-length"
        case .ipv4BadChecksum: "ipv4-bad-checksum"
        case .ipv6Truncated: "ipv6-truncated"
        case .ipv6BadVersion: "ipv6-bad-version"
        case .ipv6BadTotalLength: "ipv6-bad-payload-length"
        case .ipv6BadExtensionHeader: "ipv6-bad-extension-header"
        case .ipv6MappedAddress: "ipv6-mapped-address"
        case .tcpTruncated: "tcp-truncated"
        case .tcpBadHeaderLength: "tcp-bad-header-length"
        case .udpTruncated: "udp-truncated"
        case .udpBadLength: "udp-bad-length"
        case .icmpTruncated: "icmp-truncated"
        case .arpMalformed: "arp-malformed"
        case .unsupportedProtocol: "unsupported-protocol"
        case .fragmentWithoutConnection: "fragment-without-connection"
        case .ttlExceeded: "ttl-exceeded"
        case .noService: "no-service"
        case .noConnection: "no-connection"
        case .noDestinationAvailable: "no-destination-available"
        case .connectionTableFull: "connection-table-full"
        case .tablePressure: "table-pressure"
        case .localPortsExhausted: "local-ports-exhausted"
        case .neighbourUnresolved: "neighbour-unresolved"
        case .tunnelSourceUnavailable: "tunnel-source-unavailable"
        case .tunnelFragmentationUnsupported: "tunnel-fragmentation-unsupported"
        case .noRoom: "no-room"
        case .fragmentationUnsupported: "fragmentation-unsupported"
        case .vipOnStandby: "vip-on-standby"
        case .synProxyBadCookie: "syn-proxy-bad-cookie"
        case .synProxyAwaitingServer: "syn-proxy-awaiting-server"
        case .proxyProtocolNoRoom: "proxy-protocol-no-room"
        }
    }
}
