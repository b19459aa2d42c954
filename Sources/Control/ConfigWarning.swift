/// Something in a configuration file the director accepts but does not act on (a keepalived
/// option it deliberately ignores, a value it corrects the way keepalived does), located at
/// the word it is about. Parsers collect these in their result; printing them is the
/// caller's job, so Control itself never writes to a terminal.
public struct ConfigWarning: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the warning belongs to no line.
    public var line: Int
    /// 1-based, in characters.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public init(at location: ConfigLocation, _ message: String) {
        self.init(file: location.file, line: location.line, column: location.column, message: message)
    }

    /// `keepalived.conf:4:5: warning: ...`, the shape of `ConfigError` with another tag.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): warning: \(message)" : "\(file): warning: \(message)"
    }
}

/// Where a word of a configuration file starts: the file as the operator named it (or as
/// an include pattern expanded to it), the 1-based line and the 1-based column in characters.
public struct ConfigLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, message: message)
    }

    public func warning(_ message: String) -> ConfigWarning {
        ConfigWarning(at: self, message)
    }

    public var description: String { "\(file):\(line):\(column)" }
}
