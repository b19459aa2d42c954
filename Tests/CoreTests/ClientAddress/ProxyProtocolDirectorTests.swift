import Core
import PacketBuilder
import Testing
import Wire

/// The PROXY protocol through `Director.process` behind FullNAT and NAT, golden frame by
/// golden frame: the header before the client's first byte (and again in a retransmission of
/// it), the client's later sequence numbers shifted past it, the server's acknowledgments and
/// SACK edges shifted back, FIN and RST, the wrap at 2^32, and TOA (Docs/adr/0008).
@Suite struct ProxyProtocolDirectorTests {
    static let clientISN: UInt32 = 1000
    static let serverISN: UInt32 = 0x9000_0000

    static func config(_ method: ForwardingMethod, proxyProtocol: ProxyProtocolHeader.Version? = .v2,
                       toa: Bool = false) -> DirectorConfig {
        var config = Lab.config(method)
        for i in config.services.indices where config.services[i].key.proto == .tcp {
            config.services[i].proxyProtocol = proxyProtocol
            config.services[i].toa = toa
        }
        return config
    }

    /// One connection's frames, both sides, for a family and method.
    struct Flow {
        let f: Lab.Family
        let method: ForwardingMethod
        let version: ProxyProtocolHeader.Version
        let h: Harness
        var clientISN = ProxyProtocolDirectorTests.clientISN

        init(_ f: Lab.Family, _ method: ForwardingMethod, proxyProtocol: ProxyProtocolHeader.Version? = .v2, toa: Bool = false) {
            self.f = f
            self.method = method
            version = proxyProtocol ?? .v2
            h = Harness(ProxyProtocolDirectorTests.config(method, proxyProtocol: proxyProtocol, toa: toa))
        }

        var localPort: UInt16 { h.director.connections().first?.localPort ?? 0 }
        /// Where the real server sees the client: LIP:lport (FullNAT) or CIP:cport (NAT).
        var seenSource: (String, UInt16) { method == .fullNAT ? (f.lip, localPort) : (f.client, Lab.clientPort) }

