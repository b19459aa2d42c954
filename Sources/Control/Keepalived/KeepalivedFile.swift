import Core
import Foundation

/// Reads keepalived.conf (keepalived.conf(5); keepalived 2.3's parser, lib/parser.c, and
/// its LVS keywords, keepalived/check/check_parser.c, plus DPVS's FullNAT words) into a
/// `KeepalivedConfig`: the `DirectorConfig` lvsd runs, the checkers and VRRP blocks it keeps,
/// and warnings for what it ignores. Docs/keepalived-conf.md is the operator's reference.
///
/// The first error stops reading and names the file (an included file by its own path),
/// line and column of the word that is wrong.
public enum KeepalivedFile {
    /// Parses `text` as the file `file`; `include` patterns resolve against its directory.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> KeepalivedConfig {
        var source = KeepalivedSource()
        try source.read(text: text, file: file)
        return try interpret(source)
    }

    /// Reads and parses the keepalived.conf at `path` with everything it includes.
    public static func load(path: String) throws(ConfigError) -> KeepalivedConfig {
        var source = KeepalivedSource()
        try source.load(path: path)
        return try interpret(source)
    }

    private static func interpret(_ source: KeepalivedSource) throws(ConfigError) -> KeepalivedConfig {
        let statements = try KeepalivedTree.build(source.tokens)
        var parser = KeepalivedParser()
        parser.warnings = source.warnings
        var config = try parser.parse(statements)
        config.files = source.files
        // Pass order (groups before virtual servers) is not file order; sort into file order:
        // the files as read, then line and column.
        let fileOrder = Dictionary(source.files.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        config.warnings = config.warnings.enumerated().sorted { a, b in
            let left = (fileOrder[a.element.file] ?? Int.max, a.element.line, a.element.column, a.offset)
            let right = (fileOrder[b.element.file] ?? Int.max, b.element.line, b.element.column, b.offset)
            return left < right
        }.map(\.element)
        return config
    }
}
