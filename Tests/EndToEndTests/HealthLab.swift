import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One `lvsd lab --keep` and what the tests do to it. Every process it starts is stopped by
/// PID in `close()`, and the lab's own teardown stops whatever is left in its namespaces.
final class HealthLab {
    struct Row: Equatable {
        var weight: Int
        var active: Int
        var inactive: Int
    }

    struct Answers: CustomStringConvertible {
        var bodies: [String] = []
        var failed = 0
        var errors: [String] = []
        var description: String { "\(bodies.count) answers \(Dictionary(bodies.map { ($0, 1) }, uniquingKeysWith: +)), \(failed) failed \(errors)" }
    }

    let lvsd: String
    let lvsadm: String
    let id: String
    let mode: String
    let directory: String
    let socket: String
    let transferSHA256: String
    private let kept: KeptLab
    private var lvsdPID: Int32 = 0
    private var started: [Process] = []
    private var logOffset = 0
    private nonisolated(unsafe) static var counter = 0

    init(mode: String, transferMB: Int? = nil) throws {
        lvsd = try BuiltExecutable.lvsd()
        lvsadm = URL(fileURLWithPath: lvsd).deletingLastPathComponent().appendingPathComponent("lvsadm").path
        guard FileManager.default.isExecutableFile(atPath: lvsadm) else {
            Issue.record("lvsadm is not built next to lvsd (\(lvsadm)); build with 'swift build --build-tests'")
            throw CancellationError()
        }
        self.mode = mode
        Self.counter += 1
        socket = "/tmp/lvsl-test-\(getpid())-\(Self.counter).sock"
        var arguments = ["--mode", mode, "--requests", "3"]
        if let transferMB { arguments += ["--transfer", String(transferMB)] }
        let lab = try KeptLab(arguments, environment: ["LVSD_SOCKET": socket])
        kept = lab
        id = lab.id
        directory = lab.directory
        transferSHA256 = transferMB == nil ? "" : Command.sha256(directory + "/transfer.bin")
        let pids = lab.directorProcesses
        guard lab.failed == 0, pids.count == 1 else {
            Issue.record("lab \(id) not usable: \(lab.failed) failed requests, director processes \(pids)\n\(lab.stderr)")
            close()
            throw CancellationError()
        }
        lvsdPID = pids[0]
        if transferMB != nil { try limitSocketBuffers() }
    }

    /// Small socket buffers on the client (receive) and the real servers (send): otherwise
    /// the server writes all of a slow download into the buffers at once and closes, and a
    /// download still running would prove nothing about its connection through the director.
    private func limitSocketBuffers() throws {
        var settings = [(namespace("client"), "net.ipv4.tcp_rmem=4096 32768 65536")]
        for i in 1...3 { settings.append((namespace("rs\(i)"), "net.ipv4.tcp_wmem=4096 32768 65536")) }
        for (ns, setting) in settings {
            let run = try Self.run(["/usr/sbin/ip", "netns", "exec", ns, "/usr/sbin/sysctl", "-q", "-w", setting])
            guard run.status == 0 else {
                Issue.record("sysctl \(setting) in \(ns): \(run.stderr)")
                close()
                throw CancellationError()
            }
        }
    }

    func close() {
        for process in started where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        kept.tearDown()
        try? FileManager.default.removeItem(atPath: socket)
    }

    // MARK: Topology

    var isDR: Bool { mode == "dr" }
    func address(_ i: Int) -> String { isDR ? "198.18.0.1\(i)" : "198.18.1.1\(i)" }
    var port: Int { isDR ? 80 : 8080 }
    func endpoint(_ i: Int) -> String { "\(address(i)):\(port)" }
    var endpoints: [String] { (1...3).map(endpoint) }
    func namespace(_ name: String) -> String { kept.namespace(name) }
    func pagePath(_ i: Int, name: String) -> String { "\(directory)/rs\(i)/\(name)" }

    func readPage(_ i: Int, name: String) throws -> String {
        try String(contentsOfFile: pagePath(i, name: name), encoding: .utf8)
    }

    func writePage(_ i: Int, name: String, _ text: String) throws {
        try text.write(toFile: pagePath(i, name: name), atomically: true, encoding: .utf8)
    }

    // MARK: Configuration

