import Wire

/// The real server's half of TUN: what an Ethernet frame read on the real server is, for
/// `lvsd realserver`'s user-space decapsulator on kernels without the ipip, ip6_tunnel, gre
/// or fou modules. Only the bytes are judged here; the decapsulator writes `.inner` to its
/// TUN device, from which the kernel receives the inner datagram unchanged (RFC 2003 §3.1,
/// RFC 2473 §3.2) but for one thing: a checksum left to the receiver by remote checksum
/// offload is completed first.
///
/// Every encapsulation the director sends is understood, whichever the outer family: IPIP
/// (protocol 4) and IPv6-in-IP (41), GRE version 0 with or without its checksum (RFC 2784;
/// a wrong checksum is refused, as a GRE receiver must), and GUE (draft-ietf-intarea-gue) on
/// one UDP port with a zero or a correct UDP checksum, variant 0, with no flags or with the
/// private flags word and its remote checksum offload option (`--tun-remcsum`). That option's
/// checksum is completed as fou_core.c's `gue_remcsum` does without partial-checksum
/// delivery (`skb_remcsum_process` with nopartial, draft-herbert-remotecsumoffload-02 §5):
/// the field, which holds the pseudo-header sum, becomes the complement of the sum from the
/// start offset to the end of the inner datagram. Offsets outside the datagram, or a field
/// before the start or at an odd distance from it, refuse the frame.
public enum TunnelDecapsulation {
    /// The inner IPv4 or IPv6 datagram, inside the frame's buffer (valid as long as the frame is).
    case inner(UnsafeMutableRawBufferPointer)
    /// A tunnel to this host from an outer source that is none of the directors.
    case foreign
    /// Anything else: not a tunnel, an outer fragment, another destination, a wrong
    /// checksum, or an inner datagram that does not parse.
    case notForUs

    /// - Parameters:
    ///   - localAddresses: this host's addresses; the outer destination must be one.
    ///   - directors: the outer sources accepted; empty accepts any (the kernel's tunnels do,
    ///     which is why `--director` exists).
    ///   - guePort: the UDP port GUE arrives on (`--tun-port` on the director); 0: no GUE.
    public static func of(_ frame: UnsafeMutableRawBufferPointer, localAddresses: Set<IPAddress>,
                          directors: Set<IPAddress> = [], guePort: UInt16 = 0) -> TunnelDecapsulation {
        guard let base = frame.baseAddress,
              let ethernet = try? EthernetFrame(base, length: frame.count) else { return .notForUs }
        let source: IPAddress, destination: IPAddress
        let proto: IPProtocol
        let payload: UnsafeMutableRawPointer
        let payloadLength: Int
        switch ethernet.etherType {
        case .ipv4:
            guard let outer = try? IPv4Packet(ethernet.payload, length: ethernet.payloadLength),
                  !outer.isFragment else { return .notForUs }
            (source, destination, proto) = (outer.sourceAddress, outer.destinationAddress, outer.protocol)
            (payload, payloadLength) = (outer.payload, outer.payloadLength)
        case .ipv6:
            guard let outer = try? IPv6Packet(ethernet.payload, length: ethernet.payloadLength),
                  !outer.isFragment else { return .notForUs }
            (source, destination, proto) = (outer.source, outer.destination, outer.upperProtocol)
            (payload, payloadLength) = (outer.upper, outer.totalLength - outer.upperOffset)
        default:
            return .notForUs
        }
        guard proto == .ipip || proto == .ipv6 || proto == .gre || (proto == .udp && guePort != 0),
              localAddresses.contains(destination) else { return .notForUs }

        let innerIsIPv6: Bool
        let inner: UnsafeMutableRawPointer
        let available: Int
        var remoteChecksum: (start: Int, offset: Int)? = nil
        switch proto {
        case .ipip, .ipv6:
            (innerIsIPv6, inner, available) = (proto == .ipv6, payload, payloadLength)
        case .gre:
            guard let gre = try? GREHeader(payload, length: payloadLength), gre.isChecksumValid(length: payloadLength),
                  gre.protocolType == .ipv4 || gre.protocolType == .ipv6 else { return .notForUs }
            (innerIsIPv6, inner, available) = (gre.protocolType == .ipv6, gre.payload, payloadLength - gre.headerLength)
        default:
            guard let udp = try? UDPDatagram(payload, length: payloadLength), udp.destinationPort == guePort,
                  udp.isChecksumValid(pseudoHeaderSum: source.isIPv4
                      ? Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .udp, length: udp.length)
                      : Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .udp, length: udp.length)),
                  let gue = try? GUEHeader(udp.payload, length: udp.payloadLength),
                  gue.protocolType == .ipip || gue.protocolType == .ipv6 else { return .notForUs }
            (innerIsIPv6, inner, available) = (gue.protocolType == .ipv6, gue.payload, udp.payloadLength - gue.headerLength)
            remoteChecksum = gue.remoteChecksum
        }
        guard directors.isEmpty || directors.contains(source) else { return .foreign }
        let length: Int
        if innerIsIPv6 {
            guard let datagram = try? IPv6Packet(inner, length: available) else { return .notForUs }
            length = datagram.totalLength
        } else {
            guard let datagram = try? IPv4Packet(inner, length: available) else { return .notForUs }
            length = datagram.totalLength
        }
        if let (start, offset) = remoteChecksum {
            guard start <= offset, (offset - start) % 2 == 0, offset + 2 <= length else { return .notForUs }
            let sum = Checksum.finish(Checksum.sum(inner + start, count: length - start))
            // RFC 768: a computed zero is sent as all ones (for TCP both mean zero).
            let value: UInt16 = sum == 0 ? 0xFFFF : sum
            // Safety: offset + 2 <= length, inside the datagram the views above validated.
            inner.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
        }
        return .inner(UnsafeMutableRawBufferPointer(start: inner, count: length))
    }
}
