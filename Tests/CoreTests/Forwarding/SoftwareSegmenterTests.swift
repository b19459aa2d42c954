import Core
import PacketBuilder
import Testing
import Wire

/// `SoftwareSegmenter` against frames PacketBuilder renders from scratch: every segment must
/// be a valid wire packet (lengths, identifications, header and L4 checksums recomputed
/// independently here) and the segments' payloads, in order, must be the super-frame's.
@Suite struct SoftwareSegmenterTests {
    static let clientMAC = MACAddress("02:00:00:00:c0:01")!
    static let directorMAC = MACAddress("02:00:00:00:00:01")!

    /// Deterministic payload bytes.
    static func payload(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    struct Segment {
        var bytes: [UInt8]
    }

    /// Cuts `frame` and returns each segment's bytes.
    static func cut(_ frame: [UInt8], segmentSize: Int, mtu: Int = 1500) -> [[UInt8]]? {
        var copy = frame
        return copy.withUnsafeMutableBytes { raw -> [[UInt8]]? in
            guard let s = SoftwareSegmenter(frame: raw.baseAddress!, length: raw.count, segmentSize: segmentSize, mtu: mtu) else {
                return nil
            }
            var out: [[UInt8]] = []
            var buffer = [UInt8](repeating: 0, count: 70_000)
            for i in 0..<s.count {
                let n = buffer.withUnsafeMutableBytes { s.write(i, into: $0.baseAddress!, capacity: $0.count) }
                out.append(Array(buffer[0..<n]))
            }
            return out
        }
    }

    /// IPv4 + TCP: 4,000 bytes at MSS 1448 become 1448 + 1448 + 1104, sequence numbers step
    /// by the MSS, IDs count up, FIN and PSH only on the last segment, CWR only on the first.
    @Test func tcpOverIPv4() throws {
        let data = Self.payload(4000)
        let frame = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10", identification: 500)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: [.ack, .psh, .fin, .cwr], sequence: 0xFFFF_F000,
                 acknowledgment: 77, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2])
            .payload(data).bytes
        let segments = try #require(Self.cut(frame, segmentSize: 1448))
        #expect(segments.count == 3)
        var joined: [UInt8] = []
        for (i, var s) in segments.enumerated() {
            try s.withUnsafeMutableBytes { raw in
                let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
                let ip = try IPv4Packet(eth.payload, length: eth.payloadLength)
                #expect(ip.totalLength == eth.payloadLength)
                #expect(ip.identification == 500 &+ UInt16(i))
                #expect(ip.isChecksumValid)
                let tcp = try TCPSegment(ip.payload, length: ip.payloadLength)
                #expect(tcp.headerLength == 32)
                #expect(tcp.sequenceNumber == 0xFFFF_F000 &+ UInt32(i * 1448))
                #expect(tcp.acknowledgmentNumber == 77)
                let last = i == segments.count - 1
                #expect(tcp.flags.contains(.fin) == last)
                #expect(tcp.flags.contains(.psh) == last)
                #expect(tcp.flags.contains(.cwr) == (i == 0))
                #expect(tcp.flags.contains(.ack))
                let pseudo = Checksum.pseudoHeaderIPv4(source: ip.source, destination: ip.destination,
                                                       protocol: IPProtocol.tcp, length: ip.payloadLength)
                #expect(Checksum.fold(Checksum.sum(ip.payload, count: ip.payloadLength, initial: pseudo)) == 0xFFFF)
                #expect(ip.payloadLength - 32 == (last ? 1104 : 1448))
                joined += Array(UnsafeRawBufferPointer(start: ip.payload + 32, count: ip.payloadLength - 32))
            }
        }
        #expect(joined == data)
    }

    /// IPv6 with an extension header + TCP: payload lengths cover the extension header.
    @Test func tcpOverIPv6WithExtensionHeader() throws {
        let data = Self.payload(3000)
        let frame = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv6(source: "2001:db8::2", destination: "2001:db8::10")
            .ipv6Extension(0)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: [.ack], sequence: 1)
            .payload(data).bytes
        let segments = try #require(Self.cut(frame, segmentSize: 1400))
        #expect(segments.count == 3)
        var joined: [UInt8] = []
        for var s in segments {
            try s.withUnsafeMutableBytes { raw in
                let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
                let ip = try IPv6Packet(eth.payload, length: eth.payloadLength)
                #expect(ip.totalLength == eth.payloadLength)
                let l4Length = ip.totalLength - ip.upperOffset
                let pseudo = Checksum.pseudoHeaderIPv6(source: ip.source, destination: ip.destination,
                                                       nextHeader: IPProtocol.tcp, length: l4Length)
                #expect(Checksum.fold(Checksum.sum(ip.upper, count: l4Length, initial: pseudo)) == 0xFFFF)
                joined += Array(UnsafeRawBufferPointer(start: ip.upper + 20, count: l4Length - 20))
            }
        }
        #expect(joined == data)
    }

    /// TUN: the outer IPv4 header gets its own length, counting ID and checksum per segment;
    /// a segment size of 0 cuts to the MTU, outer header included.
    @Test func tunnelledTCPCutToTheMTU() throws {
        let data = Self.payload(5000)
        let frame = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.1", destination: "198.18.0.11", identification: 9)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10", identification: 100)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: [.ack], sequence: 5)
            .payload(data).bytes
        let segments = try #require(Self.cut(frame, segmentSize: 0, mtu: 1500))
        #expect(segments.count == 4)  // 1440 bytes of payload each: 1500 − 20 − 20 − 20
        var joined: [UInt8] = []
        for (i, var s) in segments.enumerated() {
            try s.withUnsafeMutableBytes { raw in
                let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
                let outer = try IPv4Packet(eth.payload, length: eth.payloadLength)
                #expect(outer.totalLength == eth.payloadLength)
                #expect(outer.totalLength <= 1500)
                #expect(outer.protocol == IPProtocol.ipip)
                #expect(outer.identification == 9 &+ UInt16(i))
                #expect(outer.isChecksumValid)
                let inner = try IPv4Packet(outer.payload, length: outer.payloadLength)
                #expect(inner.totalLength == outer.payloadLength)
                #expect(inner.identification == 100 &+ UInt16(i))
                #expect(inner.isChecksumValid)
                let tcp = try TCPSegment(inner.payload, length: inner.payloadLength)
                #expect(tcp.sequenceNumber == 5 &+ UInt32(i * 1440))
                let pseudo = Checksum.pseudoHeaderIPv4(source: inner.source, destination: inner.destination,
                                                       protocol: IPProtocol.tcp, length: inner.payloadLength)
                #expect(Checksum.fold(Checksum.sum(inner.payload, count: inner.payloadLength, initial: pseudo)) == 0xFFFF)
                joined += Array(UnsafeRawBufferPointer(start: inner.payload + 20, count: inner.payloadLength - 20))
            }
        }
        #expect(joined == data)
    }

    /// UDP_L4 (UDP_SEGMENT): each slice becomes its own datagram with its own length and checksum.
    @Test func udpSegmentation() throws {
        let data = Self.payload(2500)
        let frame = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10")
            .udp(sourcePort: 5000, destinationPort: 53)
            .payload(data).bytes
        let segments = try #require(Self.cut(frame, segmentSize: 1000))
        #expect(segments.count == 3)
        var joined: [UInt8] = []
        for var s in segments {
            try s.withUnsafeMutableBytes { raw in
                let eth = try EthernetFrame(raw.baseAddress!, length: raw.count)
                let ip = try IPv4Packet(eth.payload, length: eth.payloadLength)
                let udp = try UDPDatagram(ip.payload, length: ip.payloadLength)
                #expect(Int(udp.length) == ip.payloadLength)
                let pseudo = Checksum.pseudoHeaderIPv4(source: ip.source, destination: ip.destination,
                                                       protocol: IPProtocol.udp, length: ip.payloadLength)
                #expect(udp.isChecksumValid(pseudoHeaderSum: pseudo))
                #expect(udp.checksum != 0)
                joined += Array(UnsafeRawBufferPointer(start: ip.payload + 8, count: ip.payloadLength - 8))
            }
        }
        #expect(joined == data)
    }

    /// Only unfragmented TCP and UDP can be cut; anything else is refused, never guessed at.
    @Test func refusesWhatItCannotCut() {
        let icmp = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10").icmpv4(type: 8, code: 0).payload(Self.payload(3000)).bytes
        #expect(Self.cut(icmp, segmentSize: 1000) == nil)
        let fragment = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10", moreFragments: true)
            .udp(sourcePort: 1, destinationPort: 2).payload(Self.payload(3000)).bytes
        #expect(Self.cut(fragment, segmentSize: 1000) == nil)
        let arp = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .arp(operation: 1, senderMAC: Self.clientMAC, senderIP: "198.18.0.2", targetMAC: .zero, targetIP: "198.18.0.10").bytes
        #expect(Self.cut(arp, segmentSize: 1000) == nil)
        // Headers alone larger than the MTU leave no room for payload.
        let tcp = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10")
            .tcp(sourcePort: 1, destinationPort: 2, flags: [.ack]).payload(Self.payload(100)).bytes
        #expect(Self.cut(tcp, segmentSize: 0, mtu: 40) == nil)
    }

    /// A segment that does not fit the caller's buffer is not written.
    @Test func segmentLargerThanTheBufferIsNotWritten() throws {
        var frame = Frame.ethernet(destination: Self.directorMAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.10")
            .tcp(sourcePort: 1, destinationPort: 2, flags: [.ack]).payload(Self.payload(3000)).bytes
        try frame.withUnsafeMutableBytes { raw in
            let s = try #require(SoftwareSegmenter(frame: raw.baseAddress!, length: raw.count, segmentSize: 1448, mtu: 1500))
            var small = [UInt8](repeating: 0, count: 100)
            #expect(small.withUnsafeMutableBytes { s.write(0, into: $0.baseAddress!, capacity: $0.count) } == 0)
            #expect(small.withUnsafeMutableBytes { s.write(s.count, into: $0.baseAddress!, capacity: $0.count) } == 0)
        }
    }
}
