import Core
import PacketBuilder
import Testing
import Wire

/// The FTP helper through `Director.process`, frame by frame (Docs/ftp.md; ip_vs_ftp.c as
/// behaviour): PASV/EPSV replies rewritten and their data connections expected, PORT/EPRT
/// creating the active data connection (and rewritten under FullNAT), the sequence shift
/// applied for the rest of the connection, lines split over segments and malformed numbers
/// left as sent and counted.
@Suite struct FTPDirectorTests {
    static let client = "198.18.0.100", vip = "198.18.0.10", lip = "198.18.1.100"
    /// Longer than the VIP by one character, so a 227 rewrite shortens the reply.
    static let rs = "198.18.1.111"
    static let clientPort: UInt16 = 40000
    static let clientISN: UInt32 = 5000
    static let serverISN: UInt32 = 0xFFFF_FFE0  // the stream wraps past 2^32 within the test

    static func config(_ method: ForwardingMethod, ftpPorts: FTPPorts = .standard, vport: UInt16 = 21) -> DirectorConfig {
        var config = DirectorConfig(
            services: [VirtualServiceConfig(
                key: ServiceKey(.tcp, IPAddress(vip)!, vport), scheduler: .roundRobin,
                realServers: [RealServerConfig(address: IPAddress(rs)!, port: 21, method: method)],
                localAddresses: method == .fullNAT ? [IPAddress(lip)!] : [])],
            interfaces: Lab.interfaces,
            neighbours: [NeighbourConfig(address: IPAddress(rs)!, mac: Lab.rs1MAC, interface: 1)])
        config.tunables.ftpPorts = ftpPorts
        return config
    }

    // MARK: Frames

