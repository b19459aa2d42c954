import Control
import Core
import Foundation
import PacketIO
import TestSupport
import Testing
import Trace
import Wire

/// The shipped samples replayed through the same `Replayer` loop `lvsd replay` runs, with
/// the same pcap reader and writer, then checked by an implementation we did not write:
/// tshark verifies every IPv4, TCP, UDP, ICMP and ICMPv6 checksum of the output.
@Suite(.serialized) struct ReplayTests {
    static let samples = Samples.folder

    struct Expectation: Sendable, CustomTestStringConvertible {
        let mode: String
        /// Every frame's verdict, in order: `A0` answer on interface 0, `F1` forward on 1.
        let verdicts: [String]
        /// Frame numbers that start a new connection.
        let newConnections: [Int]
        /// Frame numbers the director handles as replies from a real server (NAT, FullNAT).
        let replies: [Int]
        var testDescription: String { mode }
    }

    static let expectations: [Expectation] = [
        Expectation(mode: "nat",
                    verdicts: ["A0", "F1", "F0", "F1", "F1", "F0", "F1", "F0", "F0", "F1", "F1", "F0", "F1", "F0", "F1", "F0", "F1"],
                    newConnections: [2, 11, 13, 15], replies: [3, 6, 8, 9, 12, 16]),
        Expectation(mode: "dr",
                    verdicts: ["A0", "F1", "F1", "F1", "F1", "F1", "F1", "F1", "F1", "F1", "F1", "F1"],
                    newConnections: [2, 7, 9, 10], replies: []),
        Expectation(mode: "fullnat",
                    verdicts: ["A0", "F1", "F0", "F1", "F1", "F0", "F1", "F0", "F0", "F1", "F1", "F0", "F1", "F0"],
                    newConnections: [2, 11, 13], replies: [3, 6, 8, 9, 12]),
        Expectation(mode: "tun",
                    verdicts: ["A0", "F1", "F1", "F1", "A0", "F1", "F1", "F1", "F1", "F1"],
                    newConnections: [2, 8, 10], replies: []),
    ]

    struct Result {
        var steps: [ReplayStep] = []
        var summary: ReplaySummary
        var output: String
    }

