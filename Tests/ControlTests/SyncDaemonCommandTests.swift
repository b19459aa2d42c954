@testable import Control
import Core
import Testing
import Wire

/// `--start-daemon`, `--stop-daemon` and `-L --daemon` as ipvsadm 1.31 reads and prints them
/// (ipvsadm.c `parse_options`, `commands_v_options`, `list_daemon`), end to end through
/// `Lvsadm.run` with the daemon behind a closure.
@Suite struct SyncDaemonCommandTests {
    static func action(_ arguments: [String]) throws -> LvsadmInvocation.Action {
        try LvsadmCommandLine.parse(arguments).action
    }

    @Test func startDaemonTakesIpvsadmsDefaults() throws {
        #expect(try Self.action(["--start-daemon", "master"]) == .startDaemon(SyncDaemonSettings(role: .master)))
        let d = SyncDaemonSettings(role: .backup)
        #expect(d.interface == "eth0" && d.syncID == 0 && d.maxLength == 1472 && d.port == 8848 && d.ttl == 1)
        #expect(d.group == IPAddress("224.0.0.81")!)
        #expect(d.problem == nil)
    }

    @Test func startDaemonReadsEveryOption() throws {
        let action = try Self.action(["--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "7", "--sync-maxlen", "1400",
                                      "--mcast-group", "239.1.2.3", "--mcast-port=9000", "--mcast-ttl", "3"])
        #expect(action == .startDaemon(SyncDaemonSettings(role: .backup, interface: "eth1", syncID: 7, maxLength: 1400,
                                                          group: IPAddress("239.1.2.3")!, port: 9000, ttl: 3)))
    }

    @Test func stopDaemonTakesARoleAndSyncid() throws {
        #expect(try Self.action(["--stop-daemon", "backup"]) == .stopDaemon(.backup))
        #expect(try Self.action(["--stop-daemon", "master", "--syncid", "3"]) == .stopDaemon(.master))
    }

    @Test func settingsThatCannotRunSaySo() {
        #expect(SyncDaemonSettings(role: .master, maxLength: 100).problem?.contains("sync-maxlen 100") == true)
        #expect(SyncDaemonSettings(role: .master, group: IPAddress("ff02::81")!).problem?.contains("IPv4 only") == true)
        #expect(SyncDaemonSettings(role: .master, interface: "a-very-long-interface").problem != nil)
    }

    @Test func listDaemonPrintsAsIpvsadm() {
        let text = AdminListing.daemons([SyncDaemonSettings(role: .backup, interface: "eth1", syncID: 2),
                                         SyncDaemonSettings(role: .master, interface: "eth1", syncID: 1)])
        #expect(text == """
            master sync daemon (mcast=eth1, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)
            backup sync daemon (mcast=eth1, syncid=2, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)

            """)
        #expect(AdminListing.daemons([]) == "")
    }

    @Test func lvsadmSendsTheRequestsAndPrintsTheAnswer() throws {
        var sent: [ControlRequest.Body] = []
        func run(_ arguments: [String], answer: ControlResponse) throws -> LvsadmOutcome {
            Lvsadm.run(try LvsadmCommandLine.parse(arguments), standardInput: { "" }) { request in
                sent.append(request.body)
                return .success(answer)
            }
        }
        #expect(try run(["--start-daemon", "master", "--mcast-interface", "d0"], answer: .applied).exitCode == 0)
        #expect(sent.last == .startDaemon(SyncDaemonSettings(role: .master, interface: "d0")))
        #expect(try run(["--stop-daemon", "master"], answer: .applied).exitCode == 0)
        #expect(sent.last == .stopDaemon(.master))
        let listed = try run(["-L", "--daemon"], answer: .syncDaemons([SyncDaemonSettings(role: .master, interface: "d0")]))
        #expect(sent.last == .syncDaemons)
        #expect(listed.standardOutput == "master sync daemon (mcast=d0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        let refused = try run(["--stop-daemon", "backup"], answer: .failed(AdminError("lvsadm: no backup sync daemon is running", exitCode: 1)))
        #expect(refused.exitCode == 1 && refused.standardError.contains("no backup sync daemon"))
    }

    @Test func aResponderWithoutSyncListsNoneAndRefusesToStart() {
        let responder = AdminResponder(config: DirectorConfig(), install: { _ in nil },
                                       observe: { _ in AdminSnapshot(tableSize: 0) }, clock: { 0 })
        #expect(responder.handle(ControlRequest(.syncDaemons)) == .syncDaemons([]))
        if case .failed = responder.handle(ControlRequest(.startDaemon(SyncDaemonSettings(role: .master)))) {} else {
            Issue.record("a responder without sync accepted --start-daemon")
        }
    }
}

/// keepalived's `lvs_sync_daemon` in global_defs (global_parser.c `lvs_syncd_handler`).
@Suite struct KeepalivedSyncDaemonTests {
    static func parse(_ line: String) throws -> KeepalivedConfig {
        try KeepalivedFile.parse("global_defs {\n    \(line)\n}\n", file: "keepalived.conf")
    }

    @Test func everyOptionIsRead() throws {
        let config = try Self.parse("lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 9000 ttl 2 group 239.1.2.3")
        let sync = try #require(config.globalDefs.syncDaemon)
        #expect(sync.instance == "VI_1")
        #expect(sync.settings == SyncDaemonSettings(role: .backup, interface: "eth1", syncID: 7, maxLength: 1400,
                                                    group: IPAddress("239.1.2.3")!, port: 9000, ttl: 2))
    }

    @Test func defaultsAreTheKernels() throws {
        let sync = try #require(try Self.parse("lvs_sync_daemon eth0 VI_1").globalDefs.syncDaemon)
        #expect(sync.settings == SyncDaemonSettings(role: .backup, interface: "eth0"))
    }

    @Test func mistakesNameTheWord() {
        #expect(throws: ConfigError.self) { try Self.parse("lvs_sync_daemon eth0 VI_1 id 300") }
        #expect(throws: ConfigError.self) { try Self.parse("lvs_sync_daemon eth0 VI_1 colour blue") }
        #expect(throws: ConfigError.self) { try Self.parse("lvs_sync_daemon eth0 VI_1 maxlen 50") }
    }
}
