/// One word of keepalived.conf as written, with where it starts.
public struct KeepalivedWord: Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var location: ConfigLocation
    /// Written with quotes, in whole or in part (`"a b"` is the one word `a b`).
    public var quoted: Bool

    public init(text: String, location: ConfigLocation, quoted: Bool = false) {
        self.text = text
        self.location = location
        self.quoted = quoted
    }

    public var description: String { text }
}

/// A keepalived.conf statement: a keyword, the words after it on its line, and the
/// statements of the `{ ... }` block that follows it, if any. The whole file is a list of
/// these; blocks lvsd keeps without interpreting (VRRP, unknown checkers) are kept in this
/// form, locations included, for the parts of lvsd that will read them.
public struct KeepalivedStatement: Hashable, Sendable {
    public var keyword: KeepalivedWord
    public var arguments: [KeepalivedWord]
    /// nil when no block follows; `[]` for an empty `{ }`.
    public var block: [KeepalivedStatement]?

    public init(keyword: KeepalivedWord, arguments: [KeepalivedWord] = [], block: [KeepalivedStatement]? = nil) {
        self.keyword = keyword
        self.arguments = arguments
        self.block = block
    }

    public var name: String { keyword.text }
    public var location: ConfigLocation { keyword.location }
}

/// Groups a token stream into statements and nests them by braces (lib/parser.c
/// `process_stream`): the words of one line form a statement; a `{` after it, on the same
/// line or a later one, opens its block; `}` closes the innermost block.
enum KeepalivedTree {
    /// Deeper nesting than any keepalived keyword uses (url inside a checker inside a real
    /// server inside a virtual server is four) is refused before it can exhaust the stack.
    static let maximumDepth = 32

    static func build(_ tokens: [KeepalivedToken]) throws(ConfigError) -> [KeepalivedStatement] {
        var index = 0
        let statements = try block(tokens, &index, opener: nil, depth: 0)
        return statements
    }

    private static func block(_ tokens: [KeepalivedToken], _ index: inout Int, opener: (KeepalivedToken, KeepalivedWord)?,
                              depth: Int) throws(ConfigError) -> [KeepalivedStatement]
    {
        var statements: [KeepalivedStatement] = []
        while index < tokens.count {
            let token = tokens[index]
            switch token.kind {
            case .close:
                index += 1
                guard opener != nil else {
                    throw token.location.error("'}' closes no block; remove it or add the '{' it belongs to")
                }
                return statements
            case .open:
                throw token.location.error("'{' opens a block without a keyword before it; write the keyword (such as 'real_server IP PORT') on the line of the '{' or the line before")
            case .word:
                var words = [token.word]
                index += 1
                while index < tokens.count, tokens[index].kind == .word, tokens[index].lineID == token.lineID {
                    words.append(tokens[index].word)
                    index += 1
                }
                var statement = KeepalivedStatement(keyword: words[0], arguments: Array(words.dropFirst()))
                if index < tokens.count, tokens[index].kind == .open {
                    let open = tokens[index]
                    guard depth < maximumDepth else {
                        throw open.location.error("blocks nest deeper than \(maximumDepth) levels")
                    }
                    index += 1
                    statement.block = try block(tokens, &index, opener: (open, statement.keyword), depth: depth + 1)
                }
                statements.append(statement)
            }
        }
        if let (open, keyword) = opener {
            throw open.location.error("the block of '\(keyword.text)' (\(keyword.location)) is never closed; add '}'")
        }
        return statements
    }
}
