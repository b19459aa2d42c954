import Core
import PacketBuilder
import Testing
import Wire

/// Golden frames (Katran-style): for each forwarding method × TCP/UDP × IPv4/IPv6 (TUN:
/// IPIP and ip6ip6), the first packet, a reply (NAT/FullNAT), a FIN/RST sequence and a related ICMP
/// error go in as bytes and must come out as exactly the expected bytes with the expected
/// verdict. Expected frames are rendered from scratch by PacketBuilder, so the director's
/// incremental checksum updates are checked against full recomputation.
@Suite struct GoldenFrameTests {
    struct Case: CustomStringConvertible, Sendable {
        let method: ForwardingMethod
        let ipv6: Bool
        let proto: TransportProtocol
        var family: Lab.Family { ipv6 ? Lab.v6 : Lab.v4 }
        var description: String { "\(method) \(proto) \(ipv6 ? "IPv6" : "IPv4")" }
    }

    static let cases: [Case] = ForwardingMethod.allCases.flatMap { method in
        [false, true].flatMap { v6 in
            TransportProtocol.allCases.map { Case(method: method, ipv6: v6, proto: $0) }
        }
    }

    static let firstLocalPort: UInt16 = 1024

    /// The frame the director should emit toward real server 1 for a client packet.
    static func towardServer(_ c: Case, flags: TCPFlags, payload: String = "", tunnelID: UInt16 = 1,
                             ttl: UInt8 = 63) -> [UInt8] {
        let f = c.family
        let eth = Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
        switch c.method {
        case .directRouting:
            return Lab.l4(Lab.ip(eth, f, from: f.client, to: f.vip, ttl: ttl), c.proto,
                          from: Lab.clientPort, to: Lab.virtualPort, flags: flags).payload(payload).bytes
        case .nat:
            return Lab.l4(Lab.ip(eth, f, from: f.client, to: f.rs1, ttl: ttl), c.proto,
                          from: Lab.clientPort, to: Lab.realPort, flags: flags).payload(payload).bytes
        case .fullNAT:
            return Lab.l4(Lab.ip(eth, f, from: f.lip, to: f.rs1, ttl: ttl), c.proto,
                          from: firstLocalPort, to: Lab.realPort, flags: flags).payload(payload).bytes
        case .tunnel:
            // The outer header copies the inner TTL / hop limit (ip_vs_tunnel_xmit).
            let outer = Lab.ip(eth, f, from: f.directorServer, to: f.rs1, ttl: ttl, id: tunnelID)
            return Lab.l4(Lab.ip(outer, f, from: f.client, to: f.vip, ttl: ttl), c.proto,
                          from: Lab.clientPort, to: Lab.virtualPort, flags: flags).payload(payload).bytes
        }
    }

