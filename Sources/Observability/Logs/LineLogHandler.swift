#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// lvsd's swift-log handler: one event, one line on a file descriptor, in `LogFormat.plain` or
/// `.journal`, repetitive warnings and errors held back by a `LogRateLimiter`.
///
/// Levels come from the call site (`logger.warning`, `.notice`, ...), never from the text;
/// metadata (service, real_server, reason, instance, ...) goes after the message as `key=value`
/// pairs, so a line stays readable and `grep real_server=198.18.1.12:80` finds every line
/// about one real server.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let output: LogOutput

    public init(output: LogOutput) {
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        output.write(level: event.level, message: event.message.description, metadata: merged,
                     source: LogSite(file: event.file, line: event.line))
    }
}

/// Where a line was logged from: with the level and the text, what makes two lines "similar".
public struct LogSite: Hashable, Sendable {
    public var file: String
    public var line: UInt
    public init(file: String, line: UInt) {
        self.file = file
        self.line = line
    }
}

/// The descriptor the lines go to, its format and the rate limiter, shared by every copy of
/// the handler (swift-log copies handlers with their loggers).
public final class LogOutput: Sendable {
    public struct Policy: Sendable {
        /// Lines at this level and above are rate-limited; below it each one is an event an
        /// operator wants (a health transition, a reload), so none is held back.
        public var limitedFrom: Logger.Level = .warning
        public var burst = 10
        public var interval: UInt64 = 60_000_000_000
        public init() {}
    }

    struct Key: Hashable {
        var level: Logger.Level
        var site: LogSite
        var message: String
    }

    private let fd: Int32
    public let format: LogFormat
    private let policy: Policy
    private let clock: @Sendable () -> UInt64
    private let limiter: Mutex<LogRateLimiter<Key>>
    private let sink: (@Sendable (String) -> Void)?

    /// Writes to `fd`; `clock` gives monotonic nanoseconds.
    public init(fd: Int32, format: LogFormat, policy: Policy = Policy(),
                clock: @escaping @Sendable () -> UInt64 = LogOutput.monotonicNanoseconds) {
        self.fd = fd
        self.format = format
        self.policy = policy
        self.clock = clock
        self.limiter = Mutex(LogRateLimiter(burst: policy.burst, interval: policy.interval))
        self.sink = nil
    }

    /// Hands each finished line (with its newline) to `sink` instead of a descriptor: for tests.
    public init(format: LogFormat, policy: Policy = Policy(), clock: @escaping @Sendable () -> UInt64,
                sink: @escaping @Sendable (String) -> Void) {
        self.fd = -1
        self.format = format
        self.policy = policy
        self.clock = clock
        self.limiter = Mutex(LogRateLimiter(burst: policy.burst, interval: policy.interval))
        self.sink = sink
    }

    /// Standard output in `format`, or when nil in the journal's format if systemd connected
    /// it to journald and plain otherwise.
    public static func standardOutput(format: LogFormat? = nil, policy: Policy = Policy()) -> LogOutput {
        let stream = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        let chosen = format ?? (JournalStream.isConnected(fd: STDOUT_FILENO, environment: stream) ? .journal : .plain)
        return LogOutput(fd: STDOUT_FILENO, format: chosen, policy: policy)
    }

    func write(level: Logger.Level, message: String, metadata: Logger.Metadata, source: LogSite) {
        let limited = level >= policy.limitedFrom
        let key = Key(level: level, site: source, message: message)
        // One lock for the decision and the write, so a suppression note never overtakes the
        // lines it summarises.
        limiter.withLock { limiter in
            let now = clock()
            var admitted = true
            let closed: [(key: Key, suppressed: Int)]
            if limited {
                let decision = limiter.admit(key, now: now)
                admitted = decision.write
                closed = decision.closed
            } else {
                closed = limiter.close(now: now)
            }
            for (key, count) in closed {
                let note = "lvsd: log: \(count) similar message\(count == 1 ? "" : "s") suppressed in the last \(policy.interval / 1_000_000_000) s: \(key.message)"
                emit(format.line(level: key.level, message: note, metadata: ["suppressed": "\(count)"]))
            }
            if admitted { emit(format.line(level: level, message: message, metadata: metadata)) }
        }
    }

    /// write(2) rather than FileHandle, whose write traps when the descriptor is a pipe whose
    /// reader went away; a line that cannot be written is dropped.
    private func emit(_ text: String) {
        var line = text + "\n"
        if let sink { sink(line); return }
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
