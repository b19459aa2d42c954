import ArgumentParser
import Foundation
import Logging

/// lvsd's log, through swift-log: the engine, the daemon and the control socket each log
/// through the `Logger` handed down to them, at the level the call site chose (warnings and
/// errors as such, health transitions and stopping as notices, the rest as info), and
/// `--log-level` filters them. The handler prints the message alone, one line each,
/// unbuffered, as lvsd always has, so scripts and tests that read the log keep working.
enum DaemonLog {
    enum Level: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
        var logging: Logger.Level { Logger.Level(rawValue: rawValue)! }
    }

    /// The logger the engine and the daemon are given, at `level`.
    static func logger(level: Level) -> Logger {
        var logger = Logger(label: "lvsd") { _ in PlainLineHandler() }
        logger.logLevel = level.logging
        return logger
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

    /// write(2) rather than FileHandle, whose write traps when standard output is a pipe
    /// whose reader went away; a line that cannot be written is dropped.
    func log(event: LogEvent) {
        var line = event.message.description + "\n"
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
