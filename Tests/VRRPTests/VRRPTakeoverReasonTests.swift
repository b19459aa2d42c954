import Testing
import VRRP
import Wire

/// The reason a takeover is logged with is the last thing that happened, not an older one:
/// a backup that took over after a priority 0 advert, was preempted, and then lost its master
/// silently (SIGKILL) says "master down interval expired".
@Suite struct VRRPTakeoverReasonTests {
    @Test func reasonAfterPreemptionAndSilentLoss() {
        var rig = Rig(instance(priority: 100))
        rig.at(0, .start)
        rig.at(s(0.5), .advertisement(advert(from: peerHigh, priority: 150)))
        rig.at(s(1.0), .advertisement(advert(from: peerHigh, priority: 0)))
        rig.advance(to: s(2))
        #expect(rig.state() == .master)
        #expect(rig.transitions.last?.3 == "priority 0 advert from 198.18.0.3")
        rig.at(s(5), .advertisement(advert(from: peerHigh, priority: 150)))
        #expect(rig.state() == .backup)
        // The new master dies before its next advert.
        rig.advance(to: s(10))
        #expect(rig.state() == .master)
        #expect(rig.transitions.last?.3 == "master down interval expired")
    }
}

/// A backup that preempts a lower-priority master keeps advertising every advert_int.
@Suite struct VRRPPreemptingMasterTests {
    @Test func preemptingMasterAdvertisesEverySecond() {
        var rig = Rig(instance(priority: 150))
        rig.at(0, .start)
        for t in 0..<5 { rig.at(s(0.2 + Double(t)), .advertisement(advert(from: peerLow, priority: 100))) }
        #expect(rig.state() == .master)
        let start = rig.log.count
        rig.advance(to: s(10))
        let adverts = rig.log[start...].filter { if case .sendAdvertisement = $0.1 { return true } else { return false } }
        #expect(adverts.count >= 5, "\(rig.log.map { "\($0.0): \($0.1)" })")
    }
}
