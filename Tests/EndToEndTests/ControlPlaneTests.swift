import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 5 end to end: `lvsd run` as a daemon in a `lvsd lab --keep` lab, driven the way an
/// operator drives a director — lvsadm over the control socket, and SIGHUP after rewriting
/// `--config` (an ipvsadm rules file or a keepalived.conf). Each test has its own control
/// socket (`LVSD_SOCKET`, inherited by the lab's lvsd) and removes its lab in a `defer`.
///
/// The expectations follow IPVS: the TCP state machine of
/// net/netfilter/ipvs/ip_vs_proto_tcp.c (`tcp_states`: whichever side closes first, a
/// connection both sides closed ends in TIME_WAIT; one past the handshake is ESTABLISHED),
/// ActiveConn/InActConn as ip_vs_conn.c counts them (ESTABLISHED is active, the rest
/// inactive), the counters of ip_vs_core.c (`ip_vs_in_stats` per packet from the client,
/// `ip_vs_out_stats` per reply, `skb->len` bytes, one `conns` per new connection), and
/// keepalived's reload semantics (a bad file leaves the running configuration alone).
@Suite(.serialized) struct ControlPlaneTests {
    static let vip = "198.18.0.10"
    static let service = "198.18.0.10:80"

    /// One kept lab with its own lvsd and control socket.
    final class Lab {
        let kept: KeptLab
        let id: String
        let lvsd: String
        let lvsadmPath: String
        let socket: String
        let pid: Int32
        let mode: String
        var directory: String { kept.directory }
        var rulesPath: String { directory + "/lvsd.rules" }
        var logPath: String { directory + "/lvsd.log" }
        var client: String { kept.namespace("client") }
        var environment: [String: String] {
            var env = ProcessInfo.processInfo.environment
            env["LVSD_SOCKET"] = socket
            return env
        }

        /// `lvsd lab --mode MODE --keep --json --requests 1`, lvsd on a socket of its own.
        init(mode: String, tag: String) throws {
            lvsd = try BuiltExecutable.lvsd()
            lvsadmPath = URL(fileURLWithPath: lvsd).deletingLastPathComponent().appendingPathComponent("lvsadm").path
            guard FileManager.default.isExecutableFile(atPath: lvsadmPath) else {
                Issue.record("lvsadm not found next to lvsd (\(lvsadmPath)); build it with 'swift build'")
                throw CancellationError()
            }
            socket = "/tmp/lvsl-test-\(getpid())-\(tag).sock"
            unlink(socket)
            self.mode = mode
            let lab = try KeptLab(["--mode", mode, "--requests", "1"], environment: ["LVSD_SOCKET": socket])
            kept = lab
            id = lab.id
            let pids = lab.directorProcesses
            guard pids.count == 1 else {
                lab.tearDown()
                Issue.record("expected lvsd alone in \(lab.namespace("director")), found \(pids)")
                throw CancellationError()
            }
            pid = pids[0]
            let rules = (try? String(contentsOfFile: rulesPath, encoding: .utf8)) ?? ""
            directorLines = rules.split(separator: "\n").map(String.init).filter { $0.hasPrefix("interface ") || $0.hasPrefix("neighbour ") }
            if directorLines.isEmpty {
                teardown()
                Issue.record("no interface lines in the lab's \(rulesPath):\n\(rules)")
                throw CancellationError()
            }
        }

        /// Stops lvsd (SIGTERM, then SIGKILL), removes the namespaces, files and the socket.
        func teardown() {
            kept.tearDown()
            unlink(socket)
        }

        @discardableResult
        func lvsadm(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try Command.run(lvsadmPath, arguments, environment: environment)
        }

        /// lvsadm that must succeed; its standard output.
        func lvsadmOK(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let run = try lvsadm(arguments)
            #expect(run.status == 0, "lvsadm \(arguments.joined(separator: " ")) exited \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
            return run.stdout
        }

        func inClient(_ argv: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try Command.run("/usr/sbin/ip", ["netns", "exec", client] + argv)
        }

