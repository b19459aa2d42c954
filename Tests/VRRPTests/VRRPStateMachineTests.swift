import Testing
import VRRP
import Wire

/// The RFC 5798 §6.4 state machine, transition by transition, with keepalived's rules.
@Suite struct VRRPStateMachineTests {
    // MARK: Timers

    /// (version, priority, interval cs) → (Skew_Time, Master_Down_Interval), by hand from RFC
    /// 5798 §6.1 and RFC 3768 §6.1.
    @Test(arguments: [
        (VRRPVersion.v2, UInt8(100), UInt16(100), s(156.0 / 256), s(3 + 156.0 / 256)),
        (.v2, 100, 300, s(156.0 / 256), s(9 + 156.0 / 256)),        // v2's skew ignores the interval
        (.v2, 254, 100, s(2.0 / 256), s(3 + 2.0 / 256)),
        (.v3, 100, 100, s(156.0 / 256), s(3 + 156.0 / 256)),
        (.v3, 100, 50, s(0.5 * 156 / 256), s(1.5 + 0.5 * 156 / 256)),  // v3's scales with it
        (.v3, 255, 100, s(1.0 / 256), s(3 + 1.0 / 256)),
        (.v3, 1, 1, 9_960_937, 39_960_937),  // 255 × 10 ms / 256, truncated to whole nanoseconds
    ])
    func timers(version: VRRPVersion, priority: UInt8, interval: UInt16, skew: UInt64, down: UInt64) {
        #expect(VRRPTimers.skew(version: version, priority: priority, masterInterval: interval) == skew)
        #expect(VRRPTimers.masterDown(version: version, priority: priority, masterInterval: interval) == down)
    }

    // MARK: Startup

