import PacketBuilder
import Testing
import Wire

/// The builder is checked against the tshark-verified literal frames in `Frames`, not against
/// itself or `Wire`: a wrong offset or checksum in either would show up as a byte difference.
@Suite struct PacketBuilderTests {
    static let synOptions: [UInt8] = [0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x0a, 0x1b, 0x2c,
                                      0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07]

    static let ethernet = Frame.ethernet(destination: Frames.directorMAC, source: Frames.clientMAC)

    /// The builder's description of `Frames.ipv4TCPSyn`.
    static let ipv4Syn = ethernet
        .ipv4(source: "203.0.113.5", destination: "198.18.0.10", identification: 0x1c46)
        .tcp(sourcePort: 46018, destinationPort: 80, flags: .syn, sequence: 0x5b8e_2d10, window: 64240, options: synOptions)

    static let ipv6Syn = ethernet
        .ipv6(source: "2001:db8::5", destination: "2001:db8:0:1::10", flowLabel: 0x12345)
        .tcp(sourcePort: 46018, destinationPort: 443, flags: .syn, sequence: 0x0102_0304, window: 64800,
             options: [0x02, 0x04, 0x05, 0xa0] + Array(synOptions[4...]))

    func expectBytes(_ frame: Frame, _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = frame.bytes
        #expect(actual == expected, "\n\(hexDiff(expected: expected, actual: actual))", sourceLocation: sourceLocation)
    }

    // MARK: Golden frames

    @Test func ipv4TCPSyn() {
        expectBytes(Self.ipv4Syn, Frames.ipv4TCPSyn)
    }

    @Test func ipv4UDPDNSQuery() {
        let frame = Self.ethernet
            .ipv4(source: "10.0.0.2", destination: "198.18.0.53", ttl: 63, identification: 0xbeef, dontFragment: false)
            .udp(sourcePort: 53000, destinationPort: 53)
            .payload(Frames.dnsQuery)
        expectBytes(frame, Frames.ipv4UDPDNS)
    }

    @Test func ipv6TCPSyn() {
        expectBytes(Self.ipv6Syn, Frames.ipv6TCPSyn)
    }

    @Test func ipv6UDPDNSQuery() {
        let frame = Self.ethernet
            .ipv6(source: "2001:db8::5", destination: "2001:db8:0:1::53", hopLimit: 255)
            .udp(sourcePort: 53000, destinationPort: 53)
            .payload(Frames.dnsQuery)
        expectBytes(frame, Frames.ipv6UDPDNS)
    }

    @Test func icmpv4EchoRequestWithTextPayload() {
        let frame = Self.ethernet
            .ipv4(source: "203.0.113.5", destination: "198.18.0.10", identification: 0x0101)
            .icmpv4(type: 8, code: 0, rest: 0x1234_0001)
            .payload("abcdefghijklmnop")
        expectBytes(frame, Frames.ipv4Echo)
    }

    @Test func icmpv4FragmentationNeededQuotingASynAck() {
        let synAck = Frame.raw
            .ipv4(source: "198.18.0.10", destination: "203.0.113.5")
            .tcp(sourcePort: 80, destinationPort: 46018, flags: [.syn, .ack], sequence: 0x1111_1111, acknowledgment: 0x5b8e_2d11)
        let frame = Self.ethernet
            .ipv4(source: "192.0.2.1", destination: "198.18.0.10", ttl: 254, identification: 0x0202, dontFragment: false)
            .icmpv4(type: 3, code: 4, rest: 1400)
            .quoting(synAck, limit: 28)
        expectBytes(frame, Frames.ipv4FragmentationNeeded)
    }

    @Test func icmpv6EchoRequest() {
        let frame = Self.ethernet
            .ipv6(source: "2001:db8::5", destination: "2001:db8:0:1::10")
            .icmpv6(type: 128, code: 0, rest: 0x1234_0001)
            .payload("abcdefghijklmnop")
        expectBytes(frame, Frames.ipv6Echo)
    }

