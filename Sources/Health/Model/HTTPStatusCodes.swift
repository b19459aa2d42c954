/// The HTTP status codes an `HTTP_GET`/`SSL_GET` url accepts (`status_code`), keepalived's bit
/// array over 100...599 (check_http.h HTTP_STATUS_CODE_MIN/MAX; check_http.c
/// status_code_handler, url_check).
///
/// A url without `status_code` accepts 200-299 (HTTP_DEFAULT_STATUS_CODE_MIN/MAX). Each
/// `status_code` token is a code or an inclusive range `min-max`; several tokens add up.
public struct HTTPStatusCodes: Hashable, Sendable, CustomStringConvertible {
    public static let range: ClosedRange<Int> = 100...599
    /// keepalived's default: any 2xx.
    public static let `default` = HTTPStatusCodes(200...299)

    /// Bit (code - 100) set when the code is accepted.
    private var bits: [UInt64] = Array(repeating: 0, count: (HTTPStatusCodes.range.count + 63) / 64)

    /// No code accepted.
    public init() {}

    /// The codes in `codes`, which must lie in 100...599.
    public init(_ codes: ClosedRange<Int>) {
        precondition(HTTPStatusCodes.range.contains(codes.lowerBound) && HTTPStatusCodes.range.contains(codes.upperBound),
                     "status codes are 100...599")
        for code in codes { insert(code) }
    }

    /// Parses `status_code` tokens ("200", "200-299"). Unlike keepalived, which logs a bad
    /// token and skips it, a bad token is an error: a check that silently accepts less than
    /// the operator wrote would mark healthy servers down.
    public init(parsing tokens: [String]) throws(HealthConfigError) {
        guard !tokens.isEmpty else { throw HealthConfigError("status_code needs at least one code or range, such as 200 or 200-299") }
        for token in tokens {
            let parts = token.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            func number(_ s: Substring) -> Int? {
                guard !s.isEmpty, s.count <= 3, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                return Int(s)
            }
            guard let low = number(parts[0]), let high = parts.count == 2 ? number(parts[1]) : low,
                  HTTPStatusCodes.range.contains(low), HTTPStatusCodes.range.contains(high), low <= high else {
                throw HealthConfigError("invalid HTTP status code '\(token)': use a code or a range min-max within 100-599")
            }
            for code in low...high { insert(code) }
        }
    }

    public mutating func insert(_ code: Int) {
        guard HTTPStatusCodes.range.contains(code) else { return }
        let bit = code - HTTPStatusCodes.range.lowerBound
        bits[bit / 64] |= 1 << UInt64(bit % 64)
    }

    /// True when `code` is accepted; codes outside 100...599 never are (keepalived
    /// http_handle_response).
    public func contains(_ code: Int) -> Bool {
        guard HTTPStatusCodes.range.contains(code) else { return false }
        let bit = code - HTTPStatusCodes.range.lowerBound
        return bits[bit / 64] & (1 << UInt64(bit % 64)) != 0
    }

    public var isEmpty: Bool { bits.allSatisfy { $0 == 0 } }

    /// The accepted codes as maximal ranges, in order.
    public var ranges: [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        var start: Int?
        for code in HTTPStatusCodes.range {
            if contains(code) {
                if start == nil { start = code }
            } else if let s = start {
                out.append(s...(code - 1))
                start = nil
            }
        }
        if let s = start { out.append(s...HTTPStatusCodes.range.upperBound) }
        return out
    }

    /// `200-299`, `200-299, 404`: what a failure line says was expected.
    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ")
    }
}
