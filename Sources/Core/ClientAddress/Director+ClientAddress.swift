import Wire

/// The client's address for real servers behind FullNAT (Docs/adr/0008): a PROXY protocol
/// header before the client's first byte, and DPVS's TOA option on the segments that finish
/// the handshake. DPVS src/ipvs/ip_vs_proto_tcp.c (`tcp_fnat_in_handler`,
/// `tcp_in_add_proxy_proto`, `tcp_in_add_toa`, `tcp_out_adjust_seq`) and ip_vs_proxy_proto.c
/// as behaviour.
///
/// Both run on a frame the forwarding method has already rewritten, before its checksum is
/// finished (`Director.finishChecksum`).
extension Director {
    /// virtio-net GSO types (VIRTIO_NET_HDR_GSO_TCPV4 / _TCPV6): a first data segment the
    /// header pushes past the egress MTU leaves as a super-frame the kernel (or
    /// `SoftwareSegmenter`) cuts.
    static let gsoTCPv4: UInt8 = 1
    static let gsoTCPv6: UInt8 = 4
    /// Headroom kept free before a frame moved toward its buffer's start: a super-frame's
    /// virtio-net header (10 bytes) is written there on the way out.
    static let clientAddressHeadroom = 16

    /// A client segment of connection `h`, rewritten for the real server: the PROXY protocol
    /// header inserted or the stream shifted past it, TOA added. False: the header was due and
    /// did not fit (`proxy-protocol-no-room`; the client sends the segment again).
    func carryClientAddress(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                            _ packet: inout PacketBuffer, mtu: Int) -> Bool {
        guard let entries = clientAddressEntries, p.hasTransportHeader,
              let tcp = try? TCPSegment(p.l4, length: p.l4Length) else { return true }
        let e = entries + Int(h)
        let flags = tcp.flags
        if flags.contains(.syn) {
            // The first byte follows the SYN; a retransmitted SYN says the same, and a SYN with
            // another ISN (a connection reused from TIME_WAIT) starts a stream with no header yet.
            if !flags.contains(.ack) {
                let first = tcp.sequenceNumber &+ 1
                if e.pointee.synSeen && first != e.pointee.firstSequence { e.pointee.headerSent = false }
                e.pointee.firstSequence = first
                e.pointee.synSeen = true
            }
            return true
        }
        // A connection picked up mid-stream (sloppy TCP) has no known first byte: nothing to do.
        guard e.pointee.synSeen else { return true }
        if e.pointee.proxyProtocol != 0 {
            let atFirstByte = tcp.sequenceNumber == e.pointee.firstSequence
            // DPVS inserts into the first segment that carries data, never a pure ACK: a header
            // in a segment the client never retransmits would be lost with it, while the
            // client retransmits its data until the server acknowledges it, and each
            // retransmission from the first byte gets the header again (same sequence space).
            // A FIN from the first byte (a client that sends nothing) carries it too, so the
            // server's acknowledgment of the FIN translates like any other.
            if atFirstByte && !flags.contains(.rst) && (tcp.payloadLength > 0 || flags.contains(.fin)) {
                guard insertProxyProtocolHeader(e, c, &p, &packet, tcp: tcp, mtu: mtu) else { return false }
            } else if !atFirstByte || e.pointee.headerSent {
                // Before the header went out the server expects the first byte where the
                // client put it; after, everything from there on is `length` bytes later.
                e.pointee.adjustment.translateFromClient(tcp)
            }
        }
        if e.pointee.toa && e.pointee.synAckSeen && flags.contains(.ack) && !flags.contains(.rst),
           let segment = try? TCPSegment(p.l4, length: p.l4Length),
           segment.acknowledgmentNumber == e.pointee.serverFirstSequence {
            if addAddressOption(c, &p, &packet, tcp: segment, mtu: mtu) {
                toaAdded &+= 1
            } else {
                toaNoRoom &+= 1
            }
        }
        return true
    }

    /// A real server's segment of connection `h`: its SYN-ACK noted (for TOA), its
    /// acknowledgments of the client's stream (and SACK edges) shifted back past the header.
    func clientAddressFromServer(_ h: ConnectionHandle, _ p: ParsedPacket) {
        guard let entries = clientAddressEntries, p.hasTransportHeader,
              let tcp = try? TCPSegment(p.l4, length: p.l4Length) else { return }
        let e = entries + Int(h)
        let flags = tcp.flags
        if flags.isSuperset(of: [.syn, .ack]) {
            e.pointee.serverFirstSequence = tcp.sequenceNumber &+ 1
            e.pointee.synAckSeen = true
            return
        }
        // Until the server acknowledges past the client's first byte its numbers are the
        // client's own (the SYN-ACK, an ACK of a pure ACK); from then on they count the header.
        // SACK blocks name bytes past the header even while the cumulative ACK does not.
        guard e.pointee.proxyProtocol != 0, e.pointee.synSeen, flags.contains(.ack) else { return }
        let first = e.pointee.firstSequence
        let ack = tcp.acknowledgmentNumber
        let past = Int32(bitPattern: ack &- first) > 0
        guard past || (e.pointee.headerSent && tcp.headerLength > TCPSegment.minimumHeaderLength) else { return }
        e.pointee.adjustment.translateFromServer(tcp)
        // An ACK short of the header's end (or of the first byte) acknowledges none of the
        // client's bytes: it says the first byte, as it would have without the header.
        let translated = tcp.acknowledgmentNumber
        if Int32(bitPattern: translated &- first) < 0 {
            tcp.acknowledgmentNumber = first
            tcp.checksum = Checksum.update(tcp.checksum, old: translated, new: first)
        }
    }

