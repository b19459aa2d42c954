/// One option as the scanner read it.
struct IPVSOptionUse: Sendable {
    var option: IPVSOption
    /// The option's own spelling, `-w` or `--weight`, at its column (inside a cluster, the
    /// letter's): what rules-file messages quote.
    var name: RulesToken
    /// The whole word it came from (`-mw5`, `--weight=5`): what popt's messages quote.
    var word: RulesToken
    /// The value, once `IPVSScanner.readValue` has read it; nil for flags and for `-p`
    /// without a timeout.
    var value: RulesToken?
    /// A value written in the same word: after '=' (`--weight=5`) or after the letter (`-w5`).
    fileprivate var attached: RulesToken?
    fileprivate var attachedByEquals = false
}

enum IPVSScanItem: Sendable {
    case option(IPVSOptionUse)
    /// A word that is no option and no option's value (`--set`'s timeouts, or a stray word).
    case argument(RulesToken)
}

/// What the scanner refuses; each front end words it (popt's "%s: unknown option", or a
/// rules file's sentence at a column).
enum IPVSScanError: Error, Sendable {
    /// No option is spelled so. `name` is the part looked up (`--foo` of `--foo=1`).
    case unknownOption(word: RulesToken, name: RulesToken)
    /// An option that needs a value has none (or, when `valuesMayLookLikeOptions` is off,
    /// only a word that looks like the next option).
    case missingValue(IPVSOptionUse)
    /// `--name=` with nothing after '=' while `valuesMayLookLikeOptions` is off.
    case emptyValue(IPVSOptionUse)
    /// A flag given a value with '=' (`--gatewaying=yes`); `value` holds it.
    case valueNotTaken(IPVSOptionUse)
}

/// Reads located words into options and arguments with popt's rules, as `IPVSStrictness`
/// allows them: long options `--name` and `--name=value` (exact names: popt has no
/// abbreviations), short options `-w 5`, and with clusters `-w5`, `-Ln`, `-et VIP`.
///
/// Reading is two steps so that a front end can refuse an option before its value is
/// taken (a rules file says "-w cannot be used with -A" rather than complain about the
/// weight): `next` names the option, `readValue` takes its value.
struct IPVSScanner {
    let words: [RulesToken]
    let strictness: IPVSStrictness
    private var position = 0
    private var endOfOptions = false
    /// The letters of a short-option cluster still to read (`n` of `-Ln`), with their word.
    private var cluster: (rest: RulesToken, word: RulesToken)?

    init(words: [RulesToken], strictness: IPVSStrictness) {
        self.words = words
        self.strictness = strictness
    }

    /// The next option (its value not read yet) or argument; nil at the end. `command`,
    /// once known, tells `-b` apart: DPVS's `--fullnat` on `-a`/`-e`, ipvsadm's
    /// `--sched-flags` elsewhere.
    mutating func next(command: IPVSCommand?) throws(IPVSScanError) -> IPVSScanItem? {
        if let (rest, word) = cluster {
            cluster = nil
            return .option(try short(rest, word: word, command: command))
        }
        while position < words.count {
            let word = words[position]
            position += 1
            if endOfOptions || word.text == "-" || !word.text.hasPrefix("-") { return .argument(word) }
            if word.text == "--" && strictness.endOfOptions {
                endOfOptions = true
                continue
            }
            if word.text.hasPrefix("--") { return .option(try long(word)) }
            return .option(try short(word.suffix(from: 1), word: word, command: command))
        }
        return nil
    }

    /// Takes the value `use.option` needs, from its own word or the next one.
    mutating func readValue(_ use: inout IPVSOptionUse) throws(IPVSScanError) {
        let attached = use.attached
        use.attached = nil
        switch use.option.argument {
        case .none:
            guard let attached else { return }
            if use.attachedByEquals {
                use.value = attached
                throw .valueNotTaken(use)
            }
            cluster = (attached, use.word)
        case .required:
            if let attached {
                use.value = attached
                if attached.text.isEmpty && !strictness.valuesMayLookLikeOptions { throw .emptyValue(use) }
                return
            }
            guard position < words.count, strictness.valuesMayLookLikeOptions || !Self.looksLikeOption(words[position].text) else {
                throw .missingValue(use)
            }
            position += 1
            use.value = words[position - 1]
        case .optional:
            if let attached {
                use.value = attached
                return
            }
            guard !endOfOptions, position < words.count else { return }
            let text = words[position].text
            switch strictness.optionalValue {
            case .unlessDash: if text.hasPrefix("-") { return }
            case .onlyDigits: if !text.allSatisfy(\.isASCIIDigit) { return }
            }
            position += 1
            use.value = words[position - 1]
        }
    }

    /// `next` and `readValue` in one step, as popt reads.
    mutating func nextWithValue(command: IPVSCommand?) throws(IPVSScanError) -> IPVSScanItem? {
        guard let item = try next(command: command) else { return nil }
        guard case .option(var use) = item else { return item }
        try readValue(&use)
        return .option(use)
    }

    private func long(_ word: RulesToken) throws(IPVSScanError) -> IPVSOptionUse {
        var name = word
        var attached: RulesToken?
        if let equals = word.text.firstIndex(of: "=") {
            let length = word.text.distance(from: word.text.startIndex, to: equals)
            name = RulesToken(text: String(word.text[..<equals]), column: word.column)
            attached = word.suffix(from: length + 1)
        }
        guard let option = IPVSOption.named(long: name.text.dropFirst(2)).first else {
            throw .unknownOption(word: word, name: name)
        }
        return IPVSOptionUse(option: option, name: name, word: word, attached: attached, attachedByEquals: attached != nil)
    }

    private func short(_ letters: RulesToken, word: RulesToken, command: IPVSCommand?) throws(IPVSScanError) -> IPVSOptionUse {
        let letter = letters.text.first!
        // The first letter's name starts at the dash; a later one's at the letter itself.
        let name = RulesToken(text: "-\(letter)", column: letters.column == word.column + 1 ? word.column : letters.column)
        guard strictness.shortOptionClusters || word.text.count == 2 else {
            throw .unknownOption(word: word, name: word)
        }
        var candidates = IPVSOption.named(short: letter)
        if candidates.count > 1 {
            let fullNAT = command == .addServer || command == .editServer
            candidates = candidates.filter { ($0 == .fullNAT) == fullNAT }
        }
        guard let option = candidates.first else { throw .unknownOption(word: word, name: name) }
        let rest = letters.suffix(from: 1)
        return IPVSOptionUse(option: option, name: name, word: word, attached: rest.text.isEmpty ? nil : rest)
    }

    /// A word is taken as the next option, not as a value, when it starts with '-' and a
    /// letter or dash (no address, port or name does; `-1` stays a value so that the
    /// message can say the number is out of range).
    static func looksLikeOption(_ text: String) -> Bool {
        guard text.hasPrefix("-"), text.count > 1 else { return false }
        return !text.dropFirst().first!.isASCIIDigit
    }
}
