import Core
import Testing
import Wire

/// ip_vs_ovf.c behaviour: the highest weight whose active connections do not exceed it.
@Suite struct WeightedOverflowSchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, inactive, overloaded), expected choice).
    static let cases: [([(Int32, Int32, Int32, Bool)], Int?)] = [
        ([(3, 0, 0, false), (2, 0, 0, false)], 0),
        // active == weight is still eligible: IPVS skips only once active exceeds the weight.
        ([(3, 3, 0, false), (2, 0, 0, false)], 0),
        ([(3, 4, 0, false), (2, 0, 0, false)], 1),
        ([(3, 4, 0, false), (2, 3, 0, false)], nil),
        // Ties keep the earlier server; a later one must be strictly heavier.
        ([(2, 0, 0, false), (2, 0, 0, false)], 0),
        ([(2, 0, 0, false), (3, 0, 0, false)], 1),
        // Inactive connections do not count.
        ([(1, 0, 100, false)], 0),
        // Weight 0 and overloaded servers are skipped.
        ([(0, 0, 0, false), (1, 0, 0, false)], 1),
        ([(5, 0, 0, true), (1, 1, 0, false)], 1),
        ([], nil),
    ]

    @Test(arguments: cases)
    func highestWeightNotOverflowing(servers spec: [(Int32, Int32, Int32, Bool)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, inactive: $0.element.2, overloaded: $0.element.3,
                     index: $0.offset)
        }
        var scheduler = F.makeScheduler(WeightedOverflowScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    /// Connections that stay active fill A to weight + 1, then B, then nothing is left.
    @Test func overflowsInWeightOrder() {
        var servers = F.servers(weights: [1, 2])
        var scheduler = F.makeScheduler(WeightedOverflowScheduler.self, &servers)
        var picks: [Int?] = []
        for _ in 0..<6 {
            let pick = F.select(&scheduler, &servers)
            picks.append(pick)
            if let pick { servers[pick].activeConnections += 1 }
        }
        #expect(F.letters(picks) == "BBBAA-")
    }
}
