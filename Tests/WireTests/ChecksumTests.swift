import TestSupport
import Testing
import Wire

/// RFC 1071 sums and RFC 1624 incremental updates, against literal values from the RFCs,
/// tshark-verified packets, and a plain reference implementation over seeded random data.
@Suite struct ChecksumTests {
    /// `Checksum.sum` over a byte array.
    func sum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            // Safety: the pointer does not leave the closure; count is the array's.
            Checksum.sum(raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: raw.count, initial: initial)
        }
    }

    // MARK: RFC 1071 sums

    @Test func rfc1071Section3Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0x2ddf0, which folds to 0xddf2.
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        #expect(Checksum.fold(sum(bytes)) == 0xddf2)
        #expect(Checksum.finish(sum(bytes)) == 0x220d)
    }

    @Test func oddLengthPadsTheLastByteOnTheRight() {
        // RFC 1071 §4.1: a trailing byte is the high half of a word whose low half is zero.
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0xaa]
        #expect(Checksum.fold(sum(bytes)) == 0x87f3)  // 0xddf2 + 0xaa00 = 0x187f2 → 0x87f3
        #expect(Checksum.fold(sum([0x12])) == 0x1200)
        #expect(sum([]) == 0)
        #expect(Checksum.finish(sum([])) == 0xffff)
    }

    @Test func wikipediaIPv4HeaderExample() {
        // The header from Wikipedia's "IPv4 header checksum" article: checksum 0xb861.
        var header: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                               0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]
        #expect(Checksum.fold(sum(header)) == 0xffff)
        header[10] = 0
        header[11] = 0
        #expect(Checksum.finish(sum(header)) == 0xb861)
    }

    @Test func initialChainsSumsOfEvenLengthPieces() {
        let a: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00]
        let b: [UInt8] = [0x40, 0x00, 0x40, 0x11, 0xc0, 0xa8, 0x00, 0x01, 0xc0]
        #expect(Checksum.fold(sum(b, initial: sum(a))) == Checksum.fold(sum(a + b)))
        // A large initial value (a pseudo-header's unfolded sum) still folds correctly.
        #expect(Checksum.fold(sum([0xff, 0xff], initial: 0x000f_fff0)) == Checksum.fold(0x000f_fff0 + 0xffff))
    }

    @Test func foldCarriesTwice() {
        #expect(Checksum.fold(0xffff_ffff) == 0xffff)
        #expect(Checksum.fold(0x0001_ffff) == 0x0001)  // 0xffff + 1 = 0x10000 → 0x0001
        #expect(Checksum.fold(0x0002_fffe) == 0x0001)
        #expect(Checksum.fold(0) == 0)
    }

    @Test func matchesReferenceAtEveryLengthAndAlignment() {
        // The sum reads eight bytes at a time, then words, then a byte: walk every path and
        // every misalignment of the start pointer.
        var rng = SplitMix64(seed: 1071)
        let pool = (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<8 {
            for length in 0...130 {
                let bytes = Array(pool[start..<start + length])
                let got = pool.withUnsafeBytes { raw in
                    // Safety: start + length <= 138 < pool.count.
                    Checksum.finish(Checksum.sum(raw.baseAddress! + start, count: length))
                }
                #expect(got == referenceChecksum(bytes), "start \(start) length \(length)")
            }
        }
    }

    @Test func allOnesJumboBufferDoesNotOverflow() {
        let bytes = [UInt8](repeating: 0xff, count: 65_535)
        #expect(Checksum.finish(sum(bytes)) == referenceChecksum(bytes))
        let big = [UInt8](repeating: 0xfe, count: 9_001)
        #expect(Checksum.finish(sum(big)) == referenceChecksum(big))
    }

    // MARK: Pseudo-headers against tshark-verified packets

    @Test func pseudoHeaderIPv4MatchesLiteralBytes() {
        let literal: [UInt8] = [0xcb, 0x00, 0x71, 0x05, 0xc6, 0x12, 0x00, 0x0a, 0x00, 0x06, 0x00, 0x28]
        let computed = Checksum.pseudoHeaderIPv4(source: 0xcb00_7105, destination: 0xc612_000a, protocol: .tcp, length: 40)
        #expect(Checksum.fold(computed) == Checksum.fold(sum(literal)))
    }

    @Test func pseudoHeaderIPv6MatchesLiteralBytes() {
        let source = IPAddress("2001:db8::5")!
        let destination = IPAddress("2001:db8:0:1::10")!
        let literal: [UInt8] = Array(Frames.ipv6TCPSyn[22..<54]) + [0x00, 0x01, 0x00, 0x28, 0x00, 0x00, 0x00, 0x06]
        // A length above 65535 (jumbogram) lands in the upper word of the 32-bit length field.
        let computed = Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .tcp, length: 0x1_0028)
        #expect(Checksum.fold(computed) == Checksum.fold(sum(literal)))
    }

    @Test func ipv4TCPChecksumOfARealSyn() {
        let segment = Array(Frames.ipv4TCPSyn[34...])
        let pseudo = Checksum.pseudoHeaderIPv4(source: 0xcb00_7105, destination: 0xc612_000a, protocol: .tcp, length: segment.count)
        #expect(Checksum.fold(sum(segment, initial: pseudo)) == 0xffff)
        var zeroed = segment
        zeroed[16] = 0
        zeroed[17] = 0
        #expect(Checksum.finish(sum(zeroed, initial: pseudo)) == 0xf305)
    }

    @Test func ipv4UDPChecksumOfARealDNSQuery() {
        var datagram = Array(Frames.ipv4UDPDNS[34...])
        let pseudo = Checksum.pseudoHeaderIPv4(source: 0x0a00_0002, destination: 0xc612_0035, protocol: .udp, length: datagram.count)
        #expect(Checksum.fold(sum(datagram, initial: pseudo)) == 0xffff)
        datagram[6] = 0
        datagram[7] = 0
        #expect(Checksum.finish(sum(datagram, initial: pseudo)) == 0xe4e1)  // odd length: 37 bytes
    }

    @Test func ipv6TCPAndUDPChecksumsOfRealPackets() {
        let client = IPAddress("2001:db8::5")!
        var segment = Array(Frames.ipv6TCPSyn[54...])
        let tcpPseudo = Checksum.pseudoHeaderIPv6(source: client, destination: IPAddress("2001:db8:0:1::10")!,
                                                  nextHeader: .tcp, length: segment.count)
        #expect(Checksum.fold(sum(segment, initial: tcpPseudo)) == 0xffff)
        segment[16] = 0
        segment[17] = 0
        #expect(Checksum.finish(sum(segment, initial: tcpPseudo)) == 0x1ab2)

        var datagram = Array(Frames.ipv6UDPDNS[54...])
        let udpPseudo = Checksum.pseudoHeaderIPv6(source: client, destination: IPAddress("2001:db8:0:1::53")!,
                                                  nextHeader: .udp, length: datagram.count)
        #expect(Checksum.fold(sum(datagram, initial: udpPseudo)) == 0xffff)
        datagram[6] = 0
        datagram[7] = 0
        #expect(Checksum.finish(sum(datagram, initial: udpPseudo)) == 0x5960)
    }

    // MARK: RFC 1624 incremental updates

    @Test func rfc1624Section3MinusZeroCornerCase() {
        // RFC 1624 §3: HC = 0xdd2f, m = 0x5555 → m' = 0x3285. The new data sums to 0xffff, so
        // the right checksum is 0x0000; RFC 1141's HC' = HC + m + ~m' gives 0xffff (-0), wrong.
        // The data: [m, 0xcd7a] sums to 0x22d0, whose complement is 0xdd2f.
        #expect(referenceChecksum([0x55, 0x55, 0xcd, 0x7a]) == 0xdd2f)
        #expect(referenceChecksum([0x32, 0x85, 0xcd, 0x7a]) == 0x0000)
        #expect(Checksum.update(0xdd2f, old: UInt16(0x5555), new: UInt16(0x3285)) == 0x0000)
        // And back again, from a zero checksum.
        #expect(Checksum.update(0x0000, old: UInt16(0x3285), new: UInt16(0x5555)) == 0xdd2f)
    }

    @Test func updateOfAnUnchangedFieldKeepsTheChecksum() {
        for checksum: UInt16 in [0x0000, 0x0001, 0x1c54, 0xfffe] {
            #expect(Checksum.update(checksum, old: UInt16(0x4006), new: UInt16(0x4006)) == checksum)
            #expect(Checksum.update(checksum, old: UInt32(0xc612_000a), new: UInt32(0xc612_000a)) == checksum)
        }
    }

    /// A random 20-byte "header" whose first word is fixed non-zero, as every real IP/TCP header's is:
    /// then the data never sums to ones'-complement zero, and ±0 cannot make two right answers.
    func randomHeader(_ rng: inout SplitMix64) -> [UInt8] {
        [0x45, 0x00] + (0..<18).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test func update16MatchesRecomputationOverRandomHeaders() {
        var rng = SplitMix64(seed: 0x1624)
        for _ in 0..<5_000 {
            var header = randomHeader(&rng)
            header[10] = 0
            header[11] = 0
            let before = referenceChecksum(header)
            // Change one word (never the checksum's own), sometimes to an extreme value.
            let index = [2, 4, 6, 8, 12, 14, 16, 18].randomElement(using: &rng)!
            let old = word(header, index)
            let new: UInt16 = [0, 0xffff, UInt16.random(in: 0...0xffff, using: &rng)].randomElement(using: &rng)!
            header[index] = UInt8(new >> 8)
            header[index + 1] = UInt8(new & 0xff)
            #expect(Checksum.update(before, old: old, new: new) == referenceChecksum(header))
        }
    }

    @Test func update32MatchesRecomputationOverRandomHeaders() {
        var rng = SplitMix64(seed: 0x0032_1624)
        for _ in 0..<5_000 {
            var header = randomHeader(&rng)
            header[10] = 0
            header[11] = 0
            let before = referenceChecksum(header)
            let index = [12, 16].randomElement(using: &rng)!  // the address fields
            let old = UInt32(word(header, index)) << 16 | UInt32(word(header, index + 2))
            let new: UInt32 = [0, .max, UInt32.random(in: 0...UInt32.max, using: &rng)].randomElement(using: &rng)!
            for k in 0..<4 { header[index + k] = UInt8(truncatingIfNeeded: new >> (24 - 8 * UInt32(k))) }
            #expect(Checksum.update(before, old: old, new: new) == referenceChecksum(header))
        }
    }

    @Test func updateIPv6AddressMatchesRecomputedTCPChecksum() {
        // NAT of an IPv6 TCP segment: the source address changes in the pseudo-header only.
        var rng = SplitMix64(seed: 0x0006_1624)
        let segment = Array(Frames.ipv6TCPSyn[54...])
        let destination = IPAddress("2001:db8:0:1::10")!
        func checksum(_ source: IPAddress) -> UInt16 {
            var zeroed = segment
            zeroed[16] = 0
            zeroed[17] = 0
            return Checksum.finish(sum(zeroed, initial: Checksum.pseudoHeaderIPv6(
                source: source, destination: destination, nextHeader: .tcp, length: segment.count)))
        }
        for _ in 0..<2_000 {
            let old = IPAddress(high: rng.next(), low: rng.next())
            let new = [IPAddress(high: rng.next(), low: rng.next()), .zero,
                       IPAddress(high: .max, low: .max)].randomElement(using: &rng)!
            #expect(Checksum.update(checksum(old), old: old, new: new) == checksum(new))
        }
    }

    @Test func updateIPv4MappedAddressMatchesRecomputedIPv4TCPChecksum() {
        // The IPAddress overload on IPv4-mapped values must equal the 32-bit update: the ::ffff
        // words are in both old and new and cancel.
        var rng = SplitMix64(seed: 0x0004_1624)
        let segment = Array(Frames.ipv4TCPSyn[34...])
        func checksum(_ destination: UInt32) -> UInt16 {
            var zeroed = segment
            zeroed[16] = 0
            zeroed[17] = 0
            return Checksum.finish(sum(zeroed, initial: Checksum.pseudoHeaderIPv4(
                source: 0xcb00_7105, destination: destination, protocol: .tcp, length: segment.count)))
        }
        for _ in 0..<2_000 {
            let old = UInt32.random(in: 0...UInt32.max, using: &rng)
            let new = UInt32.random(in: 0...UInt32.max, using: &rng)
            let before = checksum(old)
            #expect(Checksum.update(before, old: IPAddress(ipv4: old), new: IPAddress(ipv4: new)) == checksum(new))
            #expect(Checksum.update(before, old: old, new: new) == checksum(new))
        }
    }
}
