/// Views over headers that are known good or only partly present.
///
/// ICMP errors quote the start of the offending datagram (RFC 792: the IP header and 64
/// bits of data; RFC 1812 §4.3.2.3: as much as fits in 576 bytes), so the quoted total
/// length promises bytes that are not there. These initializers validate what a quote can
/// prove: version, header length, and that the transport ports are present.
extension IPv4Packet {
    /// A view over a header the caller has already validated (no checks).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, headerLength: Int, totalLength: Int) {
        self.base = base
        self.headerLength = headerLength
        self.totalLength = totalLength
    }

    /// A view over an IPv4 header quoted in an ICMP error: `length` bytes are present, the
    /// header fits, and at least 8 bytes of transport header follow it. `totalLength` is
    /// clamped to the bytes present.
    @inlinable
    public init(quoted base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let vihl = base.wireU8(Offset.versionIHL)
        guard vihl >> 4 == 4 else { throw .badVersion }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= IPv4Packet.minimumHeaderLength else { throw .badHeaderLength }
        guard ihl + 8 <= length else { throw .truncated }
        self.base = base
        self.headerLength = ihl
        self.totalLength = min(Int(base.wireU16(Offset.totalLength)), length)
    }
}

extension IPv6Packet {
    /// A view over an IPv6 header quoted in an ICMPv6 error. Only quotes whose first next
    /// header is the transport (no extension headers) are accepted, with 8 transport bytes.
    @inlinable
    public init(quoted base: UnsafeMutableRawPointer, length: Int) throws(WireError) {
        guard length >= IPv6Packet.headerLength + 8 else { throw .truncated }
        guard base.wireU8(Offset.versionClassFlow) >> 4 == 6 else { throw .badVersion }
        let next = IPProtocol(rawValue: base.wireU8(Offset.nextHeader))
        switch next {
        case .hopByHop, .routing, .destinationOptions, .fragment, .authentication:
            throw .unsupported
        default: break
        }
        self.base = base
        self.totalLength = min(IPv6Packet.headerLength + Int(base.wireU16(Offset.payloadLength)), length)
        self.upperProtocol = next
        self.upperOffset = IPv6Packet.headerLength
        self.fragmentHeaderOffset = 0
    }
}
