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
    public enum Kind {
        public static let echoReply: UInt8 = 0
        public static let destinationUnreachable: UInt8 = 3
        public static let sourceQuench: UInt8 = 4
        public static let redirect: UInt8 = 5
        public static let echoRequest: UInt8 = 8
        public static let timeExceeded: UInt8 = 11
        public static let parameterProblem: UInt8 = 12
    }
    /// Destination-unreachable code 4: fragmentation needed and DF set (RFC 1191 §4).
    public static let codeFragmentationNeeded: UInt8 = 4

    public let base: UnsafeMutableRawPointer
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ICMPv4Message.headerLength else { throw .truncated }
        self.base = base
        self.length = length
    }

    @inlinable public var type: UInt8 {
        get { base.wireU8(Offset.type) }
        nonmutating set { base.wireSetU8(newValue, Offset.type) }
    }
    @inlinable public var code: UInt8 {
        get { base.wireU8(Offset.code) }
        nonmutating set { base.wireSetU8(newValue, Offset.code) }
    }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
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
        case Kind.destinationUnreachable, Kind.sourceQuench, Kind.redirect, Kind.timeExceeded,
             Kind.parameterProblem: true
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
    public static func emit(into base: UnsafeMutableRawPointer, type: UInt8, code: UInt8, rest: UInt32 = 0) {
        base.wireSetU8(type, Offset.type)
        base.wireSetU8(code, Offset.code)
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
    public enum Kind {
        public static let destinationUnreachable: UInt8 = 1
        public static let packetTooBig: UInt8 = 2
        public static let timeExceeded: UInt8 = 3
        public static let parameterProblem: UInt8 = 4
        public static let echoRequest: UInt8 = 128
        public static let echoReply: UInt8 = 129
        public static let neighborSolicitation: UInt8 = 135
        public static let neighborAdvertisement: UInt8 = 136
    }

    public let base: UnsafeMutableRawPointer
    public let length: Int

    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= ICMPv6Message.headerLength else { throw .truncated }
        self.base = base
        self.length = length
    }

    @inlinable public var type: UInt8 {
        get { base.wireU8(Offset.type) }
        nonmutating set { base.wireSetU8(newValue, Offset.type) }
    }
    @inlinable public var code: UInt8 {
        get { base.wireU8(Offset.code) }
        nonmutating set { base.wireSetU8(newValue, Offset.code) }
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
    @inlinable public var isError: Bool { type < 128 }
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
    public static func emit(into base: UnsafeMutableRawPointer, type: UInt8, code: UInt8, rest: UInt32 = 0) {
        base.wireSetU8(type, Offset.type)
        base.wireSetU8(code, Offset.code)
        base.wireSetU16(0, Offset.checksum)
        base.wireSetU32(rest, Offset.rest)
    }
}
