/// The PROXY protocol header a director writes at the start of a TCP stream toward a real
/// server, so the server learns the client's address and port (haproxy doc/proxy-protocol.txt,
/// version 1 §2.1 and version 2 §2.2; DPVS src/ipvs/ip_vs_proxy_proto.c as the director's use).
///
/// Only what a load balancer sends is encoded: the PROXY command over TCP, IPv4 or IPv6, no
/// TLVs. The header is written straight into the frame (`write(into:)`), digits and all, so
/// the data path formats no string and allocates nothing.
public struct ProxyProtocolHeader: Equatable, Sendable {
    public enum Version: UInt8, Sendable, CaseIterable {
        /// Human-readable: `PROXY TCP4 198.18.0.1 198.18.1.1 40000 80\r\n` (at most 107 bytes).
        case v1 = 1
        /// Binary: a 12-byte signature, version and command, family, length, addresses, ports.
        case v2 = 2
    }

    public var version: Version
    /// The client's address and port (the connection's source as the director received it).
    public var source: IPAddress
    public var sourcePort: UInt16
    /// The virtual service's address and port (the destination the client used).
    public var destination: IPAddress
    public var destinationPort: UInt16

    public init(version: Version, source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        self.version = version
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }

    /// The v2 signature (§2.2): `\r\n\r\n\0\r\nQUIT\n`.
    public static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The v2 fixed part: signature, version/command, family/protocol, address length.
    public static let v2FixedLength = 16
    /// v2 version 2 (high nibble) and command PROXY (low nibble 1).
    static let v2VersionCommand: UInt8 = 0x21
    /// v2 family and transport: AF_INET (1) or AF_INET6 (2) in the high nibble, STREAM (1) low.
    static let v2TCPOverIPv4: UInt8 = 0x11
    static let v2TCPOverIPv6: UInt8 = 0x21
    /// v2 address block lengths: two addresses and two ports.
    static let v2IPv4AddressLength = 12
    static let v2IPv6AddressLength = 36
    /// The longest v1 line the spec allows, CRLF included (§2.1).
    public static let v1MaximumLength = 107

    /// Whether both addresses are IPv4 (`TCP4`, AF_INET); otherwise both are written as IPv6
    /// (an IPv4 address among IPv6 ones is written IPv4-mapped, as §2.2 asks of mixed families).
    @inlinable var isIPv4: Bool { source.isIPv4 && destination.isIPv4 }

    /// Bytes `write(into:)` writes.
    public var encodedLength: Int {
        switch version {
        case .v2:
            return Self.v2FixedLength + (isIPv4 ? Self.v2IPv4AddressLength : Self.v2IPv6AddressLength)
        case .v1:
            // "PROXY TCPx " + source + " " + destination + " " + port + " " + port + "\r\n"
            let addresses = isIPv4
                ? Self.dottedLength(source.ipv4) + Self.dottedLength(destination.ipv4)
                : Self.colonHexLength(source) + Self.colonHexLength(destination)
            return 11 + addresses + 1 + 1 + Self.decimalLength(UInt32(sourcePort)) + 1
                + Self.decimalLength(UInt32(destinationPort)) + 2
        }
    }

    /// Writes the header at `base`, which must have `encodedLength` bytes; returns that length.
    @discardableResult
    public func write(into base: UnsafeMutableRawPointer) -> Int {
        switch version {
        case .v2: return writeVersion2(base)
        case .v1: return writeVersion1(base)
        }
    }

    private func writeVersion2(_ base: UnsafeMutableRawPointer) -> Int {
        // The signature as two big-endian words, so the data path reads no array.
        base.wireSetU64(0x0D0A_0D0A_000D_0A51, 0)
        base.wireSetU32(0x5549_540A, 8)
        base.wireSetU8(Self.v2VersionCommand, 12)
        var at = Self.v2FixedLength
        if isIPv4 {
            base.wireSetU8(Self.v2TCPOverIPv4, 13)
            base.wireSetU16(UInt16(Self.v2IPv4AddressLength), 14)
            base.wireSetU32(source.ipv4, at)
            base.wireSetU32(destination.ipv4, at + 4)
            at += 8
        } else {
            base.wireSetU8(Self.v2TCPOverIPv6, 13)
            base.wireSetU16(UInt16(Self.v2IPv6AddressLength), 14)
            base.wireSetIPv6(source, at)
            base.wireSetIPv6(destination, at + 16)
            at += 32
        }
        base.wireSetU16(sourcePort, at)
        base.wireSetU16(destinationPort, at + 2)
        return at + 4
    }

