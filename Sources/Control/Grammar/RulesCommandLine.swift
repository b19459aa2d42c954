/// One rules-file line after option parsing and before its values are interpreted: the
/// located-words front end of the one ipvsadm grammar (`IPVSOption`, `IPVSCommand`,
/// `IPVSScanner`), `LvsadmCommandLine` being the argv one. It holds which command, which
/// option filled each column of `commands_v_options` (with the word that named it, for
/// messages), and the words that were no option's value.
///
/// Where lvsadm quotes ipvsadm, this front end says what was wrong at the word's column,
/// and refuses an option the command does not take before reading its value.
struct RulesCommandLine: Sendable {
    var command: IPVSCommand
    /// The command's spelling on the line (`-a`, `--add-laddr`).
    var commandToken: RulesToken
    var uses: [IPVSOptionClass: IPVSOptionUse] = [:]
    var arguments: [RulesToken] = []
    /// `-6`: the firewall-mark service is an IPVS IPv6 one.
    var ipv6: RulesToken?

    subscript(column: IPVSOptionClass) -> IPVSOptionUse? { uses[column] }

    /// Parses the words of one line whose first word is a command.
    static func parse(_ tokens: [RulesToken], at location: RulesLocation,
                      strictness: IPVSStrictness = .rulesFile) throws(ConfigError) -> RulesCommandLine {
        guard let first = tokens.first else { preconditionFailure("empty lines are skipped before parsing") }
        var scanner = IPVSScanner(words: tokens, strictness: strictness)
        let item: IPVSScanItem?
        do {
            item = try scanner.next(command: nil)
        } catch {
            throw location.error(missingCommandMessage(first.text, strictness), at: first)
        }
        guard case .option(var start) = item, let command = start.option.command, strictness.commands.contains(command) else {
            throw location.error(missingCommandMessage(first.text, strictness), at: first)
        }
        do {
            try scanner.readValue(&start)
        } catch {
            throw scanError(error, location)
        }
        var line = RulesCommandLine(command: command, commandToken: start.name)
        while true {
            let item: IPVSScanItem?
            do {
                item = try scanner.next(command: command)
            } catch {
                throw scanError(error, location)
            }
            guard let item else { break }
            switch item {
            case .argument(let word):
                line.arguments.append(word)
            case .option(var use):
                guard let column = try line.admit(use, strictness, location) else { continue }
                do {
                    try scanner.readValue(&use)
                } catch {
                    throw scanError(error, location)
                }
                line.uses[column] = use
            }
        }
        for column in IPVSOptionClass.allCases where command.rule(column) == "+" && line.uses[column] == nil {
            throw location.error(missingOptionMessage(line.commandToken.text, column), at: first)
        }
        return line
    }

    /// Refuses `use` if the line cannot take it, before its value is read; returns the
    /// column it fills, or nil for an option that does nothing (`--sort`).
    private mutating func admit(_ use: IPVSOptionUse, _ strictness: IPVSStrictness, _ location: RulesLocation) throws(ConfigError) -> IPVSOptionClass? {
        let option = use.option
        let spelled = use.name.text
        if option == .sort { return nil }  // ipvsadm: "does nothing, for backwards compatibility"
        if option == .ipv6 {
            guard uses[.service]?.option == .fwmarkService else {
                throw location.error("'\(spelled)' makes a firewall-mark service IPv6 and goes after '-f MARK'", at: use.name)
            }
            ipv6 = use.name
            return nil
        }
        if let other = option.command, strictness.commands.contains(other) {
            throw location.error("a line holds one command, but this one has both '\(commandToken.text)' and '\(spelled)'; put \(spelled) on its own line", at: use.name)
        }
        if let purpose = option.interactivePurpose {
            throw location.error("'\(spelled)' \(purpose) and has no place in a rules file", at: use.name)
        }
        if let reason = option.unsupportedInRulesFile(spelled: spelled) { throw location.error(reason, at: use.name) }
        guard let column = option.optionClass else { throw location.error("unknown option '\(spelled)'", at: use.name) }
        if command.rule(column) == "x" {
            // Name the other spelling too, unless the letter is ambiguous (`-b`).
            var shown = "'\(spelled)'"
            if spelled.hasPrefix("--") {
                if let letter = option.shortName { shown += " (-\(letter))" }
            } else if IPVSOption.named(word: spelled).count == 1 {
                shown += " (--\(option.longName))"
            }
            throw location.error("option \(shown) cannot be used with \(command.option.displayName)", at: use.name)
        }
        if let previous = uses[column] {
            if column == .forward, previous.option != option {
                throw location.error("conflicting forwarding methods '\(previous.name.text)' and '\(spelled)'; give only one of -g, -m, -i or -b", at: use.name)
            }
            if column == .service, previous.option != option {
                throw location.error("a line names one virtual service, but this one has both '\(previous.name.text)' and '\(spelled)'", at: use.name)
            }
            throw location.error("option '\(spelled)' is given twice on this line", at: use.name)
        }
        return column
    }

    private static func scanError(_ error: IPVSScanError, _ location: RulesLocation) -> ConfigError {
        switch error {
        case .unknownOption(let word, _):
            location.error(unknownOptionMessage(word.text), at: word)
        case .missingValue(let use):
            location.error("option '\(use.name.text)' needs a value: \(use.option.valueDescription)", at: use.name)
        case .emptyValue(let use):
            location.error("option '\(use.name.text)' needs \(use.option.valueDescription) after '='", at: use.value ?? use.word)
        case .valueNotTaken(let use):
            location.error("option '\(use.name.text)' takes no value, but was given '\(use.value?.text ?? "")'", at: use.value ?? use.word)
        }
    }

    private static func missingOptionMessage(_ command: String, _ column: IPVSOptionClass) -> String {
        let what = switch column {
        case .service: "a virtual service (-t VIP:port or -u VIP:port)"
        case .server: "a real server (-r RIP[:port])"
        case .localAddress: "a local address (-z LIP)"
        default: "the '\(column.name)' option"
        }
        return "\(command) needs \(what)"
    }

    private static func missingCommandMessage(_ word: String, _ strictness: IPVSStrictness) -> String {
        let known = "-A, -E, -D, -C, -a, -e, -d, --set, --add-laddr, --del-laddr, interface or neighbour"
        let options = IPVSOption.named(word: word)
        if let purpose = options.lazy.compactMap(\.interactivePurpose).first {
            return "'\(word)' \(purpose) and has no place in a rules file; a line starts with \(known)"
        }
        if let reason = options.lazy.compactMap({ $0.unsupportedInRulesFile(spelled: word) }).first { return reason }
        if !options.isEmpty {
            return "a line must start with a command, not the option '\(word)'; start it with \(known)"
        }
        return "unknown command '\(word)'; a line starts with \(known)"
    }

    private static func unknownOptionMessage(_ word: String) -> String {
        // `-w5` or `-gw`: ipvsadm's popt accepts these, a strict rules file wants one word per option.
        if !word.hasPrefix("--"), word.count > 2, let option = IPVSOption.named(short: word.dropFirst().first!).first {
            let name = "-" + String(word.dropFirst().prefix(1))
            if case .none = option.argument {
                return "unknown option '\(word)'; give each option as its own word ('\(name)' then the rest)"
            }
            return "unknown option '\(word)'; write the value as its own word: '\(name) \(word.dropFirst(2))'"
        }
        return "unknown option '\(word)'"
    }
}
