import Wire

/// Answers ARP requests for the director's VIPs and FullNAT local addresses in place
/// (RFC 826), so the host's own stack never has to own those addresses.
extension Director {
    func answerARP(_ eth: EthernetFrame, _ packet: inout PacketBuffer) -> Verdict {
        let arp: ARPPacket
        do { arp = try ARPPacket(eth.payload, length: eth.payloadLength) } catch {
            return error == .unsupported ? .pass(.arpNotForDirector) : .drop(.arpMalformed)
        }
        let target = IPAddress(ipv4: arp.targetIP)
        guard arp.operation == .request,
              virtualAddressLookup.contains(target) || localAddressLookup.contains(target),
              !isStandby(target)
        else { return .pass(.arpNotForDirector) }
        let mac = interfaceMAC(packet.interface)
        let asker = arp.senderMAC
        arp.makeReply(from: mac)
        eth.destination = asker
        eth.source = mac
        return .answer(interface: packet.interface)
    }
}
