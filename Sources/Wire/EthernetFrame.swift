/// An Ethernet II frame, with up to two 802.1Q / 802.1ad tags passed through untouched.
///
/// IEEE 802.3 §3.1, IEEE 802.1Q §9. The view never moves tags: `etherType` and `payload`
/// are the innermost ones, and rewriting MACs leaves the tags where they are.
public struct EthernetFrame {
    public enum Offset {
        public static let destination = 0
        public static let source = 6
        public static let etherType = 12
    }
    public static let headerLength = 14
    public static let tagLength = 4
    public static let maxTags = 2

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes available from `base` (the captured frame, FCS excluded).
    public let length: Int
    /// 14, 18 or 22: the header including VLAN tags.
    public let headerLength: Int

    /// Validates that the header and every tag fit.
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= EthernetFrame.headerLength else { throw .truncated }
        var offset = Offset.etherType
        var tags = 0
        var type = base.wireU16(offset)
        while type == EtherType.vlan.rawValue || type == EtherType.qinq.rawValue {
            tags += 1
            guard tags <= EthernetFrame.maxTags else { throw .unsupported }
            offset += EthernetFrame.tagLength
            // Only the next EtherType must fit: a tagged header with no payload is still a header.
            guard offset + 2 <= length else { throw .truncated }
            type = base.wireU16(offset)
        }
        self.base = base
        self.length = length
        self.headerLength = offset + 2
    }

    @inlinable public var destination: MACAddress {
        get { base.wireMAC(Offset.destination) }
        nonmutating set { base.wireSetMAC(newValue, Offset.destination) }
    }

    @inlinable public var source: MACAddress {
        get { base.wireMAC(Offset.source) }
        nonmutating set { base.wireSetMAC(newValue, Offset.source) }
    }

    /// The innermost EtherType (after any tags).
    @inlinable public var etherType: EtherType {
        get { EtherType(rawValue: base.wireU16(headerLength - 2)) }
        nonmutating set { base.wireSetU16(newValue.rawValue, headerLength - 2) }
    }

    /// The VLAN ID of the outermost tag, if any.
    @inlinable public var vlanID: UInt16? {
        headerLength > EthernetFrame.headerLength ? base.wireU16(Offset.etherType + 2) & 0x0FFF : nil
    }

    @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }
    @inlinable public var payloadLength: Int { length - headerLength }

    /// Moves the header, tags included, `distance` bytes (negative: toward the buffer's head)
    /// and returns the view at its new place, whose payload is `distance` bytes longer or
    /// shorter: how an encapsulation makes room for an outer header between Ethernet and IP.
    /// The caller guarantees the buffer holds the new range; the payload is not moved.
    @inlinable
    public func moveHeader(by distance: Int) -> EthernetFrame {
        let moved = base + distance
        // Safety: the caller owns both ranges; copyMemory has memmove semantics.
        moved.copyMemory(from: base, byteCount: headerLength)
        return EthernetFrame(unchecked: moved, length: length - distance, headerLength: headerLength)
    }

    /// A view over a header the caller has already validated (no checks).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int, headerLength: Int) {
        self.base = base
        self.length = length
        self.headerLength = headerLength
    }

    /// Writes an untagged header at `base`.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, destination: MACAddress, source: MACAddress, etherType: EtherType) {
        base.wireSetMAC(destination, Offset.destination)
        base.wireSetMAC(source, Offset.source)
        base.wireSetU16(etherType.rawValue, Offset.etherType)
    }
}
