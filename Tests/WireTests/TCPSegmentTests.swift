import Testing
import Wire

@Suite struct TCPSegmentTests {
    /// The IPv4 SYN's segment: 40-byte header (20 of options), no data.
    static let syn: [UInt8] = Array(Frames.ipv4TCPSyn[34...])
    static let synPseudoHeader = Checksum.pseudoHeaderIPv4(source: 0xcb00_7105, destination: 0xc612_000a,
                                                           protocol: IPProtocol.tcp, length: 40)

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try TCPSegment($0, length: $1) } }

    @Test func readFields() throws {
        try reading(Self.syn) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.sourcePort == 46018)
            #expect(tcp.destinationPort == 80)
            #expect(tcp.sequenceNumber == 0x5b8e_2d10)
            #expect(tcp.acknowledgmentNumber == 0)
            #expect(tcp.headerLength == 40)
            #expect(tcp.flags == .syn)
            #expect(tcp.window == 64240)
            #expect(tcp.checksum == 0xf305)
            #expect(tcp.urgentPointer == 0)
            #expect(tcp.payloadLength == 0)
            #expect(tcp.length == 40)
            #expect(tcp.isChecksumValid(pseudoHeaderSum: Self.synPseudoHeader))
            // The wrong pseudo-header (another destination) must not verify.
            #expect(!tcp.isChecksumValid(pseudoHeaderSum: Checksum.pseudoHeaderIPv4(
                source: 0xcb00_7105, destination: 0xc612_000b, protocol: IPProtocol.tcp, length: 40)))
        }
    }

    @Test func flagBitsMatchRFC9293() {
        #expect(TCPFlags.fin.rawValue == 0x01)
        #expect(TCPFlags.syn.rawValue == 0x02)
        #expect(TCPFlags.rst.rawValue == 0x04)
        #expect(TCPFlags.psh.rawValue == 0x08)
        #expect(TCPFlags.ack.rawValue == 0x10)
        #expect(TCPFlags.urg.rawValue == 0x20)
        #expect(TCPFlags.ece.rawValue == 0x40)
        #expect(TCPFlags.cwr.rawValue == 0x80)
        #expect(TCPFlags([.syn, .ack]).rawValue == 0x12)
    }

    @Test func writeFields() throws {
        let out = try mutated(Self.syn) { base, length in
            let tcp = try TCPSegment(base, length: length)
            tcp.sourcePort = 80
            tcp.destinationPort = 46018
            tcp.sequenceNumber = 0x1111_1111
            tcp.acknowledgmentNumber = 0x5b8e_2d11
            tcp.flags = [.syn, .ack, .ece]
            tcp.window = 0x7120
            tcp.checksum = 0xbeef
            tcp.urgentPointer = 0x0102
        }
        let header: [UInt8] = [0x00, 0x50, 0xb3, 0xc2, 0x11, 0x11, 0x11, 0x11, 0x5b, 0x8e, 0x2d, 0x11,
                               0xa0, 0x52, 0x71, 0x20, 0xbe, 0xef, 0x01, 0x02]
        #expect(out == header + Array(Self.syn[20...]))
    }

    @Test func fillChecksumAfterNATRewrite() throws {
        // Rewriting the destination port and refilling must equal an incremental update.
        let out = try mutated(Self.syn) { base, length in
            let tcp = try TCPSegment(base, length: length)
            let incremental = Checksum.update(tcp.checksum, old: tcp.destinationPort, new: 8080)
            tcp.destinationPort = 8080
            tcp.fillChecksum(pseudoHeaderSum: Self.synPseudoHeader)
            #expect(tcp.checksum == incremental)
            #expect(tcp.isChecksumValid(pseudoHeaderSum: Self.synPseudoHeader))
        }
        #expect(referenceChecksum(out, pseudoHeader: [0xcb, 0x00, 0x71, 0x05, 0xc6, 0x12, 0x00, 0x0a, 0x00, 0x06, 0x00, 0x28]) == 0)
    }

    @Test func payloadLengthCountsDataAfterOptions() throws {
        let data: [UInt8] = Array("GET / HTTP/1.1\r\n".utf8)
        try reading(Self.syn + data) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.headerLength == 40)
            #expect(tcp.payloadLength == data.count)
        }
    }

    @Test func parseAcceptsGoodSegments() {
        #expect(parse(Self.syn) == nil)
        #expect(parse(Array(Frames.ipv6TCPSyn[54...])) == nil)
        var bare = Array(Self.syn[0..<20])
        bare[12] = 0x50
        #expect(parse(bare) == nil)
    }

    @Test func truncated() {
        #expect(parse([]) == .truncated)
        #expect(parse(Array(Self.syn[0..<19])) == .truncated)
    }

    @Test func badDataOffset() {
        for offset: UInt8 in [0, 1, 4] {  // below five words
            var bytes = Self.syn
            bytes[12] = offset << 4
            #expect(parse(bytes) == .badHeaderLength, "data offset \(offset)")
        }
        // Data offset 10 (40 bytes) but only 36 arrived; data offset 15 (60) on a 40-byte segment.
        #expect(parse(Array(Self.syn[0..<36])) == .badHeaderLength)
        var tooLong = Self.syn
        tooLong[12] = 0xf0
        #expect(parse(tooLong) == .badHeaderLength)
    }

    @Test func emitTheRealSyn() {
        let out = emitted(count: 40) { base in
            TCPSegment.emit(into: base, sourcePort: 46018, destinationPort: 80, sequence: 0x5b8e_2d10, acknowledgment: 0,
                            headerLength: 40, flags: .syn, window: 64240)
            for (i, byte) in Self.syn[20...].enumerated() { base.storeBytes(of: byte, toByteOffset: 20 + i, as: UInt8.self) }
            try! TCPSegment(base, length: 40).fillChecksum(pseudoHeaderSum: Self.synPseudoHeader)
        }
        #expect(out == Self.syn)
    }

    @Test func emitBareHeader() {
        let out = emitted(count: 20) { base in
            TCPSegment.emit(into: base, sourcePort: 0x1234, destinationPort: 0x5678, sequence: 0x0102_0304,
                            acknowledgment: 0x0506_0708, flags: [.ack, .fin], window: 0xffff)
        }
        #expect(out == [0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                        0x50, 0x11, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00])
    }
}
