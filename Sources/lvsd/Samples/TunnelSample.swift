import PacketBuilder
import Wire

extension Sample {
    /// LVS-TUN (`-i`): the client side only, as for DR, each frame IPIP-encapsulated toward
    /// its real server. One request segment (a 540-byte datagram with DF set) no longer fits
    /// eth1's MTU of 540 with the 20-byte outer header, so the director answers the client
    /// with ICMP fragmentation-needed, MTU 520 (RFC 1191), instead of forwarding it.
    ///
    /// The MTU is low on purpose: with a full-size 1500-byte datagram the answer could quote
    /// only its first 548 bytes (RFC 1812 §4.3.2.3 caps an ICMP error at 576), and Wireshark
    /// then checks the quoted TCP checksum against the truncated segment and calls it bad.
    /// A datagram that fits the quote whole keeps every checksum in the sample verifiable.
    static var tunnel: Sample {
        let c = Lab.fromClient
        let (cip, vip) = (Lab.client, Lab.vip)
        let bigBody = String(repeating: "x", count: 540 - 20 - 20)
        let big = c.ipv4(source: cip, destination: vip, identification: 0x1010)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1001 + UInt32(Lab.request.utf8.count),
                 acknowledgment: 5001)
            .payload(bigBody).bytes
        let requestEnd = 1001 + UInt32(Lab.request.utf8.count) + UInt32(bigBody.utf8.count)
        let responseEnd = 5001 + UInt32(Lab.response.utf8.count)
        let frames: [[UInt8]] = [Lab.arpForVIP]
            + Sample.clientSide(c, cip: cip, vip: vip, requestEnd: requestEnd, responseEnd: responseEnd, extra: [big])
        let rules = """
            # LVS-TUN (IP tunnelling, ipvsadm -i): the director wraps the client's datagram in an
            # outer IPv4 header (protocol 4, IPIP) from its eth1 address to the real server, which
            # decapsulates on tunl0 (holding the VIP) and replies to the client directly.
            # eth1's MTU is low on purpose: it leaves 520 bytes for the inner datagram, so the
            # capture's 540-byte segment (DF set) is answered with ICMP fragmentation-needed.
            \(Lab.interfaceLines(eth1MTU: 540))
            -A -t \(vip):80 -s rr
            -a -t \(vip):80 -r \(Lab.server1) -i -w 1
            -a -t \(vip):80 -r \(Lab.server2) -i -w 1
            -A -u \(vip):53 -s rr
            -a -u \(vip):53 -r \(Lab.server1) -i -w 1

            """
        return Sample(mode: "tun", rules: rules, frames: frames)
    }
}
