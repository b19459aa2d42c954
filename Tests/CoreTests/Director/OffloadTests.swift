import Core
import PacketBuilder
import Testing
import Wire

/// Frames the kernel hands over unfinished (a partial L4 checksum, a GSO/GRO super-frame of up
/// to 64 KiB) and frames too large for the egress MTU: what Core leaves for the sink, and
/// IPVS's fragmentation-needed / packet-too-big answers (ip_vs_xmit.c ensure_mtu_is_adequate).
@Suite struct OffloadTests {
    struct Outcome {
        var verdict: Verdict
        var bytes: [UInt8]
        var packet: PacketBuffer
    }

    static func run(_ h: Harness, _ frame: [UInt8], interface: Int = 0, partial: Bool = false,
                    sinkFinishes: Bool = false, segmentation: PacketBuffer.Segmentation? = nil) -> Outcome {
        let headroom = PacketBuffer.recommendedHeadroom
        let capacity = headroom + frame.count + 256
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        frame.withUnsafeBytes { (raw + headroom).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var packet = PacketBuffer(base: raw, capacity: capacity, offset: headroom, length: frame.count, interface: interface,
                                  checksumPartial: partial, sinkFinishesChecksum: sinkFinishes, segmentation: segmentation)
        let verdict = h.director.process(&packet, now: h.now)
        return Outcome(verdict: verdict, bytes: Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length)),
                       packet: packet)
    }

    static func payload(_ n: Int) -> String { String(repeating: "x", count: n) }

    /// A TCP data segment from the client of an established connection, `bytes` of payload,
    /// with its checksum left partial (the pseudo-header sum only) as a sending stack leaves it.
    static func dataFromClient(_ f: Lab.Family, bytes: Int, dontFragment: Bool = true) -> [UInt8] {
        let eth = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
        let ip = f.isIPv6 ? eth.ipv6(source: f.client, destination: f.vip)
                          : eth.ipv4(source: f.client, destination: f.vip, dontFragment: dontFragment)
        var frame = ip.tcp(sourcePort: Lab.clientPort, destinationPort: Lab.virtualPort, flags: [.ack], sequence: 1001)
            .payload(payload(bytes)).bytes
        leavePartial(&frame)
        return frame
    }

    /// Replaces the frame's TCP checksum with the folded pseudo-header sum.
    static func leavePartial(_ frame: inout [UInt8]) {
        frame.withUnsafeMutableBytes { raw in
            guard let s = l4(raw) else { return }
            s.tcp.checksum = Checksum.fold(s.pseudo)
        }
    }

    /// The frame's TCP segment and its pseudo-header sum, read with Wire's views.
    static func l4(_ raw: UnsafeMutableRawBufferPointer) -> (tcp: TCPSegment, pseudo: UInt32, start: Int)? {
        guard let eth = try? EthernetFrame(raw.baseAddress!, length: raw.count) else { return nil }
        if eth.etherType == EtherType.ipv6 {
            guard let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength),
                  let tcp = try? TCPSegment(ip.upper, length: ip.upperLength) else { return nil }
            return (tcp, Checksum.pseudoHeaderIPv6(source: ip.source, destination: ip.destination,
                                                   nextHeader: IPProtocol.tcp, length: ip.upperLength),
                    ip.upper - raw.baseAddress!)
        }
        guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength),
              let tcp = try? TCPSegment(ip.payload, length: ip.payloadLength) else { return nil }
        return (tcp, Checksum.pseudoHeaderIPv4(source: ip.source, destination: ip.destination,
                                               protocol: IPProtocol.tcp, length: ip.payloadLength),
                ip.payload - raw.baseAddress!)
    }

    static func established(_ method: ForwardingMethod, _ f: Lab.Family) -> Harness {
        let h = Harness(Lab.config(method))
        let (verdict, _) = h.run(Lab.fromClient(f, .tcp))
        #expect(verdict == .forward(interface: 1))
        return h
    }

    /// A NAT super-frame keeps its checksum partial: the field holds the pseudo-header sum of
    /// the rewritten addresses, and checksumStart/Offset say where, for the kernel to finish
    /// per segment. Finishing it then gives a valid checksum for the whole super-frame.
    @Test(arguments: [false, true]) func natSuperFrameStaysPartialForTheNewAddresses(ipv6: Bool) throws {
        let f = ipv6 ? Lab.v6 : Lab.v4
        let h = Self.established(.nat, f)
        // The largest MSS a 1500-byte MTU allows with 20-byte TCP headers.
        let gso = PacketBuffer.Segmentation(segmentSize: ipv6 ? 1440 : 1460, gsoType: ipv6 ? 4 : 1)
        var out = Self.run(h, Self.dataFromClient(f, bytes: 30_000), partial: true, sinkFinishes: true, segmentation: gso)
        #expect(out.verdict == .forward(interface: 1))
        #expect(out.packet.checksumPartial)
        #expect(out.packet.segmentation == gso)
        #expect(!out.packet.needsSoftwareSegmentation)
        try out.bytes.withUnsafeMutableBytes { raw in
            let s = try #require(Self.l4(raw))
            #expect(s.tcp.destinationPort == Lab.realPort)
            #expect(out.packet.checksumStart == s.start)
            #expect(out.packet.checksumOffset == TCPSegment.Offset.checksum)
            #expect(s.tcp.checksum == Checksum.fold(s.pseudo))
            // What the kernel does: sum from checksumStart, field included, and store the complement.
            s.tcp.checksum = ~Checksum.fold(Checksum.sum(raw.baseAddress! + s.start, count: s.tcp.length))
            #expect(s.tcp.isChecksumValid(pseudoHeaderSum: s.pseudo))
        }
    }

    /// Without a sink that finishes checksums (libpcap), a partial checksum is completed;
    /// with one, an ordinary frame's is left partial too (one pass over the payload saved).
    @Test func partialChecksumCompletedOnlyWhenTheSinkCannot() throws {
        let f = Lab.v4
        let h = Self.established(.nat, f)
        var full = Self.run(h, Self.dataFromClient(f, bytes: 500), partial: true, sinkFinishes: false)
        #expect(full.verdict == .forward(interface: 1))
        #expect(!full.packet.checksumPartial)
        try full.bytes.withUnsafeMutableBytes { raw in
            let s = try #require(Self.l4(raw))
            #expect(s.tcp.isChecksumValid(pseudoHeaderSum: s.pseudo))
        }
        var left = Self.run(h, Self.dataFromClient(f, bytes: 500), partial: true, sinkFinishes: true)
        #expect(left.packet.checksumPartial)
        try left.bytes.withUnsafeMutableBytes { raw in
            let s = try #require(Self.l4(raw))
            #expect(s.tcp.checksum == Checksum.fold(s.pseudo))
        }
    }

    /// IPVS ensure_mtu_is_adequate: a datagram larger than the egress MTU with DF set is
    /// answered with fragmentation-needed carrying the MTU, from the VIP, quoting the original
    /// (TTL not yet decremented); without DF it is dropped by name (lvsd does not fragment).
    @Test func tooBigWithDontFragmentIsAnsweredWithFragmentationNeeded() throws {
        let f = Lab.v4
        let h = Self.established(.nat, f)
        var out = Self.run(h, Self.dataFromClient(f, bytes: 1600))
        #expect(out.verdict == .answer(interface: 0))
        #expect(!out.packet.checksumPartial && out.packet.segmentation == nil)
        try out.bytes.withUnsafeMutableBytes { raw in
            let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
            #expect(eth.destination == Lab.clientMAC)
            let ip = try IPv4Packet(eth.payload, length: eth.payloadLength)
            #expect(ip.isChecksumValid)
            #expect(ip.sourceAddress == IPAddress(f.vip)!)
            #expect(ip.destinationAddress == IPAddress(f.client)!)
            let icmp = try ICMPv4Message(ip.payload, length: ip.payloadLength)
            #expect(icmp.type == ICMPv4Type.destinationUnreachable)
            #expect(icmp.code == .fragmentationNeeded)
            #expect(icmp.rest & 0xFFFF == 1500)
            #expect(Checksum.fold(Checksum.sum(ip.payload, count: ip.payloadLength)) == 0xFFFF)
            let quoted = try IPv4Packet(quoted: icmp.payload, length: icmp.payloadLength)
            #expect(quoted.timeToLive == 64)
            #expect(quoted.destinationAddress == IPAddress(f.vip)!)
            #expect(quoted.isChecksumValid)
        }
        let fragmentable = Self.run(h, Self.dataFromClient(f, bytes: 1600, dontFragment: false))
        #expect(fragmentable.verdict == .drop(.fragmentationUnsupported))
        #expect(h.director.count(.fragmentationUnsupported) == 1)
        // Exactly the MTU still fits.
        #expect(Self.run(h, Self.dataFromClient(f, bytes: 1500 - 40)).verdict == .forward(interface: 1))
    }

    /// IPv6 has no fragmenting routers: too big is always packet-too-big (RFC 8201).
    @Test func tooBigOverIPv6IsAnsweredWithPacketTooBig() throws {
        let f = Lab.v6
        let h = Self.established(.directRouting, f)
        var out = Self.run(h, Self.dataFromClient(f, bytes: 1600))
        #expect(out.verdict == .answer(interface: 0))
        try out.bytes.withUnsafeMutableBytes { raw in
            let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
            let ip = try IPv6Packet(eth.payload, length: eth.payloadLength)
            #expect(ip.source == IPAddress(f.vip)!)
            #expect(ip.destination == IPAddress(f.client)!)
            #expect(ip.totalLength <= IPv6Packet.minimumMTU)
            let icmp = try ICMPv6Message(ip.upper, length: ip.upperLength)
            #expect(icmp.type == ICMPv6Type.packetTooBig)
            #expect(icmp.rest == 1500)
            let pseudo = Checksum.pseudoHeaderIPv6(source: ip.source, destination: ip.destination,
                                                   nextHeader: IPProtocol.icmpv6, length: ip.upperLength)
            #expect(Checksum.fold(Checksum.sum(ip.upper, count: ip.upperLength, initial: pseudo)) == 0xFFFF)
        }
    }

    /// A super-frame is judged by its segments: 64 KiB with a 1448-byte MSS fits a 1500 MTU,
    /// a segment size that would not is answered like an ordinary frame that is too big.
    @Test func superFrameJudgedBySegmentSize() {
        let f = Lab.v4
        let h = Self.established(.nat, f)
        let fits = Self.run(h, Self.dataFromClient(f, bytes: 60_000), partial: true, sinkFinishes: true,
                            segmentation: .init(segmentSize: 1448, gsoType: 1))
        #expect(fits.verdict == .forward(interface: 1))
        let tooBig = Self.run(h, Self.dataFromClient(f, bytes: 60_000), partial: true, sinkFinishes: true,
                              segmentation: .init(segmentSize: 1600, gsoType: 1))
        #expect(tooBig.verdict == .answer(interface: 0))
        // Unknown segment size (libpcap): cut to the MTU later, so it always fits.
        let unknown = Self.run(h, Self.dataFromClient(f, bytes: 60_000), partial: true,
                               segmentation: .init(segmentSize: 0, gsoType: 0))
        #expect(unknown.verdict == .forward(interface: 1))
    }

    /// TUN: no offload describes an IPIP-wrapped super-frame, so Core asks for software
    /// segmentation, after checking that each segment plus the outer header fits the MTU.
    @Test func tunnelSuperFrameNeedsSoftwareSegmentation() {
        let f = Lab.v4
        let h = Self.established(.tunnel, f)
        let wrapped = Self.run(h, Self.dataFromClient(f, bytes: 20_000), partial: true, sinkFinishes: true,
                               segmentation: .init(segmentSize: 1428, gsoType: 1))
        #expect(wrapped.verdict == .forward(interface: 1))
        #expect(wrapped.packet.needsSoftwareSegmentation)
        // 20 + 20 + 1448 + 20 outer > 1500: the client is told 1480.
        let tooBig = Self.run(h, Self.dataFromClient(f, bytes: 20_000), partial: true, sinkFinishes: true,
                              segmentation: .init(segmentSize: 1448, gsoType: 1))
        #expect(tooBig.verdict == .answer(interface: 0))
        #expect(!tooBig.packet.needsSoftwareSegmentation)
        #expect(tooBig.packet.segmentation == nil)
        let mtu = tooBig.bytes.count > 42 ? UInt16(tooBig.bytes[40]) << 8 | UInt16(tooBig.bytes[41]) : 0
        #expect(mtu == 1480)
    }
}
