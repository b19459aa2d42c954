/// ICMP errors built over the datagram they are about, in the buffer it arrived in.
///
/// The start of the offending datagram moves on by the new IP and ICMP headers and is quoted
/// after them: as much as fits `limit` bytes in all (RFC 1812 §4.3.2.3: 576 for ICMPv4;
/// RFC 4443 §2.4(c): the IPv6 minimum MTU) and the room the buffer has, and at least the
/// datagram's fixed header and 8 bytes (RFC 792, RFC 4443 §3), or nothing is written.
extension ICMPv4Message {
    /// RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as fits in 576 bytes.
    public static let errorLimit = 576

    /// Replaces the IPv4 datagram of `length` bytes at `datagram` (with `room` bytes writable
    /// from there) by an error from `source` to `destination` quoting it; returns the new
    /// datagram's total length, or nil (nothing written) when not even the minimum quote fits.
    @inlinable
    public static func emitError(over datagram: UnsafeMutableRawPointer, length: Int, room: Int,
                                 type: ICMPv4Type, code: ICMPv4Code, rest: UInt32,
                                 source: UInt32, destination: UInt32) -> Int? {
        let headers = IPv4Packet.minimumHeaderLength + headerLength
        guard let quote = quoteInPlace(datagram, length: length, room: room, headers: headers, limit: errorLimit,
                                       minimum: IPv4Packet.minimumHeaderLength + 8) else { return nil }
        let total = headers + quote
        IPv4Packet.emit(into: datagram, typeOfService: IPv4Packet.internetworkControl, totalLength: total,
                        identification: 0, flagsFragment: 0, timeToLive: IPv4Packet.defaultTimeToLive,
                        protocol: .icmp, source: source, destination: destination)
        let icmp = datagram + IPv4Packet.minimumHeaderLength
        emit(into: icmp, type: type, code: code, rest: rest)
        ICMPv4Message(unchecked: icmp, length: headerLength + quote).fillChecksum()
        return total
    }

    /// A view over a message the caller has already bounded (no checks).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int) {
        self.base = base
        self.length = length
    }
}

extension ICMPv6Message {
    /// Replaces the IPv6 packet of `length` bytes at `packet` (with `room` bytes writable from
    /// there) by an error from `source` to `destination` quoting it; returns the new packet's
    /// total length, or nil (nothing written) when not even the minimum quote fits.
    @inlinable
    public static func emitError(over packet: UnsafeMutableRawPointer, length: Int, room: Int,
                                 type: ICMPv6Type, code: ICMPv6Code, rest: UInt32,
                                 source: IPAddress, destination: IPAddress) -> Int? {
        let headers = IPv6Packet.headerLength + headerLength
        guard let quote = quoteInPlace(packet, length: length, room: room, headers: headers,
                                       limit: IPv6Packet.minimumMTU, minimum: IPv6Packet.headerLength + 8)
        else { return nil }
        let messageLength = headerLength + quote
        IPv6Packet.emit(into: packet, payloadLength: messageLength, nextHeader: .icmpv6,
                        hopLimit: IPv6Packet.defaultHopLimit, source: source, destination: destination)
        let icmp = packet + IPv6Packet.headerLength
        emit(into: icmp, type: type, code: code, rest: rest)
        ICMPv6Message(unchecked: icmp, length: messageLength).fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
            source: source, destination: destination, nextHeader: .icmpv6, length: messageLength))
        return IPv6Packet.headerLength + messageLength
    }

    /// A view over a message the caller has already bounded (no checks).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int) {
        self.base = base
        self.length = length
    }
}

/// Moves the first bytes of the datagram at `start` on by `headers`: as many as fit `limit`
/// with the headers and `room`, at least `minimum`; returns how many, or nil (nothing moved).
@inlinable
func quoteInPlace(_ start: UnsafeMutableRawPointer, length: Int, room: Int, headers: Int,
                  limit: Int, minimum: Int) -> Int? {
    let quote = min(length, limit - headers, room - headers)
    guard quote >= minimum else { return nil }
    // Safety: both ranges lie within `room` bytes of `start`; copyMemory has memmove semantics.
    (start + headers).copyMemory(from: start, byteCount: quote)
    return quote
}
