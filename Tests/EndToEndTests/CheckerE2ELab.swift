import Dispatch
import Foundation
import PacketIO
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Five namespaces in a `NamespaceLab` (`lvst-<pid>-labhc<tag>-*`) on one bridge,
/// 198.18.0.0/24: the client (198.18.0.2), the director running `lvsd` with a keepalived.conf
/// (198.18.0.11), and two DR real servers r1 (198.18.0.21) and r2 (198.18.0.22) holding the
/// VIP 198.18.0.100 on `lo`. Each real server runs Python's http.server on :80 (body `rs1` /
/// `rs2` for `/who`); r1 also runs dnsmasq on :53, r2 aiosmtpd on :25. Everything started is
/// stopped by PID and the namespaces deleted in `close()`, which tests call in a `defer`.
final class CheckerE2ELab {
    let lab: NamespaceLab
    var directory: URL { lab.directory }
    let lvsd: String
    let lvsadm: String
    private var processes: [String: Spawned] = [:]
    private var logOffset = 0

    static let vip = "198.18.0.100"
    func rip(_ i: Int) -> String { "198.18.0.2\(i)" }
    func ns(_ name: String) -> String { lab.namespace(name) }
    var socket: String { lab.file("lvsd.sock").path }
    var configPath: String { lab.file("keepalived.conf").path }

    init(tag: String) throws {
        lvsd = try BuiltExecutable.lvsd()
        lvsadm = try BuiltExecutable.lvsadm()
        lab = try NamespaceLab(tag: "hc\(tag)")
        do {
            try build()
        } catch {
            close()
            throw error
        }
    }

    private func build() throws {
        try lab.buildLAN([.init("c", "c0", "198.18.0.2/24"), .init("d", "d0", "198.18.0.11/24"),
                          .init("r1", "e0", "\(rip(1))/24"), .init("r2", "e0", "\(rip(2))/24")])
        for r in ["r1", "r2"] { try lab.addDRVirtualAddress(Self.vip, in: ns(r), interface: "e0") }
    }

