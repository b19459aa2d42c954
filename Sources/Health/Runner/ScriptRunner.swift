#if canImport(Glibc)
import Glibc
#endif

/// Notify scripts (notify_up, notify_down, quorum_up, quorum_down) in flight. keepalived starts
/// them and lets its SIGCHLD handler reap them (notify_exec); SwiftLVS also bounds them: after
/// the timeout the script's process group gets SIGTERM, 2 s later SIGKILL. Started and watched
/// from the checker loop, never waited for, so a hanging script cannot stall a check.
final class ScriptRunner {
    struct Finished {
        var request: ScriptRequest
        /// `exited with status 0`, `timed out after 10 s`, `cannot run ...`.
        var result: String
        var succeeded: Bool
    }

    private struct Running {
        var request: ScriptRequest
        var child: ChildProcess
        var deadline: Duration
        var terminating = false
        var killed = false
    }

    let timeout: Duration
    let policy: ScriptPolicy
    private var running: [Running] = []

    init(timeout: Duration, policy: ScriptPolicy = ScriptPolicy()) {
        self.timeout = timeout
        self.policy = policy
    }

    var isEmpty: Bool { running.isEmpty }

    /// Starts `request`; a start failure is reported as finished at once.
    func start(_ request: ScriptRequest, now: Duration) -> Finished? {
        switch ChildProcess.spawn(request.command, policy: policy) {
        case .failure(let f): return Finished(request: request, result: f.reason, succeeded: false)
        case .success(let child):
            running.append(Running(request: request, child: child, deadline: now + timeout))
            return nil
        }
    }

    /// Descriptors to poll (pidfds) and the earliest deadline; scripts without a pidfd ask to
    /// be looked at again within 20 ms.
    func pollEntries(now: Duration) -> (fds: [Int32], deadline: Duration?) {
        var fds: [Int32] = [], deadline: Duration?
        for r in running {
            var d = r.deadline
            if r.child.pidfd >= 0 { fds.append(r.child.pidfd) } else { d = min(d, now + .milliseconds(20)) }
            deadline = deadline.map { min($0, d) } ?? d
        }
        return (fds, deadline)
    }

    /// Reaps what exited and escalates what is overdue; returns the finished scripts.
    func service(now: Duration) -> [Finished] {
        var done: [Finished] = []
        var keep: [Running] = []
        for var r in running {
            if let exit = r.child.reap() {
                let result: String
                if let failure = r.child.launchFailure {
                    done.append(Finished(request: r.request, result: failure, succeeded: false))
                    continue
                }
                switch exit {
                case .exited(let status) where !r.terminating: result = "exited with status \(status)"
                case .signaled(let sig) where !r.terminating: result = "killed by signal \(sig)"
                default: result = "timed out after \(HealthModel.format(timeout))"
                }
                done.append(Finished(request: r.request, result: result, succeeded: exit == .exited(0) && !r.terminating))
                continue
            }
            if now >= r.deadline {
                if !r.terminating {
                    r.terminating = true
                    r.child.signalGroup(SIGTERM)
                    r.deadline = now + MiscProbe.killGrace
                } else if !r.killed {
                    r.killed = true
                    r.child.signalGroup(SIGKILL)
                    r.deadline = now + MiscProbe.killGrace
                } else {
                    done.append(Finished(request: r.request, result: "did not exit after SIGKILL", succeeded: false))
                    continue
                }
            }
            keep.append(r)
        }
        running = keep
        return done
    }

    /// Kills everything still running (the runner stops).
    func killAll() {
        running = []
    }
}
