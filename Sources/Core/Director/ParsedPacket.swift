import Wire

/// The facts the data path needs about one IP packet, read once after validation.
///
/// Offsets and views come from `Wire`; this struct only remembers where things are so the
/// forwarding methods can rewrite fields without parsing again.
@usableFromInline
struct ParsedPacket {
    /// Ethernet header length including VLAN tags.
    var l2Length: Int
    var l3: UnsafeMutableRawPointer
    /// IP total length (IPv4 total length, IPv6 40 + payload length).
    var l3Length: Int
    var isIPv6: Bool
    /// Upper-layer protocol number (after IPv6 extension headers).
    var proto: UInt8
    var l4: UnsafeMutableRawPointer
    var l4Length: Int
    var source: IPAddress
    var destination: IPAddress
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0
    var tcpFlags: TCPFlags = []
    /// False for non-first fragments, whose transport header is elsewhere.
    var hasTransportHeader: Bool
    var isFragment: Bool
    /// IPv4 identification or IPv6 fragment identification, for fragment tracking.
    var fragmentID: UInt32

    var transport: TransportProtocol? { TransportProtocol(rawValue: proto) }

    /// The IPv4 header view (only for `!isIPv6`); validated when the packet was parsed.
    @inline(__always)
    var ipv4: IPv4Packet { IPv4Packet(unchecked: l3, headerLength: Int(l3.load(as: UInt8.self) & 0x0F) * 4, totalLength: l3Length) }

    // MARK: TTL

    /// Decrements TTL / hop limit as a forwarding router must; false if it would reach zero
    /// (IPVS decrement_ttl, net/netfilter/ipvs/ip_vs_xmit.c).
    @inline(__always)
    func decrementTimeToLive() -> Bool {
        if isIPv6 {
            let ip6 = l3.assumingMemoryBound(to: UInt8.self)
            let hop = ip6[IPv6Packet.Offset.hopLimit]
            guard hop > 1 else { return false }
            ip6[IPv6Packet.Offset.hopLimit] = hop - 1
            return true
        }
        let ip = ipv4
        guard ip.timeToLive > 1 else { return false }
        ip.decrementTimeToLive()
        return true
    }

    // MARK: Field rewrites with RFC 1624 checksum updates

    /// Offset of the L4 checksum whose pseudo-header covers the IP addresses, if any.
    @inline(__always)
    var pseudoChecksumOffset: Int? {
        guard hasTransportHeader else { return nil }
        switch proto {
        case IPProtocolNumber.tcp: return TCPSegment.Offset.checksum
        case IPProtocolNumber.udp: return UDPDatagram.Offset.checksum
        case IPProtocolNumber.icmpv6: return ICMPv6Message.Offset.checksum
        default: return nil
        }
    }

    @inline(__always)
    func updateL4Checksum(_ update: (UInt16) -> UInt16) {
        // A quoted transport header (inside an ICMP error) may stop before its checksum.
        guard let off = pseudoChecksumOffset, off + 2 <= l4Length else { return }
        let p = l4 + off
        let old = UInt16(bigEndian: p.loadUnaligned(as: UInt16.self))
        // UDP over IPv4 with checksum 0 carries none; it must stay 0 (RFC 768).
        if proto == IPProtocolNumber.udp {
            if old == 0 && !isIPv6 { return }
            let new = update(old)
            p.storeBytes(of: (new == 0 ? 0xFFFF : new).bigEndian, as: UInt16.self)
            return
        }
        p.storeBytes(of: update(old).bigEndian, as: UInt16.self)
    }

    mutating func setSource(_ address: IPAddress) {
        let old = source
        source = address
        rewriteAddress(from: old, to: address, v4Offset: IPv4Packet.Offset.source, v6Offset: IPv6Packet.Offset.source)
    }

    mutating func setDestination(_ address: IPAddress) {
        let old = destination
        destination = address
        rewriteAddress(from: old, to: address, v4Offset: IPv4Packet.Offset.destination,
                       v6Offset: IPv6Packet.Offset.destination)
    }

