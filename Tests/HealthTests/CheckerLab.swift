import Dispatch
import Foundation
import Health
import PacketIO
import Synchronization
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Two namespaces joined by a veth pair, addresses in 198.18.0.0/15 and 2001:db8::/32:
/// `lvst-<pid>-hc` (the checker side, 198.18.60.1, 2001:db8:60::1) and `lvst-<pid>-hcr` (the
/// real servers, 198.18.60.2 and 198.18.60.3, 2001:db8:60::2). Real servers are Python
/// processes; the checks run on threads that entered the checker namespace. Everything is
/// removed in `tearDown`, which tests call in a `defer`.
final class CheckerLab: @unchecked Sendable {
    let checker: String, servers: String
    let directory: URL
    private var processes: [String: Process] = [:]

    static let checkerAddress = "198.18.60.1"
    static let serverAddress = "198.18.60.2"
    static let serverAddress2 = "198.18.60.3"
    static let serverAddress6 = "2001:db8:60::2"

    init(_ tag: String) throws {
        let pid = getpid()
        checker = "lvst-\(pid)-hc\(tag)"
        servers = "lvst-\(pid)-hcr\(tag)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-hc-\(pid)-\(tag)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The scripts run as nobody in one test: let everyone traverse and write.
        chmod(directory.path, 0o777)
        deleteNamespaces()
        do {
            try build()
        } catch {
            tearDown()
            throw error
        }
    }

    private func build() throws {
        for ns in [checker, servers] {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
        }
        try Command.ip(["-n", checker, "link", "add", "h0", "type", "veth", "peer", "name", "r0", "netns", servers])
        try Command.ip(["-n", checker, "address", "add", "\(Self.checkerAddress)/24", "dev", "h0"])
        try Command.ip(["-n", checker, "address", "add", "2001:db8:60::1/64", "dev", "h0", "nodad"])
        try Command.ip(["-n", servers, "address", "add", "\(Self.serverAddress)/24", "dev", "r0"])
        try Command.ip(["-n", servers, "address", "add", "\(Self.serverAddress2)/24", "dev", "r0"])
        try Command.ip(["-n", servers, "address", "add", "\(Self.serverAddress6)/64", "dev", "r0", "nodad"])
        try Command.ip(["-n", checker, "link", "set", "h0", "up"])
        try Command.ip(["-n", servers, "link", "set", "r0", "up"])
        // IPv6 neighbour discovery waits for the link-local addresses' DAD (about 1 s after
        // link up): until then the first IPv6 packet sits in the neighbour queue.
        try waitUntil("IPv6 link-local addresses leave DAD") {
            try [(checker, "h0"), (servers, "r0")].allSatisfy { ns, dev in
                let (_, out, _) = try Command.run("/usr/sbin/ip", ["-n", ns, "-6", "address", "show", "dev", dev, "tentative"])
                return out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }
        }
    }

    func tearDown() {
        for name in Array(processes.keys) { stop(name) }
        deleteNamespaces()
        try? FileManager.default.removeItem(at: directory)
    }

