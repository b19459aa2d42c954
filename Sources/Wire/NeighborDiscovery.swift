/// Neighbor solicitation and advertisement bodies (RFC 4861 §4.3, §4.4), after the ICMPv6
/// message's type, code and checksum.
public enum NeighborDiscovery {
    /// Offsets from the start of the ICMPv6 message.
    public enum Offset {
        public static let flags = 4
        public static let target = 8
        public static let options = 24
    }
    /// Header, flags and target: a solicitation or advertisement without options.
    public static let messageLength = 24
    /// Every ND message is sent, and must arrive, with hop limit 255 (RFC 4861 §7.1.1): a
    /// lower one was routed and is not from a neighbour.
    @inlinable public static var hopLimit: UInt8 { 255 }

    /// Option types (RFC 4861 §4.6).
    public enum Option {
        public static let sourceLinkLayerAddress: UInt8 = 1
        public static let targetLinkLayerAddress: UInt8 = 2
        /// A link-layer address option for Ethernet: type, length (in 8-byte units), MAC.
        public static let linkLayerAddressLength = 8
    }

    /// The advertisement's R, S and O bits (RFC 4861 §4.4).
    public struct AdvertisementFlags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt32
        @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
        @inlinable public static var router: AdvertisementFlags { AdvertisementFlags(rawValue: 0x8000_0000) }
        @inlinable public static var solicited: AdvertisementFlags { AdvertisementFlags(rawValue: 0x4000_0000) }
        @inlinable public static var override: AdvertisementFlags { AdvertisementFlags(rawValue: 0x2000_0000) }
    }
}

/// A neighbor solicitation (RFC 4861 §4.3): who has `target`?
public struct NeighborSolicitation {
    @usableFromInline let base: UnsafeMutableRawPointer
    public let length: Int

    /// Validates that `message` is a solicitation (type 135, code 0) long enough to hold its target.
    @inlinable
    public init(_ message: ICMPv6Message) throws(WireError) {
        guard message.type == .neighborSolicitation, message.code == .zero else { throw .unsupported }
        guard message.length >= NeighborDiscovery.messageLength else { throw .truncated }
        base = message.base
        length = message.length
    }

    @inlinable public var target: IPAddress { base.wireIPv6(NeighborDiscovery.Offset.target) }
}

/// A received neighbor advertisement (RFC 4861 §4.4): its flags, target and the target
/// link-layer address option, read in place.
public struct NeighborAdvertisementMessage {
    @usableFromInline let base: UnsafeMutableRawPointer
    public let length: Int

    /// Validates that `message` is an advertisement (type 136, code 0) long enough to hold its target.
    @inlinable
    public init(_ message: ICMPv6Message) throws(WireError) {
        guard message.type == .neighborAdvertisement, message.code == .zero else { throw .unsupported }
        guard message.length >= NeighborDiscovery.messageLength else { throw .truncated }
        base = message.base
        length = message.length
    }

    @inlinable public var flags: NeighborDiscovery.AdvertisementFlags {
        NeighborDiscovery.AdvertisementFlags(rawValue: base.wireU32(NeighborDiscovery.Offset.flags))
    }
    @inlinable public var target: IPAddress { base.wireIPv6(NeighborDiscovery.Offset.target) }

    /// The MAC of the target link-layer address option, nil when there is none. An option
    /// of length 0 makes the whole message invalid (RFC 4861 §4.6): nil too.
    @inlinable public var targetLinkLayerAddress: MACAddress? {
        var offset = NeighborDiscovery.Offset.options
        while offset + NeighborDiscovery.Option.linkLayerAddressLength <= length {
            let units = Int(base.wireU8(offset + 1))
            guard units > 0 else { return nil }
            if base.wireU8(offset) == NeighborDiscovery.Option.targetLinkLayerAddress { return base.wireMAC(offset + 2) }
            offset += units * 8
        }
        return nil
    }
}

/// A neighbor advertisement (RFC 4861 §4.4) with one target link-layer address option.
public enum NeighborAdvertisement {
    /// The message `emit` writes: header, flags, target and the 8-byte option.
    public static let length = NeighborDiscovery.messageLength + NeighborDiscovery.Option.linkLayerAddressLength

    /// Writes the whole ICMPv6 message at `base`, checksum included (the pseudo-header of
    /// `source` → `destination`), and returns its length. `base` may be the solicitation
    /// being answered: its target is rewritten with the same bytes.
    @inlinable @discardableResult
    public static func emit(into base: UnsafeMutableRawPointer, flags: NeighborDiscovery.AdvertisementFlags,
                            target: IPAddress, targetMAC: MACAddress,
                            source: IPAddress, destination: IPAddress) -> Int {
        typealias ND = NeighborDiscovery
        ICMPv6Message.emit(into: base, type: .neighborAdvertisement, code: .zero, rest: flags.rawValue)
        base.wireSetIPv6(target, ND.Offset.target)
        base.wireSetU8(ND.Option.targetLinkLayerAddress, ND.Offset.options)
        base.wireSetU8(UInt8(ND.Option.linkLayerAddressLength / 8), ND.Offset.options + 1)
        base.wireSetMAC(targetMAC, ND.Offset.options + 2)
        let message = ICMPv6Message(unchecked: base, length: length)
        message.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
            source: source, destination: destination, nextHeader: .icmpv6, length: length))
        return length
    }
}
