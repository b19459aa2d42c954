import Core
import Wire

/// Something the health state machine decided, with the log line an operator reads. The lines
/// follow keepalived's (ipwrapper.c, check_*.c) and add the reason a checker failed.
public struct HealthEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// A checker's first success, or success after failing.
        case checkerUp
        /// A checker failed after its retries (or at once on its first run).
        case checkerDown
        /// A failed attempt that will be retried after delay_before_retry.
        case retrying
        /// The real server entered the pool (or, with inhibit_on_failure, got its weight back).
        case realServerUp
        /// The real server left the pool (or, with inhibit_on_failure, went to weight 0).
        case realServerDown
        /// MISC_CHECK's misc_dynamic changed the server's weight.
        case weightChanged
        case quorumGained
        case quorumLost
        case sorryServerIn
        case sorryServerOut
        /// Informational: checkers activated, shutdown.
        case notice
    }

    public var kind: Kind
    public var service: ServiceKey
    /// The real server concerned; nil for service-wide events.
    public var realServer: Endpoint?
    public var message: String
    /// The checker's kind (`HTTP_GET`) for checker events: the log's `checker=` field.
    public var checker: CheckerKind?
    /// Why a checker failed, for the log's `reason=` field: on `checkerDown`, `retrying` and the
    /// `realServerDown` a failure caused.
    public var reason: String?

    public init(_ kind: Kind, service: ServiceKey, realServer: Endpoint? = nil, _ message: String,
                checker: CheckerKind? = nil, reason: String? = nil) {
        self.kind = kind
        self.service = service
        self.realServer = realServer
        self.message = message
        self.checker = checker
        self.reason = reason
    }

    public var description: String { message }
}

/// A notify script the state machine wants run (notify_up, notify_down, quorum_up, quorum_down).
/// The runner starts it off the checker loop and kills it after its timeout.
public struct ScriptRequest: Hashable, Sendable, CustomStringConvertible {
    public var command: ScriptCommand
    /// `notify_up for 198.18.1.12:80 of VS TCP 198.18.0.100:80`.
    public var reason: String

    public init(_ command: ScriptCommand, reason: String) {
        self.command = command
        self.reason = reason
    }

    public var description: String { "\(reason): \(command)" }
}

/// What one step of the state machine produced.
public struct HealthReport: Hashable, Sendable {
    public var events: [HealthEvent] = []
    public var scripts: [ScriptRequest] = []
    /// True when the desired real-server set or a weight changed: apply `desiredConfig(from:)`.
    public var desiredChanged = false
    /// When the checker that reported should run next (`record` only).
    public var nextRun: Duration?

    public init() {}

    mutating func append(_ other: HealthReport) {
        events += other.events
        scripts += other.scripts
        desiredChanged = desiredChanged || other.desiredChanged
    }
}
