/// Protocol numbers as types, so a field read from the wire can only be compared with a
/// number of its own kind (an EtherType never with an IP protocol) and no logic carries
/// integer literals.
///
/// Each is a struct over the raw field, not an enum: the wire may hold any value, and the
/// views must hand back what they read without a failable conversion on the data path.
/// Members are `@inlinable static var` rather than `static let` so a use from another
/// module folds to a constant instead of calling a lazy global's accessor per packet.

/// EtherType values (IEEE 802.3, IANA "IEEE 802 Numbers"): what follows an Ethernet header.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public static func == (a: EtherType, b: EtherType) -> Bool { a.rawValue == b.rawValue }

    @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
    @inlinable public static var arp: EtherType { EtherType(rawValue: 0x0806) }
    @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }
    /// IEEE 802.1Q customer VLAN tag.
    @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
    /// IEEE 802.1ad service VLAN tag (Q-in-Q outer tag).
    @inlinable public static var qinq: EtherType { EtherType(rawValue: 0x88A8) }

    /// `0x0800`, as EtherTypes are written.
    public var description: String {
        let digits = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
    }
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"): the IPv4 protocol field
/// and the IPv6 next-header values, extension headers included.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: IPProtocol, b: IPProtocol) -> Bool { a.rawValue == b.rawValue }

    @inlinable public static var hopByHop: IPProtocol { IPProtocol(rawValue: 0) }
    @inlinable public static var icmp: IPProtocol { IPProtocol(rawValue: 1) }
    /// IP in IP (RFC 2003), LVS-TUN's encapsulation.
    @inlinable public static var ipip: IPProtocol { IPProtocol(rawValue: 4) }
    @inlinable public static var tcp: IPProtocol { IPProtocol(rawValue: 6) }
    @inlinable public static var udp: IPProtocol { IPProtocol(rawValue: 17) }
    /// IPv6 encapsulated (RFC 2473).
    @inlinable public static var ipv6: IPProtocol { IPProtocol(rawValue: 41) }
    /// Generic Routing Encapsulation (RFC 2784).
    @inlinable public static var gre: IPProtocol { IPProtocol(rawValue: 47) }
    @inlinable public static var routing: IPProtocol { IPProtocol(rawValue: 43) }
    @inlinable public static var fragment: IPProtocol { IPProtocol(rawValue: 44) }
    @inlinable public static var esp: IPProtocol { IPProtocol(rawValue: 50) }
    @inlinable public static var authentication: IPProtocol { IPProtocol(rawValue: 51) }
    @inlinable public static var icmpv6: IPProtocol { IPProtocol(rawValue: 58) }
    @inlinable public static var noNextHeader: IPProtocol { IPProtocol(rawValue: 59) }
    @inlinable public static var destinationOptions: IPProtocol { IPProtocol(rawValue: 60) }
    /// Virtual Router Redundancy Protocol (RFC 3768 §5.2.4, RFC 5798 §5.1.1.3).
    @inlinable public static var vrrp: IPProtocol { IPProtocol(rawValue: 112) }

    /// The decimal number, as `ip` and `tcpdump -v` print it.
    public var description: String { String(rawValue) }
}

/// ICMPv4 message types (RFC 792, IANA "ICMP Type Numbers").
public struct ICMPv4Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: ICMPv4Type, b: ICMPv4Type) -> Bool { a.rawValue == b.rawValue }

    @inlinable public static var echoReply: ICMPv4Type { ICMPv4Type(rawValue: 0) }
    @inlinable public static var destinationUnreachable: ICMPv4Type { ICMPv4Type(rawValue: 3) }
    @inlinable public static var sourceQuench: ICMPv4Type { ICMPv4Type(rawValue: 4) }
    @inlinable public static var redirect: ICMPv4Type { ICMPv4Type(rawValue: 5) }
    @inlinable public static var echoRequest: ICMPv4Type { ICMPv4Type(rawValue: 8) }
    @inlinable public static var timeExceeded: ICMPv4Type { ICMPv4Type(rawValue: 11) }
    @inlinable public static var parameterProblem: ICMPv4Type { ICMPv4Type(rawValue: 12) }

    public var description: String { String(rawValue) }
}

