#if canImport(Glibc)
import POSIX
import Glibc
#endif

/// keepalived's notify.c `check_script_secure` / `check_security`: may a script run with root's
/// privilege? Only if nobody but root can replace it: every component of its path, and of the
/// path it resolves to, is owned by root, and none is writable by a non-root group or by others
/// (a directory with the sticky bit, such as /tmp, may be world-writable: nobody can replace
/// another's entry in it).
enum ScriptSecurity {
    /// Whether running `path` as `uid`:`gid` needs the check: root runs it, or the file is
    /// set-uid root or set-gid root (it would run as root whoever starts it).
    static func needsProtection(path: String, uid: uid_t, gid: gid_t) -> Bool {
        if uid == 0 || gid == 0 { return true }
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let mode = UInt32(st.st_mode)
        return (st.st_uid == 0 && mode & UInt32(S_IXUSR) != 0 && mode & UInt32(S_ISUID) != 0)
            || (st.st_gid == 0 && mode & UInt32(S_IXGRP) != 0 && mode & UInt32(S_ISGID) != 0)
    }

    /// nil when `path` (absolute) and what it resolves to are safe; else why not, as a sentence.
    static func problem(with path: String) -> String? {
        if let problem = walk(path) { return problem }
        guard let resolved = realpath(path, nil) else {
            return "\(path) cannot be resolved: \(SystemCall.describe(errno))"
        }
        let real = String(cString: resolved)
        free(resolved)
        return real == path ? nil : walk(real)
    }

    /// Each prefix of `path` (`/`, `/usr`, `/usr/local`, ...), not following symbolic links.
    private static func walk(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "\(path) is not an absolute path" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var prefixes = ["/"]
        var current = ""
        for part in parts {
            current += "/" + part
            prefixes.append(current)
        }
        for (index, prefix) in prefixes.enumerated() {
            var st = stat()
            guard lstat(prefix, &st) == 0 else { return "\(prefix) cannot be examined: \(SystemCall.describe(errno))" }
            let mode = UInt32(st.st_mode), type = mode & UInt32(S_IFMT)
            let last = index == prefixes.count - 1
            let isDirectory = type == UInt32(S_IFDIR), isFile = type == UInt32(S_IFREG), isLink = type == UInt32(S_IFLNK)
            if !last && !isDirectory { return "\(prefix) on the script's path is not a directory" }
            if last && !isFile && !isLink { return "\(prefix) is not a regular file" }
            if st.st_uid != 0 { return "\(prefix) is owned by uid \(st.st_uid), not root" }
            // A link's own mode bits mean nothing; a sticky directory protects its entries.
            let guarded = isFile || (isDirectory && mode & UInt32(S_ISVTX) == 0)
            if guarded && ((st.st_gid != 0 && mode & UInt32(S_IWGRP) != 0) || mode & UInt32(S_IWOTH) != 0) {
                return "\(prefix) is writable by \(mode & UInt32(S_IWOTH) != 0 ? "everyone" : "group \(st.st_gid)")"
            }
        }
        return nil
    }
}

extension HealthPlan {
    /// Every script the plan may run: MISC_CHECK's and the notify and quorum hooks.
    public var scriptCommands: [ScriptCommand] {
        var out: [ScriptCommand] = []
        for s in services {
            out += [s.quorumUpScript, s.quorumDownScript].compactMap { $0 }
            for rs in s.realServers {
                out += [rs.notifyUp, rs.notifyDown].compactMap { $0 }
                for c in rs.checkers {
                    if case .misc(let misc) = c.spec { out.append(ScriptCommand(misc.command, user: misc.user, group: misc.group)) }
                }
            }
        }
        return out
    }

    /// What keepalived says at load about its scripts, for the same reasons: the default user
    /// missing (scripts then run as lvsd's user, root), an unknown user, and scripts that run
    /// as root from a path non-root can write (refused with enable_script_security, else run).
    public var scriptWarnings: [String] {
        let commands = scriptCommands
        guard !commands.isEmpty else { return [] }
        var out: [String] = []
        if scripts.user == nil && commands.contains(where: { $0.user == nil }),
           case .failure = ChildProcess.lookUp(user: ScriptPolicy.defaultUser, group: nil) {
            out.append("default user '\(ScriptPolicy.defaultUser)' for script execution does not exist - please create it or set global_defs script_user; "
                       + "scripts without their own user run as lvsd's user (\(geteuid() == 0 ? "root" : "uid \(geteuid())"))")
        }
        var seen = Set<[String]>()
        for command in commands where seen.insert([command.user ?? "", command.group ?? ""] + command.arguments.prefix(1)).inserted {
            guard let program = command.arguments.first, let path = ChildProcess.resolve(program) else {
                out.append("script \(command.arguments.first ?? "") not found or not executable; it will not run")
                continue
            }
            switch ChildProcess.runAs(command, policy: scripts) {
            case .failure(let f):
                out.append("script \(path): \(f.reason); it will not run")
            case .success(let id):
                guard ScriptSecurity.needsProtection(path: path, uid: id.uid, gid: id.gid), let problem = ScriptSecurity.problem(with: path) else { continue }
                out.append(scripts.enforceSecurity
                    ? "script \(path) runs as \(id.name) but \(problem): refused (enable_script_security); its check fails"
                    : "unsafe permissions for script \(path), which runs as \(id.name): \(problem); set enable_script_security to refuse it")
            }
        }
        return out
    }
}
