import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End to end through the live director: `lvsd lab` builds a client, a director (`lvsd run`)
/// and three real servers (Python's HTTP server and a UDP responder) in network namespaces
/// and sends real traffic through lvsd. One lab run per forwarding method × address family ×
/// packet engine (AF_PACKET with 1 and 2 workers, libpcap) does the whole proof in one
/// namespace setup (with 2 workers the spreads are within `tolerance` of exact):
/// - phase 1, rr: 12 curl requests, each a new connection, all answered, 4/4/4; 12 UDP
///   datagrams from new source ports, none lost, 4/4/4, every reply from the VIP; a 100 MiB
///   download whose sha256 at the client equals the served file's;
/// - phase 2, wrr 3,2,1 (lvsd restarted in the same lab): 12 requests split exactly 6/4/2;
/// - phase 3, rr -p 300: 12 requests all on one real server;
/// - what the real servers saw: NAT and FullNAT serve VIP:80 on RIP:8080; FullNAT servers have
///   no route to the client and see only the LIPs; the others see the client's address;
/// - every lvsd stopped cleanly, dropped nothing and removed its nftables table, and nothing
///   (namespace, process, work directory) is left behind.
@Suite(.serialized) struct LabTests {
    struct Outcome: Decodable {
        let id: String
        let mode: String
        let engine: String
        let workers: Int
        let ipv6: Bool
        let scheduler: String
        let vip: String
        let vport: Int
        let requests: Int
        let failed: Int
        let responses: [String: Int]
        let phases: [Phase]
        let realServers: [RealServer]
        let udp: UDP?
        let transfer: Transfer?
        let upload: Transfer?
    }
    struct Phase: Decodable {
        let spec: String
        let scheduler: String
        let weights: [Int]?
        let persistent: Int?
        let localAddress: String?
        let requests: Int
        let failed: Int
        let unexpected: Int
        let responses: [String: Int]
        let director: Director?
    }
    struct Director: Decodable {
        let totals: [String: Int]
        let counters: [String: Int]
        let hostSettingsRemoved: Bool
        let killed: Bool
    }
    struct RealServer: Decodable {
        let name: String
        let address: String
        let port: Int
        let routeToClient: Bool
        let httpPeers: [String]
        let udpPeers: [String]
    }
    struct UDP: Decodable {
        let sent: Int
        let lost: Int
        let unexpected: Int
        let responses: [String: Int]
        let replySources: [String]
    }
    struct Transfer: Decodable {
        let bytes: Int
        let receivedBytes: Int
        let expectedSHA256: String
        let receivedSHA256: String
        let match: Bool
        let seconds: Double
    }

    /// One lab: forwarding method, address family, packet engine, workers.
    struct Case: Sendable, CustomTestStringConvertible {
        let mode: String
        let ipv6: Bool
        let engine: String
        var workers = 1
        var testDescription: String {
            "\(mode) \(ipv6 ? "IPv6" : "IPv4") \(engine)" + (workers > 1 ? " ×\(workers) workers" : "")
        }
        var arguments: [String] {
            ["--mode", mode, "--engine", engine, "--workers", String(workers)] + (ipv6 ? ["--ipv6"] : [])
        }
    }

    /// NAT, DR, FullNAT and TUN over IPv4, NAT, DR and FullNAT over IPv6 (TUN is IPIP, IPv4
    /// only), each through both engines and through AF_PACKET with 2 workers.
    static let matrix: [Case] = [("af_packet", 1), ("pcap", 1), ("af_packet", 2)].flatMap { engine, workers in
        [("nat", false), ("dr", false), ("fullnat", false), ("tun", false), ("nat", true), ("dr", true), ("fullnat", true)]
            .map { Case(mode: $0.0, ipv6: $0.1, engine: engine, workers: workers) }
    }

