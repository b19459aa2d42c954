import Testing
import Wire

@Suite struct NeighborDiscoveryTests {
    static let vip: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10]  // 2001:db8:0:1::10
    static let asker: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05]  // 2001:db8::5

    /// "Who has 2001:db8:0:1::10?" with a source link-layer option (RFC 4861 §4.3); the
    /// checksum is not the view's to judge and is left zero.
    static let solicitation: [UInt8] = [0x87, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] + vip
        + [0x01, 0x01, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]

    @Test func readSolicitationTarget() throws {
        try reading(Self.solicitation) { base, length in
            let ns = try NeighborSolicitation(try ICMPv6Message(base, length: length))
            #expect(ns.target == IPAddress("2001:db8:0:1::10")!)
        }
    }

    @Test func parseRefusesOtherMessagesAndShortOnes() {
        var advertisement = Self.solicitation
        advertisement[0] = 136
        #expect(parseError(advertisement) { try NeighborSolicitation(try ICMPv6Message($0, length: $1)) } == .unsupported)
        var coded = Self.solicitation
        coded[1] = 1  // RFC 4861 §7.1.1: code must be 0
        #expect(parseError(coded) { try NeighborSolicitation(try ICMPv6Message($0, length: $1)) } == .unsupported)
        #expect(parseError(Array(Self.solicitation[0..<23])) {
            try NeighborSolicitation(try ICMPv6Message($0, length: $1))
        } == .truncated)
    }

    @Test func emitAdvertisement() throws {
        let vip = IPAddress("2001:db8:0:1::10")!, asker = IPAddress("2001:db8::5")!
        let out = emitted(count: NeighborAdvertisement.length) { base in
            NeighborAdvertisement.emit(into: base, flags: [.solicited, .override], target: vip,
                                       targetMAC: Frames.directorMAC, source: vip, destination: asker)
        }
        let unsummed: [UInt8] = [0x88, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00] + Self.vip
            + [0x02, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
        let pseudo = Self.vip + Self.asker + [0, 0, 0, 32, 0, 0, 0, 58]
        #expect(out.count == 32)
        #expect(Array(out[0..<2]) == [0x88, 0x00])
        #expect(Array(out[4...]) == Array(unsummed[4...]))
        #expect(word(out, 2) == referenceChecksum(unsummed, pseudoHeader: pseudo))
    }

    @Test func emitOverTheSolicitationItAnswers() {
        // The answer is written over the question: the target stays, the option changes kind.
        let vip = IPAddress("2001:db8:0:1::10")!, asker = IPAddress("2001:db8::5")!
        let out = mutated(Self.solicitation) { base, _ in
            NeighborAdvertisement.emit(into: base, flags: [.solicited, .override], target: vip,
                                       targetMAC: Frames.directorMAC, source: vip, destination: asker)
        }
        #expect(out[0] == ICMPv6Type.neighborAdvertisement.rawValue)
        #expect(Array(out[8..<24]) == Self.vip)
        #expect(Array(out[24..<32]) == [0x02, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    }
}
