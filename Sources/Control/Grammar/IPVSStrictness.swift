/// How strictly the one ipvsadm grammar reads words. Every place where lvsadm (ipvsadm's
/// popt and C parsing, byte for byte) and a rules file (`lvsd --config`: one meaning per
/// word, so that a typo is an error at its column rather than a different command) read
/// the same `-S` text differently is one field here, so the difference is a decision
/// with a name and a test, not an accident of two parsers.
///
/// `.commandLine` and `.restore` are ipvsadm's; `.rulesFile` is the strict reading.
/// `RulesFile.parse(_:file:strictness:)` takes any of them, which is how the tests show
/// that the two front ends agree once the strictness is the same.
struct IPVSStrictness: Sendable, Equatable {
    /// popt's short-option clusters and attached values: `-Ln`, `-mw5`, `-et VIP`.
    /// Off: a short option is a word of its own (`-w5` is refused with a hint).
    var shortOptionClusters: Bool

    /// popt takes the word after an option that needs a value whatever it looks like
    /// (`-F -x` names interface "-x"), and `--name=` gives an empty value. Off: a word that
    /// looks like an option (a dash then a letter) or nothing after '=' is a missing value.
    var valuesMayLookLikeOptions: Bool

    /// Which word after `-p` is its optional timeout.
    var optionalValue: OptionalValue

    enum OptionalValue: Sendable, Equatable {
        /// popt's POPT_ARGFLAG_OPTIONAL: the next word unless it starts with '-'
        /// (`-p abc` reads "abc" as the timeout and refuses it).
        case unlessDash
        /// Only a word of digits (`-p abc` leaves "abc" as a stray argument).
        case onlyDigits
    }

    /// popt: `--` ends the options and every later word is an argument. Off: `--` is an
    /// unknown option.
    var endOfOptions: Bool

    /// ipvsadm's `string_to_number` is strtol: leading blanks and a sign are allowed
    /// (`-w +5`). Off: a number is ASCII digits only.
    var signedNumbers: Bool

    /// ipvsadm's `parse_sched_flags` is strtok, which skips empty items
    /// (`sh-port,`). Off: an empty item is an error at its column.
    var emptyListItems: Bool

    /// ipvsadm's `parse_service` refuses `[IPv6]` without `:port`. On: it is accepted and
    /// has no port (port 0 for a service, the service's port for a real server), as a bare
    /// IPv6 address is.
    var bracketedAddressWithoutPort: Bool

    /// ipvsadm looks port names up for the service's protocol (`getservbyname`), so
    /// `-u VIP:http` is refused. On: any name in `PortNames` is accepted for either protocol.
    var portNamesOfEitherProtocol: Bool

    /// ipvsadm reads `-M` as it meets it, with the family of the service named so far: a
    /// dotted mask before `-t [IPv6]:port`, a prefix length after it. On: `-M` is read for
    /// the line's service wherever `-t`/`-u` stands.
    var netmaskForTheLinesService: Bool

    /// The commands that may be given: all for lvsadm's argv, the table-changing ones for
    /// `lvsadm -R`, and those without `-Z` for a rules file (a file describes a table;
    /// zeroing counters while loading one means nothing).
    var commands: Set<IPVSCommand>

    /// lvsadm's argv: ipvsadm's popt and C parsing, every command.
    static let commandLine = IPVSStrictness(
        shortOptionClusters: true, valuesMayLookLikeOptions: true, optionalValue: .unlessDash, endOfOptions: true,
        signedNumbers: true, emptyListItems: true, bracketedAddressWithoutPort: false, portNamesOfEitherProtocol: false,
        netmaskForTheLinesService: false, commands: Set(IPVSCommand.allCases))

    /// `lvsadm -R`: each line as ipvsadm's `restore_table` reads it, the table-changing commands only.
    static let restore: IPVSStrictness = {
        var restore = IPVSStrictness.commandLine
        restore.commands = IPVSCommand.tableChanging
        return restore
    }()

    /// A rules file read by `lvsd --config` (and keepalived's director lines): one word,
    /// one meaning.
    static let rulesFile = IPVSStrictness(
        shortOptionClusters: false, valuesMayLookLikeOptions: false, optionalValue: .onlyDigits, endOfOptions: false,
        signedNumbers: false, emptyListItems: false, bracketedAddressWithoutPort: true, portNamesOfEitherProtocol: true,
        netmaskForTheLinesService: true, commands: IPVSCommand.tableChanging.subtracting([.zero]))

    /// A decimal number in `range`, read as this strictness says (`signedNumbers`).
    func number(_ text: String, in range: ClosedRange<Int>) -> Int? {
        var rest = Substring(text)
        var negative = false
        if signedNumbers {
            // strtol: leading white space, then an optional sign.
            rest = rest.drop(while: { " \t\n\r\u{0B}\u{0C}".contains($0) })
            if let sign = rest.first, sign == "+" || sign == "-" {
                negative = sign == "-"
                rest = rest.dropFirst()
            }
        }
        guard !rest.isEmpty, rest.count <= 19, rest.allSatisfy(\.isASCIIDigit), let magnitude = Int(rest) else { return nil }
        let value = negative ? -magnitude : magnitude
        return range.contains(value) ? value : nil
    }

    /// Whether `text` is `[IPv6]` without its `:port`, which `bracketedAddressWithoutPort` decides.
    static func isBracketedWithoutPort(_ text: String) -> Bool {
        text.hasPrefix("[") && text.hasSuffix("]")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