    /// Replays `Samples/<mode>.pcap` into a temporary pcap exactly as `lvsd replay` does.
    static func replay(_ mode: String) throws -> Result {
        let config = try RulesFile.load(path: samples.appendingPathComponent("\(mode).rules").path)
        let reader = try PcapFileReader(path: samples.appendingPathComponent("\(mode).pcap").path)
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("replay-\(mode)-\(UUID().uuidString).pcap").path
        let writer = try PcapFileWriter(path: output)
        let replayer = Replayer(config: config)
        var steps: [ReplayStep] = []
        replayer.run(
            next: { buffer, offset in
                reader.next(into: buffer, at: offset).map { record in
                    (record.length, UInt64(record.timestamp.seconds) * 1_000_000_000 + UInt64(record.timestamp.microseconds) * 1_000)
                }
            },
            emit: { bytes, nanoseconds in
                writer.write(bytes, timestamp: PcapTimestamp(seconds: Int(nanoseconds / 1_000_000_000),
                                                             microseconds: Int(nanoseconds % 1_000_000_000 / 1_000)))
            },
            observe: { steps.append($0) })
        writer.close()
        #expect(reader.lastError == nil)
        // Every trace renders (the teaching view never traps on a sample frame).
        for step in steps { #expect(!step.trace(interfaces: config.interfaces).isEmpty) }
        return Result(steps: steps, summary: replayer.summary, output: output)
    }

    static func code(_ verdict: Verdict) -> String {
        switch verdict {
        case .forward(let i): "F\(i)"
        case .answer(let i): "A\(i)"
        case .pass(let r): "pass \(r)"
        case .drop(let r): "drop \(r)"
        }
    }

    // MARK: Director verdicts

    @Test(arguments: expectations)
    func everySampleFrameGetsTheExpectedVerdict(_ e: Expectation) throws {
        let result = try Self.replay(e.mode)
        defer { try? FileManager.default.removeItem(atPath: result.output) }
        #expect(result.steps.map { Self.code($0.verdict) } == e.verdicts)
        #expect(result.steps.filter(\.event.newConnection).map(\.number) == e.newConnections)
        #expect(result.steps.filter { $0.event.direction == .fromRealServer }.map(\.number) == e.replies)
        #expect(result.summary.dropped == 0, "unexpected drops: \(result.summary.text)")
        #expect(result.summary.passed == 0, "unexpected passes: \(result.summary.text)")
        #expect(result.summary.framesRead == e.verdicts.count)
        #expect(Int(result.summary.forwarded) == e.verdicts.filter { $0.hasPrefix("F") }.count)
        #expect(Int(result.summary.answered) == e.verdicts.filter { $0.hasPrefix("A") }.count)
    }

    @Test func natICMPErrorIsTranslatedBackToTheVirtualService() throws {
        let result = try Self.replay("nat")
        defer { try? FileManager.default.removeItem(atPath: result.output) }
        let icmp = try #require(result.steps.first { $0.event.direction == .icmpFromRealServerSide })
        let fields = FrameFields.decode(try #require(icmp.output))
        let value = { (key: String) in fields.first { $0.key == key }?.value }
        #expect(value("ipv4 src") == "198.18.0.10")
        #expect(value("quoted ipv4 dst") == "198.18.0.10")
        #expect(value("quoted udp dport") == "53")
        #expect(fields.filter { $0.name == "checksum" }.allSatisfy { $0.value.hasSuffix("(ok)") })
    }

    @Test func fullNATRepliesReturnToTheClientFromTheVirtualService() throws {
        let result = try Self.replay("fullnat")
        defer { try? FileManager.default.removeItem(atPath: result.output) }
        let synAck = result.steps[2]
        let fields = FrameFields.decode(try #require(synAck.output))
        let value = { (key: String) in fields.first { $0.key == key }?.value }
        #expect(value("ipv4 src") == "198.18.0.10")
        #expect(value("ipv4 dst") == "198.18.0.1")
        #expect(value("tcp sport") == "80")
        #expect(value("tcp dport") == "40000")
        #expect(synAck.connection?.localPort == 1024)
    }

    // MARK: Checksums as tshark sees them

    static let badChecksumFilter = #"ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad""#

    @Test(arguments: expectations)
    func tsharkFindsNoBadChecksumInTheOutput(_ e: Expectation) throws {
        let tshark = try Self.requireTshark()
        let result = try Self.replay(e.mode)
        defer { try? FileManager.default.removeItem(atPath: result.output) }
        let bad = try Command.run(tshark, ["-r", result.output, "-o", "tcp.check_checksum:TRUE",
                                           "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                                           "-Y", Self.badChecksumFilter, "-T", "fields", "-e", "frame.number"])
        #expect(bad.status == 0, "tshark failed: \(bad.stderr)")
        #expect(bad.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "",
                "tshark reports bad checksums in \(e.mode) output frames: \(bad.stdout)")

        let all = try Command.run(tshark, ["-r", result.output, "-T", "fields", "-e", "frame.number"])
        let count = all.stdout.split(separator: "\n").count
        #expect(count == e.verdicts.count, "tshark sees \(count) frames in the \(e.mode) output")

        if e.mode == "tun" {
            let ipip = try Command.run(tshark, ["-r", result.output, "-Y", "ip.proto==4", "-T", "fields",
                                                "-e", "frame.number", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "udp.dstport"])
            let lines = ipip.stdout.split(separator: "\n")
            #expect(lines.count == e.verdicts.filter { $0.hasPrefix("F") }.count)
            // tshark decodes the inner datagram: outer dst is the real server, inner dst the VIP.
            #expect(lines.allSatisfy { $0.contains("198.18.1.1") && $0.contains("198.18.0.10") })
        }
    }

    // MARK: Helpers

    static func requireTshark() throws -> String {
        for path in ["/usr/bin/tshark", "/usr/local/bin/tshark"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        Issue.record("tshark is not installed (looked in /usr/bin and /usr/local/bin); run 'bash Scripts/install-deps.sh' as root")
        throw CancellationError()
    }
}
