import Wire

/// Cuts a TCP or UDP super-frame (GSO/GRO, up to 64 KiB) into wire-sized segments in user
/// space, where no kernel offload can: a super-frame wrapped in TUN's outer headers (the
/// virtio-net header has no tunnel GSO types), or one seen through libpcap, whose injected
/// frames must fit the MTU.
///
/// Each segment copies every header (Ethernet with its tags, TUN's outer IPv4 or IPv6 header
/// and its GRE or UDP and GUE header if any,
/// the inner IPv4 header or IPv6 header with its extension headers, the TCP or UDP header)
/// and one slice of the payload, then fixes what the kernel's software GSO fixes: IP lengths,
/// IPv4 identifications counting up from the super-frame's (outer and inner), header
/// checksums, a GRE checksum and a non-zero outer UDP checksum; for TCP the sequence number advanced by the slices before it, FIN and PSH only
/// on the last segment and CWR only on the first; for UDP (UDP_L4: one datagram per slice)
/// the length; and a full L4 checksum, or under GUE's remote checksum offload option the
/// segment's pseudo-header sum, which the real server completes (`SKB_GSO_TUNNEL_REMCSUM`).
/// (net/ipv4/tcp_offload.c `tcp_gso_segment`, net/ipv4/udp_offload.c `__udp_gso_segment`,
/// net/ipv4/af_inet.c `inet_gso_segment`.)
public struct SoftwareSegmenter {
    private let frame: UnsafeMutableRawPointer
    /// Bytes of headers copied into every segment: up to the end of the transport header.
    private let headerLength: Int
    /// Offset of TUN's outer IP header, -1 without one.
    private let outerOffset: Int
    private let outerIsIPv6: Bool
    /// What follows the outer header: `.ipip` (nothing), `.gre` or `.udp` (GUE).
    private let outerProtocol: IPProtocol
    private let innerOffset: Int
    private let innerIsIPv6: Bool
    private let l4Offset: Int
    private let isTCP: Bool
    private let payloadLength: Int
    /// The GUE header asks the real server to complete the inner checksums.
    private let innerChecksumOffloaded: Bool
    private let source: IPAddress
    private let destination: IPAddress
    /// Payload bytes per segment.
    public let segmentSize: Int
    /// How many segments the frame becomes.
    public let count: Int

