/// TCP header flags (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x01) }
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x02) }
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x04) }
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x08) }
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x10) }
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x20) }
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x40) }
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x80) }
}

/// A TCP segment header (RFC 9293 §3.1). Options are left as bytes.
public struct TCPSegment {
    public enum Offset {
        public static let sourcePort = 0
        public static let destinationPort = 2
        public static let sequence = 4
        public static let acknowledgment = 8
        public static let dataOffset = 12
        public static let flags = 13
        public static let window = 14
        public static let checksum = 16
        public static let urgentPointer = 18
    }
    public static let minimumHeaderLength = 20

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes of the segment (header and data), as bounded by the IP layer.
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= TCPSegment.minimumHeaderLength else { throw .truncated }
        let offset = Int(base.wireU8(Offset.dataOffset) >> 4) * 4
        guard offset >= TCPSegment.minimumHeaderLength, offset <= length else { throw .badHeaderLength }
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
    @inlinable public var sequenceNumber: UInt32 {
        get { base.wireU32(Offset.sequence) }
        nonmutating set { base.wireSetU32(newValue, Offset.sequence) }
    }
    @inlinable public var acknowledgmentNumber: UInt32 {
        get { base.wireU32(Offset.acknowledgment) }
        nonmutating set { base.wireSetU32(newValue, Offset.acknowledgment) }
    }
    /// Header length in bytes (data offset × 4).
    @inlinable public var headerLength: Int { Int(base.wireU8(Offset.dataOffset) >> 4) * 4 }
    @inlinable public var flags: TCPFlags {
        get { TCPFlags(rawValue: base.wireU8(Offset.flags)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.flags) }
    }
    @inlinable public var window: UInt16 {
        get { base.wireU16(Offset.window) }
        nonmutating set { base.wireSetU16(newValue, Offset.window) }
    }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    @inlinable public var urgentPointer: UInt16 {
        get { base.wireU16(Offset.urgentPointer) }
        nonmutating set { base.wireSetU16(newValue, Offset.urgentPointer) }
    }
    @inlinable public var payloadLength: Int { length - headerLength }

    /// Verifies the checksum given the IP layer's pseudo-header sum.
    @inlinable public func isChecksumValid(pseudoHeaderSum: UInt32) -> Bool {
        Checksum.fold(Checksum.sum(base, count: length, initial: pseudoHeaderSum)) == 0xFFFF
    }

    /// Recomputes the checksum over the whole segment.
    @inlinable public func fillChecksum(pseudoHeaderSum: UInt32) {
        checksum = 0
        checksum = Checksum.finish(Checksum.sum(base, count: length, initial: pseudoHeaderSum))
    }

    /// Writes a header of `headerLength` bytes (20 plus options, a multiple of 4) with a zero
    /// checksum and urgent pointer. Options, if any, are the caller's to write after byte 20; the
    /// checksum needs the data in place, so call `fillChecksum` once the whole segment is written.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, sourcePort: UInt16, destinationPort: UInt16,
                            sequence: UInt32, acknowledgment: UInt32, headerLength: Int = minimumHeaderLength,
                            flags: TCPFlags, window: UInt16) {
        base.wireSetU16(sourcePort, Offset.sourcePort)
        base.wireSetU16(destinationPort, Offset.destinationPort)
        base.wireSetU32(sequence, Offset.sequence)
        base.wireSetU32(acknowledgment, Offset.acknowledgment)
        base.wireSetU8(UInt8(truncatingIfNeeded: headerLength / 4) << 4, Offset.dataOffset)
        base.wireSetU8(flags.rawValue, Offset.flags)
        base.wireSetU16(window, Offset.window)
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU16(0, Offset.urgentPointer)
    }
}