    private func deleteNamespaces() {
        for ns in [checker, servers] { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
    }

    // MARK: Servers

    /// A small HTTP/1.0 server (Python, standard library only): files from `root`, `/status/N`
    /// answers status N, `/host` echoes the Host header. `tls` wraps it with a certificate.
    static let httpServer = #"""
        import http.server, socketserver, ssl, sys, os
        port, root = int(sys.argv[1]), sys.argv[2]
        tls = sys.argv[3:5] if len(sys.argv) > 4 else None
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                if self.path.startswith("/status/"):
                    self.reply(int(self.path[8:]), b"status page\n")
                elif self.path == "/host":
                    self.reply(200, ("Host: %s\n" % self.headers.get("Host")).encode())
                else:
                    p = os.path.join(root, self.path.lstrip("/") or "index.html")
                    if os.path.isfile(p):
                        self.reply(200, open(p, "rb").read())
                    else:
                        self.reply(404, b"not found\n")
        import socket
        bind = os.environ.get("BIND", "::")
        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 256
            address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
            def server_bind(self):
                if self.address_family == socket.AF_INET6:
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                super().server_bind()
        server = Server((bind, port), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            if len(sys.argv) > 5:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(sys.argv[5])
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        print("ready", flush=True)
        server.serve_forever()
        """#

    /// A UDP server: echoes each datagram with `prefix` in front, or stays silent with "-".
    static let udpServer = #"""
        import socket, sys
        port, prefix = int(sys.argv[1]), sys.argv[2]
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        print("ready", flush=True)
        while True:
            data, peer = s.recvfrom(65536)
            if prefix != "-":
                s.sendto(prefix.encode() + data, peer)
        """#

    func write(_ text: String, to name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Starts `python3 script args` in the server namespace and waits for its "ready".
    func startPython(_ name: String, script: String, arguments: [String], environment: [String: String] = [:]) throws {
        let file = try write(script, to: "\(name).py")
        let log = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", servers, "/usr/bin/python3", "-u", file.path] + arguments
        p.standardOutput = handle
        p.standardError = handle
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try p.run()
        processes[name] = p
        try waitUntil("\(name) is ready (log: \((try? String(contentsOf: log, encoding: .utf8)) ?? ""))") {
            guard p.isRunning else { throw LabFailure(description: "\(name) exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")") }
            return ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("ready")
        }
    }

    /// The HTTP server on `port`, all addresses unless `address` is given.
    /// `clientCA`: with `tls`, the server demands a client certificate signed by it.
    func startHTTP(_ name: String, port: UInt16, root: URL, tls: (cert: URL, key: URL)? = nil, address: String? = nil,
                   clientCA: URL? = nil) throws {
        var arguments = ["\(port)", root.path]
        if let tls { arguments += [tls.cert.path, tls.key.path] }
        if let clientCA { arguments.append(clientCA.path) }
        try startPython(name, script: Self.httpServer, arguments: arguments, environment: address.map { ["BIND": $0] } ?? [:])
    }

    /// Runs `argv` in the server namespace (its output in `<name>.log`) and waits until
    /// `ready` holds.
    func startProgram(_ name: String, _ argv: [String], ready: () throws -> Bool) throws {
        let log = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", servers] + argv
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        processes[name] = p
        try waitUntil("\(name) is ready") {
            guard p.isRunning else { throw LabFailure(description: "\(name) exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")") }
            return try ready()
        }
    }

    /// dnsmasq answering `A` for *.example.test with 198.18.60.9 on `address`:53, nothing
    /// else (no upstream: other names are REFUSED).
    func startDNS(_ name: String, address: String = CheckerLab.serverAddress, check: CheckerConfig) throws {
        try startProgram(name, ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                                "--bind-interfaces", "--listen-address=\(address)", "--port=53", "--pid-file=",
                                "--address=/example.test/198.18.60.9", "--log-facility=-"]) {
            (try? self.check(check)) == .success()
        }
    }

    /// aiosmtpd (Debian's python3-aiosmtpd) on `port`, greeting as rs.example.test; the
    /// hostname is given so it never waits for a resolver in the namespace.
    static let smtpServer = #"""
        import sys, threading
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Sink
        c = Controller(Sink(), hostname=sys.argv[1], port=int(sys.argv[2]), server_hostname="rs.example.test", ready_timeout=10)
        c.start()
        print("ready", flush=True)
        threading.Event().wait()
        """#

    /// A scripted line server: sends `banner`, then answers every line it reads with `reply`.
    static let lineServer = #"""
        import socket, sys, threading
        port, banner, reply = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(16)
        print("ready", flush=True)
        def serve(c):
            with c:
                c.sendall(banner.encode().replace(b"|", b"\r\n"))
                f = c.makefile("rb")
                for line in f:
                    c.sendall(reply.encode() + b"\r\n")
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """#

    func startUDP(_ name: String, port: UInt16, prefix: String) throws {
        try startPython(name, script: Self.udpServer, arguments: ["\(port)", prefix])
    }

    /// Sends `signal` to a running server (SIGSTOP: it hangs with its socket open).
    func signal(_ name: String, _ signal: Int32) {
        guard let p = processes[name], p.isRunning else { return }
        kill(p.processIdentifier, signal)
        // kill() returns before a busy process is actually stopped: wait for state T, so a
        // check that follows meets a server that cannot answer.
        guard signal == SIGSTOP else { return }
        try? waitUntil("\(name) is stopped") {
            let stat = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/stat", encoding: .utf8)) ?? ""
            guard let close = stat.lastIndex(of: ")") else { return true }
            return stat[stat.index(after: close)...].hasPrefix(" T")
        }
    }

    /// SIGKILL to a server (`ip netns exec` execs python, so the pid is python's), reaped.
    func stop(_ name: String) {
        guard let p = processes.removeValue(forKey: name) else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// A self-signed certificate for the TLS server.
    func makeCertificate() throws -> (cert: URL, key: URL) {
        let cert = directory.appendingPathComponent("cert.pem"), key = directory.appendingPathComponent("key.pem")
        let (status, _, err) = try Command.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                             "-subj", "/CN=rs.example.test", "-keyout", key.path, "-out", cert.path])
        guard status == 0 else { throw LabFailure(description: "openssl req failed: \(err)") }
        return (cert, key)
    }

    /// A PEM file in the lab directory made by `openssl` (CA: self-signed; otherwise a key and
    /// a certificate for `subject` signed by `ca`): its certificate and key.
    func makeCertificate(_ name: String, subject: String, signedBy ca: (cert: URL, key: URL)?) throws -> (cert: URL, key: URL) {
        let cert = directory.appendingPathComponent("\(name).pem"), key = directory.appendingPathComponent("\(name).key")
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(subject)", "-keyout", key.path]
        if let ca {
            let csr = directory.appendingPathComponent("\(name).csr")
            var run = try Command.run("/usr/bin/openssl", ["req"] + newKey + ["-out", csr.path])
            guard run.status == 0 else { throw LabFailure(description: "openssl req: \(run.stderr)") }
            run = try Command.run("/usr/bin/openssl", ["x509", "-req", "-in", csr.path, "-CA", ca.cert.path, "-CAkey", ca.key.path,
                                                       "-set_serial", "\(UInt32.random(in: 1 ... .max))", "-days", "1", "-out", cert.path])
            guard run.status == 0 else { throw LabFailure(description: "openssl x509: \(run.stderr)") }
        } else {
            let run = try Command.run("/usr/bin/openssl", ["req", "-x509"] + newKey + ["-days", "1", "-out", cert.path])
            guard run.status == 0 else { throw LabFailure(description: "openssl req -x509: \(run.stderr)") }
        }
        return (cert, key)
    }

    // MARK: Running checks in the checker namespace

    /// Runs `body` on a thread inside the checker namespace and returns its result.
    func inChecker<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        let result = Mutex<Result<T, LabFailure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let ns = checker
        let thread = Thread {
            do {
                try NetworkNamespace.enterOnCurrentThread(named: ns)
                let value = body()
                result.withLock { $0 = .success(value) }
            } catch {
                result.withLock { $0 = .failure(LabFailure(description: "cannot enter \(ns): \(error)")) }
            }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// One check of `config`, run to completion in the checker namespace.
    func check(_ config: CheckerConfig) throws -> CheckOutcome {
        let checker = config.makeChecker()
        nonisolated(unsafe) let c = checker
        return try inChecker { ProbeDriver.run(c.makeProbe()) }
    }

    var enterChecker: @Sendable () throws -> Void {
        let ns = checker
        return { try NetworkNamespace.enterOnCurrentThread(named: ns) }
    }

    // MARK: Helpers

    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        throw LabFailure(description: "timed out after \(seconds) s waiting until \(what)")
    }
}

struct LabFailure: Error, CustomStringConvertible {
    var description: String
}

/// Namespace suites need root (CI runs as root).
let isRoot = getuid() == 0