    /// Reads the frame's headers; nil when it is not an unfragmented TCP or UDP datagram
    /// (IPv4 or IPv6, optionally inside one IPIP header, or inside `tunnelHeaderLength` bytes
    /// of TUN headers as `PacketBuffer.tunnelHeaderLength` reports them) or when no payload
    /// fits `mtu`. `segmentSize` 0 cuts each segment to the largest payload that fits `mtu`
    /// (the IP datagram's limit, outer headers included).
    public init?(frame: UnsafeMutableRawPointer, length: Int, segmentSize: Int, mtu: Int, tunnelHeaderLength: Int = 0) {
        guard let eth = try? EthernetFrame(frame, length: length) else { return nil }
        var innerOffset = eth.headerLength
        var outerOffset = -1
        var outerIsIPv6 = false
        var outerProtocol = IPProtocol.ipip
        var etherType = eth.etherType
        var offloaded = false
        if tunnelHeaderLength > 0 {
            guard length - innerOffset > tunnelHeaderLength else { return nil }
            outerOffset = innerOffset
            outerIsIPv6 = etherType == .ipv6
            guard outerIsIPv6 || etherType == .ipv4 else { return nil }
            let outerLength = outerIsIPv6 ? IPv6Packet.headerLength : IPv4Packet.minimumHeaderLength
            guard tunnelHeaderLength >= outerLength else { return nil }
            let available = length - outerOffset
            if outerIsIPv6 {
                guard let outer = try? IPv6Packet(frame + outerOffset, length: available) else { return nil }
                outerProtocol = outer.nextHeader
            } else {
                guard let outer = try? IPv4Packet(frame + outerOffset, length: available) else { return nil }
                outerProtocol = outer.protocol
            }
            // The inner family, as the encapsulation names it.
            let encapsulation = frame + outerOffset + outerLength
            let carried = length - outerOffset - outerLength
            switch outerProtocol {
            case .ipip: etherType = .ipv4
            case .ipv6: etherType = .ipv6
            case .gre:
                guard let gre = try? GREHeader(encapsulation, length: carried) else { return nil }
                etherType = gre.protocolType
            case .udp:
                guard carried >= UDPDatagram.headerLength,
                      let gue = try? GUEHeader(encapsulation + UDPDatagram.headerLength,
                                               length: carried - UDPDatagram.headerLength) else { return nil }
                etherType = gue.protocolType == .ipv6 ? .ipv6 : .ipv4
                offloaded = gue.remoteChecksum != nil
            default:
                return nil
            }
            innerOffset += tunnelHeaderLength
        }
        let isIPv6: Bool
        let proto: IPProtocol
        let l4Offset: Int
        let innerEnd: Int
        switch etherType {
        case .ipv4:
            guard var ip = try? IPv4Packet(frame + innerOffset, length: length - innerOffset), !ip.isFragment else { return nil }
            if outerOffset < 0 && ip.protocol == .ipip {
                outerOffset = innerOffset
                innerOffset += ip.headerLength
                // The outer length may be a placeholder (a super-frame can exceed 65,535 bytes
                // once wrapped): the inner header bounds the datagram.
                guard let inner = try? IPv4Packet(ip.payload, length: length - innerOffset),
                      !inner.isFragment else { return nil }
                ip = inner
            }
            isIPv6 = false
            proto = ip.protocol
            l4Offset = innerOffset + ip.headerLength
            innerEnd = innerOffset + ip.totalLength
            source = ip.sourceAddress
            destination = ip.destinationAddress
        case .ipv6:
            guard let ip = try? IPv6Packet(frame + innerOffset, length: length - innerOffset), !ip.isFragment else { return nil }
            isIPv6 = true
            proto = ip.upperProtocol
            l4Offset = innerOffset + ip.upperOffset
            innerEnd = innerOffset + ip.totalLength
            source = ip.source
            destination = ip.destination
        default:
            return nil
        }
        let transportHeader: Int
        switch proto {
        case .tcp:
            guard let tcp = try? TCPSegment(frame + l4Offset, length: innerEnd - l4Offset) else { return nil }
            transportHeader = tcp.headerLength
        case .udp:
            guard innerEnd - l4Offset >= UDPDatagram.headerLength else { return nil }
            transportHeader = UDPDatagram.headerLength
        default:
            return nil
        }
        let headers = l4Offset + transportHeader
        let ipStart = outerOffset >= 0 ? outerOffset : innerOffset
        let size = segmentSize > 0 ? segmentSize : mtu - (headers - ipStart)
        guard size > 0, innerEnd >= headers else { return nil }
        self.frame = frame
        headerLength = headers
        self.outerOffset = outerOffset
        self.outerIsIPv6 = outerIsIPv6
        self.outerProtocol = outerProtocol
        self.innerOffset = innerOffset
        innerIsIPv6 = isIPv6
        self.l4Offset = l4Offset
        isTCP = proto == .tcp
        payloadLength = innerEnd - headers
        innerChecksumOffloaded = offloaded
        self.segmentSize = size
        count = max(1, (payloadLength + size - 1) / size)
    }

