import CHealth
#if canImport(Glibc)
import Glibc
import POSIX
#endif

/// A script started for MISC_CHECK or a notify hook: its own process group, stdio on
/// /dev/null, a clean environment, the user `ScriptPolicy` picks (keepalived's
/// system_call_script). Exit is watched through a pidfd the loop polls, so waiting never blocks
/// the checker thread.
final class ChildProcess {
    enum Exit: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// The uid, gid and groups a script runs with, and the name to say it with.
    struct Identity: Equatable {
        var uid: uid_t
        var gid: gid_t
        var groups: [gid_t]
        var name: String
    }

    let pid: pid_t
    /// Readable when the child exits; -1 without pidfd support (then poll `reap()` on a timer).
    let pidfd: Int32
    /// The error pipe's read end (CHealth.h): what the child says if it gave up before exec.
    private let errfd: Int32
    private(set) var exit: Exit?
    /// Why the script never ran (a privilege drop or exec failed), read once the child exited.
    private(set) var launchFailure: String?
    private let program: String
    private let identity: Identity?

    private init(pid: pid_t, pidfd: Int32, errfd: Int32, program: String, identity: Identity?) {
        self.pid = pid
        self.pidfd = pidfd
        self.errfd = errfd
        self.program = program
        self.identity = identity
    }

    /// Starts `command` under `policy`; a sentence on failure (program not found, unknown user,
    /// insecure path under enable_script_security, fork failed).
    static func spawn(_ command: ScriptCommand, policy: ScriptPolicy = ScriptPolicy()) -> Result<ChildProcess, CheckFailure> {
        guard let program = command.arguments.first, !program.isEmpty else { return .failure(CheckFailure("the script is empty")) }
        guard let path = resolve(program) else {
            return .failure(CheckFailure("cannot run \(program): not found or not executable"))
        }
        let identity: Identity
        switch runAs(command, policy: policy) {
        case .success(let v): identity = v
        case .failure(let f): return .failure(f)
        }
        if policy.enforceSecurity && ScriptSecurity.needsProtection(path: path, uid: identity.uid, gid: identity.gid),
           let problem = ScriptSecurity.problem(with: path) {
            return .failure(CheckFailure("refusing to run \(path) as \(identity.name) (enable_script_security): \(problem)"))
        }
        return spawn(path: path, arguments: command.arguments, identity: identity)
    }

    /// Starts `path` as `identity` exactly (the tests give impossible groups to see a failed drop).
    static func spawn(path: String, arguments: [String], identity: Identity?) -> Result<ChildProcess, CheckFailure> {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        if argv.isEmpty { argv.append(nil) }
        free(argv[0])
        argv[0] = strdup(path)
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment().map { strdup($0) }
        envp.append(nil)
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        // Changing ids needs root; as someone else, only "stay who we are" can work, and then
        // nothing needs setting (a failed drop would abort the child, as it should).
        let setIDs = identity.map { geteuid() == 0 || $0.uid != geteuid() || $0.gid != getegid() } ?? false
        var pidfd: Int32 = -1, errfd: Int32 = -1
        let groups = identity?.groups ?? []
        let pid = groups.withUnsafeBufferPointer { g in
            lvs_hc_spawn(path, &argv, &envp, setIDs ? 1 : 0, identity?.uid ?? 0, identity?.gid ?? 0,
                         g.baseAddress, Int32(clamping: g.count), &pidfd, &errfd)
        }
        guard pid > 0 else { return .failure(CheckFailure("cannot start \(path): \(SystemCall.describe(errno))")) }
        return .success(ChildProcess(pid: pid, pidfd: pidfd, errfd: errfd, program: path, identity: identity))
    }

    /// The clean environment: a fixed PATH, and LANG when lvsd has one.
    static func environment() -> [String] {
        var env = ["PATH=\(ScriptPolicy.path)"]
        if let lang = getenv("LANG") { env.append("LANG=\(String(cString: lang))") }
        return env
    }

    /// Who runs `command`: its own user, `script_user`, `keepalived_script` if it exists, or lvsd's user.
    static func runAs(_ command: ScriptCommand, policy: ScriptPolicy) -> Result<Identity, CheckFailure> {
        if command.user != nil || command.group != nil { return lookUp(user: command.user, group: command.group) }
        if policy.user != nil || policy.group != nil { return lookUp(user: policy.user, group: policy.group) }
        if case .success(let v) = lookUp(user: ScriptPolicy.defaultUser, group: nil) { return .success(v) }
        return lookUp(user: nil, group: nil)
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
            launchFailure = readLaunchFailure()
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
        if errfd >= 0 { close(errfd) }
    }

    /// The child's report, if it wrote one before exiting (the pipe is at EOF otherwise).
    private func readLaunchFailure() -> String? {
        guard errfd >= 0 else { return nil }
        var failure = lvs_hc_spawn_failure()
        let n = withUnsafeMutableBytes(of: &failure) { read(errfd, $0.baseAddress, $0.count) }
        guard n == MemoryLayout<lvs_hc_spawn_failure>.size else { return nil }
        let who = identity?.name ?? "lvsd's user"
        let why = SystemCall.describe(failure.error)
        switch Int(failure.step) {
        case Int(LVS_HC_STEP_SETGROUPS): return "not run: cannot set the supplementary groups of \(who) (setgroups: \(why))"
        case Int(LVS_HC_STEP_SETGID): return "not run: cannot switch to the group of \(who) (setgid: \(why))"
        case Int(LVS_HC_STEP_SETUID): return "not run: cannot switch to user \(who) (setuid: \(why))"
        default: return "cannot execute \(program): \(why)"
        }
    }

    /// An absolute or relative path is used as given; a bare name is looked up in PATH.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        // The scripts' PATH, not lvsd's: whoever started lvsd must not choose what runs as root.
        for dir in ScriptPolicy.path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// uid, gid and supplementary groups of `user` (name or number), with `group` overriding
    /// the primary group (keepalived set_script_uid_gid).
    static func lookUp(user: String?, group: String?) -> Result<Identity, CheckFailure> {
        var uid = geteuid(), gid = getegid()
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
        if name == nil && user == nil {
            // lvsd's own user: its name, for sentences and for its groups.
            var pw = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16_384)
            getpwuid_r(uid, &pw, &buffer, buffer.count, &result)
            if result != nil { name = String(cString: pw.pw_name) }
        }
        var groups: [gid_t] = [gid]
        if let name {
            var count: Int32 = 64
            var list = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, gid, &list, &count) < 0 {
                list = [gid_t](repeating: 0, count: Int(max(count, 0)))
                _ = getgrouplist(name, gid, &list, &count)
            }
            groups = Array(list.prefix(Int(max(count, 0))))
        }
        return .success(Identity(uid: uid, gid: gid, groups: groups, name: name ?? (user ?? "uid \(uid)")))
    }
}
