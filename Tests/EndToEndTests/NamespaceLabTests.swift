import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The contract every end-to-end suite relies on when it builds its network with
/// `NamespaceLab`: what it starts is ended by PID even when it ignores SIGTERM, what those
/// processes left in the namespaces is ended too, and nothing of the lab outlives
/// `tearDown` — nor a build that failed half way.
@Suite(.serialized, .enabled(if: getuid() == 0, "NamespaceLabTests need root: they create network namespaces (CI runs as root)"))
struct NamespaceLabTests {
    static func listed(_ prefix: String) -> [String] {
        let out = (try? Command.run("/usr/sbin/ip", ["netns", "list"]).stdout) ?? ""
        return out.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }.filter { $0.hasPrefix(prefix) }
    }

    @Test func tearDownEndsWhatIgnoresSIGTERMAndWhatItLeftThenDeletesEverything() throws {
        let lab = try NamespaceLab(tag: "selftest")
        defer { lab.tearDown() }
        try lab.buildPair(("sa0", "02:00:c6:12:4e:01", "198.18.78.1/24"), ("sb0", "02:00:c6:12:4e:02", "198.18.78.2/24"))
        let a = lab.namespace("a"), b = lab.namespace("b")
        #expect(try lab.runChecked(in: b, ["/usr/sbin/ip", "-o", "link", "show", "sb0"]).contains("02:00:c6:12:4e:02"))
        #expect(try lab.runChecked(in: a, ["/usr/sbin/ip", "-o", "address", "show", "sa0"]).contains("198.18.78.1/24"))

        // The shell ignores SIGTERM and so does the sleep it forks (ignored signals survive exec).
        let stubborn = try lab.start(in: a, ["/bin/sh", "-c", "trap '' TERM; /bin/sleep 60; true"])
        let polite = try lab.start(in: b, ["/bin/sleep", "60"])
        var inA: [Int32] = []
        try lab.waitUntil("the shell's sleep runs in \(a)") {
            inA = Command.pids(in: a)
            return inA.count == 2
        }
        #expect(!lab.stop(stubborn, timeout: 0.5), "a process that ignores SIGTERM is killed after the wait")
        #expect(!stubborn.isRunning)
        let orphan = inA.filter { $0 != stubborn.pid }
        #expect(orphan.count == 1 && orphan.allSatisfy(Command.isRunning), "the shell's sleep outlived it: \(orphan)")

        lab.tearDown(grace: 1)
        #expect(!polite.isRunning)
        #expect(!orphan.contains(where: Command.isRunning), "tearDown ends what is left in the namespaces")
        #expect(Self.listed(lab.prefix).isEmpty, "namespaces left: \(Self.listed(lab.prefix))")
        #expect(!FileManager.default.fileExists(atPath: lab.directory.path))
    }

    @Test func aBuildThatFailsHalfWayLeavesNothing() throws {
        struct Halfway: Error {}
        let prefix = "lvst-\(getpid())-labselfhalf-"
        var pid: Int32 = 0
        do {
            _ = try NamespaceLab(tag: "selfhalf") { lab in
                #expect(lab.prefix == prefix)
                try lab.addNamespace("x")
                pid = try lab.start(in: lab.namespace("x"), ["/bin/sleep", "60"]).pid
                throw Halfway()
            }
            Issue.record("the build's error did not reach the caller")
        } catch is Halfway {}
        #expect(pid > 0 && !Command.isRunning(pid), "the process started before the failure is gone")
        #expect(Self.listed(prefix).isEmpty, "namespaces left: \(Self.listed(prefix))")
    }
}
