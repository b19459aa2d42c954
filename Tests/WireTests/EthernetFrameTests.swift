import Testing
import Wire

@Suite struct EthernetFrameTests {
    /// The DNS query frame with one 802.1Q tag (VLAN 100) between source MAC and EtherType.
    static let tagged: [UInt8] = Array(Frames.ipv4UDPDNS[0..<12]) + [0x81, 0x00, 0x00, 0x64] + Array(Frames.ipv4UDPDNS[12...])

    /// The same frame double-tagged: 802.1ad S-tag (VLAN 200) outside the 802.1Q C-tag (VLAN 100).
    static let qinq: [UInt8] = Array(Frames.ipv4UDPDNS[0..<12]) + [0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64]
        + Array(Frames.ipv4UDPDNS[12...])

    // MARK: Read

    @Test func readUntaggedFields() throws {
        try reading(Frames.ipv4TCPSyn) { base, length in
            let frame = try EthernetFrame(base, length: length)
            #expect(frame.destination == Frames.directorMAC)
            #expect(frame.source == Frames.clientMAC)
            #expect(frame.etherType == EtherType.ipv4)
            #expect(frame.headerLength == 14)
            #expect(frame.vlanID == nil)
            #expect(frame.payload == base + 14)
            #expect(frame.payloadLength == 60)
            #expect(frame.length == 74)
        }
    }

    @Test func readSingleTagPassesThroughToInnerEtherType() throws {
        try reading(Self.tagged) { base, length in
            let frame = try EthernetFrame(base, length: length)
            #expect(frame.headerLength == 18)
            #expect(frame.vlanID == 100)
            #expect(frame.etherType == EtherType.ipv4)
            #expect(frame.payload == base + 18)
            #expect(frame.payloadLength == 57)
            // The payload is the IPv4 header, not the tag.
            #expect(frame.payload.load(as: UInt8.self) == 0x45)
        }
    }

    @Test func readQinQGivesOuterVLANAndInnermostEtherType() throws {
        try reading(Self.qinq) { base, length in
            let frame = try EthernetFrame(base, length: length)
            #expect(frame.headerLength == 22)
            #expect(frame.vlanID == 200)  // the outermost (service) tag
            #expect(frame.etherType == EtherType.ipv4)
            #expect(frame.payloadLength == 57)
            #expect(frame.payload.load(as: UInt8.self) == 0x45)
        }
    }

    @Test func vlanIDIgnoresPriorityAndDEIBits() throws {
        var bytes = Self.tagged
        bytes[14] = 0xb0  // PCP 5, DEI 1, VID high nibble 0
        bytes[15] = 0x64
        try reading(bytes) { base, length in
            let frame = try EthernetFrame(base, length: length)
            #expect(frame.vlanID == 100)
        }
    }

    // MARK: Write

    @Test func writeFieldsLeavesTagsInPlace() throws {
        let out = try mutated(Self.tagged) { base, length in
            let frame = try EthernetFrame(base, length: length)
            frame.destination = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0a)
            frame.source = Frames.directorMAC
            frame.etherType = EtherType.ipv6
        }
        let expected: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
                                 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd] + Array(Self.tagged[18...])
        #expect(out == expected)
    }

    @Test func writeInnermostEtherTypeOfQinQ() throws {
        let out = try mutated(Self.qinq) { base, length in
            try EthernetFrame(base, length: length).etherType = EtherType.arp
        }
        #expect(Array(out[12..<22]) == [0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x08, 0x06])
    }

    // MARK: Parse

    @Test func parseAcceptsRealFrames() {
        for bytes in [Frames.ipv4TCPSyn, Frames.ipv6TCPSyn, Frames.arpRequest, Self.tagged, Self.qinq] {
            #expect(parseError(bytes) { try EthernetFrame($0, length: $1) } == nil)
        }
    }

    @Test func parseAcceptsABareHeader() {
        // A header with no payload is a valid (if useless) view, tagged or not.
        #expect(parseError(Array(Frames.ipv4TCPSyn[0..<14])) { try EthernetFrame($0, length: $1) } == nil)
        #expect(parseError(Array(Self.tagged[0..<18])) { try EthernetFrame($0, length: $1) } == nil)
        #expect(parseError(Array(Self.qinq[0..<22])) { try EthernetFrame($0, length: $1) } == nil)
    }

    @Test func truncatedHeaderAndTags() {
        #expect(parseError([]) { try EthernetFrame($0, length: $1) } == .truncated)
        #expect(parseError(Array(Frames.ipv4TCPSyn[0..<13])) { try EthernetFrame($0, length: $1) } == .truncated)
        // The tag is announced but its inner EtherType is cut off.
        #expect(parseError(Array(Self.tagged[0..<17])) { try EthernetFrame($0, length: $1) } == .truncated)
        #expect(parseError(Array(Self.qinq[0..<21])) { try EthernetFrame($0, length: $1) } == .truncated)
    }

    @Test func threeTagsAreUnsupported() {
        let triple = Array(Self.qinq[0..<12]) + [0x81, 0x00, 0x00, 0x01] + Array(Self.qinq[12...])
        #expect(parseError(triple) { try EthernetFrame($0, length: $1) } == .unsupported)
    }

    // MARK: Emit

    @Test func emitUntaggedHeader() {
        let out = emitted(count: 14) { base in
            EthernetFrame.emit(into: base, destination: Frames.directorMAC, source: Frames.clientMAC, etherType: EtherType.ipv6)
        }
        #expect(out == [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x86, 0xdd])
    }

    @Test func moveHeaderKeepsTagsAndMakesRoom() throws {
        // 20 bytes of headroom, then the tagged frame: the header moves into the headroom and
        // the payload stays where it was, 20 bytes further from the new header.
        let headroom = [UInt8](repeating: 0, count: 20)
        let out = try mutated(headroom + Self.tagged) { base, length in
            let eth = try EthernetFrame(base + 20, length: length - 20)
            let moved = eth.moveHeader(by: -20)
            #expect(moved.headerLength == 18)
            #expect(moved.etherType == .ipv4 && moved.vlanID == 100)
            #expect(moved.payload == eth.payload - 20)
            #expect(moved.payloadLength == eth.payloadLength + 20)
        }
        #expect(Array(out[0..<18]) == Array(Self.tagged[0..<18]))
        #expect(Array(out[38...]) == Array(Self.tagged[18...]))
    }
}