    private func writeVersion1(_ base: UnsafeMutableRawPointer) -> Int {
        var at = 0
        for byte in "PROXY TCP".utf8 { at = Self.put(byte, base, at) }
        at = Self.put(isIPv4 ? UInt8(ascii: "4") : UInt8(ascii: "6"), base, at)
        at = Self.put(UInt8(ascii: " "), base, at)
        if isIPv4 {
            at = Self.writeDotted(source.ipv4, base, at)
            at = Self.put(UInt8(ascii: " "), base, at)
            at = Self.writeDotted(destination.ipv4, base, at)
        } else {
            at = Self.writeColonHex(source, base, at)
            at = Self.put(UInt8(ascii: " "), base, at)
            at = Self.writeColonHex(destination, base, at)
        }
        at = Self.put(UInt8(ascii: " "), base, at)
        at = Self.writeDecimal(UInt32(sourcePort), base, at)
        at = Self.put(UInt8(ascii: " "), base, at)
        at = Self.writeDecimal(UInt32(destinationPort), base, at)
        at = Self.put(0x0D, base, at)
        return Self.put(0x0A, base, at)
    }

    // MARK: Text without strings

    @inline(__always)
    static func put(_ byte: UInt8, _ base: UnsafeMutableRawPointer, _ at: Int) -> Int {
        base.wireSetU8(byte, at)
        return at + 1
    }

    static func decimalLength(_ v: UInt32) -> Int {
        var n = 1, x = v
        while x >= 10 { x /= 10; n += 1 }
        return n
    }

    static func writeDecimal(_ v: UInt32, _ base: UnsafeMutableRawPointer, _ at: Int) -> Int {
        let n = decimalLength(v)
        var x = v
        for i in stride(from: n - 1, through: 0, by: -1) {
            base.wireSetU8(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: x % 10), at + i)
            x /= 10
        }
        return at + n
    }

    static func dottedLength(_ v: UInt32) -> Int {
        (0..<4).reduce(3) { $0 + decimalLength((v >> UInt32(24 - 8 * $1)) & 0xFF) }
    }

    static func writeDotted(_ v: UInt32, _ base: UnsafeMutableRawPointer, _ at: Int) -> Int {
        var at = at
        for i in 0..<4 {
            if i > 0 { at = put(UInt8(ascii: "."), base, at) }
            at = writeDecimal((v >> UInt32(24 - 8 * i)) & 0xFF, base, at)
        }
        return at
    }

    /// The eight 16-bit groups of an IPv6 address.
    @inline(__always)
    static func group(_ a: IPAddress, _ i: Int) -> UInt16 {
        let word = i < 4 ? a.high : a.low
        return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (i & 3)))
    }

    /// RFC 5952 §4.2.2/§4.2.3: the first longest run of two or more zero groups becomes `::`.
    static func zeroRun(_ a: IPAddress) -> (start: Int, count: Int) {
        var best = (start: -1, count: 0), i = 0
        while i < 8 {
            guard group(a, i) == 0 else { i += 1; continue }
            var j = i
            while j < 8 && group(a, j) == 0 { j += 1 }
            if j - i > best.count && j - i >= 2 { best = (i, j - i) }
            i = j
        }
        return best
    }

    static func hexLength(_ v: UInt16) -> Int { v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1 }

    static func colonHexLength(_ a: IPAddress) -> Int {
        let run = zeroRun(a)
        var n = 0, i = 0
        while i < 8 {
            if i == run.start {
                n += 2
                i += run.count
                continue
            }
            if i > 0 && i != run.start + run.count { n += 1 }
            n += hexLength(group(a, i))
            i += 1
        }
        return n
    }

    /// RFC 5952 text: lower-case hex, no leading zeros, the longest zero run as `::`.
    static func writeColonHex(_ a: IPAddress, _ base: UnsafeMutableRawPointer, _ at: Int) -> Int {
        let digits: StaticString = "0123456789abcdef"
        let run = zeroRun(a)
        var at = at, i = 0
        while i < 8 {
            if i == run.start {
                at = put(UInt8(ascii: ":"), base, put(UInt8(ascii: ":"), base, at))
                i += run.count
                continue
            }
            if i > 0 && i != run.start + run.count { at = put(UInt8(ascii: ":"), base, at) }
            let g = group(a, i)
            let n = hexLength(g)
            for k in 0..<n {
                let nibble = Int((g >> UInt16(4 * (n - 1 - k))) & 0xF)
                base.wireSetU8(digits.utf8Start[nibble], at + k)
            }
            at += n
            i += 1
        }
        return at
    }
}
