import Wire

/// Messages the director originates itself: fragmentation-needed for TUN, and echo
/// replies for VIPs (a VIP answers ping, as it does when the kernel owns it).
extension Director {
    /// Replaces the frame with ICMP destination-unreachable / fragmentation-needed
    /// (RFC 792, RFC 1191 §4) from the VIP back to the client.
    func answerFragmentationNeeded(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                                   mtu: Int) -> Verdict {
        // RFC 1191 §4: the next-hop MTU in the low 16 bits of the header's second word.
        let nextHopMTU = UInt32(UInt16(truncatingIfNeeded: max(mtu, IPv4Packet.minimumMTU)))
        guard let total = ICMPv4Message.emitError(
            over: p.l3, length: p.l3Length, room: packet.capacity - packet.offset - p.l2Length,
            type: .destinationUnreachable, code: .fragmentationNeeded, rest: nextHopMTU,
            source: p.destination.ipv4, destination: p.source.ipv4) else { return .drop(.noRoom) }
        return answerBack(eth, &packet, length: p.l2Length + total)
    }

    /// Replaces the frame with ICMPv6 packet-too-big (RFC 4443 §3.2, RFC 8201) back to its
    /// sender, quoting as much of it as fits in the minimum MTU of 1280 bytes.
    func answerPacketTooBig(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                            mtu: Int) -> Verdict {
        guard let total = ICMPv6Message.emitError(
            over: p.l3, length: p.l3Length, room: packet.capacity - packet.offset - p.l2Length,
            type: .packetTooBig, code: .zero, rest: UInt32(truncatingIfNeeded: mtu),
            source: p.destination, destination: p.source) else { return .drop(.noRoom) }
        return answerBack(eth, &packet, length: p.l2Length + total)
    }

    /// Sends an answer written over the frame back to the peer it came from.
    func answerBack(_ eth: EthernetFrame, _ packet: inout PacketBuffer, length: Int) -> Verdict {
        eth.destination = eth.source
        eth.source = interfaceMAC(packet.interface)
        packet.length = length
        return .answer(interface: packet.interface)
    }

    /// Turns an echo request to a VIP into the echo reply, in place.
    func answerEcho(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict {
        if p.isIPv6 {
            let ip = p.ipv6
            ip.source = p.destination
            ip.destination = p.source
            ip.hopLimit = IPv6Packet.defaultHopLimit
            guard let icmp = try? ICMPv6Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            icmp.type = .echoReply
            // Swapping addresses leaves the pseudo-header sum as it was.
            icmp.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
                source: p.destination, destination: p.source, nextHeader: .icmpv6, length: p.l4Length))
        } else {
            let ip = p.ipv4
            ip.source = p.destination.ipv4
            ip.destination = p.source.ipv4
            ip.timeToLive = IPv4Packet.defaultTimeToLive
            ip.fillChecksum()
            guard let icmp = try? ICMPv4Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            let old = icmp.typeAndCode
            icmp.type = .echoReply
            icmp.checksum = Checksum.update(icmp.checksum, old: old, new: icmp.typeAndCode)
        }
        return answerBack(eth, &packet, length: packet.length)
    }
}
