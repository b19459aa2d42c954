import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `lvsd lab` run: builds the plan's network, starts the real servers and the director,
/// sends the requests, and takes everything down (also on Ctrl-C).
public final class LabRun: @unchecked Sendable {
    let plan: LabPlan
    let shell: LabShell
    let engine: String
    let workers: Int
    /// `lvsd run --metrics-listen` for the director (a kept lab's monitor), nil for none.
    public var metricsListen: String?
    let pinNeighbours: Bool
    let quiet: Bool
    public let directory: String
    private var directorPID: Int32?
    private var signalSources: [DispatchSourceSignal] = []
    /// Held for the whole of `cleanUp`, so a second caller waits until the lab is gone.
    private let cleanupLock = NSLock()
    private var cleanedUp = false
    private let interruptLock = NSLock()
    private var interruptedFlag = false
    /// A signal arrived; the handler is removing the lab and the run must end with 130.
    public var interrupted: Bool { interruptLock.withLock { interruptedFlag } }

    /// Where a seed's lab or a `--break` exercise (LabExercise) steps in: after the real
    /// servers are set up (an exercise leaves one setting out), and before each later phase
    /// while that phase's lvsd still runs (the symptom is recorded, then the fix applied).
    var afterRealServers: (() throws -> Void)?
    /// FTP fetches of phase 1, when the plan has an FTP service (`LabFTP.swift`).
    var ftpFetches: [LabFTPFetch] = []
    var beforeLaterPhase: ((Int) throws -> Void)?
    /// Told as each stage begins, so `--step` can explain it first.
    var stage: ((LabStage) -> Void)?

    public init(plan: LabPlan, shell: LabShell, engine: String, workers: Int, pinNeighbours: Bool, quiet: Bool) {
        self.plan = plan
        self.shell = shell
        self.engine = engine
        self.workers = workers
        self.pinNeighbours = pinNeighbours
        self.quiet = quiet
        directory = Self.workDirectory(id: plan.id)
    }

