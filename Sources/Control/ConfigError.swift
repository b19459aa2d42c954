/// A rules file the director cannot accept, located at the offending token.
///
/// `line` and `column` are 1-based and count characters (not bytes) from the start of
/// the line; `column` points at the first character of the token that is wrong (for a
/// `VIP:port` value whose port is bad, at the port). An error that belongs to no line
/// (the file cannot be read) has `line == 0` and `column == 0`.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// A sentence for the operator: what is wrong and, where it helps, what to write instead.
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `rules.conf:3:17: error: unknown scheduler 'xyz' (known: rr, wrr, lc, wlc, sh)`, the
    /// compiler-style shape editors and terminals turn into a jump to the location.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): error: \(message)" : "\(file): error: \(message)"
    }
}
