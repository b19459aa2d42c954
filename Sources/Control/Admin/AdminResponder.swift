import Core
import Foundation

/// lvsd's side of lvsadm, without the engine: it owns the configuration as lvsadm changes
/// it and the statistics book, and answers control requests.
///
/// - `apply` runs the commands through `AdminEditor` (all or nothing), hands a changed
///   configuration to `install` (the engine's reconfiguration; if it refuses, the old one
///   stays and the client hears why), then performs the batch's `-Z`s on the book.
/// - `snapshot` asks `observe` for the live table with raw counters and answers it with
///   the counters since the last `-Z` and the estimated rates.
/// - `tick` must be called at least every two seconds so the rate estimators sample on time.
///
/// Requests and ticks are serialised by a lock; `install` and `observe` run under it.
public final class AdminResponder: @unchecked Sendable {
    public typealias Install = (DirectorConfig) -> AdminError?
    public typealias Observe = (_ includeConnections: Bool) -> AdminSnapshot

    private let lock = NSLock()
    private var config: DirectorConfig
    private var book = StatisticsBook()
    private let install: Install
    private let observe: Observe
    private let clock: () -> UInt64
    /// Re-reads the configuration file (lvsd's SIGHUP path); nil: this lvsd has none to read.
    private let reload: (@Sendable () -> AdminError?)?
    /// Renders the health checkers' state; nil: no checkers.
    private let health: (@Sendable () -> String)?
    /// Renders the VRRP instances; nil: none.
    private let vrrp: (@Sendable () -> String)?
    /// Starts, stops and lists the connection-sync daemons; nil: this lvsd has none.
    private let sync: (@Sendable (ControlRequest.Body) -> ControlResponse)?

    /// - Parameters:
    ///   - config: the configuration running now.
    ///   - install: makes a new configuration the running one, or says why not.
    ///   - observe: the live table with raw (never zeroed) counters.
    ///   - clock: nanoseconds of a monotonic clock.
    public init(config: DirectorConfig, install: @escaping Install, observe: @escaping Observe, clock: @escaping () -> UInt64,
                reload: (@Sendable () -> AdminError?)? = nil, health: (@Sendable () -> String)? = nil,
                vrrp: (@Sendable () -> String)? = nil,
                sync: (@Sendable (ControlRequest.Body) -> ControlResponse)? = nil) {
        self.reload = reload
        self.sync = sync
        self.health = health
        self.vrrp = vrrp
        self.config = config
        self.install = install
        self.observe = observe
        self.clock = clock
        book.tick(observe(false), now: clock())
    }

    /// The configuration lvsadm has built so far.
    public var configuration: DirectorConfig {
        lock.lock()
        defer { lock.unlock() }
        return config
    }

    public func handle(_ request: ControlRequest) -> ControlResponse {
        if case .health = request.body {
            return .text(health?() ?? "No health checks: they come from a keepalived.conf's checker blocks.\n")
        }
        if case .vrrp = request.body {
            return .text(vrrp?() ?? "No VRRP instances: they come from a keepalived.conf's vrrp_instance blocks.\n")
        }
        if case .reload = request.body {
            // Outside the lock: the reload comes back through `replaceConfiguration`.
            guard let reload else { return .failed(AdminError("lvsadm: this lvsd has no configuration file to reload", exitCode: 1)) }
            if let refusal = reload() { return .failed(refusal) }
            return .applied
        }
        switch request.body {
        case .startDaemon, .stopDaemon, .syncDaemons:
            // Outside the lock: the daemon changes no configuration.
            guard let sync else {
                if case .syncDaemons = request.body { return .syncDaemons([]) }
                return .failed(AdminError("lvsadm: this lvsd runs no connection sync", exitCode: 1))
            }
            return sync(request.body)
        default: break
        }
        lock.lock()
        defer { lock.unlock() }
        switch request.body {
        case .apply(let commands):
            let next: DirectorConfig
            do {
                next = try AdminEditor.apply(commands, to: config)
            } catch {
                return .failed(error)
            }
            if next != config {
                if let refusal = install(next) { return .failed(refusal) }
                config = next
            }
            // New services and real servers open their accounts now, so their rates count
            // from the moment they exist.
            let raw = observe(false)
            let now = clock()
            book.tick(raw, now: now)
            for case .zero(let key) in commands { book.zero(key, in: raw, now: now) }
            return .applied
        case .snapshot(let includeConnections):
            let raw = observe(includeConnections)
            book.tick(raw, now: clock())
            return .snapshot(book.present(raw))
        case .reload, .health, .vrrp, .startDaemon, .stopDaemon, .syncDaemons:
            return .applied  // handled above, before the lock
        }
    }

    /// Replaces the whole configuration (a reload of the configuration file): `install`
    /// first, and only if it accepts, the new one is what lvsadm edits from now on.
    public func replaceConfiguration(_ new: DirectorConfig) -> AdminError? {
        lock.lock()
        defer { lock.unlock() }
        if let refusal = install(new) { return refusal }
        config = new
        book.tick(observe(false), now: clock())
        return nil
    }

    /// Feeds the rate estimators with the live counters.
    public func tick() {
        lock.lock()
        defer { lock.unlock() }
        book.tick(observe(false), now: clock())
    }
}
