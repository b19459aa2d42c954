import Testing
import Wire

/// The PROXY protocol header byte for byte (haproxy doc/proxy-protocol.txt §2.1, §2.2) and
/// the TOA option (DPVS kmod/toa/toa.h).
@Suite struct ProxyProtocolHeaderTests {
    static func header(_ version: ProxyProtocolHeader.Version, _ source: String, _ sourcePort: UInt16,
                       _ destination: String, _ destinationPort: UInt16) -> ProxyProtocolHeader {
        ProxyProtocolHeader(version: version, source: IPAddress(source)!, sourcePort: sourcePort,
                            destination: IPAddress(destination)!, destinationPort: destinationPort)
    }

    /// What `write(into:)` leaves, after checking it wrote exactly `encodedLength` bytes.
    static func encoded(_ header: ProxyProtocolHeader) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: 200)
        let written = buffer.withUnsafeMutableBytes { header.write(into: $0.baseAddress!) }
        #expect(written == header.encodedLength)
        #expect(buffer[written...].allSatisfy { $0 == 0xEE }, "wrote past its length")
        return Array(buffer[..<written])
    }

    @Test func version1OverIPv4IsTheSpecsLine() {
        let bytes = Self.encoded(Self.header(.v1, "198.18.0.100", 40000, "198.18.0.10", 80))
        #expect(bytes == Array("PROXY TCP4 198.18.0.100 198.18.0.10 40000 80\r\n".utf8))
    }

    @Test func version1OverIPv6UsesRFC5952Text() {
        let bytes = Self.encoded(Self.header(.v1, "2001:db8::100", 1, "2001:db8:0:1:1:1:1:1", 65535))
        #expect(bytes == Array("PROXY TCP6 2001:db8::100 2001:db8:0:1:1:1:1:1 1 65535\r\n".utf8))
    }

    @Test func version1LongestLineFitsTheSpecsLimit() {
        let h = Self.header(.v1, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", 65535)
        let bytes = Self.encoded(h)
        #expect(bytes.count == 11 + 38 + 1 + 38 + 1 + 5 + 1 + 5 + 2)
        #expect(bytes.count <= ProxyProtocolHeader.v1MaximumLength)
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
    }

    /// The text of every address matches `IPAddress.description` (RFC 5952), zero runs and all.
    @Test func version1AddressTextMatchesTheCanonicalForm() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
        for _ in 0..<2000 {
            // Groups that are zero half of the time give runs of every length and place.
            var high: UInt64 = 0x2001_0DB8 << 32, low: UInt64 = 0
            for g in 0..<6 {
                let value = next() & 1 == 0 ? 0 : UInt64(truncatingIfNeeded: next() >> 48) & [0xF, 0xFF, 0xFFF, 0xFFFF][Int(next() & 3)]
                if g < 2 { high |= value << UInt64(16 - 16 * g) } else { low |= value << UInt64(48 - 16 * (g - 2)) }
            }
            let address = IPAddress(high: high, low: low)
            let h = ProxyProtocolHeader(version: .v1, source: address, sourcePort: 7, destination: IPAddress("2001:db8::")!,
                                        destinationPort: 0)
            let text = String(decoding: Self.encoded(h), as: UTF8.self)
            #expect(text == "PROXY TCP6 \(address) 2001:db8:: 7 0\r\n")
        }
    }

    @Test func version2OverIPv4() {
        let bytes = Self.encoded(Self.header(.v2, "198.18.0.100", 40000, "198.18.0.10", 80))
        #expect(bytes == [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                          0x21, 0x11, 0x00, 0x0C,
                          198, 18, 0, 100, 198, 18, 0, 10,
                          0x9C, 0x40, 0x00, 0x50])
    }

    @Test func version2OverIPv6() {
        let bytes = Self.encoded(Self.header(.v2, "2001:db8::100", 40000, "2001:db8::10", 443))
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]
        let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x10]
        #expect(bytes == ProxyProtocolHeader.signature + [0x21, 0x21, 0x00, 0x24] + source + destination
                + [0x9C, 0x40, 0x01, 0xBB])
        #expect(bytes.count == 52)
    }

    /// §2.2: a mix of families is written as IPv6, the IPv4 address mapped.
    @Test func mixedFamiliesAreWrittenAsIPv6() {
        let bytes = Self.encoded(Self.header(.v2, "198.18.0.100", 1, "2001:db8::10", 2))
        #expect(bytes[13] == 0x21)
        #expect(Array(bytes[16..<32]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 18, 0, 100])
    }

    // MARK: TOA

    @Test func addressOptionForIPv4IsEightBytes() throws {
        var bytes: [UInt8] = [0x9C, 0x40, 0x1F, 0x90, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0xFF, 0xFF, 0, 0, 0, 0]
        bytes += [UInt8](repeating: 0, count: 8)
        try bytes.withUnsafeMutableBytes { raw in
            let tcp = try TCPSegment(raw.baseAddress!, length: raw.count)
            tcp.writeAddressOption(at: 20, address: IPAddress("198.18.0.100")!, port: 40000)
            tcp.setHeaderLength(28)
            #expect(tcp.headerLength == 28)
            #expect(tcp.flags == .ack)
            #expect(tcp.addressOption?.address == IPAddress("198.18.0.100")!)
            #expect(tcp.addressOption?.port == 40000)
        }
        #expect(Array(bytes[20...]) == [254, 8, 0x9C, 0x40, 198, 18, 0, 100])
        #expect(bytes[12] == 0x70)
    }

    @Test func addressOptionForIPv6IsTwentyBytes() throws {
        var bytes: [UInt8] = [0x9C, 0x40, 0x1F, 0x90, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0xFF, 0xFF, 0, 0, 0, 0]
        bytes += [UInt8](repeating: 0xAA, count: 20)
        try bytes.withUnsafeMutableBytes { raw in
            let tcp = try TCPSegment(raw.baseAddress!, length: raw.count)
            tcp.writeAddressOption(at: 20, address: IPAddress("2001:db8::100")!, port: 40000)
            tcp.setHeaderLength(40)
            #expect(tcp.addressOption?.address == IPAddress("2001:db8::100")!)
        }
        #expect(Array(bytes[20...]) == [254, 20, 0x9C, 0x40, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00])
    }
}
