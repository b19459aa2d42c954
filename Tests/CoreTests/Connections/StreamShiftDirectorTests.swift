import Core
import PacketBuilder
import Testing
import Wire

/// Two features moving one connection's streams at once, through `Director.process`, frame
/// by frame (Docs/adr/0009): a PROXY protocol header and FTP rewrites on one control
/// connection, the SYN proxy under the FTP helper, the SYN proxy with a PROXY protocol header.
@Suite struct StreamShiftDirectorTests {
    typealias F = FTPDirectorTests
    static let clientISN = F.clientISN
    static let serverISN = F.serverISN

    static func config(proxyProtocol: ProxyProtocolHeader.Version? = nil, synProxy: Bool = false) -> DirectorConfig {
        var config = F.config(.fullNAT)
        config.services[0].proxyProtocol = proxyProtocol
        config.services[0].synProxy = synProxy
        return config
    }

    static func header(_ version: ProxyProtocolHeader.Version) -> [UInt8] {
        let p = ProxyProtocolHeader(version: version, source: IPAddress(F.client)!, sourcePort: F.clientPort,
                                    destination: IPAddress(F.vip)!, destinationPort: 21)
        var bytes = [UInt8](repeating: 0, count: p.encodedLength)
        bytes.withUnsafeMutableBytes { _ = p.write(into: $0.baseAddress!) }
        return bytes
    }

