import Testing
import Wire

@Suite struct ARPPacketTests {
    /// The ARP packet of `Frames.arpRequest`, without its Ethernet header.
    static let request: [UInt8] = Array(Frames.arpRequest[14...])

    /// The director's reply: "198.18.0.10 is at 52:54:00:12:34:56", to 198.18.0.1.
    static let reply: [UInt8] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,      // Ethernet/IPv4, 6/4, reply
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc6, 0x12, 0x00, 0x0a,  // sender: director MAC, VIP
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0xc6, 0x12, 0x00, 0x01,  // target: the asker
    ]

    @Test func readFields() throws {
        try reading(Self.request) { base, length in
            let arp = try ARPPacket(base, length: length)
            #expect(arp.operation == ARPPacket.Operation.request)
            #expect(arp.senderMAC == Frames.clientMAC)
            #expect(arp.senderIP == 0xc612_0001)
            #expect(arp.targetMAC == .zero)
            #expect(arp.targetIP == 0xc612_000a)
        }
    }

    @Test func writeFieldsTurnsRequestIntoReply() throws {
        let out = try mutated(Self.request) { base, length in
            let arp = try ARPPacket(base, length: length)
            arp.operation = ARPPacket.Operation.reply
            arp.targetMAC = arp.senderMAC
            arp.targetIP = arp.senderIP
            arp.senderMAC = Frames.directorMAC
            arp.senderIP = 0xc612_000a
        }
        #expect(out == Self.reply)
    }

    @Test func parseAcceptsPaddedFrames() {
        // Received ARP frames are padded to the 60-byte Ethernet minimum; the view ignores the tail.
        let padded = Self.request + [UInt8](repeating: 0, count: 18)
        #expect(parseError(padded) { try ARPPacket($0, length: $1) } == nil)
        #expect(parseError(Self.reply) { try ARPPacket($0, length: $1) } == nil)
    }

    @Test func truncated() {
        #expect(parseError(Array(Self.request[0..<27])) { try ARPPacket($0, length: $1) } == .truncated)
        #expect(parseError([]) { try ARPPacket($0, length: $1) } == .truncated)
    }

    @Test func otherHardwareOrProtocolIsUnsupported() {
        for (offset, value) in [(1, UInt8(6)),   // hardware type 6 (IEEE 802)
                                (2, UInt8(0x86)), // protocol type 0x86dd
                                (4, UInt8(8)),    // hardware length 8 (EUI-64)
                                (5, UInt8(16))] { // protocol length 16
            var bytes = Self.request
            bytes[offset] = value
            #expect(parseError(bytes) { try ARPPacket($0, length: $1) } == .unsupported, "byte \(offset)")
        }
    }

    @Test func emitReply() {
        let out = emitted(count: ARPPacket.length) { base in
            ARPPacket.emit(into: base, operation: ARPPacket.Operation.reply, senderMAC: Frames.directorMAC,
                           senderIP: 0xc612_000a, targetMAC: Frames.clientMAC, targetIP: 0xc612_0001)
        }
        #expect(out == Self.reply)
    }

    @Test func makeReplyAnswersInPlace() throws {
        let out = try mutated(Self.request) { base, length in
            try ARPPacket(base, length: length).makeReply(from: Frames.directorMAC)
        }
        #expect(out == Self.reply)
    }
}
