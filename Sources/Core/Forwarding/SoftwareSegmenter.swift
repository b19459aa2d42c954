import Wire

/// Cuts a TCP or UDP super-frame (GSO/GRO, up to 64 KiB) into wire-sized segments in user
/// space, where no kernel offload can: a super-frame wrapped in TUN's outer IPv4 header (the
/// virtio-net header has no IPIP GSO type), or one seen through libpcap, whose injected
/// frames must fit the MTU.
///
/// Each segment copies every header (Ethernet with its tags, TUN's outer IPv4 header if any,
/// the inner IPv4 header or IPv6 header with its extension headers, the TCP or UDP header)
/// and one slice of the payload, then fixes what the kernel's software GSO fixes: IP lengths,
/// IPv4 identifications counting up from the super-frame's (outer and inner), header
/// checksums; for TCP the sequence number advanced by the slices before it, FIN and PSH only
/// on the last segment and CWR only on the first; for UDP (UDP_L4: one datagram per slice)
/// the length; and a full L4 checksum. (net/ipv4/tcp_offload.c `tcp_gso_segment`,
/// net/ipv4/udp_offload.c `__udp_gso_segment`, net/ipv4/af_inet.c `inet_gso_segment`.)
public struct SoftwareSegmenter {
    private let frame: UnsafeMutableRawPointer
    /// Bytes of headers copied into every segment: up to the end of the transport header.
    private let headerLength: Int
    /// Offset of TUN's outer IPv4 header, -1 without one.
    private let outerOffset: Int
    private let innerOffset: Int
    private let innerIsIPv6: Bool
    private let l4Offset: Int
    private let isTCP: Bool
    private let payloadLength: Int
    private let source: IPAddress
    private let destination: IPAddress
    /// Payload bytes per segment.
    public let segmentSize: Int
    /// How many segments the frame becomes.
    public let count: Int

    /// Reads the frame's headers; nil when it is not an unfragmented TCP or UDP datagram
    /// (IPv4 or IPv6, optionally inside one IPIP header) or when no payload fits `mtu`.
    /// `segmentSize` 0 cuts each segment to the largest payload that fits `mtu` (the IP
    /// datagram's limit, outer header included).
    public init?(frame: UnsafeMutableRawPointer, length: Int, segmentSize: Int, mtu: Int) {
        guard let eth = try? EthernetFrame(frame, length: length) else { return nil }
        var innerOffset = eth.headerLength
        var outerOffset = -1
        let isIPv6: Bool
        let proto: IPProtocol
        let l4Offset: Int
        let innerEnd: Int
        switch eth.etherType {
        case .ipv4:
            guard var ip = try? IPv4Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
            if ip.protocol == .ipip {
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
            guard let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
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
        self.innerOffset = innerOffset
        innerIsIPv6 = isIPv6
        self.l4Offset = l4Offset
        isTCP = proto == .tcp
        payloadLength = innerEnd - headers
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
        if outerOffset >= 0 {
            let outer = IPv4Packet(unchecked: out + outerOffset,
                                   headerLength: innerOffset - outerOffset, totalLength: total - outerOffset)
            outer.setTotalLength(UInt16(truncatingIfNeeded: total - outerOffset))
            outer.identification = outer.identification &+ step
            outer.fillChecksum()
        }
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
            tcp.fillChecksum(pseudoHeaderSum: pseudo)
        } else {
            let udp = UDPDatagram(unchecked: out + l4Offset, length: l4Length)
            udp.setLength(UInt16(truncatingIfNeeded: l4Length))
            udp.fillChecksum(pseudoHeaderSum: pseudo)
        }
        return total
    }
}