    /// A keepalived.conf for the lab's service: the lab's own interface and neighbour lines in
    /// `lvsd_director`, `serviceExtra` inside the virtual_server, `server(i)` inside rs i.
    func keepalived(service serviceExtra: String, servers server: (Int) -> String) throws -> String {
        let rules = try String(contentsOfFile: directory + "/lvsd.rules", encoding: .utf8)
        let director = rules.split(separator: "\n").filter { $0.hasPrefix("interface ") || $0.hasPrefix("neighbour ") }
        var text = "# health e2e, lab \(id)\nlvsd_director {\n"
        for line in director { text += "    \(line)\n" }
        text += "}\n\nvirtual_server 198.18.0.10 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind \(isDR ? "DR" : "NAT")\n    protocol TCP\n"
        text += serviceExtra
        for i in 1...3 {
            text += "    real_server \(address(i)) \(port) {\n\(server(i))    }\n"
        }
        return text + "}\n"
    }

    /// Overwrites the lab's rules file with `text` and has lvsd reload it.
    func reconfigure(_ text: String) throws {
        let path = directory + "/lvsd.rules"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        logOffset = log.utf8.count
        kill(lvsdPID, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let since = logSinceReload
            if since.contains("lvsd: reload refused") || since.contains("checks not started") {
                Issue.record("lvsd did not take the keepalived.conf:\n\(since)\n---\n\(text)")
                throw CancellationError()
            }
            if since.contains("lvsd: reload: done") && since.contains("lvsd: health: checking 3 real servers") { return }
            usleep(50_000)
        }
        Issue.record("lvsd did not reload within 10 s:\n\(logSinceReload)")
        throw CancellationError()
    }

    var log: String { (try? String(contentsOfFile: directory + "/lvsd.log", encoding: .utf8)) ?? "" }
    var logSinceReload: String { String(decoding: Array(log.utf8).dropFirst(logOffset), as: UTF8.self) }

    // MARK: The running table

    /// `lvsadm -L -n` over the control socket: real server endpoint → weight and connections.
    /// `lvsadm --health`: real server endpoint → "STATE WEIGHT".
    func healthRows() -> [String: String] {
        guard let run = try? Self.run([lvsadm, "--socket", socket, "--health"]), run.status == 0 else { return [:] }
        var rows: [String: String] = [:]
        for line in run.stdout.split(separator: "\n") where line.hasPrefix("  -> ") {
            let f = line.split(separator: " ")
            guard f.count >= 4 else { continue }
            rows[String(f[1])] = "\(f[2]) \(f[3])"
        }
        return rows
    }

    func listing() -> [String: Row]? {
        guard let run = try? Self.run([lvsadm, "--socket", socket, "-L", "-n"]), run.status == 0 else { return nil }
        var rows: [String: Row] = [:]
        for line in run.stdout.split(separator: "\n") where line.hasPrefix("  -> ") {
            let f = line.split(separator: " ")
            guard f.count == 6, let w = Int(f[3]), let a = Int(f[4]), let i = Int(f[5]) else { continue }
            rows[String(f[1])] = Row(weight: w, active: a, inactive: i)
        }
        return rows
    }

    /// Polls the listing every 100 ms until `condition` holds; returns the seconds it took.
    @discardableResult
    func waitForListing(_ what: String, timeout: Double, _ condition: ([String: Row]) -> Bool) throws -> Double {
        let start = Date()
        var last: [String: Row]?
        while Date().timeIntervalSince(start) < timeout {
            last = listing()
            if let last, condition(last) { return Date().timeIntervalSince(start) }
            usleep(100_000)
        }
        Issue.record("\(mode): not within \(timeout) s: \(what); last listing \(String(describing: last))\nlvsd log since the reload:\n\(logSinceReload)")
        throw CancellationError()
    }

    /// The real server holding the download: the one row with an established connection.
    func waitForActiveConnection() throws -> Int {
        var found: Int?
        try waitForListing("the download's connection listed", timeout: 3) { rows in
            let active = (1...3).filter { (rows[self.endpoint($0)]?.active ?? 0) > 0 }
            found = active.count == 1 ? active[0] : nil
            return found != nil
        }
        return found!
    }

    // MARK: Clients

