import Control
import Core
import Foundation
import Testing
import Wire

/// The file name keepalived tests parse under, so messages read like the real thing.
let keepalivedFile = "keepalived.conf"

/// Parses `text` as keepalived.conf; a failure is recorded and yields an empty config.
func keepalived(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> KeepalivedConfig {
    do {
        return try KeepalivedFile.parse(text, file: keepalivedFile)
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
        return KeepalivedConfig()
    }
}

/// The error parsing `text` produces, or nil (recorded as an issue) when it parses.
func keepalivedError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigError? {
    do {
        _ = try KeepalivedFile.parse(text, file: keepalivedFile)
        Issue.record("expected an error, but the configuration parsed", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// `ConfigError(file: keepalived.conf, ...)`.
func kaError(_ line: Int, _ column: Int, _ message: String) -> ConfigError {
    ConfigError(file: keepalivedFile, line: line, column: column, message: message)
}

func kaWarning(_ line: Int, _ column: Int, _ message: String) -> ConfigWarning {
    ConfigWarning(file: keepalivedFile, line: line, column: column, message: message)
}

/// A virtual server block around `body` (TCP, so no protocol warning), with one real server
/// unless `body` brings its own.
func virtualServer(_ body: String) -> String {
    virtualServer("198.18.0.10 80", body)
}

func virtualServer(_ header: String, _ body: String) -> String {
    """
    virtual_server \(header) {
        protocol TCP
    \(body)
    }
    """
}

/// The one virtual server of `config` (recorded as an issue if there is not exactly one).
func onlyVirtualServer(_ config: KeepalivedConfig, sourceLocation: SourceLocation = #_sourceLocation) -> KeepalivedVirtualServer {
    #expect(config.virtualServers.count == 1, sourceLocation: sourceLocation)
    return config.virtualServers.first ?? KeepalivedVirtualServer(address: .group("none"), services: [])
}

/// The warnings' messages, for tests that check what was said rather than where.
func messages(_ config: KeepalivedConfig) -> [String] { config.warnings.map(\.message) }

/// A fresh temporary directory, removed by the caller's `defer`.
func temporaryDirectory(_ name: String = #function) throws -> URL {
    let clean = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("keepalived-\(clean)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ text: String, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
}

/// The statement words of a tree as `keyword arg arg { ... }` text, for structure checks.
func outline(_ statements: [KeepalivedStatement]) -> String {
    statements.map { statement in
        var text = ([statement.keyword] + statement.arguments).map(\.text).joined(separator: " ")
        if let block = statement.block { text += " { " + outline(block) + " }" }
        return text
    }.joined(separator: "; ")
}
