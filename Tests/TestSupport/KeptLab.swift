import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A lab that `lvsd lab ARGUMENTS --json --keep` built and left running, for the suites that
/// test lvsd inside `lvsd lab`'s own topology (Sources/Lab builds its namespaces, real
/// servers and director, `lvsl-<id>-*`). The run's last line is its JSON outcome; `tearDown`
/// stops the lab's lvsd by PID (SIGTERM, bounded wait, SIGKILL) and removes the lab with
/// `lvsd lab --teardown ID`, which ends whatever else still runs in its namespaces.
public struct KeptLab: Sendable {
    /// The built `lvsd` that made the lab.
    public let lvsd: String
    /// The lab's id: its namespaces are `lvsl-<id>-<role>`, its folder `$TMPDIR/lvsl-<id>`.
    public let id: String
    /// The JSON outcome line, for each suite to decode the fields it reads.
    public let outcome: Data
    public let failed: Int
    public let stderr: String

    /// Runs `lvsd lab ARGUMENTS --json --keep` with `environment`. Records an issue and throws
    /// when it printed no outcome (a lab that failed before printing removed itself).
    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        lvsd = try BuiltExecutable.lvsd()
        let run = try Command.run(lvsd, ["lab"] + arguments + ["--json", "--keep"], environment: environment)
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        struct Outcome: Decodable { let id: String; let failed: Int }
        guard let decoded = try? JSONDecoder().decode(Outcome.self, from: Data(line.utf8)) else {
            Issue.record("no JSON from lvsd lab \(arguments.joined(separator: " ")) (exit \(run.status)):\n\(run.stderr)")
            throw CancellationError()
        }
        id = decoded.id
        failed = decoded.failed
        outcome = Data(line.utf8)
        stderr = run.stderr
    }

    public func namespace(_ role: String) -> String { "lvsl-\(id)-\(role)" }
    public var directory: String { (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/lvsl-\(id)" }

    /// The processes in the director's namespace: the lab's lvsd alone, when all is well.
    public var directorProcesses: [Int32] { Command.pids(in: namespace("director")) }

    /// SIGTERM to `pid`; waits up to `seconds` for it to exit, then SIGKILL. Whether it
    /// exited by itself.
    @discardableResult
    public static func stop(_ pid: Int32, seconds: Double) -> Bool {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && Command.isRunning(pid) { usleep(50_000) }
        guard Command.isRunning(pid) else { return true }
        kill(pid, SIGKILL)
        return false
    }

    /// Stops every process in the director's namespace (SIGTERM, up to `seconds`, SIGKILL) and
    /// removes the lab: its namespaces, what still runs in them, its folder.
    public func tearDown(seconds: Double = 10) {
        for pid in directorProcesses { Self.stop(pid, seconds: seconds) }
        _ = try? Command.run(lvsd, ["lab", "--teardown", id])
    }
}
