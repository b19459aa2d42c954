/// One lexical unit of keepalived.conf: a word, `{` or `}`.
struct KeepalivedToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case word
        case open
        case close
    }

    var kind: Kind
    var text: String
    /// The word was written with quotes, in whole or in part.
    var quoted: Bool
    var location: ConfigLocation
    /// Unique per physical line over every file read, so a statement (the words of one
    /// line) never runs into the next line or into an included file.
    var lineID: Int

    var word: KeepalivedWord { KeepalivedWord(text: text, location: location, quoted: quoted) }
}

/// keepalived's tokenizer, one physical line at a time (lib/parser.c: `read_line`,
/// `decomment`, `alloc_strvec_r`, and the quoting rules of keepalived.conf(5)).
///
/// - `#` or `!` outside quotes starts a comment that runs to the end of the line, wherever
///   it appears; `\#` and `\!` outside quotes are a literal `#` and `!`.
/// - `{` and `}` outside quotes are tokens of their own, so `url { path / }` is five
///   tokens, as keepalived splits a line at each brace.
/// - Words are separated by spaces and tabs. `"` starts a quoted part that ends at the next
///   `"` not preceded by `\`; a `'` at the start of a word starts one that ends at the next
///   `'`. Quote characters are dropped and quoted text joins the unquoted text around it,
///   so `abcd" efg "h` is the one word `abcd efg h` (keepalived.conf(5), "Quoted strings").
///   Backslash sequences inside quotes are kept as written; script keywords interpret them
///   (`KeepalivedScript`). An apostrophe inside a word (`don't`) is an ordinary character.
/// - Conditional configuration: a line `@ID rest` applies only to a keepalived started with
///   `-i ID` and `@^ID rest` to every other one. lvsd has no configuration id, so `@ID` lines
///   are skipped and `@^ID` lines are read without their prefix.
/// - Parameter definitions (`$NAME=value`) and `~SEQ`/`~LST` blocks are refused with an
///   error: lvsd does not expand them. A `$` anywhere else is an ordinary character, as in
///   keepalived when no definition exists.
///
/// Columns count characters from 1, leading whitespace included.
enum KeepalivedLexer {
    static func isBlank(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}"
    }

    /// Splits a file's text into lines at LF, CRLF or CR.
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }

    /// The tokens of one line. With `splitBraces` false, `{` and `}` are ordinary characters,
    /// as on an `include` line, which keepalived reads before it looks for braces (so
    /// `include {a,b}.conf` is a glob).
    static func tokens(ofLine line: Substring, number: Int, file: String, lineID: Int,
                       splitBraces: Bool = true) throws(ConfigError) -> [KeepalivedToken] {
        let chars = Array(line)
        func location(_ index: Int) -> ConfigLocation { ConfigLocation(file: file, line: number, column: index + 1) }

        var i = 0
        while i < chars.count, isBlank(chars[i]) { i += 1 }
        guard i < chars.count else { return [] }

        if chars[i] == "@" {
            var j = i + 1
            let reversed = j < chars.count && chars[j] == "^"
            if reversed { j += 1 }
            while j < chars.count, !isBlank(chars[j]) { j += 1 }
            // keepalived drops a conditional line with nothing after its id.
            guard j < chars.count, reversed else { return [] }
            i = j
            while i < chars.count, isBlank(chars[i]) { i += 1 }
            guard i < chars.count else { return [] }
        }
        if chars[i] == "$", isDefinition(chars[i...]) {
            throw location(i).error("parameter definitions ($NAME=...) are not supported by lvsd; expand them (keepalived -d shows the result) or write the values out")
        }
        if chars[i] == "~", chars.count - i >= 4, ["~SEQ", "~LST"].contains(String(chars[i..<i + 4])) {
            throw location(i).error("'\(String(chars[i..<i + 4]))' blocks are not supported by lvsd; write the lines they would generate out")
        }

        var tokens: [KeepalivedToken] = []
        var current = ""
        var start: Int?
        var quoted = false

        func flush() {
            if let begin = start {
                tokens.append(KeepalivedToken(kind: .word, text: current, quoted: quoted, location: location(begin), lineID: lineID))
            }
            current = ""
            start = nil
            quoted = false
        }

        while i < chars.count {
            let c = chars[i]
            if isBlank(c) {
                flush()
                i += 1
            } else if c == "#" || c == "!" {
                break
            } else if c == "\\" {
                if start == nil { start = i }
                if i + 1 < chars.count, chars[i + 1] == "#" || chars[i + 1] == "!" {
                    current.append(chars[i + 1])
                    i += 2
                } else {
                    current.append(c)
                    i += 1
                }
            } else if splitBraces, c == "{" || c == "}" {
                flush()
                tokens.append(KeepalivedToken(kind: c == "{" ? .open : .close, text: String(c), quoted: false,
                                              location: location(i), lineID: lineID))
                i += 1
            } else if c == "\"" || (c == "'" && start == nil) {
                if start == nil { start = i }
                quoted = true
                var j = i + 1
                while j < chars.count, chars[j] != c {
                    if c == "\"", chars[j] == "\\", j + 1 < chars.count {
                        current.append(chars[j])
                        current.append(chars[j + 1])
                        j += 2
                    } else {
                        current.append(chars[j])
                        j += 1
                    }
                }
                guard j < chars.count else {
                    throw location(i).error("this \(c == "\"" ? "double" : "single") quote is never closed on its line; add the closing \(c)")
                }
                i = j + 1
            } else {
                if start == nil { start = i }
                current.append(c)
                i += 1
            }
        }
        flush()
        return tokens
    }

    /// `$NAME=`, `${NAME}=`: keepalived's `check_definition`.
    private static func isDefinition(_ chars: ArraySlice<Character>) -> Bool {
        var i = chars.startIndex + 1
        let braced = i < chars.endIndex && chars[i] == "{"
        if braced { i += 1 }
        let nameStart = i
        while i < chars.endIndex, chars[i] == "_" || (chars[i].isASCII && (chars[i].isLetter || chars[i].isNumber)) { i += 1 }
        guard i > nameStart, !chars[nameStart].isNumber else { return false }
        if braced {
            guard i < chars.endIndex, chars[i] == "}" else { return false }
            i += 1
        }
        return i < chars.endIndex && chars[i] == "="
    }
}
