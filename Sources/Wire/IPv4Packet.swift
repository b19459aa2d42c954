/// An IPv4 datagram (RFC 791), options included, fragments recognised.
///
/// The validating initializer checks version, IHL and total length against the bytes that
/// arrived; after it, every accessor is in bounds. Ethernet padding past `totalLength` is
/// allowed and ignored.
public struct IPv4Packet {
    public enum Offset {
        public static let versionIHL = 0
        public static let typeOfService = 1
        public static let totalLength = 2
        public static let identification = 4
        public static let flagsFragment = 6
        public static let timeToLive = 8
        public static let `protocol` = 9
        public static let checksum = 10
        public static let source = 12
        public static let destination = 16
        public static let options = 20
    }
    public static let minimumHeaderLength = 20
    /// The TTL a host starts its own datagrams with (Linux `net.ipv4.ip_default_ttl`; RFC 1700).
    @inlinable public static var defaultTimeToLive: UInt8 { 64 }
    /// The MTU every IPv4 link must carry (RFC 791: 68 bytes); no next-hop MTU is smaller.
    @inlinable public static var minimumMTU: Int { 68 }
    /// TOS precedence 6, internetwork control: what Linux gives the ICMP errors it originates
    /// (RFC 1812 §4.3.2.5, `icmp_send`).
    @inlinable public static var internetworkControl: UInt8 { 0xC0 }
    public enum Flag {
        public static let dontFragment: UInt16 = 0x4000
        public static let moreFragments: UInt16 = 0x2000
        public static let offsetMask: UInt16 = 0x1FFF
    }

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// IHL × 4.
    public let headerLength: Int
    /// The total length field as validated.
    public let totalLength: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let vihl = base.wireU8(Offset.versionIHL)
        guard vihl >> 4 == 4 else { throw .badVersion }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= IPv4Packet.minimumHeaderLength, ihl <= length else { throw .badHeaderLength }
        let total = Int(base.wireU16(Offset.totalLength))
        guard total >= ihl, total <= length else { throw .badTotalLength }
        self.base = base
        self.headerLength = ihl
        self.totalLength = total
    }

    @inlinable public var version: UInt8 { base.wireU8(Offset.versionIHL) >> 4 }
    @inlinable public var typeOfService: UInt8 {
        get { base.wireU8(Offset.typeOfService) }
        nonmutating set { base.wireSetU8(newValue, Offset.typeOfService) }
    }
    /// Writes the total length field (the view's `totalLength` keeps the validated value).
    @inlinable public func setTotalLength(_ value: UInt16) { base.wireSetU16(value, Offset.totalLength) }
    @inlinable public var identification: UInt16 {
        get { base.wireU16(Offset.identification) }
        nonmutating set { base.wireSetU16(newValue, Offset.identification) }
    }
    /// Flags and fragment offset as one word.
    @inlinable public var flagsFragment: UInt16 {
        get { base.wireU16(Offset.flagsFragment) }
        nonmutating set { base.wireSetU16(newValue, Offset.flagsFragment) }
    }
    @inlinable public var dontFragment: Bool { flagsFragment & Flag.dontFragment != 0 }
    @inlinable public var moreFragments: Bool { flagsFragment & Flag.moreFragments != 0 }
    /// Fragment offset in bytes.
    @inlinable public var fragmentOffset: Int { Int(flagsFragment & Flag.offsetMask) * 8 }
    /// True for any fragment, first or not.
    @inlinable public var isFragment: Bool { flagsFragment & (Flag.moreFragments | Flag.offsetMask) != 0 }
    /// True when the transport header is in this packet (not a non-first fragment).
    @inlinable public var carriesTransportHeader: Bool { flagsFragment & Flag.offsetMask == 0 }
    @inlinable public var timeToLive: UInt8 {
        get { base.wireU8(Offset.timeToLive) }
        nonmutating set { base.wireSetU8(newValue, Offset.timeToLive) }
    }
    @inlinable public var `protocol`: IPProtocol {
        get { IPProtocol(rawValue: base.wireU8(Offset.protocol)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.protocol) }
    }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    /// Source address, host-order value.
    @inlinable public var source: UInt32 {
        get { base.wireU32(Offset.source) }
        nonmutating set { base.wireSetU32(newValue, Offset.source) }
    }
    @inlinable public var destination: UInt32 {
        get { base.wireU32(Offset.destination) }
        nonmutating set { base.wireSetU32(newValue, Offset.destination) }
    }
    @inlinable public var sourceAddress: IPAddress { IPAddress(ipv4: source) }
    @inlinable public var destinationAddress: IPAddress { IPAddress(ipv4: destination) }
    @inlinable public var optionsLength: Int { headerLength - IPv4Packet.minimumHeaderLength }
    @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }
    @inlinable public var payloadLength: Int { totalLength - headerLength }

    // MARK: Checksums

    /// RFC 791 header checksum over the header as it stands (checksum field included).
    @inlinable public var isChecksumValid: Bool {
        // The header is whole 32-bit words: sum them as such (every packet is checked, and
        // the generic byte-count loop costs several times more for 20 bytes).
        var acc: UInt64 = 0
        var offset = 0
        if headerLength == IPv4Packet.minimumHeaderLength {
            // No options, the common case: five loads, no loop.
            acc = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
            offset = headerLength
        }
        while offset < headerLength {
            acc &+= UInt64(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        acc = (acc & 0xFFFF_FFFF) &+ (acc >> 32)
        acc = (acc & 0xFFFF) &+ (acc >> 16)
        acc = (acc & 0xFFFF) &+ (acc >> 16)
        acc = (acc & 0xFFFF) &+ (acc >> 16)
        // Native-order words fold to the byte-swapped sum; 0xFFFF is its own swap.
        return acc == 0xFFFF
    }

    /// Recomputes the header checksum from scratch.
    @inlinable public func fillChecksum() {
        checksum = 0
        checksum = Checksum.finish(Checksum.sum(base, count: headerLength))
    }

    /// The pseudo-header sum for this packet's transport payload.
    @inlinable public var pseudoHeaderSum: UInt32 {
        Checksum.pseudoHeaderIPv4(source: source, destination: destination, protocol: self.protocol, length: payloadLength)
    }

    /// Decrements TTL with an RFC 1624 update of the header checksum.
    @inlinable @inline(__always) public func decrementTimeToLive() {
        let old = base.wireU16(Offset.timeToLive)
        timeToLive &-= 1
        checksum = Checksum.update(checksum, old: old, new: base.wireU16(Offset.timeToLive))
    }

    /// Writes a 20-byte header without options and fills its checksum.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, typeOfService: UInt8 = 0, totalLength: Int,
                            identification: UInt16 = 0, flagsFragment: UInt16 = Flag.dontFragment,
                            timeToLive: UInt8 = defaultTimeToLive, protocol proto: IPProtocol, source: UInt32, destination: UInt32) {
        base.wireSetU8(4 << 4 | UInt8(minimumHeaderLength / 4), Offset.versionIHL)
        base.wireSetU8(typeOfService, Offset.typeOfService)
        base.wireSetU16(UInt16(truncatingIfNeeded: totalLength), Offset.totalLength)
        base.wireSetU16(identification, Offset.identification)
        base.wireSetU16(flagsFragment, Offset.flagsFragment)
        base.wireSetU8(timeToLive, Offset.timeToLive)
        base.wireSetU8(proto.rawValue, Offset.protocol)
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU32(source, Offset.source)
        base.wireSetU32(destination, Offset.destination)
        base.wireSetU16(Checksum.finish(Checksum.sum(base, count: minimumHeaderLength)), Offset.checksum)
    }
}

/// IP-in-IP encapsulation (RFC 2003): an outer IPv4 header with protocol 4 before the inner datagram.
public enum IPIP {
    /// Bytes the outer header adds (no options).
    public static let overhead = IPv4Packet.minimumHeaderLength
}
