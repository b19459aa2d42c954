import Wire

/// Reads keepalived.conf values from words, each error located at the word that is wrong.
/// The syntax follows keepalived.conf(5) "PARAMETER SYNTAX" and lib/parser.c
/// (`read_unsigned`, `read_timer`, `check_true_false`, `read_hex_str`); where keepalived logs
/// a bad value and carries on with a default, lvsd stops with an error instead, as
/// `keepalived -t` (config test) would fail.
enum KeepalivedValues {
    /// A decimal number in `range`.
    static func number(_ word: KeepalivedWord, in range: ClosedRange<UInt64>, what: String) throws(ConfigError) -> UInt64 {
        let text = word.text
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), text.count <= 19, let value = UInt64(text), range.contains(value) else {
            throw word.location.error("invalid \(what) '\(text)'; give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// keepalived's `<TIMER>`: seconds with up to six decimal places (microseconds), such as
    /// `3` or `2.5`, from `minimum` to `maximum` microseconds (lib/parser.c `read_timer`).
    static func timer(_ word: KeepalivedWord, minimum: Int64 = 0, maximum: Int64 = 4_294_967_295_000_000,
                      what: String) throws(ConfigError) -> Duration
    {
        let parts = word.text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit),
              parts.count == 1 || !fraction.isEmpty, whole.count <= 12
        else {
            throw word.location.error("invalid \(what) '\(word.text)'; give seconds, such as 3 or 2.5")
        }
        guard fraction.count <= 6 else {
            throw word.location.error("\(what) '\(word.text)' has more than six decimal places; keepalived timers count microseconds")
        }
        let micros = Int64(whole)! * 1_000_000 + Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0))!
        guard micros >= minimum, micros <= maximum else {
            let low = minimum == 0 ? "0 to" : minimum == 1 ? "more than 0 and at most" : "\(seconds(minimum)) to"
            throw word.location.error("\(what) \(word.text) is out of range; give \(low) \(seconds(maximum)) seconds")
        }
        return .microseconds(micros)
    }

    /// Microseconds as keepalived.conf writes seconds: `4294.967295`, `60`.
    static func seconds(_ micros: Int64) -> String {
        let fraction = micros % 1_000_000
        guard fraction != 0 else { return String(micros / 1_000_000) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(micros / 1_000_000).\(digits)"
    }

    /// `<BOOL>`: on, off, true, false, yes, no.
    static func bool(_ word: KeepalivedWord, what: String) throws(ConfigError) -> Bool {
        switch word.text {
        case "on", "true", "yes": return true
        case "off", "false", "no": return false
        default: throw word.location.error("invalid \(what) '\(word.text)'; give on, off, true, false, yes or no")
        }
    }

    /// A numeric IPv4 or IPv6 address (keepalived's `inet_stosockaddr` takes no host names).
    static func address(_ word: KeepalivedWord, what: String) throws(ConfigError) -> IPAddress {
        guard let address = IPAddress(word.text) else {
            if word.text.contains(where: \.isLetter) && !word.text.contains(":") {
                throw word.location.error("'\(word.text)' is not an IP address; keepalived.conf takes numeric \(what) addresses, not host names")
            }
            throw word.location.error("'\(word.text)' is not a valid IPv4 or IPv6 \(what) address")
        }
        return address
    }

    /// A port 1...65535; `0` (any number of zeros) means "no port", as keepalived reads it
    /// since v2.0.7 (check_data.c `alloc_vs`, `alloc_rs`).
    static func port(_ word: KeepalivedWord, what: String) throws(ConfigError) -> UInt16 {
        if !word.text.isEmpty, word.text.allSatisfy({ $0 == "0" }) { return 0 }
        return UInt16(try number(word, in: 1...65535, what: "\(what) port"))
    }

    /// keepalived's free-form hex string (`read_hex_str`): the words joined by spaces; two
    /// hex digits make an octet and a lone digit before a space or the end makes one too
    /// (`Ab12f 3` is AB 12 0F 03). With `wildcards`, `x`/`X` stands for a nibble to ignore
    /// and the mask has 0x0F over each one.
    static func hexBytes(_ words: [KeepalivedWord], wildcards: Bool, what: String) throws(ConfigError) -> (data: [UInt8], mask: [UInt8]?) {
        var data: [UInt8] = []
        var mask: [UInt8] = []
        var usedMask = false
        for word in words {
            let chars = Array(word.text)
            var i = 0
            while i < chars.count {
                var value: UInt8 = 0
                var ignore: UInt8 = 0
                for position in 0..<2 {
                    guard position == 0 || i < chars.count else { break }
                    let c = chars[i]
                    var nibble: UInt8 = 0
                    var wild = false
                    if let digit = c.hexDigitValue {
                        nibble = UInt8(digit)
                    } else if wildcards, c == "x" || c == "X" {
                        wild = true
                        usedMask = true
                    } else {
                        let at = ConfigLocation(file: word.location.file, line: word.location.line, column: word.location.column + i)
                        throw at.error("'\(c)' is not a hex digit in the \(what)\(wildcards ? "; use 0-9, a-f, or x for a nibble to ignore" : "")")
                    }
                    value = value << 4 | nibble
                    ignore = ignore << 4 | (wild ? 0x0F : 0)
                    i += 1
                }
                data.append(value)
                mask.append(ignore)
            }
        }
        guard !data.isEmpty else {
            throw (words.first?.location ?? ConfigLocation(file: "", line: 0, column: 0)).error("the \(what) is empty; give hex digits")
        }
        return (data, usedMask ? mask : nil)
    }
}