    @Test func startsAsBackupThenMasterAfterMasterDownInterval() {
        var rig = Rig(instance())
        let down = s(3 + 156.0 / 256)
        #expect(rig.at(0, .start).transitions.map(\.1) == [.backup])
        #expect(rig.advance(to: down - 1).isEmpty)
        let takeover = rig.advance(to: down)
        #expect(takeover == [
            .sendAdvertisement(instance: "VI_1", priority: 100),
            .stateChanged(instance: "VI_1", from: .backup, to: .master, reason: "master down interval expired"),
            .sendGratuitous(instance: "VI_1", count: 5),
        ])
        // An advert every advert_int, and keepalived's second GARP burst 5 s later.
        #expect(rig.advance(to: down + s(1)).adverts == [100])
        let later = rig.advance(to: down + s(5))
        #expect(later.adverts == [100, 100, 100, 100])
        #expect(later.contains(.sendGratuitous(instance: "VI_1", count: 5)))
        #expect(rig.advance(to: down + s(60)).allSatisfy { if case .sendAdvertisement = $0 { true } else { false } })
        #expect(rig.status().masterAddress == me)
    }

    @Test func stateMasterIsNotAnOwnerAndStillWaits() {
        var rig = Rig(instance(initial: .master))
        #expect(rig.at(0, .start).transitions.map(\.1) == [.backup])
        rig.advance(to: s(3.6))
        #expect(rig.state() == .backup)
        rig.advance(to: s(3.61))
        #expect(rig.state() == .master)
    }

    @Test func ownerGoesStraightToMaster() {
        var rig = Rig(instance(priority: 255))
        let actions = rig.at(0, .start)
        #expect(actions.adverts == [255])
        #expect(actions.transitions.map(\.1) == [.master])
        #expect(actions.transitions.first?.2 == "address owner (priority 255)")
        // Never preempted, by anything but another owner with a higher address.
        #expect(rig.at(s(1.5), .advertisement(advert(from: peerHigh, priority: 254))).adverts == [255])
        #expect(rig.state() == .master)
    }

    // MARK: Master

    @Test func higherPriorityAdvertDemotesMaster() {
        var rig = Rig(instance())
        rig.at(0, .start)
        rig.advance(to: s(4))
        #expect(rig.state() == .master)
        let actions = rig.at(s(4.5), .advertisement(advert(from: peerHigh, priority: 150)))
        #expect(actions.transitions.map(\.1) == [.backup])
        #expect(actions.transitions.first?.2 == "higher priority advert from 198.18.0.3")
        #expect(actions.adverts.isEmpty)
        #expect(rig.status().masterAddress == peerHigh)
        // Its adverts keep us backup; when they stop we take over after Master_Down_Interval.
        rig.at(s(5.5), .advertisement(advert(from: peerHigh, priority: 150)))
        rig.advance(to: s(5.5 + 3.6))
        #expect(rig.state() == .backup)
        rig.advance(to: s(5.5 + 3.61))
        #expect(rig.state() == .master)
    }

    @Test func lowerPriorityAdvertToMasterIsAnsweredAtOnce() {
        var rig = Rig(instance())
        rig.at(0, .start)
        rig.advance(to: s(4))
        let actions = rig.at(s(4.2), .advertisement(advert(from: peerHigh, priority: 50)))
        #expect(actions == [.sendAdvertisement(instance: "VI_1", priority: 100)])
        #expect(rig.state() == .master)
    }

    /// Equal priorities: the higher primary address wins (RFC 5798 §6.4.3).
    @Test(arguments: [(peerHigh, VRRPState.backup, 0), (peerLow, .master, 1)])
    func equalPriorityTieBreak(source: IPAddress, expected: VRRPState, answers: Int) {
        var rig = Rig(instance())
        rig.at(0, .start)
        rig.advance(to: s(4))
        let actions = rig.at(s(4.5), .advertisement(advert(from: source, priority: 100)))
        #expect(rig.state() == expected)
        #expect(actions.adverts.count == answers)
        if expected == .backup {
            #expect(actions.transitions.first?.2 == "equal priority advert from higher address 198.18.0.3")
        }
    }

    @Test func priorityZeroToMasterIsAnsweredAtOnce() {
        var rig = Rig(instance())
        rig.at(0, .start)
        rig.advance(to: s(4))
        #expect(rig.at(s(4.5), .advertisement(advert(from: peerHigh, priority: 0))).adverts == [100])
        #expect(rig.state() == .master)
    }

    // MARK: Backup

    @Test func priorityZeroTakesOverAfterSkewTime() {
        var rig = Rig(instance())
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerHigh, priority: 150)))
        let skew = s(156.0 / 256)
        rig.at(s(2), .advertisement(advert(from: peerHigh, priority: 0)))
        rig.advance(to: s(2) + skew - 1)
        #expect(rig.state() == .backup)
        let actions = rig.advance(to: s(2) + skew)
        #expect(actions.transitions.map(\.2) == ["priority 0 advert from 198.18.0.3"])
        #expect(rig.state() == .master)
        #expect(rig.status().counters[.priorityZeroReceived] == 1)
    }

    @Test func preemptionByDefault() {
        // A higher-priority backup ignores a lower master's adverts and takes over when its
        // down timer (started at startup) runs out; the old master then yields to its adverts.
        var rig = Rig(instance(priority: 150))
        rig.at(0, .start)
        for t in 1...3 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        let down = s(3 + 106.0 / 256)
        rig.advance(to: down)
        #expect(rig.state() == .master)
        #expect(rig.transitions.last?.3 == "preempting lower priority (100) master 198.18.0.1")
    }

    @Test func noPreemptKeepsALowerMaster() {
        var rig = Rig(instance(priority: 150) { $0.noPreempt = true })
        rig.at(0, .start)
        for t in 1...30 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .backup)
        #expect(rig.status().masterAddress == peerLow)
        // When the lower master goes, we still take over.
        rig.advance(to: s(30 + 3.6))
        #expect(rig.state() == .master)
    }

    @Test func preemptDelayAcceptsLowerAdvertsForAWhile() {
        var rig = Rig(instance(priority: 150) { $0.preemptDelay = s(10) })
        rig.at(0, .start)
        // The first lower advert (t = 1) starts the delay; those before it ends (t = 11) are
        // accepted, the later ones ignored, so the timer restarted at t = 10 runs out.
        for t in 1...13 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .backup)
        rig.advance(to: s(10) + s(3 + 106.0 / 256))
        #expect(rig.state() == .master)
        #expect(rig.transitions.last!.0 == s(10) + s(3 + 106.0 / 256))
    }

    @Test func preemptDelayStopsOnAHigherAdvert() {
        var rig = Rig(instance(priority: 150) { $0.preemptDelay = s(10) })
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerLow, priority: 100)))
        rig.at(s(2), .advertisement(advert(from: peerHigh, priority: 200)))  // a better master appears: delay off
        rig.at(s(3), .advertisement(advert(from: peerLow, priority: 100)))   // and restarts here
        for t in 4...13 { rig.at(s(Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .backup)
    }

    @Test func v3BackupAdoptsTheMasterInterval() {
        var rig = Rig(instance(version: .v3, interval: 100))
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerHigh, priority: 150, version: .v3, interval: 50)))
        // 3 × 0.5 s + (256 − 100) × 0.5 s / 256.
        rig.advance(to: s(1) + s(1.5 + 0.5 * 156 / 256) - 1)
        #expect(rig.state() == .backup)
        rig.advance(to: s(1) + s(1.5 + 0.5 * 156 / 256))
        #expect(rig.state() == .master)
        // A master sends at its own interval again.
        #expect(rig.advance(to: rig.now + s(1)).adverts == [100])
    }

    // MARK: Shutdown

    @Test func shutdownSendsPriorityZeroAndRunsNotifyScripts() {
        var rig = Rig(instance {
            $0.notify = VRRPNotifyScripts(stop: VRRPCommand(["/bin/stop.sh"]), generic: VRRPCommand(["/bin/notify.sh", "x"]))
        })
        rig.at(0, .start)
        rig.advance(to: s(4))
        let actions = rig.at(s(4.5), .shutdown)
        #expect(actions == [
            .sendAdvertisement(instance: "VI_1", priority: 0),
            .stateChanged(instance: "VI_1", from: .master, to: .stop, reason: "shutdown"),
            .runNotify(VRRPCommand(["/bin/stop.sh"])),
            .runNotify(VRRPCommand(["/bin/notify.sh", "x", "INSTANCE", "VI_1", "STOP", "100"])),
        ])
        #expect(rig.router.nextDeadline == nil)
        #expect(rig.status().counters[.priorityZeroSent] == 1)
    }

    @Test func notifyScriptsOnEachTransition() {
        var rig = Rig(instance {
            $0.notify = VRRPNotifyScripts(master: VRRPCommand(["m"]), backup: VRRPCommand(["b"]), fault: VRRPCommand(["f"]),
                                          generic: VRRPCommand(["n"]))
        })
        func notifies(_ actions: [VRRPAction]) -> [[String]] {
            actions.compactMap { if case .runNotify(let c) = $0 { c.arguments } else { nil } }
        }
        #expect(notifies(rig.at(0, .start)) == [["b"], ["n", "INSTANCE", "VI_1", "BACKUP", "100"]])
        #expect(notifies(rig.advance(to: s(4))) == [["m"], ["n", "INSTANCE", "VI_1", "MASTER", "100"]])
        #expect(notifies(rig.at(s(5), .interface("d0", up: false))) == [["f"], ["n", "INSTANCE", "VI_1", "FAULT", "100"]])
    }
}
