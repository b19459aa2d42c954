import Core
import PacketBuilder
import Testing
import Wire

/// TUN beyond IPv4 IPIP: the outer header of the real server's family (ip6ip6, IPv4 in IPv6,
/// IPv6 in IPv4), GRE and GUE between the headers, each byte-exact against frames PacketBuilder
/// renders from scratch; the decapsulator gives back the client's datagram for each; and the
/// too-big answer is sized by each encapsulation's overhead (ip_vs_xmit.c).
@Suite struct TunnelTypesTests {
    static let guePort: UInt16 = 6080

    /// Lab's TUN configuration with every real server wrapped in `tunnel`; `mixed` gives each
    /// service the other family's real servers.
    static func config(_ tunnel: TunnelSettings, mixed: Bool = false, mtu: Int = 1500) -> DirectorConfig {
        var config = Lab.config(.tunnel)
        config.interfaces[1].mtu = mtu
        for s in config.services.indices {
            let other = config.services[s].key.address.isIPv4 ? Lab.v6 : Lab.v4
            for r in config.services[s].realServers.indices {
                config.services[s].realServers[r].tunnel = tunnel
                if mixed { config.services[s].realServers[r].address = IPAddress(r == 0 ? other.rs1 : other.rs2)! }
            }
        }
        return config
    }

    struct Case: CustomStringConvertible, Sendable {
        let kind: TunnelSettings.Kind
        let checksum: TunnelSettings.Checksum
        let innerIPv6: Bool
        let outerIPv6: Bool
        var tunnel: TunnelSettings {
            TunnelSettings(kind: kind, port: kind == .gue ? TunnelTypesTests.guePort : 0, checksum: checksum)
        }
        var inner: Lab.Family { innerIPv6 ? Lab.v6 : Lab.v4 }
        var outer: Lab.Family { outerIPv6 ? Lab.v6 : Lab.v4 }
        /// GRE's checksum or GUE's UDP checksum is computed (`--tun-remcsum` computes it too).
        var outerChecksum: Bool { checksum != .none }
        /// Without remote checksum offload's option (a frame whose checksum is complete).
        var overhead: Int {
            (outerIPv6 ? 40 : 20) + (kind == .gre ? (outerChecksum ? 8 : 4) : kind == .gue ? 12 : 0)
        }
        /// For a frame whose checksum is still partial.
        var partialOverhead: Int { overhead + (checksum == .remote ? 8 : 0) }
        var description: String {
            "\(kind)\(checksum == .none ? "" : " \(checksum)") \(innerIPv6 ? "IPv6" : "IPv4") in \(outerIPv6 ? "IPv6" : "IPv4")"
        }
    }

    static let cases: [Case] = TunnelSettings.Kind.allCases.flatMap { kind in
        ([.ipip: [.none], .gre: [.none, .checksum], .gue: [.none, .checksum, .remote]] as [TunnelSettings.Kind: [TunnelSettings.Checksum]])[kind]!.flatMap { checksum in
            [(false, false), (true, true), (false, true), (true, false)].map {
                Case(kind: kind, checksum: checksum, innerIPv6: $0.0, outerIPv6: $0.1)
            }
        }
    }

    /// The client's datagram as the director forwards it (TTL / hop limit one less).
    static func innerDatagram(_ c: Case, flags: TCPFlags, payload: String) -> [UInt8] {
        Lab.l4(Lab.ip(Frame.raw, c.inner, from: c.inner.client, to: c.inner.vip, ttl: 63), .tcp,
               from: Lab.clientPort, to: Lab.virtualPort, flags: flags).payload(payload).bytes
    }

