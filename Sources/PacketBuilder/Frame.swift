import Wire

/// A frame described as a chain of layers that reads like the packet, rendered to exact bytes.
///
/// Katran-style golden tests need frames that are valid in every length and checksum field
/// and still readable in the test source:
///
/// ```swift
/// let syn = Frame.ethernet(destination: directorMAC, source: clientMAC)
///     .ipv4(source: "203.0.113.5", destination: "198.18.0.10")
///     .tcp(sourcePort: 46018, destinationPort: 80, flags: .syn)
///     .bytes
/// ```
///
/// A `Frame` is an immutable value: every method returns a new frame with one more layer, so
/// a common prefix can be shared between tests. Nothing is computed until `bytes` is read;
/// then each header takes its type field from the layer after it and its length and
/// checksum from everything after it. Invalid descriptions (an address that does not parse,
/// a fragment offset that is not a multiple of 8) are programmer errors and trap with a
/// message, because a builder that guessed would hide the mistake inside a golden frame.
public struct Frame: Sendable {
    let layers: [Layer]

    init(layers: [Layer]) { self.layers = layers }

    func appending(_ layer: Layer) -> Frame { Frame(layers: layers + [layer]) }

    // MARK: Link layer

    /// An Ethernet II header, with one 802.1Q tag (TPID 0x8100, priority 0) when `vlan` is given.
    public static func ethernet(destination: MACAddress, source: MACAddress, vlan: UInt16? = nil) -> Frame {
        if let vlan { precondition(vlan < 0x1000, "PacketBuilder: VLAN ID \(vlan) does not fit in 12 bits") }
        return Frame(layers: [.ethernet(destination: destination, source: source, vlan: vlan)])
    }

    /// A bare IP packet with no Ethernet header (for quoting inside ICMP errors, or raw use).
    public static var raw: Frame { Frame(layers: []) }

    // MARK: Network layer

    /// An IPv4 header (RFC 791). `options` are padded with End-of-Options (0) to a multiple of
    /// four bytes; `fragmentOffset` is in bytes and must be a multiple of 8.
    public func ipv4(source: String, destination: String, ttl: UInt8 = 64, identification: UInt16 = 0,
                     dontFragment: Bool = true, moreFragments: Bool = false, fragmentOffset: Int = 0,
                     tos: UInt8 = 0, options: [UInt8] = []) -> Frame {
        precondition(fragmentOffset >= 0 && fragmentOffset % 8 == 0 && fragmentOffset / 8 <= Int(IPv4Packet.Flag.offsetMask),
                     "PacketBuilder: IPv4 fragment offset \(fragmentOffset) is not a multiple of 8 below 65536")
        var padded = options
        while padded.count % 4 != 0 { padded.append(0) }
        precondition(padded.count <= 40, "PacketBuilder: IPv4 options are limited to 40 bytes, got \(options.count)")
        var flags = UInt16(fragmentOffset / 8)
        if dontFragment { flags |= IPv4Packet.Flag.dontFragment }
        if moreFragments { flags |= IPv4Packet.Flag.moreFragments }
        return appending(.ipv4(IPv4Layer(
            source: Frame.ipv4Address(source), destination: Frame.ipv4Address(destination),
            ttl: ttl, identification: identification, flagsFragment: flags, tos: tos, options: padded)))
    }

    /// An IPv6 fixed header (RFC 8200 §3).
    public func ipv6(source: String, destination: String, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
                     flowLabel: UInt32 = 0) -> Frame {
        precondition(flowLabel <= 0xF_FFFF, "PacketBuilder: flow label \(flowLabel) does not fit in 20 bits")
        return appending(.ipv6(IPv6Layer(
            source: Frame.ipv6Address(source), destination: Frame.ipv6Address(destination),
            hopLimit: hopLimit, trafficClass: trafficClass, flowLabel: flowLabel)))
    }

