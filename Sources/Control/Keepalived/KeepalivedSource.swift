import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads keepalived.conf and every file it includes into one token stream, in reading
/// order, each token carrying its own file, line and column.
///
/// `include PATTERN` (and keepalived's variants `includer`, `includem`, `includew`,
/// `includeb`, `includea`, read the same way) is a line of its own, anywhere, even inside a
/// block, as in lib/parser.c `check_include`. PATTERN is one word (quote it if it has
/// spaces); a relative one is relative to the directory of the file that includes it
/// (keepalived changes into that directory while reading the file, `open_conf_file`). It is
/// expanded with glob(3) including `{a,b}` braces; matches are read in sorted order and
/// directories among them are skipped with a warning.
///
/// Differences from keepalived, on purpose: a pattern without wildcards naming a file that
/// does not exist is an error (keepalived's plain `include` only logs it, and a director
/// that silently loses half its services is worse than one that does not start); a pattern
/// with wildcards that matches nothing is a warning. A file that includes itself, directly
/// or through others, is an error naming the chain (keepalived has no check and recurses
/// until it runs out of file descriptors).
struct KeepalivedSource {
    static let includeKeywords: Set<String> = ["include", "includer", "includem", "includew", "includeb", "includea"]
    /// Far more than any real configuration nests; the cycle check catches loops before this.
    static let maximumDepth = 32

    private(set) var tokens: [KeepalivedToken] = []
    /// Every file read, the main one first, in reading order.
    private(set) var files: [String] = []
    private(set) var warnings: [ConfigWarning] = []
    private var nextLineID = 0
    /// The files being read, outermost first, by canonical path (for cycles) and as shown.
    private var stack: [(canonical: String, shown: String)] = []

    /// Reads `text` as the file `file`, resolving includes relative to its directory.
    mutating func read(text: String, file: String) throws(ConfigError) {
        stack.append((Self.canonicalPath(file), file))
        defer { stack.removeLast() }
        files.append(file)
        let directory = (file as NSString).deletingLastPathComponent
        for (index, line) in KeepalivedLexer.lines(of: text).enumerated() {
            nextLineID += 1
            let lineTokens = try KeepalivedLexer.tokens(ofLine: line, number: index + 1, file: file, lineID: nextLineID)
            if let first = lineTokens.first, first.kind == .word, !first.quoted, Self.includeKeywords.contains(first.text) {
                let whole = try KeepalivedLexer.tokens(ofLine: line, number: index + 1, file: file, lineID: nextLineID, splitBraces: false)
                try include(whole, directory: directory)
            } else {
                tokens += lineTokens
            }
        }
    }

    /// Reads the file at `path`; `includedAt` is the include line that named it, where an
    /// unreadable file is reported.
    mutating func load(path: String, includedAt: ConfigLocation? = nil) throws(ConfigError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            if let includedAt { throw includedAt.error("cannot read the included file '\(path)': \(reason)") }
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read the configuration file: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            if let includedAt { throw includedAt.error("the included file '\(path)' is not UTF-8 text") }
            throw ConfigError(file: path, line: 0, column: 0, message: "the configuration file is not UTF-8 text")
        }
        try read(text: text, file: path)
    }

    private mutating func include(_ line: [KeepalivedToken], directory: String) throws(ConfigError) {
        let keyword = line[0]
        guard line.count == 2, line[1].kind == .word, !line[1].text.isEmpty else {
            let at = line.count > 2 ? line[2].location : keyword.location
            throw at.error("'\(keyword.text)' takes one file name or glob pattern; quote a name that contains spaces")
        }
        let written = line[1].text
        let pattern = written.hasPrefix("/") || directory.isEmpty ? written : Self.escapedForGlob(directory) + "/" + written
        let (paths, status) = Self.expand(pattern)
        if paths.isEmpty {
            let hasWildcards = written.contains { "*?[{".contains($0) }
            if hasWildcards || status != 0 && status != Self.noMatch {
                warnings.append(line[1].location.warning("'\(keyword.text) \(written)' matches no file; nothing is included"))
                return
            }
            throw line[1].location.error("the included file '\(pattern)' does not exist")
        }
        for path in paths {
            if path.hasSuffix("/") {
                warnings.append(line[1].location.warning("'\(path)' matched by '\(keyword.text) \(written)' is a directory; skipping it"))
                continue
            }
            let canonical = Self.canonicalPath(path)
            if let first = stack.firstIndex(where: { $0.canonical == canonical }) {
                let chain = (stack[first...].map(\.shown) + [path]).joined(separator: " -> ")
                throw line[1].location.error("include cycle: \(chain); a file may not include itself, directly or through others")
            }
            guard stack.count < Self.maximumDepth else {
                throw line[1].location.error("includes nest deeper than \(Self.maximumDepth) files")
            }
            try load(path: path, includedAt: line[1].location)
        }
    }

    // MARK: File-system helpers

    static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// A directory name made literal for glob(3), so a `[` or `*` in it matches itself.
    static func escapedForGlob(_ text: String) -> String {
        var result = ""
        for c in text {
            if "*?[]{}\\".contains(c) { result.append("\\") }
            result.append(c)
        }
        return result
    }

    static let noMatch = Int32(GLOB_NOMATCH)

    /// glob(3) with `GLOB_MARK` (directories end in `/`) and `GLOB_BRACE`, sorted as glob sorts.
    static func expand(_ pattern: String) -> (paths: [String], status: Int32) {
        var result = glob_t()
        defer { globfree(&result) }
        let status = pattern.withCString { glob($0, GLOB_MARK | GLOB_BRACE, nil, &result) }
        var paths: [String] = []
        if status == 0 {
            for i in 0..<Int(result.gl_pathc) {
                if let path = result.gl_pathv[i] { paths.append(String(cString: path)) }
            }
        }
        return (paths, status)
    }
}
