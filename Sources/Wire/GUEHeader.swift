/// A GUE header (Generic UDP Encapsulation, draft-ietf-intarea-gue-09 §3.1), variant 0:
/// two version bits, the control bit, five bits of optional-field length in 32-bit words,
/// the IP protocol of the payload, and sixteen flag bits. It follows a UDP header to the
/// port the receiver listens on.
///
/// The one flag lvsd knows is Linux's private-flags bit (`GUE_FLAG_PRIV`, include/net/gue.h):
/// a 32-bit private flags word follows the base header, and of its flags only remote checksum
/// offload (`GUE_PFLAG_REMCSUM`, draft-herbert-remotecsumoffload-02 §4), whose option is two
/// 16-bit offsets from the start of the inner datagram: where the checksum's coverage starts
/// and where the checksum field is. As fou_core.c's `validate_gue_flags`, any other flag, or
/// flags whose fields do not fit the optional-field length, make the header invalid.
public struct GUEHeader {
    public enum Offset {
        public static let versionControlLength = 0
        public static let protocolType = 1
        public static let flags = 2
    }
    public static let baseLength = 4
    /// `GUE_FLAG_PRIV`: a private flags word follows the base header.
    public static let privateFlagsFlag: UInt16 = 0x0001
    /// `GUE_PFLAG_REMCSUM` in the private flags word.
    public static let remoteChecksumFlag: UInt32 = 0x8000_0000
    /// Bytes of optional fields with remote checksum offload: the private flags word
    /// (`GUE_LEN_PRIV`) and the start and offset (`GUE_PLEN_REMCSUM`).
    public static let remoteChecksumOptionLength = 8
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
        let flags = base.wireU16(Offset.flags)
        guard flags & ~GUEHeader.privateFlagsFlag == 0 else { throw .unsupported }
        if flags != 0 {
            guard length >= GUEHeader.baseLength + 4 else { throw .badHeaderLength }
            let privateFlags = base.wireU32(GUEHeader.baseLength)
            guard privateFlags & ~GUEHeader.remoteChecksumFlag == 0 else { throw .unsupported }
            if privateFlags != 0 && length < GUEHeader.baseLength + GUEHeader.remoteChecksumOptionLength { throw .badHeaderLength }
        }
        self.base = base
        headerLength = length
    }

    /// The IP protocol of the payload (4: IPv4, 41: IPv6).
    @inlinable public var protocolType: IPProtocol { IPProtocol(rawValue: base.wireU8(Offset.protocolType)) }
    @inlinable public var flags: UInt16 { base.wireU16(Offset.flags) }
    @inlinable public var payload: UnsafeMutableRawPointer { base + headerLength }

    /// The remote checksum offload option: offsets from the start of the inner datagram of
    /// the checksum's coverage and of the checksum field; nil without the option.
    @inlinable public var remoteChecksum: (start: Int, offset: Int)? {
        guard flags & GUEHeader.privateFlagsFlag != 0,
              base.wireU32(GUEHeader.baseLength) & GUEHeader.remoteChecksumFlag != 0 else { return nil }
        return (Int(base.wireU16(GUEHeader.baseLength + 4)), Int(base.wireU16(GUEHeader.baseLength + 6)))
    }

    /// Writes a header without optional fields (IPVS's `ipvs_gue_encap` without remote
    /// checksum offload): version 0, data message, no flags.
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, protocolType: IPProtocol) {
        base.wireSetU8(0, Offset.versionControlLength)
        base.wireSetU8(protocolType.rawValue, Offset.protocolType)
        base.wireSetU16(0, Offset.flags)
    }

    /// Writes a header with the remote checksum offload option (`ipvs_gue_encap` for a frame
    /// whose checksum is still partial): two words of optional fields, the private-flags flag,
    /// the private flags word with `GUE_PFLAG_REMCSUM`, then `start` and `offset` (from the
    /// start of the inner datagram, after this header).
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, protocolType: IPProtocol,
                            remoteChecksumStart start: UInt16, offset: UInt16) {
        base.wireSetU8(UInt8(GUEHeader.remoteChecksumOptionLength / 4), Offset.versionControlLength)
        base.wireSetU8(protocolType.rawValue, Offset.protocolType)
        base.wireSetU16(GUEHeader.privateFlagsFlag, Offset.flags)
        base.wireSetU32(GUEHeader.remoteChecksumFlag, GUEHeader.baseLength)
        base.wireSetU16(start, GUEHeader.baseLength + 4)
        base.wireSetU16(offset, GUEHeader.baseLength + 6)
    }
}
