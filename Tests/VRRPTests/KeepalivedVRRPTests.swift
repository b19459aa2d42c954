import Control
import Foundation
import KeepalivedVRRP
import Testing
import VRRP
import Wire

/// keepalived.conf's VRRP blocks (kept by Control) as a VRRPConfig.
@Suite struct KeepalivedVRRPTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ControlTests/Fixtures")
    static let file = "keepalived.conf"

    static func plan(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> KeepalivedVRRPPlan.Result? {
        do {
            return try KeepalivedVRRPPlan.make(from: try KeepalivedFile.parse(text, file: file))
        } catch {
            Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func error(_ text: String) -> ConfigError? {
        do {
            _ = try KeepalivedVRRPPlan.make(from: try KeepalivedFile.parse(text, file: file))
            return nil
        } catch { return error }
    }

    static func warning(_ line: Int, _ column: Int, _ message: String) -> ConfigWarning {
        ConfigWarning(file: file, line: line, column: column, message: message)
    }

    // MARK: Fixtures

    @Test func seed002() throws {
        let path = Self.fixtures.appendingPathComponent("seed-002-keepalived.conf").path
        let result = try KeepalivedVRRPPlan.make(from: try KeepalivedFile.load(path: path))
        #expect(result.config.instances == [
            VRRPInstanceConfig(name: "LVS", initialState: .master, interface: "eno16777736", virtualRouterID: 51, priority: 100,
                               advertisementInterval: 100, version: .v2, authentication: .password("1111"),
                               virtualAddresses: [VRRPVirtualAddress(IPAddress("192.168.58.133")!)]),
        ])
        #expect(result.warnings.isEmpty)
        // Run it: alone on its segment, it is MASTER after Master_Down_Interval.
        var router = VRRPRouter(config: result.config, primaryAddresses: ["eno16777736": [IPAddress("192.168.58.131")!]])
        #expect(router.handle(.start, now: 0).contains {
            if case .stateChanged(_, _, .backup, _) = $0 { true } else { false }
        })
        #expect(router.nextDeadline == 3_609_375_000)
        _ = router.handle(.timer, now: 3_609_375_000)
        #expect(router.status.map(\.state) == [.master])
        #expect(router.status.first?.masterAddress == IPAddress("192.168.58.131"))
    }

    @Test func everyKeyword() throws {
        let path = Self.fixtures.appendingPathComponent("keepalived-vrrp-backup.conf").path
        let result = try KeepalivedVRRPPlan.make(from: try KeepalivedFile.load(path: path))
        let config = result.config
        #expect(config.scripts == [
            VRRPScriptConfig(name: "chk_lvsd", command: VRRPCommand(["/usr/local/bin/check-lvsd", "--quick"], user: "nobody", group: "nogroup"),
                             interval: 2_000_000_000, timeout: 1_500_000_000, weight: -30, rise: 2, fall: 3),
            VRRPScriptConfig(name: "chk_disk", command: VRRPCommand(["/usr/local/bin/check-disk"])),
        ])
        let vi1 = VRRPInstanceConfig(
            name: "VI_1", initialState: .backup, interface: "d0", virtualRouterID: 51, priority: 100, advertisementInterval: 100,
            version: .v2, authentication: .password("1111"),
            virtualAddresses: [VRRPVirtualAddress(IPAddress("198.18.0.10")!, prefixLength: 24, device: "d0"),
                               VRRPVirtualAddress(IPAddress("198.18.0.11")!)],
            excludedAddresses: [VRRPVirtualAddress(IPAddress("198.18.0.12")!, device: "d1")],
            noPreempt: true, sourceAddress: IPAddress("198.18.0.2"), unicastPeers: [IPAddress("198.18.0.3")!],
            gratuitous: VRRPGratuitousSettings(masterDelay: 10_000_000_000, masterRepeat: 3, masterRefresh: 60_000_000_000,
                                               masterRefreshRepeat: 2),
            trackedInterfaces: [VRRPTrackedObject("d1", weight: -20), VRRPTrackedObject("d2")],
            trackedScripts: [VRRPTrackedObject("chk_lvsd"), VRRPTrackedObject("chk_disk", weight: 10, reverse: true)],
            notify: VRRPNotifyScripts(master: VRRPCommand(["/etc/lvsd/notify.sh", "master"]), backup: VRRPCommand(["/etc/lvsd/backup.sh"]),
                                      fault: VRRPCommand(["/etc/lvsd/fault.sh"], user: "root"), stop: VRRPCommand(["/etc/lvsd/stop.sh"]),
                                      generic: VRRPCommand(["/etc/lvsd/notify-all.sh"])))
        let vi6 = VRRPInstanceConfig(
            name: "VI_6", interface: "d0", virtualRouterID: 52, priority: 150, advertisementInterval: 50, version: .v3,
            virtualAddresses: [VRRPVirtualAddress(IPAddress("fe80::10")!, prefixLength: 64),
                               VRRPVirtualAddress(IPAddress("2001:db8::10")!, prefixLength: 64)],
            preemptDelay: 30_000_000_000)
        #expect(config.instances == [vi1, vi6])
        #expect(config.syncGroups == [
            VRRPSyncGroupConfig(name: "G1", instances: ["VI_1", "VI_6"],
                                notify: VRRPNotifyScripts(master: VRRPCommand(["/etc/lvsd/group-master.sh"]),
                                                          generic: VRRPCommand(["/etc/lvsd/group.sh"]))),
        ])
        #expect(result.warnings == [
            ConfigWarning(file: path, line: 59, column: 5, message: "'use_vmac' in vrrp_instance VI_1 is ignored: lvsd's VRRP does not support it"),
            ConfigWarning(file: path, line: 60, column: 5, message: "unknown keyword 'smtp_alerts' in vrrp_instance VI_1 is ignored"),
        ])
    }

    // MARK: keepalived's corrections

    @Test(arguments: [
        ("state MASTER\n    nopreempt", "nopreempt does not work with state MASTER; preempting, as keepalived does", false, UInt64(0)),
        ("priority 255\n    nopreempt", "nopreempt does not work with priority 255; preempting, as keepalived does", false, 0),
        ("nopreempt\n    preempt_delay 5", "preempt_delay does not work with nopreempt; ignoring it, as keepalived does", true, 0),
        ("state MASTER\n    preempt_delay 5", "preempt_delay does not work with state MASTER; ignoring it, as keepalived does", false, 0),
    ])
    func corrections(options: String, message: String, noPreempt: Bool, preemptDelay: UInt64) throws {
        let text = "vrrp_instance V {\n    interface d0\n    virtual_router_id 9\n    \(options)\n}\n"
        let result = try #require(Self.plan(text))
        #expect(result.warnings.map(\.message) == ["vrrp_instance V: \(message)"])
        #expect(result.config.instances.first?.noPreempt == noPreempt)
        #expect(result.config.instances.first?.preemptDelay == preemptDelay)
    }

    @Test func v2WithIPv6BecomesV3() throws {
        let text = "vrrp_instance V {\n    interface d0\n    virtual_router_id 9\n    version 2\n    virtual_ipaddress {\n        fe80::1\n    }\n}\n"
        let result = try #require(Self.plan(text))
        #expect(result.config.instances.first?.version == .v3)
        #expect(result.warnings == [Self.warning(1, 1, "vrrp_instance V: VRRP version 2 carries IPv4 only; using version 3")])
    }

    @Test func advertIntervals() throws {
        func interval(_ version: Int, _ text: String) -> UInt16? {
            Self.plan("vrrp_instance V {\n interface d0\n virtual_router_id 9\n version \(version)\n advert_int \(text)\n}\n")?
                .config.instances.first?.advertisementInterval
        }
        #expect(interval(2, "1") == 100)
        #expect(interval(2, "3") == 300)
        #expect(interval(2, "1.4") == 100)  // v2 sends whole seconds
        #expect(interval(3, "0.05") == 5)
        #expect(interval(3, "40.95") == 4095)
        #expect(Self.error("vrrp_instance V {\n interface d0\n virtual_router_id 9\n version 3\n advert_int 41\n}\n")?.message
            == "advert_int 41 in vrrp_instance V is out of range; VRRP version 3 takes 0.01 to 40.95 seconds")
    }

    @Test func syncGroupsAndScriptsThatDoNotExist() throws {
        let text = """
            vrrp_instance A {
                interface d0
                virtual_router_id 1
                track_script {
                    missing
                }
            }
            vrrp_sync_group G {
                group {
                    A
                    B
                }
            }
            """
        let result = try #require(Self.plan(text))
        #expect(result.config.syncGroups.isEmpty)
        #expect(result.config.instances.first?.trackedScripts == [])
        #expect(result.warnings == [
            Self.warning(11, 9, "vrrp_sync_group G: there is no vrrp_instance B; ignoring it, as keepalived does"),
            Self.warning(8, 1, "vrrp_sync_group G has 1 instance(s); a sync group needs two or more, so it is removed, as keepalived does"),
            Self.warning(1, 1, "vrrp_instance A tracks vrrp_script missing, which does not exist; ignoring it, as keepalived does"),
        ])
    }

    // MARK: Errors

    @Test(arguments: [
        ("interface d0", 1, 1, "vrrp_instance V has no virtual_router_id; add 'virtual_router_id 1-255'"),
        ("virtual_router_id 9", 1, 1, "vrrp_instance V has no interface; add 'interface NAME' (or unicast_src_ip and unicast_peer)"),
        ("interface d0\n virtual_router_id 0", 3, 20, "invalid virtual_router_id '0'; give a whole number from 1 to 255"),
        ("interface d0\n virtual_router_id 9\n priority 256", 4, 11, "invalid priority '256'; give a whole number from 1 to 255"),
        ("interface d0\n virtual_router_id 9\n state STANDBY", 4, 8, "unknown state 'STANDBY' in vrrp_instance V; write MASTER or BACKUP"),
        ("interface d0\n virtual_router_id 9\n authentication {\n auth_type AH\n auth_pass x\n }", 5, 12,
         "auth_type AH in vrrp_instance V is not supported by lvsd; use PASS or no authentication"),
        ("interface d0\n virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1/33\n }", 5, 2, "invalid prefix length '/33' for 10.0.0.1; give 0 to 32"),
        ("interface d0\n virtual_router_id 9\n track_interface {\n d1 weight 300\n }", 5, 12, "invalid weight '300'; give a whole number from -253 to 253"),
    ])
    func errors(body: String, line: Int, column: Int, message: String) {
        let text = "vrrp_instance V {\n \(body)\n}\n"
        #expect(Self.error(text) == ConfigError(file: Self.file, line: line, column: column, message: message))
    }

    @Test func duplicateVRIDOnOneInterface() {
        let text = "vrrp_instance A {\n interface d0\n virtual_router_id 9\n}\nvrrp_instance B {\n interface d0\n virtual_router_id 9\n}\n"
        #expect(Self.error(text)?.message.hasPrefix("vrrp_instance B has virtual_router_id 9 on d0, like vrrp_instance A (keepalived.conf:1:1)") == true)
        let otherInterface = "vrrp_instance A {\n interface d0\n virtual_router_id 9\n}\nvrrp_instance B {\n interface d1\n virtual_router_id 9\n}\n"
        #expect(Self.plan(otherInterface)?.config.instances.count == 2)
    }
}
