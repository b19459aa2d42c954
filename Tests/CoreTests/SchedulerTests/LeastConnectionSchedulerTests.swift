import Core
import Testing
import Wire

/// ip_vs_lc.c behaviour: minimum of active × 256 + inactive, first minimum wins, weight only
/// excludes.
@Suite struct LeastConnectionSchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, inactive), expected choice).
    static let cases: [([(Int32, Int32, Int32)], Int?)] = [
        // 256, 100, 50: the fewest inactive wins when nobody else is lighter.
        ([(1, 1, 0), (1, 0, 100), (1, 0, 50)], 2),
        // One active connection outweighs 255 inactive ones, but not 256 (tie → earlier).
        ([(1, 1, 0), (1, 0, 255)], 1),
        ([(1, 1, 0), (1, 0, 256)], 0),
        ([(1, 0, 257), (1, 1, 0)], 1),
        // Ties go to the earlier server.
        ([(1, 0, 10), (1, 0, 10), (1, 0, 10)], 0),
        ([(1, 0, 20), (1, 3, 0), (1, 3, 0)], 0),
        ([(1, 9, 0), (1, 3, 0), (1, 3, 0)], 1),
        // Weight does not scale the load.
        ([(1, 0, 10), (100, 0, 11)], 0),
        // Weight 0 excludes even the lightest server.
        ([(0, 0, 0), (1, 5, 0)], 1),
        ([(1, 5, 0), (0, 0, 0), (1, 4, 0)], 2),
        ([(0, 0, 0), (0, 0, 0)], nil),
        ([], nil),
    ]

    @Test(arguments: cases)
    func choosesTheLeastOverhead(servers spec: [(Int32, Int32, Int32)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, inactive: $0.element.2, index: $0.offset)
        }
        var scheduler = F.makeScheduler(LeastConnectionScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    @Test func overloadedAndRemovedServersAreSkipped() {
        var servers = [F.server(1, inactive: 0, index: 0), F.server(1, inactive: 1, index: 1),
                       F.server(1, inactive: 2, index: 2)]
        servers[0].isOverloaded = true
        servers[1].isRemoved = true
        var scheduler = F.makeScheduler(LeastConnectionScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 2)
        servers[2].isOverloaded = true
        #expect(F.select(&scheduler, &servers) == nil)
    }

    @Test func followsTheCountersBetweenCalls() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(LeastConnectionScheduler.self, &servers)
        // Each chosen server gets one more active connection, as the director would record.
        var picks: [Int?] = []
        for _ in 0..<6 {
            let pick = F.select(&scheduler, &servers)
            picks.append(pick)
            if let pick { servers[pick].activeConnections += 1 }
        }
        #expect(F.letters(picks) == "ABCABC")
    }
}
