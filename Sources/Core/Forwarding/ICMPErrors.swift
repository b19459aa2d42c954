import Wire

/// ICMP and ICMPv6 errors about balanced connections (IPVS ip_vs_in_icmp / ip_vs_out_icmp
/// and ip_vs_nat_icmp, net/netfilter/ipvs/ip_vs_core.c).
///
/// An error quotes the datagram that provoked it, so the connection is found through the
/// quote, with the quote's tuple reversed:
/// - from the client side, the quote is a reply the director (NAT/FullNAT) or a real
///   server (DR/TUN) sent as VIP:vport → client: the in-hash finds it, and the error goes
///   on to the real server, translated for NAT/FullNAT, by the connection's method otherwise;
/// - from the real-server side, the quote is a packet the director sent toward the real
///   server (CIP|LIP:port → RIP:rport): the out-hash finds it, and the error goes back to
///   the client as if the VIP had sent it.
/// Both the outer and the quoted headers are translated; the quoted IP checksum and, when
/// the quote reaches it, the quoted transport checksum are kept right, and the ICMP
/// checksum is recomputed over the whole message.
extension Director {
    func handleICMP(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                    now: UInt64) -> Verdict {
        let isError: Bool
        let isEcho: Bool
        var isSolicitation = false
        if p.isIPv6 {
            guard let m = try? ICMPv6Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            // Neighbour discovery and the rest of the informational types are the host's.
            isError = m.isError
            isEcho = m.type == .echoRequest
            isSolicitation = m.type == .neighborSolicitation
        } else {
            guard let m = try? ICMPv4Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            // ip_vs_in_icmp relays only these three; redirects and parameter problems are the host's.
            isError = m.type == .destinationUnreachable || m.type == .sourceQuench || m.type == .timeExceeded
            isEcho = m.type == .echoRequest
        }
        if isSolicitation && !p.isFragment,
           let answer = answerNeighbourSolicitation(p, eth, &packet) {
            return answer
        }
        if isEcho && virtualAddressLookup.contains(p.destination) && !p.isFragment {
            return answerEcho(p, eth, &packet)
        }
        guard isError, var q = quotedPacket(p) else { return .pass(.icmpNotRelated) }
        guard let proto = q.transport else { return .pass(.icmpNotRelated) }

        // Both probes use the quote's tuple reversed, so one hash serves both (as for packets).
        let bucket = table.bucket(proto, source: q.destination, sourcePort: q.destinationPort,
                                  destination: q.source, destinationPort: q.sourcePort)
        let inH = table.lookupIn(bucket: bucket, proto, client: q.destination, clientPort: q.destinationPort,
                                 virtual: q.source, virtualPort: q.sourcePort)
        if inH != 0 {
            return relayFromClientSide(inH, &p, &q, eth, &packet)
        }
        if hasReplyMethods {
            let outH = table.lookupOut(bucket: bucket, proto, realServer: q.destination, realPort: q.destinationPort,
                                       replyDestination: q.source, replyPort: q.sourcePort)
            if outH != 0 {
                return relayFromRealServerSide(outH, &p, &q, eth)
            }
        }
        return .pass(.icmpNotRelated)
    }

    /// The datagram quoted after the 8-byte ICMP header, if it holds IP and transport ports.
    func quotedPacket(_ p: ParsedPacket) -> ParsedPacket? {
        // ICMPv4 and ICMPv6 errors both quote after an 8-byte header (RFC 792, RFC 4443 §2.1).
        let base: UnsafeMutableRawPointer, length: Int
        if p.isIPv6 {
            guard let m = try? ICMPv6Message(p.l4, length: p.l4Length) else { return nil }
            (base, length) = (m.payload, m.payloadLength)
        } else {
            guard let m = try? ICMPv4Message(p.l4, length: p.l4Length) else { return nil }
            (base, length) = (m.payload, m.payloadLength)
        }
        var q: ParsedPacket
        if p.isIPv6 {
            guard let ip = try? IPv6Packet(quoted: base, length: length) else { return nil }
            q = ParsedPacket(l2Length: 0, l3: base, l3Length: ip.totalLength, isIPv6: true, proto: ip.upperProtocol,
                             l4: ip.upper, l4Length: length - ip.upperOffset, source: ip.source,
                             destination: ip.destination, hasTransportHeader: true, isFragment: false, fragmentID: 0)
        } else {
            guard let ip = try? IPv4Packet(quoted: base, length: length), ip.carriesTransportHeader else { return nil }
            q = ParsedPacket(l2Length: 0, l3: base, l3Length: ip.totalLength, isIPv6: false, proto: ip.protocol,
                             l4: ip.payload, l4Length: length - ip.headerLength, source: ip.sourceAddress,
                             destination: ip.destinationAddress, hasTransportHeader: true, isFragment: false,
                             fragmentID: 0)
        }
        let ports = q.transportHeader
        guard ports.hasPorts else { return nil }
        q.sourcePort = ports.sourcePort
        q.destinationPort = ports.destinationPort
        return q
    }