/// Argument and block checks shared by every keyword handler. `usage` is the keyword's
/// syntax as keepalived.conf(5) writes it, quoted back in errors.
extension KeepalivedStatement {
    func noBlock(_ usage: String) throws(ConfigError) {
        if block != nil {
            throw location.error("'\(name)' takes no { } block; write '\(usage)'")
        }
    }

    /// The statements of the block this keyword must have.
    func contents(_ usage: String) throws(ConfigError) -> [KeepalivedStatement] {
        guard let block else { throw location.error("'\(name)' needs a { } block; write '\(usage) { ... }'") }
        return block
    }

    /// Between `range.lowerBound` and `range.upperBound` arguments and no block.
    func arguments(_ range: ClosedRange<Int>, _ usage: String) throws(ConfigError) -> [KeepalivedWord] {
        try noBlock(usage)
        return try argumentsAllowingBlock(range, usage)
    }

    func argumentsAllowingBlock(_ range: ClosedRange<Int>, _ usage: String) throws(ConfigError) -> [KeepalivedWord] {
        if arguments.count < range.lowerBound {
            let what = range.lowerBound - arguments.count == 1 && arguments.isEmpty ? "a value" : "more values"
            throw location.error("'\(name)' needs \(what); write '\(usage)'")
        }
        if arguments.count > range.upperBound {
            let extra = arguments[range.upperBound]
            throw extra.location.error("unexpected '\(extra.text)' after '\(name)'; write '\(usage)', one option per line")
        }
        return arguments
    }

    /// Exactly one argument.
    func value(_ usage: String) throws(ConfigError) -> KeepalivedWord {
        try arguments(1...1, usage)[0]
    }

    /// A switch written alone (`alpha`) or with a `<BOOL>` (`alpha off`).
    func flag(_ usage: String) throws(ConfigError) -> Bool {
        let words = try arguments(0...1, usage)
        return try words.first.map { word throws(ConfigError) in try KeepalivedValues.bool(word, what: "\(name) value") } ?? true
    }

    /// A switch that takes no value at all (`omega`, `misc_dynamic`).
    func bare(_ usage: String) throws(ConfigError) {
        _ = try arguments(0...0, usage)
    }
}
