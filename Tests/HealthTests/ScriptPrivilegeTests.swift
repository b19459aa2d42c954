import Core
import Foundation
@testable import Health
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, "scripts and privileges as keepalived": who runs MISC_CHECK and notify scripts,
/// with what environment, and what enable_script_security refuses. Scripts live in a fresh
/// directory under /tmp; the only other user is `nobody`, which exists; nothing is created
/// system-wide. Tests that switch users need root and are skipped without it.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ScriptPrivilegeTests {
    /// A root-owned 0755 directory with `script` (0755) in it; removed by `cleanUp`.
    final class Scripts {
        let directory: String

        init() throws {
            var template = Array("/tmp/lvsd-scripts-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
            directory = String(cString: made)
            chmod(directory, 0o755)
        }

        func write(_ name: String, _ body: String, mode: mode_t = 0o755) throws -> String {
            let path = "\(directory)/\(name)"
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, mode)
            return path
        }

        func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
    }

    func misc(_ path: String, user: String? = nil, group: String? = nil, policy: ScriptPolicy = ScriptPolicy()) -> CheckOutcome {
        let config = CheckerConfig(target: CheckTarget(service: vip, realServer: rs1),
                                   spec: .misc(MiscCheckConfig(command: [path], user: user, group: group, timeout: .seconds(5))))
        return ProbeDriver.run(config.makeChecker(scripts: policy).makeProbe())
    }

    func reason(_ outcome: CheckOutcome) -> String? {
        if case .failure(let f) = outcome { return f.reason }
        return nil
    }

    /// lvsd's environment used to reach every script (LD_PRELOAD, IFS, secrets, a PATH of the
    /// operator's shell). Now: PATH fixed, LANG at most.
    @Test func scriptsGetACleanEnvironment() throws {
        let scripts = try Scripts()
        defer { scripts.cleanUp() }
        setenv("LVSD_TEST_LEAK", "secret", 1)
        defer { unsetenv("LVSD_TEST_LEAK") }
        let path = try scripts.write("env.sh", """
            [ -z "$LVSD_TEST_LEAK" ] || exit 3
            [ "$PATH" = "\(ScriptPolicy.path)" ] || exit 4
            [ -z "$LD_LIBRARY_PATH" ] || exit 5
            exit 0
            """)
        #expect(misc(path) == .success())
        #expect(ChildProcess.environment().allSatisfy { $0.hasPrefix("PATH=") || $0.hasPrefix("LANG=") })
    }

    @Test(.enabled(if: isRoot, "switching users needs root"))
    func scriptsRunAsTheirUserOrScriptUser() throws {
        let scripts = try Scripts()
        defer { scripts.cleanUp() }
        // Not root, and none of root's groups kept (setgroups to nobody's own).
        let asNobody = try scripts.write("nobody.sh", """
            [ "$(id -u)" = "65534" ] || exit 3
            for g in $(id -G); do [ "$g" = 0 ] && exit 4; done
            exit 0
            """)
        let asRoot = try scripts.write("root.sh", "[ \"$(id -u)\" = 0 ] || exit 3")
        #expect(misc(asNobody, user: "nobody") == .success(), "MISC_CHECK user")
        #expect(misc(asNobody, policy: ScriptPolicy(user: "nobody")) == .success(), "global_defs script_user")
        #expect(misc(asRoot, user: "root", policy: ScriptPolicy(user: "nobody")) == .success(), "the checker's user wins")
        // Without either: keepalived_script if it exists, else lvsd's user, with a warning at load.
        if case .failure = ChildProcess.lookUp(user: ScriptPolicy.defaultUser, group: nil) {
            #expect(misc(asRoot) == .success())
            var plan = HealthPlan(base: baseConfig())
            try plan.addChecker(CheckerConfig(target: CheckTarget(service: vip, realServer: rs1), spec: .misc(MiscCheckConfig(command: [asRoot]))))
            #expect(plan.scriptWarnings.contains { $0.hasPrefix("default user 'keepalived_script' for script execution does not exist") })
            plan.scripts.user = "nobody"
            #expect(!plan.scriptWarnings.contains { $0.hasPrefix("default user") })
        }
        #expect(reason(misc(asNobody, user: "no-such-user-lvsd")) == "unknown user no-such-user-lvsd")
    }

    /// keepalived's check_script_secure: a script that runs as root must not be replaceable by
    /// anyone else. With enable_script_security it is refused (the check fails); without, it
    /// runs and the load warns.
    @Test(.enabled(if: isRoot, "ownership and modes need root"))
    func enableScriptSecurityRefusesWritablePaths() throws {
        let scripts = try Scripts()
        defer { scripts.cleanUp() }
        let secure = ScriptPolicy(enforceSecurity: true)
        let safe = try scripts.write("safe.sh", "exit 0")
        #expect(misc(safe, policy: secure) == .success(), "root-owned 0755 under /tmp (sticky) is fine")

        // A directory anyone can write into: the script could be swapped for anything.
        let open = "\(scripts.directory)/open"
        mkdir(open, 0o777)
        chmod(open, 0o777)
        try ("#!/bin/sh\nexit 0\n").write(toFile: "\(open)/check.sh", atomically: false, encoding: .utf8)
        chmod("\(open)/check.sh", 0o755)
        #expect(reason(misc("\(open)/check.sh", policy: secure))
                == "refusing to run \(open)/check.sh as root (enable_script_security): \(open) is writable by everyone")
        #expect(misc("\(open)/check.sh") == .success(), "without enable_script_security it runs, as in keepalived")
        // The file itself writable by a non-root group.
        let groupWritable = try scripts.write("group.sh", "exit 0", mode: 0o775)
        chown(groupWritable, 0, 65534)
        #expect(reason(misc(groupWritable, policy: secure))?.hasSuffix("\(groupWritable) is writable by group 65534") == true)
        // Owned by someone else.
        let foreign = try scripts.write("foreign.sh", "exit 0")
        chown(foreign, 65534, 65534)
        #expect(reason(misc(foreign, policy: secure))?.hasSuffix("\(foreign) is owned by uid 65534, not root") == true)
        // Run as nobody, nothing to protect: keepalived checks only scripts that run as root.
        #expect(misc("\(open)/check.sh", user: "nobody", policy: secure) == .success())

        // The load-time audit says the same.
        var plan = HealthPlan(base: baseConfig())
        plan.services[0].realServers[0].notifyDown = ScriptCommand(["\(open)/check.sh"])
        #expect(plan.scriptWarnings.contains { $0.hasPrefix("unsafe permissions for script \(open)/check.sh, which runs as root") })
        plan.scripts.enforceSecurity = true
        #expect(plan.scriptWarnings.contains { $0 == "script \(open)/check.sh runs as root but \(open) is writable by everyone: refused (enable_script_security); its check fails" })
    }

    /// A failed setgroups used to be ignored (EPERM), so a script could run on with root's
    /// groups. Now any failed drop aborts the child before exec, and the reason comes back.
    @Test(.enabled(if: isRoot, "switching users needs root"))
    func failedPrivilegeDropAbortsWithAReason() throws {
        // More groups than the kernel allows (NGROUPS_MAX 65536): setgroups fails with EINVAL.
        let impossible = ChildProcess.Identity(uid: 65534, gid: 65534, groups: [gid_t](repeating: 65534, count: 70_000), name: "nobody")
        guard case .success(let child) = ChildProcess.spawn(path: "/bin/true", arguments: ["true"], identity: impossible) else {
            Issue.record("spawn failed")
            return
        }
        var exit: ChildProcess.Exit?
        for _ in 0..<500 where exit == nil {
            exit = child.reap()
            usleep(2_000)
        }
        #expect(exit == .exited(126))
        #expect(child.launchFailure == "not run: cannot set the supplementary groups of nobody (setgroups: invalid argument)")

        // A notify script nobody may not execute: the exec failure is the result line.
        let scripts = try Scripts()
        defer { scripts.cleanUp() }
        let hidden = "\(scripts.directory)/hidden"
        mkdir(hidden, 0o700)
        let path = "\(hidden)/notify.sh"
        try "#!/bin/sh\nexit 0\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o755)
        let runner = ScriptRunner(timeout: .seconds(5), policy: ScriptPolicy(user: "nobody"))
        #expect(runner.start(ScriptRequest(ScriptCommand([path]), reason: "notify_up"), now: .zero) == nil)
        var finished: [ScriptRunner.Finished] = []
        for _ in 0..<500 where finished.isEmpty {
            finished = runner.service(now: .zero)
            usleep(2_000)
        }
        #expect(finished.first?.result == "cannot execute \(path): permission denied")
        #expect(finished.first?.succeeded == false)
    }
}
