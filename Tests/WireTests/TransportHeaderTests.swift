import Testing
import Wire

@Suite struct TransportHeaderTests {
    /// The TCP segment of `Frames.ipv4TCPSyn` (40 bytes) and its pseudo-header.
    static let segment: [UInt8] = Array(Frames.ipv4TCPSyn[34...])
    static let tcpPseudo: [UInt8] = [0xcb, 0x00, 0x71, 0x05, 0xc6, 0x12, 0x00, 0x0a, 0x00, 0x06, 0x00, 40]
    /// The UDP datagram of `Frames.ipv4UDPDNS` (37 bytes) and its pseudo-header.
    static let datagram: [UInt8] = Array(Frames.ipv4UDPDNS[34...])
    static let udpPseudo: [UInt8] = [0x0a, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x35, 0x00, 0x11, 0x00, 37]

    @Test func readPorts() {
        reading(Self.segment) { base, length in
            let t = TransportHeader(unchecked: base, length: length, protocol: .tcp)
            #expect(t.hasPorts)
            #expect(t.sourcePort == 46018)
            #expect(t.destinationPort == 80)
            #expect(t.headerLength == 40)
        }
        reading(Self.datagram) { base, length in
            let u = TransportHeader(unchecked: base, length: length, protocol: .udp)
            #expect(u.sourcePort == 53000 && u.destinationPort == 53)
            #expect(u.headerLength == 8)
        }
        reading([0xb3, 0xc2, 0x00]) { base, length in
            #expect(!TransportHeader(unchecked: base, length: length, protocol: .tcp).hasPorts)
        }
    }

    @Test func writePorts() {
        let out = mutated(Self.segment) { base, length in
            let t = TransportHeader(unchecked: base, length: length, protocol: .tcp)
            t.sourcePort = 0x1234
            t.destinationPort = 8080
        }
        #expect(Array(out[0..<4]) == [0x12, 0x34, 0x1f, 0x90])
        #expect(Array(out[4...]) == Array(Self.segment[4...]))
    }

    @Test func pseudoHeaderChecksumOffsets() {
        #expect(TransportHeader.pseudoHeaderChecksumOffset(.tcp) == 16)
        #expect(TransportHeader.pseudoHeaderChecksumOffset(.udp) == 6)
        #expect(TransportHeader.pseudoHeaderChecksumOffset(.icmpv6) == 2)
        #expect(TransportHeader.pseudoHeaderChecksumOffset(.icmp) == nil)
        // An 8-byte quote of a TCP header stops before its checksum.
        reading(Array(Self.segment[0..<8])) { base, length in
            #expect(TransportHeader(unchecked: base, length: length, protocol: .tcp).pseudoHeaderChecksumOffset == nil)
        }
    }

    @Test func incrementalUpdateMatchesARecomputedChecksum() {
        // Rewrite the destination port 80 → 8080 and update the checksum by RFC 1624.
        let out = mutated(Self.segment) { base, length in
            let t = TransportHeader(unchecked: base, length: length, protocol: .tcp)
            t.destinationPort = 8080
            t.updatePseudoHeaderChecksum(overIPv6: false) { Checksum.update($0, old: UInt16(80), new: UInt16(8080)) }
        }
        var zeroed = out
        zeroed[16] = 0
        zeroed[17] = 0
        #expect(word(out, 16) == referenceChecksum(zeroed, pseudoHeader: Self.tcpPseudo))
    }

    @Test func udpZeroChecksumRules() {
        var none = Self.datagram
        none[6] = 0
        none[7] = 0
        // IPv4: zero means "no checksum" and stays zero (RFC 768).
        let v4 = mutated(none) { base, length in
            TransportHeader(unchecked: base, length: length, protocol: .udp)
                .updatePseudoHeaderChecksum(overIPv6: false) { _ in 0x1234 }
        }
        #expect(word(v4, 6) == 0)
        // A computed zero is sent as 0xFFFF, over IPv6 as over IPv4.
        let v6 = mutated(none) { base, length in
            TransportHeader(unchecked: base, length: length, protocol: .udp)
                .updatePseudoHeaderChecksum(overIPv6: true) { _ in 0 }
        }
        #expect(word(v6, 6) == 0xFFFF)
    }

    @Test func partialChecksumIsTheFoldedPseudoHeaderSum() {
        let sum = Checksum.pseudoHeaderIPv4(source: 0xcb00_7105, destination: 0xc612_000a, protocol: .tcp, length: 40)
        let out = mutated(Self.segment) { base, length in
            TransportHeader(unchecked: base, length: length, protocol: .tcp).setPartialChecksum(pseudoHeaderSum: sum)
        }
        #expect(word(out, 16) == Checksum.fold(sum))
        // Nothing is written where the protocol has no pseudo-header checksum.
        let icmp = mutated(Self.segment) { base, length in
            TransportHeader(unchecked: base, length: length, protocol: .icmp).setPartialChecksum(pseudoHeaderSum: sum)
        }
        #expect(icmp == Self.segment)
    }
}