    /// An error from the client side about a reply: on to the real server.
    func relayFromClientSide(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ q: inout ParsedPacket,
                             _ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict {
        let c = table[h]
        let rs = Int(c.realServer)
        record(.icmpFromClientSide, h, realServer: rs, before: c.state, after: c.state)
        guard p.decrementTimeToLive() else { return .drop(.ttlExceeded) }
        switch c.method {
        case .directRouting:
            return transmitDirectRouting(&p, eth, realServer: rs)
        case .tunnel:
            return transmitTunnel(&p, eth, &packet, realServer: rs)
        case .nat, .fullNAT:
            guard let out = addressToRealServer(eth, realServer: rs) else { return .drop(.neighbourUnresolved) }
            p.setDestination(c.destinationAddress)
            q.setSource(c.destinationAddress)
            q.setSourcePort(c.destinationPort)
            if c.method == .fullNAT {
                p.setSource(c.localAddress)
                q.setDestination(c.localAddress)
                q.setDestinationPort(c.localPort)
            }
            unshiftQuotedSequence(h, q, clientStream: false)
            fillICMPChecksum(p)
            return .forward(interface: out)
        }
    }

    /// An error from the real-server side about a packet sent to it: back to the client.
    func relayFromRealServerSide(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ q: inout ParsedPacket,
                                 _ eth: EthernetFrame) -> Verdict {
        let c = table[h]
        record(.icmpFromRealServerSide, h, realServer: Int(c.realServer), before: c.state, after: c.state)
        guard p.decrementTimeToLive() else { return .drop(.ttlExceeded) }
        p.setSource(c.virtualAddress)
        q.setDestination(c.virtualAddress)
        q.setDestinationPort(c.virtualPort)
        if c.method == .fullNAT {
            p.setDestination(c.clientAddress)
            q.setSource(c.clientAddress)
            q.setSourcePort(c.clientPort)
        }
        unshiftQuotedSequence(h, q, clientStream: true)
        fillICMPChecksum(p)
        return .forward(interface: addressToClient(eth, table.entry(h)))
    }

    /// Puts a quoted TCP segment's sequence number back into the numbering of the peer the
    /// error now goes to, when the director moves that stream (a SYN proxy's cookie ISN, a
    /// PROXY protocol header, an FTP rewrite; Docs/adr/0009). The quote is a segment as the
    /// director sent it, numbered for its receiver; Linux's `tcp_v4_err`/`tcp_v6_err` ignore an
    /// error whose quoted sequence lies outside the sender's snd_una..snd_nxt, so without this
    /// a fragmentation-needed toward a SYN-proxied real server (whose numbers differ from the
    /// client's by a random offset) was dropped: a PMTU black hole. IPVS does not do this, as
    /// its helpers shift little; lvsd goes further because it shifts more streams than IPVS.
    /// The quoted TCP checksum follows when the quote reaches it (the ICMP checksum is
    /// recomputed afterwards).
    @inline(__always)
    func unshiftQuotedSequence(_ h: ConnectionHandle, _ q: ParsedPacket, clientStream: Bool) {
        guard let shifts = streamShifts, q.hasTransportHeader else { return }
        let header = q.transportHeader
        guard header.hasTCPSequence else { return }
        let adjustment = shifts[Int(h)].adjustment
        let shift = clientStream ? adjustment.fromClient : adjustment.fromServer
        guard !shift.isIdentity else { return }
        let old = header.tcpSequenceNumber
        // A number in the receiver's numbering goes back as an acknowledgment of it would.
        let new = shift.acknowledgment(old)
        header.tcpSequenceNumber = new
        header.updatePseudoHeaderChecksum(overIPv6: q.isIPv6) { Checksum.update($0, old: old, new: new) }
    }

    func fillICMPChecksum(_ p: ParsedPacket) {
        if p.isIPv6 {
            guard let m = try? ICMPv6Message(p.l4, length: p.l4Length) else { return }
            m.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
                source: p.source, destination: p.destination, nextHeader: .icmpv6, length: p.l4Length))
        } else {
            guard let m = try? ICMPv4Message(p.l4, length: p.l4Length) else { return }
            m.fillChecksum()
        }
    }
}
