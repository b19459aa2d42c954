import Testing
import Wire

@Suite struct ICMPv4MessageTests {
    static let echo: [UInt8] = Array(Frames.ipv4Echo[34...])
    static let fragmentationNeeded: [UInt8] = Array(Frames.ipv4FragmentationNeeded[34...])

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try ICMPv4Message($0, length: $1) } }

    @Test func readEchoRequest() throws {
        try reading(Self.echo) { base, length in
            let icmp = try ICMPv4Message(base, length: length)
            #expect(icmp.type == ICMPv4Type.echoRequest)
            #expect(icmp.code == .zero)
            #expect(icmp.checksum == 0xa27f)
            #expect(icmp.rest == 0x1234_0001)
            #expect(icmp.payload == base + 8)
            #expect(icmp.payloadLength == 16)
            #expect(!icmp.isError)
            #expect(icmp.isChecksumValid)
        }
    }

    @Test func readFragmentationNeededAndItsQuote() throws {
        try reading(Self.fragmentationNeeded) { base, length in
            let icmp = try ICMPv4Message(base, length: length)
            #expect(icmp.type == ICMPv4Type.destinationUnreachable)
            #expect(icmp.code == .fragmentationNeeded)
            #expect(icmp.nextHopMTU == 1400)
            #expect(icmp.rest == 1400)
            #expect(icmp.isError)
            #expect(icmp.isChecksumValid)
            #expect(icmp.payloadLength == 28)
            // The quote's total length (40) promises more than the 28 bytes quoted: a full
            // validating view must refuse it, which is why quotes need their own view.
            #expect(throws: WireError.badTotalLength) { try IPv4Packet(icmp.payload, length: icmp.payloadLength) }
        }
    }

    @Test func isErrorFollowsRFC1122() throws {
        // RFC 1122 §3.2.2: the error messages quote the offending datagram; the rest are queries.
        let errors: Set<UInt8> = [3, 4, 5, 11, 12]
        for type in UInt8(0)...UInt8(20) {
            var bytes = Self.echo
            bytes[0] = type
            try reading(bytes) { base, length in
                let icmp = try ICMPv4Message(base, length: length)
                #expect(icmp.isError == errors.contains(type), "type \(type)")
            }
        }
    }

    @Test func writeFields() throws {
        let out = try mutated(Self.echo) { base, length in
            let icmp = try ICMPv4Message(base, length: length)
            icmp.type = ICMPv4Type.echoReply
            icmp.code = ICMPv4Code(rawValue: 1)
            icmp.checksum = 0xbeef
            icmp.rest = 0x0102_0304
            icmp.nextHopMTU = 0x0576
        }
        #expect(out == [0x00, 0x01, 0xbe, 0xef, 0x01, 0x02, 0x05, 0x76] + Array(Self.echo[8...]))
    }

    @Test func fillChecksumOfAnEchoReply() throws {
        // Turning a request into a reply changes type 8 → 0; refilling must match an RFC 1624 update.
        let out = try mutated(Self.echo) { base, length in
            let icmp = try ICMPv4Message(base, length: length)
            let expected = Checksum.update(icmp.checksum, old: UInt16(0x0800), new: UInt16(0x0000))
            icmp.type = ICMPv4Type.echoReply
            icmp.fillChecksum()
            #expect(icmp.checksum == expected)
            #expect(icmp.isChecksumValid)
        }
        #expect(Array(out[0..<4]) == [0x00, 0x00, 0xaa, 0x7f])
    }

    @Test func parseNeedsOnlyTheEightByteHeader() {
        #expect(parse(Self.echo) == nil)
        #expect(parse(Array(Self.echo[0..<8])) == nil)
        #expect(parse(Array(Self.echo[0..<7])) == .truncated)
        #expect(parse([]) == .truncated)
    }

    @Test func emitEchoRequest() {
        let out = mutated(Self.echo) { base, length in
            ICMPv4Message.emit(into: base, type: ICMPv4Type.echoRequest, code: .zero, rest: 0x1234_0001)
            try! ICMPv4Message(base, length: length).fillChecksum()
        }
        #expect(out == Self.echo)
        let header = emitted(count: 8) { base in
            ICMPv4Message.emit(into: base, type: .destinationUnreachable, code: .fragmentationNeeded, rest: 1400)
        }
        #expect(header == [0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x05, 0x78])
    }
}

@Suite struct ICMPv6MessageTests {
    static let echo: [UInt8] = Array(Frames.ipv6Echo[54...])
    static let pseudoHeader = Checksum.pseudoHeaderIPv6(source: IPAddress("2001:db8::5")!,
                                                        destination: IPAddress("2001:db8:0:1::10")!,
                                                        nextHeader: IPProtocol.icmpv6, length: 24)

    @Test func readEchoRequest() throws {
        try reading(Self.echo) { base, length in
            let icmp = try ICMPv6Message(base, length: length)
            #expect(icmp.type == ICMPv6Type.echoRequest)
            #expect(icmp.code == .zero)
            #expect(icmp.checksum == 0xcea4)
            #expect(icmp.rest == 0x1234_0001)
            #expect(icmp.payload == base + 8)
            #expect(icmp.payloadLength == 16)
            #expect(!icmp.isError)
            #expect(icmp.isChecksumValid(pseudoHeaderSum: Self.pseudoHeader))
            // ICMPv6, unlike ICMPv4, is covered by the pseudo-header: without it the sum fails.
            #expect(!icmp.isChecksumValid(pseudoHeaderSum: 0))
        }
    }

    @Test func pseudoHeaderFromTheIPv6View() throws {
        try reading(Array(Frames.ipv6Echo[14...])) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.pseudoHeaderSum == Self.pseudoHeader)
        }
    }

    @Test func isErrorBelow128() throws {
        for (type, error) in [(UInt8(1), true), (2, true), (3, true), (4, true), (127, true),
                              (128, false), (129, false), (135, false), (136, false), (255, false)] {
            var bytes = Self.echo
            bytes[0] = type
            try reading(bytes) { base, length in
                let icmp = try ICMPv6Message(base, length: length)
                #expect(icmp.isError == error, "type \(type)")
            }
        }
    }

    @Test func writeFields() throws {
        let out = try mutated(Self.echo) { base, length in
            let icmp = try ICMPv6Message(base, length: length)
            icmp.type = ICMPv6Type.packetTooBig
            icmp.code = .zero
            icmp.checksum = 0x0102
            icmp.rest = 1280
        }
        #expect(out == [0x02, 0x00, 0x01, 0x02, 0x00, 0x00, 0x05, 0x00] + Array(Self.echo[8...]))
    }

    @Test func parseNeedsOnlyTheEightByteHeader() {
        #expect(parseError(Self.echo) { try ICMPv6Message($0, length: $1) } == nil)
        #expect(parseError(Array(Self.echo[0..<7])) { try ICMPv6Message($0, length: $1) } == .truncated)
    }

    @Test func emitAndFillEchoRequest() {
        let out = mutated(Self.echo) { base, length in
            ICMPv6Message.emit(into: base, type: ICMPv6Type.echoRequest, code: .zero, rest: 0x1234_0001)
            try! ICMPv6Message(base, length: length).fillChecksum(pseudoHeaderSum: Self.pseudoHeader)
        }
        #expect(out == Self.echo)
    }
}
