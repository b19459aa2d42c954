import Testing
import Wire

/// ICMP errors written over the datagram they quote (`ICMPv4Message.emitError`,
/// `ICMPv6Message.emitError`).
@Suite struct ICMPErrorTests {
    /// The IPv4 SYN of `Frames.ipv4TCPSyn`, without Ethernet (60 bytes).
    static let syn: [UInt8] = Array(Frames.ipv4TCPSyn[14...])
    static let syn6: [UInt8] = Array(Frames.ipv6TCPSyn[14...])

    /// Runs `body` over `datagram` followed by `tail` spare bytes; returns its result and the buffer.
    func over(_ datagram: [UInt8], tail: Int, _ body: (UnsafeMutableRawPointer, Int) -> Int?) -> (Int?, [UInt8]) {
        withFrame(datagram + [UInt8](repeating: 0xEE, count: tail)) { base, room in body(base, room) }
    }

    @Test func fragmentationNeededQuotesTheWholeShortDatagram() throws {
        let (total, out) = over(Self.syn, tail: 28) { base, room in
            ICMPv4Message.emitError(over: base, length: Self.syn.count, room: room, type: .destinationUnreachable,
                                    code: .fragmentationNeeded, rest: 1480, source: 0xc612_000a, destination: 0xcb00_7105)
        }
        #expect(total == 20 + 8 + 60)
        // IPv4: TOS 0xC0, length 88, id 0, no flags, TTL 64, ICMP, VIP → client, valid checksum.
        #expect(Array(out[0..<12]) == [0x45, 0xc0, 0x00, 88, 0, 0, 0, 0, 64, 1, out[10], out[11]])
        #expect(Array(out[12..<20]) == [0xc6, 0x12, 0x00, 0x0a, 0xcb, 0x00, 0x71, 0x05])
        #expect(referenceChecksum(Array(out[0..<20])) == 0)
        // ICMP: type 3 code 4, MTU in the low half of the second word, checksum over all 68 bytes.
        #expect(Array(out[20..<22]) == [3, 4])
        #expect(Array(out[24..<28]) == [0, 0, 0x05, 0xc8])
        #expect(referenceChecksum(Array(out[20..<88])) == 0)
        #expect(Array(out[28..<88]) == Self.syn)
    }

    @Test func quoteStopsAt576BytesAndAtTheRoomThereIs() throws {
        let big = Self.syn + [UInt8](repeating: 0x5A, count: 1400)
        let (total, out) = over(big, tail: 100) { base, room in
            ICMPv4Message.emitError(over: base, length: big.count, room: room, type: .destinationUnreachable,
                                    code: .fragmentationNeeded, rest: 1480, source: 1, destination: 2)
        }
        #expect(total == ICMPv4Message.errorLimit)
        #expect(Array(out[28..<576]) == Array(big[0..<548]))
        // Only the bytes the buffer holds: 60 + 10 spare leave room for 42 quoted bytes.
        let (short, _) = over(Self.syn, tail: 10) { base, room in
            ICMPv4Message.emitError(over: base, length: Self.syn.count, room: room, type: .destinationUnreachable,
                                    code: .fragmentationNeeded, rest: 1480, source: 1, destination: 2)
        }
        #expect(short == 28 + 42)
    }

    @Test func nothingIsWrittenWithoutRoomForTheMinimumQuote() {
        // Header and 8 bytes must be quoted (RFC 792): 28 + 28 bytes do not fit 50.
        let (total, out) = over(Array(Self.syn[0..<50]), tail: 0) { base, room in
            ICMPv4Message.emitError(over: base, length: room, room: room, type: .destinationUnreachable,
                                    code: .fragmentationNeeded, rest: 0, source: 1, destination: 2)
        }
        #expect(total == nil)
        #expect(out == Array(Self.syn[0..<50]))
    }

    @Test func packetTooBigQuotesAfterTheIPv6Header() throws {
        let vip = IPAddress("2001:db8:0:1::10")!, client = IPAddress("2001:db8::5")!
        let (total, out) = over(Self.syn6, tail: 48) { base, room in
            ICMPv6Message.emitError(over: base, length: Self.syn6.count, room: room, type: .packetTooBig, code: .zero,
                                    rest: 1280, source: vip, destination: client)
        }
        #expect(total == 40 + 8 + 80)
        try reading(out) { base, length in
            let ip = try IPv6Packet(base, length: length)
            #expect(ip.payloadLength == 88 && ip.nextHeader == .icmpv6 && ip.hopLimit == 64)
            #expect(ip.source == vip && ip.destination == client)
            let icmp = try ICMPv6Message(ip.upper, length: ip.upperLength)
            #expect(icmp.type == .packetTooBig && icmp.code == .zero && icmp.rest == 1280)
            #expect(icmp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
        #expect(Array(out[48..<128]) == Self.syn6)
    }
}