    /// An IPv6 extension header (hop-by-hop 0, routing 43, destination options 60) with `optionBytes`
    /// bytes after its two-byte Next Header / Length prefix (a multiple of 8 minus 2).
    ///
    /// Hop-by-hop and destination options are filled with PadN/Pad1 options so receivers skip them
    /// (RFC 8200 §4.2); a routing header is filled with zeros (type 0, segments left 0, which
    /// RFC 5095 lets a node ignore). Value 51 (AH) is accepted too, with AH's 4-byte length unit.
    public func ipv6Extension(_ nextHeaderValue: UInt8, optionBytes: Int = 6) -> Frame {
        precondition(optionBytes >= 6 && (optionBytes + 2) % 8 == 0 && optionBytes + 2 <= 2048,
                     "PacketBuilder: IPv6 extension header option bytes must be 8n - 2, got \(optionBytes)")
        return appending(.ipv6Extension(value: nextHeaderValue, optionBytes: optionBytes))
    }

    /// `ipv6Extension(_:optionBytes:)` with the header named by its protocol number type.
    public func ipv6Extension(_ nextHeader: IPProtocol, optionBytes: Int = 6) -> Frame {
        ipv6Extension(nextHeader.rawValue, optionBytes: optionBytes)
    }

    /// An IPv6 Fragment header (RFC 8200 §4.5); `offset` is in bytes and must be a multiple of 8.
    public func ipv6Fragment(offset: Int, more: Bool, identification: UInt32) -> Frame {
        precondition(offset >= 0 && offset % 8 == 0 && offset <= 0xFFF8,
                     "PacketBuilder: IPv6 fragment offset \(offset) is not a multiple of 8 below 65536")
        return appending(.ipv6Fragment(offset: offset, more: more, identification: identification))
    }

    /// Overrides the protocol / next-header value written by the preceding IPv4, IPv6 or extension
    /// header, for packets whose next layer is not built here (a non-first fragment's payload).
    public func protocolNumber(_ value: UInt8) -> Frame {
        appending(.protocolNumber(value))
    }

    public func protocolNumber(_ value: IPProtocol) -> Frame { protocolNumber(value.rawValue) }

    // MARK: Transport layer

    /// A TCP header (RFC 9293 §3.1). `options` are padded with End-of-Options (0) to a multiple of four.
    public func tcp(sourcePort: UInt16, destinationPort: UInt16, flags: TCPFlags, sequence: UInt32 = 0,
                    acknowledgment: UInt32 = 0, window: UInt16 = 65535, options: [UInt8] = []) -> Frame {
        var padded = options
        while padded.count % 4 != 0 { padded.append(0) }
        precondition(padded.count <= 40, "PacketBuilder: TCP options are limited to 40 bytes, got \(options.count)")
        return appending(.tcp(TCPLayer(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags,
                                       sequence: sequence, acknowledgment: acknowledgment, window: window,
                                       options: padded)))
    }

    /// A UDP header (RFC 768). `checksum: false` writes 0, which means "no checksum" over IPv4;
    /// over IPv6 a zero checksum is invalid (RFC 8200 §8.1), which is exactly what a negative test wants.
    public func udp(sourcePort: UInt16, destinationPort: UInt16, checksum: Bool = true) -> Frame {
        appending(.udp(sourcePort: sourcePort, destinationPort: destinationPort, checksum: checksum))
    }

    /// An ICMPv4 header (RFC 792); `rest` is bytes 4–7 (echo id/sequence, next-hop MTU, ...).
    public func icmpv4(type: UInt8, code: UInt8, rest: UInt32 = 0) -> Frame {
        appending(.icmpv4(type: type, code: code, rest: rest))
    }

    /// `icmpv4(type:code:rest:)` with named type and code; raw numbers stay available for
    /// the malformed and unknown messages tests need.
    public func icmpv4(type: ICMPv4Type, code: ICMPv4Code, rest: UInt32 = 0) -> Frame {
        icmpv4(type: type.rawValue, code: code.rawValue, rest: rest)
    }

    /// An ICMPv6 header (RFC 4443); its checksum covers the IPv6 pseudo-header.
    public func icmpv6(type: UInt8, code: UInt8, rest: UInt32 = 0) -> Frame {
        appending(.icmpv6(type: type, code: code, rest: rest))
    }

    public func icmpv6(type: ICMPv6Type, code: ICMPv6Code, rest: UInt32 = 0) -> Frame {
        icmpv6(type: type.rawValue, code: code.rawValue, rest: rest)
    }

