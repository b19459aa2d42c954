import CHealth
#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// A script started for MISC_CHECK or a notify hook: its own process group, stdio on
/// /dev/null, optionally another user (keepalived's system_call_script). Exit is watched through
/// a pidfd the loop polls, so waiting never blocks the checker thread.
final class ChildProcess {
    enum Exit: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    /// Readable when the child exits; -1 without pidfd support (then poll `reap()` on a timer).
    let pidfd: Int32
    private(set) var exit: Exit?

    private init(pid: pid_t, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// Starts `command`; a sentence on failure (program not found, unknown user, fork failed).
    static func spawn(_ command: ScriptCommand) -> Result<ChildProcess, CheckFailure> {
        guard let program = command.arguments.first, !program.isEmpty else { return .failure(CheckFailure("the script is empty")) }
        guard let path = resolve(program) else {
            return .failure(CheckFailure("cannot run \(program): not found or not executable"))
        }
        var ids: (uid: uid_t, gid: gid_t, groups: [gid_t])?
        if command.user != nil || command.group != nil {
            switch lookUp(user: command.user, group: command.group) {
            case .success(let v): ids = v
            case .failure(let f): return .failure(f)
            }
        }
        var argv: [UnsafeMutablePointer<CChar>?] = command.arguments.map { strdup($0) }
        argv[0] = strdup(path)
        argv.append(nil)
        defer { for p in argv { free(p) } }
        var pidfd: Int32 = -1
        let groups = ids?.groups ?? []
        let pid = groups.withUnsafeBufferPointer { g in
            lvs_hc_spawn(path, &argv, environ, ids == nil ? 0 : 1, ids?.uid ?? 0, ids?.gid ?? 0,
                         g.baseAddress, Int32(g.count), &pidfd)
        }
        guard pid > 0 else { return .failure(CheckFailure("cannot start \(program): \(SystemCall.describe(errno))")) }
        return .success(ChildProcess(pid: pid, pidfd: pidfd))
    }

    /// waitpid(WNOHANG): the exit once the child is gone.
    @discardableResult
    func reap() -> Exit? {
        if let exit { return exit }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            if status & 0x7F == 0 {
                exit = .exited((status >> 8) & 0xFF)
            } else {
                exit = .signaled(status & 0x7F)
            }
        } else if r < 0 && errno == ECHILD {
            // Someone else reaped it: the status is lost, count it as a failure.
            exit = .signaled(0)
        }
        return exit
    }

    /// Signals the whole process group (keepalived kills -pid), so helpers the script started go too.
    func signalGroup(_ signal: Int32) {
        guard exit == nil else { return }
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    deinit {
        if exit == nil {
            signalGroup(SIGKILL)
            // Bounded: SIGKILL ends it within milliseconds; never hang the loop on a stuck child.
            for _ in 0..<100 where reap() == nil { usleep(1_000) }
        }
        if pidfd >= 0 { close(pidfd) }
    }

    /// An absolute or relative path is used as given; a bare name is looked up in PATH.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// uid, gid and supplementary groups of `user` (name or number), with `group` overriding
    /// the primary group (keepalived set_script_uid_gid).
    static func lookUp(user: String?, group: String?) -> Result<(uid: uid_t, gid: gid_t, groups: [gid_t]), CheckFailure> {
        var uid = getuid(), gid = getgid()
        var name: String?
        if let user {
            var pw = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16_384)
            if let number = UInt32(user) {
                getpwuid_r(number, &pw, &buffer, buffer.count, &result)
                uid = number
                if result != nil { gid = pw.pw_gid; name = String(cString: pw.pw_name) }
                else { gid = number }
            } else {
                getpwnam_r(user, &pw, &buffer, buffer.count, &result)
                guard result != nil else { return .failure(CheckFailure("unknown user \(user)")) }
                uid = pw.pw_uid
                gid = pw.pw_gid
                name = user
            }
        }
        if let group {
            if let number = UInt32(group) {
                gid = number
            } else {
                var gr = Glibc.group()
                var result: UnsafeMutablePointer<Glibc.group>?
                var buffer = [CChar](repeating: 0, count: 16_384)
                getgrnam_r(group, &gr, &buffer, buffer.count, &result)
                guard result != nil else { return .failure(CheckFailure("unknown group \(group)")) }
                gid = gr.gr_gid
            }
        }
        var groups: [gid_t] = [gid]
        if let name {
            var count: Int32 = 64
            var list = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, gid, &list, &count) < 0 {
                list = [gid_t](repeating: 0, count: Int(count))
                _ = getgrouplist(name, gid, &list, &count)
            }
            groups = Array(list.prefix(Int(max(count, 0))))
        }
        return .success((uid, gid, groups))
    }
}
