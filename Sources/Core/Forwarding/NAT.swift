import Wire

/// NAT, `-m` (LVS-NAT, masquerading): VIP:vport → RIP:rport on the way in, RIP:rport →
/// VIP:vport on the way back; the real servers route replies through the director.
/// Checksums are updated incrementally (RFC 1624). (ip_vs_xmit.c ip_vs_nat_xmit,
/// ip_vs_core.c handle_response / ip_vs_proto_tcp.c tcp_snat_handler, tcp_dnat_handler.)
extension Director {
    func transmitNAT(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: UnsafeMutablePointer<Connection>, realServer rs: Int) -> Verdict {
        guard let out = addressToRealServer(eth, realServer: rs) else { return .drop(.neighbourUnresolved) }
        p.setDestination(c.pointee.destinationAddress)
        p.setDestinationPort(c.pointee.destinationPort)
        return .forward(interface: out)
    }

    func transmitNATReply(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: UnsafeMutablePointer<Connection>) -> Verdict {
        p.setSource(c.pointee.virtualAddress)
        p.setSourcePort(c.pointee.virtualPort)
        return .forward(interface: addressToClient(eth, c))
    }
}
