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
