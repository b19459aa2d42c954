/// A GRE header (RFC 2784 §2, without RFC 2890's key and sequence number): the flags and
/// version word, the EtherType of the payload, and with the C bit a checksum over the GRE
/// header and payload followed by a reserved word.
public struct GREHeader {
    public enum Offset {
        public static let flagsVersion = 0
        public static let protocolType = 2
        public static let checksum = 4
    }
    /// Checksum present (RFC 2784 §2.2).
    public static let checksumFlag: UInt16 = 0x8000
    /// Every flag but C, and the version bits, which a version-0 receiver must see as zero
    /// (RFC 2784 §2.3, §2.5); K and S (RFC 2890) are refused with them.
    @usableFromInline static let unsupportedBits: UInt16 = 0x7FFF
    public static let baseLength = 4
    /// The checksum and the reserved word after it.
    public static let checksumLength = 4

    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes of GRE header (4 or 8).
    public let headerLength: Int

    /// Validates a header at `base` with `available` bytes after it: version 0, no flag but C.
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length available: Int) throws(WireError) {
        guard available >= GREHeader.baseLength else { throw .truncated }
        let word = base.wireU16(Offset.flagsVersion)
        guard word & GREHeader.unsupportedBits == 0 else { throw .unsupported }
        let length = GREHeader.baseLength + (word & GREHeader.checksumFlag != 0 ? GREHeader.checksumLength : 0)
        guard available >= length else { throw .truncated }
        self.base = base
        headerLength = length
    }

    @inlinable public var hasChecksum: Bool { base.wireU16(Offset.flagsVersion) & GREHeader.checksumFlag != 0 }
    @inlinable public var protocolType: EtherType { EtherType(rawValue: base.wireU16(Offset.protocolType)) }
    @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }

    /// Whether the checksum covers header and payload (`length` bytes from the header on).
    @inlinable public func isChecksumValid(length: Int) -> Bool {
        !hasChecksum || Checksum.fold(Checksum.sum(base, count: length)) == 0xFFFF
    }

    /// Bytes a header with or without the checksum takes.
    @inlinable public static func length(checksum: Bool) -> Int { baseLength + (checksum ? checksumLength : 0) }

    /// Writes a header at `base` for a payload of `protocolType`; with `checksum`, the
    /// checksum field is left zero for `fillChecksum` once the payload is final.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, protocolType: EtherType, checksum: Bool) {
        base.wireSetU16(checksum ? checksumFlag : 0, Offset.flagsVersion)
        base.wireSetU16(protocolType.rawValue, Offset.protocolType)
        if checksum { base.wireSetU32(0, Offset.checksum) }
    }

    /// Computes the checksum over the header and `length` bytes from the header on (RFC 2784 §2.2).
    @inlinable
    public static func fillChecksum(_ base: UnsafeMutableRawPointer, length: Int) {
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU16(Checksum.finish(Checksum.sum(base, count: length)), Offset.checksum)
    }
}