    @Test func icmpv6PacketTooBigQuotingAnEthernetFrameDropsItsHeader() {
        let frame = Frame.raw
            .ipv6(source: "2001:db8::1", destination: "2001:db8:0:1::10")
            .icmpv6(type: 2, code: 0, rest: 1280)
            .quoting(Self.ipv6Syn, limit: 48)
        let expected = Array(Frames.ipv6Echo[14..<18]) + [0x00, 0x38, 0x3a, 0x40]   // payload length 56, ICMPv6
            + [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]        // 2001:db8::1
            + Array(Frames.ipv6TCPSyn[38..<54])                                    // 2001:db8:0:1::10
            + [0x02, 0x00, 0xfe, 0x4e, 0x00, 0x00, 0x05, 0x00]                     // too big, csum, MTU 1280
            + Array(Frames.ipv6TCPSyn[14..<62])                                    // the first 48 bytes quoted
        expectBytes(frame, expected)
    }

    @Test func arpRequest() {
        let frame = Frame.ethernet(destination: .broadcast, source: Frames.clientMAC)
            .arp(operation: 1, senderMAC: Frames.clientMAC, senderIP: "198.18.0.1", targetMAC: .zero, targetIP: "198.18.0.10")
        expectBytes(frame, Frames.arpRequest)
    }

    @Test func vlanTagSitsBeforeTheInnerEtherType() {
        let frame = Frame.ethernet(destination: Frames.directorMAC, source: Frames.clientMAC, vlan: 100)
            .ipv4(source: "10.0.0.2", destination: "198.18.0.53", ttl: 63, identification: 0xbeef, dontFragment: false)
            .udp(sourcePort: 53000, destinationPort: 53)
            .payload(Frames.dnsQuery)
        expectBytes(frame, EthernetFrameTests.tagged)
    }

    @Test func ipv4OptionsRaiseTheHeaderLength() {
        let frame = Frame.raw
            .ipv4(source: "10.0.0.2", destination: "198.18.0.53", ttl: 63, identification: 0xbeef, dontFragment: false,
                  options: [0x94, 0x04, 0x00, 0x00])
            .udp(sourcePort: 53000, destinationPort: 53)
            .payload(Frames.dnsQuery)
        expectBytes(frame, IPv4PacketTests.withRouterAlert)
    }

    @Test func ipv4OptionsArePaddedToAWord() {
        // A lone NOP option becomes NOP + three End-of-Options bytes: IHL 6.
        let bytes = Frame.raw.ipv4(source: "10.0.0.1", destination: "10.0.0.2", options: [0x01]).bytes
        #expect(bytes[0] == 0x46)
        #expect(Array(bytes[20..<24]) == [0x01, 0x00, 0x00, 0x00])
        #expect(referenceChecksum(Array(bytes[0..<24])) == 0)
    }

    @Test func ipipEncapsulationUsesProtocol4() {
        // TUN forwarding: director 198.18.0.1 → real server 10.0.0.11, the client's packet inside.
        let frame = Frame.raw
            .ipv4(source: "198.18.0.1", destination: "10.0.0.11")
            .ipv4(source: "203.0.113.5", destination: "198.18.0.10", identification: 0x1c46)
            .tcp(sourcePort: 46018, destinationPort: 80, flags: .syn, sequence: 0x5b8e_2d10, window: 64240,
                 options: Self.synOptions)
        let outer: [UInt8] = [0x45, 0x00, 0x00, 0x50, 0x00, 0x00, 0x40, 0x00, 0x40, 0x04, 0x6a, 0x8c,
                              0xc6, 0x12, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x0b]
        expectBytes(frame, outer + Array(Frames.ipv4TCPSyn[14...]))
    }

    @Test func ipv6InIPv4UsesProtocol41() {
        let bytes = Frame.raw
            .ipv4(source: "198.18.0.1", destination: "10.0.0.11")
            .ipv6(source: "2001:db8::5", destination: "2001:db8::6")
            .bytes
        #expect(bytes[9] == IPProtocol.ipv6.rawValue)
        #expect(bytes[20] >> 4 == 6)
        #expect(bytes[20 + 6] == IPProtocol.noNextHeader.rawValue)  // nothing follows the inner header
    }

    // MARK: IPv6 extension headers

