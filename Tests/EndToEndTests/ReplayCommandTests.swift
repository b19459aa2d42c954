import Foundation
import TestSupport
import Testing

/// `lvsd make-samples` and `lvsd replay` run as the built executable (no root, nothing
/// touched): the shipped samples are what the generator writes, and replay's trace, summary
/// and error exits. The replay loop itself is tested in-process by TraceTests.
@Suite struct ReplayCommandTests {
    @Test func shippedSamplesAreWhatTheGeneratorWrites() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("samples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try Command.run(lvsd, ["make-samples", "--output", dir.path])
        #expect(made.status == 0, "\(made.stderr)")
        for mode in ["nat", "dr", "fullnat", "tun"] {
            for ext in ["rules", "pcap"] {
                let fresh = try Data(contentsOf: dir.appendingPathComponent("\(mode).\(ext)"))
                let shipped = try Data(contentsOf: Samples.folder.appendingPathComponent("\(mode).\(ext)"))
                #expect(fresh == shipped, "Samples/\(mode).\(ext) differs from 'lvsd make-samples' output; regenerate and commit it")
            }
        }
    }

    @Test func replayCommandTracesAndSummarises() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).pcap").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = try Command.run(lvsd, ["replay", "--config", Samples.folder.appendingPathComponent("nat.rules").path,
                                         Samples.folder.appendingPathComponent("nat.pcap").path, "-o", out, "--trace"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("#2 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0"))
        #expect(run.stdout.contains("connection: new connection TCP 198.18.0.1:40000 → 198.18.0.10:80 scheduled to 198.18.1.11:8080 (Masq), state NONE → SYN_RECV"))
        #expect(run.stdout.contains("reply from real server"))
        #expect(run.stdout.contains("17 frames read: 16 forwarded, 1 answered, 0 passed, 0 dropped"))
        #expect(FileManager.default.fileExists(atPath: out))
    }

    @Test func badConfigPrintsFileLineColumnAndExits1() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).rules").path
        defer { try? FileManager.default.removeItem(atPath: rules) }
        try Data("-A -t 198.18.0.10:80 -s nosuch\n".utf8).write(to: URL(fileURLWithPath: rules))
        let run = try Command.run(lvsd, ["replay", "--config", rules, Samples.folder.appendingPathComponent("nat.pcap").path,
                                         "-o", "/tmp/unused-\(UUID().uuidString).pcap"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(rules):1:"), "stderr: \(run.stderr)")
    }

    @Test func missingPcapPrintsAClearErrorAndExits1() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let run = try Command.run(lvsd, ["replay", "--config", Samples.folder.appendingPathComponent("nat.rules").path,
                                         "/nonexistent/in.pcap", "-o", "/tmp/unused-\(UUID().uuidString).pcap"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("/nonexistent/in.pcap"), "stderr: \(run.stderr)")
    }
}
