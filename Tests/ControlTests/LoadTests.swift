import Control
import Core
import Foundation
import Testing
import Wire

@Suite struct LoadTests {
    @Test func loadsAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("control-load-\(UUID().uuidString).conf").path
        try "-A -t 198.18.0.10:80 -s rr\n-a -t 198.18.0.10:80 -r 198.18.1.1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try RulesFile.load(path: path)
        #expect(config.services.first?.realServers.count == 1)
    }

    @Test func errorsNameTheLoadedPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("control-bad-\(UUID().uuidString).conf").path
        try "# header\n-A -t 198.18.0.10:80 -s xyz\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigError(file: path, line: 2, column: 25, message: "unknown scheduler 'xyz' (known: \(knownSchedulers))")) {
            try RulesFile.load(path: path)
        }
    }

    @Test func unreadableFileIsAnErrorWithoutALine() {
        let path = "/nonexistent/swiftlvs/rules.conf"
        do {
            _ = try RulesFile.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.file == path)
            #expect(error.line == 0 && error.column == 0)
            #expect(error.message.hasPrefix("cannot read the rules file: "))
            #expect(error.description.hasPrefix("\(path): error: cannot read the rules file: "))
        }
    }

    @Test func descriptionIsCompilerStyle() {
        let error = ConfigError(file: "rules.conf", line: 3, column: 17, message: "unknown scheduler 'xyz' (known: rr, wrr, lc, wlc, sh)")
        #expect(error.description == "rules.conf:3:17: error: unknown scheduler 'xyz' (known: rr, wrr, lc, wlc, sh)")
    }
}

/// The sample rules shipped in Samples/ (written for `lvsd replay`) parse, and survive a
/// save/parse round trip.
@Suite struct SampleRulesTests {
    static let samplesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples").path

    static var samplePaths: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: samplesDirectory)) ?? []
        return names.filter { $0.hasSuffix(".rules") }.sorted().map { samplesDirectory + "/" + $0 }
    }

    @Test(.enabled(if: !samplePaths.isEmpty, "no Samples/*.rules in this checkout"), arguments: samplePaths)
    func sampleParsesAndRoundTrips(path: String) throws {
        let config = try RulesFile.load(path: path)
        #expect(!config.services.isEmpty)
        #expect(try RulesFile.parse(RulesWriter.save(config), file: "saved") == config)
    }
}