    /// An ARP packet for IPv4 over Ethernet (RFC 826), 28 bytes, unpadded.
    public func arp(operation: UInt16, senderMAC: MACAddress, senderIP: String, targetMAC: MACAddress,
                    targetIP: String) -> Frame {
        appending(.arp(operation: operation, senderMAC: senderMAC, senderIP: Frame.ipv4Address(senderIP),
                       targetMAC: targetMAC, targetIP: Frame.ipv4Address(targetIP)))
    }

    public func arp(operation: ARPPacket.Operation, senderMAC: MACAddress, senderIP: String, targetMAC: MACAddress,
                    targetIP: String) -> Frame {
        arp(operation: operation.rawValue, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC,
            targetIP: targetIP)
    }

    // MARK: Payload

    public func payload(_ bytes: [UInt8]) -> Frame { appending(.payload(bytes)) }

    /// The UTF-8 bytes of `text`.
    public func payload(_ text: String) -> Frame { appending(.payload(Array(text.utf8))) }

    /// Appends the IP packet of `inner` (its bytes without any Ethernet header), truncated to `limit`
    /// bytes if given — the quote inside an ICMP error.
    ///
    /// Also usable right after `ethernet` or an IP header to wrap an already rendered packet: the
    /// EtherType or protocol is then taken from the quoted packet's version nibble.
    public func quoting(_ inner: Frame, limit: Int? = nil) -> Frame {
        var packet = inner.ipBytes
        if let limit, limit < packet.count { packet.removeSubrange(max(0, limit)...) }
        return appending(.quote(packet))
    }

    /// The rendered bytes without a leading Ethernet header.
    var ipBytes: [UInt8] {
        guard case .ethernet = layers.first else { return bytes }
        return Frame(layers: Array(layers.dropFirst())).bytes
    }

    // MARK: Address text

    static func ipv4Address(_ text: String) -> UInt32 {
        guard let address = IPAddress(text), address.isIPv4 else {
            preconditionFailure("PacketBuilder: '\(text)' is not an IPv4 address")
        }
        return address.ipv4
    }

    static func ipv6Address(_ text: String) -> IPAddress {
        // Reject dotted quads here: IPAddress stores them IPv4-mapped, which would silently
        // put ::ffff:a.b.c.d in an IPv6 header when the test author meant `ipv4(...)`.
        guard text.contains(":"), let address = IPAddress(text) else {
            preconditionFailure("PacketBuilder: '\(text)' is not an IPv6 address")
        }
        return address
    }
}

// MARK: - Layers

extension Frame {
    struct IPv4Layer: Sendable {
        var source: UInt32
        var destination: UInt32
        var ttl: UInt8
        var identification: UInt16
        var flagsFragment: UInt16
        var tos: UInt8
        var options: [UInt8]
    }

    struct IPv6Layer: Sendable {
        var source: IPAddress
        var destination: IPAddress
        var hopLimit: UInt8
        var trafficClass: UInt8
        var flowLabel: UInt32
    }

    struct TCPLayer: Sendable {
        var sourcePort: UInt16
        var destinationPort: UInt16
        var flags: TCPFlags
        var sequence: UInt32
        var acknowledgment: UInt32
        var window: UInt16
        var options: [UInt8]
    }

    enum Layer: Sendable {
        case ethernet(destination: MACAddress, source: MACAddress, vlan: UInt16?)
        case ipv4(IPv4Layer)
        case ipv6(IPv6Layer)
        case ipv6Extension(value: UInt8, optionBytes: Int)
        case ipv6Fragment(offset: Int, more: Bool, identification: UInt32)
        /// Renders nothing; tells the header before it which protocol number to write.
        case protocolNumber(UInt8)
        case tcp(TCPLayer)
        case udp(sourcePort: UInt16, destinationPort: UInt16, checksum: Bool)
        case icmpv4(type: UInt8, code: UInt8, rest: UInt32)
        case icmpv6(type: UInt8, code: UInt8, rest: UInt32)
        case arp(operation: UInt16, senderMAC: MACAddress, senderIP: UInt32, targetMAC: MACAddress, targetIP: UInt32)
        case payload([UInt8])
        /// An already rendered IP packet (or a prefix of one).
        case quote([UInt8])
    }
}