    /// What real server 1 sends back (NAT: to CIP; FullNAT: to LIP).
    static func fromServer(_ c: Case, flags: TCPFlags, payload: String = "") -> [UInt8] {
        let f = c.family
        let eth = Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC)
        let (to, port) = c.method == .fullNAT ? (f.lip, firstLocalPort) : (f.client, Lab.clientPort)
        return Lab.l4(Lab.ip(eth, f, from: f.rs1, to: to), c.proto, from: Lab.realPort, to: port, flags: flags,
                      seq: 5000, ack: 1001).payload(payload).bytes
    }

    /// The reply as the client must receive it: from VIP:vport.
    static func towardClient(_ c: Case, flags: TCPFlags, payload: String = "") -> [UInt8] {
        let f = c.family
        let eth = Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
        return Lab.l4(Lab.ip(eth, f, from: f.vip, to: f.client, ttl: 63), c.proto, from: Lab.virtualPort,
                      to: Lab.clientPort, flags: flags, seq: 5000, ack: 1001).payload(payload).bytes
    }

    func expectBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String) {
        #expect(actual == expected, "\(what)\n\(hexDiff(expected: expected, actual: actual))")
    }

    @Test(arguments: cases)
    func firstPacketReplyAndClose(_ c: Case) {
        let h = Harness(Lab.config(c.method))
        let syn: TCPFlags = c.proto == .tcp ? [.syn] : []

        // 1. First packet: scheduled to real server 1 and rewritten for the method.
        var (verdict, out) = h.run(Lab.fromClient(c.family, c.proto, flags: syn))
        #expect(verdict == .forward(interface: 1))
        expectBytes(out, Self.towardServer(c, flags: syn), "first packet")
        #expect(h.director.lastEvent.newConnection)
        let conn = h.director.table[h.director.lastEvent.connection]
        #expect(conn.state == (c.proto == .tcp ? .synRecv : .udp))
        #expect(conn.method == c.method)

        // 2. Reply through the director (NAT and FullNAT only).
        if c.method.repliesTraverseDirector {
            let synAck: TCPFlags = c.proto == .tcp ? [.syn, .ack] : []
            (verdict, out) = h.run(Self.fromServer(c, flags: synAck, payload: "hello"), interface: 1)
            #expect(verdict == .forward(interface: 0))
            expectBytes(out, Self.towardClient(c, flags: synAck, payload: "hello"), "reply")
            #expect(h.director.lastEvent.direction == .fromRealServer)
        }

        guard c.proto == .tcp else {
            // UDP: the next datagram of the flow follows the connection, not the scheduler.
            (verdict, out) = h.run(Lab.fromClient(c.family, .udp, payload: "again"))
            #expect(verdict == .forward(interface: 1))
            expectBytes(out, Self.towardServer(c, flags: [], payload: "again", tunnelID: 2), "second datagram")
            #expect(!h.director.lastEvent.newConnection)
            return
        }

        // 3. ACK establishes; FIN and RST close, with the IPVS state table's states.
        (verdict, out) = h.run(Lab.fromClient(c.family, .tcp, flags: [.ack]))
        #expect(verdict == .forward(interface: 1))
        expectBytes(out, Self.towardServer(c, flags: [.ack], tunnelID: 2), "ack")
        #expect(h.director.table[h.director.lastEvent.connection].state == .established)
        #expect(h.director.realServers(ofService: ServiceKey(.tcp, IPAddress(c.family.vip)!, 80))[0].activeConnections == 1)

        (verdict, out) = h.run(Lab.fromClient(c.family, .tcp, flags: [.fin, .ack]))
        #expect(verdict == .forward(interface: 1))
        expectBytes(out, Self.towardServer(c, flags: [.fin, .ack], tunnelID: 3), "fin")
        // INPUT fin from ESTABLISHED: CLOSE_WAIT; INPUT_ONLY (DR/TUN): FIN_WAIT.
        let afterFin: ConnectionState = c.method.repliesTraverseDirector ? .closeWait : .finWait
        #expect(h.director.table[h.director.lastEvent.connection].state == afterFin)
        let rs = h.director.realServers(ofService: ServiceKey(.tcp, IPAddress(c.family.vip)!, 80))[0]
        #expect(rs.activeConnections == 0 && rs.inactiveConnections == 1)

        (verdict, out) = h.run(Lab.fromClient(c.family, .tcp, flags: [.rst]))
        #expect(verdict == .forward(interface: 1))
        expectBytes(out, Self.towardServer(c, flags: [.rst], tunnelID: 4), "rst")
        #expect(h.director.table[h.director.lastEvent.connection].state == .close)
    }

    @Test(arguments: cases)
    func relatedICMPError(_ c: Case) {
        let h = Harness(Lab.config(c.method))
        let syn: TCPFlags = c.proto == .tcp ? [.syn] : []
        let (first, forwarded) = h.run(Lab.fromClient(c.family, c.proto, flags: syn))
        #expect(first == .forward(interface: 1))
        let f = c.family
        let v6 = c.ipv6

        if c.method.repliesTraverseDirector {
            // A router on the server side reports the forwarded packet unreachable. Its quote
            // is the packet as the director sent it; the client must see the error from the
            // VIP, quoting the packet it sent (with the TTL the director gave it).
            let quote = Frame.raw
            let sentIP = Array(forwarded[14...])
            let toward = c.method == .fullNAT ? f.lip : f.client
            let error = (v6 ? Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC)
                            .ipv6(source: f.rs1, destination: toward).icmpv6(type: 1, code: 4)
                         : Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC)
                            .ipv4(source: f.rs1, destination: toward).icmpv4(type: 3, code: 3))
                .payload(sentIP)
            let (verdict, out) = h.run(error, interface: 1)
            #expect(verdict == .forward(interface: 0))
            #expect(h.director.lastEvent.direction == .icmpFromRealServerSide)
            let original = Lab.l4(Lab.ip(quote, f, from: f.client, to: f.vip, ttl: 63), c.proto,
                                  from: Lab.clientPort, to: Lab.virtualPort, flags: syn)
            let expected = (v6 ? Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
                                .ipv6(source: f.vip, destination: f.client, hopLimit: 63).icmpv6(type: 1, code: 4)
                             : Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
                                .ipv4(source: f.vip, destination: f.client, ttl: 63).icmpv4(type: 3, code: 3))
                .quoting(original)
            expectBytes(out, expected.bytes, "ICMP error toward the client")
        }

        // The client (or a router before it) reports a reply unreachable: the quote is
        // VIP:vport → CIP:cport; the error must reach real server 1.
        let reply = Lab.l4(Lab.ip(Frame.raw, f, from: f.vip, to: f.client, ttl: 63), c.proto,
                           from: Lab.virtualPort, to: Lab.clientPort, flags: [.ack])
        let error = (v6 ? Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
                        .ipv6(source: f.client, destination: f.vip).icmpv6(type: 1, code: 4)
                     : Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
                        .ipv4(source: f.client, destination: f.vip).icmpv4(type: 3, code: 3))
            .quoting(reply)
        let (verdict, out) = h.run(error)
        #expect(verdict == .forward(interface: 1))
        #expect(h.director.lastEvent.direction == .icmpFromClientSide)
        let eth = Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
        let expected: Frame
        switch c.method {
        case .directRouting:
            expected = (v6 ? eth.ipv6(source: f.client, destination: f.vip, hopLimit: 63).icmpv6(type: 1, code: 4)
                           : eth.ipv4(source: f.client, destination: f.vip, ttl: 63).icmpv4(type: 3, code: 3)).quoting(reply)
        case .tunnel:
            let outer = Lab.ip(eth, f, from: f.directorServer, to: f.rs1, ttl: 63, id: 2)
            expected = (v6 ? outer.ipv6(source: f.client, destination: f.vip, hopLimit: 63).icmpv6(type: 1, code: 4)
                           : outer.ipv4(source: f.client, destination: f.vip, ttl: 63).icmpv4(type: 3, code: 3)).quoting(reply)
        case .nat, .fullNAT:
            let full = c.method == .fullNAT
            let translated = Lab.l4(Lab.ip(Frame.raw, f, from: f.rs1, to: full ? f.lip : f.client, ttl: 63), c.proto,
                                    from: Lab.realPort, to: full ? Self.firstLocalPort : Lab.clientPort, flags: [.ack])
            let src = full ? f.lip : f.client
            expected = (v6 ? eth.ipv6(source: src, destination: f.rs1, hopLimit: 63).icmpv6(type: 1, code: 4)
                           : eth.ipv4(source: src, destination: f.rs1, ttl: 63).icmpv4(type: 3, code: 3)).quoting(translated)
        }
        expectBytes(out, expected.bytes, "ICMP error toward the real server")
    }
}
