import Core
import Dispatch
import POSIX
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs every checker of a plan on its own thread, off the packet path, and reports what
/// changed through a callback: transition lines, and the desired `DirectorConfig` to apply with
/// `Director.reconfigure` whenever a real server enters or leaves the table or changes weight.
///
/// One thread, one poll(2) loop, like keepalived's checker process: every probe is a
/// non-blocking state machine, so hundreds of checks (and their timeouts) run side by side and
/// a dead server costs a descriptor and a timer, not a thread. Checks are scheduled on each
/// checker's grid (`CheckSchedule`), so they do not drift. Notify scripts run as children
/// watched through pidfds, with a timeout, never waited for.
///
/// The callback runs on the runner's thread: keep it short (hand the config to the engine,
/// print the lines).
public final class HealthRunner: Sendable {
    public struct Options: Sendable {
        /// How long a notify script may run before its process group is terminated.
        public var notifyTimeout: Duration
        /// Seed for the warmup offsets; nil draws one at random.
        public var seed: UInt64?
        /// Runs first on the runner's thread, e.g. to enter a network namespace (setns moves
        /// only the calling thread, and the probes' sockets and scripts inherit it).
        public var threadSetup: (@Sendable () throws -> Void)?
        /// Called on the runner's thread after every check (timing metrics, tests).
        public var checkObserver: (@Sendable (CheckRun) -> Void)?

        public init(notifyTimeout: Duration = .seconds(10), seed: UInt64? = nil, threadSetup: (@Sendable () throws -> Void)? = nil,
                    checkObserver: (@Sendable (CheckRun) -> Void)? = nil) {
            self.notifyTimeout = notifyTimeout
            self.seed = seed
            self.threadSetup = threadSetup
            self.checkObserver = checkObserver
        }
    }

    /// One finished check, on the runner's clock.
    public struct CheckRun: Sendable {
        public var checker: CheckerID
        /// When it was due and when it started (the loop's lateness is `started - due`).
        public var due: Duration
        public var started: Duration
        public var finished: Duration
        public var outcome: CheckOutcome
    }

    /// What one turn of the loop produced.
    public struct Update: Sendable {
        /// When, on the runner's clock (since it was created).
        public var time: Duration
        public var events: [HealthEvent]
        /// Set when the desired table changed: apply it with `Director.reconfigure`.
        public var desired: DirectorConfig?
        /// Notify scripts started or finished: `notify_down for 198.18.1.12:80 of VS ...: exited with status 0`.
        public var scripts: [String]
    }

    private struct Shared: Sendable {
        var status: [ServiceHealth] = []
        /// The model's state after the last turn, for the next runner (`carryOver()`).
        var carryOver = HealthCarryOver()
        /// Whether stopping runs keepalived's shutdown (`omega` scripts); a reload does not.
        var shutdown = true
        var stopRequested = false
        var running = false
        var thread: pthread_t?
    }

    public let plan: HealthPlan
    public let base: DirectorConfig
    public let warnings: [String]
    /// The state the previous runner left (reload, lvsadm edit); empty at boot.
    public let inherited: HealthCarryOver
    /// The table to run before the first check finishes: `base` with the inherited verdicts
    /// (and `alpha`) applied. Apply it at once so a reload never puts a DOWN server back.
    public let initialDesired: DirectorConfig
    /// How many of the plan's checkers took a verdict from `inherited`.
    public let inheritedCheckers: Int
    public let clock = MonotonicClock()
    private let options: Options
    private let onUpdate: @Sendable (Update) -> Void
    private let shared = Mutex(Shared())
    /// The loop's wake-up: stop() signals it, the loop polls it.
    private let wake = SelfPipe()

    /// Validates `plan` (every checker usable, every real server in `base`).
    public init(plan: HealthPlan, base: DirectorConfig, inheriting inherited: HealthCarryOver = HealthCarryOver(),
                options: Options = Options(), onUpdate: @escaping @Sendable (Update) -> Void) throws(HealthConfigError) {
        try HealthRunner.validate(plan: plan, base: base)
        self.plan = plan
        self.base = base
        self.warnings = plan.normalized().warnings
        self.inherited = inherited
        var model = HealthModel(plan: plan)
        _ = model.start(inheriting: inherited)
        self.initialDesired = model.desiredConfig(from: base)
        self.inheritedCheckers = model.carryOverKeys.reduce(0) { $0 + (inherited.checkers[$1] == nil ? 0 : 1) }
        self.options = options
        self.onUpdate = onUpdate
        guard wake.isValid else { throw HealthConfigError("cannot create the health runner's wake-up pipe: \(SystemCall.describe(errno))") }
    }

