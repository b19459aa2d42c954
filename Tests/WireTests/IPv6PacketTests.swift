import Testing
import Wire

@Suite struct IPv6PacketTests {
    /// The SYN's IP packet (80 bytes: 40 header, 40 TCP).
    static let syn: [UInt8] = Array(Frames.ipv6TCPSyn[14...])
    /// The DNS query's UDP datagram (37 bytes), the upper layer behind the extension chains below.
    static let udp: [UInt8] = Array(Frames.ipv6UDPDNS[54...])

    // Extension headers as they appear on the wire; the first byte (Next Header) is patched in by `chain`.

    /// Hop-by-Hop Options, 8 bytes: one PadN option with 4 bytes of padding.
    static let hopByHop: [UInt8] = [0xff, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00]
    /// Routing type 2 (RFC 6275), 24 bytes: Hdr Ext Len 2, one segment left, the home address.
    static let routing: [UInt8] = [0xff, 0x02, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99]
    /// Destination Options, 16 bytes: Hdr Ext Len 1, PadN of 12.
    static let destinationOptions: [UInt8] = [0xff, 0x01, 0x01, 0x0c] + [UInt8](repeating: 0, count: 12)
    /// Fragment header of a first fragment: offset 0, M = 1, identification 0xdeadbeef.
    static let firstFragment: [UInt8] = [0xff, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]
    /// Fragment header of a last fragment at byte 1448 (181 × 8), M = 0.
    static let lastFragment: [UInt8] = [0xff, 0x00, 0x05, 0xa8, 0xde, 0xad, 0xbe, 0xef]
    /// Fragment header of a middle fragment at byte 1448, M = 1.
    static let middleFragment: [UInt8] = [0xff, 0x00, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef]
    /// Authentication Header (RFC 4302) with a 96-bit ICV: Payload Len 4 → (4 + 2) × 4 = 24 bytes.
    static let authentication: [UInt8] = [0xff, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x07]
        + [UInt8](repeating: 0xa5, count: 12)

