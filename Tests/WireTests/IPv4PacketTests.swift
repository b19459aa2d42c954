import Testing
import Wire

@Suite struct IPv4PacketTests {
    /// The SYN's IP packet (60 bytes: 20 header, 40 TCP).
    static let syn: [UInt8] = Array(Frames.ipv4TCPSyn[14...])
    /// The DNS query's IP packet (57 bytes: 20 header, 37 UDP).
    static let dns: [UInt8] = Array(Frames.ipv4UDPDNS[14...])

    /// The DNS query with a Router Alert option (RFC 2113): IHL 6, total length 61.
    static let withRouterAlert: [UInt8] = [
        0x46, 0x00, 0x00, 0x3d, 0xbe, 0xef, 0x00, 0x00, 0x3f, 0x11, 0x57, 0x73,  // IHL 6, len 61, csum 0x5773
        0x0a, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x35,                          // 10.0.0.2 → 198.18.0.53
        0x94, 0x04, 0x00, 0x00,                                                  // Router Alert, value 0
    ] + Array(Frames.ipv4UDPDNS[34...])

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try IPv4Packet($0, length: $1) } }

    // MARK: Read

    @Test func readFields() throws {
        try reading(Self.syn) { base, length in
            let ip = try IPv4Packet(base, length: length)
            #expect(ip.version == 4)
            #expect(ip.headerLength == 20)
            #expect(ip.totalLength == 60)
            #expect(ip.typeOfService == 0)
            #expect(ip.identification == 0x1c46)
            #expect(ip.flagsFragment == 0x4000)
            #expect(ip.dontFragment)
            #expect(!ip.moreFragments)
            #expect(ip.fragmentOffset == 0)
            #expect(!ip.isFragment)
            #expect(ip.carriesTransportHeader)
            #expect(ip.timeToLive == 64)
            #expect(ip.protocol == IPProtocol.tcp)
            #expect(ip.checksum == 0x1c54)
            #expect(ip.source == 0xcb00_7105)
            #expect(ip.destination == 0xc612_000a)
            #expect(ip.sourceAddress == IPAddress("203.0.113.5"))
            #expect(ip.destinationAddress == IPAddress("198.18.0.10"))
            #expect(ip.optionsLength == 0)
            #expect(ip.payload == base + 20)
            #expect(ip.payloadLength == 40)
            #expect(ip.isChecksumValid)
        }
    }

    @Test func readOptionsHeader() throws {
        try reading(Self.withRouterAlert) { base, length in
            let ip = try IPv4Packet(base, length: length)
            #expect(ip.headerLength == 24)
            #expect(ip.optionsLength == 4)
            #expect(ip.totalLength == 61)
            #expect(ip.payload == base + 24)
            #expect(ip.payloadLength == 37)
            #expect(ip.isChecksumValid)  // the checksum covers the options too
            #expect(ip.payload.load(fromByteOffset: 2, as: UInt8.self) == 0x00)  // UDP dst port 53, high byte
            #expect(ip.payload.load(fromByteOffset: 3, as: UInt8.self) == 0x35)
        }
    }

    @Test func pseudoHeaderSumCoversTheTransportPayload() throws {
        try reading(Self.dns) { base, length in
            let ip = try IPv4Packet(base, length: length)
            #expect(ip.pseudoHeaderSum == Checksum.pseudoHeaderIPv4(source: 0x0a00_0002, destination: 0xc612_0035,
                                                                     protocol: .udp, length: 37))
            let udp = try UDPDatagram(ip.payload, length: ip.payloadLength)
            #expect(udp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    // MARK: Fragments

    @Test func fragmentFlagsAndOffsets() throws {
        // (flags/offset word, DF, MF, offset in bytes, isFragment, carriesTransportHeader)
        let cases: [(UInt16, Bool, Bool, Int, Bool, Bool)] = [
            (0x0000, false, false, 0, false, true),      // not fragmented, DF clear
            (0x4000, true, false, 0, false, true),       // DF
            (0x2000, false, true, 0, true, true),        // first fragment
            (0x20b9, false, true, 1480, true, false),    // middle fragment at 185 × 8
            (0x00b9, false, false, 1480, true, false),   // last fragment
            (0x1fff, false, false, 65528, true, false),  // the largest offset
        ]
        for (word, df, mf, offset, fragment, transport) in cases {
            var bytes = Self.dns
            bytes[6] = UInt8(word >> 8)
            bytes[7] = UInt8(word & 0xff)
            try reading(bytes) { base, length in
                let ip = try IPv4Packet(base, length: length)
                #expect(ip.flagsFragment == word)
                #expect(ip.dontFragment == df, "word \(word)")
                #expect(ip.moreFragments == mf, "word \(word)")
                #expect(ip.fragmentOffset == offset, "word \(word)")
                #expect(ip.isFragment == fragment, "word \(word)")
                #expect(ip.carriesTransportHeader == transport, "word \(word)")
            }
        }
    }

    // MARK: Write

    @Test func writeFields() throws {
        let out = try mutated(Self.dns) { base, length in
            let ip = try IPv4Packet(base, length: length)
            ip.typeOfService = 0xb8
            ip.setTotalLength(0x0035)
            ip.identification = 0x1234
            ip.flagsFragment = 0x4000
            ip.timeToLive = 0x40
            ip.protocol = IPProtocol.tcp
            ip.checksum = 0xabcd
            ip.source = 0xc0a8_0001
            ip.destination = 0x0a00_0001
        }
        let header: [UInt8] = [0x45, 0xb8, 0x00, 0x35, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0xab, 0xcd,
                               0xc0, 0xa8, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01]
        #expect(out == header + Array(Self.dns[20...]))
    }

    @Test func fillChecksumRecomputesFromScratch() throws {
        var broken = Self.syn
        broken[10] = 0xde
        broken[11] = 0xad
        let out = try mutated(broken) { base, length in
            let ip = try IPv4Packet(base, length: length)
            #expect(!ip.isChecksumValid)
            ip.fillChecksum()
            #expect(ip.isChecksumValid)
        }
        #expect(out == Self.syn)
        let options = try mutated(Self.withRouterAlert) { base, length in
            let ip = try IPv4Packet(base, length: length)
            ip.checksum = 0
            ip.fillChecksum()
        }
        #expect(options == Self.withRouterAlert)
    }

    @Test func decrementTimeToLiveUpdatesTheChecksumIncrementally() throws {
        let out = try mutated(Self.syn) { base, length in
            let ip = try IPv4Packet(base, length: length)
            ip.decrementTimeToLive()
            #expect(ip.isChecksumValid)
        }
        // TTL 64 → 63 lowers the word 0x4006 by 0x100, so the checksum rises by 0x100.
        #expect(Array(out[8..<12]) == [0x3f, 0x06, 0x1d, 0x54])
        #expect(Array(out[12...]) == Array(Self.syn[12...]))
        // Many hops in a row stay valid (each hop an RFC 1624 update, never a recomputation).
        _ = try mutated(Self.withRouterAlert) { base, length in
            let ip = try IPv4Packet(base, length: length)
            for _ in 0..<62 { ip.decrementTimeToLive() }
            #expect(ip.timeToLive == 1)
            #expect(ip.isChecksumValid)
        }
    }

    // MARK: Parse

    @Test func parseAcceptsGoodPackets() {
        #expect(parse(Self.syn) == nil)
        #expect(parse(Self.dns) == nil)
        #expect(parse(Self.withRouterAlert) == nil)
        #expect(parse(Array(Frames.ipv4FragmentationNeeded[14...])) == nil)
    }

    @Test func ethernetPaddingPastTotalLengthIsIgnored() throws {
        // A 46-byte minimum Ethernet payload carrying a 40-byte packet: 6 bytes of padding.
        var bytes = Self.syn
        bytes[3] = 40  // pretend the SYN had no options (the checksum is irrelevant to the length check)
        try reading(bytes + [0, 0, 0, 0, 0, 0]) { base, length in
            let ip = try IPv4Packet(base, length: length)
            #expect(ip.totalLength == 40)
            #expect(ip.payloadLength == 20)
        }
    }

    @Test func truncated() {
        #expect(parse([]) == .truncated)
        #expect(parse(Array(Self.syn[0..<19])) == .truncated)
    }

    @Test func badVersion() {
        var v6 = Self.syn
        v6[0] = 0x65
        #expect(parse(v6) == .badVersion)
        var zero = Self.syn
        zero[0] = 0x05
        #expect(parse(zero) == .badVersion)
    }

    @Test func badHeaderLength() {
        for ihl: UInt8 in [0, 1, 4] {  // below the 5-word minimum
            var bytes = Self.syn
            bytes[0] = 0x40 | ihl
            #expect(parse(bytes) == .badHeaderLength, "IHL \(ihl)")
        }
        // IHL 6 but only 20 header bytes arrived.
        var short = Array(Self.syn[0..<20])
        short[0] = 0x46
        short[3] = 20
        #expect(parse(short) == .badHeaderLength)
        // IHL 15 (60 bytes) claims more than a 57-byte packet.
        var longHeader = Self.dns
        longHeader[0] = 0x4f
        #expect(parse(longHeader) == .badHeaderLength)
    }

    @Test func badTotalLength() {
        // Total length beyond the bytes that arrived (a lying length, or a capture snap).
        var lying = Self.syn
        lying[3] = 61
        #expect(parse(lying) == .badTotalLength)
        #expect(parse(Array(Self.syn[0..<59])) == .badTotalLength)
        // Total length below the header length.
        var small = Self.syn
        small[3] = 19
        #expect(parse(small) == .badTotalLength)
        var belowOptions = Self.withRouterAlert
        belowOptions[2] = 0
        belowOptions[3] = 22
        #expect(parse(belowOptions) == .badTotalLength)
    }

    // MARK: Emit

    @Test func emitHeaderOfTheRealSyn() {
        let out = emitted(count: 20) { base in
            IPv4Packet.emit(into: base, totalLength: 60, identification: 0x1c46, protocol: IPProtocol.tcp,
                            source: 0xcb00_7105, destination: 0xc612_000a)
        }
        #expect(out == Array(Self.syn[0..<20]))
    }

    @Test func emitHeaderWithEveryParameter() {
        let out = emitted(count: 20) { base in
            IPv4Packet.emit(into: base, typeOfService: 0, totalLength: 57, identification: 0xbeef, flagsFragment: 0,
                            timeToLive: 63, protocol: IPProtocol.udp, source: 0x0a00_0002, destination: 0xc612_0035)
        }
        #expect(out == Array(Self.dns[0..<20]))
    }

    @Test func ipipOverheadIsOneHeader() {
        #expect(IPIP.overhead == 20)
    }
}
