/// An MD5 digest as keepalived's `digest` keyword and genhash write it: 32 hex digits
/// (check_http.c digest_handler; genhash prints lower case, either case is accepted).
public struct MD5Digest: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16
    public let bytes: [UInt8]

    /// The digest's 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == MD5Digest.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Parses 32 hex digits.
    public init(hex: String) throws(HealthConfigError) {
        let chars = Array(hex.utf8)
        guard chars.count == 2 * MD5Digest.byteCount else {
            throw HealthConfigError("digest '\(hex)' should be \(2 * MD5Digest.byteCount) hex digits rather than \(chars.count) characters (genhash prints it)")
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let high = nibble(chars[i]), let low = nibble(chars[i + 1]) else {
                throw HealthConfigError("digest '\(hex)' has a character that is not a hex digit at offset \(i)")
            }
            out.append(high << 4 | low)
        }
        bytes = out
    }

    /// 32 lower-case hex digits, as genhash prints them.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
