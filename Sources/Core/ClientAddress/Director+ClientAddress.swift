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

    /// A client segment of a connection whose service hands the client's address on, after
    /// its forwarding method: the PROXY protocol header inserted at the first byte, the stream
    /// translated, TOA added. False: the header was due and did not fit
    /// (`proxy-protocol-no-room`; the client sends the segment again).
    func carryClientAddress(_ e: UnsafeMutablePointer<StreamShift>, _ c: UnsafeMutablePointer<Connection>,
                            _ p: inout ParsedPacket, _ packet: inout PacketBuffer, tcp: TCPSegment, mtu: Int) -> Bool {
        let flags = tcp.flags
        if flags.contains(.syn) {
            if !flags.contains(.ack) { openStream(e, c, first: tcp.sequenceNumber &+ 1) }
            return true
        }
        // A connection picked up mid-stream (sloppy TCP) has no known first byte: nothing to insert.
        var adjustment = e.pointee.adjustment
        if e.pointee.proxyProtocol != 0 && e.pointee.synSeen && tcp.sequenceNumber == e.pointee.firstSequence
            && !flags.contains(.rst) && (tcp.payloadLength > 0 || flags.contains(.fin)) {
            // DPVS inserts into the first segment that carries data, never a pure ACK: a header
            // in a segment the client never retransmits would be lost with it, while the
            // client retransmits its data until the server acknowledges it, and each
            // retransmission from the first byte gets the header again (same sequence space).
            // A FIN from the first byte (a client that sends nothing) carries it too, so the
            // server's acknowledgment of the FIN translates like any other.
            guard insertProxyProtocolHeader(e, c, &p, &packet, tcp: tcp, mtu: mtu) else { return false }
            // The segment keeps the first byte's number, whatever the client's stream recorded
            // since (after an FTP rewrite further on, it lies before the last change).
            adjustment.fromClient = SequenceShift()
        }
        guard let segment = try? TCPSegment(p.l4, length: p.l4Length) else { return true }
        adjustment.translateFromClient(segment)
        if e.pointee.toa && e.pointee.synAckSeen && flags.contains(.ack) && !flags.contains(.rst)
            && segment.acknowledgmentNumber == e.pointee.serverFirstSequence {
            if addAddressOption(c, &p, &packet, tcp: segment, mtu: mtu) {
                toaAdded &+= 1
            } else {
                toaNoRoom &+= 1
            }
        }
        return true
    }

    /// The client's SYN: where its first byte goes, and the PROXY protocol header's shift of
    /// the client's stream from there. A retransmitted SYN says the same; one with another ISN
    /// (a connection reused from TIME_WAIT) starts a stream with nothing of the old one's.
    func openStream(_ e: UnsafeMutablePointer<StreamShift>, _ c: UnsafeMutablePointer<Connection>, first: UInt32) {
        if e.pointee.synSeen ? first != e.pointee.firstSequence : !e.pointee.adjustment.isIdentity {
            var fresh = StreamShift()
            fresh.proxyProtocol = e.pointee.proxyProtocol
            fresh.toa = e.pointee.toa
            fresh.changed = true
            e.pointee = fresh
        }
        e.pointee.firstSequence = first
        e.pointee.synSeen = true
        if let version = ProxyProtocolHeader.Version(rawValue: e.pointee.proxyProtocol) {
            let length = UInt32(proxyProtocolHeader(version, c).encodedLength)
            e.pointee.adjustment.fromClient = SequenceShift(initialSequence: first, delta: length, previousDelta: 0)
        }
    }

    // MARK: PROXY protocol

    /// Writes the header before the segment's payload; the segment keeps its sequence number
    /// (the header now takes the client's first bytes of sequence space).
    private func insertProxyProtocolHeader(_ e: UnsafeMutablePointer<StreamShift>,
                                           _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                                           _ packet: inout PacketBuffer, tcp: TCPSegment, mtu: Int) -> Bool {
        guard let version = ProxyProtocolHeader.Version(rawValue: e.pointee.proxyProtocol), !p.isFragment else {
            return false
        }
        let header = proxyProtocolHeader(version, c)
        let length = header.encodedLength
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
    func addAddressOption(_ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
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
