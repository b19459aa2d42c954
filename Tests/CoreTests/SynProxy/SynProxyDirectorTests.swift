import Core
import PacketBuilder
import Testing
import Wire

/// The SYN proxy through `Director.process`, golden frame by golden frame: the client's SYN
/// answered with a cookie and no entry, a bad cookie dropped and counted, the valid ACK turned
/// into the SYN to the real server, the server's SYN-ACK answered with the client's ACK, and
/// every later segment translated both ways (Docs/adr/0007-syn-proxy.md).
@Suite struct SynProxyDirectorTests {
    static let f = Lab.v4
    static let clientISN: UInt32 = 1000
    static let serverISN: UInt32 = 0x9000_0000

    static func config(_ method: ForwardingMethod) -> DirectorConfig {
        var config = Lab.config(method)
        for i in config.services.indices where config.services[i].key.proto == .tcp { config.services[i].synProxy = true }
        return config
    }

    static func be(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
    static func ts(_ value: UInt32, _ echo: UInt32) -> [UInt8] { [1, 1, 8, 10] + be(value) + be(echo) }

    /// Client → VIP.
    static func client(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, window: UInt16 = 502, options: [UInt8] = [],
                       payload: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv4(source: f.client, destination: f.vip)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: flags, sequence: seq,
                 acknowledgment: ack, window: window, options: options).payload(payload).bytes
    }
    /// Real server 1 → `to` (the client for NAT, the local address for FullNAT).
    static func server(_ flags: TCPFlags, seq: UInt32, ack: UInt32, to: String = f.client, toPort: UInt16 = Lab.clientPort,
                       window: UInt16 = 100, options: [UInt8] = [], payload: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC)
            .ipv4(source: f.rs1, destination: to)
            .tcp(sourcePort: Lab.realPort, destinationPort: toPort, flags: flags, sequence: seq, acknowledgment: ack,
                 window: window, options: options).payload(payload).bytes
    }

    static let synOptions: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + be(0x000A_1B2C) + be(0) + [1, 3, 3, 7]

    func cookie(_ h: Harness) -> UInt32 {
        h.director.synCookies.cookie(client: IPAddress(Self.f.client)!, clientPort: Lab.clientPort,
                                     virtual: IPAddress(Self.f.vip)!, virtualPort: Lab.virtualPort,
                                     clientSequence: Self.clientISN, maximumSegmentSize: 1460, ipv6: false, now: h.now)
    }
    func directorTimestamp(_ h: Harness) -> UInt32 {
        SynCookies.timestamp(nowMilliseconds: UInt32(truncatingIfNeeded: h.now / 1_000_000), windowScale: 7,
                             sackPermitted: true, explicitCongestionNotification: false)
    }

    @Test func synIsAnsweredWithACookieAndLeavesNoEntry() {
        let h = Harness(Self.config(.nat))
        let (verdict, out) = h.run(Self.client(.syn, seq: Self.clientISN, window: 64240, options: Self.synOptions))
        #expect(verdict == .answer(interface: 0))
        let expected = Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: Self.f.vip, destination: Self.f.client)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: [.syn, .ack], sequence: cookie(h),
                 acknowledgment: Self.clientISN + 1, window: 65535,
                 options: [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + Self.be(directorTimestamp(h)) + Self.be(0x000A_1B2C) + [1, 3, 3, 7])
            .bytes
        #expect(out == expected)
        #expect(h.director.connections().isEmpty)
        #expect(h.director.synProxyCookiesSent == 1)
    }

    @Test func ackWithABadCookieIsDroppedAndCounted() {
        let h = Harness(Self.config(.nat))
        _ = h.run(Self.client(.syn, seq: Self.clientISN, options: Self.synOptions))
        let (verdict, _) = h.run(Self.client(.ack, seq: Self.clientISN + 1, ack: cookie(h) &+ 2))
        #expect(verdict == .drop(.synProxyBadCookie))
        #expect(h.director.count(.synProxyBadCookie) == 1)
        #expect(h.director.connections().isEmpty)
        // A stray segment without ACK is no connection either.
        #expect(h.run(Self.client(.psh, seq: 5)).0 == .drop(.noConnection))
    }

    @Test func wholeHandshakeThenDataTranslatedBothWays() {
        let h = Harness(Self.config(.nat))
        _ = h.run(Self.client(.syn, seq: Self.clientISN, options: Self.synOptions))
        let cookie = cookie(h), dts = directorTimestamp(h)

        // The client's ACK → the SYN to real server 1: the client's ISN and options, NAT-rewritten.
        let (v1, syn) = h.run(Self.client(.ack, seq: Self.clientISN + 1, ack: cookie &+ 1, options: Self.ts(0x000A_1B30, dts)))
        #expect(v1 == .forward(interface: 1))
        #expect(syn == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: Self.f.client, destination: Self.f.rs1, ttl: 63)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.realPort, flags: .syn, sequence: Self.clientISN,
                 window: 64256, options: [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + Self.be(0x000A_1B30) + Self.be(0) + [1, 3, 3, 7])
            .bytes)
        #expect(h.director.connections().count == 1)

        // The client's request before the server answered (its SYN may have been lost on the
        // way): the same SYN to the real server again; the request the client sends again later.
        let (vAgain, synAgain) = h.run(Self.client([.ack, .psh], seq: Self.clientISN + 1, ack: cookie &+ 1,
                                                   options: Self.ts(0x000A_1B30, dts), payload: "GET"))
        #expect(vAgain == .forward(interface: 1))
        #expect(synAgain == syn)
        #expect(h.director.synProxyServerSynsResent == 1)
        #expect(h.director.connections().count == 1)
        // A client segment past its first byte is nothing the server could answer yet: dropped.
        #expect(h.run(Self.client([.ack, .psh], seq: Self.clientISN + 4, ack: cookie &+ 1, payload: "x")).0
                == .drop(.synProxyAwaitingServer))

        // The server's SYN-ACK → the client's ACK back to the server; nothing to the client.
        let (v2, ack) = h.run(Self.server([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1, window: 65160,
                                          options: [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + Self.be(5000) + Self.be(0x000A_1B30)
                                              + [1, 3, 3, 9]), interface: 1)
        #expect(v2 == .answer(interface: 1))
        #expect(ack == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: Self.f.client, destination: Self.f.rs1)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.realPort, flags: .ack, sequence: Self.clientISN + 1,
                 acknowledgment: Self.serverISN + 1, window: 502, options: Self.ts(0x000A_1B30, 5000)).bytes)
        #expect(h.director.connections().first?.state == .established)

        // Client data: the acknowledgment, SACK edges and TSecr go back to the server's numbering.
        let (v3, request) = h.run(Self.client([.ack, .psh], seq: Self.clientISN + 1, ack: cookie &+ 1,
                                              options: Self.ts(0x000A_1B40, dts) + [1, 1, 5, 10]
                                                  + Self.be(cookie &+ 100) + Self.be(cookie &+ 200), payload: "GET"))
        #expect(v3 == .forward(interface: 1))
        #expect(request == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: Self.f.client, destination: Self.f.rs1, ttl: 63)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.realPort, flags: [.ack, .psh], sequence: Self.clientISN + 1,
                 acknowledgment: Self.serverISN + 1, window: 502,
                 options: Self.ts(0x000A_1B40, 5000) + [1, 1, 5, 10] + Self.be(Self.serverISN + 100) + Self.be(Self.serverISN + 200))
            .payload("GET").bytes)

        // Server data: its sequence and TSval in the client's numbering, its window rescaled (9 → 7).
        let (v4, reply) = h.run(Self.server([.ack, .psh], seq: Self.serverISN + 1, ack: Self.clientISN + 4,
                                            options: Self.ts(5010, 0x000A_1B40), payload: "hello"), interface: 1)
        #expect(v4 == .forward(interface: 0))
        #expect(reply == Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: Self.f.vip, destination: Self.f.client, ttl: 63)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: [.ack, .psh], sequence: cookie &+ 1,
                 acknowledgment: Self.clientISN + 4, window: 400, options: Self.ts(dts &+ 10, 0x000A_1B40))
            .payload("hello").bytes)

        // The server's FIN keeps its translated sequence; the client's RST its ack field.
        let (v5, fin) = h.run(Self.server([.fin, .ack], seq: Self.serverISN + 6, ack: Self.clientISN + 4), interface: 1)
        #expect(v5 == .forward(interface: 0))
        #expect(fin == Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: Self.f.vip, destination: Self.f.client, ttl: 63)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: [.fin, .ack], sequence: cookie &+ 6,
                 acknowledgment: Self.clientISN + 4, window: 400).bytes)
        let (v6, rst) = h.run(Self.client([.rst], seq: Self.clientISN + 4))
        #expect(v6 == .forward(interface: 1))
        #expect(rst == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: Self.f.client, destination: Self.f.rs1, ttl: 63)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.realPort, flags: [.rst], sequence: Self.clientISN + 4,
                 window: 502).bytes)
    }

    @Test func serverResetReachesTheClientInItsNumberingAndEndsTheEntry() {
        let h = Harness(Self.config(.nat))
        _ = h.run(Self.client(.syn, seq: Self.clientISN))
        let cookie = cookie(h)
        #expect(h.run(Self.client(.ack, seq: Self.clientISN + 1, ack: cookie &+ 1)).0 == .forward(interface: 1))
        let (verdict, out) = h.run(Self.server([.rst, .ack], seq: 0, ack: Self.clientISN + 1), interface: 1)
        #expect(verdict == .forward(interface: 0))
        #expect(out == Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: Self.f.vip, destination: Self.f.client)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: .rst, sequence: cookie &+ 1,
                 window: 0).bytes)
        #expect(h.director.connections().isEmpty)
        #expect(h.director.synProxyServerResets == 1)
    }

    @Test func silentServerLeavesAnEntryThatExpiresWithinSeconds() {
        let h = Harness(Self.config(.nat))
        _ = h.run(Self.client(.syn, seq: Self.clientISN))
        _ = h.run(Self.client(.ack, seq: Self.clientISN + 1, ack: cookie(h) &+ 1))
        #expect(h.director.connections().count == 1)
        h.advance(seconds: 4)
        #expect(h.director.connections().isEmpty)
    }

    @Test func fullNATOpensTheServersHalfFromTheLocalAddress() throws {
        let h = Harness(Self.config(.fullNAT))
        _ = h.run(Self.client(.syn, seq: Self.clientISN))
        let cookie = cookie(h)
        let (v1, _) = h.run(Self.client(.ack, seq: Self.clientISN + 1, ack: cookie &+ 1))
        #expect(v1 == .forward(interface: 1))
        let c = try #require(h.director.connections().first)
        #expect(c.localAddress == IPAddress(Self.f.lip)!)
        let (v2, ack) = h.run(Self.server([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1, to: Self.f.lip,
                                          toPort: c.localPort), interface: 1)
        #expect(v2 == .answer(interface: 1))
        #expect(ack == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: Self.f.lip, destination: Self.f.rs1)
            .tcp(sourcePort: c.localPort, destinationPort: Lab.realPort, flags: .ack, sequence: Self.clientISN + 1,
                 acknowledgment: Self.serverISN + 1, window: 502).bytes)
        let (v3, reply) = h.run(Self.server([.ack, .psh], seq: Self.serverISN + 1, ack: Self.clientISN + 1, to: Self.f.lip,
                                            toPort: c.localPort, payload: "hi"), interface: 1)
        #expect(v3 == .forward(interface: 0))
        #expect(reply == Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: Self.f.vip, destination: Self.f.client, ttl: 63)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: [.ack, .psh], sequence: cookie &+ 1,
                 acknowledgment: Self.clientISN + 1, window: 100).payload("hi").bytes)
    }

    @Test func directRoutingServiceIgnoresTheFlag() {
        let h = Harness(Self.config(.directRouting))
        let (verdict, _) = h.run(Self.client(.syn, seq: Self.clientISN))
        #expect(verdict == .forward(interface: 1))
        #expect(h.director.synProxyCookiesSent == 0)
    }
}

