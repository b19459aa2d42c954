import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `lvsd lab` run: builds the plan's network, starts the real servers and the director,
/// sends the requests, and takes everything down (also on Ctrl-C).
final class LabRun: @unchecked Sendable {
    let plan: LabPlan
    let shell: LabShell
    let engine: String
    let workers: Int
    let pinNeighbours: Bool
    let quiet: Bool
    let directory: String
    private var directorPID: Int32?
    private var signalSources: [DispatchSourceSignal] = []
    private let cleanupLock = NSLock()
    private var cleanedUp = false

    init(plan: LabPlan, shell: LabShell, engine: String, workers: Int, pinNeighbours: Bool, quiet: Bool) {
        self.plan = plan
        self.shell = shell
        self.engine = engine
        self.workers = workers
        self.pinNeighbours = pinNeighbours
        self.quiet = quiet
        directory = Self.workDirectory(id: plan.id)
    }

    static func workDirectory(id: String) -> String {
        (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/lvsl-\(id)"
    }

    /// This executable, which runs the director and the real-server helper.
    static var selfPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func log(_ line: String) {
        if quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
    }

    /// Ctrl-C (or SIGTERM) removes the lab before exiting 130.
    func installInterruptHandler() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                FileHandle.standardError.write(Data("\nlvsd lab: interrupted, removing the lab\n".utf8))
                cleanUp()
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func execute(requests: Int) throws -> LabReport {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log("lvsd lab \(plan.id): \(plan.mode.rawValue)\(plan.ipv6 ? " over IPv6" : ""), scheduler \(plan.scheduler), engine \(engine), \(workers) worker\(workers == 1 ? "" : "s"); files in \(directory)")
        let network = LabNetwork(plan: plan, shell: shell)
        try network.build()
        log("  namespaces: \(plan.namespaces.joined(separator: " "))")

        try startRealServers()
        let macs = try network.macs()
        let rules = plan.rulesFile(macs: macs, pinNeighbours: pinNeighbours)
        let rulesPath = "\(directory)/lvsd.rules"
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        try startDirector(rulesPath: rulesPath)

        var report = LabReport(plan: plan, engine: engine, workers: workers)
        log("  sending \(requests) requests to \(plan.url) from \(plan.client)")
        for i in 1...requests {
            report.requests += 1
            let result = try shell.run(in: plan.client, ["curl", "-sS", "-g", "--connect-timeout", "2", "--max-time", "5", plan.url], check: false)
            if result.status != 0 {
                report.failures.append("request \(i): curl exited \(result.status): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            } else if !report.record(body: result.output) {
                report.failures.append("request \(i): unexpected response '\(result.output.trimmingCharacters(in: .whitespacesAndNewlines))'")
            }
        }
        return report
    }

    private func startRealServers() throws {
        let python = LabShell.which("/usr/bin/python3") != nil && access("/usr/bin/python3", X_OK) == 0
            ? "/usr/bin/python3" : (LabShell.which("python3") ?? "python3")
        for rs in plan.realServers {
            let root = "\(directory)/\(rs.name)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try plan.page(for: rs).write(toFile: "\(root)/index.html", atomically: true, encoding: .utf8)
            switch plan.mode {
            case .dr:
                try shell.run(in: rs.namespace, [Self.selfPath, "realserver", "--vip", plan.vip, "--mode", "dr"])
            case .tun:
                _ = try shell.start(in: rs.namespace, [Self.selfPath, "realserver", "--vip", plan.vip, "--mode", "tun", "--interface", "eth0"],
                                    log: "\(directory)/\(rs.name)-realserver.log")
            case .nat, .fullnat:
                break
            }
            // Bound to all addresses: with a specific --bind address, http.server's getfqdn
            // hangs without DNS. Left alone it listens on 0.0.0.0 only; `::` is dual-stack
            // (and getfqdn treats it like 0.0.0.0).
            let bind = plan.ipv6 ? ["--bind", "::"] : []
            let pid = try shell.start(in: rs.namespace, [python, "-m", "http.server", String(rs.port)] + bind + ["--directory", root],
                                      log: "\(directory)/\(rs.name)-http.log")
            try waitForListener(pid: pid, port: rs.port, what: "\(rs.name)'s HTTP server")
        }
        if plan.mode == .tun {
            for rs in plan.realServers {
                try waitForLine(in: "\(directory)/\(rs.name)-realserver.log", containing: "decapsulating", what: "\(rs.name)'s IPIP helper")
            }
        }
    }

    private func startDirector(rulesPath: String) throws {
        var argv = [Self.selfPath, "run", "--config", rulesPath]
        for name in plan.directorInterfaces { argv += ["--interface", name] }
        argv += ["--engine", engine, "--workers", String(workers)]
        let logPath = "\(directory)/lvsd.log"
        let pid = try shell.start(in: plan.director, argv, log: logPath)
        directorPID = pid
        try waitForLine(in: logPath, containing: "lvsd: running on", what: "lvsd", pid: pid)
        // The gratuitous ARP goes out right after; give the client's stack a moment.
        usleep(200_000)
        log("  lvsd running in \(plan.director) (pid \(pid)), rules in \(rulesPath)")
    }

    /// Waits until `pid` listens on TCP `port` in its namespace (/proc/PID/net/tcp{,6}).
    private func waitForListener(pid: Int32, port: Int, what: String, timeout: Double = 15) throws {
        let needle = ":" + String(format: "%04X", port)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for file in ["tcp", "tcp6"] {
                let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(file)", encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    if fields.count > 3, fields[1].hasSuffix(needle), fields[3] == "0A" { return }
                }
            }
            guard shell.isRunning(pid) else { throw LabError("\(what) exited before listening on port \(port); see \(directory)") }
            usleep(50_000)
        }
        throw LabError("\(what) did not listen on port \(port) within \(Int(timeout)) s; see \(directory)")
    }

    private func waitForLine(in path: String, containing needle: String, what: String, pid: Int32? = nil, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if text.contains(needle) { return }
            if let pid, !shell.isRunning(pid) {
                throw LabError("\(what) exited before it was ready:\n\(text)")
            }
            usleep(50_000)
        }
        throw LabError("\(what) was not ready within \(Int(timeout)) s (no '\(needle)' in \(path))")
    }

    /// SIGTERM to lvsd; returns the lines it printed after it stopped (its counters).
    func stopDirector() -> [String] {
        guard let pid = directorPID else { return [] }
        directorPID = nil
        let killed = shell.stop(pid, timeout: 10)
        let text = (try? String(contentsOfFile: "\(directory)/lvsd.log", encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let start = lines.firstIndex(where: { $0.hasPrefix("lvsd: stopping") }) ?? lines.count
        return Array(lines[start...]) + (killed ? ["(lvsd did not stop within 10 s of SIGTERM and was killed)"] : [])
    }

    func printLogsOnFailure() {
        for name in ["lvsd.log"] + plan.realServers.map({ "\($0.name)-realserver.log" }) {
            guard let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8), !text.isEmpty else { continue }
            Console.error("--- \(name)\n\(text)")
        }
    }

    /// Stops what the lab started (by PID), deletes its namespaces and files. Idempotent.
    func cleanUp() {
        let first = cleanupLock.withLock { () -> Bool in
            defer { cleanedUp = true }
            return !cleanedUp
        }
        guard first else { return }
        shell.stopAll()
        LabNetwork.teardown(prefix: plan.prefix, shell: shell)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct LabError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
