/// A GUE header (Generic UDP Encapsulation, draft-ietf-intarea-gue-09 §3.1), variant 0:
/// two version bits, the control bit, five bits of optional-field length in 32-bit words,
/// the IP protocol of the payload, and sixteen flag bits. It follows a UDP header to the
/// port the receiver listens on.
public struct GUEHeader {
    public enum Offset {
        public static let versionControlLength = 0
        public static let protocolType = 1
        public static let flags = 2
    }
    public static let baseLength = 4
    @usableFromInline static let versionMask: UInt8 = 0xC0
    @usableFromInline static let controlBit: UInt8 = 0x20
    @usableFromInline static let optionalLengthMask: UInt8 = 0x1F

    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes of GUE header, optional fields included.
    public let headerLength: Int

    /// Validates a variant-0 data message (C clear) at `base` with `available` bytes after it.
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length available: Int) throws(WireError) {
        guard available >= GUEHeader.baseLength else { throw .truncated }
        let first = base.wireU8(Offset.versionControlLength)
        guard first & (GUEHeader.versionMask | GUEHeader.controlBit) == 0 else { throw .unsupported }
        let length = GUEHeader.baseLength + Int(first & GUEHeader.optionalLengthMask) * 4
        guard available >= length else { throw .truncated }
        self.base = base
        headerLength = length
    }

    /// The IP protocol of the payload (4: IPv4, 41: IPv6).
    @inlinable public var protocolType: IPProtocol { IPProtocol(rawValue: base.wireU8(Offset.protocolType)) }
    @inlinable public var flags: UInt16 { base.wireU16(Offset.flags) }
    @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }

    /// Writes a header without optional fields (IPVS's `ipvs_gue_encap` without remote
    /// checksum offload): version 0, data message, no flags.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, protocolType: IPProtocol) {
        base.wireSetU8(0, Offset.versionControlLength)
        base.wireSetU8(protocolType.rawValue, Offset.protocolType)
        base.wireSetU16(0, Offset.flags)
    }
}
