import Wire

/// Messages the director originates itself: fragmentation-needed for TUN, and echo
/// replies for VIPs (a VIP answers ping, as it does when the kernel owns it).
extension Director {
    /// RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as fits in 576 bytes.
    static let icmpErrorMaximum = 576

    /// Replaces the frame with ICMP destination-unreachable / fragmentation-needed
    /// (RFC 792, RFC 1191 §4) from the VIP back to the client.
    func answerFragmentationNeeded(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                                   mtu: Int) -> Verdict {
        let l2 = p.l2Length
        let headers = IPv4Packet.minimumHeaderLength + ICMPv4Message.headerLength
        guard let quote = quoteInPlace(p, &packet, headers: headers, limit: Self.icmpErrorMaximum,
                                       minimum: IPv4Packet.minimumHeaderLength + 8) else { return .drop(.noRoom) }
        let ipStart = packet.frame + l2
        let peer = eth.source
        IPv4Packet.emit(into: ipStart, typeOfService: 0xC0, totalLength: headers + quote, identification: 0,
                        flagsFragment: 0, timeToLive: 64, protocol: IPProtocolNumber.icmp,
                        source: p.destination.ipv4, destination: p.source.ipv4)
        do {
            let icmp = try ICMPv4Message(ipStart + IPv4Packet.minimumHeaderLength, length: ICMPv4Message.headerLength + quote)
            icmp.type = ICMPv4Message.Kind.destinationUnreachable
            icmp.code = ICMPv4Message.codeFragmentationNeeded
            icmp.rest = UInt32(truncatingIfNeeded: max(mtu, 68)) & 0xFFFF
            icmp.fillChecksum()
        } catch {
            return .drop(.noRoom)  // unreachable: length checked above
        }
        eth.destination = peer
        eth.source = interfaceMAC(packet.interface)
        packet.length = l2 + headers + quote
        return .answer(interface: packet.interface)
    }

    /// Replaces the frame with ICMPv6 packet-too-big (RFC 4443 §3.2, RFC 8201) back to its
    /// sender, quoting as much of it as fits in the minimum MTU of 1280 bytes.
    func answerPacketTooBig(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                            mtu: Int) -> Verdict {
        let l2 = p.l2Length
        let headers = IPv6Packet.headerLength + ICMPv6Message.headerLength
        guard let quote = quoteInPlace(p, &packet, headers: headers, limit: IPv6Packet.minimumMTU,
                                       minimum: IPv6Packet.headerLength + 8) else { return .drop(.noRoom) }
        let ipStart = packet.frame + l2
        let peer = eth.source
        let length = ICMPv6Message.headerLength + quote
        IPv6Packet.emit(into: ipStart, payloadLength: length, nextHeader: IPProtocolNumber.icmpv6, hopLimit: 64,
                        source: p.destination, destination: p.source)
        do {
            let icmp = try ICMPv6Message(ipStart + IPv6Packet.headerLength, length: length)
            icmp.type = ICMPv6Message.Kind.packetTooBig
            icmp.code = 0
            icmp.rest = UInt32(truncatingIfNeeded: mtu)
            icmp.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
                source: p.destination, destination: p.source, nextHeader: IPProtocolNumber.icmpv6, length: length))
        } catch {
            return .drop(.noRoom)  // unreachable: length checked above
        }
        eth.destination = peer
        eth.source = interfaceMAC(packet.interface)
        packet.length = l2 + IPv6Packet.headerLength + length
        return .answer(interface: packet.interface)
    }

    /// Moves the start of the offending datagram `headers` bytes on, to be quoted after the
    /// new IP and ICMP headers: as much of it as fits `limit` bytes in all and the buffer, and
    /// at least `minimum` (its header and 8 bytes, RFC 792 / RFC 4443), or nil.
    func quoteInPlace(_ p: ParsedPacket, _ packet: inout PacketBuffer, headers: Int, limit: Int, minimum: Int) -> Int? {
        let room = packet.capacity - packet.offset - p.l2Length - headers
        let quote = min(p.l3Length, limit - headers, room)
        guard quote >= minimum else { return nil }
        let ipStart = packet.frame + p.l2Length
        // Safety: source and destination lie inside the buffer (room checked); memmove semantics.
        (ipStart + headers).copyMemory(from: ipStart, byteCount: quote)
        return quote
    }

    /// Turns an echo request to a VIP into the echo reply, in place.
    func answerEcho(_ p: ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict {
        let peer = eth.source
        if p.isIPv6 {
            let ip = p.l3
            ip.storeBytes(of: p.destination.high.bigEndian, toByteOffset: IPv6Packet.Offset.source, as: UInt64.self)
            ip.storeBytes(of: p.destination.low.bigEndian, toByteOffset: IPv6Packet.Offset.source + 8, as: UInt64.self)
            ip.storeBytes(of: p.source.high.bigEndian, toByteOffset: IPv6Packet.Offset.destination, as: UInt64.self)
            ip.storeBytes(of: p.source.low.bigEndian, toByteOffset: IPv6Packet.Offset.destination + 8, as: UInt64.self)
            ip.storeBytes(of: UInt8(64), toByteOffset: IPv6Packet.Offset.hopLimit, as: UInt8.self)
            guard let icmp = try? ICMPv6Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            icmp.type = ICMPv6Message.Kind.echoReply
            // Swapping addresses leaves the pseudo-header sum as it was.
            icmp.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderIPv6(
                source: p.destination, destination: p.source, nextHeader: IPProtocolNumber.icmpv6, length: p.l4Length))
        } else {
            let ip = p.ipv4
            ip.source = p.destination.ipv4
            ip.destination = p.source.ipv4
            ip.timeToLive = 64
            ip.fillChecksum()
            guard let icmp = try? ICMPv4Message(p.l4, length: p.l4Length) else { return .drop(.icmpTruncated) }
            let old = UInt16(icmp.type) << 8 | UInt16(icmp.code)
            icmp.type = ICMPv4Message.Kind.echoReply
            icmp.checksum = Checksum.update(icmp.checksum, old: old, new: UInt16(icmp.type) << 8 | UInt16(icmp.code))
        }
        eth.destination = peer
        eth.source = interfaceMAC(packet.interface)
        return .answer(interface: packet.interface)
    }
}
