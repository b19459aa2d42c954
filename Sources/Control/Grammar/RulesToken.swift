/// One whitespace-separated word of a rules-file line, with the column it starts at.
struct RulesToken: Equatable, Sendable {
    var text: String
    /// 1-based, in characters.
    var column: Int

    /// The part of this token after `prefixLength` characters, keeping columns right
    /// (the value of `--weight=5`, the port of `198.18.0.10:80`).
    func suffix(from prefixLength: Int) -> RulesToken {
        RulesToken(text: String(text.dropFirst(prefixLength)), column: column + prefixLength)
    }
}

/// Where errors on the current line are reported.
struct RulesLocation: Sendable {
    var file: String
    var line: Int

    func error(_ message: String, at column: Int) -> ConfigError {
        ConfigError(file: file, line: line, column: column, message: message)
    }

    func error(_ message: String, at token: RulesToken) -> ConfigError {
        error(message, at: token.column)
    }
}

/// Splits a line into tokens at spaces and tabs. A `#` at the start of a token begins a
/// comment that runs to the end of the line (so `#` inside a token is kept, as ipvsadm's
/// restore reader does not use it anywhere meaningful either). Quoting is not supported:
/// no ipvsadm value contains a space.
enum RulesTokenizer {
    /// A line may start with the program's name, as a shell script of ipvsadm commands
    /// does; rules files and `lvsadm -R` both skip it.
    static let programNames: Set<String> = ["ipvsadm", "lvsadm"]

    static func tokens(of line: Substring) -> [RulesToken] {
        var result: [RulesToken] = []
        var current = ""
        var start = 0
        var column = 0
        for character in line {
            column += 1
            if character == " " || character == "\t" || character == "\r" {
                if !current.isEmpty {
                    result.append(RulesToken(text: current, column: start))
                    current = ""
                }
                continue
            }
            if current.isEmpty {
                if character == "#" { return result }
                start = column
            }
            current.append(character)
        }
        if !current.isEmpty { result.append(RulesToken(text: current, column: start)) }
        return result
    }
}