    func close() {
        if let pid = dnsmasqPID {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        lab.tearDown(grace: 3)
    }

    // MARK: Processes

    @discardableResult
    func start(_ name: String, in node: String, _ argv: [String], directory cwd: URL? = nil) throws -> Spawned {
        let log = lab.file("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let spawned = try lab.start(in: ns(node), argv, output: .file(log), directory: cwd)
        processes[name] = spawned
        return spawned
    }

    func signal(_ name: String, _ signal: Int32) {
        if name == "dnsmasq", let pid = dnsmasqPID { kill(pid, signal) }
        if let p = processes[name], p.isRunning { kill(p.pid, signal) }
    }

    func stop(_ name: String) {
        guard let p = processes.removeValue(forKey: name) else { return }
        lab.stop(p, timeout: 3)
    }

    func log(of name: String) -> String {
        (try? String(contentsOf: lab.file("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// http.server on :80 in r1 and r2 (all addresses, the VIP on lo included), each with
    /// `/who` answering its name and `/health.html`.
    func startWebServers() throws {
        for i in 1...2 {
            let root = webRoot(i)
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try "rs\(i)\n".write(to: root.appendingPathComponent("who"), atomically: true, encoding: .utf8)
            try "ok\n".write(to: root.appendingPathComponent("health.html"), atomically: true, encoding: .utf8)
            try start("web\(i)", in: "r\(i)", ["/usr/bin/python3", "-m", "http.server", "80"], directory: root)
        }
        for i in 1...2 {
            try waitUntil("rs\(i) serves HTTP") { (try? curl("http://\(rip(i))/who")) == "rs\(i)" }
        }
    }

    func webRoot(_ i: Int) -> URL { directory.appendingPathComponent("www\(i)") }

    /// dnsmasq in r1 on the RIP and the VIP: *.example.test is 198.18.0.99, nothing upstream.
    /// It runs as the daemon it is (its pid in `dnsmasq.pid`), not as the test's child: with
    /// dnsmasq a `Process` child of the test, the next `Command.run` never returned (its
    /// child exited, Foundation did not notice).
    func startDNS() throws {
        let pidFile = directory.appendingPathComponent("dnsmasq.pid").path
        let run = try lab.run(in: ns("r1"), ["/usr/sbin/dnsmasq", "--conf-file=/dev/null", "--no-resolv",
                                                   "--no-hosts", "--bind-interfaces", "--listen-address=\(rip(1))",
                                                   "--listen-address=\(Self.vip)", "--port=53", "--pid-file=\(pidFile)",
                                                   "--address=/example.test/198.18.0.99"])
        guard run.status == 0 else { throw Command.Failed(description: "dnsmasq: \(run.stderr)") }
        try waitUntil("dnsmasq wrote its pid") {
            dnsmasqPID = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return dnsmasqPID != nil
        }
        try waitUntil("dnsmasq answers on \(rip(1))") { dnsQuery(server: rip(1)) == 0 }
    }

    /// The daemonized dnsmasq's pid (`close()` kills it, and the namespace sweep would too).
    private(set) var dnsmasqPID: Int32?

    /// aiosmtpd in r2 on all addresses :25, greeting as rs2.example.test.
    func startSMTP() throws {
        let script = directory.appendingPathComponent("smtpd.py")
        try """
            import threading
            from aiosmtpd.controller import Controller
            from aiosmtpd.handlers import Sink
            c = Controller(Sink(), hostname="0.0.0.0", port=25, server_hostname="rs2.example.test", ready_timeout=10)
            c.start()
            print("ready", flush=True)
            threading.Event().wait()
            """.write(to: script, atomically: true, encoding: .utf8)
        try start("smtpd", in: "r2", ["/usr/bin/python3", "-u", script.path])
        try waitUntil("aiosmtpd is ready (\(log(of: "smtpd")))") { log(of: "smtpd").contains("ready") }
    }

    // MARK: lvsd

    /// Writes `config` (with the director's interface line first) and starts lvsd on it.
    func startLVSD(_ services: String) throws {
        try write(services)
        try start("lvsd", in: "d", [lvsd, "--config", configPath, "--interface", "d0", "--connections", "65536", "--socket", socket])
        try waitUntil("lvsd runs (\(lvsdLog))", seconds: 20) {
            guard processes["lvsd"]?.isRunning == true else { throw Command.Failed(description: "lvsd exited: \(lvsdLog)") }
            return lvsdLog.contains("lvsd: running on")
        }
    }

    func write(_ services: String) throws {
        let text = "! lvsd checker e2e\nlvsd_director {\n    interface d0 mac 00:00:00:00:00:00 address 198.18.0.11\n}\n" + services
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var lvsdLog: String { log(of: "lvsd") }
    var logSinceMark: String { String(decoding: Array(lvsdLog.utf8).dropFirst(logOffset), as: UTF8.self) }
    func markLog() { logOffset = lvsdLog.utf8.count }

    /// Rewrites the configuration and sends SIGHUP; returns once lvsd logged the reload done.
    func reload(_ services: String) throws {
        try write(services)
        markLog()
        signal("lvsd", SIGHUP)
        try waitUntil("lvsd reloads (\(logSinceMark))") {
            if logSinceMark.contains("reload refused") { throw Command.Failed(description: "reload refused: \(logSinceMark)") }
            return logSinceMark.contains("lvsd: reload: done")
        }
    }

    /// `lvsadm -L -n`: "TCP 198.18.0.100:80" → real server endpoint → weight.
    func listing() -> [String: [String: Int]] {
        guard let run = try? Command.run(lvsadm, ["--socket", socket, "-L", "-n"]), run.status == 0 else { return [:] }
        var out: [String: [String: Int]] = [:]
        var service: String?
        for line in run.stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            if (line.hasPrefix("TCP") || line.hasPrefix("UDP")) && f.count >= 2 {
                service = "\(f[0]) \(f[1])"
                out[service!] = [:]
            } else if line.hasPrefix("  -> "), let service, f.count >= 4, let weight = Int(f[3]) {
                out[service]?[String(f[1])] = weight
            }
        }
        return out
    }

    /// Polls the listing until `condition` holds for `service`'s real servers; returns seconds.
    @discardableResult
    func waitForServers(_ service: String, _ what: String, timeout: Double, _ condition: ([String: Int]) -> Bool) throws -> Double {
        let start = Date()
        var last: [String: Int]?
        while Date().timeIntervalSince(start) < timeout {
            last = listing()[service]
            if let last, condition(last) { return Date().timeIntervalSince(start) }
            usleep(100_000)
        }
        throw Command.Failed(description: "not within \(timeout) s: \(what); \(service) lists \(String(describing: last))\nlvsd log:\n\(lvsdLog)")
    }

    // MARK: Clients

    /// curl from the client namespace; the body trimmed, nil on failure.
    func curl(_ url: String) throws -> String? {
        let run = try lab.run(in: ns("c"), ["/usr/bin/curl", "-sS", "--connect-timeout", "2", "--max-time", "4", url])
        return run.status == 0 ? run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// One A query for www.example.test from the client namespace: the reply's RCODE, nil
    /// without one within 1.5 s (sent from a thread that entered the namespace).
    func dnsQuery(server: String) -> Int? {
        let result = Mutex<Int?>(nil)
        let done = DispatchSemaphore(value: 0)
        let namespace = ns("c")
        let thread = Thread {
            defer { done.signal() }
            guard (try? NetworkNamespace.enterOnCurrentThread(named: namespace)) != nil else { return }
            let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return }
            defer { Glibc.close(fd) }
            var timeout = timeval(tv_sec: 1, tv_usec: 500_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(53).bigEndian
            inet_pton(AF_INET, server, &address.sin_addr)
            let query: [UInt8] = [0x4C, 0x56, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                  3] + Array("www".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard sent == query.count else { return }
            var reply = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &reply, reply.count, 0)
            guard n >= 12, reply[0] == 0x4C, reply[1] == 0x56 else { return }
            result.withLock { $0 = Int(reply[3] & 0x0F) }
        }
        thread.start()
        done.wait()
        return result.withLock { $0 }
    }

    func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        try lab.waitUntil(what(), seconds: seconds, condition)
    }
}
