import Wire

/// FullNAT, `-b` (DPVS): CIP:cport → LIP:lport and VIP:vport → RIP:rport on the way in,
/// both reversed on replies, so real servers need no route back to clients.
/// (dpvs src/ipvs/ip_vs_xmit.c dp_vs_xmit_fnat / dp_vs_out_xmit_fnat.)
extension Director {
    func transmitFullNAT(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: Connection, realServer rs: Int) -> Verdict {
        guard let out = addressToRealServer(eth, realServer: rs) else { return .drop(.neighbourUnresolved) }
        p.setSource(c.localAddress)
        p.setSourcePort(c.localPort)
        p.setDestination(c.destinationAddress)
        p.setDestinationPort(c.destinationPort)
        return .forward(interface: out)
    }

    func transmitFullNATReply(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ c: Connection) -> Verdict {
        p.setSource(c.virtualAddress)
        p.setSourcePort(c.virtualPort)
        p.setDestination(c.clientAddress)
        p.setDestinationPort(c.clientPort)
        return .forward(interface: addressToClient(eth, c))
    }
}