    static func be(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
    static func sack(_ blocks: [(UInt32, UInt32)]) -> [UInt8] {
        var bytes: [UInt8] = [1, 1, 5, UInt8(2 + 8 * blocks.count)]
        for (l, r) in blocks { bytes += be(l) + be(r) }
        return bytes
    }

    static func fromClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32, options: [UInt8] = [], _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC).ipv4(source: F.client, destination: F.vip)
            .tcp(sourcePort: F.clientPort, destinationPort: 21, flags: flags, sequence: seq, acknowledgment: ack, options: options)
            .payload(text).bytes
    }
    static func toServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32, from: (String, UInt16), options: [UInt8] = [],
                         _ payload: [UInt8]) -> [UInt8] {
        Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC).ipv4(source: from.0, destination: F.rs, ttl: 63)
            .tcp(sourcePort: from.1, destinationPort: 21, flags: flags, sequence: seq, acknowledgment: ack, options: options)
            .payload(payload).bytes
    }
    static func fromServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32, to: (String, UInt16), options: [UInt8] = [],
                           _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC).ipv4(source: F.rs, destination: to.0)
            .tcp(sourcePort: 21, destinationPort: to.1, flags: flags, sequence: seq, acknowledgment: ack, options: options)
            .payload(text).bytes
    }
    static func toClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32, options: [UInt8] = [], _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC).ipv4(source: F.vip, destination: F.client, ttl: 63)
            .tcp(sourcePort: 21, destinationPort: F.clientPort, flags: flags, sequence: seq, acknowledgment: ack, options: options)
            .payload(text).bytes
    }

    /// A PROXY v1 header at the client's first byte, then a PORT rewrite further on the same
    /// stream and a 227 rewrite on the server's: every number byte-exact both ways, SACK
    /// edges too, and retransmissions of the header segment and of the rewritten lines.
    @Test func proxyHeaderAndFTPRewritesShareOneStream() {
        let h = Harness(Self.config(proxyProtocol: .v1))
        let side = FTPDirectorTests().open(h, .fullNAT)
        let header = Self.header(.v1)
        let n = UInt32(header.count)
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1

        let greeting = "220 ready\r\n"
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s1, ack: c1, to: side, greeting), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s1, ack: c1, greeting))
        let s2 = s1 &+ UInt32(greeting.utf8.count)

        // USER: the header goes before it, at the first byte; a retransmission carries it again.
        let user = "USER anonymous\r\n"
        let userOut = Self.toServer([.ack, .psh], seq: c1, ack: s2, from: side, header + Array(user.utf8))
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s2, user)).1 == userOut)
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s2, user)).1 == userOut)
        #expect(h.director.proxyProtocolHeadersSent == 2)
        let c2 = c1 + UInt32(user.utf8.count)

        // The server acknowledges header and USER: the client hears of USER only.
        let pass = "331 password\r\n"
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s2, ack: c2 + n, to: side, pass), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s2, ack: c2, pass))
        let s3 = s2 &+ UInt32(pass.utf8.count)

        // PORT, rewritten to the local address: shifted by the header, and its growth recorded.
        let port = "PORT 198,18,0,100,156,65\r\n"
        let (_, portOut) = h.run(Self.fromClient([.ack, .psh], seq: c2, ack: s3, port))
        guard let data = h.director.connections().first(where: { $0.virtualPort == 20 }) else {
            Issue.record("no data connection")
            return
        }
        let rewritten = "PORT 198,18,1,100,\(data.localPort >> 8),\(data.localPort & 0xFF)\r\n"
        let rewrittenOut = Self.toServer([.ack, .psh], seq: c2 + n, ack: s3, from: side, Array(rewritten.utf8))
        #expect(portOut == rewrittenOut)
        // Its retransmission is rewritten again at the same number.
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c2, ack: s3, port)).1 == rewrittenOut)
        let diff = UInt32(truncatingIfNeeded: rewritten.utf8.count - port.utf8.count)
        let c3 = c2 + UInt32(port.utf8.count)

        // The next command lands after header and growth.
        let list = "LIST\r\n"
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c3, ack: s3, list)).1
                == Self.toServer([.ack, .psh], seq: c3 &+ n &+ diff, ack: s3, from: side, Array(list.utf8)))
        // A late retransmission of the header segment still starts at the first byte, with the header.
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s2, user)).1
                == Self.toServer([.ack, .psh], seq: c1, ack: s2, from: side, header + Array(user.utf8)))

        // The server acknowledges PORT and SACKs beyond LIST: back in the client's numbering.
        let serverLIST = c3 &+ n &+ diff
        let sackOut: [(UInt32, UInt32)] = [(serverLIST &+ 16, serverLIST &+ 32)]
        let sackIn: [(UInt32, UInt32)] = [(c3 + 16, c3 + 32)]
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        let replyRewritten = "227 Entering Passive Mode (198,18,0,10,195,80).\r\n"
        let (v, replyOut) = h.run(Self.fromServer([.ack, .psh], seq: s3, ack: serverLIST, to: side,
                                                  options: Self.sack(sackOut), reply), interface: 1)
        #expect(v == .forward(interface: 0))
        #expect(replyOut == Self.toClient([.ack, .psh], seq: s3, ack: c3, options: Self.sack(sackIn), replyRewritten))
        // The server's stream is now one shorter after the 227: its next bytes and the
        // client's acknowledgments and SACK edges of them move by one.
        let s4 = s3 &+ UInt32(reply.utf8.count)
        let done = "226 done\r\n"
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s4, ack: serverLIST &+ 6, to: side, done), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s4 &- 1, ack: c3 + 6, done))
        let clientSack: [(UInt32, UInt32)] = [(s4 &- 1 &+ 20, s4 &- 1 &+ 40)]
        let serverSack: [(UInt32, UInt32)] = [(s4 &+ 20, s4 &+ 40)]
        #expect(h.run(Self.fromClient(.ack, seq: c3 + 6, ack: s4 &- 1 &+ 10, options: Self.sack(clientSack))).1
                == Self.toServer(.ack, seq: serverLIST &+ 6, ack: s4 &+ 10, from: side, options: Self.sack(serverSack), []))
        // The 227's retransmission keeps its number and is rewritten again.
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s3, ack: serverLIST &+ 6, to: side, reply), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s3, ack: c3 + 6, replyRewritten))
        #expect(h.director.ftpCounters.rewritten == 4)
    }

    // MARK: SYN proxy

    func cookie(_ h: Harness) -> UInt32 {
        h.director.synCookies.cookie(client: IPAddress(F.client)!, clientPort: F.clientPort, virtual: IPAddress(F.vip)!,
                                     virtualPort: 21, clientSequence: Self.clientISN, maximumSegmentSize: 536,
                                     ipv6: false, now: h.now)
    }

    /// The SYN proxy's handshake on the FTP VIP; returns the cookie and the side the real
    /// server sees.
    func synProxyOpen(_ h: Harness) -> (UInt32, (String, UInt16))? {
        #expect(h.run(Self.fromClient(.syn, seq: Self.clientISN, ack: 0)).0 == .answer(interface: 0))
        let cookie = cookie(h)
        #expect(h.run(Self.fromClient(.ack, seq: Self.clientISN + 1, ack: cookie &+ 1)).0 == .forward(interface: 1))
        guard let c = h.director.connections().first(where: { $0.virtualPort == 21 }) else {
            Issue.record("no connection")
            return nil
        }
        let side = (F.lip, c.localPort)
        let (v, ack) = h.run(Self.fromServer([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1, to: side),
                             interface: 1)
        #expect(v == .answer(interface: 1))
        #expect(ack == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: F.lip, destination: F.rs)
            .tcp(sourcePort: side.1, destinationPort: 21, flags: .ack, sequence: Self.clientISN + 1,
                 acknowledgment: Self.serverISN &+ 1, window: 65535).bytes)
        return (cookie, side)
    }

    /// The server's stream moves by the cookie's offset and, after a 227 rewrite, by one less:
    /// both record into one shift.
    @Test func synProxyAndFTPRewriteOnTheServersStream() {
        let h = Harness(Self.config(synProxy: true))
        guard let (cookie, side) = synProxyOpen(h) else { return }
        let offset = cookie &- Self.serverISN
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        let replyRewritten = "227 Entering Passive Mode (198,18,0,10,195,80).\r\n"
        let replyOut = Self.toClient([.ack, .psh], seq: s1 &+ offset, ack: c1, replyRewritten)
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s1, ack: c1, to: side, reply), interface: 1).1 == replyOut)
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s1, ack: c1, to: side, reply), interface: 1).1 == replyOut)
        let s2 = s1 &+ UInt32(reply.utf8.count)
        let more = "150 here\r\n"
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s2, ack: c1, to: side, more), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s2 &+ offset &- 1, ack: c1, more))
        // The client acknowledges all of it, SACKing a block beyond: back by the offset and the rewrite.
        let end = s2 &+ offset &- 1 &+ 10
        #expect(h.run(Self.fromClient(.ack, seq: c1, ack: end, options: Self.sack([(end &+ 100, end &+ 200)]))).1
                == Self.toServer(.ack, seq: c1, ack: s2 &+ 10, from: side,
                                 options: Self.sack([(s2 &+ 110, s2 &+ 210)]), []))
        // An acknowledgment of the reply's start only: exact.
        #expect(h.run(Self.fromClient(.ack, seq: c1, ack: s1 &+ offset)).1
                == Self.toServer(.ack, seq: c1, ack: s1, from: side, []))
    }

    /// A SYN-proxied connection gets its PROXY header in the client's first data segment, the
    /// server's numbers moved by the cookie's offset both ways.
    @Test func synProxyWithAProxyHeader() {
        let h = Harness(Self.config(proxyProtocol: .v2, synProxy: true))
        guard let (cookie, side) = synProxyOpen(h) else { return }
        let offset = cookie &- Self.serverISN
        let header = Self.header(.v2)
        let n = UInt32(header.count)
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1
        let user = "USER anonymous\r\n"
        let userOut = Self.toServer([.ack, .psh], seq: c1, ack: s1, from: side, header + Array(user.utf8))
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s1 &+ offset, user)).1 == userOut)
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s1 &+ offset, user)).1 == userOut)
        #expect(h.director.proxyProtocolHeadersSent == 2)
        let c2 = c1 + UInt32(user.utf8.count)
        let pass = "331 password\r\n"
        #expect(h.run(Self.fromServer([.ack, .psh], seq: s1, ack: c2 + n, to: side, pass), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s1 &+ offset, ack: c2, pass))
        let s2 = s1 &+ UInt32(pass.utf8.count)
        #expect(h.run(Self.fromClient([.ack, .psh], seq: c2, ack: s2 &+ offset, "PASS x\r\n")).1
                == Self.toServer([.ack, .psh], seq: c2 + n, ack: s2, from: side, Array("PASS x\r\n".utf8)))
    }

    /// The ACK the SYN proxy sends the real server for the client carries TOA when the
    /// service has `toa`, and so do the client's segments that acknowledge exactly the
    /// server's first byte.
    @Test func synProxysAckToTheServerCarriesTOA() {
        var config = Self.config(synProxy: true)
        config.services[0].toa = true
        let h = Harness(config)
        #expect(h.run(Self.fromClient(.syn, seq: Self.clientISN, ack: 0)).0 == .answer(interface: 0))
        let cookie = cookie(h)
        #expect(h.run(Self.fromClient(.ack, seq: Self.clientISN + 1, ack: cookie &+ 1)).0 == .forward(interface: 1))
        guard let c = h.director.connections().first(where: { $0.virtualPort == 21 }) else {
            Issue.record("no connection")
            return
        }
        let side = (F.lip, c.localPort)
        let toa = ProxyProtocolDirectorTests.toaOption(Lab.v4)
        let (v, ack) = h.run(Self.fromServer([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1, to: side),
                             interface: 1)
        #expect(v == .answer(interface: 1))
        #expect(ack == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: F.lip, destination: F.rs)
            .tcp(sourcePort: side.1, destinationPort: 21, flags: .ack, sequence: Self.clientISN + 1,
                 acknowledgment: Self.serverISN &+ 1, window: 65535, options: toa).bytes)
        #expect(h.director.toaAdded == 1)
        // The client's first data, before the server sent any, acknowledges its first byte too.
        #expect(h.run(Self.fromClient([.ack, .psh], seq: Self.clientISN + 1, ack: cookie &+ 1, "USER a\r\n")).1
                == Self.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, from: side, options: toa,
                                 Array("USER a\r\n".utf8)))
        #expect(h.director.toaAdded == 2)
    }

    // MARK: ICMP errors

    func expectBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String) {
        #expect(actual == expected, "\(what): \(hexDiff(expected: expected, actual: actual))")
    }

    /// An ICMP error quoting a segment of a shifted connection reaches each side with the
    /// quoted sequence number in that side's numbering (the receiver checks it against its
    /// unacknowledged range), the quoted and ICMP checksums right.
    @Test func icmpErrorsQuoteTheReceiversSequenceNumbers() {
        let h = Harness(Self.config(proxyProtocol: .v2, synProxy: true))
        guard let (cookie, side) = synProxyOpen(h) else { return }
        let offset = cookie &- Self.serverISN
        let n = UInt32(Self.header(.v2).count)
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1
        let user = "USER anonymous\r\n"
        _ = h.run(Self.fromClient([.ack, .psh], seq: c1, ack: s1 &+ offset, user))
        let c2 = c1 + UInt32(user.utf8.count)
        let pass = "331 password\r\n"
        let (_, replyOut) = h.run(Self.fromServer([.ack, .psh], seq: s1, ack: c2 + n, to: side, pass), interface: 1)
        let s2 = s1 &+ UInt32(pass.utf8.count)
        let (_, passOut) = h.run(Self.fromClient([.ack, .psh], seq: c2, ack: s2 &+ offset, "PASS x\r\n"))
        #expect(passOut == Self.toServer([.ack, .psh], seq: c2 + n, ack: s2, from: side, Array("PASS x\r\n".utf8)))

        // A router before the real server: fragmentation needed for the forwarded PASS. The
        // client must find its own sequence number, c2, in the quote.
        let towardClient = Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC)
            .ipv4(source: F.rs, destination: F.lip).icmpv4(type: 3, code: 4, rest: 1400).payload(Array(passOut[14...]))
        let (v1, out1) = h.run(towardClient, interface: 1)
        #expect(v1 == .forward(interface: 0))
        let quotedForClient = Frame.raw.ipv4(source: F.client, destination: F.vip, ttl: 63)
            .tcp(sourcePort: F.clientPort, destinationPort: 21, flags: [.ack, .psh], sequence: c2, acknowledgment: s2)
            .payload("PASS x\r\n")
        expectBytes(out1, Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv4(source: F.vip, destination: F.client, ttl: 63).icmpv4(type: 3, code: 4, rest: 1400)
            .quoting(quotedForClient).bytes, "frag-needed toward the client")

        // The client's side reports the 331 reply unreachable: the real server must find its
        // own sequence number, s1, not the cookie's.
        let towardServer = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv4(source: F.client, destination: F.vip).icmpv4(type: 3, code: 4, rest: 1400).payload(Array(replyOut[14...]))
        let (v2, out2) = h.run(towardServer)
        #expect(v2 == .forward(interface: 1))
        let quotedForServer = Frame.raw.ipv4(source: F.rs, destination: F.lip, ttl: 63)
            .tcp(sourcePort: 21, destinationPort: side.1, flags: [.ack, .psh], sequence: s1, acknowledgment: c2)
            .payload(pass)
        expectBytes(out2, Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv4(source: F.lip, destination: F.rs, ttl: 63).icmpv4(type: 3, code: 4, rest: 1400)
            .quoting(quotedForServer).bytes, "frag-needed toward the real server")
    }

    // MARK: Connection sync

    /// A backup that takes the master's entries translates the next segments exactly as the
    /// master would: the PROXY header's and the PORT rewrite's shifts came in IPVS's sequence
    /// option, the header state in lvsd's.
    @Test func aBackupTranslatesAsTheMasterAfterSync() {
        let config = Self.config(proxyProtocol: .v1)
        let master = Harness(config)
        master.director.startSyncMaster()
        let side = FTPDirectorTests().open(master, .fullNAT)
        let n = UInt32(Self.header(.v1).count)
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1
        let user = "USER anonymous\r\n"
        _ = master.run(Self.fromClient([.ack, .psh], seq: c1, ack: s1, user))
        let c2 = c1 + UInt32(user.utf8.count)
        let port = "PORT 198,18,0,100,156,65\r\n"
        _ = master.run(Self.fromClient([.ack, .psh], seq: c2, ack: s1, port))
        guard let data = master.director.connections().first(where: { $0.virtualPort == 20 }) else {
            Issue.record("no data connection")
            return
        }
        let diff = UInt32(truncatingIfNeeded: "PORT 198,18,1,100,\(data.localPort >> 8),\(data.localPort & 0xFF)\r\n".utf8.count
                                              - port.utf8.count)
        let c3 = c2 + UInt32(port.utf8.count)

        let backup = Harness(config)
        #expect(ConnectionSyncTests.deliver(ConnectionSyncTests.drain(master.director), to: backup).isEmpty)
        let list = "LIST\r\n"
        let listOut = Self.toServer([.ack, .psh], seq: c3 &+ n &+ diff, ack: s1, from: side, Array(list.utf8))
        #expect(backup.run(Self.fromClient([.ack, .psh], seq: c3, ack: s1, list)).1 == listOut)
        #expect(master.run(Self.fromClient([.ack, .psh], seq: c3, ack: s1, list)).1 == listOut)
        let serverAck = Self.fromServer(.ack, seq: s1, ack: c3 &+ n &+ diff &+ 6, to: side,
                                        options: Self.sack([(c3 &+ n &+ diff &+ 20, c3 &+ n &+ diff &+ 30)]))
        let toClient = Self.toClient(.ack, seq: s1, ack: c3 + 6, options: Self.sack([(c3 + 20, c3 + 30)]))
        #expect(backup.run(serverAck, interface: 1).1 == toClient)
        // A retransmission of the header segment gets the header on the backup too.
        #expect(backup.run(Self.fromClient([.ack, .psh], seq: c1, ack: s1, user)).1
                == Self.toServer([.ack, .psh], seq: c1, ack: s1, from: side, Self.header(.v1) + Array(user.utf8)))
    }

    /// The SYN proxy's offset and an FTP rewrite of the server's stream reach the backup.
    @Test func aBackupTakesTheSynProxysOffset() {
        let config = Self.config(synProxy: true)
        let master = Harness(config)
        master.director.startSyncMaster()
        guard let (cookie, side) = synProxyOpen(master) else { return }
        let offset = cookie &- Self.serverISN
        let c1 = Self.clientISN + 1
        let s1 = Self.serverISN &+ 1
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        _ = master.run(Self.fromServer([.ack, .psh], seq: s1, ack: c1, to: side, reply), interface: 1)
        let s2 = s1 &+ UInt32(reply.utf8.count)
        let backup = Harness(config)
        #expect(ConnectionSyncTests.deliver(ConnectionSyncTests.drain(master.director), to: backup).isEmpty)
        let more = "150 here\r\n"
        #expect(backup.run(Self.fromServer([.ack, .psh], seq: s2, ack: c1, to: side, more), interface: 1).1
                == Self.toClient([.ack, .psh], seq: s2 &+ offset &- 1, ack: c1, more))
        #expect(backup.run(Self.fromClient(.ack, seq: c1, ack: s2 &+ offset &- 1 &+ 10)).1
                == Self.toServer(.ack, seq: c1, ack: s2 &+ 10, from: side, []))
    }
}
