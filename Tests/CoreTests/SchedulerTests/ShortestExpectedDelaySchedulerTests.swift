import Core
import Testing
import Wire

/// ip_vs_sed.c behaviour: minimum (active + 1) / weight by cross-multiplication, inactive
/// connections ignored, ties to the earlier server, weight 0 and overload skipped.
@Suite struct ShortestExpectedDelaySchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, inactive, overloaded), expected choice).
    static let cases: [([(Int32, Int32, Int32, Bool)], Int?)] = [
        // Idle servers: 1/1 against 1/3, the heavier idle server wins (wlc would keep the first).
        ([(1, 0, 0, false), (3, 0, 0, false)], 1),
        // 2/1 against 4/2: a tie keeps the earlier server.
        ([(1, 1, 0, false), (2, 3, 0, false)], 0),
        ([(2, 3, 0, false), (1, 1, 0, false)], 0),
        // 2/1 against 3/2.
        ([(1, 1, 0, false), (2, 2, 0, false)], 1),
        // Inactive connections do not count.
        ([(1, 0, 100, false), (1, 0, 0, false)], 0),
        ([(1, 1, 0, false), (1, 0, 500, false)], 1),
        // Weight 0 neither seeds nor wins.
        ([(0, 0, 0, false), (1, 5, 0, false)], 1),
        ([(1, 5, 0, false), (0, 0, 0, false)], 0),
        // Overloaded servers are skipped even when lightest.
        ([(3, 0, 0, true), (1, 4, 0, false)], 1),
        ([(1, 4, 0, false), (3, 0, 0, true)], 0),
        ([(1, 0, 0, true), (0, 0, 0, false)], nil),
        ([], nil),
        // 64-bit products: (8001 × 999_999) against (8000 × 1_000_000).
        ([(1_000_000, 8_000, 0, false), (999_999, 7_999, 0, false)], 1),
        ([(Int32.max, 2_000_000_000, 0, false), (Int32.max - 1, 2_000_000_000, 0, false)], 0),
    ]

    @Test(arguments: cases)
    func choosesTheShortestExpectedDelay(servers spec: [(Int32, Int32, Int32, Bool)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, inactive: $0.element.2, overloaded: $0.element.3,
                     index: $0.offset)
        }
        var scheduler = F.makeScheduler(ShortestExpectedDelayScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    @Test func removedServerIsNeverChosen() {
        var servers = [F.server(1, active: 9, index: 0), F.server(5, removed: true, index: 1)]
        var scheduler = F.makeScheduler(ShortestExpectedDelayScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
    }

    /// Filling idle servers one connection at a time follows (active + 1) / weight: with weights
    /// 3 and 1, B takes its first connection only when A's expected delay reaches 1 (3 active).
    @Test func connectionsSpreadByExpectedDelay() {
        var servers = F.servers(weights: [3, 1])
        var scheduler = F.makeScheduler(ShortestExpectedDelayScheduler.self, &servers)
        var picks: [Int?] = []
        for _ in 0..<8 {
            let pick = F.select(&scheduler, &servers)
            picks.append(pick)
            if let pick { servers[pick].activeConnections += 1 }
        }
        // A: 1/3 2/3 (tie 3/3 = 1/1 keeps A) then B: 2/1 ...
        #expect(F.letters(picks) == "AAABAAAB")
    }
}
