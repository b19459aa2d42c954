/// A program keepalived would run: `notify_up`, `notify_down`, `quorum_up`, `quorum_down`,
/// `misc_path` (keepalived/core/notify.c `notify_script_init`, `set_script_params_array`).
/// The first word is the command line, quoted when it has arguments; the optional next
/// words are the user and group to run it as.
public struct KeepalivedScript: Hashable, Sendable {
    /// The command line as written (without its outer quotes).
    public var command: String
    /// `command` split into program and arguments: spaces separate words; `'...'` and
    /// `"..."` keep spaces; `\` escapes as in keepalived.conf(5) "Quoted strings"
    /// (`\n`, `\t`, `\xHH`, `\ooo`, and `\C` for any other character C).
    public var arguments: [String]
    /// `user`: run as this user; nil: keepalived's `script_user`.
    public var user: String?
    /// The group, as written: a leading `:` asks for the user's supplementary groups too.
    public var group: String?

    public init(command: String, user: String? = nil, group: String? = nil) {
        self.command = command
        self.arguments = KeepalivedScript.split(command)
        self.user = user
        self.group = group
    }

    /// keepalived's `alloc_strvec_quoted_escaped` over a command line.
    public static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if c == "\\" {
                inWord = true
                guard let next = chars.popFirst() else { break }
                current.append(unescape(next, &chars))
            } else if let open = quote {
                if c == open { quote = nil } else { current.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    private static func unescape(_ c: Character, _ rest: inout ArraySlice<Character>) -> Character {
        switch c {
        case "a": return "\u{07}"
        case "b": return "\u{08}"
        case "E": return "\u{1B}"
        case "f": return "\u{0C}"
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "v": return "\u{0B}"
        case "x" where rest.first?.isHexDigit == true:
            var value = 0
            for _ in 0..<2 {
                guard let digit = rest.first?.hexDigitValue else { break }
                value = value * 16 + digit
                rest.removeFirst()
            }
            return Character(Unicode.Scalar(UInt8(value)))
        case "c" where rest.first != nil:
            let control = (rest.removeFirst().asciiValue ?? 0) & 0x1F
            return Character(Unicode.Scalar(control))
        case "0"..."7":
            var value = c.wholeNumberValue!
            for _ in 0..<2 {
                guard let digit = rest.first, ("0"..."7").contains(digit) else { break }
                value = value * 8 + digit.wholeNumberValue!
                rest.removeFirst()
            }
            return Character(Unicode.Scalar(UInt8(value & 0xFF)))
        default:
            return c
        }
    }
}
