import Core
import PacketBuilder
import Testing
import Wire

/// The table-pressure defence (Docs/adr/0006): half-open entries made while the table is
/// over 3/4 full leave early, new flows over 7/8 are refused at random, and established
/// connections are never touched.
@Suite struct TablePressureTests {
    static let capacity = 64

    func syn(_ h: Harness, port: UInt16) -> Verdict {
        h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn], clientPort: port)).0
    }

    @Test func halfOpenEntriesMadeUnderPressureExpireEarly() {
        let h = Harness(Lab.config(.nat), capacity: Self.capacity)
        // Half the table: normal SYN_RECV entries (60 s).
        for port in UInt16(1000)..<1032 { #expect(syn(h, port: port) == .forward(interface: 1)) }
        // Up to 7/8: over 3/4 these get ever shorter timeouts.
        for port in UInt16(2000)..<2024 { #expect(syn(h, port: port) == .forward(interface: 1)) }
        #expect(h.director.table.count == 56)
        // Above 3/4 the timeout falls linearly from 60 s towards 3 s at a full table: at 49
        // entries 56.4 s, at 56 entries 31.5 s.
        h.advance(seconds: 31)
        #expect(h.director.table.count == 56)
        h.advance(seconds: 14)
        let partly = h.director.table.count
        #expect(partly > 48 && partly < 56, "the fuller the table was, the sooner the entry goes: \(partly)")
        h.advance(seconds: 13)
        // Every entry made above 3/4 (the last 8) has gone at 58 s; the earlier ones stand.
        #expect(h.director.table.count == 48)
        h.advance(seconds: 3)
        #expect(h.director.table.count == 0)
    }

    @Test func newFlowsAreRefusedAtRandomNearFullButEstablishedOnesFlow() {
        let h = Harness(Lab.config(.nat), capacity: Self.capacity)
        // Eight established connections first.
        for port in UInt16(500)..<508 {
            #expect(syn(h, port: port) == .forward(interface: 1))
            #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: port)).0 == .forward(interface: 1))
        }
        var refused = 0, tableFull = 0
        for port in UInt16(3000)..<3400 {
            switch syn(h, port: port) {
            case .drop(.tablePressure): refused += 1
            case .drop(.connectionTableFull): tableFull += 1
            default: break
            }
        }
        #expect(refused > 0, "no new flow was refused near a full table")
        #expect(h.director.count(.tablePressure) == UInt64(refused))
        #expect(h.director.table.count <= Self.capacity)
        // Nothing established was lost, and it still flows.
        for port in UInt16(500)..<508 {
            #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: port)).0 == .forward(interface: 1))
        }
        #expect(h.director.realServers(ofService: ServiceKey(.tcp, IPAddress(Lab.v4.vip)!, 80)).map(\.activeConnections).reduce(0, +) == 8)
        _ = tableFull
    }

    @Test func belowSevenEighthsNothingIsRefused() {
        let h = Harness(Lab.config(.nat), capacity: Self.capacity)
        for port in UInt16(1000)..<1055 { #expect(syn(h, port: port) == .forward(interface: 1)) }
        #expect(h.director.count(.tablePressure) == 0)
    }
}
