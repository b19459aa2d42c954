/// A health-check setting that cannot be used, as a sentence for the operator: what was wrong
/// and what would be accepted.
public struct HealthConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
