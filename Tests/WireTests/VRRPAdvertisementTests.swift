import Testing
import Wire

/// Advertisements written out by hand from the RFC layouts; each checksum was computed
/// outside Swift and is re-checked here with `referenceChecksum`.
@Suite struct VRRPAdvertisementTests {
    static let master = IPAddress("192.168.58.135")!
    static let group4 = IPAddress("224.0.0.18")!

    /// What keepalived sends for seed 002's instance: v2, VRID 51, priority 100, one address
    /// 192.168.58.133, PASS "1111", advert_int 1 (20 bytes).
    static let v2Pass: [UInt8] = [
        0x21, 0x33, 0x64, 0x01,  // version 2, type 1 (advertisement); VRID 51; priority 100; 1 address
        0x01, 0x01, 0x1c, 0x3a,  // auth type 1 (simple text); advert interval 1 s; checksum
        0xc0, 0xa8, 0x3a, 0x85,  // 192.168.58.133
        0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,  // "1111", zero-padded to 8 bytes
    ]

    /// v3 over IPv6 from fe80::1 to ff02::12: VRID 51, priority 150, 100 cs, fe80::5 (the
    /// link-local first, as RFC 5798 §5.2.9 wants) and 2001:db8::10 (40 bytes).
    static let v3IPv6: [UInt8] = [
        0x31, 0x33, 0x96, 0x02,  // version 3, type 1; VRID 51; priority 150; 2 addresses
        0x00, 0x64, 0x0d, 0xe8,  // reserved 0, max advert interval 100 cs; checksum (with pseudo-header)
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,  // fe80::5
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,  // 2001:db8::10
    ]
    static let v6Source = IPAddress("fe80::1")!
    static let group6 = IPAddress("ff02::12")!

    /// v3 over IPv4 from 198.18.0.2: VRID 7, priority 100, 100 cs, 198.18.0.10 (12 bytes).
    static let v3IPv4: [UInt8] = [
        0x31, 0x07, 0x64, 0x01,
        0x00, 0x64, 0xfd, 0xd2,
        0xc6, 0x12, 0x00, 0x0a,
    ]
    static let v4Source = IPAddress("198.18.0.2")!

    func parse(_ bytes: [UInt8], source: IPAddress = master, destination: IPAddress = group4) -> VRRPError? {
        withFrame(bytes) { base, length -> VRRPError? in
            do throws(VRRPError) {
                _ = try VRRPAdvertisement(base, length: length, source: source, destination: destination)
                return nil
            } catch { return error }
        }.0
    }

