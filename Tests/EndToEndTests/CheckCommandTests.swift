import Control
import Core
import Foundation
import TestSupport
import Testing

/// `lvsd check --config FILE` and `lvsd run --config FILE --check`, run as the built
/// executable: no root, nothing touched, the services on standard output as a rules file,
/// warnings and errors on standard error, exit 0 or 1.
@Suite struct CheckCommandTests {
    static let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ControlTests/Fixtures/seed-002-keepalived.conf").path

    /// Runs the built lvsd with `arguments`.
    func lvsd(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let run = try Command.run(try BuiltExecutable.lvsd(), arguments)
        return (run.status, run.stdout, run.stderr)
    }

    @Test func seedChecksAndPrintsItsRules() throws {
        for arguments in [["check", "--config", Self.seed], ["run", "--config", Self.seed, "--check"], ["--config", Self.seed, "--check"]] {
            let result = try lvsd(arguments)
            #expect(result.status == 0, "\(arguments): \(result.err)")
            #expect(result.out.hasSuffix("""
                -A -t 192.168.58.133:80 -s rr -p 50
                -a -t 192.168.58.133:80 -r 192.168.58.135:80 -g -w 1
                -a -t 192.168.58.133:80 -r 192.168.58.136:80 -g -w 1

                """))
            #expect(result.out.hasPrefix("# \(Self.seed): keepalived.conf, 1 virtual service, 2 real servers\n"))
            #expect(result.err.split(separator: "\n").map(String.init) == [
                "\(Self.seed):30:13: warning: 'nb_get_retry' is deprecated; keepalived and lvsd read it as 'retry', write that instead",
                "\(Self.seed):44:13: warning: 'nb_get_retry' is deprecated; keepalived and lvsd read it as 'retry', write that instead",
            ])
            // What it prints is a rules file meaning the same.
            let reparsed = try RulesFile.parse(result.out, file: "stdout")
            #expect(reparsed == (try KeepalivedFile.load(path: Self.seed)).director)
        }
    }

    @Test func invalidFileExitsOneWithFileLineColumn() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsd-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("keepalived.conf")
        try "virtual_server 198.18.0.10 80 {\n    protocol TCP\n    lb_kind DRR\n}\n".write(to: conf, atomically: true, encoding: .utf8)
        let result = try lvsd(["check", "--config", conf.path])
        #expect(result.status == 1)
        #expect(result.out.isEmpty)
        #expect(result.err == "\(conf.path):3:13: error: unknown forwarding method 'DRR'; give NAT, DR, TUN or FNAT\n")

        let rules = dir.appendingPathComponent("director.rules")
        try "-A -t 198.18.0.10:80 -s rr\n-a -t 198.18.0.10:80 -r 198.18.1.1 -w 70000\n".write(to: rules, atomically: true, encoding: .utf8)
        let bad = try lvsd(["run", "--config", rules.path, "--check"])
        #expect(bad.status == 1)
        #expect(bad.err == "\(rules.path):2:39: error: invalid weight '70000'; give a number from 0 to 65535\n")
    }

    @Test func rulesFileChecksWithoutWarnings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsd-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("director.rules")
        try "-A -u 198.18.0.10:53 -s rr\n-a -u 198.18.0.10:53 -r 198.18.1.1 -m\n".write(to: rules, atomically: true, encoding: .utf8)
        let result = try lvsd(["check", "--config", rules.path])
        #expect(result.status == 0)
        #expect(result.err.isEmpty)
        #expect(result.out == "# \(rules.path): ipvsadm rules, 1 virtual service, 1 real server\n-A -u 198.18.0.10:53 -s rr\n-a -u 198.18.0.10:53 -r 198.18.1.1:53 -m -w 1\n")
    }
}
