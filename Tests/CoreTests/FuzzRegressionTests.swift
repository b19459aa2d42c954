import Core
import PacketBuilder
import Testing
import Wire

/// Inputs the libFuzzer targets in Fuzz/ crashed on (Docs/fuzzing.md), each reduced to the
/// few frames that matter and kept here so the crash cannot come back.
@Suite struct FuzzRegressionTests {
    /// Fuzz/ frame target, first minutes (issue 12): with `-x` above 1,431,655,765 and no
    /// `-y`, expiring one of the server's connections computed `upper * 3` in UInt32 and
    /// trapped. The ¾ rule must be computed without overflow, for every threshold the
    /// parsers accept (up to Int32.max; UInt32.max here for good measure).
    @Test(arguments: [UInt32(1_431_655_766), 2_000_000_000, UInt32(Int32.max), UInt32.max])
    func expiryUnderAHugeUpperThresholdDoesNotTrap(upper: UInt32) {
        let h = Harness(Lab.config(.nat, weights: (1, 0), upper: upper, lower: 0))
        let udp4 = ServiceKey(.udp, IPAddress(Lab.v4.vip)!, Lab.virtualPort)
        #expect(h.run(Lab.fromClient(Lab.v4, .udp)).0 == .forward(interface: 1))
        #expect(h.director.table.count == 1)
        h.advance(seconds: 400)  // UDP lives 300 s
        #expect(h.director.table.count == 0)
        #expect(!h.director.realServers(ofService: udp4)[0].isOverloaded)
        #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 40001)).0 == .forward(interface: 1))
    }
}
