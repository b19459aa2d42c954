import Wire

/// TUN, `-i` (LVS-TUN): the client's datagram, untouched, inside an outer IP header from the
/// director to the real server, which decapsulates it and answers the client directly.
///
/// As IPVS does (net/netfilter/ipvs/ip_vs_xmit.c, `ip_vs_tunnel_xmit` and `_v6`): the outer
/// header has the real server's family whatever the inner one's, so all four of IPv4 in IPv4
/// (RFC 2003), IPv6 in IPv4 (protocol 41, RFC 4213), IPv4 in IPv6 and IPv6 in IPv6 (RFC 2473)
/// exist; between the two headers sits nothing (`ipip`), a GRE header (`TunnelGRE.swift`) or
/// UDP and a GUE header (`TunnelGUE.swift`). The outer header copies the inner TOS / traffic
/// class and TTL / hop limit (already decremented here), and an IPv4 inner datagram's DF bit
/// into an IPv4 outer one; the IPv6 flow label is zero. A datagram too big for the egress MTU
/// less this overhead was answered before (`answerIfTooBig`), so the client's path MTU
/// discovery accounts for the tunnel.
extension Director {
    /// Bytes TUN adds before the inner datagram for real server `rs`: the outer header of the
    /// server's family and the encapsulation (`__ip_vs_get_out_rt`'s MTU reduction).
    @inline(__always)
    func tunnelOverhead(realServer rs: Int, _ p: ParsedPacket, checksumPartial: Bool) -> Int {
        let server = realServers[rs]
        let outer = server.address.isIPv4 ? IPv4Packet.minimumHeaderLength : IPv6Packet.headerLength
        let offloaded = offloadsChecksum(server.tunnel, p, partial: checksumPartial)
        return outer + server.tunnel.encapsulationLength(checksumOffloaded: offloaded)
    }

    /// Whether this frame goes with GUE's remote checksum offload option: `--tun-remcsum`, a
    /// partial checksum, and a TCP or UDP header whose checksum field the option can name.
    @inline(__always)
    func offloadsChecksum(_ tunnel: TunnelSettings, _ p: ParsedPacket, partial: Bool) -> Bool {
        tunnel.offloadsChecksum(partial: partial) && !p.isFragment && p.pseudoChecksumOffset != nil
    }

    func transmitTunnel(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                        realServer rs: Int) -> Verdict {
        let hop = realServerRoute[rs]
        guard hop.resolved else { return .drop(.neighbourUnresolved) }
        let out = hop.interface
        let destination = realServers[rs].address
        let tunnel = realServers[rs].tunnel
        let outerIsIPv6 = !destination.isIPv4
        let sources = outerIsIPv6 ? interfaceIPv6 : interfaceIPv4
        let source = out >= 0 && out < sources.count ? sources[out] : .zero
        guard source != .zero else { return .drop(.tunnelSourceUnavailable) }
        let outerLength = outerIsIPv6 ? IPv6Packet.headerLength : IPv4Packet.minimumHeaderLength
        let remoteChecksum = offloadsChecksum(tunnel, p, partial: packet.checksumPartial)
        let encapsulationLength = tunnel.encapsulationLength(checksumOffloaded: remoteChecksum)
        let overhead = outerLength + encapsulationLength
        guard packet.offset >= overhead else { return .drop(.noRoom) }

        let trafficClass, timeToLive: UInt8
        let dontFragment: Bool
        if p.isIPv6 {
            let inner = p.ipv6
            (trafficClass, timeToLive, dontFragment) = (inner.trafficClass, inner.hopLimit, false)
        } else {
            let inner = p.ipv4
            (trafficClass, timeToLive, dontFragment) = (inner.typeOfService, inner.timeToLive, inner.dontFragment)
        }
        // No kernel offload cuts a tunnelled super-frame from a packet socket: it is cut in
        // user space after this, every header of every segment fixed then.
        let whole = packet.segmentation == nil
        if !whole {
            packet.needsSoftwareSegmentation = true
            packet.tunnelHeaderLength = overhead
        }
        // An outer checksum covers the inner datagram, so the inner one is finished first;
        // with remote checksum offload the real server finishes it, from the pseudo-header
        // sum written here (a libpcap frame's field may hold anything) and the GUE option,
        // and nothing on the way does (a whole frame leaves as it is; a super-frame's
        // segments keep it partial).
        let outerChecksum = tunnel.kind != .ipip && tunnel.checksum != .none
        if remoteChecksum {
            p.fillPseudoHeaderChecksum()
            if whole { packet.checksumPartial = false }
        } else if outerChecksum && whole && packet.checksumPartial {
            p.fillL4Checksum()
            packet.checksumPartial = false
        }

        // Slide the Ethernet header (tags included) toward the head; the outer headers fill
        // the gap. Ethernet padding after the inner datagram is dropped.
        let moved = eth.moveHeader(by: -overhead)
        packet.offset -= overhead
        packet.length = p.l2Length + overhead + p.l3Length
        moved.etherType = outerIsIPv6 ? .ipv6 : .ipv4
        let outer = moved.payload
        let encapsulation = outer + outerLength
        // A super-frame's lengths are placeholders: each segment gets its own.
        let carried = min(p.l3Length + encapsulationLength, Int(UInt16.max))
        let next: IPProtocol
        switch tunnel.kind {
        case .ipip:
            next = p.isIPv6 ? .ipv6 : .ipip
        case .gre:
            next = .gre
            writeGRE(at: encapsulation, innerIsIPv6: p.isIPv6, checksum: outerChecksum,
                     length: whole ? carried : 0)
        case .gue:
            next = .udp
            writeGUE(at: encapsulation, p, port: tunnel.port, length: carried, remoteChecksum: remoteChecksum)
        }
        if outerIsIPv6 {
            IPv6Packet.emit(into: outer, trafficClass: trafficClass, payloadLength: carried, nextHeader: next,
                            hopLimit: timeToLive, source: source, destination: destination)
        } else {
            tunnelIdentification &+= 1
            IPv4Packet.emit(into: outer, typeOfService: trafficClass,
                            totalLength: min(p.l3Length + overhead, Int(UInt16.max)),
                            identification: tunnelIdentification,
                            flagsFragment: dontFragment ? IPv4Packet.Flag.dontFragment : 0,
                            timeToLive: timeToLive, protocol: next,
                            source: source.ipv4, destination: destination.ipv4)
        }
        if tunnel.kind == .gue {
            finishGUEChecksum(at: encapsulation, checksum: outerChecksum, whole: whole, length: carried,
                              source: source, destination: destination)
        }
        moved.destination = hop.mac
        moved.source = interfaceMAC(out)
        return .forward(interface: out)
    }
}
