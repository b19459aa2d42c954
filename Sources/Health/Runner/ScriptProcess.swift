#if canImport(Glibc)
import Glibc
#endif

/// A script started from outside the checkers (VRRP's `vrrp_script` and notify scripts) with
/// the checkers' own fork/exec (`ChildProcess`: its own process group, stdio on /dev/null,
/// optionally another user), polled by the caller's loop so nothing waits on it.
public final class ScriptProcess {
    /// Why a script could not start: program not found, unknown user, fork failed.
    public struct StartFailure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// How a script ended.
    public enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        public var succeeded: Bool { self == .exited(0) }
    }

    private let child: ChildProcess

    private init(_ child: ChildProcess) { self.child = child }

    /// Starts `command` as `policy` says (its user, a clean environment, the path checks of
    /// `enable_script_security`), as the checkers' scripts start.
    public static func start(_ command: ScriptCommand, policy: ScriptPolicy = ScriptPolicy()) -> Result<ScriptProcess, StartFailure> {
        switch ChildProcess.spawn(command, policy: policy) {
        case .success(let child): .success(ScriptProcess(child))
        case .failure(let f): .failure(StartFailure(description: f.reason))
        }
    }

    public var pid: Int32 { child.pid }
    /// Readable once the script exits; -1 without pidfd support (then poll `outcome` on a timer).
    public var pidfd: Int32 { child.pidfd }

    /// The exit once the script is gone (waitpid WNOHANG); nil while it runs.
    public func outcome() -> Outcome? {
        switch child.reap() {
        case .exited(let s): .exited(s)
        case .signaled(let s): .signaled(s)
        case nil: nil
        }
    }

    /// Signals the script's whole process group.
    public func signal(_ number: Int32) { child.signalGroup(number) }
}
