import ArgumentParser
import Health
import Logging
import Observability

/// lvsd's log, through swift-log: the engine, the daemon and the control socket each log
/// through the `Logger` handed down to them, at the level the call site chose (warnings and
/// errors as such, health transitions and stopping as notices, the rest as info), and
/// `--log-level` filters them. Each event is one unbuffered line on standard output: the
/// message, then its metadata as `key=value`; under systemd with standard output on the
/// journal each line starts with its `<N>` syslog priority, which journald stores as the
/// entry's priority. Repeated identical warnings and errors are held back (`LineLogHandler`).
enum DaemonLog {
    enum Level: String, ExpressibleByArgument, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
        var logging: Logger.Level { Logger.Level(rawValue: rawValue)! }
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case auto, plain, fields, journal
        /// nil: the journal's format when standard output is the journal, plain otherwise.
        var logFormat: LogFormat? { LogFormat(rawValue: rawValue) }
    }

    /// The logger the engine and the daemon are given, at `level`. Call once per process and
    /// hand it down: its copies share one output and so one rate limiter.
    static func logger(level: Level, format: Format = .auto) -> Logger {
        let output = LogOutput.standardOutput(format: format.logFormat)
        var logger = Logger(label: "lvsd") { _ in LineLogHandler(output: output) }
        logger.logLevel = level.logging
        return logger
    }
}

extension HealthEvent {
    /// The health line's fields: `service`, `real_server`, `checker`, `reason` and `event`.
    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["service": "\(service)", "event": .string(kind.logName)]
        if let realServer { metadata["real_server"] = "\(realServer)" }
        if let checker { metadata["checker"] = "\(checker)" }
        if let reason { metadata["reason"] = .string(reason) }
        return metadata
    }
}

extension HealthEvent.Kind {
    /// snake_case, as the metric and field names are.
    var logName: String {
        switch self {
        case .checkerUp: "checker_up"
        case .checkerDown: "checker_down"
        case .retrying: "retrying"
        case .realServerUp: "real_server_up"
        case .realServerDown: "real_server_down"
        case .weightChanged: "weight_changed"
        case .quorumGained: "quorum_gained"
        case .quorumLost: "quorum_lost"
        case .sorryServerIn: "sorry_server_in"
        case .sorryServerOut: "sorry_server_out"
        case .notice: "notice"
        }
    }
}
