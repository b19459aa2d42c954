import Testing
import VRRP
import Wire

/// Tracked interfaces and scripts, sync groups, and adverts that must change nothing.
@Suite struct VRRPTrackingTests {
    // MARK: Interfaces

    @Test func trackedInterfaceDownIsFaultAndBack() {
        var rig = Rig(instance { $0.trackedInterfaces = [VRRPTrackedObject("d1")] })
        rig.at(0, .start)
        rig.advance(to: s(4))
        #expect(rig.state() == .master)
        let down = rig.at(s(5), .interface("d1", up: false))
        // A master says priority 0 on its way out, so the backup need not wait.
        #expect(down.adverts == [0])
        #expect(down.transitions.map(\.2) == ["track_interface d1 down"])
        #expect(rig.router.nextDeadline == nil)
        // Adverts are not read in FAULT.
        #expect(rig.at(s(6), .advertisement(advert(from: peerLow, priority: 50))).isEmpty)
        let up = rig.at(s(10), .interface("d1", up: true))
        #expect(up.transitions.map(\.1) == [.backup])
        #expect(up.transitions.map(\.2) == ["fault cleared"])
        rig.advance(to: s(10 + 3.61))
        #expect(rig.state() == .master)
    }

    @Test func primaryInterfaceIsTrackedUnlessTold() {
        var rig = Rig(instance())
        rig.at(0, .start)
        #expect(rig.at(s(1), .interface("d0", up: false)).transitions.map(\.2) == ["interface d0 down"])
        var untracked = Rig(instance { $0.dontTrackPrimary = true })
        untracked.at(0, .start)
        #expect(untracked.at(s(1), .interface("d0", up: false)).isEmpty)
    }

    @Test func interfaceDownBeforeStartStartsInFault() {
        var rig = Rig(instance())
        rig.at(0, .interface("d0", up: false))
        #expect(rig.at(0, .start).transitions.map(\.1) == [.fault])
        #expect(rig.at(s(1), .interface("d0", up: true)).transitions.map(\.1) == [.backup])
    }

    @Test func ownerRecoversStraightToMaster() {
        var rig = Rig(instance(priority: 255))
        rig.at(0, .start)
        rig.at(s(1), .interface("d0", up: false))
        #expect(rig.state() == .fault)
        #expect(rig.at(s(2), .interface("d0", up: true)).transitions.map(\.1) == [.master])
    }

    /// (weight, reverse, up) → priority from 100, as keepalived computes it.
    @Test(arguments: [
        (-20, false, true, UInt8(100)), (-20, false, false, 80),
        (20, false, true, 120), (20, false, false, 100),
        (-20, true, true, 100), (-20, true, false, 120),  // reverse: the change's sign flips
        (20, true, true, 80), (20, true, false, 100),
        (-200, false, false, 1), (200, false, true, 254),  // kept within 1...254
    ])
    func weightedInterface(weight: Int, reverse: Bool, up: Bool, priority: UInt8) {
        var rig = Rig(instance { $0.trackedInterfaces = [VRRPTrackedObject("d1", weight: weight, reverse: reverse)] })
        rig.at(0, .start)
        if !up { rig.at(s(1), .interface("d1", up: false)) }
        #expect(rig.state() == .backup)
        #expect(rig.status().effectivePriority == priority)
    }

    @Test func priorityChangeMovesTheDownTimer() {
        var rig = Rig(instance { $0.trackedInterfaces = [VRRPTrackedObject("d1", weight: -50)] })
        rig.at(0, .start)
        #expect(rig.router.nextDeadline == s(3 + 156.0 / 256))
        rig.at(s(1), .interface("d1", up: false))
        #expect(rig.router.nextDeadline == s(3 + 206.0 / 256))
    }

    @Test func ownerPriorityNeverMoves() {
        var rig = Rig(instance(priority: 255) { $0.trackedInterfaces = [VRRPTrackedObject("d1", weight: -50)] })
        rig.at(0, .interface("d1", up: false))
        rig.at(0, .start)
        #expect(rig.status().effectivePriority == 255)
    }

    // MARK: Scripts