    /// `requests` GETs of the VIP from the client, one connection each.
    func get(requests: Int, path: String = "/") throws -> Answers {
        var answers = Answers()
        for _ in 0..<requests {
            let run = try Self.run(["/usr/sbin/ip", "netns", "exec", namespace("client"), "curl", "-sS", "--connect-timeout", "2",
                                    "--max-time", "5", "http://198.18.0.10\(path)"])
            if run.status == 0 {
                answers.bodies.append(run.stdout.split(separator: " ").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            } else {
                answers.failed += 1
                answers.errors.append(run.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return answers
    }

    /// Sends `requests` and expects every one answered, each by one of `servers` (by number),
    /// and, with round robin, every one of them answering.
    func expectSpread(requests: Int, servers: [Int], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let answers = try get(requests: requests)
        let names = Set(answers.bodies)
        #expect(answers.failed == 0, "\(mode): \(answers)", sourceLocation: sourceLocation)
        #expect(names == Set(servers.map { "rs\($0)" }), "\(mode): expected answers from \(servers): \(answers)", sourceLocation: sourceLocation)
    }

    final class Download {
        let process: Process
        let target: String
        let stderrPath: String
        init(process: Process, target: String, stderrPath: String) {
            self.process = process
            self.target = target
            self.stderrPath = stderrPath
        }
        var isRunning: Bool { process.isRunning }
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(atPath: target)
        }
        func wait(timeout: Double) throws -> (status: Int32, sha256: String, bytes: Int, stderr: String) {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { stop(); process.waitUntilExit() }
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? Int) ?? 0
            let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            return (process.terminationStatus, Command.sha256(target), bytes, stderr)
        }
    }

    /// transfer.bin through the VIP at 1 MiB/s, in the background.
    func startDownload() throws -> Download {
        let target = directory + "/e2e-download.bin", errors = directory + "/e2e-download.err"
        let process = try start(["/usr/sbin/ip", "netns", "exec", namespace("client"), "curl", "-sS", "--limit-rate", "1M",
                                 "--connect-timeout", "2", "--max-time", "60", "-o", target, "http://198.18.0.10/transfer.bin"],
                                output: errors)
        return Download(process: process, target: target, stderrPath: errors)
    }

    func genhash(_ i: Int, path: String) throws -> String {
        let run = try Self.run(["/usr/sbin/ip", "netns", "exec", namespace("director"), lvsd, "genhash",
                                "-s", address(i), "-p", String(port), "-u", path])
        guard run.status == 0 else {
            Issue.record("lvsd genhash failed (\(run.status)): \(run.stderr)")
            throw CancellationError()
        }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Real server processes

    /// SIGKILLs rs i's python http.server on the service port (nothing else in its namespace)
    /// and returns its command line, to start it again the same way.
    func killHTTPServer(_ i: Int) throws -> [String] {
        for pid in Command.pids(in: namespace("rs\(i)")) {
            let argv = Self.commandLine(pid)
            guard argv.contains(where: { $0.contains("http.server") }), argv.contains(String(port)) else { continue }
            kill(pid, SIGKILL)
            return argv
        }
        Issue.record("no http.server on port \(port) in \(namespace("rs\(i)"))")
        throw CancellationError()
    }

    /// Runs `command` in rs i's namespace again and waits until it listens.
    @discardableResult
    func restartHTTPServer(_ i: Int, command: [String]) throws -> Process {
        let process = try start(["/usr/sbin/ip", "netns", "exec", namespace("rs\(i)")] + command, output: "\(directory)/rs\(i)-restarted.log")
        try waitForListener(process, port: port)
        return process
    }

    func startHTTPServer(_ i: Int, port: Int, root: String) throws {
        let process = try start(["/usr/sbin/ip", "netns", "exec", namespace("rs\(i)"), "/usr/bin/python3", "-m", "http.server",
                                 String(port), "--directory", root], output: "\(directory)/rs\(i)-\(port).log")
        try waitForListener(process, port: port)
    }

    private func waitForListener(_ process: Process, port: Int) throws {
        let needle = ":" + String(format: "%04X", port)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && process.isRunning {
            let table = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/net/tcp", encoding: .utf8)) ?? ""
            if table.split(separator: "\n").contains(where: { line in
                let f = line.split(separator: " ")
                return f.count > 3 && f[1].hasSuffix(needle) && f[3] == "0A"
            }) { return }
            usleep(20_000)
        }
        Issue.record("the restarted server did not listen on \(port) within 10 s")
        throw CancellationError()
    }

    private func start(_ argv: [String], output: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        started.append(process)
        return process
    }

    // MARK: Helpers

    static func run(_ argv: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.run(argv[0], Array(argv.dropFirst()), environment: environment)
    }

    static func commandLine(_ pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
