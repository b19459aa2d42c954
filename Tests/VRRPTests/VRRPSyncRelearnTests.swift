import Control
import Core
import KeepalivedVRRP
import Testing
import VRRP
import Wire

/// Failback without losing connections (Docs/connection-sync.md, "Failback"): the instance
/// `lvs_sync_daemon` names does not preempt a lower-priority master until it has been BACKUP,
/// its sync receiver running, for `syncRelearnPeriod`; a master that dies is still taken over
/// at once. And the sync role follows the instance's state.
@Suite struct VRRPSyncRelearnTests {
    static let skew150 = 106.0 / 256

    @Test func aReturningBackupWaitsOutTheRelearnPeriodThenPreempts() {
        var rig = Rig(instance(priority: 150) { $0.syncRelearnPeriod = s(6) })
        rig.at(0, .start)
        #expect(rig.state() == .backup)
        // Adverts of the lower master before t = 6 are accepted (each restarts the down
        // timer); from t = 6 on they are ignored, so the timer restarted at t = 5 runs out.
        for t in 1...12 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .master)
        let takeover = rig.transitions.last!
        #expect(takeover.0 == s(5 + 3 + Self.skew150))
        #expect(takeover.3 == "preempting lower priority (100) master 198.18.0.1 after relearning its connections")
        #expect(rig.status().counters[.preemptionDeferredForSync] == 5)
        #expect(rig.status().counters.refused == 0)
    }

    @Test func withoutTheHoldTheSameBackupPreemptsAfterOneDownInterval() {
        var rig = Rig(instance(priority: 150))
        rig.at(0, .start)
        for t in 1...12 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.transitions.last!.0 == s(3 + Self.skew150))
    }

    @Test func aSilentMasterIsTakenOverAtOnceDuringTheHold() {
        var rig = Rig(instance(priority: 150) { $0.syncRelearnPeriod = s(6) })
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerLow, priority: 100)))
        rig.advance(to: s(5))
        #expect(rig.state() == .master)
        #expect(rig.transitions.last!.0 == s(1 + 3 + Self.skew150))
        #expect(rig.transitions.last!.3 == "master down interval expired")
    }

    @Test func aPriorityZeroAdvertIsTakenOverAfterSkewTimeDuringTheHold() {
        var rig = Rig(instance(priority: 150) { $0.syncRelearnPeriod = s(6) })
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerLow, priority: 100)))
        rig.at(s(2), .advertisement(advert(from: peerLow, priority: 0)))
        rig.advance(to: s(3))
        #expect(rig.state() == .master)
        #expect(rig.transitions.last!.0 == s(2 + Self.skew150))
    }

    @Test func theHoldCountsFromEachReturnToBackup() {
        var rig = Rig(instance(priority: 150) { $0.syncRelearnPeriod = s(6) })
        rig.at(0, .start)
        rig.advance(to: s(4))
        #expect(rig.state() == .master)
        // A higher master (an owner) demotes us at t = 10; when it goes and a lower one
        // speaks, the hold starts again from t = 10.
        rig.at(s(10), .advertisement(advert(from: peerHigh, priority: 200)))
        #expect(rig.state() == .backup)
        for t in 11...20 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.transitions.last!.2 == .master)
        #expect(rig.transitions.last!.0 == s(15 + 3 + Self.skew150))
    }

    @Test func noPreemptStaysBackupWithTheHoldToo() {
        var rig = Rig(instance(priority: 150) { $0.noPreempt = true; $0.syncRelearnPeriod = s(6) })
        rig.at(0, .start)
        for t in 1...30 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .backup)
        #expect(rig.status().counters[.preemptionDeferredForSync] == 0)
    }

    // MARK: keepalived.conf

    static func plan(_ text: String) throws -> KeepalivedVRRPPlan.Result {
        try KeepalivedVRRPPlan.make(from: try KeepalivedFile.parse(text, file: "ha.conf"))
    }

    static let instances = """
        vrrp_instance VI_1 {
            interface d0
            virtual_router_id 51
            priority 150
            virtual_ipaddress {
                198.18.0.10
            }
        }
        vrrp_instance VI_2 {
            interface d0
            virtual_router_id 52
            virtual_ipaddress {
                198.18.0.20
            }
        }
        """

    @Test func theInstanceLvsSyncDaemonNamesGetsTheHold() throws {
        let result = try Self.plan("global_defs {\n    lvs_sync_daemon d0 VI_2 id 14\n}\n" + Self.instances)
        let byName = Dictionary(uniqueKeysWithValues: result.config.instances.map { ($0.name, $0) })
        #expect(byName["VI_2"]?.syncRelearnPeriod == SyncDaemonSettings.vrrpRelearnPeriod)
        #expect(byName["VI_1"]?.syncRelearnPeriod == 0)
        // Two refresh walks: one whole pass lands even if a busy master fell behind.
        #expect(SyncDaemonSettings.vrrpRelearnPeriod == 2 * SyncDaemonSettings.vrrpRefreshPeriod)
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    @Test func refreshAndRelearnAreSettingsOnTheLvsSyncDaemonLine() throws {
        let result = try Self.plan("global_defs {\n    lvs_sync_daemon d0 VI_2 id 14 refresh 2 relearn 5\n}\n" + Self.instances)
        let byName = Dictionary(uniqueKeysWithValues: result.config.instances.map { ($0.name, $0) })
        #expect(byName["VI_2"]?.syncRelearnPeriod == 5_000_000_000)
        let file = try KeepalivedFile.parse("global_defs {\n    lvs_sync_daemon d0 VI_2 refresh 2 relearn 0\n}\n" + Self.instances, file: "ha.conf")
        #expect(file.globalDefs.syncFailback == SyncFailbackSettings(refreshPeriod: 2_000_000_000, relearnPeriod: 0))
        let noHold = try Self.plan("global_defs {\n    lvs_sync_daemon d0 VI_2 relearn 0\n}\n" + Self.instances)
        #expect(noHold.config.instances.allSatisfy { $0.syncRelearnPeriod == 0 })
    }

    @Test(arguments: [
        ("refresh 0", "ha.conf:2:37: error: invalid sync refresh period (seconds) '0'; give a whole number from 1 to 3600"),
        ("refresh 3601", "ha.conf:2:37: error: invalid sync refresh period (seconds) '3601'; give a whole number from 1 to 3600"),
        ("relearn -1", "ha.conf:2:37: error: invalid sync relearn hold (seconds) '-1'; give a whole number from 0 to 3600"),
        ("refresh 4 relearn 3", "ha.conf:2:47: error: lvs_sync_daemon: relearn 3 s is shorter than refresh 4 s"),
        ("relearn", "ha.conf:2:29: error: 'relearn' in lvs_sync_daemon needs a value after it"),
    ])
    func badRefreshOrRelearnIsRefusedWithItsPlace(_ words: String, message: String) throws {
        #expect {
            _ = try KeepalivedFile.parse("global_defs {\n    lvs_sync_daemon d0 VI_2 \(words)\n}\n" + Self.instances, file: "ha.conf")
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func anUnknownInstanceIsAWarningWithItsLine() throws {
        let result = try Self.plan("global_defs {\n    lvs_sync_daemon d0 VI_9\n}\n" + Self.instances)
        #expect(result.config.instances.allSatisfy { $0.syncRelearnPeriod == 0 })
        #expect(result.warnings.map(\.description) == ["ha.conf:2:5: warning: lvs_sync_daemon names VRRP instance 'VI_9', which does not exist; the sync daemon stays backup"])
    }

    @Test func withoutLvsSyncDaemonNoInstanceHolds() throws {
        let result = try Self.plan(Self.instances)
        #expect(result.config.instances.allSatisfy { $0.syncRelearnPeriod == 0 })
    }

    @Test(arguments: [(VRRPState.master, SyncRole?.some(.master)), (.backup, .backup), (.fault, .backup),
                      (.initialize, nil), (.stop, nil)])
    func theSyncRoleFollowsTheState(_ state: VRRPState, _ role: SyncRole?) {
        #expect(KeepalivedSyncFollow.role(for: state) == role)
    }
}