    // MARK: PROXY protocol

    /// Writes the header before the segment's payload; the segment keeps its sequence number
    /// (the header now takes the client's first bytes of sequence space).
    private func insertProxyProtocolHeader(_ e: UnsafeMutablePointer<ClientAddressEntry>,
                                           _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                                           _ packet: inout PacketBuffer, tcp: TCPSegment, mtu: Int) -> Bool {
        guard let version = ProxyProtocolHeader.Version(rawValue: e.pointee.proxyProtocol), !p.isFragment else {
            return false
        }
        let header = ProxyProtocolHeader(version: version, source: c.pointee.clientAddress,
                                         sourcePort: c.pointee.clientPort, destination: c.pointee.virtualAddress,
                                         destinationPort: c.pointee.virtualPort)
        let length = Int(e.pointee.adjustment.clientSequenceOffset)
        let tcpHeader = tcp.headerLength
        guard openGap(&p, &packet, at: tcpHeader, count: length) else { return false }
        header.write(into: p.l4 + tcpHeader)
        if packet.segmentation == nil && p.l3Length > mtu {
            // DPVS sends the header in a segment of its own here (`proxy_proto_send_standalone`);
            // one frame in gives one frame out here, so the frame leaves as a super-frame
            // cut to the MTU on the way out, as a sender's TSO would.
            packet.segmentation = PacketBuffer.Segmentation(
                segmentSize: mtu - (p.l4 - p.l3) - tcpHeader, gsoType: p.isIPv6 ? Self.gsoTCPv6 : Self.gsoTCPv4)
            packet.checksumPartial = true
        }
        if !packet.checksumPartial { p.fillL4Checksum() }
        e.pointee.headerSent = true
        proxyProtocolHeadersSent &+= 1
        return true
    }

    // MARK: TOA

    /// Adds option 254 right after the fixed TCP header; false (the segment goes on without it)
    /// when the header has no 8 or 20 bytes of option space left, the frame no room, or the
    /// datagram would outgrow the egress MTU (DPVS `tcp_in_add_toa`: EDPVS_NOROOM, EDPVS_FRAG).
    private func addAddressOption(_ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                                  _ packet: inout PacketBuffer, tcp: TCPSegment, mtu: Int) -> Bool {
        let client = c.pointee.clientAddress
        let length = TCPAddressOption.length(for: client)
        let headerLength = tcp.headerLength
        guard !p.isFragment, headerLength + length <= Self.maximumTCPHeaderLength,
              packet.segmentation != nil || p.l3Length + length <= mtu,
              openGap(&p, &packet, at: TCPSegment.minimumHeaderLength, count: length),
              let segment = try? TCPSegment(p.l4, length: p.l4Length) else { return false }
        segment.writeAddressOption(at: TCPSegment.minimumHeaderLength, address: client, port: c.pointee.clientPort)
        segment.setHeaderLength(headerLength + length)
        if !packet.checksumPartial { p.fillL4Checksum() }
        return true
    }

    /// The data offset's largest value: 15 words (RFC 9293 §3.1).
    static let maximumTCPHeaderLength = 60

    // MARK: Room in the frame

    /// Opens `count` bytes at `at` bytes into the transport header: the bytes after move
    /// toward the buffer's end when its tailroom allows, else the bytes before move toward its
    /// start; IP lengths (and the IPv4 header checksum) follow. False, with nothing changed,
    /// when neither room suffices or the datagram would pass 65,535 bytes.
    func openGap(_ p: inout ParsedPacket, _ packet: inout PacketBuffer, at: Int, count: Int) -> Bool {
        let frame = packet.frame
        let gap = (p.l4 - frame) + at
        let end = (p.l3 - frame) + p.l3Length
        let ipv6Header = p.isIPv6 ? IPv6Packet.headerLength : 0
        guard p.l3Length - ipv6Header + count <= Int(UInt16.max), gap <= end else { return false }
        // Ethernet padding after the datagram (a short frame's) is dropped: `end` is what counts.
        if packet.capacity - packet.offset - end >= count {
            let after = RawBytes(frame + gap, count: end - gap)
            RawBytes(frame + gap + count, count: end - gap).copy(from: after)
        } else if packet.offset >= count + Self.clientAddressHeadroom {
            RawBytes(frame - count, count: gap).copy(from: RawBytes(frame, count: gap))
            packet.offset -= count
            p.l3 -= count
            p.l4 -= count
        } else {
            return false
        }
        packet.length = end + count
        p.l3Length += count
        p.l4Length += count
        if p.isIPv6 {
            p.ipv6.payloadLength = UInt16(truncatingIfNeeded: p.l3Length - IPv6Packet.headerLength)
        } else {
            let ip = p.ipv4
            ip.setTotalLength(UInt16(truncatingIfNeeded: p.l3Length))
            ip.fillChecksum()
        }
        return true
    }
}