    static func pseudoHeader4(_ s: IPAddress, _ d: IPAddress, _ length: Int) -> [UInt8] {
        func b(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        return b(s.ipv4) + b(d.ipv4) + [0, 112, 0, UInt8(length)]
    }

    static func pseudoHeader6(_ s: IPAddress, _ d: IPAddress, _ length: Int) -> [UInt8] {
        func b(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }
        return b(s.high) + b(s.low) + b(d.high) + b(d.low) + [0, 0, 0, UInt8(length), 0, 0, 0, 112]
    }

    @Test func checksumsInTheVectorsAreRight() {
        var v2 = Self.v2Pass; v2[6] = 0; v2[7] = 0
        #expect(referenceChecksum(v2) == 0x1c3a)
        var v6 = Self.v3IPv6; v6[6] = 0; v6[7] = 0
        #expect(referenceChecksum(v6, pseudoHeader: Self.pseudoHeader6(Self.v6Source, Self.group6, 40)) == 0x0de8)
        var v4 = Self.v3IPv4; v4[6] = 0; v4[7] = 0
        #expect(referenceChecksum(v4, pseudoHeader: Self.pseudoHeader4(Self.v4Source, Self.group4, 12)) == 0xfdd2)
    }

    @Test func readV2Fields() throws {
        try reading(Self.v2Pass) { base, length in
            let advert = try VRRPAdvertisement(base, length: length, source: Self.master, destination: Self.group4)
            #expect(advert.version == .v2)
            #expect(advert.type == 1)
            #expect(advert.virtualRouterID == 51)
            #expect(advert.priority == 100)
            #expect(advert.addressCount == 1)
            #expect(advert.authType == .simpleText)
            #expect(advert.intervalCentiseconds == 100)
            #expect(advert.checksum == 0x1c3a)
            #expect(advert.address(at: 0) == IPAddress("192.168.58.133"))
            #expect(advert.authData == VRRPAdvertisement.authData(password: "1111"))
            #expect(advert.authData == 0x3131_3131_0000_0000)
            #expect(!advert.isIPv6)
        }
    }

    @Test func readV3Fields() throws {
        try reading(Self.v3IPv6) { base, length in
            let advert = try VRRPAdvertisement(base, length: length, source: Self.v6Source, destination: Self.group6)
            #expect(advert.version == .v3)
            #expect(advert.virtualRouterID == 51)
            #expect(advert.priority == 150)
            #expect(advert.intervalCentiseconds == 100)
            #expect(advert.isIPv6 && advert.addressLength == 16)
            #expect((0..<advert.addressCount).map(advert.address(at:)) == [IPAddress("fe80::5")!, IPAddress("2001:db8::10")!])
        }
        try reading(Self.v3IPv4) { base, length in
            let advert = try VRRPAdvertisement(base, length: length, source: Self.v4Source, destination: Self.group4)
            #expect(advert.version == .v3 && advert.virtualRouterID == 7 && advert.address(at: 0) == IPAddress("198.18.0.10"))
        }
    }

    @Test func v3IntervalIsTwelveBits() throws {
        // The top four bits are reserved (RFC 5798 §5.2.6): a sender setting them changes nothing.
        var bytes = Self.v3IPv4
        bytes[4] = 0xf0
        bytes[6] = 0x0d  // 0xfdd2 - 0xf000 (ones' complement): the checksum still verifies
        try reading(bytes) { base, length in
            let advert = try VRRPAdvertisement(base, length: length, source: Self.v4Source, destination: Self.group4)
            #expect(advert.intervalCentiseconds == 100)
        }
    }

    @Test func writeFields() throws {
        let out = try mutated(Self.v2Pass) { base, length in
            let advert = try VRRPAdvertisement(base, length: length, source: Self.master, destination: Self.group4)
            advert.checksum = 0xbeef
        }
        #expect(Array(out[6...7]) == [0xbe, 0xef])
        #expect(parse(out) == .badChecksum)
    }

    @Test func emitV2Pass() {
        let out = emitted(count: 20) { base in
            let n = VRRPAdvertisement.emit(into: base, version: .v2, virtualRouterID: 51, priority: 100, intervalCentiseconds: 100,
                                           addresses: [IPAddress("192.168.58.133")!], authType: .simpleText,
                                           authData: VRRPAdvertisement.authData(password: "1111"),
                                           source: Self.master, destination: Self.group4)
            #expect(n == 20)
        }
        #expect(out == Self.v2Pass)
    }

    @Test func emitV3() {
        let v6 = emitted(count: 40) { base in
            VRRPAdvertisement.emit(into: base, version: .v3, virtualRouterID: 51, priority: 150, intervalCentiseconds: 100,
                                   addresses: [IPAddress("fe80::5")!, IPAddress("2001:db8::10")!],
                                   source: Self.v6Source, destination: Self.group6)
        }
        #expect(v6 == Self.v3IPv6)
        let v4 = emitted(count: 12) { base in
            VRRPAdvertisement.emit(into: base, version: .v3, virtualRouterID: 7, priority: 100, intervalCentiseconds: 100,
                                   addresses: [IPAddress("198.18.0.10")!], source: Self.v4Source, destination: Self.group4)
        }
        #expect(v4 == Self.v3IPv4)
    }

    @Test func parseAcceptsTheVectors() {
        #expect(parse(Self.v2Pass) == nil)
        #expect(parse(Self.v3IPv6, source: Self.v6Source, destination: Self.group6) == nil)
        #expect(parse(Self.v3IPv4, source: Self.v4Source) == nil)
    }

    @Test func v3ChecksumCoversThePseudoHeader() {
        // The same bytes from another source, or to a unicast peer, no longer verify.
        #expect(parse(Self.v3IPv4, source: IPAddress("198.18.0.3")!) == .badChecksum)
        #expect(parse(Self.v3IPv4, source: Self.v4Source, destination: IPAddress("198.18.0.1")!) == .badChecksum)
        #expect(parse(Self.v3IPv6, source: IPAddress("fe80::2")!, destination: Self.group6) == .badChecksum)
        // v2's does not cover it (RFC 3768 §5.3.8).
        #expect(parse(Self.v2Pass, source: IPAddress("192.168.58.136")!, destination: IPAddress("192.168.58.135")!) == nil)
    }

    @Test func truncated() {
        #expect(parse([]) == .truncated)
        #expect(parse(Array(Self.v2Pass[0..<7])) == .truncated)
        // v2 needs its eight authentication bytes after the header.
        #expect(parse(Array(Self.v2Pass[0..<12])) == .truncated)
    }

    @Test func badVersion() {
        for version: UInt8 in [0, 1, 4, 15] {
            var bytes = Self.v3IPv4
            bytes[0] = version << 4 | 1
            #expect(parse(bytes, source: Self.v4Source) == .badVersion, "version \(version)")
        }
        // v2 exists only over IPv4.
        var v2OverIPv6 = Self.v3IPv6
        v2OverIPv6[0] = 0x21
        #expect(parse(v2OverIPv6, source: Self.v6Source, destination: Self.group6) == .badVersion)
    }

    @Test func badType() {
        for type: UInt8 in [0, 2, 15] {
            var bytes = Self.v2Pass
            bytes[0] = 0x20 | type
            #expect(parse(bytes) == .badType, "type \(type)")
        }
    }

    @Test func countAndLength() {
        var two = Self.v2Pass
        two[3] = 2  // claims two addresses, carries one
        #expect(parse(two) == .addressCountMismatch)
        var zero = Self.v3IPv4
        zero[3] = 0
        #expect(parse(zero, source: Self.v4Source) == .addressCountMismatch)
        // Three stray bytes: not a whole number of IPv4 addresses.
        #expect(parse(Self.v3IPv4 + [0, 0, 0], source: Self.v4Source) == .badLength)
        // Sixteen bytes of v3 addresses are one IPv6 address but four IPv4 ones.
        #expect(parse(Array(Self.v3IPv6[0..<24]), source: Self.v6Source, destination: Self.group6) == .addressCountMismatch)
    }

    @Test func badChecksum() {
        var bytes = Self.v2Pass
        bytes[15] ^= 0x01  // the password's last character
        #expect(parse(bytes) == .badChecksum)
    }

    @Test func constants() {
        #expect(VRRPAdvertisement.ipv4Group.description == "224.0.0.18")
        #expect(VRRPAdvertisement.ipv6Group.description == "ff02::12")
        #expect(VRRPAdvertisement.ttl == 255)
        #expect(VRRPAdvertisement.authData(password: "averylongpassword") == VRRPAdvertisement.authData(password: "averylon"))
        #expect(VRRPError.allCases.map(\.description) == ["truncated", "bad_version", "bad_type", "bad_checksum",
                                                          "address_count_mismatch", "bad_length"])
    }
}
