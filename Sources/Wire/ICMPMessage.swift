/// An ICMPv4 message (RFC 792). Errors carry the offending datagram's header after byte 8.
public struct ICMPv4Message {
    public enum Offset {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2
        public static let rest = 4
        public static let nextHopMTU = 6
        public static let payload = 8
    }
    public static let headerLength = 8

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ICMPv4Message.headerLength else { throw .truncated }
        self.base = base
        self.length = length
    }

    @inlinable public var type: ICMPv4Type {
        get { ICMPv4Type(rawValue: base.wireU8(Offset.type)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.type) }
    }
    @inlinable public var code: ICMPv4Code {
        get { ICMPv4Code(rawValue: base.wireU8(Offset.code)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.code) }
    }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    /// Type and code as the message's first 16-bit word: what an RFC 1624 checksum update
    /// takes when either changes.
    @inlinable public var typeAndCode: UInt16 { base.wireU16(Offset.type) }
    /// Bytes 4–7: identifier/sequence for echo, next-hop MTU for fragmentation-needed.
    @inlinable public var rest: UInt32 {
        get { base.wireU32(Offset.rest) }
        nonmutating set { base.wireSetU32(newValue, Offset.rest) }
    }
    @inlinable public var nextHopMTU: UInt16 {
        get { base.wireU16(Offset.nextHopMTU) }
        nonmutating set { base.wireSetU16(newValue, Offset.nextHopMTU) }
    }
    /// True for the error types whose payload quotes an offending datagram (RFC 1122 §3.2.2:
    /// destination unreachable, redirect, source quench, time exceeded, parameter problem).
    @inlinable public var isError: Bool {
        switch type {
        case .destinationUnreachable, .sourceQuench, .redirect, .timeExceeded, .parameterProblem: true
        default: false
        }
    }
    @inlinable public var payload: UnsafeMutableRawPointer { base + ICMPv4Message.headerLength }
    @inlinable public var payloadLength: Int { length - ICMPv4Message.headerLength }

    @inlinable public var isChecksumValid: Bool { Checksum.fold(Checksum.sum(base, count: length)) == 0xFFFF }
    @inlinable public func fillChecksum() {
        checksum = 0
        checksum = Checksum.finish(Checksum.sum(base, count: length))
    }

    /// Writes an 8-byte header with a zero checksum (call `fillChecksum` once the payload is in place).
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, type: ICMPv4Type, code: ICMPv4Code, rest: UInt32 = 0) {
        base.wireSetU8(type.rawValue, Offset.type)
        base.wireSetU8(code.rawValue, Offset.code)
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU32(rest, Offset.rest)
    }
}

/// An ICMPv6 message (RFC 4443). Its checksum covers the IPv6 pseudo-header.
public struct ICMPv6Message {
    public enum Offset {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2
        public static let rest = 4
        public static let payload = 8
    }
    public static let headerLength = 8

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ICMPv6Message.headerLength else { throw .truncated }
        self.base = base
        self.length = length
    }

    @inlinable public var type: ICMPv6Type {
        get { ICMPv6Type(rawValue: base.wireU8(Offset.type)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.type) }
    }
    @inlinable public var code: ICMPv6Code {
        get { ICMPv6Code(rawValue: base.wireU8(Offset.code)) }
        nonmutating set { base.wireSetU8(newValue.rawValue, Offset.code) }
    }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    /// Bytes 4–7: the MTU of Packet Too Big, the pointer of Parameter Problem, id/seq of echo.
    @inlinable public var rest: UInt32 {
        get { base.wireU32(Offset.rest) }
        nonmutating set { base.wireSetU32(newValue, Offset.rest) }
    }
    /// Types below 128 are errors and quote the offending packet (RFC 4443 §2.1).
    @inlinable public var isError: Bool { type.isError }
    @inlinable public var payload: UnsafeMutableRawPointer { base + ICMPv6Message.headerLength }
    @inlinable public var payloadLength: Int { length - ICMPv6Message.headerLength }

    @inlinable public func isChecksumValid(pseudoHeaderSum: UInt32) -> Bool {
        Checksum.fold(Checksum.sum(base, count: length, initial: pseudoHeaderSum)) == 0xFFFF
    }
    @inlinable public func fillChecksum(pseudoHeaderSum: UInt32) {
        checksum = 0
        checksum = Checksum.finish(Checksum.sum(base, count: length, initial: pseudoHeaderSum))
    }

    /// Writes an 8-byte header with a zero checksum (call `fillChecksum` once the payload is in place).
    @inlinable
    public static func emit(into base: UnsafeMutableRawPointer, type: ICMPv6Type, code: ICMPv6Code, rest: UInt32 = 0) {
        base.wireSetU8(type.rawValue, Offset.type)
        base.wireSetU8(code.rawValue, Offset.code)
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU32(rest, Offset.rest)
    }
}
