import Core
import PacketBuilder
import Testing
import Wire

/// Upper and lower connection thresholds (`-x`, `-y`) as IPVS applies them in
/// ip_vs_bind_dest / ip_vs_unbind_dest (ip_vs_conn.c): a server becomes overloaded when its
/// active + inactive connections reach the upper threshold, and is cleared when they drop
/// below the lower threshold, or below ¾ of the upper one when no lower threshold is set.
/// Each case walks the count up one connection at a time and down one expiry at a time.
@Suite struct ThresholdTests {
    let udp4 = ServiceKey(.udp, IPAddress("198.18.0.10")!, 80)

    /// (upper, lower, the highest total at which the flag is still clear on the way down).
    static let cases: [(UInt32, UInt32, Int)] = [
        (4, 2, 1),    // cleared below the lower threshold: at 1
        (4, 1, 0),    // ... at 0
        (4, 0, 2),    // no lower threshold: below ¾ × 4 = 3, so at 2
        (8, 0, 5),    // below 6
        (3, 0, 2),    // below 2.25
        (5, 5, 4),    // a lower threshold equal to the upper one clears at once
    ]

    @Test(arguments: cases)
    func overloadSetAtUpperAndClearedBelowLower(upper: UInt32, lower: UInt32, clearAt: Int) {
        // Only the first server can take connections, so the counts are easy to read.
        let h = Harness(Lab.config(.nat, weights: (1, 0), upper: upper, lower: lower))
        func server() -> RealServer { h.director.realServers(ofService: udp4)[0] }
        // One UDP flow per second: each adds an inactive connection; they expire in order.
        for n in 1...Int(upper) {
            #expect(!server().isOverloaded, "clear below the upper threshold (\(n - 1) connections)")
            let (verdict, _) = h.run(Lab.fromClient(Lab.v4, .udp, clientPort: UInt16(1000 + n)))
            #expect(verdict == .forward(interface: 1))
            #expect(server().totalConnections == Int32(n))
            h.advance(seconds: 1)
        }
        #expect(server().isOverloaded, "overloaded at exactly \(upper) connections")
        #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 999)).0 == .drop(.noDestinationAvailable))

        // The first flow was created `upper` seconds ago; UDP lives 300 s.
        h.advance(seconds: 300 - Double(upper) + 0.5)
        for total in stride(from: Int(upper) - 1, through: 0, by: -1) {
            #expect(server().totalConnections == Int32(total))
            #expect(server().isOverloaded == (total > clearAt), "at \(total) connections")
            h.advance(seconds: 1)
        }
    }

    @Test func noUpperThresholdNeverOverloads() {
        let h = Harness(Lab.config(.nat, weights: (1, 0), upper: 0, lower: 3))
        for n in 1...20 {
            #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: UInt16(1000 + n))).0 == .forward(interface: 1))
        }
        #expect(!h.director.realServers(ofService: udp4)[0].isOverloaded)
    }

    /// Once cleared, the server takes connections again and overloads again at the threshold.
    @Test func clearedServerIsScheduledAgain() {
        let h = Harness(Lab.config(.nat, weights: (1, 0), upper: 2, lower: 0))
        _ = h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 1))
        h.advance(seconds: 10)
        _ = h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 2))
        #expect(h.director.realServers(ofService: udp4)[0].isOverloaded)
        h.advance(seconds: 291)  // the first flow expires: 1 < 1.5 clears
        #expect(!h.director.realServers(ofService: udp4)[0].isOverloaded)
        #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 3)).0 == .forward(interface: 1))
        #expect(h.director.realServers(ofService: udp4)[0].isOverloaded)
    }

    /// ipvsadm's `-x` takes up to Int32.max; ¾ of the upper threshold must be computed without
    /// overflowing 32 bits when a connection on such a server expires.
    @Test func anUpperThresholdAbove32BitsOverFourDoesNotTrapOnExpiry() {
        let h = Harness(Lab.config(.nat, weights: (1, 0), upper: UInt32(Int32.max), lower: 0))
        #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 1)).0 == .forward(interface: 1))
        h.advance(seconds: 301)
        #expect(h.director.realServers(ofService: udp4)[0].totalConnections == 0)
        #expect(!h.director.realServers(ofService: udp4)[0].isOverloaded)
    }
}