    public static func workDirectory(id: String) -> String {
        (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/lvsl-\(id)"
    }

    /// This executable, which runs the director and the real-server helper.
    public static var selfPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public func log(_ line: String) {
        if quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
    }

    /// Ctrl-C (or SIGTERM) removes the lab before exiting 130.
    public func installInterruptHandler() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let first = interruptLock.withLock { () -> Bool in
                    defer { interruptedFlag = true }
                    return !interruptedFlag
                }
                guard first else { return }
                FileHandle.standardError.write(Data("\nlvsd lab: interrupted, removing the lab\n".utf8))
                cleanUp()
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Builds the lab, runs the main phase (TCP requests, then UDP datagrams and the transfer
    /// if asked for), then each later phase (lvsd restarted with that phase's rules in the same
    /// namespaces, TCP requests only), and stops lvsd after the last phase unless `keep`.
    /// Setting up the namespaces and real servers costs more than a phase, so several phases
    /// in one run keep the end-to-end suite short.
    public func execute(requests: Int, transferMB: Int? = nil, then later: [LabPlan.Phase] = [], keep: Bool = false) throws -> LabReport {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log("lvsd lab \(plan.id): \(plan.mode.rawValue)\(plan.ipv6 ? " over IPv6" : ""), scheduler \(plan.scheduler), engine \(engine), \(workers) worker\(workers == 1 ? "" : "s"), kernel's default offloads; files in \(directory)")
        let network = LabNetwork(plan: plan, shell: shell)
        stage?(.network)
        try network.build()
        log("  namespaces: \(plan.namespaces.joined(separator: " "))")

        let transferBytes = transferMB.map { $0 * 1_048_576 }
        if let transferBytes { try writeTransferFile(bytes: transferBytes) }
        stage?(.realServers)
        try startRealServers()
        try startFTPServers()
        try afterRealServers?()
        let macs = try network.macs()

        var report = LabReport(plan: plan, engine: engine, workers: workers)
        stage?(.director)
        try startDirector(rules: plan.rulesFile(macs: macs, pinNeighbours: pinNeighbours), phase: 1)
        stage?(.requests)
        try sendRequests(requests, into: &report.phases[0])
        ftpFetches = try fetchFTP()
        if plan.udp { try sendDatagrams(requests, into: &report) }
        if let transferBytes {
            report.transfer = try download(bytes: transferBytes)
            report.upload = try upload(bytes: transferBytes)
        }
        for (n, phase) in later.enumerated() {
            waitForConnectionsToClose()
            stage?(.laterPhase(n + 2))
            try beforeLaterPhase?(n + 2)
            report.phases[n].director = stopDirector()
            log("  phase \(n + 2): \(phase.spec)")
            report.beginPhase(phase, localAddress: plan.localAddress(phase: n + 2))
            try startDirector(rules: plan.rulesFile(macs: macs, pinNeighbours: pinNeighbours, phase: phase, number: n + 2), phase: n + 2)
            try sendRequests(requests, into: &report.phases[n + 1])
        }
        if !keep {
            waitForConnectionsToClose()
            report.phases[report.phases.count - 1].director = stopDirector()
        }
        report.realServers = try observeRealServers()
        return report
    }

    /// Waits (at most `timeout` seconds) until every TCP connection of the phase has finished
    /// closing: no client socket to the VIP and no real-server socket on the service port in
    /// any state but TIME-WAIT (or LISTEN). curl returns once it has its response, while the
    /// FIN exchange may still be crossing the director; stopping lvsd then would leave those
    /// last segments (and their retransmissions) to the next phase's lvsd, which has no
    /// connection for them and rightly drops them as no-connection.
    private func waitForConnectionsToClose(timeout: Double = 3) {
        let vip = plan.ipv6 ? "[\(plan.vip)]" : plan.vip
        let probes: [(namespace: String, filter: [String])] =
            [(plan.client, ["dst", vip])] + plan.realServers.map { ($0.namespace, ["sport", "=", ":\($0.port)"]) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let open = probes.contains { probe in
                let out = (try? shell.run(in: probe.namespace, ["ss", "-Htan"] + probe.filter, check: false).output) ?? ""
                return out.split(separator: "\n").contains { line in
                    let state = line.split(separator: " ").first ?? ""
                    return state != "TIME-WAIT" && state != "LISTEN"
                }
            }
            if !open { return }
            usleep(100_000)
        }
        log("  some connections were still closing after \(Int(timeout)) s; stopping lvsd anyway")
    }

    /// `count` HTTP requests, each a new curl (so a new connection and source port).
    private func sendRequests(_ count: Int, into phase: inout LabReport.Phase) throws {
        log("  sending \(count) requests to \(plan.url) from \(plan.client)")
        for i in 1...count {
            phase.requests += 1
            let result = try shell.run(in: plan.client, ["curl", "-sS", "-g", "--connect-timeout", "2", "--max-time", "5", plan.url], check: false)
            if result.status != 0 {
                phase.failures.append("request \(i): curl exited \(result.status): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            } else if !phase.record(body: result.output) {
                phase.failures.append("request \(i): unexpected response '\(result.output.trimmingCharacters(in: .whitespacesAndNewlines))'")
            }
        }
    }

    /// Per real server: its port, whether `ip route get CIP` finds a route in its namespace,
    /// and the peers its HTTP server and UDP responder logged.
    private func observeRealServers() throws -> [LabReport.RealServer] {
        try plan.realServers.map { rs in
            let family = plan.ipv6 ? ["-6"] : ["-4"]
            let route = try shell.run(["ip"] + family + ["-n", rs.namespace, "route", "get", plan.clientAddress], check: false)
            var observed = LabReport.RealServer(name: rs.name, address: rs.address, port: rs.port, routeToClient: route.status == 0)
            // http.server logs 'ADDRESS - - [date] "GET / HTTP/1.1" 200 -' per request.
            let http = (try? String(contentsOfFile: "\(directory)/\(rs.name)-http.log", encoding: .utf8)) ?? ""
            for line in http.split(separator: "\n") where line.contains(" - - [") {
                let peer = String(line.prefix { $0 != " " })
                if !observed.httpPeers.contains(peer) { observed.httpPeers.append(peer) }
            }
            let udp = (try? String(contentsOfFile: "\(directory)/\(rs.name)-udp.log", encoding: .utf8)) ?? ""
            for line in udp.split(separator: "\n") where line.hasPrefix("peer ") {
                let peer = String(line.dropFirst(5))
                if !observed.udpPeers.contains(peer) { observed.udpPeers.append(peer) }
            }
            return observed
        }
    }

    static let python: String = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : (LabShell.which("python3") ?? "python3")

    /// Answers each datagram with the server's name and address, from the address the datagram
    /// was sent to: for DR and TUN that is the VIP the real server holds on `lo`, which a
    /// socket bound to the wildcard would not use as source (the kernel picks the outgoing
    /// interface's address, and the client would see a reply from the RIP). So, as UDP
    /// servers on multi-homed hosts do, it reads the datagram's destination with IP_PKTINFO /
    /// IPV6_RECVPKTINFO and sends from it (RFC 3542 §6 for IPv6; Linux ip(7) IP_PKTINFO).
    /// One socket per family (the IPv6 one V6ONLY) so each gets its own family's pktinfo.
    /// Logs "peer ADDRESS" per datagram: the address the real server saw (CIP, or the LIP).
    static let udpResponder = """
        import socket,sys,struct,select
        port,name=int(sys.argv[1]),sys.argv[2].encode()
        IP_PKTINFO=getattr(socket,'IP_PKTINFO',8)
        s4=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
        s4.setsockopt(socket.IPPROTO_IP,IP_PKTINFO,1)
        s4.bind(('0.0.0.0',port))
        s6=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)
        s6.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1)
        s6.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_RECVPKTINFO,1)
        s6.bind(('::',port))
        while True:
            for s in select.select([s4,s6],[],[])[0]:
                d,anc,_,a=s.recvmsg(2048,socket.CMSG_SPACE(64))
                out=[]
                for level,kind,data in anc:
                    if level==socket.IPPROTO_IP and kind==IP_PKTINFO:
                        out=[(level,kind,struct.pack('=i4s4s',0,data[8:12],bytes(4)))]
                    elif level==socket.IPPROTO_IPV6 and kind==socket.IPV6_PKTINFO:
                        out=[(level,kind,data[:16]+struct.pack('=i',0))]
                print('peer',a[0],flush=True)
                s.sendmsg([name],out,0,a)
        """

    /// Sends N datagrams to the VIP, each from its own socket (all kept open, so every source
    /// port is new), waits up to 2 s for each reply, prints "ok SOURCE BODY" or "lost".
    static let udpClient = """
        import socket,sys
        vip,port,n=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
        fam=socket.AF_INET6 if ':' in vip else socket.AF_INET
        keep=[]
        for i in range(n):
            s=socket.socket(fam,socket.SOCK_DGRAM); keep.append(s); s.settimeout(2)
            s.sendto(b'who are you',(vip,port))
            try:
                d,a=s.recvfrom(2048); print('ok',a[0],d.decode().strip(),flush=True)
            except socket.timeout:
                print('lost',flush=True)
        """

    private func sendDatagrams(_ count: Int, into report: inout LabReport) throws {
        log("  sending \(count) UDP datagrams to \(plan.vip):\(plan.vport) from \(plan.client)")
        let result = try shell.run(in: plan.client, [Self.python, "-c", Self.udpClient, plan.vip, String(plan.vport), String(count)], check: false)
        guard result.status == 0 else { throw LabError("UDP client exited \(result.status): \(result.output)") }
        for line in result.output.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            report.udp?.sent += 1
            if words.first == "ok", words.count == 3 {
                report.recordUDP(body: words[2], source: words[1])
            } else {
                report.udp?.lost += 1
            }
        }
    }

    private var transferPath: String { "\(directory)/transfer.bin" }

    /// Deterministic content (Python's Mersenne Twister seeded with 3), written once and
    /// hard-linked into each real server's document root.
    private func writeTransferFile(bytes: Int) throws {
        let script = "import random,sys\nr=random.Random(3)\nn=int(sys.argv[2])\nwith open(sys.argv[1],'wb') as f:\n  while n>0:\n    k=min(n,1<<20); f.write(r.randbytes(k)); n-=k\n"
        try shell.run([Self.python, "-c", script, transferPath, String(bytes)])
    }

    private func sha256(_ path: String) throws -> String {
        let out = try shell.run(["sha256sum", path]).output
        return String(out.prefix { $0 != " " })
    }

    private func download(bytes: Int) throws -> LabReport.Transfer {
        let target = "\(directory)/download.bin"
        log("  downloading \(bytes) bytes from \(plan.url)transfer.bin through the director")
        let start = Date()
        let result = try shell.run(in: plan.client, ["curl", "-sS", "-g", "--connect-timeout", "2", "--max-time", "120",
                                                     "-o", target, plan.url + "transfer.bin"], check: false)
        let seconds = Date().timeIntervalSince(start)
        let received = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? Int) ?? 0
        let receivedHash = received > 0 ? try sha256(target) : ""
        let expected = try sha256(transferPath)
        try? FileManager.default.removeItem(atPath: target)
        return LabReport.Transfer(bytes: bytes, expectedSHA256: expected, receivedSHA256: receivedHash, receivedBytes: received,
                                  seconds: seconds, error: result.status == 0 ? nil : "curl exited \(result.status): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// The same file sent to the service with HTTP PUT: the real server that gets it answers
    /// with the sha256 and length of what arrived. Through the director this is the direction
    /// a client's TSO super-frames take in every method, DR and TUN included.
    private func upload(bytes: Int) throws -> LabReport.Transfer {
        log("  uploading \(bytes) bytes to \(plan.url)upload through the director")
        let start = Date()
        let result = try shell.run(in: plan.client, ["curl", "-sS", "-g", "--connect-timeout", "2", "--max-time", "120",
                                                     "-H", "Expect:", "-T", transferPath, plan.url + "upload"], check: false)
        let seconds = Date().timeIntervalSince(start)
        let words = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let receivedHash = words.count >= 2 && words[0].count == 64 ? words[0] : ""
        let received = words.count >= 2 ? Int(words[1]) ?? 0 : 0
        let expected = try sha256(transferPath)
        let error = result.status == 0 && !receivedHash.isEmpty
            ? nil : "curl exited \(result.status): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))"
        return LabReport.Transfer(bytes: bytes, expectedSHA256: expected, receivedSHA256: receivedHash, receivedBytes: received,
                                  seconds: seconds, error: error)
    }

    /// The real servers' HTTP server: Python's file server, plus PUT answering with the
    /// sha256 and length of the body it read. Bound to all addresses (`::` dual-stack for
    /// IPv6): with a specific address, http.server's getfqdn hangs without DNS.
    static let httpServer = """
        import hashlib, http.server, socket, sys
        port, root, v6 = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "6"
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=root, **k)
            def do_PUT(self):
                left = int(self.headers.get("Content-Length", "0"))
                digest, got = hashlib.sha256(), 0
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    digest.update(chunk)
                    got += len(chunk)
                    left -= len(chunk)
                body = ("%s %d\\n" % (digest.hexdigest(), got)).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if v6 else socket.AF_INET
            def server_bind(self):
                if v6:
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                super().server_bind()
        Server(("::" if v6 else "0.0.0.0", port), Handler).serve_forever()
        """

    private func startRealServers() throws {
        let python = Self.python
        for rs in plan.realServers {
            let root = "\(directory)/\(rs.name)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try plan.page(for: rs).write(toFile: "\(root)/index.html", atomically: true, encoding: .utf8)
            if FileManager.default.fileExists(atPath: transferPath) {
                try FileManager.default.linkItem(atPath: transferPath, toPath: "\(root)/transfer.bin")
            }
            switch plan.mode {
            case .dr:
                try shell.run(in: rs.namespace, [Self.selfPath, "realserver", "--vip", plan.vip, "--mode", "dr"])
            case .tun:
                _ = try shell.start(in: rs.namespace, [Self.selfPath, "realserver", "--vip", plan.vip, "--mode", "tun", "--interface", "eth0",
                                                             "--director", plan.directorServerSideIPv4],
                                    log: "\(directory)/\(rs.name)-realserver.log")
            case .nat, .fullnat:
                break
            }
            let pid = try shell.start(in: rs.namespace, [python, "-c", Self.httpServer, String(rs.port), root, plan.ipv6 ? "6" : "4"],
                                      log: "\(directory)/\(rs.name)-http.log")
            try waitForListener(pid: pid, port: rs.port, what: "\(rs.name)'s HTTP server")
            if plan.udp {
                let upid = try shell.start(in: rs.namespace, [python, "-c", Self.udpResponder, String(rs.port), plan.page(for: rs).trimmingCharacters(in: .newlines)],
                                           log: "\(directory)/\(rs.name)-udp.log")
                try waitForListener(pid: upid, port: rs.port, what: "\(rs.name)'s UDP responder", udp: true)
            }
        }
        if plan.mode == .tun {
            for rs in plan.realServers {
                try waitForLine(in: "\(directory)/\(rs.name)-realserver.log", containing: "decapsulating", what: "\(rs.name)'s IPIP helper")
            }
        }
    }

    /// Writes the phase's rules and starts `lvsd run` in the director namespace. lvsd reads
    /// `lvsd.rules` (and re-reads it on SIGHUP, which tests of a kept lab use); each phase's
    /// rules are also kept as lvsd-N.rules for the record.
    private func startDirector(rules: String, phase: Int) throws {
        let rulesPath = "\(directory)/lvsd.rules"
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        try rules.write(toFile: "\(directory)/lvsd-\(phase).rules", atomically: true, encoding: .utf8)
        var argv = [Self.selfPath, "run", "--config", rulesPath]
        for name in plan.directorInterfaces { argv += ["--interface", name] }
        argv += ["--engine", engine, "--workers", String(workers)]
        if let metricsListen { argv += ["--metrics-listen", metricsListen] }
        let pid = try shell.start(in: plan.director, argv, log: directorLog)
        directorPID = pid
        try waitForLine(in: directorLog, containing: "lvsd: running on", what: "lvsd", pid: pid)
        // The gratuitous ARP goes out right after; give the client's stack a moment.
        usleep(200_000)
        log("  lvsd running in \(plan.director) (pid \(pid)), rules in \(rulesPath)")
    }

    /// lvsd's log for the phase running now (each phase's lvsd starts a fresh one).
    private var directorLog: String { "\(directory)/lvsd.log" }

    /// Waits until `pid` listens on TCP `port` in its namespace (/proc/PID/net/tcp{,6}).
    private func waitForListener(pid: Int32, port: Int, what: String, udp: Bool = false, timeout: Double = 15) throws {
        let needle = ":" + String(format: "%04X", port)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for file in udp ? ["udp", "udp6"] : ["tcp", "tcp6"] {
                let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(file)", encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n").dropFirst() {
                    let fields = line.split(separator: " ")
                    if fields.count > 3, fields[1].hasSuffix(needle), fields[3] == (udp ? "07" : "0A") { return }
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

    /// SIGTERM to lvsd; what it printed after it stopped (its counters and table). The log
    /// is kept as lvsd-N.log for the phase's record.
    func stopDirector() -> LabDirectorExit? {
        guard let pid = directorPID else { return nil }
        directorPID = nil
        let killed = shell.stop(pid, timeout: 10)
        let text = (try? String(contentsOfFile: directorLog, encoding: .utf8)) ?? ""
        stoppedDirectors += 1
        try? FileManager.default.moveItem(atPath: directorLog, toPath: "\(directory)/lvsd-\(stoppedDirectors).log")
        let lines = text.split(separator: "\n").map(String.init)
        let start = lines.firstIndex(where: { $0.hasPrefix("lvsd: stopping") }) ?? lines.count
        return LabDirectorExit(lines: Array(lines[start...]) + (killed ? ["(lvsd did not stop within 10 s of SIGTERM and was killed)"] : []),
                               killed: killed)
    }
    private var stoppedDirectors = 0

    public func printLogsOnFailure() {
        for name in ["lvsd.log"] + plan.realServers.map({ "\($0.name)-realserver.log" }) {
            guard let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8), !text.isEmpty else { continue }
            FileHandle.standardError.write(Data("--- \(name)\n\(text)\n".utf8))
        }
    }

    /// Stops what the lab started (by PID), deletes its namespaces and files. Idempotent.
    /// The main thread and the signal handler may both get here: the first does the work, the
    /// other waits for it (returning early would let the process exit with the lab half removed).
    public func cleanUp() {
        cleanupLock.lock()
        defer { cleanupLock.unlock() }
        guard !cleanedUp else { return }
        cleanedUp = true
        shell.close()
        shell.stopAll()
        LabNetwork.teardown(prefix: plan.prefix, id: plan.id, shell: shell)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The stages of a run, in order, as `--step` announces them.
enum LabStage: Equatable {
    case network, realServers, director, requests
    /// Before phase N (2, 3, ...): lvsd is restarted with that phase's rules.
    case laterPhase(Int)
}

public struct LabError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
