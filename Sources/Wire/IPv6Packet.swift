/// An IPv6 packet (RFC 8200) with its extension-header chain walked to the transport header.
///
/// The walk follows Hop-by-Hop, Routing, Destination Options, Fragment and AH headers
/// (RFC 8200 §4, RFC 4302 §2.2 for AH's length unit), stops at anything else, and records
/// the fragment header if there is one. ESP hides the transport header, so it ends the walk.
public struct IPv6Packet {
    /// The smallest MTU every IPv6 link has (RFC 8200 §5): a packet-too-big never asks for less.
    public static let minimumMTU = 1280

    public enum Offset {
        public static let versionClassFlow = 0
        public static let payloadLength = 4
        public static let nextHeader = 6
        public static let hopLimit = 7
        public static let source = 8
        public static let destination = 24
    }
    public static let headerLength = 40
    /// The hop limit a host starts its own packets with (Linux `hop_limit`, RFC 8200 §3 suggests 64).
    @inlinable public static var defaultHopLimit: UInt8 { 64 }
    /// Bounds the walk so a chain of empty options headers cannot spin.
    public static let maxExtensionHeaders = 8

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// 40 + payload length, as validated.
    public let totalLength: Int
    /// The protocol after the last extension header walked (TCP, UDP, ICMPv6, ...).
    public let upperProtocol: IPProtocol
    /// Offset of the upper-layer header from `base`.
    public let upperOffset: Int
    /// Offset of the fragment header from `base`, or 0 if there is none.
    public let fragmentHeaderOffset: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= IPv6Packet.headerLength else { throw .truncated }
        guard base.wireU8(Offset.versionClassFlow) >> 4 == 6 else { throw .badVersion }
        let total = IPv6Packet.headerLength + Int(base.wireU16(Offset.payloadLength))
        guard total <= length else { throw .badTotalLength }
        var next = IPProtocol(rawValue: base.wireU8(Offset.nextHeader))
        var offset = IPv6Packet.headerLength
        var fragment = 0
        var walked = 0
        walk: while true {
            switch next {
            case .hopByHop, .routing, .destinationOptions, .authentication:
                guard offset + 2 <= total else { throw .badExtensionHeader }
                let units = Int(base.wireU8(offset + 1))
                let size = next == .authentication ? (units + 2) * 4 : (units + 1) * 8
                next = IPProtocol(rawValue: base.wireU8(offset))
                offset += size
            case .fragment:
                guard offset + 8 <= total else { throw .badExtensionHeader }
                fragment = offset
                next = IPProtocol(rawValue: base.wireU8(offset))
                offset += 8
                // A non-first fragment carries no transport header: stop here.
                if base.wireU16(fragment + 2) & 0xFFF8 != 0 { break walk }
            default:
                break walk
            }
            walked += 1
            guard offset <= total, walked <= IPv6Packet.maxExtensionHeaders else { throw .badExtensionHeader }
        }
        self.base = base
        self.totalLength = total
        self.upperProtocol = next
        self.upperOffset = offset
        self.fragmentHeaderOffset = fragment
    }

    /// A view over a packet the caller has already validated, with no extension headers
    /// (the transport header right after the fixed header), as `IPv6Packet(_:length:)` found it.
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, totalLength: Int, upperProtocol: IPProtocol,
                upperOffset: Int = IPv6Packet.headerLength, fragmentHeaderOffset: Int = 0) {
        self.base = base
        self.totalLength = totalLength
        self.upperProtocol = upperProtocol
        self.upperOffset = upperOffset
        self.fragmentHeaderOffset = fragmentHeaderOffset
    }

    @inlinable public var version: UInt8 { base.wireU8(Offset.versionClassFlow) >> 4 }
    @inlinable public var trafficClass: UInt8 {
        get { UInt8(truncatingIfNeeded: base.wireU32(Offset.versionClassFlow) >> 20) }
        nonmutating set {
            let w = base.wireU32(Offset.versionClassFlow)
            base.wireSetU32(w & 0xF00F_FFFF | UInt32(newValue) << 20, Offset.versionClassFlow)
        }
    }
    @inlinable public var flowLabel: UInt32 {
        get { base.wireU32(Offset.versionClassFlow) & 0x000F_FFFF }
        nonmutating set {
            let w = base.wireU32(Offset.versionClassFlow)
            base.wireSetU32(w & 0xFFF0_0000 | newValue & 0x000F_FFFF, Offset.versionClassFlow)
        }
    }
    @inlinable public var payloadLength: UInt16 {
        get { base.wireU16(Offset.payloadLength) }
        nonmutating set { base.wireSetU16(newValue, Offset.payloadLength) }
    }
    /// The first Next Header field (the fixed header's).
    @inlinable public var nextHeader: IPProtocol {
        get { IPProtocol(rawValue: base.wireU8(Offset.nextHeader)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.nextHeader) }
    }
    @inlinable public var hopLimit: UInt8 {
        get { base.wireU8(Offset.hopLimit) }
        nonmutating set { base.wireSetU8(newValue, Offset.hopLimit) }
    }
    @inlinable public var source: IPAddress {
        get { base.wireIPv6(Offset.source) }
        nonmutating set { base.wireSetIPv6(newValue, Offset.source) }
    }
    @inlinable public var destination: IPAddress {
        get { base.wireIPv6(Offset.destination) }
        nonmutating set { base.wireSetIPv6(newValue, Offset.destination) }
    }

    // MARK: Fragments

    @inlinable public var isFragment: Bool { fragmentHeaderOffset != 0 }
    /// Fragment offset in bytes (0 without a fragment header).
    @inlinable public var fragmentOffset: Int {
        fragmentHeaderOffset == 0 ? 0 : Int(base.wireU16(fragmentHeaderOffset + 2) & 0xFFF8)
    }
    @inlinable public var moreFragments: Bool {
        fragmentHeaderOffset != 0 && base.wireU16(fragmentHeaderOffset + 2) & 1 != 0
    }
    @inlinable public var fragmentIdentification: UInt32 {
        fragmentHeaderOffset == 0 ? 0 : base.wireU32(fragmentHeaderOffset + 4)
    }
    @inlinable public var carriesTransportHeader: Bool { fragmentOffset == 0 }

    // MARK: Upper layer

    @inlinable public var upper: UnsafeMutableRawPointer { base + upperOffset }
    @inlinable public var upperLength: Int { totalLength - upperOffset }

    /// Pseudo-header sum for the upper-layer payload (RFC 8200 §8.1).
    @inlinable public var pseudoHeaderSum: UInt32 {
        Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: upperProtocol, length: upperLength)
    }

    /// Decrements the hop limit as a forwarding router must (RFC 8200 §3); false, with the
    /// packet untouched, when it would reach zero. IPv6 has no header checksum to update.
    @inlinable @inline(__always) public func decrementHopLimit() -> Bool {
        let hop = hopLimit
        guard hop > 1 else { return false }
        hopLimit = hop - 1
        return true
    }

    /// Writes a 40-byte fixed header at `base`.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0,
                            payloadLength: Int, nextHeader: IPProtocol, hopLimit: UInt8 = defaultHopLimit,
                            source: IPAddress, destination: IPAddress) {
        base.wireSetU32(6 << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xF_FFFF, Offset.versionClassFlow)
        base.wireSetU16(UInt16(truncatingIfNeeded: payloadLength), Offset.payloadLength)
        base.wireSetU8(nextHeader.rawValue, Offset.nextHeader)
        base.wireSetU8(hopLimit, Offset.hopLimit)
        base.wireSetIPv6(source, Offset.source)
        base.wireSetIPv6(destination, Offset.destination)
    }
}