    /// RFC 1071, written out here so that the expected GRE checksum does not come from Wire.
    static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The frame the director must send to real server 1; `sourcePort` is GUE's outer port.
    static func expected(_ c: Case, inner: [UInt8], sourcePort: UInt16) -> [UInt8] {
        let eth = Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
        // The outer header copies the inner TTL (63 after the director's decrement) and, IPv4
        // in IPv4, the DF bit; IPv6 inside leaves an IPv4 outer header fragmentable.
        let outer = c.outerIPv6
            ? eth.ipv6(source: c.outer.directorServer, destination: c.outer.rs1, hopLimit: 63)
            : eth.ipv4(source: c.outer.directorServer, destination: c.outer.rs1, ttl: 63, identification: 1,
                       dontFragment: !c.innerIPv6)
        switch c.kind {
        case .ipip:
            return outer.protocolNumber(c.innerIPv6 ? .ipv6 : .ipip).payload(inner).bytes
        case .gre:
            var gre: [UInt8] = [c.outerChecksum ? 0x80 : 0, 0, c.innerIPv6 ? 0x86 : 0x08, c.innerIPv6 ? 0xDD : 0x00]
            if c.outerChecksum {
                gre += [0, 0, 0, 0]
                let sum = internetChecksum(gre + inner)
                gre[4] = UInt8(sum >> 8)
                gre[5] = UInt8(sum & 0xFF)
            }
            return outer.protocolNumber(.gre).payload(gre + inner).bytes
        case .gue:
            let gue: [UInt8] = [0, c.innerIPv6 ? 41 : 4, 0, 0]
            return outer.udp(sourcePort: sourcePort, destinationPort: guePort, checksum: c.outerChecksum).payload(gue + inner).bytes
        }
    }

    /// Where GUE's outer UDP source port sits in a frame the director sent.
    static func gueSourcePort(_ frame: [UInt8], _ c: Case) -> UInt16 {
        let at = 14 + (c.outerIPv6 ? 40 : 20)
        return frame.count > at + 1 ? UInt16(frame[at]) << 8 | UInt16(frame[at + 1]) : 0
    }

