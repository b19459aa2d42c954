/// Bytes written in hex with optional nibble wildcards: UDP_CHECK's `payload` and
/// `require_reply` (keepalived lib/parser.c read_hex_str).
///
/// Spaces and tabs separate groups; a group of one digit is one byte, otherwise digits pair up
/// into bytes. In a reply pattern `x`/`X` matches any nibble.
public struct HexPattern: Hashable, Sendable {
    public var bytes: [UInt8]
    /// Per byte, the nibbles that are wildcards (0x0F, 0xF0 or 0xFF); all zero without wildcards.
    public var wildcardMask: [UInt8]

    public init(bytes: [UInt8], wildcardMask: [UInt8]? = nil) {
        self.bytes = bytes
        self.wildcardMask = wildcardMask ?? Array(repeating: 0, count: bytes.count)
    }

    /// Parses `text`. `allowWildcards` is true for reply patterns only, as in keepalived.
    public init(parsing text: String, allowWildcards: Bool) throws(HealthConfigError) {
        var bytes: [UInt8] = [], mask: [UInt8] = []
        let chars = Array(text.utf8)
        var i = 0
        func nibble(_ c: UInt8) -> (value: UInt8, wildcard: Bool)? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): (c - UInt8(ascii: "0"), false)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): (c - UInt8(ascii: "a") + 10, false)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): (c - UInt8(ascii: "A") + 10, false)
            case UInt8(ascii: "x"), UInt8(ascii: "X"): allowWildcards ? (0, true) : nil
            default: nil
            }
        }
        func isSpace(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        while true {
            while i < chars.count && isSpace(chars[i]) { i += 1 }
            if i == chars.count { break }
            guard let first = nibble(chars[i]) else {
                throw HealthConfigError("invalid hex string '\(text)': '\(Character(UnicodeScalar(chars[i])))' at offset \(i) is not a hex digit\(allowWildcards ? " or x" : "")")
            }
            i += 1
            var value = first.value, m: UInt8 = first.wildcard ? 0x0F : 0
            if i < chars.count && !isSpace(chars[i]) {
                guard let second = nibble(chars[i]) else {
                    throw HealthConfigError("invalid hex string '\(text)': '\(Character(UnicodeScalar(chars[i])))' at offset \(i) is not a hex digit\(allowWildcards ? " or x" : "")")
                }
                i += 1
                value = value << 4 | second.value
                m = m << 4 | (second.wildcard ? 0x0F : 0)
            }
            bytes.append(value)
            mask.append(m)
        }
        guard !bytes.isEmpty else { throw HealthConfigError("the hex string is empty") }
        self.bytes = bytes
        self.wildcardMask = mask
    }

    /// keepalived's check_udp_reply comparison: only the first min(reply, pattern) bytes are
    /// compared, wildcard nibbles ignored.
    public func matchesPrefix(of data: [UInt8]) -> Bool {
        let n = min(data.count, bytes.count)
        for i in 0..<n where (data[i] ^ bytes[i]) & ~wildcardMask[i] != 0 { return false }
        return true
    }
}
