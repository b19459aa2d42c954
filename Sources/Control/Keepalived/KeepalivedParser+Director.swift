import Core

/// `lvsd_director { ... }`: lvsd's own block for what keepalived.conf has no place for, the
/// director's interfaces and static neighbours, in the rules file's words:
///
///     lvsd_director {
///         interface eth0 mac 02:00:00:00:00:01 address 198.18.0.1
///         neighbour 198.18.1.1 mac 02:00:00:00:01:01
///     }
///
/// Each line is read by the same code as the rules file's `interface` and `neighbour`
/// lines (`DirectorSettingLines`), so both formats mean the same and fail the same way.
/// The block may appear more than once (its lines add up) and may live in an included
/// file, which keeps the main file loadable by keepalived itself.
extension KeepalivedParser {
    static let directorUsage = "interface NAME mac MAC [mtu N] [address IP]... or neighbour IP mac MAC [interface NAME]"

    mutating func parseDirector(_ statement: KeepalivedStatement) throws(ConfigError) {
        _ = try statement.argumentsAllowingBlock(0...0, "lvsd_director")
        for line in try statement.contents("lvsd_director") {
            if KeepalivedMonitor.keywords.contains(line.name) {
                try monitor.apply(line)
                continue
            }
            if let apply = ServiceSettingLines.handler(line.name) {
                try line.noBlock(ServiceSettingLines.usage(line.name))
                let tokens = ([line.keyword] + line.arguments).map { RulesToken(text: $0.text, column: $0.location.column) }
                try apply(tokens, &director, RulesLocation(file: line.location.file, line: line.location.line))
                continue
            }
            guard DirectorSettingLines.handles(line.name) else {
                throw KeepalivedKeywords.unknown(line, in: "lvsd_director", known: ["interface", "neighbour", "neighbor"] + ServiceSettingLines.keywords + KeepalivedMonitor.keywords.sorted())
            }
            try line.noBlock(Self.directorUsage)
            let tokens = ([line.keyword] + line.arguments).map { RulesToken(text: $0.text, column: $0.location.column) }
            try DirectorSettingLines.apply(tokens, to: &director, at: RulesLocation(file: line.location.file, line: line.location.line))
        }
    }
}
