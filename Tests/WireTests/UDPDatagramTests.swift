import Testing
import Wire

@Suite struct UDPDatagramTests {
    /// The IPv4 DNS query's datagram (37 bytes).
    static let dns: [UInt8] = Array(Frames.ipv4UDPDNS[34...])
    static let dnsPseudoHeader = Checksum.pseudoHeaderIPv4(source: 0x0a00_0002, destination: 0xc612_0035,
                                                           protocol: IPProtocol.udp, length: 37)

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try UDPDatagram($0, length: $1) } }

    @Test func readFields() throws {
        try reading(Self.dns) { base, length in
            let udp = try UDPDatagram(base, length: length)
            #expect(udp.sourcePort == 53000)
            #expect(udp.destinationPort == 53)
            #expect(udp.length == 37)
            #expect(udp.checksum == 0xe4e1)
            #expect(udp.payload == base + 8)
            #expect(udp.payloadLength == 29)
            #expect(udp.isChecksumValid(pseudoHeaderSum: Self.dnsPseudoHeader))
        }
    }

    @Test func zeroChecksumMeansNoneOverIPv4() throws {
        var bytes = Self.dns
        bytes[6] = 0
        bytes[7] = 0
        try reading(bytes) { base, length in
            let udp = try UDPDatagram(base, length: length)
            #expect(udp.isChecksumValid(pseudoHeaderSum: Self.dnsPseudoHeader))
        }
    }

    @Test func writeFields() throws {
        let out = try mutated(Self.dns) { base, length in
            let udp = try UDPDatagram(base, length: length)
            udp.sourcePort = 53
            udp.destinationPort = 53000
            udp.setLength(0x0102)
            udp.checksum = 0xbeef
        }
        #expect(out == [0x00, 0x35, 0xcf, 0x08, 0x01, 0x02, 0xbe, 0xef] + Array(Self.dns[8...]))
    }

    @Test func fillChecksumSendsComputedZeroAsAllOnes() throws {
        // RFC 768: a computed checksum of 0 is transmitted as 0xffff, since 0 means "none".
        let out = try mutated(Self.dns) { base, length in
            let udp = try UDPDatagram(base, length: length)
            // Checksum 0xe4e1 means the data sums to ~0xe4e1 = 0x1b1e, which is 0xe4e1 short of
            // all ones; adding that to the source port (mod 0xffff, ones' complement) makes the
            // data sum 0xffff, whose complement is 0.
            udp.sourcePort = UInt16((53000 + 0xe4e1) % 0xffff)
            udp.fillChecksum(pseudoHeaderSum: Self.dnsPseudoHeader)
            #expect(udp.checksum == 0xffff)
            #expect(udp.isChecksumValid(pseudoHeaderSum: Self.dnsPseudoHeader))
        }
        #expect(word(out, 6) == 0xffff)
    }

    @Test func fillChecksumRestoresTheRealValue() throws {
        var broken = Self.dns
        broken[6] = 0x12
        let out = try mutated(broken) { base, length in
            try UDPDatagram(base, length: length).fillChecksum(pseudoHeaderSum: Self.dnsPseudoHeader)
        }
        #expect(out == Self.dns)
    }

    @Test func parseAcceptsGoodDatagrams() {
        #expect(parse(Self.dns) == nil)
        #expect(parse(Array(Frames.ipv6UDPDNS[54...])) == nil)
        #expect(parse([0x00, 0x35, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00]) == nil)  // empty payload
    }

    @Test func paddingPastTheLengthFieldIsIgnored() throws {
        try reading(Self.dns + [0, 0, 0]) { base, length in
            let udp = try UDPDatagram(base, length: length)
            #expect(udp.length == 37)
            #expect(udp.payloadLength == 29)
        }
    }

    @Test func truncated() {
        #expect(parse([]) == .truncated)
        #expect(parse(Array(Self.dns[0..<7])) == .truncated)
    }

    @Test func lyingLengthField() {
        var long = Self.dns
        long[5] = 38  // one more than arrived
        #expect(parse(long) == .badTotalLength)
        for declared: UInt8 in [0, 7] {  // shorter than the header itself
            var short = Self.dns
            short[5] = declared
            #expect(parse(short) == .badTotalLength, "length \(declared)")
        }
    }

    @Test func emitHeader() {
        let out = emitted(count: 8) { base in
            UDPDatagram.emit(into: base, sourcePort: 53000, destinationPort: 53, length: 37)
        }
        #expect(out == [0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00])
        let filled = mutated(Self.dns) { base, length in
            UDPDatagram.emit(into: base, sourcePort: 53000, destinationPort: 53, length: length)
            try! UDPDatagram(base, length: length).fillChecksum(pseudoHeaderSum: Self.dnsPseudoHeader)
        }
        #expect(filled == Self.dns)
    }
}