    /// How far a phase's spread may be from the scheduler's exact one. One worker schedules
    /// every connection: exact. With N workers each schedules its own share independently (as
    /// DPVS per lcore, Docs/adr/0002): each worker's sequence is exact, their sum is not.
    /// rr: each worker's prefix is within 1 of k/3 per server, and the two prefixes' errors
    /// cancel to at most N − 1. wrr 3,2,1 (IPVS's sequence A A B A B C): a prefix of 2 is
    /// (2,0,0) against (1,0.67,0.33), so two workers' sum can be 2 off per server, e.g. 2 + 10
    /// requests give 8/3/1.
    static func tolerance(_ scheduler: String, workers: Int) -> Int {
        workers == 1 ? 0 : (scheduler == "wrr" ? 2 * (workers - 1) : workers - 1)
    }

    // MARK: Running the lab

    struct LabRun {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The lab's id: its pid, which names its namespaces (lvsl-<id>-*).
        let id: String
        let seconds: Double
        var outcome: Outcome? {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            return try? JSONDecoder().decode(Outcome.self, from: Data(line.utf8))
        }
    }

    /// Runs `lvsd lab ARGS`, output to files (nothing to fill), and bounds it: at `limit`
    /// seconds, or as soon as stderr contains `interruptOn`, it gets SIGINT (the lab removes
    /// itself and exits 130); 30 s later SIGKILL. The caller checks for leftovers either way.
    static func lab(_ arguments: [String], limit: Double = 240, interruptOn: String? = nil) throws -> LabRun {
        let lvsd = try BuiltExecutable.lvsd()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-labtests-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
        #expect(FileManager.default.createFile(atPath: outURL.path, contents: nil))
        #expect(FileManager.default.createFile(atPath: errURL.path, contents: nil))
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lvsd)
        process.arguments = ["lab"] + arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        try? out.close()
        try? err.close()
        var interrupted = false, killed = false
        while process.isRunning {
            let elapsed = Date().timeIntervalSince(start)
            if !interrupted {
                let text = interruptOn == nil ? "" : ((try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
                if elapsed > limit || (interruptOn.map { text.contains($0) } ?? false) {
                    kill(process.processIdentifier, SIGINT)
                    interrupted = true
                }
            } else if !killed && elapsed > limit + 30 {
                kill(process.processIdentifier, SIGKILL)
                killed = true
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        return LabRun(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                      id: String(process.processIdentifier), seconds: Date().timeIntervalSince(start))
    }

    /// What lab `id` left behind: namespaces named lvsl-<id>-*, processes carrying its tag
    /// (LVSD_LAB=<id> in their environment, set on everything the lab starts, found even if
    /// their namespace is gone), its work directory, and an nftables table of lvsd's in this
    /// (the root) namespace, where the lab must never put one. Anything found is removed with
    /// `lvsd lab --teardown`, so a failing test does not leave it for the next.
    static func leftovers(id: String) throws -> [String] {
        var found: [String] = []
        let list = try Command.run("/usr/sbin/ip", ["netns", "list"])
        let namespaces = list.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }.filter { $0.hasPrefix("lvsl-\(id)-") }
        found += namespaces.map { "namespace \($0)" }
        found += taggedProcesses(id: id).map { "process \($0): \(commandLine($0))" }
        let work = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/lvsl-\(id)"
        if FileManager.default.fileExists(atPath: work) { found.append("directory \(work)") }
        let tables = try Command.run("/usr/sbin/nft", ["list", "tables"])
        if tables.stdout.contains("swiftlvs") { found.append("nftables table in the root namespace: \(tables.stdout)") }
        if !found.isEmpty {
            _ = try? Command.run(try BuiltExecutable.lvsd(), ["lab", "--teardown", id])
            for pid in taggedProcesses(id: id) { kill(pid, SIGKILL) }
        }
        return found
    }

    static func taggedProcesses(id: String) -> [Int32] {
        let needle = "LVSD_LAB=\(id)"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == needle } ? pid : nil
        }
    }

    static func commandLine(_ pid: Int32) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    // MARK: The matrix

    static let requests = 12
    static let transferMiB = 100

