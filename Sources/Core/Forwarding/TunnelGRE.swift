import Wire

/// TUN with `--tun-type gre`: a GRE header (RFC 2784) between the outer IP header and the
/// inner datagram, its protocol type the inner datagram's EtherType, with `--tun-csum` a
/// checksum over the GRE header and the inner datagram (IPVS's `ipvs_gre_encap`, which sets
/// neither key nor sequence number).
extension Director {
    /// Writes the GRE header at `base`; `length` (GRE header and inner datagram) is 0 for a
    /// super-frame, whose segments get their checksums when they are cut.
    @inline(__always)
    func writeGRE(at base: UnsafeMutableRawPointer, innerIsIPv6: Bool, checksum: Bool, length: Int) {
        GREHeader.emit(into: base, protocolType: innerIsIPv6 ? .ipv6 : .ipv4, checksum: checksum)
        if checksum && length > 0 { GREHeader.fillChecksum(base, length: length) }
    }
}
