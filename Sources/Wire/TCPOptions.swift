/// TCP option kinds a SYN proxy reads and writes (RFC 9293 §3.2, RFC 7323, RFC 2018).
public enum TCPOptionKind {
    public static let endOfList: UInt8 = 0
    public static let noOperation: UInt8 = 1
    public static let maximumSegmentSize: UInt8 = 2
    public static let windowScale: UInt8 = 3
    public static let sackPermitted: UInt8 = 4
    public static let sack: UInt8 = 5
    public static let timestamp: UInt8 = 8

    /// Option lengths (kind and length bytes included).
    public static let maximumSegmentSizeLength = 4
    public static let windowScaleLength = 3
    public static let sackPermittedLength = 2
    public static let timestampLength = 10
    /// One SACK block: left and right edge, 32 bits each (RFC 2018 §3).
    public static let sackBlockLength = 8
}

/// One option found in a TCP header: its kind, where its bytes start (the kind byte, from
/// the segment's start) and its length including kind and length bytes.
public struct TCPOption: Equatable, Sendable {
    public var kind: UInt8
    public var offset: Int
    public var length: Int

    @inlinable public init(kind: UInt8, offset: Int, length: Int) {
        self.kind = kind
        self.offset = offset
        self.length = length
    }
}

/// Walks the options of a TCP header without allocating. A malformed option (a length below
/// 2 or running past the header) ends the walk, as Linux's `tcp_parse_options` does; what was
/// found before it stands.
public struct TCPOptionIterator: IteratorProtocol {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let end: Int
    @usableFromInline var position: Int

    @inlinable init(base: UnsafeMutableRawPointer, headerLength: Int) {
        self.base = base
        self.end = headerLength
        self.position = TCPSegment.minimumHeaderLength
    }

    @inlinable
    public mutating func next() -> TCPOption? {
        while position < end {
            let kind = base.wireU8(position)
            if kind == TCPOptionKind.endOfList { position = end; return nil }
            if kind == TCPOptionKind.noOperation { position += 1; continue }
            guard position + 1 < end else { position = end; return nil }
            let length = Int(base.wireU8(position + 1))
            guard length >= 2, position + length <= end else { position = end; return nil }
            let option = TCPOption(kind: kind, offset: position, length: length)
            position += length
            return option
        }
        return nil
    }
}

/// What a SYN offers (RFC 9293 §3.7.1 MSS, RFC 7323 window scale and timestamps, RFC 2018
/// SACK-permitted). Options with a wrong length are ignored, as Linux ignores them.
public struct TCPSynOptions: Equatable, Sendable {
    public var maximumSegmentSize: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted = false
    /// TSval and TSecr, when the timestamp option is present.
    public var timestamp: (value: UInt32, echo: UInt32)?

    public init(maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
                timestamp: (value: UInt32, echo: UInt32)? = nil) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.timestamp = timestamp
    }

    public static func == (a: TCPSynOptions, b: TCPSynOptions) -> Bool {
        a.maximumSegmentSize == b.maximumSegmentSize && a.windowScale == b.windowScale
            && a.sackPermitted == b.sackPermitted && a.timestamp?.value == b.timestamp?.value
            && a.timestamp?.echo == b.timestamp?.echo
    }

    /// Bytes these options take when written by `write(into:)`: a multiple of 4.
    public var encodedLength: Int {
        var n = 0
        if maximumSegmentSize != nil { n += TCPOptionKind.maximumSegmentSizeLength }
        // SACK-permitted rides in the two NOPs' place before the timestamp, or gets two NOPs.
        if timestamp != nil { n += 12 } else if sackPermitted { n += 4 }
        if windowScale != nil { n += 4 }
        return n
    }

    /// Writes the options in Linux's order and padding (MSS; SACK-permitted + timestamp, or
    /// NOP NOP + timestamp; NOP + window scale; NOP NOP + SACK-permitted alone) at `base`, which
    /// must have `encodedLength` bytes.
    public func write(into base: UnsafeMutableRawPointer) {
        var at = 0
        if let mss = maximumSegmentSize {
            base.wireSetU8(TCPOptionKind.maximumSegmentSize, at)
            base.wireSetU8(UInt8(TCPOptionKind.maximumSegmentSizeLength), at + 1)
            base.wireSetU16(mss, at + 2)
            at += 4
        }
        if let ts = timestamp {
            if sackPermitted {
                base.wireSetU8(TCPOptionKind.sackPermitted, at)
                base.wireSetU8(UInt8(TCPOptionKind.sackPermittedLength), at + 1)
            } else {
                base.wireSetU8(TCPOptionKind.noOperation, at)
                base.wireSetU8(TCPOptionKind.noOperation, at + 1)
            }
            base.wireSetU8(TCPOptionKind.timestamp, at + 2)
            base.wireSetU8(UInt8(TCPOptionKind.timestampLength), at + 3)
            base.wireSetU32(ts.value, at + 4)
            base.wireSetU32(ts.echo, at + 8)
            at += 12
        } else if sackPermitted {
            base.wireSetU8(TCPOptionKind.noOperation, at)
            base.wireSetU8(TCPOptionKind.noOperation, at + 1)
            base.wireSetU8(TCPOptionKind.sackPermitted, at + 2)
            base.wireSetU8(UInt8(TCPOptionKind.sackPermittedLength), at + 3)
            at += 4
        }
        if let shift = windowScale {
            base.wireSetU8(TCPOptionKind.noOperation, at)
            base.wireSetU8(TCPOptionKind.windowScale, at + 1)
            base.wireSetU8(UInt8(TCPOptionKind.windowScaleLength), at + 2)
            base.wireSetU8(shift, at + 3)
        }
    }
}

extension TCPSegment {
    /// The header's options, in order.
    @inlinable public var options: TCPOptionIterator { TCPOptionIterator(base: base, headerLength: headerLength) }

    /// The options a SYN or SYN-ACK carries, read once.
    public var synOptions: TCPSynOptions {
        var found = TCPSynOptions()
        var walk = options
        while let o = walk.next() {
            switch o.kind {
            case TCPOptionKind.maximumSegmentSize where o.length == TCPOptionKind.maximumSegmentSizeLength:
                found.maximumSegmentSize = base.wireU16(o.offset + 2)
            case TCPOptionKind.windowScale where o.length == TCPOptionKind.windowScaleLength:
                found.windowScale = base.wireU8(o.offset + 2)
            case TCPOptionKind.sackPermitted where o.length == TCPOptionKind.sackPermittedLength:
                found.sackPermitted = true
            case TCPOptionKind.timestamp where o.length == TCPOptionKind.timestampLength:
                found.timestamp = (base.wireU32(o.offset + 2), base.wireU32(o.offset + 6))
            default:
                break
            }
        }
        return found
    }

    /// Where the timestamp option's TSval starts (TSecr is 4 bytes on), or nil.
    @inlinable public var timestampValueOffset: Int? {
        var walk = options
        while let o = walk.next() {
            if o.kind == TCPOptionKind.timestamp && o.length == TCPOptionKind.timestampLength { return o.offset + 2 }
        }
        return nil
    }

    /// A 32-bit word of the header (an option's field), by offset from the segment's start;
    /// callers pass offsets the option walk found inside the header.
    @inlinable public func headerWord(at offset: Int) -> UInt32 { base.wireU32(offset) }
    @inlinable public func setHeaderWord(_ value: UInt32, at offset: Int) { base.wireSetU32(value, offset) }
}
