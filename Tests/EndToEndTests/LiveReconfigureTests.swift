import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd run` re-reading its rules on SIGHUP while traffic flows (issue 3), end to end in the
/// namespace lab (`lvsd lab --keep --json`, then this test drives the kept lab): the test
/// rewrites the lab's `lvsd.rules`, sends lvsd SIGHUP and checks what the client and the
/// real servers see.
///
/// - Weight 0 is keepalived's and ipvsadm's way to drain a server: IPVS keeps its
///   connections (ip_vs_ctl.c `ip_vs_edit_dest` changes only the weight) and the schedulers
///   skip it (ip_vs_rr.c `ip_vs_rr_schedule` passes over `weight == 0`). A 100 MiB download,
///   rate-limited so it spans the swap, must finish byte for byte while new requests go only
///   to the other servers.
/// - A server removed from the file is deleted (ip_vs_ctl.c `ip_vs_del_dest`): no new
///   connection reaches it; put back, it is scheduled again (which needs lvsd to resolve its
///   MAC again, its route having gone with it).
///
/// Who answered is read twice: from the body (each real server names itself) and from the
/// real servers' own HTTP logs, so a request that reached the wrong server cannot hide.
@Suite(.serialized) struct LiveReconfigureTests {
    struct Setup: CustomTestStringConvertible, Sendable {
        let mode: String
        let workers: Int
        var testDescription: String { "\(mode), \(workers) worker\(workers == 1 ? "" : "s")" }
        var arguments: [String] { ["--mode", mode, "--workers", String(workers)] }
    }

    static let setups = [Setup(mode: "nat", workers: 1), Setup(mode: "dr", workers: 1), Setup(mode: "nat", workers: 2)]
    /// FullNAT's removal too (its local port pools are remapped); its drain is left out to keep
    /// the suite near two minutes (each drain case takes about 20 s).
    static let removalSetups = setups + [Setup(mode: "fullnat", workers: 1)]

    /// Short requests sent after each swap: with rr over the two servers left, each gets some.
    static let requests = 8
    /// During the drain: of 6 over at most two workers one schedules 3, enough for both others.
    static let drainRequests = 6

    @Test("weight 0 during a 100 MiB download: the download finishes intact on its server, new requests all go elsewhere",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)),
          arguments: setups)
    func weightZeroDrains(setup: Setup) throws {
        let lab = try Lab.start(setup, transferMB: 100)
        defer { lab.tearDown() }
        let expectedSHA256 = try #require(lab.outcome.transfer?.expectedSHA256)
        #expect(lab.outcome.transfer?.match == true, "the lab's own download failed: \(lab.outcome)")

        // 100 MiB at 12 MiB/s: eight seconds, so the swap and the short requests (each an `ip
        // netns exec curl`, slow on a loaded machine) land in the middle of it.
        let transfersBefore = lab.servers.map { lab.logged($0, path: "/transfer.bin") }
        let download = try lab.startDownload(limitRate: "12M")
        defer { download.stop() }
        let served = try lab.waitForEstablishedConnection(while: download)
        let quiesced = try #require(lab.servers.first { $0.endpoint == served },
                                    "the download's destination \(served) is none of \(lab.servers.map(\.endpoint))")

        try lab.rewriteRules { line in
            line.hasPrefix("-a ") && line.contains(" -r \(quiesced.endpoint) ")
                ? line.replacing(/-w \d+/, with: "-w 0") : line
        }
        let swap = try lab.reload()
        #expect(swap.realServersKept == 3 && swap.realServersAdded == 0 && swap.realServersRemoved == 0, "\(swap.line)")
        #expect(swap.connectionsOnRemoved == 0, "a weight change removed a server: \(swap.line)")
        #expect(swap.schedulersRebuilt == 1, "only the quiesced server's service changed: \(swap.line)")
        #expect(download.isRunning, "the download ended before the swap: the test proved nothing")

        // The director still counts the download on the quiesced server, now at weight 0.
        let row = try lab.listedRealServer(quiesced)
        #expect(row.weight == 0, "\(row.line)")
        #expect(row.active >= 1, "the download's connection is gone from the director's table: \(row.line)")

        let pagesBefore = lab.logged(quiesced, path: "/")
        let answers = lab.send(Self.drainRequests)
        #expect(answers.failures.isEmpty, "\(answers.failures)")
        #expect(answers.counts[quiesced.name] == nil, "a new connection went to the quiesced \(quiesced.name): \(answers.counts)")
        #expect(answers.counts.values.reduce(0, +) == Self.drainRequests)
        #expect(Set(answers.counts.keys) == Set(lab.servers.map(\.name)).subtracting([quiesced.name]), "\(answers.counts)")
        #expect(lab.logged(quiesced, path: "/") == pagesBefore, "\(quiesced.name)'s own log shows a new request")
        #expect(download.isRunning, "the download ended before the short requests did: the test proved less than it says")

        let finished = download.wait(seconds: 60)
        #expect(finished.status == 0, "curl: \(finished.stderr)")
        #expect(finished.bytes == 100 * 1_048_576)
        #expect(Command.sha256(download.target) == expectedSHA256)
        // The real servers' own logs agree on who served it (http.server logs a request as it
        // starts the response).
        let transfersAfter = lab.servers.map { lab.logged($0, path: "/transfer.bin") }
        let perServer = zip(transfersBefore, transfersAfter).map { $1 - $0 }
        #expect(perServer == lab.servers.map { $0.name == quiesced.name ? 1 : 0 },
                "transfer.bin requests per server in their own logs: \(perServer); the director said \(quiesced.name)")
        #expect(!lab.log.contains("reload refused"), "\(lab.log)")
    }

    @Test("a real server removed from the rules gets no new connection; put back, it is scheduled again",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)),
          arguments: removalSetups)
    func removeAndRestore(setup: Setup) throws {
        let lab = try Lab.start(setup, transferMB: nil)
        defer { lab.tearDown() }
        let original = try String(contentsOfFile: lab.rulesPath, encoding: .utf8)
        let removed = lab.servers[1]
        // The lab's own requests left connections (closing or TIME_WAIT) on it: the swap leaves
        // them to expire on their next packet or at their timeout, listed until then as IPVS's are.
        let held = try lab.connections(to: removed)

        try lab.rewriteRules { line in
            line.hasPrefix("-a ") && line.contains(" -r \(removed.endpoint) ") ? nil : line
        }
        let removal = try lab.reload()
        #expect(removal.realServersRemoved == 1 && removal.realServersKept == 2 && removal.realServersAdded == 0, "\(removal.line)")
        #expect(removal.connectionsOnRemoved == held, "listed \(held) connections to \(removed.endpoint) before: \(removal.line)")
        #expect(try lab.connections(to: removed) == held, "the swap walked the table")
        #expect(!(try lab.listing()).contains(removed.endpoint + " "), "lvsadm still lists \(removed.endpoint)")

        let pagesBefore = lab.logged(removed, path: "/")
        let without = lab.send(Self.requests)
        #expect(without.failures.isEmpty, "\(without.failures)")
        #expect(without.counts[removed.name] == nil, "a new connection went to the removed \(removed.name): \(without.counts)")
        #expect(without.counts.values.reduce(0, +) == Self.requests)
        #expect(lab.logged(removed, path: "/") == pagesBefore, "\(removed.name)'s own log shows a new request")

        try original.write(toFile: lab.rulesPath, atomically: true, encoding: .utf8)
        let restore = try lab.reload()
        #expect(restore.realServersAdded == 1 && restore.realServersKept == 2 && restore.realServersRemoved == 0, "\(restore.line)")
        #expect(restore.connectionsOnRemoved == 0, "\(restore.line)")

        // Any three consecutive rr picks include every server, and of 9 requests over at
        // most two workers one worker schedules at least 5.
        let with = lab.send(Self.requests + 1)
        #expect(with.failures.isEmpty, "\(with.failures)")
        #expect(with.counts.values.reduce(0, +) == Self.requests + 1)
        #expect((with.counts[removed.name] ?? 0) >= 1, "\(removed.name) got nothing after it was put back: \(with.counts)")
        if setup.workers == 1 {
            #expect(with.counts.values.sorted() == [3, 3, 3], "rr restarts over three servers: \(with.counts)")
        }
        #expect(lab.logged(removed, path: "/") == pagesBefore + (with.counts[removed.name] ?? 0))
        #expect(!lab.log.contains("reload refused"), "\(lab.log)")
    }

    // MARK: The kept lab

    struct Outcome: Decodable {
        let id: String
        let failed: Int
        let transfer: Transfer?
    }
    struct Transfer: Decodable {
        let expectedSHA256: String
        let match: Bool
    }

    /// A real server of the lab: its name (what its page and its namespace say), its address
    /// and its `-r` endpoint in the rules file.
    struct Server {
        let name: String
        let address: String
        let endpoint: String
    }

    /// What one swap did, from lvsd's "configuration swapped in" line.
    struct Swap {
        var line: String
        var realServersAdded = -1, realServersRemoved = -1, realServersKept = -1
        var schedulersRebuilt = -1, connectionsOnRemoved = -1
    }

    final class Lab {
        let kept: KeptLab
        let outcome: Outcome
        let lvsd: String
        let lvsadm: String
        let socket: String
        let directory: String
        var servers: [Server] = []
        private var url = ""
        private var torn = false

        var id: String { outcome.id }
        var rulesPath: String { directory + "/lvsd.rules" }
        var logPath: String { directory + "/lvsd.log" }
        var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
        func namespace(_ part: String) -> String { kept.namespace(part) }

        private init(kept: KeptLab, outcome: Outcome, socket: String) {
            self.kept = kept
            self.outcome = outcome
            lvsd = kept.lvsd
            lvsadm = URL(fileURLWithPath: lvsd).deletingLastPathComponent().appendingPathComponent("lvsadm").path
            self.socket = socket
            directory = kept.directory
        }

        /// Builds and keeps a lab; lvsd in it listens on a control socket of this test's own.
        static func start(_ setup: Setup, transferMB: Int?) throws -> Lab {
            let socket = "/tmp/lvsl-test-\(getpid()).sock"
            var arguments = ["--requests", "3"] + setup.arguments
            if let transferMB { arguments += ["--transfer", String(transferMB)] }
            let kept = try KeptLab(arguments, environment: ["LVSD_SOCKET": socket])
            guard let outcome = try? JSONDecoder().decode(Outcome.self, from: kept.outcome) else {
                kept.tearDown()
                Issue.record("lvsd lab \(arguments.joined(separator: " ")) printed an outcome without this suite's fields:\n\(String(decoding: kept.outcome, as: UTF8.self))")
                throw CancellationError()
            }
            let lab = Lab(kept: kept, outcome: outcome, socket: socket)
            do {
                #expect(outcome.failed == 0, "the lab's own requests failed:\n\(kept.stderr)")
                try lab.readServers()
                _ = try lab.director()
            } catch {
                lab.tearDown()
                throw error
            }
            return lab
        }

        /// Every process in the lab's namespaces (lvsd, the HTTP servers, a curl still
        /// running), the namespaces and the files go; idempotent.
        func tearDown() {
            guard !torn else { return }
            torn = true
            kept.tearDown()
            unlink(socket)
        }

        /// Names and addresses from each server's page, endpoints from the rules' `-r`.
        private func readServers() throws {
            let rules = try String(contentsOfFile: rulesPath, encoding: .utf8)
            var endpoints: [String] = []
            for line in rules.split(separator: "\n") where line.hasPrefix("-a ") {
                let words = line.split(separator: " ")
                if let r = words.firstIndex(of: "-r"), r + 1 < words.count { endpoints.append(String(words[r + 1])) }
                if url.isEmpty, words.count > 2 { url = "http://\(words[2])/" }
            }
            for index in 1...3 {
                let page = try String(contentsOfFile: "\(directory)/rs\(index)/index.html", encoding: .utf8)
                let words = page.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                guard words.count == 2, let endpoint = endpoints.first(where: {
                    $0.hasPrefix(words[1] + ":") || $0.hasPrefix("[\(words[1])]:")
                }) else { throw LiveReconfigureError("rs\(index)'s page '\(page)' matches no -r in \(endpoints)") }
                servers.append(Server(name: words[0], address: words[1], endpoint: endpoint))
            }
        }

        /// lvsd's pid: the one process in the director's namespace.
        func director() throws -> Int32 {
            let out = try Command.run("/usr/sbin/ip", ["netns", "pids", namespace("director")]).stdout
            let pids = out.split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
            guard pids.count == 1 else { throw LiveReconfigureError("expected lvsd alone in \(namespace("director")), found \(pids)") }
            return pids[0]
        }

        func rewriteRules(_ transform: (String) -> String?) throws {
            let rules = try String(contentsOfFile: rulesPath, encoding: .utf8)
            let lines = rules.split(separator: "\n", omittingEmptySubsequences: false).compactMap { transform(String($0)) }
            try lines.joined(separator: "\n").write(toFile: rulesPath, atomically: true, encoding: .utf8)
        }

        /// SIGHUP to lvsd; waits for its "reload: done" and returns the swap it logged.
        func reload() throws -> Swap {
            let done = "lvsd: reload: done"
            let before = log.components(separatedBy: done).count
            let refusedBefore = log.components(separatedBy: "reload refused").count
            kill(try director(), SIGHUP)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let text = log
                if text.components(separatedBy: "reload refused").count > refusedBefore {
                    throw LiveReconfigureError("lvsd refused the new rules:\n\(text)")
                }
                if text.components(separatedBy: done).count > before {
                    guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("lvsd: configuration swapped in:") })
                    else { throw LiveReconfigureError("reload done but no swap logged:\n\(text)") }
                    let n = String(line).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                    var swap = Swap(line: String(line))
                    if n.count == 8 {
                        (swap.realServersAdded, swap.realServersRemoved, swap.realServersKept) = (n[3], n[4], n[5])
                        (swap.schedulersRebuilt, swap.connectionsOnRemoved) = (n[6], n[7])
                    }
                    return swap
                }
                usleep(20_000)
            }
            throw LiveReconfigureError("lvsd did not finish the reload within 10 s of SIGHUP:\n\(log)")
        }

        struct Answers {
            var counts: [String: Int] = [:]
            var failures: [String] = []
        }

        /// `count` short requests from the client, each on a new connection.
        func send(_ count: Int) -> Answers {
            var answers = Answers()
            for i in 1...count {
                guard let run = try? Command.run("/usr/sbin/ip", ["netns", "exec", namespace("client"), "curl", "-sS", "-g",
                                                                  "--connect-timeout", "2", "--max-time", "5", url]) else {
                    answers.failures.append("request \(i): curl did not start")
                    continue
                }
                let name = run.stdout.split(separator: " ").first.map(String.init) ?? ""
                if run.status == 0, servers.contains(where: { $0.name == name }) {
                    answers.counts[name, default: 0] += 1
                } else {
                    answers.failures.append("request \(i): exit \(run.status), '\(run.stdout)' \(run.stderr)")
                }
            }
            return answers
        }

        /// Requests for `path` in a real server's own HTTP log (http.server logs each one
        /// when it has answered).
        func logged(_ server: Server, path: String) -> Int {
            let text = (try? String(contentsOfFile: "\(directory)/\(server.name)-http.log", encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\"GET \(path) HTTP/").count - 1
        }

        func lvsadmRun(_ arguments: [String]) throws -> String {
            let run = try Command.run(lvsadm, arguments, environment: ["LVSD_SOCKET": socket])
            guard run.status == 0 else { throw LiveReconfigureError("lvsadm \(arguments.joined(separator: " ")) exited \(run.status): \(run.stderr)") }
            return run.stdout
        }

        func listing() throws -> String { try lvsadmRun(["-L", "-n"]) }

        /// Connection entries (`lvsadm -L -n -c`) whose destination is `server`.
        func connections(to server: Server) throws -> Int {
            try lvsadmRun(["-L", "-n", "-c"]).split(separator: "\n").count { $0.hasSuffix(" " + server.endpoint) }
        }

        struct Row {
            var line: String
            var weight = -1, active = -1, inactive = -1
        }

        /// The server's `-> RIP:port Forward Weight ActiveConn InActConn` row.
        func listedRealServer(_ server: Server) throws -> Row {
            let text = try listing()
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("  -> \(server.endpoint) ") }) else {
                throw LiveReconfigureError("lvsadm -L -n does not list \(server.endpoint):\n\(text)")
            }
            let fields = line.split(separator: " ")
            var row = Row(line: String(line))
            if fields.count == 6, let w = Int(fields[3]), let a = Int(fields[4]), let i = Int(fields[5]) {
                (row.weight, row.active, row.inactive) = (w, a, i)
            }
            return row
        }

        /// The one ESTABLISHED entry in the director's table once the download runs: its
        /// destination. Waits up to 5 s (curl's handshake).
        func waitForEstablishedConnection(while download: Download) throws -> String {
            let deadline = Date().addingTimeInterval(5)
            var text = ""
            while Date() < deadline {
                text = try lvsadmRun(["-L", "-n", "-c"])
                let established = text.split(separator: "\n").filter { $0.split(separator: " ").dropFirst(2).first == "ESTABLISHED" }
                if established.count == 1, let destination = established[0].split(separator: " ").last { return String(destination) }
                if established.count > 1 { throw LiveReconfigureError("more than one ESTABLISHED connection:\n\(text)") }
                guard download.isRunning else { break }
                usleep(50_000)
            }
            throw LiveReconfigureError("no ESTABLISHED connection for the download (curl running: \(download.isRunning)):\n\(text)")
        }

        func startDownload(limitRate: String) throws -> Download {
            try Download(lab: self, limitRate: limitRate)
        }
    }

    /// curl fetching `transfer.bin` from the VIP in the client's namespace, in the background.
    final class Download {
        let process = Process()
        let target: String
        private let errorPath: String

        init(lab: Lab, limitRate: String) throws {
            target = lab.directory + "/live-download.bin"
            errorPath = lab.directory + "/live-download.err"
            let url = try lab.urlForTransfer()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", lab.namespace("client"), "curl", "-sS", "-g", "--connect-timeout", "2",
                                 "--max-time", "60", "--limit-rate", limitRate, "-o", target, url]
            _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
            let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try? errors.close()
        }

        var isRunning: Bool { process.isRunning }

        func wait(seconds: Double) -> (status: Int32, bytes: Int, stderr: String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { stop() }
            process.waitUntilExit()
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? Int) ?? 0
            let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            return (process.terminationStatus, bytes, stderr)
        }

        /// Kills curl if it still runs (ip netns exec execs it, so the pid is curl's).
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }
}

extension LiveReconfigureTests.Lab {
    func urlForTransfer() throws -> String {
        let rules = try String(contentsOfFile: rulesPath, encoding: .utf8)
        guard let line = rules.split(separator: "\n").first(where: { $0.hasPrefix("-A -t ") }) else {
            throw LiveReconfigureError("no TCP service in \(rulesPath)")
        }
        return "http://\(line.split(separator: " ")[2])/transfer.bin"
    }
}

struct LiveReconfigureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
