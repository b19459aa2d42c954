#if canImport(Glibc)
import Glibc
#endif

/// MISC_CHECK: runs `misc_path` and judges its exit status (keepalived check_misc.c
/// misc_check_thread, misc_check_child_thread):
/// - exit 0: up (with `misc_dynamic`, back to the configured weight);
/// - exit 2...255 with `misc_dynamic`: up with weight exit - 2;
/// - any other exit, or a signal: down.
/// After `misc_timeout` (default `delay_loop`) the script's process group gets SIGTERM, 2 s
/// later SIGKILL; a script ended that way has failed ("timed out").
public final class MiscChecker: Checker {
    public let config: CheckerConfig
    let misc: MiscCheckConfig
    let scripts: ScriptPolicy

    public init(config: CheckerConfig, misc: MiscCheckConfig, scripts: ScriptPolicy = ScriptPolicy()) {
        self.config = config
        self.misc = misc
        self.scripts = scripts
    }

    public func makeProbe() -> any Probe { MiscProbe(config: config, misc: misc, scripts: scripts) }
}

final class MiscProbe: Probe {
    private enum Phase {
        case running
        case terminating
        case killing
    }

    /// keepalived's grace between SIGTERM and SIGKILL, and after SIGKILL.
    static let killGrace: Duration = .seconds(2)
    /// Without a pidfd, how often to look for the exit.
    static let reapInterval: Duration = .milliseconds(20)

    private let config: CheckerConfig
    private let misc: MiscCheckConfig
    private let scripts: ScriptPolicy
    private var child: ChildProcess?
    private var phase = Phase.running
    private var deadline: Duration = .zero

    init(config: CheckerConfig, misc: MiscCheckConfig, scripts: ScriptPolicy) {
        self.config = config
        self.misc = misc
        self.scripts = scripts
    }

    private var program: String { misc.command.first ?? "" }
    private var timeout: Duration { misc.timeout ?? config.timing.delayLoop }

    func start(now: Duration) -> ProbeStep {
        switch ChildProcess.spawn(ScriptCommand(misc.command, user: misc.user, group: misc.group), policy: scripts) {
        case .failure(let f): return .done(.failure(CheckFailure(f.reason, subject: program)))
        case .success(let c): child = c
        }
        deadline = now + timeout
        return waitStep(now: now)
    }

    private func waitStep(now: Duration) -> ProbeStep {
        guard let child else { return .done(.failure(CheckFailure("no script running", subject: program))) }
        if child.pidfd >= 0 { return .wait(fd: child.pidfd, events: Int16(POLLIN), deadline: deadline) }
        return .wait(fd: -1, events: 0, deadline: min(deadline, now + Self.reapInterval))
    }

    func handle(_ event: ProbeEvent, now: Duration) -> ProbeStep {
        guard let child else { return .done(.failure(CheckFailure("no script running", subject: program))) }
        if let exit = child.reap() { return finish(exit) }
        guard now >= deadline else { return waitStep(now: now) }
        switch phase {
        case .running:
            phase = .terminating
            child.signalGroup(SIGTERM)
        case .terminating:
            phase = .killing
            child.signalGroup(SIGKILL)
        case .killing:
            self.child = nil
            return .done(.failure(CheckFailure("did not exit after SIGKILL", subject: program)))
        }
        deadline = now + Self.killGrace
        return waitStep(now: now)
    }

    private func finish(_ exit: ChildProcess.Exit) -> ProbeStep {
        let timedOut = phase != .running
        // A failed privilege drop or exec is a failed check with its reason, whatever the code.
        if let failure = child?.launchFailure {
            child = nil
            return .done(.failure(CheckFailure(failure, subject: program)))
        }
        child = nil
        switch exit {
        case .exited(0):
            return .done(.success())
        case .exited(let status) where misc.dynamic && status >= 2:
            return .done(.success(weight: Int64(status - 2)))
        case .exited(let status):
            if timedOut { return .done(.failure(CheckFailure("timed out after \(HealthModel.format(timeout))", subject: program))) }
            return .done(.failure(CheckFailure("exited with status \(status)", subject: program)))
        case .signaled(let signal):
            if timedOut { return .done(.failure(CheckFailure("timed out after \(HealthModel.format(timeout))", subject: program))) }
            return .done(.failure(CheckFailure("killed by signal \(signal)", subject: program)))
        }
    }

    func cancel() {
        child = nil
    }
}
