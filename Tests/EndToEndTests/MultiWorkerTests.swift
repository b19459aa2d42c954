import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd run --workers 2` end to end, driven through `lvsd lab --workers 2 --json --keep`
/// (client, director and three real servers in namespaces `lvsl-<id>-*`, real HTTP with
/// curl): every request answered, per-server counts summing to the requests and within
/// N-1 of exact round robin, both workers holding connections, and no reply misrouted (a
/// NAT or FullNAT reply on the wrong worker would be passed as not-for-director or dropped
/// as no-connection, and the request would fail). Worker 1 never sees ARP: that it forwards
/// to the real servers at all shows the MACs worker 0 learned reached it through its
/// mailbox (the IPv4 labs resolve by ARP). The lab is kept so the test can stop lvsd
/// itself and read its exit summary (per-worker lines) before removing the lab.
@Suite(.serialized) struct MultiWorkerTests {
    struct Outcome: Decodable {
        let id: String
        let mode: String
        let workers: Int
        let requests: Int
        let failed: Int
        let responses: [String: Int]
    }

    struct WorkerLine: Equatable {
        var framesIn = 0, forwarded = 0, answered = 0, passed = 0, dropped = 0, connections = 0
    }

    /// What lvsd printed when it stopped.
    struct Summary {
        var totals = WorkerLine()
        var workers: [Int: WorkerLine] = [:]
        var passed: [String: Int] = [:]
        var dropped: [String: Int] = [:]
        /// ActiveConn + InActConn per real server row of the listing.
        var listed: [String: Int] = [:]
        var text = ""
    }

    static func numbers(_ line: Substring) -> [Int] {
        line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    }

    static func parse(_ log: String) -> Summary {
        var s = Summary()
        let lines = log.split(separator: "\n")
        guard let stop = lines.firstIndex(where: { $0.hasPrefix("lvsd: stopping") }) else { return s }
        s.text = lines[stop...].joined(separator: "\n")
        for line in lines[stop...] {
            if line.hasPrefix("lvsd: totals: ") {
                let n = numbers(line.dropFirst("lvsd: totals: ".count))
                if n.count == 6 { s.totals = WorkerLine(framesIn: n[0], forwarded: n[1], answered: n[2], passed: n[3], dropped: n[4], connections: n[5]) }
            } else if line.hasPrefix("lvsd:   worker ") {
                let n = numbers(line.dropFirst("lvsd:   worker ".count))
                if n.count == 7 { s.workers[n[0]] = WorkerLine(framesIn: n[1], forwarded: n[2], answered: n[3], passed: n[4], dropped: n[5], connections: n[6]) }
            } else if line.hasPrefix("lvsd:   passed ") || line.hasPrefix("lvsd:   dropped ") {
                let words = line.split(separator: " ")
                guard words.count == 4, let n = Int(words[3]) else { continue }
                let name = String(words[2].dropLast())
                if words[1] == "passed" { s.passed[name] = n } else { s.dropped[name] = n }
            } else if line.hasPrefix("  -> "), let first = line.split(separator: " ").dropFirst().first, first != "RemoteAddress:Port" {
                let fields = line.split(separator: " ")
                if fields.count >= 6, let active = Int(fields[fields.count - 2]), let inactive = Int(fields[fields.count - 1]) {
                    s.listed[String(first)] = active + inactive
                }
            }
        }
        return s
    }

    /// Runs the lab with `arguments`, stops its lvsd, and returns the lab's JSON and lvsd's summary.
    static func lab(_ arguments: [String]) throws -> (outcome: Outcome, summary: Summary, stderr: String) {
        let lab = try KeptLab(["--workers", "2"] + arguments)
        // Whatever happened, nothing of the lab stays: its processes and namespaces.
        defer { lab.tearDown() }
        guard let outcome = try? JSONDecoder().decode(Outcome.self, from: lab.outcome) else {
            Issue.record("lvsd lab \(arguments.joined(separator: " ")) printed an outcome without this suite's fields:\n\(String(decoding: lab.outcome, as: UTF8.self))")
            throw CancellationError()
        }
        let inDirector = lab.directorProcesses
        #expect(inDirector.count == 1, "expected lvsd alone in \(lab.namespace("director")), found \(inDirector)")
        if let pid = inDirector.first {
            #expect(KeptLab.stop(pid, seconds: 15), "lvsd (pid \(pid)) did not stop within 15 s of SIGTERM")
        }
        let log = (try? String(contentsOfFile: lab.directory + "/lvsd.log", encoding: .utf8)) ?? ""
        return (outcome, parse(log), lab.stderr)
    }

    static let requests = 24

    @Test("lvsd run --workers 2: every request answered, both workers used, no reply misrouted",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(3)),
          arguments: [["--mode", "nat"], ["--mode", "fullnat"], ["--mode", "dr"], ["--mode", "nat", "--ipv6"]])
    func twoWorkers(arguments: [String]) throws {
        let (outcome, summary, stderr) = try Self.lab(arguments + ["--requests", String(Self.requests)])
        let what = arguments.joined(separator: " ")
        #expect(outcome.workers == 2)
        #expect(outcome.failed == 0, "\(what): \(stderr)\n\(summary.text)")
        #expect(outcome.responses.count == 3)
        #expect(outcome.responses.values.reduce(0, +) == Self.requests, "\(outcome.responses)")
        // Round robin is exact per worker; summed over N workers each server is within N - 1
        // of what one round robin over every request gives (24 over 3: 8 each).
        #expect(outcome.responses.values.allSatisfy { (7...9).contains($0) }, "\(what): \(outcome.responses)")

        // Both workers took connections, and each connection lived on exactly one of them.
        #expect(summary.workers.keys.sorted() == [0, 1], "\(what): no per-worker lines:\n\(summary.text)")
        let w0 = summary.workers[0] ?? WorkerLine(), w1 = summary.workers[1] ?? WorkerLine()
        #expect(w0.framesIn > 0 && w1.framesIn > 0, "\(what): frames per worker \(w0.framesIn), \(w1.framesIn)")
        #expect(w0.connections > 0 && w1.connections > 0, "\(what): connections per worker \(w0.connections), \(w1.connections)")
        #expect(w0.connections + w1.connections == Self.requests, "\(what):\n\(summary.text)")
        #expect(summary.totals.connections == Self.requests)
        #expect(summary.totals.framesIn == w0.framesIn + w1.framesIn)
        #expect(summary.totals.forwarded == w0.forwarded + w1.forwarded)
        // The listing adds the workers' connections up per real server: the same spread the
        // client saw.
        #expect(summary.listed.values.reduce(0, +) == Self.requests, "\(what): listing \(summary.listed)")
        let listed = Dictionary(uniqueKeysWithValues: summary.listed.map { key, value in
            (key.hasPrefix("[") ? String(key.dropFirst().prefix { $0 != "]" }) : String(key.prefix { $0 != ":" }), value)
        })
        #expect(listed == outcome.responses, "\(what): listing \(summary.listed), client saw \(outcome.responses)")

        // Nothing misrouted: a reply on the wrong worker finds no connection there.
        #expect(summary.totals.dropped == 0, "\(what): drops \(summary.dropped)")
        #expect(summary.passed["not-for-director"] == nil, "\(what): \(summary.passed)")
        #expect(summary.dropped["no-connection"] == nil)
        // Only worker 0 handles ARP, neighbour solicitations and the director's own answers.
        #expect(w1.passed == 0 && w1.answered == 0, "\(what): worker 1 passed \(w1.passed), answered \(w1.answered)")
    }

    /// A persistent service: the fanout program steers by the client's masked address, so all
    /// of the one lab client's connections reach one worker, whose one template puts them
    /// all on one real server (per-worker templates alone would give each worker its own).
    @Test("lvsd run --workers 2 with a persistent service: one worker, one template, one real server",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(3)),
          arguments: ["nat", "fullnat"])
    func twoWorkersPersistent(mode: String) throws {
        let (outcome, summary, stderr) = try Self.lab(["--mode", mode, "--persistent", "300", "--requests", String(Self.requests)])
        #expect(outcome.failed == 0, "\(mode): \(stderr)\n\(summary.text)")
        #expect(outcome.responses.values.sorted() == [0, 0, Self.requests], "\(mode): \(outcome.responses)")
        // One worker holds the 24 connections and the template; the other none.
        let connections = summary.workers.values.map(\.connections).sorted()
        #expect(connections == [0, Self.requests + 1], "\(mode):\n\(summary.text)")
        #expect(summary.totals.dropped == 0, "\(mode): drops \(summary.dropped)")
        #expect(summary.passed["not-for-director"] == nil)
    }

    @Test func thePcapEngineRefusesSeveralWorkersAndBadCPUListsAreNamed() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let run = try Command.run(lvsd, ["run", "--config", "/nonexistent.rules", "--interface", "eth0",
                                         "--engine", "pcap", "--workers", "2"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--workers 2 needs --engine af_packet: libpcap has no fanout"), "\(run.stderr)")
        let cpus = try Command.run(lvsd, ["run", "--config", "/nonexistent.rules", "--interface", "eth0",
                                          "--workers", "2", "--cpus", "0,x"])
        #expect(cpus.status != 0)
        #expect(cpus.stderr.contains("--cpus takes CPU numbers separated by commas, e.g. 0,1; got '0,x'"), "\(cpus.stderr)")
    }
}
