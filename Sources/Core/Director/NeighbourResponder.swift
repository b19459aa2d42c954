import Wire

/// Answers IPv6 neighbour solicitations for the director's VIPs and FullNAT local addresses
/// in place (RFC 4861 §7.2.4), as `answerARP` does for IPv4, so the host stack never has to
/// own those addresses.
extension Director {
    /// Offsets inside the ICMPv6 message of a solicitation/advertisement (RFC 4861 §4.3, §4.4).
    enum NeighbourDiscovery {
        static let target = 8
        static let options = 24
        static let optionSourceLinkLayer: UInt8 = 1
        static let optionTargetLinkLayer: UInt8 = 2
        /// Solicited and Override (RFC 4861 §4.4): an answer for an address we own.
        static let solicitedOverride: UInt32 = 0x6000_0000
        /// ND messages must arrive with hop limit 255 (RFC 4861 §7.1.1): nothing routed.
        static let hopLimit: UInt8 = 255
    }

    /// `.answer` with a neighbour advertisement, or nil when the solicitation is not for us
    /// (or is a duplicate-address-detection probe from ::).
    func answerNeighbourSolicitation(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict? {
        typealias ND = NeighbourDiscovery
        guard p.l4Length >= ND.options, p.source != .zero,
              p.l3.load(fromByteOffset: IPv6Packet.Offset.hopLimit, as: UInt8.self) == ND.hopLimit else { return nil }
        let target = IPAddress(high: UInt64(bigEndian: p.l4.loadUnaligned(fromByteOffset: ND.target, as: UInt64.self)),
                               low: UInt64(bigEndian: p.l4.loadUnaligned(fromByteOffset: ND.target + 8, as: UInt64.self)))
        guard virtualAddressLookup.contains(target) || localAddressLookup.contains(target) else { return nil }
        // The advertisement: ICMPv6 header, flags, target, one target link-layer option.
        let length = ND.options + 8
        guard packet.capacity - packet.offset >= p.l2Length + IPv6Packet.headerLength + length else {
            return .drop(.noRoom)
        }
        let mac = interfaceMAC(packet.interface)
        let peer = eth.source
        IPv6Packet.emit(into: p.l3, payloadLength: length, nextHeader: IPProtocolNumber.icmpv6, hopLimit: ND.hopLimit,
                        source: target, destination: p.source)
        let icmp = p.l4
        icmp.storeBytes(of: ICMPv6Message.Kind.neighborAdvertisement, toByteOffset: ICMPv6Message.Offset.type, as: UInt8.self)
        icmp.storeBytes(of: UInt8(0), toByteOffset: ICMPv6Message.Offset.code, as: UInt8.self)
        icmp.storeBytes(of: ND.solicitedOverride.bigEndian, toByteOffset: ICMPv6Message.Offset.rest, as: UInt32.self)
        // The target stays where the solicitation had it.
        icmp.storeBytes(of: ND.optionTargetLinkLayer, toByteOffset: ND.options, as: UInt8.self)
        icmp.storeBytes(of: UInt8(1), toByteOffset: ND.options + 1, as: UInt8.self)
        icmp.storeBytes(of: UInt16(truncatingIfNeeded: mac.rawValue >> 32).bigEndian, toByteOffset: ND.options + 2, as: UInt16.self)
        icmp.storeBytes(of: UInt32(truncatingIfNeeded: mac.rawValue).bigEndian, toByteOffset: ND.options + 4, as: UInt32.self)
        guard let m = try? ICMPv6Message(icmp, length: length) else { return .drop(.icmpTruncated) }
        m.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
            source: target, destination: p.source, nextHeader: IPProtocolNumber.icmpv6, length: length))
        eth.destination = peer
        eth.source = mac
        packet.length = p.l2Length + IPv6Packet.headerLength + length
        return .answer(interface: packet.interface)
    }
}
