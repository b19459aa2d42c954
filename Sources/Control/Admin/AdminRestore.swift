/// `lvsadm -R`: standard input holds one lvsadm command per line (what `-S` prints), read
/// with the same grammar as the command line (`IPVSStrictness.restore`: the table-changing
/// commands only), as ipvsadm's `restore_table` runs `process_options` on each line. Blank lines, `#` comments and the word `ipvsadm` (or
/// `lvsadm`) at the start of a line are skipped.
///
/// Unlike ipvsadm, which applies line after line and stops at the first bad one, the
/// whole input is parsed first and sent as one batch that lvsd applies all or nothing.
public enum AdminRestore {
    /// The commands of `text`, or the first line's error with its line number in `detail`.
    public static func commands(_ text: String, program: String = "lvsadm") throws(AdminError) -> [AdminCommand] {
        var commands: [AdminCommand] = []
        var lineNumber = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            var words = RulesTokenizer.tokens(of: line).map(\.text)
            if let first = words.first, RulesTokenizer.programNames.contains(first) { words.removeFirst() }
            if words.isEmpty { continue }
            let action: LvsadmInvocation.Action
            do {
                action = try LvsadmCommandLine.parseRestoreLine(words, program: program)
            } catch {
                throw located(error, lineNumber, words)
            }
            guard case .change(let command) = action else {
                let error = AdminError.usage("unexpected command in restore input",
                                             detail: "only commands that change the table (-A -E -D -C -a -e -d -Z --set --add-laddr --del-laddr) may be restored")
                throw located(error, lineNumber, words)
            }
            commands.append(command)
        }
        return commands
    }

    /// `error` with "line N: ..." in front of its detail.
    static func located(_ error: AdminError, _ lineNumber: Int, _ words: [String]) -> AdminError {
        var located = error
        let text = words.joined(separator: " ")
        located.detail = "line \(lineNumber) ('\(text)'): " + (error.detail ?? error.message)
        return located
    }

    /// The detail of a batch error from lvsd, located at the line its command came from.
    public static func locate(_ error: AdminError, lines text: String) -> AdminError {
        guard let index = error.commandIndex else { return error }
        var seen = -1
        var lineNumber = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            var words = RulesTokenizer.tokens(of: line).map(\.text)
            if let first = words.first, RulesTokenizer.programNames.contains(first) { words.removeFirst() }
            if words.isEmpty { continue }
            seen += 1
            if seen == index { return located(error, lineNumber, words).appendingDetail("; nothing was restored") }
        }
        return error
    }
}

extension AdminError {
    func appendingDetail(_ suffix: String) -> AdminError {
        var e = self
        e.detail = (e.detail ?? e.message) + suffix
        return e
    }
}
