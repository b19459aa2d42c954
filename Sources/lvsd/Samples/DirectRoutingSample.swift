import PacketBuilder
import Wire

extension Sample {
    /// LVS-DR (`-g`): the director sees only the client side; real servers own the VIP on a
    /// non-ARPing loopback and answer clients directly, so no reply passes the director.
    static var directRouting: Sample {
        let c = Lab.fromClient
        let (cip, vip) = (Lab.client, Lab.vip)
        let requestEnd = 1001 + UInt32(Lab.request.utf8.count), responseEnd = 5001 + UInt32(Lab.response.utf8.count)
        let frames: [[UInt8]] = [Lab.arpForVIP] + Sample.clientSide(c, cip: cip, vip: vip, requestEnd: requestEnd, responseEnd: responseEnd) + [
            // IPv6: DR rewrites only MACs, so it carries IPv6 as it is.
            c.ipv6(source: Lab.client6, destination: Lab.vip6)
                .tcp(sourcePort: 40002, destinationPort: 80, flags: .syn, sequence: 7000).bytes,
            c.ipv6(source: Lab.client6, destination: Lab.vip6)
                .tcp(sourcePort: 40002, destinationPort: 80, flags: .ack, sequence: 7001, acknowledgment: 9001).bytes,
            c.ipv6(source: Lab.client6, destination: Lab.vip6)
                .tcp(sourcePort: 40002, destinationPort: 80, flags: [.psh, .ack], sequence: 7001, acknowledgment: 9001)
                .payload(Lab.request).bytes,
        ]
        let rules = """
            # LVS-DR (direct routing, ipvsadm -g): the director only rewrites the destination MAC.
            # Real servers hold the VIP on lo with arp_ignore=1/arp_announce=2 and reply directly.
            \(Lab.interfaceLines())
            -A -t \(vip):80 -s rr
            -a -t \(vip):80 -r \(Lab.server1) -g -w 1
            -a -t \(vip):80 -r \(Lab.server2) -g -w 1
            -A -u \(vip):53 -s rr
            -a -u \(vip):53 -r \(Lab.server1) -g -w 1
            -A -t [\(Lab.vip6)]:80 -s rr
            -a -t [\(Lab.vip6)]:80 -r [\(Lab.server6)] -g -w 1

            """
        return Sample(mode: "dr", rules: rules, frames: frames)
    }

    /// What a DR or TUN director receives from the client: a connection's SYN, ACK, request,
    /// FIN and final ACK (the server's SYN-ACK, response and FIN go straight to the client),
    /// a second connection the client resets, and a UDP query.
    static func clientSide(_ c: Frame, cip: String, vip: String, requestEnd: UInt32, responseEnd: UInt32,
                           extra: [[UInt8]] = []) -> [[UInt8]] {
        [
            c.ipv4(source: cip, destination: vip, identification: 0x1001)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn, sequence: 1000).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1002)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1001, acknowledgment: 5001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1003)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.psh, .ack], sequence: 1001, acknowledgment: 5001)
                .payload(Lab.request).bytes,
        ] + extra + [
            c.ipv4(source: cip, destination: vip, identification: 0x1004)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: [.fin, .ack], sequence: requestEnd, acknowledgment: responseEnd).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1005)
                .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: requestEnd + 1, acknowledgment: responseEnd + 1).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1006)
                .tcp(sourcePort: 40001, destinationPort: 80, flags: .syn, sequence: 3000).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1007)
                .tcp(sourcePort: 40001, destinationPort: 80, flags: .rst, sequence: 3001).bytes,
            c.ipv4(source: cip, destination: vip, identification: 0x1008)
                .udp(sourcePort: 5353, destinationPort: 53).payload(Lab.dnsQuery).bytes,
        ]
    }
}