    func expectBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String) {
        #expect(actual == expected, "\(what)\n\(hexDiff(expected: expected, actual: actual))")
    }

    @Test(arguments: cases)
    func encapsulationIsByteExact(_ c: Case) {
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6))
        let (verdict, out) = h.run(Lab.fromClient(c.inner, .tcp, payload: "GET / HTTP/1.0\r\n\r\n"))
        #expect(verdict == .forward(interface: 1))
        let sport = Self.gueSourcePort(out, c)
        if c.kind == .gue {
            // udp_flow_src_port: a hash of the flow in the default ephemeral range.
            #expect((32768...60999).contains(sport))
        }
        let inner = Self.innerDatagram(c, flags: [.syn], payload: "GET / HTTP/1.0\r\n\r\n")
        expectBytes(out, Self.expected(c, inner: inner, sourcePort: sport), "first packet")

        // The next packet of the connection keeps the outer 5-tuple; IPv4 counts its IDs on.
        let (again, next) = h.run(Lab.fromClient(c.inner, .tcp, flags: [.ack]))
        #expect(again == .forward(interface: 1))
        if c.kind == .gue { #expect(Self.gueSourcePort(next, c) == sport) }
    }

    @Test(arguments: cases)
    func decapsulationGivesBackTheClientsDatagram(_ c: Case) {
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6))
        let (_, out) = h.run(Lab.fromClient(c.inner, .tcp, payload: "hello"))
        let inner = Self.innerDatagram(c, flags: [.syn], payload: "hello")
        let rs1 = IPAddress(c.outer.rs1)!, director = IPAddress(c.outer.directorServer)!
        func decapsulate(_ frame: [UInt8], local: Set<IPAddress> = [rs1], directors: Set<IPAddress> = [director],
                         port: UInt16 = Self.guePort) -> [UInt8]? {
            var copy = frame
            return copy.withUnsafeMutableBytes { raw in
                guard case .inner(let datagram) = TunnelDecapsulation.of(raw, localAddresses: local, directors: directors,
                                                                          guePort: port) else { return nil }
                return Array(UnsafeRawBufferPointer(datagram))
            }
        }
        #expect(decapsulate(out) == inner)
        #expect(decapsulate(out, local: [IPAddress(c.outer.rs2)!]) == nil)
        #expect(decapsulate(out, directors: [IPAddress(c.outer.lip)!]) == nil)
        if c.kind == .gue { #expect(decapsulate(out, port: Self.guePort + 1) == nil) }
        if c.outerChecksum {
            // One flipped payload bit: GRE's checksum or GUE's UDP checksum refuses it.
            var damaged = out
            damaged[damaged.count - 1] ^= 0x01
            #expect(decapsulate(damaged) == nil)
        }
    }

    /// ensure_mtu_is_adequate with `__ip_vs_get_out_rt`'s reduced MTU: a DF datagram that fits
    /// the link but not the link less the tunnel is answered with the MTU less the overhead.
    @Test(arguments: cases)
    func tooBigIsSizedByTheOverhead(_ c: Case) {
        let mtu = 1400
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6, mtu: mtu))
        let headers = (c.innerIPv6 ? 40 : 20) + 20
        let fits = Lab.fromClient(c.inner, .tcp, payload: String(repeating: "x", count: mtu - c.overhead - headers))
        #expect(h.run(fits).0 == .forward(interface: 1))
        let big = Lab.fromClient(c.inner, .tcp, flags: [.ack], payload: String(repeating: "x", count: mtu - c.overhead - headers + 1))
        let (verdict, out) = h.run(big)
        #expect(verdict == .answer(interface: 0))
        let l3 = Array(out.dropFirst(14))
        if c.innerIPv6 {
            #expect(l3.count > 48 && l3[40] == 2 && l3[41] == 0, "ICMPv6 packet-too-big")
            let reported = l3.count > 48 ? UInt32(l3[44]) << 24 | UInt32(l3[45]) << 16 | UInt32(l3[46]) << 8 | UInt32(l3[47]) : 0
            #expect(reported == UInt32(max(mtu - c.overhead, 1280)))
        } else {
            #expect(l3.count > 28 && l3[20] == 3 && l3[21] == 4, "ICMP fragmentation-needed")
            let reported = l3.count > 28 ? UInt16(l3[26]) << 8 | UInt16(l3[27]) : 0
            #expect(reported == UInt16(mtu - c.overhead))
        }
    }

    @Test func anIPv4DatagramWithoutDFThatNoLongerFitsIsDroppedByName() {
        let h = Harness(Self.config(TunnelSettings(kind: .gre), mtu: 1400))
        let frame = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv4(source: Lab.v4.client, destination: Lab.v4.vip, dontFragment: false)
            .tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: [.syn])
            .payload(String(repeating: "x", count: 1400 - 24 - 40 + 1))
        #expect(h.run(frame.bytes).0 == .drop(.tunnelFragmentationUnsupported))
    }

    /// The bug this fixes: an IPv6 real server under an IPv4 service used to get an IPv4 outer
    /// header addressed to the low 32 bits of its address.
    @Test func anIPv6RealServerUnderAnIPv4ServiceGetsAnIPv6OuterHeader() {
        let h = Harness(Self.config(.ipip, mixed: true))
        let (verdict, out) = h.run(Lab.fromClient(Lab.v4, .tcp))
        #expect(verdict == .forward(interface: 1))
        #expect(out.count > 54 && out[12] == 0x86 && out[13] == 0xDD)
        #expect(Array(out[38..<54]) == [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11])
    }

    @Test func aFamilyWithoutASourceAddressIsDroppedByName() {
        var config = Self.config(.ipip, mixed: true)
        config.interfaces[1].addresses = [IPAddress("198.18.1.1")!]
        let h = Harness(config)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .drop(.tunnelSourceUnavailable))
    }

    /// A super-frame cannot be cut by the kernel once wrapped: the segmenter cuts it, fixing the
    /// outer lengths and checksums of every segment, each of which decapsulates to a valid segment.
    @Test(arguments: cases)
    func tunnelledSuperFramesAreCutWithEveryHeaderFixed(_ c: Case) throws {
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6))
        _ = h.run(Lab.fromClient(c.inner, .tcp))
        _ = h.run(Lab.fromClient(c.inner, .tcp, flags: [.ack]))
        let segment = 1000
        let result = OffloadTests.run(h, OffloadTests.dataFromClient(c.inner, bytes: 5 * segment + 1), partial: true,
                                      sinkFinishes: true, segmentation: .init(segmentSize: segment, gsoType: 1))
        #expect(result.verdict == .forward(interface: 1))
        #expect(result.packet.needsSoftwareSegmentation)
        #expect(result.packet.tunnelHeaderLength == c.partialOverhead)
        var frame = result.bytes
        try frame.withUnsafeMutableBytes { raw in
            let cutter = try #require(SoftwareSegmenter(frame: raw.baseAddress!, length: raw.count, segmentSize: segment,
                                                        mtu: 1500, tunnelHeaderLength: c.partialOverhead))
            #expect(cutter.count == 6)
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
            defer { out.deallocate() }
            var carried = 0
            for k in 0..<cutter.count {
                let length = cutter.write(k, into: out.baseAddress!, capacity: out.count)
                #expect(length > 0)
                let one = UnsafeMutableRawBufferPointer(start: out.baseAddress, count: length)
                if c.checksum == .remote {
                    // Each segment still carries the option, and its TCP checksum is left to the real server.
                    let gue = Array(UnsafeRawBufferPointer(start: out.baseAddress! + 14 + (c.outerIPv6 ? 40 : 20) + 8, count: 12))
                    let start = c.innerIPv6 ? 40 : 20
                    #expect(gue == [2, c.innerIPv6 ? 41 : 4, 0, 1, 0x80, 0, 0, 0, 0, UInt8(start), 0, UInt8(start + 16)])
                }
                guard case .inner(let inner) = TunnelDecapsulation.of(one, localAddresses: [IPAddress(c.outer.rs1)!],
                                                                       guePort: Self.guePort) else {
                    Issue.record("segment \(k) does not decapsulate")
                    continue
                }
                let (source, destination, l4): (IPAddress, IPAddress, (UnsafeMutableRawPointer, Int))
                if c.innerIPv6 {
                    let ip = try #require(try? IPv6Packet(inner.baseAddress!, length: inner.count))
                    (source, destination, l4) = (ip.source, ip.destination, (ip.upper, ip.upperLength))
                } else {
                    let ip = try #require(try? IPv4Packet(inner.baseAddress!, length: inner.count))
                    (source, destination, l4) = (ip.sourceAddress, ip.destinationAddress, (ip.payload, ip.payloadLength))
                }
                let pseudo = c.innerIPv6
                    ? Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .tcp, length: l4.1)
                    : Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .tcp, length: l4.1)
                #expect(Checksum.fold(Checksum.sum(l4.0, count: l4.1, initial: pseudo)) == 0xFFFF, "segment \(k) TCP checksum")
                let tcp = try #require(try? TCPSegment(l4.0, length: l4.1))
                carried += l4.1 - tcp.headerLength
            }
            #expect(carried == 5 * segment + 1)
        }
    }

    // MARK: GUE remote checksum offload

    static let remoteCases = cases.filter { $0.checksum == .remote }

    /// The pseudo-header sum of the inner TCP segment, folded and not complemented, as a
    /// sending stack leaves a partial checksum (`__tcp_v4_send_check`), from the bytes alone.
    static func partialChecksum(_ datagram: [UInt8], innerIPv6: Bool) -> UInt16 {
        let header = innerIPv6 ? 40 : 20
        let length = datagram.count - header
        let pseudo: [UInt8] = innerIPv6
            ? Array(datagram[8..<40]) + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, 6]
            : Array(datagram[12..<20]) + [0, 6, UInt8(length >> 8), UInt8(length & 0xFF)]
        return ~internetChecksum(pseudo)
    }

    /// ipvs_gue_encap for a frame whose checksum is partial: two words of options (the private
    /// flags word with GUE_PFLAG_REMCSUM, then the start and offset from the inner datagram's
    /// first byte), the inner TCP checksum left as the pseudo-header sum, the UDP checksum
    /// computed over it; and the real server's decapsulator completes the inner checksum.
    @Test(arguments: remoteCases)
    func remoteChecksumOffloadLeavesTheInnerChecksumToTheRealServer(_ c: Case) {
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6))
        let (verdict, out) = h.run(Lab.fromClient(c.inner, .tcp, payload: "GET / HTTP/1.0\r\n\r\n").bytes, checksumPartial: true)
        #expect(verdict == .forward(interface: 1))
        let complete = Self.innerDatagram(c, flags: [.syn], payload: "GET / HTTP/1.0\r\n\r\n")
        let start = c.innerIPv6 ? 40 : 20
        var partial = complete
        let sum = Self.partialChecksum(complete, innerIPv6: c.innerIPv6)
        partial[start + 16] = UInt8(sum >> 8)
        partial[start + 17] = UInt8(sum & 0xFF)
        let gue: [UInt8] = [0x02, c.innerIPv6 ? 41 : 4, 0x00, 0x01, 0x80, 0, 0, 0, 0, UInt8(start), 0, UInt8(start + 16)]
        let eth = Frame.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC)
        let outer = c.outerIPv6
            ? eth.ipv6(source: c.outer.directorServer, destination: c.outer.rs1, hopLimit: 63)
            : eth.ipv4(source: c.outer.directorServer, destination: c.outer.rs1, ttl: 63, identification: 1,
                       dontFragment: !c.innerIPv6)
        let expected = outer.udp(sourcePort: Self.gueSourcePort(out, c), destinationPort: Self.guePort, checksum: true)
            .payload(gue + partial).bytes
        expectBytes(out, expected, "remote checksum offload")

        var copy = out
        let decapsulated = copy.withUnsafeMutableBytes { raw -> [UInt8]? in
            guard case .inner(let datagram) = TunnelDecapsulation.of(raw, localAddresses: [IPAddress(c.outer.rs1)!],
                                                                      guePort: Self.guePort) else { return nil }
            return Array(UnsafeRawBufferPointer(datagram))
        }
        #expect(decapsulated == complete, "the real server completes the checksum")
    }

    /// The option's 8 bytes count in the MTU only for a frame that gets it (`__ip_vs_get_out_rt`).
    @Test(arguments: remoteCases)
    func tooBigCountsTheOptionForAPartialFrame(_ c: Case) {
        let mtu = 1400
        let h = Harness(Self.config(c.tunnel, mixed: c.innerIPv6 != c.outerIPv6, mtu: mtu))
        let headers = (c.innerIPv6 ? 40 : 20) + 20
        let largest = mtu - c.partialOverhead - headers
        #expect(h.run(Lab.fromClient(c.inner, .tcp, payload: String(repeating: "x", count: largest)).bytes,
                      checksumPartial: true).0 == .forward(interface: 1))
        let big = Lab.fromClient(c.inner, .tcp, flags: [.ack], payload: String(repeating: "x", count: largest + 1))
        #expect(h.run(big.bytes, checksumPartial: true).0 == .answer(interface: 0))
        // Complete, the same datagram gets a plain GUE header and fits.
        #expect(h.run(big.bytes).0 == .forward(interface: 1))
    }

    /// Options that point outside the inner datagram, or at a field an odd distance from the
    /// start, or private flags lvsd does not know, are refused rather than written through.
    @Test func malformedRemoteChecksumOptionsAreRefused() {
        let c = Self.remoteCases[0]
        let h = Harness(Self.config(c.tunnel))
        let (_, out) = h.run(Lab.fromClient(c.inner, .tcp, payload: "hello").bytes, checksumPartial: true)
        let option = 14 + 20 + 8 + 4
        func refused(_ change: (inout [UInt8]) -> Void) -> Bool {
            var frame = out
            change(&frame)
            // Keep the outer UDP checksum out of the way: zero means none.
            frame[14 + 20 + 6] = 0
            frame[14 + 20 + 7] = 0
            return frame.withUnsafeMutableBytes { raw in
                if case .notForUs = TunnelDecapsulation.of(raw, localAddresses: [IPAddress(c.outer.rs1)!], guePort: Self.guePort) {
                    return true
                }
                return false
            }
        }
        #expect(!refused { _ in }, "the director's own frame")
        #expect(refused { $0[option + 6] = 0x40 }, "offset past the datagram")
        #expect(refused { $0[option + 7] = 21 }, "field an odd distance from the start")
        #expect(refused { $0[option + 5] = 40 }, "field before the start")
        #expect(refused { $0[option] = 0x40 }, "an unknown private flag")
        #expect(refused { $0[option - 2] = 0x80 }, "an unknown GUE flag")
        #expect(refused { $0[option - 4] = 0x01 }, "options longer than the flags say fit in one word")
    }
}
