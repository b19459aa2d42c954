import PacketBuilder
import Wire

extension Sample {
    /// FullNAT (DPVS `-b`): the director rewrites both ends, CIP:cport → LIP:lport and
    /// VIP:vport → RIP:rport, so real servers answer the LIP and need no route to clients.
    ///
    /// Replies are addressed to LIP:lport as a fresh director hands them out: DPVS-style, each
    /// LIP's ports are given oldest-free first from 1024, so the TCP connection gets 1024, the
    /// first UDP flow 1025 and the second 1026 (both services share the one LIP).
    static var fullNAT: Sample {
        let c = Lab.fromClient, s1 = Lab.fromServer(Lab.server1MAC), s2 = Lab.fromServer(Lab.server2MAC)
        let (cip, vip, rip1, rip2, lip) = (Lab.client, Lab.vip, Lab.server1, Lab.server2, Lab.localAddress)
        let requestEnd = 1001 + UInt32(Lab.request.utf8.count), responseEnd = 5001 + UInt32(Lab.response.utf8.count)
        let forwardedQuery = Frame.raw.ipv4(source: lip, destination: rip2, ttl: 63, identification: 0x1007)
            .udp(sourcePort: 1026, destinationPort: 53).payload(Lab.dnsQuery)
        let frames: [[UInt8]] = [
            Lab.arpForVIP,
            c.ipv4(source: cip, destination: vip, identification: 0x1001)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn, sequence: 1000).bytes,
            s1.ipv4(source: rip1, destination: lip, identification: 0x2001)
                .tcp(sourcePort: 8080, destinationPort: 1024, flags: [.syn, .ack], sequence: 5000, acknowledgment: 1001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1002)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1001, acknowledgment: 5001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1003)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.psh, .ack], sequence: 1001, acknowledgment: 5001)
                .payload(Lab.request).bytes,
            s1.ipv4(source: rip1, destination: lip, identification: 0x2002)
                .tcp(sourcePort: 8080, destinationPort: 1024, flags: [.psh, .ack], sequence: 5001, acknowledgment: requestEnd)
                .payload(Lab.response).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1004)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.fin, .ack], sequence: requestEnd, acknowledgment: responseEnd).bytes,
            s1.ipv4(source: rip1, destination: lip, identification: 0x2003)
                .tcp(sourcePort: 8080, destinationPort: 1024, flags: .ack, sequence: responseEnd, acknowledgment: requestEnd + 1).bytes,
            s1.ipv4(source: rip1, destination: lip, identification: 0x2004)
                .tcp(sourcePort: 8080, destinationPort: 1024, flags: [.fin, .ack], sequence: responseEnd, acknowledgment: requestEnd + 1).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1005)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: requestEnd + 1, acknowledgment: responseEnd + 1).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1006)
                .udp(sourcePort: 5353, destinationPort: 53).payload(Lab.dnsQuery).bytes,
            s1.ipv4(source: rip1, destination: lip, identification: 0x2005)
                .udp(sourcePort: 53, destinationPort: 1025).payload(Lab.dnsAnswer).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1007)
                .udp(sourcePort: 5354, destinationPort: 53).payload(Lab.dnsQuery).bytes,
            s2.ipv4(source: rip2, destination: lip, identification: 0x3001, dontFragment: false, tos: 0xC0)
                .icmpv4(type: .destinationUnreachable, code: .portUnreachable)
                .quoting(forwardedQuery).bytes,
        ]
        let rules = """
            # FullNAT (DPVS, ipvsadm -b): the director rewrites source and destination, so the
            # real servers see the local address (LIP) as their client and reply to it.
            \(Lab.interfaceLines())
            -A -t \(vip):80 -s rr
            -a -t \(vip):80 -r \(rip1):8080 -b -w 1
            -a -t \(vip):80 -r \(rip2):8080 -b -w 1
            --add-laddr -z \(lip) -t \(vip):80
            -A -u \(vip):53 -s rr
            -a -u \(vip):53 -r \(rip1):53 -b -w 1
            -a -u \(vip):53 -r \(rip2):53 -b -w 1
            --add-laddr -z \(lip) -u \(vip):53

            """
        return Sample(mode: "fullnat", rules: rules, frames: frames)
    }
}
