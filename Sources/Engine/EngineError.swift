/// A live-director failure, worded for the operator: what went wrong and where.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