extension SynProxyDirectorTests {
    @Test func ipv6HandshakeThroughTheDirector() throws {
        let f = Lab.v6
        let h = Harness(Self.config(.nat))
        let client = try #require(IPAddress(f.client)), vip = try #require(IPAddress(f.vip))
        let syn = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv6(source: f.client, destination: f.vip)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: .syn, sequence: Self.clientISN,
                 window: 64800, options: [2, 4, 0x05, 0xA0]).bytes
        let (v1, answer) = h.run(syn)
        let cookie = h.director.synCookies.cookie(client: client, clientPort: Lab.clientPort, virtual: vip,
                                                  virtualPort: Lab.virtualPort, clientSequence: Self.clientISN,
                                                  maximumSegmentSize: 1440, ipv6: true, now: h.now)
        #expect(v1 == .answer(interface: 0))
        #expect(answer == Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv6(source: f.vip, destination: f.client)
            .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: [.syn, .ack], sequence: cookie,
                 acknowledgment: Self.clientISN + 1, window: 65535, options: [2, 4, 0x05, 0xA0]).bytes)
        let ack = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv6(source: f.client, destination: f.vip)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: .ack, sequence: Self.clientISN + 1,
                 acknowledgment: cookie &+ 1, window: 1000).bytes
        let (v2, serverSyn) = h.run(ack)
        #expect(v2 == .forward(interface: 1))
        // No timestamps: the MSS alone reaches the server, the window as the client sent it.
        #expect(serverSyn == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv6(source: f.client, destination: f.rs1, hopLimit: 63)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.realPort, flags: .syn, sequence: Self.clientISN,
                 window: 1000, options: [2, 4, 0x05, 0xA0]).bytes)
    }
}