/// ICMPv4 codes (RFC 792, RFC 1191, RFC 1812 §5.2.7.1). A code means something only with
/// its type, so each member's name says which type it belongs to when that is not obvious.
public struct ICMPv4Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: ICMPv4Code, b: ICMPv4Code) -> Bool { a.rawValue == b.rawValue }

    /// The only code of echo, echo reply and source quench.
    @inlinable public static var zero: ICMPv4Code { ICMPv4Code(rawValue: 0) }
    /// Destination unreachable.
    @inlinable public static var networkUnreachable: ICMPv4Code { ICMPv4Code(rawValue: 0) }
    @inlinable public static var hostUnreachable: ICMPv4Code { ICMPv4Code(rawValue: 1) }
    @inlinable public static var protocolUnreachable: ICMPv4Code { ICMPv4Code(rawValue: 2) }
    @inlinable public static var portUnreachable: ICMPv4Code { ICMPv4Code(rawValue: 3) }
    /// Destination unreachable, fragmentation needed and DF set (RFC 1191 §4).
    @inlinable public static var fragmentationNeeded: ICMPv4Code { ICMPv4Code(rawValue: 4) }
    /// Time exceeded.
    @inlinable public static var ttlExceeded: ICMPv4Code { ICMPv4Code(rawValue: 0) }
    @inlinable public static var reassemblyTimeExceeded: ICMPv4Code { ICMPv4Code(rawValue: 1) }

    public var description: String { String(rawValue) }
}

/// ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4). Below 128 are errors.
public struct ICMPv6Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: ICMPv6Type, b: ICMPv6Type) -> Bool { a.rawValue == b.rawValue }

    @inlinable public static var destinationUnreachable: ICMPv6Type { ICMPv6Type(rawValue: 1) }
    @inlinable public static var packetTooBig: ICMPv6Type { ICMPv6Type(rawValue: 2) }
    @inlinable public static var timeExceeded: ICMPv6Type { ICMPv6Type(rawValue: 3) }
    @inlinable public static var parameterProblem: ICMPv6Type { ICMPv6Type(rawValue: 4) }
    @inlinable public static var echoRequest: ICMPv6Type { ICMPv6Type(rawValue: 128) }
    @inlinable public static var echoReply: ICMPv6Type { ICMPv6Type(rawValue: 129) }
    @inlinable public static var routerSolicitation: ICMPv6Type { ICMPv6Type(rawValue: 133) }
    @inlinable public static var routerAdvertisement: ICMPv6Type { ICMPv6Type(rawValue: 134) }
    @inlinable public static var neighborSolicitation: ICMPv6Type { ICMPv6Type(rawValue: 135) }
    @inlinable public static var neighborAdvertisement: ICMPv6Type { ICMPv6Type(rawValue: 136) }

    /// Error messages quote the offending packet (RFC 4443 §2.1: the high bit clear).
    @inlinable public var isError: Bool { rawValue < 128 }

    public var description: String { String(rawValue) }
}

/// ICMPv6 codes (RFC 4443 §3). As for ICMPv4, a code's meaning depends on its type.
public struct ICMPv6Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: ICMPv6Code, b: ICMPv6Code) -> Bool { a.rawValue == b.rawValue }

    /// The only code of packet too big, echo and neighbour discovery messages.
    @inlinable public static var zero: ICMPv6Code { ICMPv6Code(rawValue: 0) }
    /// Destination unreachable.
    @inlinable public static var noRoute: ICMPv6Code { ICMPv6Code(rawValue: 0) }
    @inlinable public static var addressUnreachable: ICMPv6Code { ICMPv6Code(rawValue: 3) }
    @inlinable public static var portUnreachable: ICMPv6Code { ICMPv6Code(rawValue: 4) }
    /// Time exceeded.
    @inlinable public static var hopLimitExceeded: ICMPv6Code { ICMPv6Code(rawValue: 0) }

    public var description: String { String(rawValue) }
}

/// VRRPv2 authentication types (RFC 3768 §5.3.6; RFC 2338 §5.3.6 defined the other two,
/// which keepalived still sends as `auth_type PASS` and `AH`). VRRPv3 has none.
public struct VRRPAuthType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static func == (a: VRRPAuthType, b: VRRPAuthType) -> Bool { a.rawValue == b.rawValue }

    @inlinable public static var none: VRRPAuthType { VRRPAuthType(rawValue: 0) }
    /// A cleartext password in the eight authentication bytes (keepalived's `PASS`).
    @inlinable public static var simpleText: VRRPAuthType { VRRPAuthType(rawValue: 1) }
    /// IPsec AH (keepalived's `AH`).
    @inlinable public static var ipsecAH: VRRPAuthType { VRRPAuthType(rawValue: 2) }

    public var description: String { String(rawValue) }
}
