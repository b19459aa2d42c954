import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the lab's helper programs (`ip`, `ethtool`, `curl`, `python3`, lvsd itself):
/// short commands to completion with their output, long-running ones in the background by
/// PID. Every process the lab starts is remembered so cleanup ends exactly those.
public final class LabShell: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let command: [String]
        let status: Int32
        let output: String
        var description: String {
            "'\(command.joined(separator: " "))' exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }

    /// Prints each command before running it (`--verbose`).
    public var verbose = false
    /// Set in the environment of every process this shell starts (`LVSD_LAB=<id>`), so a
    /// process that outlived its namespace can still be found (`LabNetwork.taggedProcesses`).
    public var tag: String?
    static let tagVariable = "LVSD_LAB"
    private let lock = NSLock()
    private var background: [Int32: Process] = [:]
    private var order: [Int32] = []

    public init() {}

    /// The full path of a program, searched in PATH and the sbin directories (`ip` and
    /// `ethtool` live in /usr/sbin, which a non-login PATH may lack).
    static func which(_ program: String) -> String? {
        if program.hasPrefix("/") { return program }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private var closed = false

    /// Refuses every later command inside a namespace (`run(in:)`, `start(in:)`); plain `ip`
    /// commands still run. Cleanup calls it first, so a run interrupted mid-phase cannot start
    /// a process into namespaces that are being deleted.
    func close() { lock.withLock { closed = true } }

    private func checkOpen(_ argv: [String]) throws {
        guard !lock.withLock({ closed }) else {
            throw Failure(command: argv, status: -1, output: "the lab is being removed; not started")
        }
    }

    private func process(_ argv: [String]) throws -> Process {
        guard let executable = Self.which(argv[0]) else {
            throw Failure(command: argv, status: 127, output: "\(argv[0]) not found; run 'bash Scripts/install-deps.sh'")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = Array(argv.dropFirst())
        if let tag {
            var environment = ProcessInfo.processInfo.environment
            environment[Self.tagVariable] = tag
            p.environment = environment
        }
        return p
    }

    /// Runs `argv` to completion; returns status and combined output.
    @discardableResult
    public func run(_ argv: [String], check: Bool = true) throws -> (status: Int32, output: String) {
        if verbose { FileHandle.standardError.write(Data("+ \(argv.joined(separator: " "))\n".utf8)) }
        let p = try process(argv)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        if check && p.terminationStatus != 0 {
            throw Failure(command: argv, status: p.terminationStatus, output: output)
        }
        return (p.terminationStatus, output)
    }

    /// `ip netns exec NS argv...`, to completion.
    @discardableResult
    func run(in namespace: String, _ argv: [String], check: Bool = true) throws -> (status: Int32, output: String) {
        try checkOpen(argv)
        return try run(["ip", "netns", "exec", namespace] + argv, check: check)
    }

    /// Starts `argv` inside `namespace` in the background, output appended to `log`. `ip
    /// netns exec` execs the program, so the PID returned is the program's own.
    func start(in namespace: String, _ argv: [String], log: String) throws -> Int32 {
        try checkOpen(argv)
        let full = ["ip", "netns", "exec", namespace] + argv
        if verbose { FileHandle.standardError.write(Data("+ \(full.joined(separator: " ")) >\(log) &\n".utf8)) }
        let p = try process(full)
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            throw Failure(command: full, status: -1, output: "cannot create its log file \(log)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? handle.close()
        let pid = p.processIdentifier
        lock.withLock { background[pid] = p; order.append(pid) }
        return pid
    }

    /// Whether a background process the lab started is still running (Foundation reaps it).
    func isRunning(_ pid: Int32) -> Bool {
        lock.withLock { background[pid]?.isRunning ?? false }
    }

    /// Sends `signal` to one process the lab started and waits up to `timeout` seconds for it
    /// to exit, then SIGKILLs it. Returns whether it had to be killed.
    @discardableResult
    func stop(_ pid: Int32, signal: Int32 = SIGTERM, timeout: Double = 5) -> Bool {
        guard isRunning(pid), kill(pid, signal) == 0 else { forget(pid); return false }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !isRunning(pid) { forget(pid); return false }
            usleep(20_000)
        }
        if isRunning(pid) { kill(pid, SIGKILL) }
        let process = lock.withLock { background[pid] }
        process?.waitUntilExit()
        forget(pid)
        return true
    }

    private func forget(_ pid: Int32) {
        lock.withLock { background[pid] = nil; order.removeAll { $0 == pid } }
    }

    /// Every background process still remembered.
    var running: [Int32] { lock.withLock { order } }

    /// Stops every background process the lab started (the newest first).
    func stopAll(timeout: Double = 3) {
        for pid in running.reversed() { stop(pid, timeout: timeout) }
    }
}
