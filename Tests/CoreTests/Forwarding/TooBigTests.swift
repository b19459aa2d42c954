import Core
import PacketBuilder
import Testing
import Wire

/// ICMP fragmentation-needed / packet-too-big for every forwarding method and family, both
/// ways through the director (ip_vs_xmit.c `ensure_mtu_is_adequate`, called by every xmit
/// function and by the NAT/FullNAT reply path): exactly the egress MTU passes, one byte more
/// with DF (or any IPv6 datagram) is answered to its sender with the MTU to fit. TUN's
/// reductions by encapsulation are in `TunnelTypesTests`.
@Suite struct TooBigTests {
    struct Case: CustomStringConvertible, Sendable {
        let method: ForwardingMethod
        let ipv6: Bool
        var family: Lab.Family { ipv6 ? Lab.v6 : Lab.v4 }
        var description: String { "\(method) \(ipv6 ? "IPv6" : "IPv4")" }
    }

    static let cases = ForwardingMethod.allCases.flatMap { m in [false, true].map { Case(method: m, ipv6: $0) } }
    static let mtu = 1400

    /// The MTU an answer reports (fragmentation-needed's next-hop MTU, packet-too-big's MTU);
    /// nil when the frame is not such an answer.
    static func reportedMTU(_ frame: [UInt8], ipv6: Bool) -> Int? {
        let l3 = Array(frame.dropFirst(14))
        if ipv6 {
            guard l3.count >= 48, l3[6] == 58, l3[40] == 2, l3[41] == 0 else { return nil }
            return Int(l3[44]) << 24 | Int(l3[45]) << 16 | Int(l3[46]) << 8 | Int(l3[47])
        }
        guard l3.count >= 28, l3[9] == 1, l3[20] == 3, l3[21] == 4 else { return nil }
        return Int(l3[26]) << 8 | Int(l3[27])
    }

    static func header(_ f: Lab.Family) -> Int { (f.isIPv6 ? 40 : 20) + 20 }

    @Test(arguments: cases)
    func towardTheRealServer(_ c: Case) {
        var config = Lab.config(c.method)
        config.interfaces[1].mtu = Self.mtu
        let h = Harness(config)
        let overhead = c.method == .tunnel ? (c.ipv6 ? 40 : 20) : 0
        let room = Self.mtu - overhead - Self.header(c.family)
        #expect(h.run(Lab.fromClient(c.family, .tcp, payload: String(repeating: "x", count: room))).0 == .forward(interface: 1))
        let (verdict, out) = h.run(Lab.fromClient(c.family, .tcp, flags: [.ack], payload: String(repeating: "x", count: room + 1)))
        #expect(verdict == .answer(interface: 0))
        #expect(Array(out.prefix(6)) == Lab.clientMAC.octets)
        #expect(Self.reportedMTU(out, ipv6: c.ipv6) == Self.mtu - overhead)
    }

    /// NAT and FullNAT replies leave toward the client: judged by the client side's MTU, the
    /// answer goes back to the real server.
    @Test(arguments: cases.filter { $0.method.repliesTraverseDirector })
    func towardTheClient(_ c: Case) {
        var config = Lab.config(c.method)
        config.interfaces[0].mtu = Self.mtu
        let h = Harness(config)
        let f = c.family
        #expect(h.run(Lab.fromClient(f, .tcp)).0 == .forward(interface: 1))
        let (to, port): (String, UInt16) = c.method == .fullNAT ? (f.lip, 1024) : (f.client, Lab.clientPort)
        func reply(_ bytes: Int) -> Frame {
            Lab.l4(Lab.ip(.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC), f, from: f.rs1, to: to), .tcp,
                   from: Lab.realPort, to: port, flags: [.syn, .ack], seq: 5000, ack: 1001)
                .payload(String(repeating: "y", count: bytes))
        }
        let room = Self.mtu - Self.header(f)
        #expect(h.run(reply(room), interface: 1).0 == .forward(interface: 0))
        let (verdict, out) = h.run(reply(room + 1), interface: 1)
        #expect(verdict == .answer(interface: 1))
        #expect(Array(out.prefix(6)) == Lab.rs1MAC.octets)
        #expect(Self.reportedMTU(out, ipv6: c.ipv6) == Self.mtu)
    }
}
