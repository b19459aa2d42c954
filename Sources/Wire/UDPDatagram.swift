/// A UDP datagram (RFC 768). Over IPv4 a zero checksum means "none" and stays zero.
public struct UDPDatagram {
    public enum Offset {
        public static let sourcePort = 0
        public static let destinationPort = 2
        public static let length = 4
        public static let checksum = 6
    }
    public static let headerLength = 8

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// The length field as validated (header + data).
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length available: Int) throws(WireError) {
        guard available >= UDPDatagram.headerLength else { throw .truncated }
        let declared = Int(base.wireU16(Offset.length))
        guard declared >= UDPDatagram.headerLength, declared <= available else { throw .badTotalLength }
        self.base = base
        self.length = declared
    }

    /// A view over a datagram the caller has already bounded (no checks); `length` is the
    /// datagram's, which a caller writing a new header sets with `setLength`.
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int) {
        self.base = base
        self.length = length
    }

    @inlinable public var sourcePort: UInt16 {
        get { base.wireU16(Offset.sourcePort) }
        nonmutating set { base.wireSetU16(newValue, Offset.sourcePort) }
    }
    @inlinable public var destinationPort: UInt16 {
        get { base.wireU16(Offset.destinationPort) }
        nonmutating set { base.wireSetU16(newValue, Offset.destinationPort) }
    }
    @inlinable public func setLength(_ value: UInt16) { base.wireSetU16(value, Offset.length) }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    @inlinable public var payload: UnsafeMutableRawPointer { base + UDPDatagram.headerLength }
    @inlinable public var payloadLength: Int { length - UDPDatagram.headerLength }

    @inlinable public func isChecksumValid(pseudoHeaderSum: UInt32) -> Bool {
        checksum == 0 || Checksum.fold(Checksum.sum(base, count: length, initial: pseudoHeaderSum)) == 0xFFFF
    }

    /// Recomputes the checksum; a computed zero is sent as 0xFFFF (RFC 768).
    @inlinable public func fillChecksum(pseudoHeaderSum: UInt32) {
        checksum = 0
        let c = Checksum.finish(Checksum.sum(base, count: length, initial: pseudoHeaderSum))
        checksum = c == 0 ? 0xFFFF : c
    }

    /// Writes an 8-byte header with a zero checksum (call `fillChecksum` once the data is in place).
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, sourcePort: UInt16, destinationPort: UInt16, length: Int) {
        base.wireSetU16(sourcePort, Offset.sourcePort)
        base.wireSetU16(destinationPort, Offset.destinationPort)
        base.wireSetU16(UInt16(truncatingIfNeeded: length), Offset.length)
        base.wireSetU16(0, Offset.checksum)
    }
}