    /// keepalived's rise/fall: (rise, fall, results) → verdict after each.
    @Test(arguments: [
        (1, 1, [true, false, true], [Bool?.some(true), false, true]),
        (2, 1, [true, true, false], [nil, true, false]),
        (1, 3, [true, false, false, false, true], [true, true, true, false, true]),
        (2, 2, [false, true, true, false, true, false, false], [false, false, true, true, true, true, false]),
    ])
    func scriptRiseAndFall(rise: Int, fall: Int, results: [Bool], verdicts: [Bool?]) {
        let script = VRRPScriptConfig(name: "chk", command: VRRPCommand(["true"]), weight: 10, rise: rise, fall: fall)
        var rig = Rig([instance { $0.trackedScripts = [VRRPTrackedObject("chk")] }], scripts: [script])
        rig.at(0, .start)
        for (n, (result, verdict)) in zip(results, verdicts).enumerated() {
            rig.at(s(Double(n + 1)), .scriptResult("chk", success: result))
            let expected: UInt8 = verdict == true ? 110 : 100
            #expect(rig.status().effectivePriority == expected, "after result \(n + 1)")
        }
    }

    @Test func zeroWeightScriptHoldsInitThenFaults() {
        let script = VRRPScriptConfig(name: "chk", command: VRRPCommand(["/bin/chk"]))
        var rig = Rig([instance { $0.trackedScripts = [VRRPTrackedObject("chk")] }], scripts: [script])
        #expect(rig.at(0, .start).isEmpty)
        #expect(rig.state() == .initialize)
        #expect(rig.at(s(1), .scriptResult("chk", success: true)).transitions.map(\.1) == [.backup])
        #expect(rig.at(s(2), .scriptResult("chk", success: false)).transitions.map(\.2) == ["track_script chk failed"])
        #expect(rig.at(s(3), .scriptResult("chk", success: true)).transitions.map(\.1) == [.backup])
    }

    @Test func instanceWeightOverridesTheScripts() {
        let script = VRRPScriptConfig(name: "chk", command: VRRPCommand(["/bin/chk"]), weight: 0)
        var rig = Rig([instance { $0.trackedScripts = [VRRPTrackedObject("chk", weight: -30)] }], scripts: [script])
        rig.at(0, .start)
        #expect(rig.state() == .backup)
        rig.at(s(1), .scriptResult("chk", success: false))
        #expect(rig.state() == .backup)
        #expect(rig.status().effectivePriority == 70)
    }

    // MARK: Sync groups

    static func pair() -> Rig {
        Rig([instance("A", vrid: 51), instance("B", vrid: 52, interface: "d1")],
            groups: [VRRPSyncGroupConfig(name: "G", instances: ["A", "B"],
                                         notify: VRRPNotifyScripts(generic: VRRPCommand(["/bin/g"])))])
    }

    @Test func syncGroupMembersBecomeMasterTogether() {
        var rig = Self.pair()
        rig.at(0, .start)
        // Both down timers expire together: the first waits for the second, which takes both.
        let actions = rig.advance(to: s(3.61))
        #expect(rig.state("A") == .master && rig.state("B") == .master)
        #expect(actions.contains(.groupStateChanged(group: "G", to: .master)))
        #expect(actions.contains(.runNotify(VRRPCommand(["/bin/g", "GROUP", "G", "MASTER", "0"]))))
        #expect(rig.router.groupState("G") == .master)
    }

    @Test func syncGroupWaitsForEveryMember() {
        var rig = Self.pair()
        rig.at(0, .start)
        // B hears a master; A does not. A alone must not become master.
        for t in 1...10 {
            rig.at(s(Double(t)), .advertisement(advert(from: peerHigh, priority: 150, vrid: 52) { $0.interface = "d1" }))
        }
        #expect(rig.state("A") == .backup && rig.state("B") == .backup)
        rig.advance(to: s(10 + 3.61))
        #expect(rig.state("A") == .master && rig.state("B") == .master)
    }

