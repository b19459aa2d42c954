import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The teaching material: Docs/learn/ is what Scripts/learn.sh makes of the current code
/// (byte for byte, pictures and HTML included), the pcap `lvsd replay` writes shows the
/// rewrite in tshark, and every seed lab and `--break` exercise runs end to end in network
/// namespaces and ends with the verdict it should.
@Suite(.serialized) struct LearnTests {
    static let root = Samples.folder.deletingLastPathComponent()
    static var haveTools: Bool {
        ["/usr/bin/dot", "/usr/bin/tshark", "/usr/bin/python3"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-ln-learn-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(.enabled(if: haveTools, "needs graphviz, tshark and python3 (bash Scripts/install-deps.sh)"))
    func committedPagesAreWhatTheGeneratorWrites() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try Command.run("/bin/bash", [Self.root.appendingPathComponent("Scripts/learn.sh").path, out.path],
                                  environment: ["LVSD": lvsd])
        #expect(run.status == 0, "learn.sh failed: \(run.stderr)")
        let committed = Self.root.appendingPathComponent("Docs/learn")
        let generated = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        let shipped = try FileManager.default.contentsOfDirectory(atPath: committed.path).filter { $0 != "templates" }.sorted()
        #expect(generated == shipped, "Docs/learn/ and the generator's files differ; run Scripts/learn.sh and commit")
        for name in ["index.md", "nat.md", "dr.md", "tun.md", "fullnat.md", "persistence.md", "ha.md",
                     "nat.svg", "dr.svg", "tun.svg", "fullnat.svg", "persistent.svg", "nat.html"] {
            #expect(generated.contains(name), "the generator wrote no \(name)")
        }
        for name in generated {
            let fresh = try Data(contentsOf: out.appendingPathComponent(name))
            let old = try? Data(contentsOf: committed.appendingPathComponent(name))
            #expect(fresh == old, "Docs/learn/\(name) is not what Scripts/learn.sh writes now; run it and commit")
        }
        // The pages show what the tool printed: NAT's SYN rewritten to the real server, marked.
        let nat = try String(contentsOf: out.appendingPathComponent("nat.md"), encoding: .utf8)
        #expect(nat.contains("    * ipv4   dst       198.18.0.10        198.18.1.11"))
        #expect(!nat.contains("{{"), "a placeholder was left unfilled")
        // The HA page's timeline (lvsd lab --ha --timeline): SIGTERM's priority-0 advert hands
        // over after Dserver2's Skew_Time ((256 - 90) / 256 s); after SIGKILL Dserver2 waits
        // Master_Down_Interval (3 s + that skew) from Dserver1's last advert at 7.609 s.
        let ha = try String(contentsOf: out.appendingPathComponent("ha.md"), encoding: .utf8)
        #expect(ha.contains("  8.648 s  Dserver2  BACKUP -> MASTER: priority 0 advert from 198.18.0.134"), "\(ha)")
        #expect(ha.contains(" 11.257 s  Dserver2  BACKUP -> MASTER: master down interval expired"), "\(ha)")
        #expect(ha.contains("bytes: 21 33 00 01 01 01 b4 d0 c6 12 00 85 31 31 31 31 00 00 00 00"), "\(ha)")
        let svg = try String(contentsOf: out.appendingPathComponent("tun.svg"), encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("+ outer ipv4 dst 198.18.1.11"))
    }

    /// The pcap `lvsd replay` writes, read by tshark: the SYN to the VIP left for the real
    /// server (NAT: address and port rewritten), and DR's left to the real server's MAC with
    /// the VIP still the destination.
    @Test(.enabled(if: haveTools, "needs tshark"))
    func tsharkSeesTheRewrite() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let samples = Self.root.appendingPathComponent("Samples")
        for (mode, expected) in [("nat", "02:00:00:00:01:0b 198.18.0.1 198.18.1.11 40000 8080"),
                                 ("dr", "02:00:00:00:01:0b 198.18.0.1 198.18.0.10 40000 80")] {
            let out = dir.appendingPathComponent("\(mode)-out.pcap").path
            let html = dir.appendingPathComponent("\(mode).html").path
            let replay = try Command.run(lvsd, ["replay", "--config", samples.appendingPathComponent("\(mode).rules").path,
                                                samples.appendingPathComponent("\(mode).pcap").path, "-o", out, "--html", html])
            #expect(replay.status == 0, "\(replay.stderr)")
            let shark = try Command.run("/usr/bin/tshark", ["-r", out, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                                                            "-E", "separator= ", "-e", "eth.dst", "-e", "ip.src", "-e", "ip.dst",
                                                            "-e", "tcp.srcport", "-e", "tcp.dstport"])
            #expect(shark.status == 0, "\(shark.stderr)")
            #expect(shark.stdout.split(separator: "\n").first.map(String.init) == expected, "\(mode): tshark saw \(shark.stdout)")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.contains("<tr class=\"changed\"><td>eth</td><td>dst</td><td>02:00:00:00:00:0a</td><td>02:00:00:00:01:0b</td></tr>"))
        }
    }

    // MARK: The seeds' labs and the exercises

