import Wire

/// Answers IPv6 neighbour solicitations for the director's VIPs and FullNAT local addresses
/// in place (RFC 4861 §7.2.4), as `answerARP` does for IPv4, so the host stack never has to
/// own those addresses.
extension Director {
    /// `.answer` with a neighbour advertisement, or nil when the solicitation is not for us
    /// (or is a duplicate-address-detection probe from ::).
    func answerNeighbourSolicitation(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict? {
        // ND messages must arrive with hop limit 255 (RFC 4861 §7.1.1): nothing routed.
        guard p.source != .zero, p.ipv6.hopLimit == NeighborDiscovery.hopLimit,
              let message = try? ICMPv6Message(p.l4, length: p.l4Length),
              let solicitation = try? NeighborSolicitation(message) else { return nil }
        let target = solicitation.target
        guard virtualAddressLookup.contains(target) || localAddressLookup.contains(target),
              !isStandby(target) else { return nil }
        guard packet.capacity - packet.offset >= p.l2Length + IPv6Packet.headerLength + NeighborAdvertisement.length else {
            return .drop(.noRoom)
        }
        let mac = interfaceMAC(packet.interface)
        let peer = eth.source
        IPv6Packet.emit(into: p.l3, payloadLength: NeighborAdvertisement.length, nextHeader: .icmpv6,
                        hopLimit: NeighborDiscovery.hopLimit, source: target, destination: p.source)
        // Solicited and Override (RFC 4861 §4.4): an answer for an address we own.
        NeighborAdvertisement.emit(into: p.l4, flags: [.solicited, .override], target: target, targetMAC: mac,
                                   source: target, destination: p.source)
        eth.destination = peer
        eth.source = mac
        packet.length = p.l2Length + IPv6Packet.headerLength + NeighborAdvertisement.length
        return .answer(interface: packet.interface)
    }
}
