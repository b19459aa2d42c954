import Foundation
import Hummingbird
@testable import Observability
import Testing
import TestSupport

@Suite struct MonitorTests {
    @Test func listenAddresses() {
        #expect(MonitorServer.parseListen("198.18.0.1:9100")! == ("198.18.0.1", 9100))
        #expect(MonitorServer.parseListen("[2001:db8::1]:80")! == ("2001:db8::1", 80))
        #expect(MonitorServer.parseListen("localhost:0")! == ("localhost", 0))
        #expect(MonitorServer.parseListen("2001:db8::1:80") == nil)
        #expect(MonitorServer.parseListen("198.18.0.1") == nil)
        #expect(MonitorServer.parseListen("198.18.0.1:70000") == nil)
        #expect(MonitorServer.parseListen(":80") == nil)
    }

    @Test func credentialsFile() throws {
        let line = MonitorAccess.credentialsLine(user: "ops", password: "s3cret", cost: 4)
        let users = try MonitorAccess.parseUsers("# monitor users\n\n\(line)\n", file: "users")
        let access = MonitorAccess(users: users)
        var right = HTTPFields()
        right[.authorization] = "Basic " + Data("ops:s3cret".utf8).base64EncodedString()
        var wrong = HTTPFields()
        wrong[.authorization] = "Basic " + Data("ops:nope".utf8).base64EncodedString()
        var unknown = HTTPFields()
        unknown[.authorization] = "Basic " + Data("root:s3cret".utf8).base64EncodedString()
        #expect(access.allows(right))
        #expect(!access.allows(wrong))
        #expect(!access.allows(unknown))
        #expect(!access.allows(HTTPFields()))
    }

    /// A plain-text password is refused with file, line and column.
    @Test func plainPasswordRefused() {
        #expect {
            _ = try MonitorAccess.parseUsers("ops:$2b$10$abc\nadmin:hunter2\n", file: "users")
        } throws: { error in
            "\(error)".hasPrefix("users:2:7: error: the password must be a bcrypt hash")
        }
    }

    @Test func bearerToken() {
        let access = MonitorAccess(bearerToken: "0123456789abcdef0123")
        var right = HTTPFields()
        right[.authorization] = "Bearer 0123456789abcdef0123"
        var wrong = HTTPFields()
        wrong[.authorization] = "Bearer 0123456789abcdef0124"
        #expect(access.allows(right))
        #expect(!access.allows(wrong))
    }

    /// The page's JSON: counts, health with its reason, drops by name, VRRP role.
    @Test func monitorState() {
        let state = MonitorState(ObservationFixtures.observation)
        #expect(state.services.map(\.name) == ["TCP 198.18.0.10:80", "UDP [2001:db8::10]:53"])
        let web = state.services[0]
        #expect(web.realServers.map(\.connections) == [4, 3, 3])
        #expect(web.realServers.map(\.health) == ["UP", "unchecked", "DOWN"])
        #expect(web.realServers[2].reason == "TCP_CHECK: connection refused")
        #expect(state.drops == ["ipv4-bad-checksum": 5, "frame-truncated": 1])
        #expect(state.tableEntries == 12 && state.tableCapacity == 4096)
        #expect(state.vrrp.map(\.state) == ["MASTER"])
        // A checked server the checkers took out of the table is still listed, DOWN.
        var removed = ObservationFixtures.observation
        removed.snapshot.services[0].realServers.removeLast()
        let rows = MonitorState(removed).services[0].realServers
        #expect(rows.map(\.endpoint) == ["198.18.1.1:8080", "198.18.1.2:8080", "198.18.1.3:8080"])
        #expect(rows.map(\.inTable) == [true, true, false])
        #expect(rows[2].health == "DOWN" && rows[2].reason == "TCP_CHECK: connection refused")
        let page = MonitorPage.html(stateJSON: #"{"x":"</script>"}"#)
        #expect(page.contains(#"{"x":"<\/script>"}"#))
        for load in ["src=\"http", "href=\"http", "<link", "@import", "url(http"] {
            #expect(!page.contains(load), "the page loads nothing from elsewhere")
        }
    }
}

@Suite struct MonitorHistoryTests {
    /// One point per observation (a repeated one counts once), the oldest dropped past the
    /// capacity, a removed service forgotten.
    @Test func keepsTheLastObservations() {
        let history = MonitorHistory(capacity: 3)
        var observation = ObservationFixtures.observation
        for t in 1...5 {
            observation.takenAt = UInt64(t)
            observation.snapshot.services[0].rates.connectionsPerSecond = UInt64(t * 10)
            history.record(MonitorState(observation), takenAt: observation.takenAt)
            history.record(MonitorState(observation), takenAt: observation.takenAt)
        }
        #expect(history.series["TCP 198.18.0.10:80"]?.connections == [30, 40, 50])
        #expect(history.series["TCP 198.18.0.10:80"]?.packetsIn == [30, 30, 30])
        observation.snapshot.services.removeFirst()
        observation.takenAt = 6
        history.record(MonitorState(observation), takenAt: 6)
        #expect(history.series.keys.sorted() == ["UDP [2001:db8::10]:53"])
    }
}

/// `--metrics-tls-cert` / `--metrics-tls-key` read at start: a good pair (made by openssl here)
/// becomes a server configuration; a missing or non-PEM file is an error naming it.
@Suite struct MonitorTLSTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs openssl to make a test certificate"))
    func readsAPEMPairAndNamesBadFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsd-obs-tls-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try Command.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                                        "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                                                        "-days", "1", "-subj", "/CN=127.0.0.1"])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        let configuration = try MonitorTLS(certificateFile: dir + "/cert.pem", keyFile: dir + "/key.pem").configuration()
        #expect(configuration.certificateChain.count == 1)

        let missing = dir + "/absent.pem"
        #expect {
            _ = try MonitorTLS(certificateFile: missing, keyFile: dir + "/key.pem").configuration()
        } throws: { error in
            "\(error)".hasPrefix("\(missing): error: cannot read a PEM certificate chain")
        }
        try "not a key\n".write(toFile: dir + "/bad.key", atomically: true, encoding: .utf8)
        #expect {
            _ = try MonitorTLS(certificateFile: dir + "/cert.pem", keyFile: dir + "/bad.key").configuration()
        } throws: { error in
            "\(error)".hasPrefix("\(dir)/bad.key: error: cannot read a PEM private key")
        }
    }
}