    @Test func extensionChainIsLinkedAndPadded() throws {
        let frame = Frame.raw
            .ipv6(source: "2001:db8::5", destination: "2001:db8:0:1::53")
            .ipv6Extension(IPProtocol.hopByHop)
            .ipv6Extension(IPProtocol.routing, optionBytes: 14)
            .ipv6Extension(IPProtocol.destinationOptions)
            .ipv6Fragment(offset: 0, more: true, identification: 0xdead_beef)
            .udp(sourcePort: 53000, destinationPort: 53)
            .payload(Frames.dnsQuery)
        let bytes = frame.bytes
        let chain: [UInt8] = [
            0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  // hop-by-hop → routing, PadN(4)
            0x3c, 0x01] + [UInt8](repeating: 0, count: 14) + [  // routing → dest opts, 16 bytes, type 0, 0 left
            0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  // destination options → fragment, PadN(4)
            0x11, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,  // fragment → UDP, offset 0, M, id
        ]
        #expect(bytes[6] == IPProtocol.hopByHop.rawValue)
        #expect(word(bytes, 4) == UInt16(chain.count + 37))
        #expect(Array(bytes[40..<80]) == chain)
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.upperProtocol == IPProtocol.udp)
            #expect(ip.upperOffset == 80)
            #expect(ip.fragmentIdentification == 0xdead_beef)
            #expect(try UDPDatagram(ip.upper, length: ip.upperLength).isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    @Test func largePaddingIsSplitIntoValidOptions() throws {
        // 262 option bytes: PadN can carry at most 255 bytes of data, so two PadN options are needed,
        // and no leftover single byte may follow a PadN that was too greedy.
        for optionBytes in [6, 14, 254, 262, 270, 510] {
            let bytes = Frame.raw.ipv6(source: "::1", destination: "::2")
                .ipv6Extension(IPProtocol.destinationOptions, optionBytes: optionBytes).bytes
            #expect(Int(bytes[41]) == (optionBytes + 2) / 8 - 1)
            var i = 42
            while i < 40 + optionBytes + 2 {
                if bytes[i] == 0 { i += 1; continue }   // Pad1
                #expect(bytes[i] == 1)                  // PadN
                #expect(bytes[(i + 2)..<(i + 2 + Int(bytes[i + 1]))].allSatisfy { $0 == 0 })
                i += 2 + Int(bytes[i + 1])
            }
            #expect(i == 40 + optionBytes + 2, "\(optionBytes) option bytes overrun")
        }
    }

    @Test func nonFirstIPv6FragmentStopsTheWalk() throws {
        let bytes = Frame.raw.ipv6(source: "2001:db8::5", destination: "2001:db8::6")
            .ipv6Fragment(offset: 1448, more: false, identification: 7)
            .protocolNumber(IPProtocol.udp)
            .payload([UInt8](repeating: 0xab, count: 16))
            .bytes
        #expect(Array(bytes[40..<48]) == [0x11, 0x00, 0x05, 0xa8, 0x00, 0x00, 0x00, 0x07])
        try reading(bytes) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(!ip.carriesTransportHeader)
            #expect(ip.fragmentOffset == 1448)
            #expect(ip.upperProtocol == IPProtocol.udp)
        }
    }

    // MARK: Fields and defaults

    @Test func ipv4FragmentFields() throws {
        let bytes = Frame.raw
            .ipv4(source: "10.0.0.2", destination: "198.18.0.53", identification: 0x4242, dontFragment: false,
                  moreFragments: true, fragmentOffset: 1480, tos: 0xb8)
            .protocolNumber(IPProtocol.udp)
            .payload([UInt8](repeating: 0x5a, count: 8))
            .bytes
        #expect(Array(bytes[0..<10]) == [0x45, 0xb8, 0x00, 0x1c, 0x42, 0x42, 0x20, 0xb9, 0x40, 0x11])
        #expect(referenceChecksum(Array(bytes[0..<20])) == 0)
    }

    @Test func udpWithoutChecksumWritesZero() {
        let bytes = Frame.raw.ipv4(source: "10.0.0.2", destination: "198.18.0.53")
            .udp(sourcePort: 1, destinationPort: 2, checksum: false).payload("x").bytes
        #expect(Array(bytes[20..<28]) == [0x00, 0x01, 0x00, 0x02, 0x00, 0x09, 0x00, 0x00])
    }

    @Test func ipv6TrafficClassAndHopLimit() {
        let bytes = Frame.raw.ipv6(source: "::1", destination: "::2", hopLimit: 1, trafficClass: 0xb8, flowLabel: 0xabcde)
            .udp(sourcePort: 1, destinationPort: 2).bytes
        #expect(Array(bytes[0..<8]) == [0x6b, 0x8a, 0xbc, 0xde, 0x00, 0x08, 0x11, 0x01])
    }

    @Test func etherTypeFollowsTheNextLayer() {
        #expect(Array(Self.ethernet.bytes[12..<14]) == [0x88, 0xb5])  // nothing known follows
        #expect(Array(Self.ethernet.payload("hi").bytes[12..<14]) == [0x88, 0xb5])
        // Wrapping a rendered packet takes the EtherType from its version nibble.
        let v6 = Frame.raw.ipv6(source: "::1", destination: "::2")
        #expect(Array(Self.ethernet.quoting(v6).bytes[12..<14]) == [0x86, 0xdd])
        #expect(Self.ethernet.quoting(Self.ipv4Syn).bytes == Frames.ipv4TCPSyn)
    }

    @Test func framesAreValuesSharingPrefixes() {
        let prefix = Self.ethernet.ipv4(source: "10.0.0.1", destination: "10.0.0.2")
        let a = prefix.udp(sourcePort: 1, destinationPort: 2).bytes
        let b = prefix.tcp(sourcePort: 1, destinationPort: 2, flags: .rst).bytes
        #expect(a[23] == IPProtocol.udp.rawValue)
        #expect(b[23] == IPProtocol.tcp.rawValue)
        #expect(prefix.bytes.count == 34)
        #expect(prefix.bytes[23] == IPProtocol.noNextHeader.rawValue)
    }

    @Test func everyChecksumVerifiesThroughTheViews() throws {
        // Frames with odd payload lengths and quotes: parse each layer and verify every checksum.
        let frames: [Frame] = [
            Self.ethernet.ipv4(source: "10.0.0.1", destination: "10.0.0.2").tcp(sourcePort: 1, destinationPort: 2,
                flags: [.psh, .ack], sequence: 7, acknowledgment: 9).payload("odd"),
            Self.ethernet.ipv4(source: "10.0.0.1", destination: "10.0.0.2").udp(sourcePort: 1, destinationPort: 2).payload("odd"),
            Self.ethernet.ipv6(source: "2001:db8::1", destination: "2001:db8::2").tcp(sourcePort: 1, destinationPort: 2,
                flags: .ack).payload("odd"),
            Self.ethernet.ipv6(source: "2001:db8::1", destination: "2001:db8::2").udp(sourcePort: 1, destinationPort: 2).payload("odd"),
            Self.ethernet.ipv6(source: "2001:db8::1", destination: "2001:db8::2").ipv6Extension(0)
                .udp(sourcePort: 1, destinationPort: 2).payload("odd"),
        ]
        for frame in frames {
            try reading(frame.bytes) { base, length in
                let eth = try EthernetFrame(base, length: length)
                if eth.etherType == EtherType.ipv4 {
                    let ip = try IPv4Packet(eth.payload, length: eth.payloadLength)
                    #expect(ip.isChecksumValid)
                    if ip.protocol == IPProtocol.tcp {
                        #expect(try TCPSegment(ip.payload, length: ip.payloadLength).isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
                    } else {
                        #expect(try UDPDatagram(ip.payload, length: ip.payloadLength).isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
                    }
                } else {
                    let ip = try IPv6Packet(eth.payload, length: eth.payloadLength)
                    if ip.upperProtocol == IPProtocol.tcp {
                        #expect(try TCPSegment(ip.upper, length: ip.upperLength).isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
                    } else {
                        let udp = try UDPDatagram(ip.upper, length: ip.upperLength)
                        #expect(udp.checksum != 0)
                        #expect(udp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
                    }
                }
            }
        }
    }

    // MARK: Hex dumps

    @Test func hexDumpLayout() {
        let dump = hexDump(Array(Frames.ipv4TCPSyn[0..<20]))
        #expect(dump == """
            0000  52 54 00 12 34 56 52 54  00 ab cd ef 08 00 45 00  RT..4VRT......E.
            0010  00 3c 1c 46                                       .<.F
            """)
        #expect(hexDump([]) == "")
    }

    @Test func hexDiffMarksDifferencesAndMissingBytes() {
        let expected: [UInt8] = [0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06]
        var actual = expected
        actual[9] = 0x11
        actual.removeLast()
        actual.append(0x11)
        actual.append(0xff)
        let diff = hexDiff(expected: expected, actual: actual)
        #expect(diff == """
            10 bytes expected, 11 actual; 2 differ, first at 0x0009
                    expected                   actual
              0000  45 00 00 3c 1c 46 40 00    45 00 00 3c 1c 46 40 00
            ! 0008  40 06 --                   40 11*ff*
            """)
        #expect(hexDiff(expected: expected, actual: expected).hasPrefix("10 bytes expected, 10 actual; identical"))
    }
}
