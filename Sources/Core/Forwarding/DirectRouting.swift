import Wire

/// DR, `-g` (LVS-DR): the frame goes to the real server unchanged but for its MACs. The real
/// server owns the VIP on a non-ARPing interface and answers the client directly.
/// (net/netfilter/ipvs/ip_vs_xmit.c, ip_vs_dr_xmit.)
extension Director {
    func transmitDirectRouting(_ p: inout ParsedPacket, _ eth: EthernetFrame, realServer rs: Int) -> Verdict {
        guard let out = addressToRealServer(eth, realServer: rs) else { return .drop(.neighbourUnresolved) }
        return .forward(interface: out)
    }
}
