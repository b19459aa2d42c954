import Wire

/// FullNAT, `-b` (DPVS): CIP:cport → LIP:lport and VIP:vport → RIP:rport on the way in,
/// both reversed on replies, so real servers need no route back to clients.
/// (dpvs src/ipvs/ip_vs_xmit.c dp_vs_xmit_fnat / dp_vs_out_xmit_fnat.)
extension Director {
    func transmitFullNAT(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: UnsafeMutablePointer<Connection>, realServer rs: Int) -> Verdict {
        guard let out = addressToRealServer(eth, realServer: rs) else { return .drop(.neighbourUnresolved) }
        p.setSource(c.pointee.localAddress)
        p.setSourcePort(c.pointee.localPort)
        p.setDestination(c.pointee.destinationAddress)
        p.setDestinationPort(c.pointee.destinationPort)
        return .forward(interface: out)
    }

    func transmitFullNATReply(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: UnsafeMutablePointer<Connection>) -> Verdict {
        p.setSource(c.pointee.virtualAddress)
        p.setSourcePort(c.pointee.virtualPort)
        p.setDestination(c.pointee.clientAddress)
        p.setDestinationPort(c.pointee.clientPort)
        return .forward(interface: addressToClient(eth, c))
    }
}
