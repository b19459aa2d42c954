import Wire

/// The real server's half of TUN (RFC 2003 §3): what an Ethernet frame read on the real
/// server is, for `lvsd realserver`'s user-space IPIP decapsulator on kernels without the
/// ipip module. Only the bytes are judged here; the decapsulator writes `.inner` to its TUN
/// device, from which the kernel receives the inner datagram unchanged.
public enum TunnelDecapsulation {
    /// The inner IPv4 datagram, inside the frame's buffer (valid as long as the frame is).
    case inner(UnsafeMutableRawBufferPointer)
    /// IPIP to this host from an outer source that is none of the directors.
    case foreign
    /// Anything else: not IPv4, not protocol 4, a fragment, another destination, or an
    /// inner header that does not parse.
    case notForUs

    /// - Parameters:
    ///   - localAddresses: this host's IPv4 addresses, as `IPv4Packet.destination` reads them.
    ///   - directors: the outer sources accepted; empty accepts any (the kernel's ipip does,
    ///     which is why `--director` exists).
    public static func of(_ frame: UnsafeMutableRawBufferPointer, localAddresses: Set<UInt32>,
                          directors: Set<UInt32> = []) -> TunnelDecapsulation {
        guard let base = frame.baseAddress,
              let ethernet = try? EthernetFrame(base, length: frame.count),
              ethernet.etherType == .ipv4,
              let outer = try? IPv4Packet(ethernet.payload, length: ethernet.payloadLength),
              outer.protocol == .ipip, !outer.isFragment,
              localAddresses.contains(outer.destination)
        else { return .notForUs }
        guard directors.isEmpty || directors.contains(outer.source) else { return .foreign }
        guard let inner = try? IPv4Packet(outer.payload, length: outer.payloadLength) else { return .notForUs }
        return .inner(UnsafeMutableRawBufferPointer(start: outer.payload, count: inner.totalLength))
    }
}
