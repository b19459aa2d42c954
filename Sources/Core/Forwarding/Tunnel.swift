import Wire

/// TUN, `-i` (LVS-TUN): the client's IPv4 datagram, untouched, inside an outer IPv4 header
/// from the director to the real server (IP-in-IP, RFC 2003). The real server decapsulates
/// and answers the client directly.
///
/// As ip_vs_tunnel_xmit does (net/netfilter/ipvs/ip_vs_xmit.c): the outer header copies the
/// inner TOS and DF bit, and a datagram that no longer fits the egress MTU with DF set is
/// answered with ICMP fragmentation-needed carrying MTU − 20 (RFC 1191), so the client's
/// path MTU discovery shrinks its segments.
extension Director {
    func transmitTunnel(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                        realServer rs: Int) -> Verdict {
        guard !p.isIPv6 else { return .drop(.tunnelIPv6Unsupported) }
        let hop = realServerRoute[rs]
        guard hop.resolved else { return .drop(.neighbourUnresolved) }
        let out = hop.interface
        let source = out >= 0 && out < interfaceIPv4.count ? interfaceIPv4[out] : .zero
        guard source != .zero else { return .drop(.tunnelSourceUnavailable) }
        let mtu = out >= 0 && out < interfaceMTUs.count ? interfaceMTUs[out] : 1500
        let inner = p.ipv4
        // A super-frame is judged by its segments; no kernel offload cuts an IPIP-wrapped
        // super-frame from a packet socket, so it is cut in user space after this.
        var leaving = p.l3Length
        if let segmentation = packet.segmentation {
            leaving = segmentation.segmentSize > 0
                ? (p.l4 - p.l3) + p.transportHeaderLength + segmentation.segmentSize : 0
            packet.needsSoftwareSegmentation = true
        }
        if leaving + IPIP.overhead > mtu {
            guard inner.dontFragment else { return .drop(.tunnelFragmentationUnsupported) }
            packet.needsSoftwareSegmentation = false
            return answerFragmentationNeeded(p, eth, &packet, mtu: mtu - IPIP.overhead)
        }
        guard packet.offset >= IPIP.overhead else { return .drop(.noRoom) }

        // Slide the Ethernet header (tags included) 20 bytes toward the head; the outer
        // IPv4 header fills the gap. Ethernet padding after the inner datagram is dropped.
        let moved = eth.moveHeader(by: -IPIP.overhead)
        packet.offset -= IPIP.overhead
        packet.length = p.l2Length + IPIP.overhead + p.l3Length
        tunnelIdentification &+= 1
        // A super-frame's outer length is only a placeholder: each segment gets its own.
        IPv4Packet.emit(into: moved.payload, typeOfService: inner.typeOfService,
                        totalLength: min(p.l3Length + IPIP.overhead, Int(UInt16.max)),
                        identification: tunnelIdentification,
                        flagsFragment: inner.dontFragment ? IPv4Packet.Flag.dontFragment : 0,
                        timeToLive: IPv4Packet.defaultTimeToLive, protocol: .ipip,
                        source: source.ipv4, destination: realServers[rs].address.ipv4)
        moved.destination = hop.mac
        moved.source = interfaceMAC(out)
        return .forward(interface: out)
    }
}
