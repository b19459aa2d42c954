import TestSupport
import Testing
import Wire

@Suite struct MACAddressTests {
    @Test func parseAndPrint() {
        let mac = MACAddress("52:54:00:AB:cd:ef")
        #expect(mac == MACAddress(0x52, 0x54, 0x00, 0xab, 0xcd, 0xef))
        #expect(mac?.rawValue == 0x5254_00ab_cdef)
        #expect(mac?.description == "52:54:00:ab:cd:ef")
        #expect(MACAddress("52-54-00-ab-cd-ef") == mac)
        #expect(MACAddress("2:0:0:0:0:a")?.description == "02:00:00:00:00:0a")  // single digits, as `ip link` accepts
        #expect(MACAddress.broadcast.description == "ff:ff:ff:ff:ff:ff")
        #expect(MACAddress.zero.description == "00:00:00:00:00:00")
    }

    @Test func rejectsMalformedText() {
        for text in ["", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52:54:00:ab:cd:eg", "525:4:00:ab:cd:ef",
                     "52:54::ab:cd:ef",      // an empty field is not a zero
                     "52::54:00:ab:cd:ef",   // seven fields, one empty
                     ":52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef:",
                     "+2:54:00:ab:cd:ef",    // a sign is not a hex digit
                     "52:54:00:ab:cd:-f", " 52:54:00:ab:cd:ef"] {
            #expect(MACAddress(text) == nil, "\(text)")
        }
    }

    @Test func octetsInWireOrder() {
        #expect(MACAddress(rawValue: 0x0102_0304_0506).octets == [1, 2, 3, 4, 5, 6])
        // Bits above 48 are dropped, not carried into the address.
        #expect(MACAddress(rawValue: 0xffff_0102_0304_0506).octets == [1, 2, 3, 4, 5, 6])
    }

    @Test func multicastBit() {
        #expect(MACAddress.broadcast.isMulticast)
        #expect(MACAddress("01:00:5e:00:00:12")!.isMulticast)  // VRRP's IPv4 multicast group
        #expect(MACAddress("33:33:00:00:00:01")!.isMulticast)
        #expect(!Frames.directorMAC.isMulticast)
        #expect(!MACAddress("00:00:5e:00:01:0a")!.isMulticast)  // a VRRP virtual router MAC is unicast
    }
}

@Suite struct IPAddressTests {
    // MARK: IPv4

    @Test func parseAndPrintIPv4() throws {
        let a = try #require(IPAddress("198.18.0.1"))
        #expect(a.isIPv4)
        #expect(a.ipv4 == 0xc612_0001)
        #expect(a == IPAddress(ipv4: 0xc612_0001))
        // Stored IPv4-mapped (RFC 4291 §2.5.5.2).
        #expect(a.high == 0)
        #expect(a.low == 0x0000_ffff_c612_0001)
        #expect(a.description == "198.18.0.1")
        #expect(IPAddress("0.0.0.0")?.description == "0.0.0.0")
        #expect(IPAddress("255.255.255.255")?.ipv4 == .max)
    }

