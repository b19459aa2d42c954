import PacketBuilder
import Wire

/// One shipped sample: a rules file and the frames a director receives in a small session.
struct Sample {
    /// `nat`, `dr`, `fullnat`, `tun`: the file names `Samples/<mode>.rules` and `.pcap`.
    let mode: String
    let rules: String
    let frames: [[UInt8]]
}

/// The lab network every sample shares, addressed from the benchmarking ranges
/// 198.18.0.0/15 (RFC 2544) and 2001:db8::/32 (RFC 3849) so nothing routes to a real host.
///
/// ```
///  client 198.18.0.1 ─┐                           ┌─ real server 1  198.18.1.11  (2001:db8:1::11)
///  2001:db8:c::1      ├─ eth0 [director] eth1 ────┤
///     VIP 198.18.0.10 ┘  198.18.0.2   198.18.1.1  └─ real server 2  198.18.1.12
///     VIP6 2001:db8::10                   LIP 198.18.1.100 (FullNAT)
/// ```
///
/// The client side is one router MAC (every client frame comes from it); the real servers
/// are neighbours on eth1, declared in the rules so the offline director knows their MACs.
enum Lab {
    static let clientMAC = MACAddress("02:00:00:00:00:01")!
    static let eth0MAC = MACAddress("02:00:00:00:00:0a")!
    static let eth1MAC = MACAddress("02:00:00:00:01:0a")!
    static let server1MAC = MACAddress("02:00:00:00:01:0b")!
    static let server2MAC = MACAddress("02:00:00:00:01:0c")!

    static let client = "198.18.0.1"
    static let vip = "198.18.0.10"
    static let server1 = "198.18.1.11"
    static let server2 = "198.18.1.12"
    static let localAddress = "198.18.1.100"
    static let client6 = "2001:db8:c::1"
    static let vip6 = "2001:db8::10"
    static let server6 = "2001:db8:1::11"

    /// The capture's first timestamp (2024-01-01T00:00:00Z); frames follow 1 ms apart.
    static let startSeconds = 1_704_067_200

    /// `interface` and `neighbour` lines shared by every rules file.
    static func interfaceLines(eth1MTU: Int? = nil) -> String {
        """
        # The director's two interfaces: clients on eth0, real servers on eth1.
        interface eth0 mac \(eth0MAC) address 198.18.0.2 address 2001:db8::2
        interface eth1 mac \(eth1MAC)\(eth1MTU.map { " mtu \($0)" } ?? "") address 198.18.1.1 address 2001:db8:1::1
        # Real servers' MACs (what ARP/ND would learn on a live director).
        neighbour \(server1) mac \(server1MAC) interface eth1
        neighbour \(server2) mac \(server2MAC) interface eth1
        neighbour \(server6) mac \(server1MAC) interface eth1

        """
    }

    /// A frame from the client side, addressed to the director (the VIP's owner).
    static var fromClient: Frame { Frame.ethernet(destination: eth0MAC, source: clientMAC) }

    /// A frame from a real server to the director on eth1 (NAT and FullNAT replies: the
    /// director is the real servers' gateway, or owns the LIP).
    static func fromServer(_ mac: MACAddress) -> Frame { Frame.ethernet(destination: eth1MAC, source: mac) }

    /// The client's router asking who owns the VIP: the director answers for it.
    static var arpForVIP: [UInt8] {
        Frame.ethernet(destination: .broadcast, source: clientMAC)
            .arp(operation: ARPPacket.Operation.request, senderMAC: clientMAC, senderIP: client,
                 targetMAC: .zero, targetIP: vip)
            .bytes
    }

    static let request = "GET / HTTP/1.0\r\nHost: 198.18.0.10\r\n\r\n"
    static let response = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"
    /// A DNS query for example.com A (RFC 1035 §4.1), id 0x1234, recursion desired.
    static let dnsQuery: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                    7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1]
    /// Its answer: 192.0.2.1 (RFC 5737), TTL 300, name by compression pointer.
    static var dnsAnswer: [UInt8] {
        var answer = dnsQuery
        answer[2] = 0x81; answer[3] = 0x80  // response, recursion desired and available
        answer[7] = 1  // one answer
        answer += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 192, 0, 2, 1]
        return answer
    }
}
