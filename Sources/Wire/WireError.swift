/// Why a view refused its bytes. Each case becomes a named drop counter in `Core`.
public enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes than the fixed header needs.
    case truncated
    /// The version nibble is not the one this view reads.
    case badVersion
    /// A header-length field (IHL, TCP data offset) below the minimum or beyond the buffer.
    case badHeaderLength
    /// A total/payload length field that claims more bytes than arrived, or less than the header.
    case badTotalLength
    /// An IPv6 extension header chain that runs past the packet or is too long to walk.
    case badExtensionHeader
    /// Valid bytes in a variant this view does not handle (an ARP for another hardware type).
    case unsupported
}

/// EtherType values (IEEE 802.3, IANA registry).
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86DD
    public static let vlan: UInt16 = 0x8100
    public static let qinq: UInt16 = 0x88A8
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
public enum IPProtocolNumber {
    public static let hopByHop: UInt8 = 0
    public static let icmp: UInt8 = 1
    public static let ipip: UInt8 = 4
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let ipv6: UInt8 = 41
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let esp: UInt8 = 50
    public static let authentication: UInt8 = 51
    public static let icmpv6: UInt8 = 58
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
}
