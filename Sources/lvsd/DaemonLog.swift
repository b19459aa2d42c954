import ArgumentParser
import Foundation
import Logging

/// lvsd's log, through swift-log: every line the engine, the daemon and the health checkers
/// write goes to one `Logger` at a level read off the line (warnings and errors say so;
/// health transitions are notices; per-neighbour and per-reload details are info), and
/// `--log-level` filters them. The handler prints the message alone, one line each, unbuffered,
/// as lvsd always has, so scripts and tests that read the log keep working.
enum DaemonLog {
    enum Level: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
        var logging: Logger.Level { Logger.Level(rawValue: rawValue)! }
    }

    /// A closure for the engine and the daemon, backed by a logger at `level`.
    static func make(level: Level) -> @Sendable (String) -> Void {
        var configured = Logger(label: "lvsd") { _ in PlainLineHandler() }
        configured.logLevel = level.logging
        let logger = configured
        return { line in logger.log(level: Self.level(of: line), "\(line)") }
    }

    /// The level a line is logged at, from what it says.
    static func level(of line: String) -> Logger.Level {
        if line.contains("error:") || line.contains(" refused") { return .error }
        if line.contains("warning:") { return .warning }
        if line.hasPrefix("lvsd: health:") || line.hasPrefix("lvsd: stopping") { return .notice }
        return .info
    }
}

/// Writes each message on its own line to standard output, nothing added.
struct PlainLineHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        FileHandle.standardOutput.write(Data((event.message.description + "\n").utf8))
    }
}
