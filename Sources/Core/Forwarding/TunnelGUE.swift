import Wire

/// TUN with `--tun-type gue --tun-port N`: UDP to the real server's GUE port, then a GUE
/// header (draft-ietf-intarea-gue §3.1) naming the inner datagram's protocol (4 or 41), as
/// IPVS's `ipvs_gue_encap` writes them. The UDP source port is a hash of the inner flow in
/// the kernel's default ephemeral range (`udp_flow_src_port`), so one connection keeps one
/// outer 5-tuple and a real server's receive queues spread connections. The UDP checksum is
/// zero with `--tun-nocsum` (RFC 6935 allows it for IPv6 tunnels) and computed with
/// `--tun-csum` and `--tun-remcsum`. With `--tun-remcsum` a frame whose L4 checksum is still
/// partial keeps it partial, and its GUE header carries the private flags word with remote
/// checksum offload, whose start and offset name the inner L4 header and its checksum field
/// (draft-herbert-remotecsumoffload-02 §4); the real server completes the checksum
/// (fou_core.c `gue_remcsum`, here `TunnelDecapsulation`).
extension Director {
    /// `net.ipv4.ip_local_port_range`'s default, 32768–60999.
    static let tunnelSourcePorts: ClosedRange<UInt32> = 32768...60999

    /// Writes UDP and GUE headers at `base`; the UDP checksum is left zero for
    /// `finishGUEChecksum` once the outer addresses are written.
    @inline(__always)
    func writeGUE(at base: UnsafeMutableRawPointer, _ p: ParsedPacket, port: UInt16, length: Int, remoteChecksum: Bool) {
        let udp = UDPDatagram(unchecked: base, length: length)
        udp.sourcePort = tunnelSourcePort(p)
        udp.destinationPort = port
        udp.setLength(UInt16(truncatingIfNeeded: length))
        udp.checksum = 0
        let protocolType: IPProtocol = p.isIPv6 ? .ipv6 : .ipip
        guard remoteChecksum, let field = p.pseudoChecksumOffset else {
            GUEHeader.emit(into: udp.payload, protocolType: protocolType)
            return
        }
        // Both offsets count from the inner datagram's first byte; its headers are far
        // shorter than 64 KiB.
        let start = p.l4 - p.l3
        GUEHeader.emit(into: udp.payload, protocolType: protocolType,
                       remoteChecksumStart: UInt16(truncatingIfNeeded: start), offset: UInt16(truncatingIfNeeded: start + field))
    }

    /// With `checksum`, the UDP checksum over the GUE header and inner datagram. A super-frame
    /// (`whole` false) gets a non-zero placeholder instead, so that the segmenter computes
    /// each segment's.
    @inline(__always)
    func finishGUEChecksum(at base: UnsafeMutableRawPointer, checksum: Bool, whole: Bool, length: Int,
                           source: IPAddress, destination: IPAddress) {
        let udp = UDPDatagram(unchecked: base, length: length)
        guard checksum else { return }
        guard whole else {
            udp.checksum = 0xFFFF
            return
        }
        let pseudo = destination.isIPv4
            ? Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .udp, length: length)
            : Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .udp, length: length)
        udp.fillChecksum(pseudoHeaderSum: pseudo)
    }

    /// `udp_flow_src_port`: the inner flow's hash scaled into the ephemeral range.
    @inline(__always)
    func tunnelSourcePort(_ p: ParsedPacket) -> UInt16 {
        var h = (p.source.high ^ p.source.low ^ table.seed) &* 0x9E37_79B9_7F4A_7C15
        h ^= (p.destination.high ^ p.destination.low) &* 0xBF58_476D_1CE4_E5B9
        h ^= UInt64(p.sourcePort) << 16 | UInt64(p.destinationPort)
        h = (h ^ h >> 31) &* 0x94D0_49BB_1331_11EB
        let span = UInt64(Self.tunnelSourcePorts.upperBound - Self.tunnelSourcePorts.lowerBound)
        return UInt16(truncatingIfNeeded: UInt64(Self.tunnelSourcePorts.lowerBound) + (h >> 32) * span >> 32)
    }
}
