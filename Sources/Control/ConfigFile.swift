import Core
import Foundation

/// The one way `lvsd` reads its configuration: an ipvsadm rules file (Docs/rules-file.md) or
/// a keepalived.conf (Docs/keepalived-conf.md), told apart by their first statement.
public enum ConfigFile {
    public enum Format: String, Sendable, CaseIterable {
        /// `ipvsadm -S` lines plus SwiftLVS's `interface` and `neighbour` lines.
        case ipvsadmRules = "ipvsadm rules"
        case keepalived = "keepalived.conf"

        /// Decides from the first word that is not blank or a comment (`#`, and `!`, which
        /// keepalived also uses): a rules file starts with an ipvsadm option (`-A`,
        /// `--set`), `ipvsadm`, `interface`, `neighbour` or `neighbor`; anything else is read as
        /// keepalived.conf, whose statements are words such as `global_defs`,
        /// `virtual_server` or `include`. A file with nothing in it is an (empty) rules file.
        public static func detect(_ text: String) -> Format {
            for line in KeepalivedLexer.lines(of: text) {
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                guard let first = trimmed.first, first != "#", first != "!" else { continue }
                let word = trimmed.prefix { !KeepalivedLexer.isBlank($0) && $0 != "{" && $0 != "#" && $0 != "!" }
                if word.hasPrefix("-") || ["ipvsadm", "interface", "neighbour", "neighbor"].contains(word) {
                    return .ipvsadmRules
                }
                return .keepalived
            }
            return .ipvsadmRules
        }
    }

    /// A configuration read from either format.
    public struct Loaded: Sendable {
        public var format: Format
        /// What the director runs.
        public var director: DirectorConfig
        /// The whole keepalived reading (checkers, VRRP, ...); nil for a rules file.
        public var keepalived: KeepalivedConfig?
        /// What was read and not acted on; empty for a rules file.
        public var warnings: [ConfigWarning]
        /// Every file read, the main one first.
        public var files: [String]
    }

    /// Reads the file at `path` in the format its content shows.
    public static func load(path: String) throws(ConfigError) -> Loaded {
        let text = try read(path)
        return try parse(text, file: path)
    }

    /// Parses `text` as the file `file` (keepalived includes resolve against its directory).
    public static func parse(_ text: String, file: String, format: Format? = nil) throws(ConfigError) -> Loaded {
        switch format ?? Format.detect(text) {
        case .ipvsadmRules:
            let director = try RulesFile.parse(text, file: file)
            return Loaded(format: .ipvsadmRules, director: director, keepalived: nil, warnings: [], files: [file])
        case .keepalived:
            let config = try KeepalivedFile.parse(text, file: file)
            return Loaded(format: .keepalived, director: config.director, keepalived: config, warnings: config.warnings, files: config.files)
        }
    }

    static func read(_ path: String) throws(ConfigError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read the configuration file: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, column: 0, message: "the configuration file is not UTF-8 text")
        }
        return text
    }
}