    static func fromClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, port: UInt16 = clientPort, to vport: UInt16 = 21,
                           address: String = client, _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC).ipv4(source: address, destination: vip)
            .tcp(sourcePort: port, destinationPort: vport, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }
    /// What reaches the real server: NAT keeps the client's address, FullNAT puts the LIP's.
    static func toServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, from: (String, UInt16), to rport: UInt16 = 21,
                         _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC).ipv4(source: from.0, destination: rs, ttl: 63)
            .tcp(sourcePort: from.1, destinationPort: rport, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }
    static func fromServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32, to: (String, UInt16), from rport: UInt16 = 21,
                           _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC).ipv4(source: rs, destination: to.0)
            .tcp(sourcePort: rport, destinationPort: to.1, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }
    static func toClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32, port: UInt16 = clientPort, from vport: UInt16 = 21,
                         _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC).ipv4(source: vip, destination: client, ttl: 63)
            .tcp(sourcePort: vport, destinationPort: port, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }

    /// Opens the control connection; returns the (address, port) the real server sees it from.
    func open(_ h: Harness, _ method: ForwardingMethod) -> (String, UInt16) {
        _ = h.run(Self.fromClient(.syn, seq: Self.clientISN))
        let c = h.director.connections().first { $0.virtualPort == 21 }!
        let side = method == .fullNAT ? (Self.lip, c.localPort) : (Self.client, Self.clientPort)
        _ = h.run(Self.fromServer([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1, to: side), interface: 1)
        _ = h.run(Self.fromClient(.ack, seq: Self.clientISN + 1, ack: Self.serverISN &+ 1))
        return side
    }

    @Test(arguments: [ForwardingMethod.nat, .fullNAT])
    func passiveReplyIsRewrittenShiftedAndItsDataConnectionExpected(_ method: ForwardingMethod) {
        let h = Harness(Self.config(method))
        let side = open(h, method)
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        let rewritten = "227 Entering Passive Mode (198,18,0,10,195,80).\r\n"
        let s1 = Self.serverISN &+ 1
        let (v1, out1) = h.run(Self.fromServer([.ack, .psh], seq: s1, ack: Self.clientISN + 1, to: side, reply), interface: 1)
        #expect(v1 == .forward(interface: 0))
        #expect(out1 == Self.toClient([.ack, .psh], seq: s1, ack: Self.clientISN + 1, rewritten))
        #expect(h.director.ftpCounters.passiveReplies == 1 && h.director.ftpCounters.rewritten == 1)
        #expect(h.director.ftpExpectationCount == 1)

        // The server's next bytes come one earlier in the client's numbering (past 2^32 here).
        let s2 = s1 &+ UInt32(reply.utf8.count)
        let (_, out2) = h.run(Self.fromServer([.ack, .psh], seq: s2, ack: Self.clientISN + 1, to: side, "150 Here.\r\n"),
                              interface: 1)
        #expect(s2 < s1)  // wrapped
        #expect(out2 == Self.toClient([.ack, .psh], seq: s2 &- 1, ack: Self.clientISN + 1, "150 Here.\r\n"))
        // The client's acknowledgment of them goes back to the server's numbering.
        let clientAck = s2 &- 1 &+ 11
        let (_, out3) = h.run(Self.fromClient(.ack, seq: Self.clientISN + 1, ack: clientAck))
        #expect(out3 == Self.toServer(.ack, seq: Self.clientISN + 1, ack: s2 &+ 11, from: side))
        // A retransmission of the rewritten reply is rewritten again and keeps its number.
        let (_, again) = h.run(Self.fromServer([.ack, .psh], seq: s1, ack: Self.clientISN + 1, to: side, reply), interface: 1)
        #expect(again == Self.toClient([.ack, .psh], seq: s1, ack: Self.clientISN + 1, rewritten))

        // The client's data connection to VIP:50000 reaches the same real server's port 50000.
        let (v4, syn) = h.run(Self.fromClient(.syn, seq: 77, port: 40001, to: 50000))
        #expect(v4 == .forward(interface: 1))
        let data = h.director.connections().first { $0.virtualPort == 50000 }
        #expect(data?.destinationPort == 50000 && data?.destinationAddress == IPAddress(Self.rs))
        let dataSide = method == .fullNAT ? (Self.lip, data?.localPort ?? 0) : (Self.client, UInt16(40001))
        #expect(method == .nat || dataSide.1 != side.1)
        #expect(syn == Self.toServer(.syn, seq: 77, from: dataSide, to: 50000))
        #expect(h.director.ftpExpectationCount == 0)
        #expect(h.director.ftpCounters.dataConnections == 1)
        // Its reply goes back from the VIP.
        let (v5, synAck) = h.run(Self.fromServer([.syn, .ack], seq: 9, ack: 78, to: dataSide, from: 50000), interface: 1)
        #expect(v5 == .forward(interface: 0))
        #expect(synAck == Self.toClient([.syn, .ack], seq: 9, ack: 78, port: 40001, from: 50000))
    }

    @Test func aNewConnectionOnTheSameTupleStartsWithoutTheOldShift() {
        let h = Harness(Self.config(.nat))
        let side = open(h, .nat)
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        _ = h.run(Self.fromServer([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, to: side, reply), interface: 1)
        #expect(h.director.ftpCounters.rewritten == 1)
        // The client closes and comes back from the same port once the table forgot it.
        h.advance(seconds: 3600)
        #expect(h.director.connections().isEmpty)
        _ = open(h, .nat)
        let s2 = Self.serverISN &+ 1 &+ UInt32(reply.utf8.count)
        let (_, out) = h.run(Self.fromServer([.ack, .psh], seq: s2, ack: Self.clientISN + 1, to: side, "150 Here.\r\n"),
                             interface: 1)
        #expect(out == Self.toClient([.ack, .psh], seq: s2, ack: Self.clientISN + 1, "150 Here.\r\n"))
    }

    @Test(arguments: [ForwardingMethod.nat, .fullNAT])
    func extendedPassiveReplyIsKeptAndExpected(_ method: ForwardingMethod) {
        let h = Harness(Self.config(method))
        let side = open(h, method)
        let reply = "229 Entering Extended Passive Mode (|||50001|)\r\n"
        let (_, out) = h.run(Self.fromServer([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, to: side, reply),
                             interface: 1)
        #expect(out == Self.toClient([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, reply))
        #expect(h.director.ftpExpectationCount == 1)
        // A SYN from another client address is not the expected one.
        #expect(h.run(Self.fromClient(.syn, seq: 1, port: 40002, to: 50001, address: "198.18.0.101")).0 == .drop(.noService))
        #expect(h.director.ftpExpectationCount == 1)
        h.advance(seconds: 61)
        // Expectations time out.
        #expect(h.run(Self.fromClient(.syn, seq: 1, port: 40002, to: 50001)).0 == .drop(.noService))
        #expect(h.director.ftpExpectationCount == 0)
    }

    @Test func activePortUnderNATCreatesTheDataConnectionAndIsNotRewritten() {
        let h = Harness(Self.config(.nat))
        let side = open(h, .nat)
        let line = "PORT 198,18,0,100,156,65\r\n"
        let (_, out) = h.run(Self.fromClient([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, line))
        #expect(out == Self.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, from: side, line))
        #expect(h.director.ftpCounters.activeLines == 1 && h.director.ftpCounters.dataConnections == 1)
        // The real server connects from port 20 to the client's port 40001: it leaves from VIP:20.
        let (v, syn) = h.run(Self.fromServer(.syn, seq: 900, ack: 0, to: (Self.client, 40001), from: 20), interface: 1)
        #expect(v == .forward(interface: 0))
        #expect(syn == Self.toClient(.syn, seq: 900, ack: 0, port: 40001, from: 20))
        let (v2, ack) = h.run(Self.fromClient([.syn, .ack], seq: 3, ack: 901, port: 40001, to: 20))
        #expect(v2 == .forward(interface: 1))
        #expect(ack == Self.toServer([.syn, .ack], seq: 3, ack: 901, from: (Self.client, 40001), to: 20))
    }

    @Test func activePortUnderFullNATNamesTheLocalAddressAndGrowsTheStream() {
        let h = Harness(Self.config(.fullNAT))
        let side = open(h, .fullNAT)
        let line = "PORT 198,18,0,100,156,65\r\n"
        let (_, out) = h.run(Self.fromClient([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, line))
        guard let data = h.director.connections().first(where: { $0.virtualPort == 20 }) else {
            Issue.record("no data connection")
            return
        }
        #expect(data.clientPort == 40001 && data.localAddress == IPAddress(Self.lip) && data.destinationPort == 20)
        let rewritten = "PORT 198,18,1,100,\(data.localPort >> 8),\(data.localPort & 0xFF)\r\n"
        #expect(out == Self.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, from: side, rewritten))
        let diff = UInt32(truncatingIfNeeded: rewritten.utf8.count - line.utf8.count)
        // The client's next command is shifted by the change; the server's acknowledgment of it back.
        let next = Self.clientISN + 1 + UInt32(line.utf8.count)
        let (_, out2) = h.run(Self.fromClient([.ack, .psh], seq: next, ack: Self.serverISN &+ 1, "RETR f\r\n"))
        #expect(out2 == Self.toServer([.ack, .psh], seq: next &+ diff, ack: Self.serverISN &+ 1, from: side, "RETR f\r\n"))
        let (_, out3) = h.run(Self.fromServer(.ack, seq: Self.serverISN &+ 1, ack: next &+ diff &+ 8, to: side), interface: 1)
        #expect(out3 == Self.toClient(.ack, seq: Self.serverISN &+ 1, ack: next &+ 8))
        // The real server's connection to LIP:lport leaves as VIP:20 → CIP:40001.
        let (v, syn) = h.run(Self.fromServer(.syn, seq: 900, ack: 0, to: (Self.lip, data.localPort), from: 20), interface: 1)
        #expect(v == .forward(interface: 0))
        #expect(syn == Self.toClient(.syn, seq: 900, ack: 0, port: 40001, from: 20))
    }

    @Test func extendedPortUnderFullNATIsRewritten() {
        let h = Harness(Self.config(.fullNAT))
        let side = open(h, .fullNAT)
        let (_, out) = h.run(Self.fromClient([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1,
                                             "EPRT |1|198.18.0.100|40001|\r\n"))
        let data = h.director.connections().first { $0.virtualPort == 20 }
        #expect(data?.clientPort == 40001)
        #expect(out == Self.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN &+ 1, from: side,
                                     "EPRT |1|198.18.1.100|\(data?.localPort ?? 0)|\r\n"))
    }

    @Test func splitMalformedAndForeignLinesAreLeftAsSentAndCounted() {
        let h = Harness(Self.config(.nat))
        let side = open(h, .nat)
        var seq = Self.serverISN &+ 1
        for part in ["227 Entering Passive Mode (198,18,1,1", "11,195,80).\r\n"] {
            let (_, out) = h.run(Self.fromServer([.ack, .psh], seq: seq, ack: Self.clientISN + 1, to: side, part), interface: 1)
            #expect(out == Self.toClient([.ack, .psh], seq: seq, ack: Self.clientISN + 1, part))
            seq &+= UInt32(part.utf8.count)
        }
        #expect(h.director.ftpExpectationCount == 0 && h.director.ftpCounters.passiveReplies == 0)
        let bad = "227 Entering Passive Mode (198,18,1,111,195,800).\r\n"
        let (v, out) = h.run(Self.fromServer([.ack, .psh], seq: seq, ack: Self.clientISN + 1, to: side, bad), interface: 1)
        #expect(v == .forward(interface: 0))
        #expect(out == Self.toClient([.ack, .psh], seq: seq, ack: Self.clientISN + 1, bad))
        #expect(h.director.ftpCounters.malformed == 1 && h.director.ftpExpectationCount == 0)
        // FTP bounce (RFC 2577): a PORT naming another host makes no data connection.
        let bounce = "PORT 198,18,0,200,0,25\r\n"
        let (_, out2) = h.run(Self.fromClient([.ack, .psh], seq: Self.clientISN + 1, ack: seq, bounce))
        #expect(out2 == Self.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: seq, from: side, bounce))
        #expect(h.director.ftpCounters.foreignAddress == 1 && h.director.ftpCounters.dataConnections == 0)
    }

    @Test func onlyServicesOnTheFTPPortsGetTheHelper() {
        // ftp_ports 2121: the service on 21 is plain NAT, its 227 reply passes untouched.
        let h = Harness(Self.config(.nat, ftpPorts: FTPPorts([2121])!))
        let side = open(h, .nat)
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        let (_, out) = h.run(Self.fromServer([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, to: side, reply),
                             interface: 1)
        #expect(out == Self.toClient([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, reply))
        #expect(h.director.ftpCounters == FTPCounters())
        // DR never: the server answers the client directly.
        let dr = Harness(Self.config(.directRouting))
        _ = dr.run(Self.fromClient(.syn, seq: 1))
        _ = dr.run(Self.fromClient([.ack, .psh], seq: 2, ack: 1, "PORT 198,18,0,100,156,65\r\n"))
        #expect(dr.director.ftpCounters == FTPCounters())
    }

    @Test func partialChecksumFramesLeaveWithAFullOneAfterARewrite() {
        let h = Harness(Self.config(.nat))
        let side = open(h, .nat)
        var frame = Self.fromServer([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1, to: side,
                                    "227 Entering Passive Mode (198,18,1,111,195,80).\r\n")
        // A sender's offload leaves a wrong sum in the field: the director must compute it.
        frame[14 + 20 + 16] = 0
        frame[14 + 20 + 17] = 0
        let (_, out) = h.run(frame, interface: 1, checksumPartial: true)
        #expect(out == Self.toClient([.ack, .psh], seq: Self.serverISN &+ 1, ack: Self.clientISN + 1,
                                     "227 Entering Passive Mode (198,18,0,10,195,80).\r\n"))
    }
}

/// IPv6 control connections: EPRT rewritten to the IPv6 local address under FullNAT, EPSV
/// expected; and random lines at random tailroom through a FullNAT control connection, whose
/// frames must leave with right lengths and checksums or as sent, never trap.
@Suite struct FTPDirectorIPv6AndRandomTests {
    static let client = "2001:db8::100", vip = "2001:db8::10", rs = "2001:db8:1::11", lip = "2001:db8:1::100"

    static func config() -> DirectorConfig {
        DirectorConfig(
            services: [VirtualServiceConfig(
                key: ServiceKey(.tcp, IPAddress(vip)!, 21), scheduler: .roundRobin,
                realServers: [RealServerConfig(address: IPAddress(rs)!, port: 21, method: .fullNAT)],
                localAddresses: [IPAddress(lip)!])],
            interfaces: Lab.interfaces,
            neighbours: [NeighbourConfig(address: IPAddress(rs)!, mac: Lab.rs1MAC, interface: 1)])
    }
    static func fromClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, port: UInt16 = 40000, to vport: UInt16 = 21,
                           _ text: String = "") -> [UInt8] {
        Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC).ipv6(source: client, destination: vip)
            .tcp(sourcePort: port, destinationPort: vport, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }
    static func toServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32, lport: UInt16, _ text: String) -> [UInt8] {
        Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC).ipv6(source: lip, destination: rs, hopLimit: 63)
            .tcp(sourcePort: lport, destinationPort: 21, flags: flags, sequence: seq, acknowledgment: ack).payload(text).bytes
    }

    @Test func extendedPortNamesTheIPv6LocalAddressAndExtendedPassiveIsExpected() {
        let h = Harness(Self.config())
        _ = h.run(Self.fromClient(.syn, seq: 100))
        guard let control = h.director.connections().first else { Issue.record("no control connection"); return }
        let (v, out) = h.run(Self.fromClient([.ack, .psh], seq: 101, ack: 1, "EPRT |2|2001:db8::100|40001|\r\n"))
        #expect(v == .forward(interface: 1))
        let data = h.director.connections().first { $0.virtualPort == 20 }
        #expect(data?.clientPort == 40001 && data?.localAddress == IPAddress(Self.lip))
        let text = "EPRT |2|2001:db8:1:0:0:0:0:100|\(data?.localPort ?? 0)|\r\n"
        #expect(out == Self.toServer([.ack, .psh], seq: 101, ack: 1, lport: control.localPort, text))
        // The next command shifts by the growth.
        let grown = UInt32(text.utf8.count - "EPRT |2|2001:db8::100|40001|\r\n".utf8.count)
        let next: UInt32 = 101 + 30
        let (_, out2) = h.run(Self.fromClient([.ack, .psh], seq: next, ack: 1, "RETR f\r\n"))
        #expect(out2 == Self.toServer([.ack, .psh], seq: next + grown, ack: 1, lport: control.localPort, "RETR f\r\n"))

        let reply = Frame.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC).ipv6(source: Self.rs, destination: Self.lip)
            .tcp(sourcePort: 21, destinationPort: control.localPort, flags: [.ack, .psh], sequence: 1, acknowledgment: next + grown + 8)
            .payload("229 Entering Extended Passive Mode (|||50002|)\r\n").bytes
        let (v2, _) = h.run(reply, interface: 1)
        #expect(v2 == .forward(interface: 0))
        #expect(h.director.ftpExpectationCount == 1)
        let (v3, syn) = h.run(Self.fromClient(.syn, seq: 7, port: 40002, to: 50002))
        #expect(v3 == .forward(interface: 1))
        let passive = h.director.connections().first { $0.virtualPort == 50002 }
        #expect(passive?.destinationPort == 50002 && passive?.destinationAddress == IPAddress(Self.rs))
        #expect(syn == Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
            .ipv6(source: Self.lip, destination: Self.rs, hopLimit: 63)
            .tcp(sourcePort: passive?.localPort ?? 0, destinationPort: 50002, flags: .syn, sequence: 7).bytes)
    }

    /// Random PORT/EPRT lines (valid, malformed, foreign, split) with 0–40 bytes of tailroom:
    /// each frame forwarded leaves with its IP length, IP checksum and TCP checksum right.
    @Test func randomLinesAtRandomTailroomLeaveValidFramesOrAsSent() {
        var seed: UInt64 = 0x0123_4567_89AB_CDEF
        func next(_ n: UInt64) -> UInt64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed % n }
        let config = FTPDirectorTests.config(.fullNAT)
        let director = Director(config: config, capacity: 4096, now: 1_000_000_000)
        var checked = 0
        for round in 0..<400 {
            let now = 1_000_000_000 + UInt64(round) * 1_000_000
            let port = UInt16(20000 + round)
            var lines = ["PORT 198,18,0,100,\(next(256)),\(next(256))\r\n", "EPRT |1|198.18.0.100|\(next(70000))|\r\n",
                         "PORT 198,18,0,\(next(300)),1,2\r\n", "PORT 198,18,0,100,1\r\n", "EPRT |1|198.18.0.100|1",
                         "port 198,18,0,100,255,255\r\nNOOP\r\n"]
            let text = lines[Int(next(UInt64(lines.count)))]
            lines.removeAll()
            let frames = [FTPDirectorTests.fromClient(.syn, seq: 1, port: port),
                          FTPDirectorTests.fromClient([.ack, .psh], seq: 2, ack: 1, port: port, text)]
            for (i, frame) in frames.enumerated() {
                let tailroom = i == 0 ? 64 : Int(next(41))
                let capacity = 64 + frame.count + tailroom
                let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
                defer { raw.deallocate() }
                frame.withUnsafeBytes { (raw + 64).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
                var packet = PacketBuffer(base: raw, capacity: capacity, offset: 64, length: frame.count)
                let verdict = director.process(&packet, now: now)
                guard i == 1 else { continue }
                #expect(verdict == .forward(interface: 1))
                let out = Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
                // Lengths and checksums as a receiver checks them.
                let ipLength = Int(out[16]) << 8 | Int(out[17])
                #expect(ipLength + 14 == out.count)
                var sum: UInt32 = 0
                for k in stride(from: 14, to: 34, by: 2) { sum += UInt32(out[k]) << 8 | UInt32(out[k + 1]) }
                var tcpSum: UInt32 = 0
                let tcpLength = ipLength - 20
                for k in stride(from: 26, to: 34, by: 2) { tcpSum += UInt32(out[k]) << 8 | UInt32(out[k + 1]) }
                tcpSum += 6 + UInt32(tcpLength)
                for k in stride(from: 34, to: out.count, by: 2) {
                    tcpSum += UInt32(out[k]) << 8 | (k + 1 < out.count ? UInt32(out[k + 1]) : 0)
                }
                func fold(_ s: UInt32) -> UInt32 { var s = s; while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }; return s }
                #expect(fold(sum) == 0xFFFF)
                #expect(fold(tcpSum) == 0xFFFF)
                checked += 1
            }
        }
        #expect(checked == 400)
        let c = director.ftpCounters
        #expect(c.malformed > 0 && c.foreignAddress > 0 && c.dataConnections > 0)
    }
}
