import Foundation
import TestSupport
import Testing

/// dist/lvsd.service's hardening (issue 12, Docs/privileges.md): the capability bounding set
/// it gives systemd is the one lvsd limits itself to, and systemd's own review of the unit
/// (`systemd-analyze security --offline`) rates it OK, not exposed or unsafe.
@Suite struct SystemdUnitTests {
    static let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../dist/lvsd.service").standardized.path
    /// Sources/lvsd/Capabilities.swift's `kept`, in capability(7) spelling.
    static let kept: Set<String> = ["CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"]

    @Test func theBoundingSetIsWhatLvsdKeeps() throws {
        let text = try String(contentsOfFile: Self.unit, encoding: .utf8)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("CapabilityBoundingSet=") }
        #expect(lines.count == 1, "\(lines)")
        let set = Set(lines.first?.dropFirst("CapabilityBoundingSet=".count).split(separator: " ").map(String.init) ?? [])
        #expect(set == Self.kept)
        #expect(text.contains("\nNoNewPrivileges=yes\n"))
        #expect(text.contains("\nProtectSystem=strict\n"))
        // lvsd writes /proc/sys (forwarding on its interfaces): a read-only /proc/sys would
        // make every start fail.
        #expect(!text.contains("\nProtectKernelTunables=yes"))
        #expect(!text.contains("AmbientCapabilities="), "lvsd runs as root; ambient capabilities would pass to its scripts")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze (Debian's systemd package)"))
    func systemdRatesTheUnitOK() throws {
        let (status, out, err) = try Command.run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", Self.unit])
        let verdict = (out + err).split(separator: "\n").first { $0.contains("Overall exposure level") }.map(String.init) ?? ""
        print("SystemdUnitTests: \(verdict)")
        #expect(status == 0, "\(err)")
        // "→ Overall exposure level for lvsd.service: 3.3 OK 🙂": systemd's scale calls
        // < 4.5 OK (up to 7 MEDIUM, up to 9 EXPOSED, then UNSAFE).
        let words = verdict.split(separator: " ")
        let score = words.firstIndex(of: "lvsd.service:").flatMap { i in i + 1 < words.count ? Double(words[i + 1]) : nil }
        #expect(score != nil && score! < 4.5, "\(verdict)")
        #expect(verdict.contains(" OK"), "\(verdict)")
    }
}
