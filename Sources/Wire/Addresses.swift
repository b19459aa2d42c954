/// A 48-bit IEEE 802 MAC address, held in the low bits of a `UInt64` (first octet most significant).
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    public init(_ o0: UInt8, _ o1: UInt8, _ o2: UInt8, _ o3: UInt8, _ o4: UInt8, _ o5: UInt8) {
        self.init(rawValue: [o0, o1, o2, o3, o4, o5].reduce(0) { $0 << 8 | UInt64($1) })
    }

    public static let zero = MACAddress(rawValue: 0)
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)

    /// The six octets in wire order.
    public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }

    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

    /// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated); each field is one or two hex digits.
    public init?(_ text: some StringProtocol) {
        // Keep empty fields so "aa::bb:cc:dd:ee:ff" is refused rather than read as six octets.
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            // `UInt8(_:radix:)` accepts a leading sign; an address field never has one.
            guard (1...2).contains(part.count), part.allSatisfy(\.isHexDigit), part.allSatisfy(\.isASCII),
                  let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        self.init(rawValue: value)
    }

    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

/// An IPv4 or IPv6 address in one 16-byte shape, so the connection table has one key type.
///
/// IPv4 addresses are stored IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2); `high` and
/// `low` are the address's two 64-bit halves in network order read as big-endian numbers.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An IPv4 address from its 32-bit value (host order, `0xC6120001` is 198.18.0.1).
    @inlinable public init(ipv4 value: UInt32) {
        self.high = 0
        self.low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    public static let zero = IPAddress(high: 0, low: 0)

    @inlinable public var isIPv4: Bool { high == 0 && low >> 32 == 0x0000_FFFF }

    /// An IPv6 link-local unicast address, fe80::/10 (RFC 4291 §2.5.6).
    @inlinable public var isIPv6LinkLocal: Bool { high >> 54 == 0x3FA }

    /// The 32-bit IPv4 value; meaningful only when `isIPv4`.
    @inlinable public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// Keeps the first `bits` bits of the address (bits count within the family: 0...32 for IPv4).
    public func masked(prefixLength bits: Int) -> IPAddress {
        if isIPv4 {
            let mask: UInt32 = bits <= 0 ? 0 : bits >= 32 ? .max : ~(UInt32.max >> UInt32(bits))
            return IPAddress(ipv4: ipv4 & mask)
        }
        let hiMask: UInt64 = bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits))
        let loBits = bits - 64
        let loMask: UInt64 = loBits <= 0 ? 0 : loBits >= 64 ? .max : ~(UInt64.max >> UInt64(loBits))
        return IPAddress(high: high & hiMask, low: low & loMask)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// Parses dotted-quad IPv4 or RFC 4291 §2.2 IPv6 text (with `::` and a trailing dotted quad).
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        if !s.contains(":") {
            guard let v4 = IPAddress.parseIPv4(Substring(s)) else { return nil }
            self.init(ipv4: v4)
            return
        }
        guard let (hi, lo) = IPAddress.parseIPv6(s) else { return nil }
        self.init(high: hi, low: lo)
    }

    static func parseIPv4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            // ASCII digits only: `UInt8(_:)` alone would accept "+4" and "-0".
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    static func parseIPv6(_ s: String) -> (UInt64, UInt64)? {
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var halves: [String] = []
        let chars = Array(s)
        var i = 0, start = 0
        while i + 1 < chars.count {
            if chars[i] == ":" && chars[i + 1] == ":" {
                halves.append(String(chars[start..<i]))
                i += 2
                start = i
            } else { i += 1 }
        }
        halves.append(String(chars[start...]))
        guard halves.count <= 2 else { return nil }
        // A dotted quad may only end the address (RFC 4291 §2.2 form 3), so only the last half may hold one.
        func parse(_ part: String, mayEndInIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if mayEndInIPv4, i == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    // Hex digits only: `UInt16(_:radix:)` alone would accept "+2" and "-0".
                    guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy({ $0.isASCII && $0.isHexDigit }),
                          let g = UInt16(piece, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = parse(halves[0], mayEndInIPv4: halves.count == 1) else { return nil }
        groups = head
        if halves.count == 2 {
            sawGap = true
            guard let t = parse(halves[1], mayEndInIPv4: true) else { return nil }
            tail = t
        }
        if sawGap {
            guard groups.count + tail.count <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - groups.count - tail.count) + tail
        }
        guard groups.count == 8 else { return nil }
        let hi = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let lo = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (hi, lo)
    }

    public var description: String {
        if isIPv4 {
            let v = ipv4
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        let groups = (0..<8).map { i -> UInt16 in
            let word = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(i % 4)))
        }
        // RFC 5952 §4.2: compress the longest run (length ≥ 2) of zero groups, the first on ties.
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// A transport endpoint: address and port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }
    /// `198.18.0.10:80` or `[2001:db8::10]:80`, as ipvsadm prints them.
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
