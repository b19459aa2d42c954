/// One ipvsadm command line after option parsing and before its values are interpreted:
/// which command, which option filled each slot (with the word that named it, for
/// messages), and the words that were no option's value.
struct RulesCommandLine: Sendable {
    struct Use: Sendable {
        var option: RulesOption
        /// The word that named the option (`-w`, `--weight=5`), for errors about the option.
        var name: RulesToken
        /// The value's word, or nil for flags and for `-p` without a number.
        var value: RulesToken?
    }

    var command: RulesCommand
    var commandToken: RulesToken
    var uses: [RulesOption.Slot: Use] = [:]
    var arguments: [RulesToken] = []

    subscript(slot: RulesOption.Slot) -> Use? { uses[slot] }

    /// Parses the words of one line whose first word is a command, getopt-style: long
    /// options as `--name value` or `--name=value`, short options as separate words.
    static func parse(_ tokens: [RulesToken], at location: RulesLocation) throws(ConfigError) -> RulesCommandLine {
        guard let first = tokens.first else { preconditionFailure("empty lines are skipped before parsing") }
        guard let command = RulesCommand.named(first.text) else {
            throw location.error(missingCommandMessage(first.text), at: first)
        }
        var line = RulesCommandLine(command: command, commandToken: first)
        let rules = command.optionRules
        var index = 1
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            guard token.text.hasPrefix("-"), token.text.count > 1 else {
                line.arguments.append(token)
                continue
            }
            if let other = RulesCommand.named(token.text) {
                throw location.error("a line holds one command, but this one has both '\(first.text)' and '\(token.text)'; put \(other.briefName) on its own line", at: token)
            }
            // `--name=value` splits at the first '='; short options never carry values.
            var nameText = token.text
            var inlineValue: RulesToken?
            if token.text.hasPrefix("--"), let equals = token.text.firstIndex(of: "=") {
                nameText = String(token.text[..<equals])
                let prefix = token.text.distance(from: token.text.startIndex, to: equals) + 1
                inlineValue = token.suffix(from: prefix)
            }
            let candidates = RulesOption.named(nameText)
            guard !candidates.isEmpty else {
                throw location.error(unknownOptionMessage(token.text), at: token)
            }
            guard let option = candidates.first(where: { rules[$0.slot] != nil }) else {
                // Name the other spelling too, unless the letter is ambiguous (`-b`).
                var shown = "'\(nameText)'"
                if candidates.count == 1 {
                    let option = candidates[0]
                    if nameText.hasPrefix("--") {
                        if let letter = option.shortName { shown += " (-\(letter))" }
                    } else {
                        shown += " (--\(option.longName))"
                    }
                }
                throw location.error("option \(shown) cannot be used with \(command.displayName)", at: token)
            }
            if let previous = line.uses[option.slot] {
                if option.slot == .forwardingMethod, previous.option != option {
                    throw location.error("conflicting forwarding methods '\(previous.name.text)' and '\(nameText)'; give only one of -g, -m, -i or -b", at: token)
                }
                if option.slot == .service, previous.option != option {
                    throw location.error("a line names one virtual service, but this one has both '\(previous.name.text)' and '\(nameText)'", at: token)
                }
                throw location.error("option '\(nameText)' is given twice on this line", at: token)
            }
            var value: RulesToken?
            switch option.argument {
            case .none:
                if let inlineValue {
                    throw location.error("option '\(nameText)' takes no value, but was given '\(inlineValue.text)'", at: inlineValue)
                }
            case .required(let what):
                if let inlineValue {
                    guard !inlineValue.text.isEmpty else {
                        throw location.error("option '\(nameText)' needs \(what) after '='", at: inlineValue)
                    }
                    value = inlineValue
                } else if index < tokens.count, !looksLikeOption(tokens[index].text) {
                    value = tokens[index]
                    index += 1
                } else {
                    throw location.error("option '\(nameText)' needs a value: \(what)", at: token)
                }
            case .optionalNumber:
                if let inlineValue {
                    value = inlineValue
                } else if index < tokens.count, tokens[index].text.allSatisfy(\.isASCIIDigit) {
                    value = tokens[index]
                    index += 1
                }
            }
            line.uses[option.slot] = Use(option: option, name: RulesToken(text: nameText, column: token.column), value: value)
        }
        for slot in [RulesOption.Slot.service, .realServer, .localAddress]
        where rules[slot] == .required && line.uses[slot] == nil {
            throw location.error(missingOptionMessage(command, slot), at: first)
        }
        return line
    }

    /// A word is taken as the next option, not as a value, when it starts with '-' and a
    /// letter or dash (no address, port or name does; `-1` stays a value so that the
    /// message can say the number is out of range).
    private static func looksLikeOption(_ text: String) -> Bool {
        guard text.hasPrefix("-"), text.count > 1 else { return false }
        return !text.dropFirst().first!.isASCIIDigit
    }

    private static func missingOptionMessage(_ command: RulesCommand, _ slot: RulesOption.Slot) -> String {
        let what = switch slot {
        case .service: "a virtual service (-t VIP:port or -u VIP:port)"
        case .realServer: "a real server (-r RIP[:port])"
        case .localAddress: "a local address (-z LIP)"
        default: "more options"
        }
        return "\(command.briefName) needs \(what)"
    }

    private static func missingCommandMessage(_ word: String) -> String {
        let known = "-A, -E, -D, -C, -a, -e, -d, --set, --add-laddr, --del-laddr, interface or neighbour"
        if let what = RulesCommand.interactiveOnly(word) {
            return "'\(word)' \(what) and has no place in a rules file; a line starts with \(known)"
        }
        if let reason = RulesOption.unsupported(word) { return reason }
        if !RulesOption.named(word).isEmpty {
            return "a line must start with a command, not the option '\(word)'; start it with \(known)"
        }
        return "unknown command '\(word)'; a line starts with \(known)"
    }

    private static func unknownOptionMessage(_ word: String) -> String {
        if let reason = RulesOption.unsupported(word) { return reason }
        if let reason = RulesCommand.interactiveOnly(word) {
            return "'\(word)' \(reason) and has no place in a rules file"
        }
        // `-w5` or `-gw`: ipvsadm's popt accepts these, a rules file wants one word per option.
        if !word.hasPrefix("--"), word.count > 2 {
            let name = "-" + String(word.dropFirst().prefix(1))
            if let option = RulesOption.named(name).first {
                if case .none = option.argument {
                    return "unknown option '\(word)'; give each option as its own word ('\(name)' then the rest)"
                }
                return "unknown option '\(word)'; write the value as its own word: '\(name) \(word.dropFirst(2))'"
            }
        }
        return "unknown option '\(word)'"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
