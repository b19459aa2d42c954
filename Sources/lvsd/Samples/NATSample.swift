import PacketBuilder
import Wire

extension Sample {
    /// LVS-NAT (`-m`): everything the director sees, both directions, since the real servers
    /// route their replies through it. Round robin sends the TCP connection and the first UDP
    /// flow to real server 1 and the second UDP flow to real server 2 (IPVS rr starts at the
    /// first server), so the replies below come from those servers.
    static var nat: Sample {
        let c = Lab.fromClient, s1 = Lab.fromServer(Lab.server1MAC), s2 = Lab.fromServer(Lab.server2MAC)
        let (cip, vip, rip1, rip2) = (Lab.client, Lab.vip, Lab.server1, Lab.server2)
        // What real server 2 received for the second UDP flow (the director's rewrite, TTL
        // already decremented), quoted whole in its port-unreachable error.
        let forwardedQuery = Frame.raw.ipv4(source: cip, destination: rip2, ttl: 63, identification: 0x1007)
            .udp(sourcePort: 5354, destinationPort: 53).payload(Lab.dnsQuery)
        let frames: [[UInt8]] = [
            Lab.arpForVIP,
            // TCP: handshake, one request and response, orderly close.
            c.ipv4(source: cip, destination: vip, identification: 0x1001)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn, sequence: 1000).bytes,
            s1.ipv4(source: rip1, destination: cip, identification: 0x2001)
                .tcp(sourcePort: 8080, destinationPort: 40000, flags: [.syn, .ack], sequence: 5000, acknowledgment: 1001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1002)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1001, acknowledgment: 5001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1003)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.psh, .ack], sequence: 1001, acknowledgment: 5001)
                .payload(Lab.request).bytes,
            s1.ipv4(source: rip1, destination: cip, identification: 0x2002)
                .tcp(sourcePort: 8080, destinationPort: 40000, flags: [.psh, .ack], sequence: 5001,
                     acknowledgment: 1001 + UInt32(Lab.request.utf8.count))
                .payload(Lab.response).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1004)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.fin, .ack], sequence: 1001 + UInt32(Lab.request.utf8.count),
                     acknowledgment: 5001 + UInt32(Lab.response.utf8.count)).bytes,
            s1.ipv4(source: rip1, destination: cip, identification: 0x2003)
                .tcp(sourcePort: 8080, destinationPort: 40000, flags: .ack, sequence: 5001 + UInt32(Lab.response.utf8.count),
                     acknowledgment: 1002 + UInt32(Lab.request.utf8.count)).bytes,
            s1.ipv4(source: rip1, destination: cip, identification: 0x2004)
                .tcp(sourcePort: 8080, destinationPort: 40000, flags: [.fin, .ack], sequence: 5001 + UInt32(Lab.response.utf8.count),
                     acknowledgment: 1002 + UInt32(Lab.request.utf8.count)).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1005)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1002 + UInt32(Lab.request.utf8.count),
                     acknowledgment: 5002 + UInt32(Lab.response.utf8.count)).bytes,
            // UDP: a query and its answer.
            c.ipv4(source: cip, destination: vip, identification: 0x1006)
                .udp(sourcePort: 5353, destinationPort: 53).payload(Lab.dnsQuery).bytes,
            s1.ipv4(source: rip1, destination: cip, identification: 0x2005)
                .udp(sourcePort: 53, destinationPort: 5353).payload(Lab.dnsAnswer).bytes,
            // A second UDP flow, to real server 2, whose DNS server is down: port unreachable.
            c.ipv4(source: cip, destination: vip, identification: 0x1007)
                .udp(sourcePort: 5354, destinationPort: 53).payload(Lab.dnsQuery).bytes,
            s2.ipv4(source: rip2, destination: cip, identification: 0x3001, dontFragment: false, tos: 0xC0)
                .icmpv4(type: .destinationUnreachable, code: .portUnreachable)
                .quoting(forwardedQuery).bytes,
            // IPv6: the same rewrite, with 128-bit addresses in the pseudo-header.
            c.ipv6(source: Lab.client6, destination: Lab.vip6)
                .tcp(sourcePort: 40002, destinationPort: 80, flags: .syn, sequence: 7000).bytes,
            s1.ipv6(source: Lab.server6, destination: Lab.client6)
                .tcp(sourcePort: 8080, destinationPort: 40002, flags: [.syn, .ack], sequence: 9000, acknowledgment: 7001).bytes,
            c.ipv6(source: Lab.client6, destination: Lab.vip6)
                .tcp(sourcePort: 40002, destinationPort: 80, flags: .ack, sequence: 7001, acknowledgment: 9001).bytes,
        ]
        let rules = """
            # LVS-NAT (masquerading, ipvsadm -m): the director rewrites VIP:vport to RIP:rport on
            # the way in and RIP:rport back to VIP:vport on the way out. Real servers must use
            # the director (198.18.1.1 / 2001:db8:1::1) as their default gateway.
            \(Lab.interfaceLines())
            -A -t \(vip):80 -s rr
            -a -t \(vip):80 -r \(rip1):8080 -m -w 1
            -a -t \(vip):80 -r \(rip2):8080 -m -w 1
            -A -u \(vip):53 -s rr
            -a -u \(vip):53 -r \(rip1):53 -m -w 1
            -a -u \(vip):53 -r \(rip2):53 -m -w 1
            -A -t [\(Lab.vip6)]:80 -s rr
            -a -t [\(Lab.vip6)]:80 -r [\(Lab.server6)]:8080 -m -w 1

            """
        return Sample(mode: "nat", rules: rules, frames: frames)
    }
}