    /// Stores an address field and updates the IPv4 header checksum and the pseudo-header
    /// covered L4 checksum for the change.
    @inline(__always)
    private func rewriteAddress(from old: IPAddress, to new: IPAddress, v4Offset: Int, v6Offset: Int) {
        if isIPv6 {
            l3.storeBytes(of: new.high.bigEndian, toByteOffset: v6Offset, as: UInt64.self)
            l3.storeBytes(of: new.low.bigEndian, toByteOffset: v6Offset + 8, as: UInt64.self)
            updateL4Checksum { Checksum.update($0, old: old, new: new) }
        } else {
            let ip = ipv4
            l3.storeBytes(of: new.ipv4.bigEndian, toByteOffset: v4Offset, as: UInt32.self)
            ip.checksum = Checksum.update(ip.checksum, old: old.ipv4, new: new.ipv4)
            updateL4Checksum { Checksum.update($0, old: old.ipv4, new: new.ipv4) }
        }
    }

    /// TCP and UDP keep their ports in the same first four bytes.
    mutating func setSourcePort(_ port: UInt16) {
        guard hasTransportHeader, port != sourcePort else { return }
        let old = sourcePort
        sourcePort = port
        l4.storeBytes(of: port.bigEndian, toByteOffset: 0, as: UInt16.self)
        updateL4Checksum { Checksum.update($0, old: old, new: port) }
    }

    mutating func setDestinationPort(_ port: UInt16) {
        guard hasTransportHeader, port != destinationPort else { return }
        let old = destinationPort
        destinationPort = port
        l4.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
        updateL4Checksum { Checksum.update($0, old: old, new: port) }
    }

    /// The pseudo-header sum of the current addresses and length, folded, as the checksum
    /// field of a frame whose checksum is left to offload holds it (uncomplemented, as
    /// `__tcp_v4_send_check` leaves it): whoever finishes the checksum adds the transport
    /// header and payload to it. Written fresh after every address rewrite, so the RFC 1624
    /// updates made on the way (which assume a finished checksum) do not matter.
    func fillPseudoHeaderChecksum() {
        guard hasTransportHeader, let off = pseudoChecksumOffset, off + 2 <= l4Length else { return }
        let pseudo: UInt32
        if isIPv6 {
            pseudo = Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: proto, length: l4Length)
        } else {
            pseudo = Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: proto, length: l4Length)
        }
        l4.storeBytes(of: Checksum.fold(pseudo).bigEndian, toByteOffset: off, as: UInt16.self)
    }

    /// The transport header's length: TCP's data offset, UDP's 8; 0 otherwise.
    var transportHeaderLength: Int {
        guard hasTransportHeader else { return 0 }
        switch proto {
        case IPProtocolNumber.tcp:
            guard l4Length >= TCPSegment.minimumHeaderLength else { return 0 }
            return Int(l4.load(fromByteOffset: TCPSegment.Offset.dataOffset, as: UInt8.self) >> 4) * 4
        case IPProtocolNumber.udp: return UDPDatagram.headerLength
        default: return 0
        }
    }

    /// Computes the full L4 checksum: frames handed over with only a partial sum
    /// (TP_STATUS_CSUMNOTREADY on veth) must leave with a complete one.
    func fillL4Checksum() {
        guard hasTransportHeader, !isFragment else { return }
        let pseudo: UInt32
        if isIPv6 {
            pseudo = Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: proto, length: l4Length)
        } else {
            pseudo = Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: proto, length: l4Length)
        }
        switch proto {
        case IPProtocolNumber.tcp:
            if let t = try? TCPSegment(l4, length: l4Length) { t.fillChecksum(pseudoHeaderSum: pseudo) }
        case IPProtocolNumber.udp:
            if let u = try? UDPDatagram(l4, length: l4Length) { u.fillChecksum(pseudoHeaderSum: pseudo) }
        default: break
        }
    }
}