        func client(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
            Lab.ip(.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC), f, from: f.client, to: f.vip)
                .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: flags, sequence: seq,
                     acknowledgment: ack, options: options).payload(payload).bytes
        }
        /// What the real server receives for a client segment.
        func toServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
            let (source, port) = seenSource
            return Lab.ip(.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC), f, from: source, to: f.rs1, ttl: 63)
                .tcp(sourcePort: port, destinationPort: Lab.realPort, flags: flags, sequence: seq,
                     acknowledgment: ack, options: options).payload(payload).bytes
        }
        func server(_ flags: TCPFlags, seq: UInt32, ack: UInt32, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
            let (destination, port) = seenSource
            return Lab.ip(.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC), f, from: f.rs1, to: destination)
                .tcp(sourcePort: Lab.realPort, destinationPort: port, flags: flags, sequence: seq, acknowledgment: ack,
                     options: options).payload(payload).bytes
        }
        /// What the client receives for a server segment.
        func toClient(_ flags: TCPFlags, seq: UInt32, ack: UInt32, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
            Lab.ip(.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC), f, from: f.vip, to: f.client, ttl: 63)
                .tcp(sourcePort: Lab.virtualPort, destinationPort: Lab.clientPort, flags: flags, sequence: seq,
                     acknowledgment: ack, options: options).payload(payload).bytes
        }

        /// SYN, SYN-ACK and the handshake's ACK, each checked as it leaves.
        func handshake() {
            #expect(h.run(client(.syn, seq: clientISN)).1 == toServer(.syn, seq: clientISN))
            #expect(h.run(server([.syn, .ack], seq: serverISN, ack: clientISN &+ 1)).1
                    == toClient([.syn, .ack], seq: serverISN, ack: clientISN &+ 1))
            // Before the header went out the server expects the first byte where the client put it.
            #expect(h.run(client(.ack, seq: clientISN &+ 1, ack: serverISN + 1)).1
                    == toServer(.ack, seq: clientISN &+ 1, ack: serverISN + 1))
        }

        var header: [UInt8] {
            let p = ProxyProtocolHeader(version: version, source: IPAddress(f.client)!, sourcePort: Lab.clientPort,
                                        destination: IPAddress(f.vip)!, destinationPort: Lab.virtualPort)
            var bytes = [UInt8](repeating: 0, count: p.encodedLength)
            bytes.withUnsafeMutableBytes { _ = p.write(into: $0.baseAddress!) }
            return bytes
        }
    }

    static let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    static let reply = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)

    static func sack(_ blocks: [(UInt32, UInt32)]) -> [UInt8] {
        var bytes: [UInt8] = [1, 1, 5, UInt8(2 + 8 * blocks.count)]
        for (l, r) in blocks { bytes += be(l) + be(r) }
        return bytes
    }
    static func be(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    @Test(arguments: [(Lab.v4, ForwardingMethod.fullNAT), (Lab.v6, .fullNAT), (Lab.v4, .nat), (Lab.v6, .nat)])
    func headerGoesBeforeTheFirstByteAndShiftsTheStream(f: Lab.Family, method: ForwardingMethod) {
        let flow = Flow(f, method)
        flow.handshake()
        let n = UInt32(flow.header.count)
        #expect(n == (f.isIPv6 ? 52 : 28))
        let first = flow.client([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: Self.request)
        let (verdict, out) = flow.h.run(first)
        #expect(verdict == .forward(interface: 1))
        #expect(out == flow.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN + 1,
                                     payload: flow.header + Self.request),
                "\(hexDiff(expected: flow.toServer([.ack, .psh], seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: flow.header + Self.request), actual: out))")
        #expect(flow.h.director.proxyProtocolHeadersSent == 1)

        // The server acknowledges header and request; the client hears of its request only.
        let afterRequest = Self.clientISN + 1 + UInt32(Self.request.count)
        #expect(flow.h.run(flow.server([.ack, .psh], seq: Self.serverISN + 1, ack: afterRequest + n, payload: Self.reply)).1
                == flow.toClient([.ack, .psh], seq: Self.serverISN + 1, ack: afterRequest, payload: Self.reply))

        // The client's next bytes land after the header in the server's numbering.
        let afterReply = Self.serverISN + 1 + UInt32(Self.reply.count)
        #expect(flow.h.run(flow.client([.ack, .psh], seq: afterRequest, ack: afterReply, payload: Array("more".utf8))).1
                == flow.toServer([.ack, .psh], seq: afterRequest + n, ack: afterReply, payload: Array("more".utf8)))

        // FIN from the client, FIN-ACK from the server, the client's last ACK.
        let afterMore = afterRequest + 4
        #expect(flow.h.run(flow.client([.fin, .ack], seq: afterMore, ack: afterReply)).1
                == flow.toServer([.fin, .ack], seq: afterMore + n, ack: afterReply))
        #expect(flow.h.run(flow.server([.fin, .ack], seq: afterReply, ack: afterMore + n + 1)).1
                == flow.toClient([.fin, .ack], seq: afterReply, ack: afterMore + 1))
        #expect(flow.h.run(flow.client(.ack, seq: afterMore + 1, ack: afterReply + 1)).1
                == flow.toServer(.ack, seq: afterMore + 1 + n, ack: afterReply + 1))
        #expect(flow.h.director.proxyProtocolHeadersSent == 1)
    }

    /// The header rides in the client's data, which the client retransmits until it is
    /// acknowledged: each retransmission from the first byte carries it again, in the same
    /// sequence space, and a later segment that arrives first is already shifted.
    @Test func retransmissionOfTheFirstSegmentCarriesTheHeaderAgain() {
        let flow = Flow(Lab.v4, .fullNAT, proxyProtocol: .v1)
        flow.handshake()
        let n = UInt32(flow.header.count)
        #expect(String(decoding: flow.header, as: UTF8.self) == "PROXY TCP4 198.18.0.100 198.18.0.10 40000 80\r\n")
        // The second segment overtakes the first.
        let second = Self.clientISN + 1 + 5
        #expect(flow.h.run(flow.client(.ack, seq: second, ack: Self.serverISN + 1, payload: Array("world".utf8))).1
                == flow.toServer(.ack, seq: second + n, ack: Self.serverISN + 1, payload: Array("world".utf8)))
        let first = flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: Array("hello".utf8))
        let expected = flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1,
                                     payload: flow.header + Array("hello".utf8))
        #expect(flow.h.run(first).1 == expected)
        #expect(flow.h.run(first).1 == expected)
        #expect(flow.h.director.proxyProtocolHeadersSent == 2)
        // The server SACKs the second segment before the first: edges shift back by the header.
        let sackEdges = [(second + n, second + n + 5)]
        #expect(flow.h.run(flow.server(.ack, seq: Self.serverISN + 1, ack: Self.clientISN + 1, options: Self.sack(sackEdges))).1
                == flow.toClient(.ack, seq: Self.serverISN + 1, ack: Self.clientISN + 1, options: Self.sack([(second, second + 5)])))
    }

    @Test func resetFromTheClientIsShiftedAndPureAcksBeforeTheHeaderAreNot() {
        let flow = Flow(Lab.v6, .fullNAT)
        flow.handshake()
        let n = UInt32(flow.header.count)
        _ = flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1, 2, 3]))
        // After the header went out, even a segment from the first byte is shifted (an RST).
        #expect(flow.h.run(flow.client(.rst, seq: Self.clientISN + 4)).1 == flow.toServer(.rst, seq: Self.clientISN + 4 + n))
    }

    /// A client that closes without a byte sends its FIN from the first byte: it carries the
    /// header, so the server's acknowledgment of the FIN comes back in the client's numbers.
    @Test func finWithoutDataCarriesTheHeader() {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        let n = UInt32(flow.header.count)
        #expect(flow.h.run(flow.client([.fin, .ack], seq: Self.clientISN + 1, ack: Self.serverISN + 1)).1
                == flow.toServer([.fin, .ack], seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: flow.header))
        #expect(flow.h.run(flow.server([.fin, .ack], seq: Self.serverISN + 1, ack: Self.clientISN + 2 + n)).1
                == flow.toClient([.fin, .ack], seq: Self.serverISN + 1, ack: Self.clientISN + 2))
    }

    /// An acknowledgment of part of the header acknowledges none of the client's bytes.
    @Test func anAcknowledgmentInsideTheHeaderSaysTheFirstByte() {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        _ = flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1, 2, 3]))
        #expect(flow.h.run(flow.server(.ack, seq: Self.serverISN + 1, ack: Self.clientISN + 1 + 10)).1
                == flow.toClient(.ack, seq: Self.serverISN + 1, ack: Self.clientISN + 1))
    }

    /// A new SYN with another ISN on a connection the table keeps (IPVS lets a SYN through on a
    /// connection that is not in TIME_WAIT) starts a new stream: its first data gets a header
    /// again, from the new first byte.
    @Test func aNewSynStartsANewStream() {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        _ = flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1]))
        let isn: UInt32 = 70_000
        #expect(flow.h.run(flow.client(.syn, seq: isn)).1 == flow.toServer(.syn, seq: isn))
        _ = flow.h.run(flow.server([.syn, .ack], seq: Self.serverISN, ack: isn + 1))
        #expect(flow.h.run(flow.client(.ack, seq: isn + 1, ack: Self.serverISN + 1)).1
                == flow.toServer(.ack, seq: isn + 1, ack: Self.serverISN + 1))
        #expect(flow.h.run(flow.client(.ack, seq: isn + 1, ack: Self.serverISN + 1, payload: [2])).1
                == flow.toServer(.ack, seq: isn + 1, ack: Self.serverISN + 1, payload: flow.header + [2]))
    }

    @Test func sequenceNumbersWrapAt2To32() {
        var flow = Flow(Lab.v4, .fullNAT)
        flow.clientISN = 0xFFFF_FFF0
        flow.handshake()
        let n = UInt32(flow.header.count)
        let first = flow.clientISN &+ 1
        #expect(flow.h.run(flow.client(.ack, seq: first, ack: Self.serverISN + 1, payload: Array("0123456789".utf8))).1
                == flow.toServer(.ack, seq: first, ack: Self.serverISN + 1, payload: flow.header + Array("0123456789".utf8)))
        let next = first &+ 10
        #expect(flow.h.run(flow.server(.ack, seq: Self.serverISN + 1, ack: next &+ n)).1
                == flow.toClient(.ack, seq: Self.serverISN + 1, ack: next))
        #expect(flow.h.run(flow.client(.ack, seq: next, ack: Self.serverISN + 1, payload: [9])).1
                == flow.toServer(.ack, seq: next &+ n, ack: Self.serverISN + 1, payload: [9]))
    }

    /// A first segment as large as the MTU allows would outgrow it with the header: it leaves
    /// as a super-frame the kernel cuts, its checksum left partial for the cut.
    @Test func aFullSizedFirstSegmentLeavesAsASuperFrame() throws {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        let payload = [UInt8](repeating: 0x41, count: 1460)
        let frame = flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: payload)
        let capacity = 64 + frame.count + 2048
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { raw.deallocate() }
        frame.withUnsafeBytes { (raw + 64).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var packet = PacketBuffer(base: raw, capacity: capacity, offset: 64, length: frame.count, interface: 0,
                                  sinkFinishesChecksum: true)
        #expect(flow.h.director.process(&packet, now: flow.h.now) == .forward(interface: 1))
        #expect(packet.length == frame.count + 28)
        let segmentation = try #require(packet.segmentation)
        #expect(segmentation.segmentSize == 1460)
        #expect(segmentation.gsoType == 1)
        #expect(packet.checksumPartial)
    }

    /// Without room before or after the frame, the header cannot go in: the segment is dropped
    /// by name and the client's retransmission (given room) carries it.
    @Test func noRoomDropsTheSegmentByName() {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        let frame = flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1])
        let raw = UnsafeMutableRawPointer.allocate(byteCount: frame.count, alignment: 16)
        defer { raw.deallocate() }
        frame.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var packet = PacketBuffer(base: raw, capacity: frame.count, offset: 0, length: frame.count)
        #expect(flow.h.director.process(&packet, now: flow.h.now) == .drop(.proxyProtocolNoRoom))
        #expect(flow.h.director.count(.proxyProtocolNoRoom) == 1)
        #expect(flow.h.run(frame).1 == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1,
                                                     payload: flow.header + [1]))
    }

    /// With only headroom (a TPACKET_V3 slot has no tailroom), the headers move forward.
    @Test func headroomServesWhenThereIsNoTailroom() {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        let frame = flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1, 2])
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 64 + frame.count, alignment: 16)
        defer { raw.deallocate() }
        frame.withUnsafeBytes { (raw + 64).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var packet = PacketBuffer(base: raw, capacity: 64 + frame.count, offset: 64, length: frame.count)
        #expect(flow.h.director.process(&packet, now: flow.h.now) == .forward(interface: 1))
        #expect(packet.offset == 64 - 28)
        #expect(Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
                == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: flow.header + [1, 2]))
    }

    @Test func aPartialChecksumStaysPartialWithTheNewLength() throws {
        let flow = Flow(Lab.v4, .fullNAT)
        flow.handshake()
        let frame = flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [7, 7, 7])
        let (_, out) = flow.h.run(frame, checksumPartial: true)
        // Harness sinks do not finish checksums: Core completes it, over the inserted header too.
        #expect(out == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: flow.header + [7, 7, 7]))
    }

    /// UDP services and DR/TUN ones never get a header, whatever the configuration says.
    @Test func onlyTCPThroughTheDirectorBothWaysCarriesIt() {
        let h = Harness(Self.config(.directRouting))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp))
        let (_, out) = h.run(Lab.fromClient(Lab.v4, .tcp, flags: .ack, payload: "hi"))
        #expect(Array(out.suffix(2)) == Array("hi".utf8))
        #expect(h.director.proxyProtocolHeadersSent == 0)
    }

    // MARK: TOA

    static func toaOption(_ f: Lab.Family) -> [UInt8] {
        let address = IPAddress(f.client)!
        var bytes: [UInt8] = [254, f.isIPv6 ? 20 : 8, UInt8(Lab.clientPort >> 8), UInt8(Lab.clientPort & 0xFF)]
        if f.isIPv6 {
            for i in 0..<16 { bytes.append(UInt8(truncatingIfNeeded: (i < 8 ? address.high : address.low) >> UInt64(56 - 8 * (i % 8)))) }
        } else {
            bytes += be(address.ipv4)
        }
        return bytes
    }

    @Test(arguments: [Lab.v4, Lab.v6])
    func toaRidesOnTheSegmentsThatAcknowledgeTheSynAck(f: Lab.Family) {
        let flow = Flow(f, .fullNAT, proxyProtocol: nil, toa: true)
        #expect(flow.h.run(flow.client(.syn, seq: Self.clientISN)).1 == flow.toServer(.syn, seq: Self.clientISN))
        _ = flow.h.run(flow.server([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1))
        let option = Self.toaOption(f)
        #expect(flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1)).1
                == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: option))
        // Data before the server said anything still acknowledges its SYN-ACK only.
        #expect(flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [1])).1
                == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: option, payload: [1]))
        // Once the client acknowledges the server's data, no more TOA.
        #expect(flow.h.run(flow.client(.ack, seq: Self.clientISN + 2, ack: Self.serverISN + 10)).1
                == flow.toServer(.ack, seq: Self.clientISN + 2, ack: Self.serverISN + 10))
        #expect(flow.h.director.toaAdded == 2)
    }

    @Test func toaWithoutOptionSpaceIsLeftOutAndCounted() {
        let flow = Flow(Lab.v6, .fullNAT, proxyProtocol: nil, toa: true)
        _ = flow.h.run(flow.client(.syn, seq: Self.clientISN))
        _ = flow.h.run(flow.server([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1))
        // 28 bytes of options (timestamps and two SACK blocks): 20 more would pass 60.
        let options: [UInt8] = [1, 1, 8, 10] + Self.be(1) + Self.be(2) + Self.sack([(5, 6), (7, 8)])
        #expect(flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: options)).1
                == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: options))
        #expect(flow.h.director.toaNoRoom == 1)
        #expect(flow.h.director.toaAdded == 0)
    }

    @Test func proxyProtocolAndTOATogether() {
        let flow = Flow(Lab.v4, .fullNAT, proxyProtocol: .v2, toa: true)
        _ = flow.h.run(flow.client(.syn, seq: Self.clientISN))
        _ = flow.h.run(flow.server([.syn, .ack], seq: Self.serverISN, ack: Self.clientISN + 1))
        #expect(flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1)).1
                == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: Self.toaOption(Lab.v4)))
        #expect(flow.h.director.toaAdded == 1)
        let (_, out) = flow.h.run(flow.client(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, payload: [5]))
        #expect(out == flow.toServer(.ack, seq: Self.clientISN + 1, ack: Self.serverISN + 1, options: Self.toaOption(Lab.v4),
                                     payload: flow.header + [5]))
    }
}
