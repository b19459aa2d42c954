/// What one check found.
public enum CheckOutcome: Hashable, Sendable {
    /// The real server answered as required. `weight` is MISC_CHECK's `misc_dynamic` weight
    /// (exit status - 2); nil means the configured weight.
    case success(weight: Int64? = nil)
    case failure(CheckFailure)

    public var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// Why a check failed, for the transition line: `HTTP_GET 198.18.1.12:80 /: status 503,
/// expected 200-299` is the checker's name, then `subject` (the url path), then `reason`.
public struct CheckFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was probed within the target, such as the url path; nil for TCP_CHECK and PING_CHECK.
    public var subject: String?
    public var reason: String

    public init(_ reason: String, subject: String? = nil) {
        self.reason = reason
        self.subject = subject
    }

    /// `/: status 503, expected 200-299` or `connection refused`.
    public var description: String { subject.map { "\($0): \(reason)" } ?? reason }
}
