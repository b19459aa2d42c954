@testable import Engine
import Foundation
import Logging
import Testing

/// The host-settings journal: what lvsd changes is written down first, so what a killed lvsd
/// left behind is put back by the next start (`recoverLeftovers`, as `lvsd cleanup` runs it).
/// Sysctls here are plain files under a temporary root; the nftables part needs root and a
/// namespace and is left to the end-to-end suites.
@Suite struct HostSettingsTests {
    let logger = Logger(label: "host-test") { _ in SwiftLogNoOpLogHandler() }

    func sandbox() throws -> (root: String, journal: String) {
        let base = NSTemporaryDirectory() + "lvst-host-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        for family in ["ipv4", "ipv6"] {
            let dir = "\(base)/proc/net/\(family)/conf/d0"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "1\n".write(toFile: dir + "/forwarding", atomically: true, encoding: .utf8)
        }
        return (base + "/proc", base + "/run")
    }

    func forwarding(_ root: String, _ family: String) -> String? {
        try? String(contentsOfFile: "\(root)/net/\(family)/conf/d0/forwarding", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aKilledDirectorsSysctlsArePutBackByTheNextStart() throws {
        let (root, journal) = try sandbox()
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        let first = HostSettings(logger: logger, journalDirectory: journal, sysctlRoot: root)
        try first.disableForwarding(on: ["d0"])
        #expect(forwarding(root, "ipv4") == "0" && forwarding(root, "ipv6") == "0")
        let record = HostJournal.path(in: journal)
        #expect(HostJournal.load(record)?.sysctls.map(\.value) == ["1", "1"], "each change recorded before it was made")

        // The first director dies without restore(); the next one finds the record.
        let next = HostSettings(logger: logger, journalDirectory: journal, sysctlRoot: root)
        #expect(next.recoverLeftovers())
        #expect(forwarding(root, "ipv4") == "1" && forwarding(root, "ipv6") == "1")
        #expect(HostJournal.load(record) == nil, "the record goes once the settings are back")
        #expect(!next.recoverLeftovers(), "nothing left the second time")
    }

    @Test func aCleanExitLeavesNoRecord() throws {
        let (root, journal) = try sandbox()
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        let host = HostSettings(logger: logger, journalDirectory: journal, sysctlRoot: root)
        try host.disableForwarding(on: ["d0"])
        host.restore()
        #expect(forwarding(root, "ipv4") == "1")
        #expect(HostJournal.load(HostJournal.path(in: journal)) == nil)
    }
}