    /// A packet from `Frames.ipv6UDPDNS`'s addresses whose chain is `headers` (each paired with
    /// its own protocol number) followed by `upper` with protocol `upperProtocol`.
    static func chain(_ headers: [(IPProtocol, [UInt8])], upperProtocol: IPProtocol = IPProtocol.udp,
                      upper: [UInt8] = udp, payloadLength: Int? = nil) -> [UInt8] {
        var body: [UInt8] = []
        for (i, (_, header)) in headers.enumerated() {
            var h = header
            h[0] = (i + 1 < headers.count ? headers[i + 1].0 : upperProtocol).rawValue
            body += h
        }
        body += upper
        var fixed = Array(Frames.ipv6UDPDNS[14..<54])
        let length = payloadLength ?? body.count
        fixed[4] = UInt8(length >> 8)
        fixed[5] = UInt8(length & 0xff)
        fixed[6] = (headers.first?.0 ?? upperProtocol).rawValue
        return fixed + body
    }

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try IPv6Packet($0, length: $1) } }

    // MARK: Read

    @Test func readFields() throws {
        try reading(Self.syn) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.version == 6)
            #expect(ip.trafficClass == 0)
            #expect(ip.flowLabel == 0x12345)
            #expect(ip.payloadLength == 40)
            #expect(ip.nextHeader == IPProtocol.tcp)
            #expect(ip.hopLimit == 64)
            #expect(ip.source == IPAddress("2001:db8::5"))
            #expect(ip.destination == IPAddress("2001:db8:0:1::10"))
            #expect(ip.totalLength == 80)
            #expect(ip.upperProtocol == IPProtocol.tcp)
            #expect(ip.upperOffset == 40)
            #expect(ip.upper == base + 40)
            #expect(ip.upperLength == 40)
            #expect(!ip.isFragment)
            #expect(ip.fragmentHeaderOffset == 0)
            #expect(ip.fragmentOffset == 0)
            #expect(!ip.moreFragments)
            #expect(ip.fragmentIdentification == 0)
            #expect(ip.carriesTransportHeader)
            let tcp = try TCPSegment(ip.upper, length: ip.upperLength)
            #expect(tcp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    @Test func readTrafficClassAcrossTheNibbleBoundary() throws {
        // 6 | TC 0xb8 | flow 0xabcde: the class straddles the first two bytes.
        var bytes = Self.syn
        bytes[0...3] = [0x6b, 0x8a, 0xbc, 0xde]
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.version == 6)
            #expect(ip.trafficClass == 0xb8)
            #expect(ip.flowLabel == 0xabcde)
        }
    }

    // MARK: Write

    @Test func writeFields() throws {
        let out = try mutated(Self.syn) { base, length in
            let ip = try IPv6Packet(base, length: length)
            ip.trafficClass = 0xb8
            ip.flowLabel = 0xfff_abcde  // bits above the 20-bit label are dropped
            ip.payloadLength = 0x0102
            ip.nextHeader = IPProtocol.udp
            ip.hopLimit = 1
            ip.source = IPAddress("fe80::1")!
            ip.destination = IPAddress("ff02::1:ff00:10")!
        }
        let header: [UInt8] = [
            0x6b, 0x8a, 0xbc, 0xde, 0x01, 0x02, 0x11, 0x01,
            0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x10,
        ]
        #expect(out == header + Array(Self.syn[40...]))
    }

    @Test func writeTrafficClassKeepsVersionAndFlowLabel() throws {
        let out = try mutated(Self.syn) { base, length in
            let ip = try IPv6Packet(base, length: length)
            ip.trafficClass = 0xff
            #expect(ip.flowLabel == 0x12345)
            ip.trafficClass = 0x00
            ip.flowLabel = 0
            #expect(ip.version == 6)
        }
        #expect(Array(out[0..<4]) == [0x60, 0x00, 0x00, 0x00])
    }

    // MARK: Extension header walk

    @Test func hopByHopThenUDP() throws {
        let bytes = Self.chain([(IPProtocol.hopByHop, Self.hopByHop)])
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.nextHeader == IPProtocol.hopByHop)
            #expect(ip.upperProtocol == IPProtocol.udp)
            #expect(ip.upperOffset == 48)
            #expect(ip.upperLength == 37)
            #expect(!ip.isFragment)
            // The pseudo-header names UDP and the upper-layer length, not the first next header
            // or the payload length (RFC 8200 §8.1), so the real checksum still verifies.
            let udp = try UDPDatagram(ip.upper, length: ip.upperLength)
            #expect(udp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    @Test func hopByHopRoutingDestinationOptionsThenUDP() throws {
        let bytes = Self.chain([(IPProtocol.hopByHop, Self.hopByHop),
                                (IPProtocol.routing, Self.routing),
                                (IPProtocol.destinationOptions, Self.destinationOptions)])
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.upperProtocol == IPProtocol.udp)
            #expect(ip.upperOffset == 40 + 8 + 24 + 16)
            #expect(ip.upperLength == 37)
            #expect(ip.upper.load(fromByteOffset: 3, as: UInt8.self) == 53)  // UDP destination port
        }
    }

    @Test func firstFragmentIsWalkedThrough() throws {
        let bytes = Self.chain([(IPProtocol.fragment, Self.firstFragment)])
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.isFragment)
            #expect(ip.fragmentHeaderOffset == 40)
            #expect(ip.fragmentOffset == 0)
            #expect(ip.moreFragments)
            #expect(ip.fragmentIdentification == 0xdead_beef)
            #expect(ip.carriesTransportHeader)
            #expect(ip.upperProtocol == IPProtocol.udp)
            #expect(ip.upperOffset == 48)
        }
    }

    @Test func nonFirstFragmentsStopTheWalk() throws {
        for (header, more) in [(Self.middleFragment, true), (Self.lastFragment, false)] {
            // Data of a non-first fragment is not a transport header, whatever it looks like.
            let bytes = Self.chain([(IPProtocol.destinationOptions, Self.destinationOptions),
                                    (IPProtocol.fragment, header)],
                                   upper: [UInt8](repeating: 0x3c, count: 24))
            try reading(bytes) { base, length in
                let ip = try IPv6Packet(base, length: length)
                #expect(ip.isFragment)
                #expect(ip.fragmentHeaderOffset == 56)
                #expect(ip.fragmentOffset == 1448)
                #expect(ip.moreFragments == more)
                #expect(ip.fragmentIdentification == 0xdead_beef)
                #expect(!ip.carriesTransportHeader)
                #expect(ip.upperProtocol == IPProtocol.udp)
                #expect(ip.upperOffset == 64)
                #expect(ip.upperLength == 24)
            }
        }
    }

    @Test func authenticationHeaderUsesFourByteUnits() throws {
        let bytes = Self.chain([(IPProtocol.authentication, Self.authentication)],
                               upperProtocol: IPProtocol.tcp, upper: Array(Self.syn[40...]))
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.upperProtocol == IPProtocol.tcp)
            #expect(ip.upperOffset == 64)
            #expect(ip.upperLength == 40)
        }
    }

    @Test func espAndNoNextHeaderEndTheWalk() throws {
        for proto in [IPProtocol.esp, IPProtocol.noNextHeader, IPProtocol.icmpv6] {
            let bytes = Self.chain([(IPProtocol.hopByHop, Self.hopByHop)], upperProtocol: proto,
                                   upper: [UInt8](repeating: 0x11, count: 16))
            try reading(bytes) { base, length in
                let ip = try IPv6Packet(base, length: length)
                #expect(ip.upperProtocol == proto)
                #expect(ip.upperOffset == 48)
            }
        }
    }

    @Test func chainThatRunsPastTheEnd() {
        // A routing header whose length (24) overruns the 16 bytes of payload left.
        let overrun = Self.chain([(IPProtocol.routing, Self.routing)], upper: [])
        #expect(parse(Array(overrun[0..<56])) == .badTotalLength)  // payload length still says 24
        var cut = Array(overrun[0..<56])
        cut[5] = 16
        #expect(parse(cut) == .badExtensionHeader)
        // The next header promises a hop-by-hop header but the payload is empty.
        #expect(parse(Self.chain([(IPProtocol.hopByHop, Self.hopByHop)], upper: [], payloadLength: 0))
            == .badExtensionHeader)
        // One byte of payload: not even the two-byte Next Header / Length prefix.
        #expect(parse(Self.chain([(IPProtocol.hopByHop, Self.hopByHop)], upper: [], payloadLength: 1))
            == .badExtensionHeader)
        // A fragment header with only 4 of its 8 bytes.
        #expect(parse(Self.chain([(IPProtocol.fragment, Self.firstFragment)], upper: [], payloadLength: 4))
            == .badExtensionHeader)
        // The bytes are in the buffer but past the payload length: the length field wins.
        #expect(parse(Self.chain([(IPProtocol.hopByHop, Self.hopByHop),
                                  (IPProtocol.destinationOptions, Self.destinationOptions)],
                                 payloadLength: 12)) == .badExtensionHeader)
    }

    @Test func chainLengthIsBounded() {
        let header = (IPProtocol.destinationOptions, Self.hopByHop)
        let atLimit = Self.chain(Array(repeating: header, count: IPv6Packet.maxExtensionHeaders))
        #expect(parse(atLimit) == nil)
        let beyond = Self.chain(Array(repeating: header, count: IPv6Packet.maxExtensionHeaders + 1))
        #expect(parse(beyond) == .badExtensionHeader)
    }

    // MARK: Parse

    @Test func parseAcceptsGoodPackets() {
        #expect(parse(Self.syn) == nil)
        #expect(parse(Array(Frames.ipv6UDPDNS[14...])) == nil)
        #expect(parse(Array(Frames.ipv6Echo[14...])) == nil)
        #expect(parse(Self.syn + [0, 0, 0, 0]) == nil)  // trailing padding
    }

    @Test func truncated() {
        #expect(parse([]) == .truncated)
        #expect(parse(Array(Self.syn[0..<39])) == .truncated)
    }

    @Test func badVersion() {
        var v4 = Self.syn
        v4[0] = 0x40
        #expect(parse(v4) == .badVersion)
    }

    @Test func badTotalLength() {
        #expect(parse(Array(Self.syn[0..<79])) == .badTotalLength)
        var lying = Self.syn
        lying[4] = 0x01
        #expect(parse(lying) == .badTotalLength)
    }

    // MARK: Emit

    @Test func emitFixedHeaderOfTheRealSyn() {
        let out = emitted(count: 40) { base in
            IPv6Packet.emit(into: base, flowLabel: 0x12345, payloadLength: 40, nextHeader: IPProtocol.tcp,
                            source: IPAddress("2001:db8::5")!, destination: IPAddress("2001:db8:0:1::10")!)
        }
        #expect(out == Array(Self.syn[0..<40]))
    }

    @Test func emitWithTrafficClassAndHopLimit() {
        let out = emitted(count: 40) { base in
            IPv6Packet.emit(into: base, trafficClass: 0xb8, flowLabel: 0xabcde, payloadLength: 37,
                            nextHeader: IPProtocol.udp, hopLimit: 255,
                            source: IPAddress("2001:db8::5")!, destination: IPAddress("2001:db8:0:1::53")!)
        }
        #expect(Array(out[0..<8]) == [0x6b, 0x8a, 0xbc, 0xde, 0x00, 0x25, 0x11, 0xff])
        #expect(Array(out[8...]) == Array(Frames.ipv6UDPDNS[22..<54]))
    }

    @Test func decrementHopLimitStopsBeforeZero() throws {
        let out = try mutated(Self.syn) { base, length in
            let ip = try IPv6Packet(base, length: length)
            let decremented = ip.decrementHopLimit()
            #expect(decremented)
            #expect(ip.hopLimit == 63)
        }
        #expect(out[7] == 63)
        var last = Self.syn
        last[7] = 1
        let kept = try mutated(last) { base, length in
            let decremented = try IPv6Packet(base, length: length).decrementHopLimit()
            #expect(!decremented)
        }
        #expect(kept == last)
    }

    @Test func uncheckedViewReadsWhatTheParseFound() throws {
        try reading(Self.syn) { base, length in
            let parsed = try IPv6Packet(base, length: length)
            let view = IPv6Packet(unchecked: base, totalLength: parsed.totalLength, upperProtocol: parsed.upperProtocol)
            #expect(view.source == parsed.source && view.destination == parsed.destination)
            #expect(view.upperOffset == parsed.upperOffset && view.upperLength == parsed.upperLength)
            #expect(view.pseudoHeaderSum == parsed.pseudoHeaderSum)
        }
    }
}