    @Test func syncGroupOneDemotedAllDemoted() {
        var rig = Self.pair()
        rig.at(0, .start)
        rig.advance(to: s(4))
        let actions = rig.at(s(4.5), .advertisement(advert(from: peerHigh, priority: 150)))
        #expect(actions.transitions.map { [$0.0, "\($0.1)", $0.2] } == [
            ["A", "BACKUP", "higher priority advert from 198.18.0.3"],
            ["B", "BACKUP", "sync group G: A became BACKUP"],
        ])
        #expect(rig.router.groupState("G") == .backup)
    }

    @Test func syncGroupOneFaultAllFault() {
        var rig = Self.pair()
        rig.at(0, .start)
        rig.advance(to: s(4))
        let actions = rig.at(s(5), .interface("d1", up: false))
        #expect(actions.transitions.map(\.0) == ["B", "A"])
        #expect(actions.adverts == [0, 0])
        #expect(rig.state("A") == .fault && rig.state("B") == .fault)
        let up = rig.at(s(6), .interface("d1", up: true))
        #expect(Set(up.transitions.map(\.0)) == ["A", "B"])
        #expect(rig.state("A") == .backup && rig.state("B") == .backup)
    }

    // MARK: Bad adverts

    /// Each refused advert: counted under its name, nothing else happens.
    @Test(arguments: [
        ("ttl", VRRPCounter.ttlError),
        ("version", .wrongVersion),
        ("auth type", .authTypeMismatch),
        ("password", .authFailure),
        ("interval", .intervalMismatch),
        ("address count", .addressListMismatch),
    ])
    func badAdvertChangesNothing(kind: String, counter: VRRPCounter) {
        let good = advert(from: peerHigh, priority: 200)
        let bad = advert(from: peerHigh, priority: 200) { a in
            switch kind {
            case "ttl": a.ttl = 254
            case "version": a.version = .v3
            case "auth type": a.authType = .none
            case "password": a.authData = VRRPAdvertisement.authData(password: "2222")
            case "interval": a.intervalCentiseconds = 200
            default: a.addresses.append(IPAddress("198.18.0.11")!)
            }
        }
        for state in [VRRPState.backup, .master] {
            var rig = Rig(instance())
            rig.at(0, .start)
            let t = state == .master ? 4.5 : 1.0
            rig.advance(to: s(t - 0.5))
            let deadline = rig.router.nextDeadline
            #expect(rig.at(s(t), .advertisement(bad)).isEmpty, "\(kind) in \(state)")
            #expect(rig.state() == state)
            #expect(rig.router.nextDeadline == deadline)
            #expect(rig.status().counters[counter] == 1)
            #expect(rig.status().counters[.advertsReceived] == 0)
            #expect(rig.status().counters.refused == 1)
            // The same advert, right this time, is taken.
            rig.at(s(t + 0.1), .advertisement(good))
            #expect(rig.status().counters[.advertsReceived] == 1)
        }
    }

    @Test func unicastSkipsTheTTLCheck() {
        var rig = Rig(instance { $0.unicastPeers = [peerHigh] })
        rig.at(0, .start)
        rig.at(s(1), .advertisement(advert(from: peerHigh, priority: 200) { $0.ttl = 64 }))
        #expect(rig.status().counters[.advertsReceived] == 1)
    }

    @Test func invalidBytesAreCountedByName() {
        var rig = Rig(instance())
        rig.at(0, .start)
        let deadline = rig.router.nextDeadline
        for error in VRRPError.allCases {
            #expect(rig.at(s(1), .invalidAdvertisement(interface: "d0", virtualRouterID: 51, error)).isEmpty)
        }
        #expect(rig.router.nextDeadline == deadline)
        #expect(rig.status().counters.nonZero.map(\.0) == [.truncated, .badVersion, .badType, .badChecksum, .badLength,
                                                             .addressCountMismatch])
        rig.at(s(1), .invalidAdvertisement(interface: "d0", virtualRouterID: nil, .truncated))
        #expect(rig.router.unattributed[.truncated] == 1)
    }

    @Test func otherVRIDIsNotThisInstance() {
        var rig = Rig(instance())
        rig.at(0, .start)
        #expect(rig.at(s(1), .advertisement(advert(from: peerHigh, priority: 200, vrid: 52))).isEmpty)
        #expect(rig.router.foreignAdverts == 1)
        #expect(rig.status().counters.refused == 0)
    }
}
