import Core
import Foundation
import Wire

/// Reads a rules file: `ipvsadm -S -n` / `ipvsadm -R` syntax, DPVS's FullNAT words, and
/// SwiftLVS's director-setting lines, one command per line. Docs/rules-file.md is the
/// operator's reference; this is the contract in brief.
///
/// ```
/// # comment; blank lines are ignored; a leading word 'ipvsadm' (or 'lvsadm') is ignored too
/// interface eth0 mac 02:00:00:00:00:01 mtu 1500 address 198.18.0.1
/// neighbour 198.18.1.1 mac 02:00:00:00:01:01 interface eth0
/// --set 900 120 300
/// -A -t 198.18.0.10:80 -s rr -p 600 -M 255.255.255.0
/// -a -t 198.18.0.10:80 -r 198.18.1.1:80 -g -w 1
/// -A -t [2001:db8::10]:https -s sh -b sh-port
/// -a -t [2001:db8::10]:443 -r [2001:db8::1]:8443 -b -w 5 -x 1000 -y 800
/// --add-laddr -z 2001:db8::100 -t [2001:db8::10]:443
/// ```
///
/// Semantics follow ipvsadm 1.31 and the kernel it drives: `-A` defaults to wlc, `-a`
/// to `-g -w 1`; `-E` and `-e` replace every setting of the service or server, with those
/// defaults for what the line omits; DR and TUN servers always take the service's port;
/// only tunnelling servers may be of the other address family; `-b` is `--sched-flags`
/// on `-A`/`-E` and DPVS FullNAT on `-a`/`-e`. The first error stops parsing and names
/// the file, line and column of the offending word.
public enum RulesFile {
    /// Parses a whole rules file into a configuration snapshot, or throws the first error.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> DirectorConfig {
        try parse(text, file: file, strictness: .rulesFile)
    }

    /// The same, with the grammar as strict as `strictness` says: `.rulesFile` for
    /// `lvsd --config`, `.restore` to read the file exactly as `lvsadm -R` does.
    static func parse(_ text: String, file: String, strictness: IPVSStrictness) throws(ConfigError) -> DirectorConfig {
        var builder = RulesBuilder(strictness: strictness)
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so it needs naming to split DOS files.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            let location = RulesLocation(file: file, line: lineNumber)
            var tokens = RulesTokenizer.tokens(of: line)
            if let first = tokens.first?.text, RulesTokenizer.programNames.contains(first) { tokens.removeFirst() }
            guard let first = tokens.first else { continue }
            if DirectorSettingLines.handles(first.text) {
                try DirectorSettingLines.apply(tokens, to: &builder, at: location)
            } else if let line = ServiceSettingLines.handler(first.text) {
                try line(tokens, &builder, location)
            } else {
                let command = try RulesCommandLine.parse(tokens, at: location, strictness: strictness)
                try builder.apply(command, at: location)
            }
        }
        return builder.config
    }

    /// Reads and parses the rules file at `path`; an unreadable file is an error without a line.
    public static func load(path: String) throws(ConfigError) -> DirectorConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read the rules file: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, column: 0, message: "the rules file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }
}
