import Core
import Testing
import Wire

/// ip_vs_nq.c behaviour: the first idle server wins outright, otherwise sed's rule.
@Suite struct NeverQueueSchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, inactive, overloaded), expected choice).
    static let cases: [([(Int32, Int32, Int32, Bool)], Int?)] = [
        // The first idle server wins whatever the weights.
        ([(1, 1, 0, false), (1, 0, 0, false), (100, 0, 0, false)], 1),
        ([(100, 0, 0, false), (1, 0, 0, false)], 0),
        ([(1, 0, 0, false), (100, 0, 0, false)], 0),
        // An idle server later in the pool beats a lighter busy one earlier.
        ([(100, 1, 0, false), (1, 0, 0, false)], 1),
        // Idle means no active connections; inactive ones do not count.
        ([(1, 0, 50, false), (5, 1, 0, false)], 0),
        // No idle server: sed, 2/1 against 3/3.
        ([(1, 1, 0, false), (3, 2, 0, false)], 1),
        // No idle server: 2/1 against 4/2 ties, the earlier server stays.
        ([(1, 1, 0, false), (2, 3, 0, false)], 0),
        // Idle but overloaded or quiescent servers are skipped.
        ([(1, 0, 0, true), (1, 4, 0, false)], 1),
        ([(0, 0, 0, false), (1, 4, 0, false)], 1),
        ([(0, 0, 0, false), (1, 0, 0, true)], nil),
        ([], nil),
    ]

    @Test(arguments: cases)
    func idleFirstThenShortestExpectedDelay(servers spec: [(Int32, Int32, Int32, Bool)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, inactive: $0.element.2, overloaded: $0.element.3,
                     index: $0.offset)
        }
        var scheduler = F.makeScheduler(NeverQueueScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    @Test func removedIdleServerIsNeverChosen() {
        var servers = [F.server(1, active: 9, index: 0), F.server(5, removed: true, index: 1)]
        var scheduler = F.makeScheduler(NeverQueueScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
    }

    /// Unlike sed, nq hands every idle server one connection before queueing on any.
    @Test func everyServerGetsOneConnectionBeforeAnyGetsTwo() {
        var servers = F.servers(weights: [5, 1, 1])
        var scheduler = F.makeScheduler(NeverQueueScheduler.self, &servers)
        var picks: [Int?] = []
        for _ in 0..<5 {
            let pick = F.select(&scheduler, &servers)
            picks.append(pick)
            if let pick { servers[pick].activeConnections += 1 }
        }
        // A, B, C idle in turn; then sed: A 2/5, B 2/1, C 2/1 → A, then 3/5 → A.
        #expect(F.letters(picks) == "ABCAA")
    }
}
