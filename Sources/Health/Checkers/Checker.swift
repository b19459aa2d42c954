import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A checker kind's runtime: one per configured checker, making one `Probe` per check. Holds
/// what lives across checks (the ICMP sequence number, the TLS context).
public protocol Checker: AnyObject {
    var config: CheckerConfig { get }
    func makeProbe() -> any Probe
}

/// One check in flight, as a non-blocking state machine (keepalived's chain of threads per
/// check, check_http.c: connect → TLS → request → response). The loop calls `start`, then
/// `handle` each time the descriptor it waits on is ready or its deadline passes, until the
/// probe answers `.done`. Probes never block: hundreds run on one thread.
public protocol Probe: AnyObject {
    func start(now: Duration) -> ProbeStep
    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep
    /// Abandons the check (the runner stops): closes descriptors, kills children.
    func cancel()
}

/// What a probe waits for next.
public enum ProbeStep {
    /// Poll `fd` for `events` (POLLIN/POLLOUT) until `deadline`. A negative fd waits for the
    /// deadline only.
    case wait(fd: Int32, events: Int16, deadline: Duration)
    case done(CheckOutcome)
}

public enum ProbeEvent: Equatable {
    /// poll's revents for the descriptor.
    case ready(Int16)
    case timedOut
}

extension CheckerConfig {
    /// The checker runtime for this configuration; `scripts` decides who runs MISC_CHECK's.
    public func makeChecker(scripts: ScriptPolicy = ScriptPolicy()) -> any Checker {
        switch spec {
        case .tcp: TCPChecker(config: self)
        case .httpGet(let http): HTTPGetChecker(config: self, http: http)
        case .sslGet(let http, let tls): SSLGetChecker(config: self, http: http, tls: tls)
        case .misc(let misc): MiscChecker(config: self, misc: misc, scripts: scripts)
        case .ping: PingChecker(config: self)
        case .udp(let udp): UDPChecker(config: self, udp: udp)
        case .dns(let dns): DNSChecker(config: self, dns: dns)
        case .smtp(let smtp): SMTPChecker(config: self, smtp: smtp)
        case .file(let file): FileChecker(config: self, file: file)
        case .notImplemented(let n): NotImplementedChecker(config: self, check: n)
        }
    }
}

/// Runs one probe to completion on the calling thread with poll(2): genhash, tests, and
/// one-off checks. The health runner drives many probes at once instead.
public enum ProbeDriver {
    public static func run(_ probe: any Probe, clock: MonotonicClock = MonotonicClock()) -> CheckOutcome {
        var step = probe.start(now: clock.now)
        while true {
            switch step {
            case .done(let outcome):
                return outcome
            case .wait(let fd, let events, let deadline):
                let remaining = deadline - clock.now
                if remaining <= .zero {
                    step = probe.handle(.timedOut, now: clock.now)
                    continue
                }
                var pfd = pollfd(fd: fd, events: events, revents: 0)
                let ms = Int32(clamping: (CheckSchedule.nanoseconds(remaining) + 999_999) / 1_000_000)
                switch SystemCall.run({ Int(poll(&pfd, 1, ms)) }) {
                case .done(let n) where n > 0 && fd >= 0 && pfd.revents != 0:
                    step = probe.handle(.ready(pfd.revents), now: clock.now)
                case .done:
                    break  // Nothing ready: the deadline above decides.
                case .wouldBlock, .failed:
                    step = probe.handle(.timedOut, now: clock.now)
                }
            }
        }
    }
}

/// CLOCK_MONOTONIC as a `Duration` since the clock was made: the runner's injected time.
public struct MonotonicClock: Sendable {
    private let origin: Int64

    public init() { origin = MonotonicClock.raw() }

    public var now: Duration { .nanoseconds(MonotonicClock.raw() - origin) }

    private static func raw() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