    struct Scenario: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let verdict: String
        /// Lines the run must print (a check held, a stage explained).
        let expected: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let scenarios: [Scenario] = [
        Scenario(arguments: ["--seed", "000-nat"], verdict: "verdict: seed 000-nat PASSED: every check held",
                 expected: ["held   rs2's default gateway is the director"]),
        Scenario(arguments: ["--seed", "000-dr", "--step"], verdict: "verdict: seed 000-dr PASSED: every check held",
                 expected: ["Stage 1, the network.", "Stage 4, the test the seed's author did by hand", "held   rs1: VIP on lo with mask 255.255.255.255, arp_ignore=1, arp_announce=2"]),
        // Two lvsd directors (Sources/Lab/LabSeed002.swift): the seed's keepalived.conf, stop a
        // web server, stop the master.
        Scenario(arguments: ["--seed", "002"], verdict: "verdict: seed 002 PASSED: every check held",
                 expected: ["held   genhash gives both real servers the same digest",
                            "held   ipvsadm -L -n on Dserver2: keepalived added 'TCP 198.18.0.133:80 rr persistent 50' with two Route lines",
                            "held   ip addr: the VIP is on the master, Dserver1",
                            "held   stop one tomcat: the HTTP_GET checks take it out on both directors",
                            "held   stop the master's lvs (134): the VIP moves to Dserver2 (137)"]),
        Scenario(arguments: ["--seed", "003"], verdict: "verdict: seed 003 PASSED: every check held",
                 expected: ["held   sticky HTTP", "held   the cluster manager's ping check of rs4",
                            "held   curl ftp://198.18.0.10/ftp.bin (passive mode)", "held   curl ftp://198.18.0.10/ftp.bin (active mode)"]),
        Scenario(arguments: ["--break", "arp", "--step"], verdict: "verdict: break arp PASSED: the failure showed and the fix worked",
                 expected: ["Stage 5, the fix:", "held   symptom: real servers answer the client's ARP request for the VIP"]),
        Scenario(arguments: ["--break", "gateway"], verdict: "verdict: break gateway PASSED: the failure showed and the fix worked",
                 expected: ["held   symptom: requests time out"]),
        Scenario(arguments: ["--break", "vip-on-lo"], verdict: "verdict: break vip-on-lo PASSED: the failure showed and the fix worked",
                 expected: ["held   symptom: the director forwards, the real servers drop every frame"]),
        Scenario(arguments: ["--break", "tun-vip"], verdict: "verdict: break tun-vip PASSED: the failure showed and the fix worked",
                 expected: ["held   symptom: the director tunnels, the real servers receive the packets and deliver none"]),
    ]

    static let prefix = "lvst-ln"

    @Test("lvsd lab --seed/--break/--step refuse what they cannot do, naming it, before touching anything",
          arguments: [
            (["--seed", "004"], "--seed must be one of 000-nat, 000-dr, 002, 003"),
            (["--seed", "002", "--step"], "--step is not available for --seed 002"),
            (["--break", "dns"], "--break must be one of arp, gateway, vip-on-lo"),
            (["--step"], "--step goes with --seed or --break"),
            (["--seed", "003", "--mode", "dr", "--keep"], "leave out --mode, --keep"),
            (["--seed", "000-nat", "--break", "arp"], "give one"),
          ])
    func refusedArguments(_ arguments: [String], message: String) throws {
        let run = try Command.run(try BuiltExecutable.lvsd(), ["lab"] + arguments)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    @Test(.enabled(if: getuid() == 0, "creates network namespaces"), .enabled(if: haveTools, "needs python3"),
          arguments: scenarios)
    func scenario(_ s: Scenario) throws {
        let lvsd = try BuiltExecutable.lvsd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lvsd)
        process.arguments = ["lab"] + s.arguments + ["--namespace-prefix", Self.prefix]
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout")
        #expect(FileManager.default.createFile(atPath: outURL.path, contents: nil))
        let out = try FileHandle(forWritingTo: outURL)
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? out.close()
        let id = String(process.processIdentifier)
        defer {
            // Whatever happened, nothing of this lab stays.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            _ = try? Command.run(lvsd, ["lab", "--teardown", id, "--namespace-prefix", Self.prefix])
        }
        // Bounded: the lab removes itself on SIGINT; SIGKILL 30 s later.
        let start = Date()
        var interrupted = false
        while process.isRunning {
            let elapsed = Date().timeIntervalSince(start)
            if !interrupted && elapsed > 240 { kill(process.processIdentifier, SIGINT); interrupted = true }
            if elapsed > 270 { kill(process.processIdentifier, SIGKILL) }
            usleep(100_000)
        }
        process.waitUntilExit()
        let text = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        #expect(!interrupted, "the lab did not finish within 240 s:\n\(text)")
        #expect(process.terminationStatus == 0, "lvsd lab \(s.arguments.joined(separator: " ")) exited \(process.terminationStatus):\n\(text)")
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix(s.verdict + " ("), "the last line is not the verdict '\(s.verdict)':\n\(text)")
        for line in s.expected {
            #expect(text.contains(line), "no '\(line)' in:\n\(text)")
        }
        #expect(!text.contains("FAILED"), "\(text)")
        let list = try Command.run("/usr/sbin/ip", ["netns", "list"]).stdout
        #expect(!list.contains("\(Self.prefix)-\(id)-"), "namespaces left behind: \(list)")
    }
}