    @Test("lvsd lab: rr 4/4/4, UDP from the VIP, 100 MiB down and up with sha256 match (offloads on), wrr 3,2,1 → 6/4/2, -p 300 on one server, nothing left behind",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(5)),
          arguments: matrix)
    func fullSuite(_ lab: Case) throws {
        let run = try Self.lab(lab.arguments + ["--json", "--requests", String(Self.requests), "--udp",
                                                "--transfer", String(Self.transferMiB),
                                                "--then", "wrr:3,2,1", "--then", "rr:p300"])
        let leftovers = try Self.leftovers(id: run.id)
        print("LabTests \(lab.testDescription): exit \(run.status) in \(String(format: "%.1f", run.seconds)) s")
        #expect(leftovers.isEmpty, "lab \(run.id) left behind: \(leftovers)")
        let outcome = try #require(run.outcome, "no JSON from lvsd lab \(lab.testDescription) (exit \(run.status)):\n\(run.stderr)")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(outcome.mode == lab.mode && outcome.engine == lab.engine && outcome.ipv6 == lab.ipv6)
        #expect(outcome.workers == lab.workers)
        #expect(outcome.vip == (lab.ipv6 ? "2001:db8::10" : "198.18.0.10"))

        // The real servers, in order; their addresses are the keys of every spread.
        let servers = outcome.realServers.map(\.address)
        #expect(servers.count == 3)
        #expect(servers.allSatisfy { $0.contains(":") == lab.ipv6 }, "\(servers)")
        func spread(_ counts: [Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: zip(servers, counts))
        }
        /// Whether `responses` is the expected spread, within the workers' tolerance, with
        /// every request counted.
        func matches(_ responses: [String: Int], _ counts: [Int], _ scheduler: String) -> Bool {
            let slack = Self.tolerance(scheduler, workers: lab.workers)
            return Set(responses.keys) == Set(servers)
                && responses.values.reduce(0, +) == counts.reduce(0, +)
                && zip(servers, counts).allSatisfy { abs((responses[$0.0] ?? 0) - $0.1) <= slack }
        }

        // Phase 1, rr: TCP, UDP, the transfer.
        try #require(outcome.phases.count == 3, "\(outcome.phases.map(\.spec))")
        let rr = outcome.phases[0], wrr = outcome.phases[1], persistent = outcome.phases[2]
        #expect(rr.spec == "rr" && outcome.scheduler == "rr")
        #expect(rr.requests == Self.requests && outcome.requests == Self.requests)
        #expect(rr.failed == 0 && rr.unexpected == 0, "\(run.stderr)")
        #expect(matches(rr.responses, [4, 4, 4], "rr"), "rr must split 12 requests 4/4/4: \(rr.responses)")
        if lab.workers == 1 { #expect(rr.responses == spread([4, 4, 4])) }
        #expect(outcome.responses == rr.responses)

        let udp = try #require(outcome.udp)
        #expect(udp.sent == Self.requests)
        #expect(udp.lost == 0 && udp.unexpected == 0, "\(run.stderr)")
        #expect(matches(udp.responses, [4, 4, 4], "rr"), "rr must split 12 UDP requests 4/4/4: \(udp.responses)")
        #expect(udp.replySources == [outcome.vip], "every UDP reply must come from the VIP: \(udp.replySources)")

        let transfer = try #require(outcome.transfer)
        #expect(transfer.bytes == Self.transferMiB * 1_048_576)
        #expect(transfer.receivedBytes == transfer.bytes)
        #expect(transfer.expectedSHA256.count == 64)
        #expect(transfer.receivedSHA256 == transfer.expectedSHA256)
        #expect(transfer.match)

        // The same file uploaded (HTTP PUT): the direction the client's TSO super-frames take
        // through lvsd in every method, DR and TUN included.
        let upload = try #require(outcome.upload)
        #expect(upload.receivedBytes == upload.bytes && upload.bytes == transfer.bytes)
        #expect(upload.receivedSHA256 == transfer.expectedSHA256, "\(run.stderr)")
        #expect(upload.match)
        // With the kernel's offloads on, the transfers reached lvsd as GSO super-frames, and
        // it carried them (none dropped as too large, none truncated).
        let first = try #require(outcome.phases[0].director)
        #expect((first.counters["engine super-frames"] ?? 0) > 0, "no super-frame reached lvsd: \(first.counters)")
        #expect(first.counters["engine too-large"] == nil && first.counters["engine rx-truncated"] == nil,
                "\(first.counters)")
        if lab.engine == "pcap" || lab.mode == "tun" {
            #expect((first.counters["engine software-segmented"] ?? 0) > 0, "\(first.counters)")
        }

        // Phase 2, wrr 3,2,1: exactly 3:2:1.
        #expect(wrr.scheduler == "wrr" && wrr.weights == [3, 2, 1])
        #expect(wrr.failed == 0 && wrr.unexpected == 0 && wrr.requests == Self.requests, "\(run.stderr)")
        #expect(matches(wrr.responses, [6, 4, 2], "wrr"), "wrr 3,2,1 must split 12 requests 6/4/2 in real-server order: \(wrr.responses)")

        // Phase 3, persistence: one client, one real server.
        #expect(persistent.persistent == 300 && persistent.scheduler == "rr")
        #expect(persistent.failed == 0 && persistent.unexpected == 0 && persistent.requests == Self.requests, "\(run.stderr)")
        #expect(persistent.responses.values.sorted() == [0, 0, Self.requests], "-p 300 must keep one client on one server: \(persistent.responses)")

        // Every lvsd stopped on SIGTERM, dropped nothing, and removed its nftables table.
        for (n, phase) in outcome.phases.enumerated() {
            let director = try #require(phase.director, "phase \(n + 1) has no lvsd exit report")
            #expect(!director.killed, "phase \(n + 1): lvsd had to be killed")
            #expect(director.hostSettingsRemoved, "phase \(n + 1): lvsd did not say it removed its nftables table")
            #expect(director.totals["dropped"] == 0, "phase \(n + 1): lvsd dropped frames: \(director.counters)")
            #expect((director.totals["forwarded"] ?? 0) > 0)
        }

        // What the real servers saw.
        let nated = lab.mode == "nat" || lab.mode == "fullnat"
        #expect(outcome.vport == 80)
        let client = lab.ipv6 ? "2001:db8::2" : "198.18.0.2"
        let lips = outcome.phases.compactMap(\.localAddress)
        for rs in outcome.realServers {
            // NAT and FullNAT map VIP:80 to RIP:8080 (the servers listen on 8080 only); DR and
            // TUN cannot map ports.
            #expect(rs.port == (nated ? 8080 : 80), "\(rs.name) served on port \(rs.port)")
            if lab.mode == "fullnat" {
                #expect(lips.count == 3, "one LIP per phase: \(lips)")
                #expect(!rs.routeToClient, "a FullNAT real server must have no route to the client: \(rs.name)")
                #expect(!rs.httpPeers.isEmpty && rs.httpPeers.allSatisfy(lips.contains), "\(rs.name) saw \(rs.httpPeers), LIPs \(lips)")
                #expect(rs.udpPeers == [lips[0]], "\(rs.name) UDP peers \(rs.udpPeers)")
            } else {
                #expect(rs.routeToClient, "\(rs.name) must reach the client (\(lab.mode))")
                #expect(rs.httpPeers == [client], "\(rs.name) saw \(rs.httpPeers)")
                #expect(rs.udpPeers == [client], "\(rs.name) UDP peers \(rs.udpPeers)")
            }
        }
    }

    // MARK: Failing and interrupted labs clean up too

    @Test("lvsd lab whose phase fails (wrr 0,0,0: no server takes new connections) exits 1, reports it, and leaves nothing behind",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func failingPhaseCleansUp() throws {
        let run = try Self.lab(["--mode", "nat", "--json", "--requests", "2", "--then", "wrr:0,0,0"])
        let leftovers = try Self.leftovers(id: run.id)
        #expect(leftovers.isEmpty, "lab \(run.id) left behind: \(leftovers)")
        #expect(run.status == 1, "\(run.stderr)")
        let outcome = try #require(run.outcome, "no JSON (exit \(run.status)):\n\(run.stderr)")
        try #require(outcome.phases.count == 2)
        #expect(outcome.phases[0].failed == 0)
        #expect(outcome.phases[1].weights == [0, 0, 0])
        #expect(outcome.phases[1].failed == 2, "with every weight 0 no request can be answered: \(outcome.phases[1].responses)")
        #expect(outcome.phases[1].responses.values.allSatisfy { $0 == 0 })
    }

    @Test("lvsd lab interrupted (SIGINT) while sending requests exits 130 and leaves nothing behind",
          .enabled(if: getuid() == 0, "lvsd lab needs root to create network namespaces"),
          .timeLimit(.minutes(2)))
    func interruptedLabCleansUp() throws {
        let run = try Self.lab(["--mode", "dr", "--udp", "--json", "--requests", "200"], interruptOn: "sending 200 requests")
        let leftovers = try Self.leftovers(id: run.id)
        #expect(leftovers.isEmpty, "lab \(run.id) left behind: \(leftovers)")
        #expect(run.status == 130, "\(run.stderr)")
        #expect(run.stderr.contains("interrupted, removing the lab"))
    }

    // MARK: Bad arguments

    @Test("lvsd lab rejects bad arguments with a sentence that names them, before touching anything",
          arguments: [
            (["--mode", "tun", "--ipv6"], "the lab builds its TUN topology over IPv4 only"),
            (["--then", "wrr:3,2"], "--then needs SCHEDULER[:W1,W2,W3][:pSECONDS]"),
            (["--then", "rr:p0"], "persistence must be between 1 and 2678400"),
            (["--weights", "1,2"], "--weights needs 3 comma-separated weights"),
            (["--mode", "ipip"], "--mode must be one of nat, dr, fullnat, tun"),
          ])
    func badArguments(_ arguments: [String], message: String) throws {
        let lvsd = try BuiltExecutable.lvsd()
        let run = try Command.run(lvsd, ["lab"] + arguments)
        #expect(run.status == 64, "usage errors exit 64: \(run.stderr)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test("lvsd realserver --dry-run prints the VIP on lo, the ARP sysctls and, for TUN, rp_filter and the decapsulator")
    func realServerDryRun() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let dr = try Command.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "dr", "--interface", "eth0", "--dry-run"])
        #expect(dr.status == 0)
        #expect(dr.stdout == """
            ip address replace 198.18.0.10/32 dev lo
            sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2

            """)
        let v6 = try Command.run(lvsd, ["realserver", "--vip", "2001:db8::10", "--mode", "dr", "--interface", "eth0", "--dry-run"])
        #expect(v6.stdout == "ip -6 address replace 2001:db8::10/128 dev lo nodad\n")
        let tun = try Command.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "tun", "--interface", "eth0", "--dry-run"])
        #expect(tun.status == 0)
        // Loose reverse-path filtering on the TUN device alone; nothing else is loosened.
        #expect(!tun.stdout.contains("rp_filter=0"))
        #expect(tun.stdout.contains("open TUN device lvstun0"))
        #expect(tun.stdout.contains("from any source (no --director given)"))
        #expect(tun.stdout.hasSuffix("ip link set lvstun0 up\nip address replace 198.18.0.10/32 dev lvstun0\nsysctl -qw net.ipv4.conf.lvstun0.rp_filter=2\n"))
        let pinned = try Command.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "tun", "--interface", "eth0",
                                            "--director", "198.18.1.1", "--dry-run"])
        #expect(pinned.stdout.contains("addressed to this host from 198.18.1.1 on eth0"))
        let wrong = try Command.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "tun", "--director", "nowhere", "--dry-run"])
        #expect(wrong.status != 0 && wrong.stderr.contains("--director must be an IPv4 or IPv6 address"))
        // An IPv6 VIP: IPv6 has no rp_filter, so the TUN device needs only to be up; GUE on its port.
        let v6tun = try Command.run(lvsd, ["realserver", "--vip", "2001:db8::10", "--mode", "tun", "--interface", "eth0",
                                           "--director", "2001:db8:1::1", "--gue-port", "6080", "--dry-run"])
        #expect(v6tun.status == 0)
        #expect(v6tun.stdout.contains("GUE on UDP port 6080"))
        #expect(v6tun.stdout.contains("addressed to this host from 2001:db8:1::1 on eth0"))
        #expect(v6tun.stdout.hasSuffix("until SIGTERM\nip link set lvstun0 up\n"))
        let bad = try Command.run(lvsd, ["realserver", "--vip", "198.18.0.10", "--mode", "dr", "--gue-port", "6080", "--dry-run"])
        #expect(bad.status != 0 && bad.stderr.contains("--gue-port applies to --mode tun only"))
    }
}