    /// Writes segment `index` (0 ..< count) into `out`; returns its length, or 0 when it
    /// does not fit `capacity`.
    public func write(_ index: Int, into out: UnsafeMutableRawPointer, capacity: Int) -> Int {
        guard index >= 0, index < count else { return 0 }
        let start = index * segmentSize
        let slice = min(segmentSize, payloadLength - start)
        let total = headerLength + slice
        guard total <= capacity else { return 0 }
        // Headers and slice lie inside the frame the initialiser validated; `total` bytes fit `out`.
        let whole = RawBytes(frame, count: headerLength + payloadLength)
        let segment = RawBytes(out, count: total)
        segment.copy(from: whole.slice(from: 0, count: headerLength))
        segment.slice(from: headerLength, count: slice).copy(from: whole.slice(from: headerLength + start, count: slice))

        let step = UInt16(truncatingIfNeeded: index)
        if innerIsIPv6 {
            let inner = IPv6Packet(unchecked: out + innerOffset, totalLength: total - innerOffset,
                                   upperProtocol: isTCP ? .tcp : .udp, upperOffset: l4Offset - innerOffset)
            inner.payloadLength = UInt16(truncatingIfNeeded: total - innerOffset - IPv6Packet.headerLength)
        } else {
            let inner = IPv4Packet(unchecked: out + innerOffset,
                                   headerLength: l4Offset - innerOffset, totalLength: total - innerOffset)
            inner.setTotalLength(UInt16(truncatingIfNeeded: total - innerOffset))
            inner.identification = inner.identification &+ step
            inner.fillChecksum()
        }
        let l4Length = total - l4Offset
        let proto: IPProtocol = isTCP ? .tcp : .udp
        let pseudo = innerIsIPv6
            ? Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: proto, length: l4Length)
            : Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: proto, length: l4Length)
        if isTCP {
            guard let tcp = try? TCPSegment(out + l4Offset, length: l4Length) else { return 0 }
            tcp.sequenceNumber = tcp.sequenceNumber &+ UInt32(truncatingIfNeeded: start)
            var flags = tcp.flags
            if index != count - 1 { flags.subtract([.fin, .psh]) }
            if index != 0 { flags.remove(.cwr) }
            tcp.flags = flags
            if innerChecksumOffloaded { tcp.checksum = Checksum.fold(pseudo) } else { tcp.fillChecksum(pseudoHeaderSum: pseudo) }
        } else {
            let udp = UDPDatagram(unchecked: out + l4Offset, length: l4Length)
            udp.setLength(UInt16(truncatingIfNeeded: l4Length))
            if innerChecksumOffloaded { udp.checksum = Checksum.fold(pseudo) } else { udp.fillChecksum(pseudoHeaderSum: pseudo) }
        }
        // Last: the outer checksums cover the inner datagram.
        if outerOffset >= 0 { fixOuterHeaders(out, total: total, step: step) }
        return total
    }

    /// A segment's TUN headers: the outer IP length (and IPv4 identification and checksum),
    /// then GUE's UDP length and checksum or GRE's checksum, each over the finished segment.
    private func fixOuterHeaders(_ out: UnsafeMutableRawPointer, total: Int, step: UInt16) {
        let outerLength = outerIsIPv6 ? IPv6Packet.headerLength : IPv4Packet.minimumHeaderLength
        let carried = total - outerOffset - outerLength
        let encapsulation = out + outerOffset + outerLength
        let source: IPAddress, destination: IPAddress
        if outerIsIPv6 {
            let outer = IPv6Packet(unchecked: out + outerOffset, totalLength: total - outerOffset,
                                   upperProtocol: outerProtocol, upperOffset: outerLength)
            outer.payloadLength = UInt16(truncatingIfNeeded: carried)
            (source, destination) = (outer.source, outer.destination)
        } else {
            let outer = IPv4Packet(unchecked: out + outerOffset, headerLength: outerLength, totalLength: total - outerOffset)
            outer.setTotalLength(UInt16(truncatingIfNeeded: total - outerOffset))
            outer.identification = outer.identification &+ step
            outer.fillChecksum()
            (source, destination) = (outer.sourceAddress, outer.destinationAddress)
        }
        switch outerProtocol {
        case .udp:
            let udp = UDPDatagram(unchecked: encapsulation, length: carried)
            udp.setLength(UInt16(truncatingIfNeeded: carried))
            guard udp.checksum != 0 else { return }
            udp.fillChecksum(pseudoHeaderSum: outerIsIPv6
                ? Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .udp, length: carried)
                : Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .udp, length: carried))
        case .gre:
            if let gre = try? GREHeader(encapsulation, length: carried), gre.hasChecksum {
                GREHeader.fillChecksum(encapsulation, length: carried)
            }
        default:
            break
        }
    }
}