        /// One HTTP request to the VIP from the client: the body (the real server's name
        /// and address) and curl's local port, or nil when curl failed.
        func request() throws -> (body: String, port: Int)? {
            let run = try inClient(["curl", "-sS", "--connect-timeout", "2", "--max-time", "5",
                                    "-w", "\n%{local_port}", "http://\(ControlPlaneTests.service)/"])
            guard run.status == 0 else { return nil }
            let lines = run.stdout.split(separator: "\n").map(String.init)
            guard lines.count == 2, let port = Int(lines[1]) else { return nil }
            return (lines[0], port)
        }

        var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        func count(_ needle: String) -> Int { log.components(separatedBy: needle).count - 1 }

        /// Sends SIGHUP and waits for lvsd's verdict; true for "reload: done", false for a refusal.
        func reload(sourceLocation: SourceLocation = #_sourceLocation) -> Bool? {
            let done = count("lvsd: reload: done"), refused = count("lvsd: reload refused")
            kill(pid, SIGHUP)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if count("lvsd: reload: done") > done { return true }
                if count("lvsd: reload refused") > refused { return false }
                usleep(20_000)
            }
            Issue.record("lvsd logged no reload verdict within 10 s of SIGHUP:\n\(log)", sourceLocation: sourceLocation)
            return nil
        }