    @Test func rejectsMalformedIPv4() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", " 1.2.3.4",
                     "1.2.3.+4", "+1.2.3.4", "1.2.3.-0", "0x1.2.3.4", "1.2.3.4/24", "1234.1.1.1", "१.२.३.४"] {
            #expect(IPAddress(text) == nil, "\(text)")
        }
    }

    // MARK: IPv6

    @Test func parseAndPrintIPv6PerRFC5952() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  // §4.1 leading zeros, §4.2.1 longest run
            ("2001:DB8::A", "2001:db8::a"),                              // §4.3 lower case
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),               // §4.2.3 first run on a tie
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),                     // §4.2.3 the longest run wins
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),            // §4.2.2 one zero group stays
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("fe80::1:2", "fe80::1:2"),
            ("ff02::1:ff00:10", "ff02::1:ff00:10"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),                // RFC 6052 with a dotted tail
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ]
        for (input, printed) in cases {
            #expect(IPAddress(input)?.description == printed, "\(input)")
            #expect(IPAddress(input)?.isIPv4 == false, "\(input)")
        }
    }

    @Test func ipv4MappedTextIsTheIPv4Address() throws {
        // One shape for both families: ::ffff:a.b.c.d *is* the IPv4 address and prints as one.
        let mapped = try #require(IPAddress("::ffff:198.18.0.1"))
        #expect(mapped == IPAddress("198.18.0.1"))
        #expect(mapped.isIPv4)
        #expect(mapped.description == "198.18.0.1")
        #expect(IPAddress("::ffff:c612:1") == mapped)
        // The deprecated IPv4-compatible form (::a.b.c.d) is an ordinary IPv6 address.
        #expect(IPAddress("::198.18.0.1")?.isIPv4 == false)
        #expect(IPAddress("::198.18.0.1")?.description == "::c612:1")
    }

    @Test func halvesAreBigEndian() {
        let a = IPAddress("2001:db8:1:2:3:4:5:6")!
        #expect(a.high == 0x2001_0db8_0001_0002)
        #expect(a.low == 0x0003_0004_0005_0006)
    }

    @Test func rejectsMalformedIPv6() {
        for text in ["1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":::", "1:::2", "12345::", "g::", ":1::",
                     "1::2:", "::1:", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1::+2", "::-1", "1.2.3.4::",
                     "1.2.3.4::1", "::1.2.3", "::1.2.3.4:5", "::256.0.0.1", "fe80::1%eth0", "[::1]", ":", ""] {
            #expect(IPAddress(text) == nil, "\(text)")
        }
    }

    @Test func printedTextParsesBackToTheSameAddress() {
        // Random addresses with runs of zero groups, so compression is exercised.
        var rng = SplitMix64(seed: 5952)
        for _ in 0..<2_000 {
            var halves: [UInt64] = [0, 0]
            for g in 0..<8 where Bool.random(using: &rng) {
                let value = UInt64.random(in: 0...0xffff, using: &rng)
                halves[g / 4] |= value << (48 - 16 * UInt64(g % 4))
            }
            let a = IPAddress(high: halves[0], low: halves[1])
            #expect(IPAddress(a.description) == a, "\(a)")
        }
    }

    // MARK: Masks and order

    @Test func maskedIPv4CountsBitsWithinTheFamily() {
        let a = IPAddress("198.18.5.77")!
        #expect(a.masked(prefixLength: 24) == IPAddress("198.18.5.0"))
        #expect(a.masked(prefixLength: 16) == IPAddress("198.18.0.0"))
        #expect(a.masked(prefixLength: 31) == IPAddress("198.18.5.76"))
        #expect(a.masked(prefixLength: 32) == a)
        #expect(a.masked(prefixLength: 40) == a)
        #expect(a.masked(prefixLength: 1) == IPAddress("128.0.0.0"))
        // /0 keeps the address IPv4 (mapped), it does not collapse to ::.
        #expect(a.masked(prefixLength: 0) == IPAddress("0.0.0.0"))
        #expect(a.masked(prefixLength: 0).isIPv4)
        #expect(a.masked(prefixLength: -1) == IPAddress("0.0.0.0"))
    }

    @Test func maskedIPv6() {
        let a = IPAddress("2001:db8:abcd:1234:5678:9abc:def0:1357")!
        #expect(a.masked(prefixLength: 128) == a)
        #expect(a.masked(prefixLength: 200) == a)
        #expect(a.masked(prefixLength: 127) == IPAddress("2001:db8:abcd:1234:5678:9abc:def0:1356"))
        #expect(a.masked(prefixLength: 65) == IPAddress("2001:db8:abcd:1234::"))
        #expect(a.masked(prefixLength: 72) == IPAddress("2001:db8:abcd:1234:5600::"))
        #expect(a.masked(prefixLength: 64) == IPAddress("2001:db8:abcd:1234::"))
        #expect(a.masked(prefixLength: 63) == IPAddress("2001:db8:abcd:1234::"))
        #expect(a.masked(prefixLength: 48) == IPAddress("2001:db8:abcd::"))
        #expect(a.masked(prefixLength: 33) == IPAddress("2001:db8:8000::"))
        #expect(a.masked(prefixLength: 1) == IPAddress("::"))
        #expect(a.masked(prefixLength: 0) == IPAddress("::"))
    }

    @Test func orderIsNumericOnTheSixteenBytes() {
        let sorted = ["::", "::1", "10.0.0.1", "198.18.0.1", "198.18.0.10", "2001:db8::", "2001:db8::1", "fe80::1"]
            .map { IPAddress($0)! }
        #expect(sorted.shuffled().sorted() == sorted)
        #expect(IPAddress("198.18.0.2")! < IPAddress("198.18.0.10")!)
    }

    @Test func endpointsPrintAsIpvsadmDoes() {
        #expect(Endpoint(IPAddress("198.18.0.10")!, 80).description == "198.18.0.10:80")
        #expect(Endpoint(IPAddress("2001:db8::10")!, 443).description == "[2001:db8::10]:443")
    }
}