    /// What `init` refuses, without starting anything: the daemon asks before it swaps a
    /// reloaded configuration in, so a plan that cannot run refuses the reload.
    public static func validate(plan: HealthPlan, base: DirectorConfig) throws(HealthConfigError) {
        var problems = plan.problems
        for s in plan.services {
            guard let service = base.services.first(where: { $0.key == s.key }) else {
                problems.append("VS \(s.key) has health checks but is not in the configuration")
                continue
            }
            for rs in s.realServers where !service.realServers.contains(where: { $0.endpoint == rs.endpoint }) {
                problems.append("real server \(rs.endpoint) of VS \(s.key) has health checks but is not in the configuration")
            }
        }
        guard problems.isEmpty else { throw HealthConfigError(problems.joined(separator: "; ")) }
    }

    deinit {
        stop()
    }

    /// The health of every service now (updated after each turn of the loop).
    public func status() -> [ServiceHealth] { shared.withLock { $0.status } }

    public var isRunning: Bool { shared.withLock { $0.running } }

    /// The checkers' verdicts as of the last turn, for the runner that replaces this one.
    public func carryOver() -> HealthCarryOver { shared.withLock { $0.carryOver } }

    /// Starts the checker thread; throws if `threadSetup` fails (the thread then exits).
    public func start() throws(HealthConfigError) {
        try shared.withLock { (s: inout Shared) throws(HealthConfigError) in
            guard !s.running else { throw HealthConfigError("the health runner is already running") }
            s.running = true
            s.stopRequested = false
        }
        let gate = DispatchSemaphore(value: 0)
        let setupError = Mutex<String?>(nil)
        let box = Unmanaged.passRetained(ThreadBody { [self] in
            HealthSignals.blockBrokenPipeOnCurrentThread()
            do {
                try options.threadSetup?()
            } catch {
                setupError.withLock { $0 = "\(error)" }
                gate.signal()
                return
            }
            gate.signal()
            loop()
        })
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            // Safety: `raw` is the retained ThreadBody passed below, released here exactly once.
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        guard created == 0 else {
            box.release()
            shared.withLock { $0.running = false }
            throw HealthConfigError("cannot start the health checker thread: \(SystemCall.describe(created))")
        }
        gate.wait()
        if let message = setupError.withLock({ $0 }) {
            pthread_join(thread, nil)
            shared.withLock { $0.running = false }
            throw HealthConfigError("health checker thread setup failed: \(message)")
        }
        shared.withLock { $0.thread = thread }
    }

    /// Stops the checks: in-flight probes are abandoned, `omega` notify scripts run (bounded by
    /// the notify timeout), the thread exits. Safe to call twice.
    ///
    /// `shutdown: false` hands over instead (a reload, an lvsadm edit): no shutdown lines, no
    /// `omega` scripts, and `carryOver()` keeps the verdicts for the next runner.
    public func stop(shutdown: Bool = true) {
        let thread: pthread_t? = shared.withLock { s in
            s.stopRequested = true
            s.shutdown = s.shutdown && shutdown
            let t = s.thread
            s.thread = nil
            return t
        }
        wake.signal()
        if let thread { pthread_join(thread, nil) }
        shared.withLock { $0.running = false }
    }

    // MARK: The loop

    private struct InFlight {
        var probe: any Probe
        var fd: Int32
        var events: Int16
        var deadline: Duration
        var due: Duration
        var started: Duration
    }