        /// The lab's `interface` and `neighbour` lines (what an lvsd_director block holds),
        /// read from the rules file the lab wrote, before any test rewrites it.
        private(set) var directorLines: [String] = []
    }


    // MARK: Reading lvsadm's output

    /// A `-L -n` (or `--stats`) listing: the service line's words and each real server's numbers.
    struct Listing {
        var service: [String] = []
        var rows: [String: [String]] = [:]

        init(_ text: String) {
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if words.first == "TCP" || words.first == "UDP" { service = words }
                if line.hasPrefix("  -> "), words.count > 2, words[1] != "RemoteAddress:Port" { rows[words[1]] = Array(words.dropFirst(2)) }
            }
        }

        func numbers(_ server: String) -> [Int] { rows[server, default: []].compactMap { Int($0) } }
        /// The service line's numbers (--stats: Conns InPkts OutPkts InBytes OutBytes).
        var serviceNumbers: [Int] { service.dropFirst(2).compactMap { Int($0) } }
    }

    static func realServer(_ i: Int) -> String { "198.18.1.1\(i):8080" }

    /// nft counters in the client's namespace: packets and bytes it sent to VIP:80 and
    /// received from it, counted by the client's own kernel (not by lvsd).
    static let clientCounters = """
        table inet lvstest {
            counter toVIP {}
            counter fromVIP {}
            chain out { type filter hook output priority 0; ip daddr 198.18.0.10 tcp dport 80 counter name toVIP; }
            chain in { type filter hook input priority 0; ip saddr 198.18.0.10 tcp sport 80 counter name fromVIP; }
        }
        """

    static func readCounter(_ lab: Lab, _ name: String) throws -> (packets: Int, bytes: Int) {
        let out = try lab.inClient(["nft", "list", "counter", "inet", "lvstest", name]).stdout
        let words = out.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        guard let p = words.firstIndex(of: "packets"), let b = words.firstIndex(of: "bytes"),
              let packets = Int(words[p + 1]), let bytes = Int(words[b + 1]) else {
            Issue.record("cannot read nft counter \(name): \(out)")
            return (-1, -1)
        }
        return (packets, bytes)
    }

    // MARK: 1. A service built with lvsadm alone

    static let requests = 9

    @Test("lvsadm builds a NAT service; -L -n, --stats (exact packets), -Z and -c match the traffic sent",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func serviceBuiltWithLvsadm() throws {
        let lab = try Lab(mode: "nat", tag: "build")
        defer { lab.teardown() }

        _ = try lab.lvsadmOK(["-C"])
        #expect(Listing(try lab.lvsadmOK(["-L", "-n"])).service.isEmpty)
        _ = try lab.lvsadmOK(["-A", "-t", Self.service, "-s", "rr"])
        for i in 1...3 { _ = try lab.lvsadmOK(["-a", "-t", Self.service, "-r", Self.realServer(i), "-m", "-w", "1"]) }
        let built = try lab.lvsadmOK(["-S", "-n"])
        #expect(built == """
            -A -t 198.18.0.10:80 -s rr
            -a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 1
            -a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1
            -a -t 198.18.0.10:80 -r 198.18.1.13:8080 -m -w 1

            """, "\(built)")

        // `-C` sent the lab's own connection (its one request) to the trash with its server,
        // as IPVS does with a deleted destination that connections still hold; adding the same
        // server back restores it with its connections and counters (ip_vs_trash_get_dest).
        // Count those, and zero the counters, so what follows is this test's traffic alone.
        var restored: [String: Int] = [:]
        for row in try lab.lvsadmOK(["-L", "-n", "-c"]).split(separator: "\n").dropFirst(2) {
            let words = row.split(separator: " ").map(String.init)
            if words.count == 6, words[0] == "TCP", words[4] == Self.service { restored[words[5], default: 0] += 1 }
        }
        #expect(restored.values.reduce(0, +) <= 1, "the lab sent one request: \(restored)")
        _ = try lab.lvsadmOK(["-Z"])

        // Count what the client exchanges with VIP:80 from here on, on the client's side.
        let file = lab.directory + "/client-counters.nft"
        try Self.clientCounters.write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = try lab.inClient(["nft", "-f", file])
        try #require(loaded.status == 0, "nft -f in the client namespace: \(loaded.stderr)")

        var served: [String: Int] = [:]
        var ports: [Int: String] = [:]
        for i in 1...Self.requests {
            let answer = try #require(try lab.request(), "request \(i) failed\n\(lab.log)")
            let name = String(answer.body.split(separator: " ").first ?? "")
            served[name, default: 0] += 1
            ports[answer.port] = answer.body.split(separator: " ").last.map { "\($0):8080" }
        }
        #expect(served == ["rs1": 3, "rs2": 3, "rs3": 3], "round robin over 9 requests: \(served)")
        #expect(ports.count == Self.requests)
        // Let the last ACKs of the closing handshakes arrive before counting.
        usleep(300_000)
        let sent = try Self.readCounter(lab, "toVIP"), received = try Self.readCounter(lab, "fromVIP")
        #expect(sent.packets >= Self.requests * 5 && received.packets >= Self.requests * 4, "client counted \(sent) out, \(received) in")

        // -L -n: every connection closed (TIME_WAIT, inactive), three per real server (and the
        // restored one).
        let listing = Listing(try lab.lvsadmOK(["-L", "-n"]))
        #expect(listing.service == ["TCP", Self.service, "rr"], "\(listing.service)")
        for i in 1...3 {
            // Forward Weight ActiveConn InActConn
            let inactive = 3 + restored[Self.realServer(i), default: 0]
            #expect(listing.rows[Self.realServer(i)] == ["Masq", "1", "0", "\(inactive)"], "\(Self.realServer(i)): \(listing.rows)")
        }

        // --stats: conns exactly the requests; packets and bytes exactly what the client's
        // kernel counted in each direction (NAT rewrites addresses, not lengths).
        let statsText = try lab.lvsadmOK(["-L", "-n", "--stats", "--exact"])
        let stats = Listing(statsText)
        #expect(stats.serviceNumbers == [Self.requests, sent.packets, received.packets, sent.bytes, received.bytes],
                "lvsd: \(stats.serviceNumbers), client counted conns \(Self.requests), out \(sent), in \(received)\n\(statsText)")
        var sums = [0, 0, 0, 0, 0]
        for i in 1...3 {
            let row = stats.numbers(Self.realServer(i))
            #expect(row.count == 5 && row[0] == 3, "\(Self.realServer(i)): \(row)")
            if row.count == 5 { for k in 0..<5 { sums[k] += row[k] } }
        }
        #expect(sums == stats.serviceNumbers, "real servers add up to the service")

        // -Z: the counters read zero (the connections stay).
        _ = try lab.lvsadmOK(["-Z"])
        let zeroed = Listing(try lab.lvsadmOK(["-L", "-n", "--stats", "--exact"]))
        #expect(zeroed.serviceNumbers == [0, 0, 0, 0, 0], "\(zeroed.service)")
        for i in 1...3 { #expect(zeroed.numbers(Self.realServer(i)) == [0, 0, 0, 0, 0], "\(zeroed.rows)") }

        // One more connection held open past the handshake: ESTABLISHED, active.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        holder.arguments = ["netns", "exec", lab.client, "python3", "-c",
                            "import socket,time; s=socket.create_connection(('198.18.0.10',80),timeout=3); print(s.getsockname()[1],flush=True); time.sleep(4)"]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGTERM) }; holder.waitUntilExit() }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let heldPort = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), "holder printed no port")
        usleep(200_000)

        // -c: the nine closed connections in TIME_WAIT to the server that answered each,
        // the held one ESTABLISHED.
        let connections = try lab.lvsadmOK(["-L", "-n", "-c"])
        #expect(connections.hasPrefix("IPVS connection entries\npro expire state       source             virtual            destination\n"), "\(connections)")
        var states: [Int: (state: String, destination: String)] = [:]
        for row in connections.split(separator: "\n").dropFirst(2) {
            let words = row.split(separator: " ").map(String.init)
            guard words.count == 6, words[0] == "TCP", words[3].hasPrefix("198.18.0.2:"), words[4] == Self.service,
                  let port = Int(words[3].dropFirst("198.18.0.2:".count)) else { continue }
            #expect(words[1].count == 5 && words[1].dropFirst(2).first == ":", "expiry mm:ss: \(row)")
            states[port] = (words[2], words[5])
        }
        for (port, destination) in ports {
            #expect(states[port]?.state == "TIME_WAIT", "port \(port): \(connections)")
            #expect(states[port]?.destination == destination, "port \(port) answered by \(destination): \(connections)")
        }
        let held = try #require(states[heldPort], "held connection from port \(heldPort) not listed:\n\(connections)")
        #expect(held.state == "ESTABLISHED", "\(connections)")
        let active = Listing(try lab.lvsadmOK(["-L", "-n"]))
        #expect(active.numbers(held.destination).prefix(2) == [1, 1], "weight 1, one active connection on \(held.destination): \(active.rows)")
        let sumActive = (1...3).map { active.numbers(Self.realServer($0)).dropFirst().first ?? -1 }.reduce(0, +)
        #expect(sumActive == 1, "\(active.rows)")
    }

    // MARK: 2. Reload under load

    /// The lab's rules with `weights` (nil: a server left out) for the three real servers.
    static func rules(_ lab: Lab, weights: [Int?]) -> String {
        var lines = ["# variant written by ControlPlaneTests"] + lab.directorLines
        lines.append("-A -t \(service) -s wrr")
        for (i, weight) in weights.enumerated() {
            guard let weight else { continue }
            lines.append("-a -t \(service) -r \(realServer(i + 1)) -m -w \(weight)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Valid variants in turn: weights changed, rs3 quiesced (weight 0: no new connections,
    /// so none is in flight when it goes), rs3 removed, rs3 added back, more weights.
    /// (lvsd, like IPVS with expire_nodest_conn, drops the connections of a removed real
    /// server; quiescing first is how an operator removes one without failing requests.)
    static let variants: [[Int?]] = [[3, 2, 1], [2, 2, 0], [2, 2, nil], [1, 1, 1], [1, 2, 3],
                                     [1, 1, 0], [1, 1, nil], [2, 1, 1], [1, 3, 1], [1, 1, 1]]
    /// Files lvsd must refuse: a rule with a bad weight, a line that is no rule, an
    /// unknown scheduler, a keepalived.conf with an unclosed block.
    static let badFiles: [(String, String)] = [
        ("-A -t 198.18.0.10:80 -s wrr\n-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w heavy\n", "weight"),
        ("this is not a rule\n", "line"),
        ("-A -t 198.18.0.10:80 -s nosuchscheduler\n", "scheduler"),
        ("virtual_server 198.18.0.10 80 {\n    lb_algo rr\n    real_server 198.18.1.11 8080 {\n", "keepalived"),
    ]

    @Test("300 requests keep succeeding while lvsd reloads 20 times, every other file bad",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func reloadUnderLoad() throws {
        let lab = try Lab(mode: "nat", tag: "reload")
        defer { lab.teardown() }
        let total = 300
        // A bounded stream: 300 requests, each at most 3 s, paced so the stream outlasts the reloads.
        let script = "for i in $(seq \(total)); do curl -sS --connect-timeout 2 --max-time 3 http://\(Self.service)/ || echo FAILED; sleep 0.02; done"
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        load.arguments = ["netns", "exec", lab.client, "bash", "-c", script]
        let out = Pipe(), err = Pipe()
        load.standardOutput = out
        load.standardError = err
        try load.run()
        defer { if load.isRunning { kill(load.processIdentifier, SIGTERM) } }
        let loadOutput = Command.Drained(out), loadErrors = Command.Drained(err)
        usleep(300_000)

        var reloadsDuringLoad = 0
        for k in 0..<20 {
            let before = try lab.lvsadmOK(["-S", "-n"])
            if k % 2 == 0 {
                let weights = Self.variants[k / 2]
                try Self.rules(lab, weights: weights).write(toFile: lab.rulesPath, atomically: true, encoding: .utf8)
                #expect(lab.reload() == true, "variant \(weights) refused:\n\(lab.log)")
                let after = try lab.lvsadmOK(["-S", "-n"])
                var expected = "-A -t \(Self.service) -s wrr\n"
                for (i, weight) in weights.enumerated() {
                    if let weight { expected += "-a -t \(Self.service) -r \(Self.realServer(i + 1)) -m -w \(weight)\n" }
                }
                #expect(after == expected, "after variant \(weights):\n\(after)")
            } else {
                let (text, what) = Self.badFiles[(k / 2) % Self.badFiles.count]
                let refusals = lab.count("lvsd: reload refused, the running configuration stays: ")
                let director = what == "keepalived"
                    ? "lvsd_director {\n" + lab.directorLines.joined(separator: "\n") + "\n}\n"
                    : lab.directorLines.joined(separator: "\n") + "\n"
                try (director + text).write(toFile: lab.rulesPath, atomically: true, encoding: .utf8)
                #expect(lab.reload() == false, "bad file (\(what)) accepted:\n\(lab.log)")
                #expect(lab.count("lvsd: reload refused, the running configuration stays: ") == refusals + 1)
                #expect(try lab.lvsadmOK(["-S", "-n"]) == before, "bad file (\(what)) changed the running configuration")
            }
            if load.isRunning { reloadsDuringLoad += 1 }
            usleep(150_000)
        }
        #expect(reloadsDuringLoad == 20, "the load ended before the reloads did")
        load.waitUntilExit()
        let lines = loadOutput.text.split(separator: "\n")
        let failed = lines.filter { $0 == "FAILED" }.count
        let answered = lines.filter { $0.hasPrefix("rs") }.count
        #expect(failed == 0 && answered == total,
                "\(answered) answered, \(failed) failed of \(total): \(loadErrors.text.prefix(2000))\n\(lab.log)")
        #expect(lab.count("lvsd: reload: done") == 10)
        #expect(lab.count("lvsd: configuration swapped in: ") >= 10)
    }

    // MARK: 3. Seed 002's keepalived.conf

    /// The fixture's text with seed 002's addresses mapped onto the DR lab's (VIP
    /// 192.168.58.133 → 198.18.0.10, real servers .135/.136 → 198.18.0.11/.12), each
    /// HTTP_GET digest set to the MD5 of the page that server serves, and an lvsd_director
    /// block with the lab's interface lines.
    static func seed002(_ lab: Lab) throws -> String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        dir.appendPathComponent("ControlTests/Fixtures/seed-002-keepalived.conf")
        var text = try String(contentsOf: dir, encoding: .utf8)
        for (from, to) in [("192.168.58.133", "198.18.0.10"), ("192.168.58.135", "198.18.0.11"), ("192.168.58.136", "198.18.0.12")] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        // Both servers carry the same digest in the seed; each lab server's page differs.
        var parts = text.components(separatedBy: "digest aa150255da35870c218c9be8cea310f3")
        #expect(parts.count == 3, "the seed's two digests")
        if parts.count == 3 {
            let md5 = { (page: String) throws -> String in
                let run = try Command.run("/usr/bin/env", ["python3", "-c", "import hashlib,sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())", page])
                return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            parts[0] += "digest " + (try md5("rs1 198.18.0.11\n"))
            parts[1] += "digest " + (try md5("rs2 198.18.0.12\n"))
            text = parts.joined()
        }
        return text + "\nlvsd_director {\n" + lab.directorLines.map { "    " + $0 }.joined(separator: "\n") + "\n}\n"
    }

    @Test("seed 002's keepalived.conf, mapped to the DR lab and loaded by SIGHUP, drives traffic",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func seed002KeepalivedConf() throws {
        let lab = try Lab(mode: "dr", tag: "seed002")
        defer { lab.teardown() }
        try Self.seed002(lab).write(toFile: lab.rulesPath, atomically: true, encoding: .utf8)
        #expect(lab.reload() == true, "\(lab.log)")
        let listing = try lab.lvsadmOK(["-L", "-n"])
        let parsed = Listing(listing)
        #expect(parsed.service == ["TCP", "198.18.0.10:80", "rr", "persistent", "50"], "\(listing)")
        #expect(parsed.rows.keys.sorted() == ["198.18.0.11:80", "198.18.0.12:80"], "\(listing)")
        #expect(parsed.rows.values.allSatisfy { $0.prefix(2) == ["Route", "1"] }, "\(listing)")
        #expect(lab.log.contains("lvsd: health: checking 2 real servers"), "\(lab.log)")
        // The service (same protocol, address, port) is kept across the reload, counters
        // and all, as IPVS keeps a service keepalived edits: count from here.
        let before = Listing(try lab.lvsadmOK(["-L", "-n", "--stats", "--exact"])).serviceNumbers.first ?? -1

        // Persistence 50 s: all of the one client's requests go to one of the two servers.
        var served: [String: Int] = [:]
        for i in 1...6 {
            let answer = try #require(try lab.request(), "request \(i) failed\n\(lab.log)")
            served[String(answer.body.split(separator: " ").first ?? ""), default: 0] += 1
        }
        #expect(served.count == 1 && ["rs1", "rs2"].contains(served.keys.first ?? "") && served.values.first == 6, "\(served)")
        let after = Listing(try lab.lvsadmOK(["-L", "-n", "--stats", "--exact"]))
        // The HTTP_GET checkers (digests of the lab pages) kept both servers in.
        #expect(after.rows.count == 2, "\(after.rows)\n\(lab.log)")
        #expect(after.serviceNumbers.first == before + 6, "six more connections counted: \(before) before, \(after.service)")
    }

    // MARK: 4. Every scheduler, from lvsadm and from keepalived.conf

    static let schedulers = ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "fo", "ovf", "twos", "lblc", "lblcr", "mh"]

    static func keepalived(_ lab: Lab, scheduler: String) -> String {
        var text = "lvsd_director {\n" + lab.directorLines.map { "    " + $0 }.joined(separator: "\n") + "\n}\n\n"
        text += "virtual_server 198.18.0.10 80 {\n    lb_algo \(scheduler)\n    lb_kind NAT\n    protocol TCP\n"
        for i in 1...3 { text += "    real_server 198.18.1.1\(i) 8080 {\n        weight 1\n    }\n" }
        return text + "}\n"
    }

    @Test("every scheduler is selectable with lvsadm -E and with keepalived.conf's lb_algo, and forwards",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func everyScheduler() throws {
        let lab = try Lab(mode: "nat", tag: "sched")
        defer { lab.teardown() }
        for scheduler in Self.schedulers {
            _ = try lab.lvsadmOK(["-E", "-t", Self.service, "-s", scheduler])
            let listing = Listing(try lab.lvsadmOK(["-L", "-n"]))
            #expect(Array(listing.service.prefix(3)) == ["TCP", Self.service, scheduler], "lvsadm -E -s \(scheduler): \(listing.service)")
            for i in 1...3 { #expect(try lab.request() != nil, "\(scheduler) (lvsadm) request \(i) failed") }

            try Self.keepalived(lab, scheduler: scheduler).write(toFile: lab.rulesPath, atomically: true, encoding: .utf8)
            #expect(lab.reload() == true, "lb_algo \(scheduler) refused:\n\(lab.log.suffix(1500))")
            let reloaded = Listing(try lab.lvsadmOK(["-L", "-n"]))
            #expect(Array(reloaded.service.prefix(3)) == ["TCP", Self.service, scheduler], "lb_algo \(scheduler): \(reloaded.service)")
            #expect(reloaded.rows.count == 3)
            for i in 1...3 { #expect(try lab.request() != nil, "\(scheduler) (keepalived.conf) request \(i) failed") }
        }
    }
}
