import Wire

/// The facts the data path needs about one IP packet, read once after validation.
///
/// Views come from `Wire`; this struct only remembers where they start so the forwarding
/// methods can rewrite fields through them without parsing again. It never touches a byte
/// itself: every read and write goes through `ipv4`, `ipv6` or `transportHeader`.
@usableFromInline
struct ParsedPacket {
    /// Ethernet header length including VLAN tags.
    var l2Length: Int
    var l3: UnsafeMutableRawPointer
    /// IP total length (IPv4 total length, IPv6 40 + payload length).
    var l3Length: Int
    var isIPv6: Bool
    /// Upper-layer protocol (after IPv6 extension headers).
    var proto: IPProtocol
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

    var transport: TransportProtocol? { TransportProtocol(proto) }

    /// The IPv4 header view (only for `!isIPv6`); validated when the packet was parsed, and
    /// the transport starts right after the header, so its length is the distance to it.
    @inline(__always)
    var ipv4: IPv4Packet { IPv4Packet(unchecked: l3, headerLength: l4 - l3, totalLength: l3Length) }

    /// The IPv6 header view (only for `isIPv6`); validated when the packet was parsed. Its
    /// fragment accessors are not meaningful (the parse already recorded what they say).
    @inline(__always)
    var ipv6: IPv6Packet { IPv6Packet(unchecked: l3, totalLength: l3Length, upperProtocol: proto, upperOffset: l4 - l3) }

    /// The transport header as far as it is present (a quote in an ICMP error may be 8 bytes).
    @inline(__always)
    var transportHeader: TransportHeader { TransportHeader(unchecked: l4, length: l4Length, protocol: proto) }

    // MARK: TTL

    /// Decrements TTL / hop limit as a forwarding router must; false if it would reach zero
    /// (IPVS decrement_ttl, net/netfilter/ipvs/ip_vs_xmit.c).
    @inline(__always)
    func decrementTimeToLive() -> Bool {
        if isIPv6 { return ipv6.decrementHopLimit() }
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
        return TransportHeader.pseudoHeaderChecksumOffset(proto)
    }

    @inline(__always)
    func updateL4Checksum(_ update: (UInt16) -> UInt16) {
        guard hasTransportHeader else { return }
        transportHeader.updatePseudoHeaderChecksum(overIPv6: isIPv6, update)
    }

    mutating func setSource(_ address: IPAddress) {
        let old = source
        source = address
        if isIPv6 {
            ipv6.source = address
            updateL4Checksum { Checksum.update($0, old: old, new: address) }
        } else {
            let ip = ipv4
            ip.source = address.ipv4
            ip.checksum = Checksum.update(ip.checksum, old: old.ipv4, new: address.ipv4)
            updateL4Checksum { Checksum.update($0, old: old.ipv4, new: address.ipv4) }
        }
    }

    mutating func setDestination(_ address: IPAddress) {
        let old = destination
        destination = address
        if isIPv6 {
            ipv6.destination = address
            updateL4Checksum { Checksum.update($0, old: old, new: address) }
        } else {
            let ip = ipv4
            ip.destination = address.ipv4
            ip.checksum = Checksum.update(ip.checksum, old: old.ipv4, new: address.ipv4)
            updateL4Checksum { Checksum.update($0, old: old.ipv4, new: address.ipv4) }
        }
    }

    mutating func setSourcePort(_ port: UInt16) {
        guard hasTransportHeader, port != sourcePort else { return }
        let old = sourcePort
        sourcePort = port
        transportHeader.sourcePort = port
        updateL4Checksum { Checksum.update($0, old: old, new: port) }
    }

    mutating func setDestinationPort(_ port: UInt16) {
        guard hasTransportHeader, port != destinationPort else { return }
        let old = destinationPort
        destinationPort = port
        transportHeader.destinationPort = port
        updateL4Checksum { Checksum.update($0, old: old, new: port) }
    }

    /// The pseudo-header sum of the current addresses and length, folded, as the checksum
    /// field of a frame whose checksum is left to offload holds it (uncomplemented, as
    /// `__tcp_v4_send_check` leaves it): whoever finishes the checksum adds the transport
    /// header and payload to it. Written fresh after every address rewrite, so the RFC 1624
    /// updates made on the way (which assume a finished checksum) do not matter.
    func fillPseudoHeaderChecksum() {
        guard hasTransportHeader else { return }
        transportHeader.setPartialChecksum(pseudoHeaderSum: pseudoHeaderSum)
    }

    /// The pseudo-header sum for the transport payload with the current addresses.
    var pseudoHeaderSum: UInt32 {
        isIPv6
            ? Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: proto, length: l4Length)
            : Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: proto, length: l4Length)
    }

    /// The transport header's length: TCP's data offset, UDP's 8; 0 otherwise.
    var transportHeaderLength: Int {
        guard hasTransportHeader else { return 0 }
        return transportHeader.headerLength
    }

    /// Computes the full L4 checksum: frames handed over with only a partial sum
    /// (TP_STATUS_CSUMNOTREADY on veth) must leave with a complete one.
    func fillL4Checksum() {
        guard hasTransportHeader, !isFragment else { return }
        switch proto {
        case .tcp:
            if let t = try? TCPSegment(l4, length: l4Length) { t.fillChecksum(pseudoHeaderSum: pseudoHeaderSum) }
        case .udp:
            if let u = try? UDPDatagram(l4, length: l4Length) { u.fillChecksum(pseudoHeaderSum: pseudoHeaderSum) }
        default: break
        }
    }
}