    private func loop() {
        var model = HealthModel(plan: plan, start: clock.now, seed: options.seed ?? UInt64.random(in: 0 ... .max))
        let inherited = self.inherited
        let checkers = model.checkerConfigs.map { $0.makeChecker(scripts: plan.scripts) }
        let scripts = ScriptRunner(timeout: options.notifyTimeout, policy: plan.scripts)
        var due = DueQueue()
        var inFlight: [Int: InFlight] = [:]
        var pending = Update(time: clock.now, events: [], desired: nil, scripts: [])
        var desiredChanged = false
        var statusDirty = true

        func absorb(_ report: HealthReport, now: Duration) {
            pending.events += report.events
            desiredChanged = desiredChanged || report.desiredChanged
            for request in report.scripts {
                pending.scripts.append("\(request.reason): running \(request.command)")
                if let failed = scripts.start(request, now: now) {
                    pending.scripts.append("\(request.reason): \(failed.result)")
                }
            }
        }

        func apply(_ step: ProbeStep, probe: any Probe, id: Int, dueAt: Duration, started: Duration, now: Duration) {
            switch step {
            case .wait(let fd, let events, let deadline):
                inFlight[id] = InFlight(probe: probe, fd: fd, events: events, deadline: deadline, due: dueAt, started: started)
            case .done(let outcome):
                inFlight[id] = nil
                statusDirty = true
                options.checkObserver?(CheckRun(checker: CheckerID(id), due: dueAt, started: started, finished: now, outcome: outcome))
                let report = model.record(outcome, for: CheckerID(id), at: now, begun: started)
                absorb(report, now: now)
                due.push(id, at: report.nextRun ?? now + model.checkerConfigs[id].timing.delayLoop)
            }
        }

        func flush(now: Duration) {
            for finished in scripts.service(now: now) {
                pending.scripts.append("\(finished.request.reason): \(finished.result)")
            }
            if statusDirty {
                let status = model.status, carryOver = model.carryOver
                shared.withLock {
                    $0.status = status
                    $0.carryOver = carryOver
                }
                statusDirty = false
            }
            guard !pending.events.isEmpty || !pending.scripts.isEmpty || desiredChanged else { return }
            pending.time = now
            if desiredChanged { pending.desired = model.desiredConfig(from: base) }
            onUpdate(pending)
            pending = Update(time: now, events: [], desired: nil, scripts: [])
            desiredChanged = false
        }

        absorb(model.start(inheriting: inherited), now: clock.now)
        for id in model.checkerConfigs.indices { due.push(id, at: model.firstRun(of: CheckerID(id))) }
        flush(now: clock.now)

        var fds: [pollfd] = []
        var owners: [Int] = []
        while !shared.withLock({ $0.stopRequested }) {
            var now = clock.now
            while let (at, id) = due.popDue(now) {
                let probe = checkers[id].makeProbe()
                apply(probe.start(now: now), probe: probe, id: id, dueAt: at, started: now, now: clock.now)
                now = clock.now
            }
            for (id, flight) in inFlight where flight.deadline <= now {
                apply(flight.probe.handle(.timedOut, now: now), probe: flight.probe, id: id, dueAt: flight.due, started: flight.started, now: now)
            }
            flush(now: now)

            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0))
            owners.append(-1)
            var wakeAt = due.next
            for (id, flight) in inFlight {
                wakeAt = wakeAt.map { min($0, flight.deadline) } ?? flight.deadline
                if flight.fd >= 0 {
                    fds.append(pollfd(fd: flight.fd, events: flight.events, revents: 0))
                    owners.append(id)
                }
            }
            let (scriptFDs, scriptDeadline) = scripts.pollEntries(now: now)
            for fd in scriptFDs {
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                owners.append(-2)
            }
            if let d = scriptDeadline { wakeAt = wakeAt.map { min($0, d) } ?? d }
            var timeoutMS: Int32 = 1000
            if let wakeAt {
                let ns = max(0, CheckSchedule.nanoseconds(wakeAt - now))
                timeoutMS = Int32(clamping: min(1000, (ns + 999_999) / 1_000_000))
            }
            let n = poll(&fds, nfds_t(fds.count), timeoutMS)
            guard n > 0 else { continue }
            now = clock.now
            for (k, pfd) in fds.enumerated() where pfd.revents != 0 {
                let id = owners[k]
                if id == -1 {
                    wake.clear()
                } else if id >= 0, let flight = inFlight[id], flight.fd == pfd.fd {
                    apply(flight.probe.handle(.ready(pfd.revents), now: now), probe: flight.probe, id: id,
                          dueAt: flight.due, started: flight.started, now: now)
                }
            }
            flush(now: now)
        }

        // Stopping: abandon probes, run omega notifications, bounded.
        for (_, flight) in inFlight { flight.probe.cancel() }
        inFlight.removeAll()
        let final = model.carryOver
        guard shared.withLock({ $0.shutdown }) else {
            shared.withLock { $0.carryOver = final }
            scripts.killAll()
            return
        }
        let stopStart = clock.now
        absorb(model.shutdown(), now: stopStart)
        statusDirty = true
        while !scripts.isEmpty && clock.now - stopStart < options.notifyTimeout + .seconds(5) {
            let (scriptFDs, _) = scripts.pollEntries(now: clock.now)
            var pfds = scriptFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&pfds, nfds_t(pfds.count), 20)
            for finished in scripts.service(now: clock.now) {
                pending.scripts.append("\(finished.request.reason): \(finished.result)")
            }
        }
        scripts.killAll()
        desiredChanged = false
        flush(now: clock.now)
    }
}

/// The closure a pthread runs (pthread_create takes a C function and one pointer).
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
