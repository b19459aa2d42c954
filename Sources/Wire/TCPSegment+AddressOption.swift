/// TOA, "TCP option address": the client's port and address in TCP option 254, which a real
/// server's toa kernel module reads from the segment completing the handshake and hands to
/// `getpeername` (DPVS kmod/toa/toa.h and src/ipvs/ip_vs_proto_tcp.c `tcp_in_add_toa`, as
/// behaviour). Option 254 is RFC 4727's experimental kind; TOA predates RFC 6994's ExID
/// convention and carries no ExID.
///
/// Layout: kind 254, length, the port (2 bytes), the address (4 or 16 bytes): 8 bytes in all
/// for IPv4, 20 for IPv6 (DPVS `TCP_OLEN_IP4_ADDR`/`TCP_OLEN_IP6_ADDR`, `TCPOLEN_IP6_TOA`), both
/// multiples of 4, so the header needs no padding.
public enum TCPAddressOption {
    public static let kind: UInt8 = 254
    public static let ipv4Length = 8
    public static let ipv6Length = 20

    /// The option's length for a client address of this family.
    @inlinable
    public static func length(for address: IPAddress) -> Int { address.isIPv4 ? ipv4Length : ipv6Length }
}

extension TCPSegment {
    /// Sets the data offset to `length` bytes (a multiple of 4, 20 to 60), as after inserting
    /// options; the caller has made the bytes part of the segment.
    @inlinable
    public func setHeaderLength(_ length: Int) {
        let rest = base.wireU8(Offset.dataOffset) & 0x0F
        base.wireSetU8(UInt8(truncatingIfNeeded: length / 4) << 4 | rest, Offset.dataOffset)
    }

    /// Writes a TOA option at `offset` from the start of the header (the caller opened
    /// `TCPAddressOption.length(for: address)` bytes there).
    @inlinable
    public func writeAddressOption(at offset: Int, address: IPAddress, port: UInt16) {
        base.wireSetU8(TCPAddressOption.kind, offset)
        base.wireSetU8(UInt8(TCPAddressOption.length(for: address)), offset + 1)
        base.wireSetU16(port, offset + 2)
        if address.isIPv4 {
            base.wireSetU32(address.ipv4, offset + 4)
        } else {
            base.wireSetIPv6(address, offset + 4)
        }
    }

    /// The client address and port a TOA option in this header carries, if one does.
    public var addressOption: (address: IPAddress, port: UInt16)? {
        var walk = options
        while let o = walk.next() {
            guard o.kind == TCPAddressOption.kind else { continue }
            if o.length == TCPAddressOption.ipv4Length {
                return (IPAddress(ipv4: base.wireU32(o.offset + 4)), base.wireU16(o.offset + 2))
            }
            if o.length == TCPAddressOption.ipv6Length {
                return (base.wireIPv6(o.offset + 4), base.wireU16(o.offset + 2))
            }
        }
        return nil
    }
}
