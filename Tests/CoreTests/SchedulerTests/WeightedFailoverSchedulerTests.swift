import Core
import Testing
import Wire

/// ip_vs_fo.c behaviour: the highest weight among available servers, first among equals.
@Suite struct WeightedFailoverSchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, overloaded, removed), expected choice).
    static let cases: [([(Int32, Int32, Bool, Bool)], Int?)] = [
        ([(1, 0, false, false), (3, 0, false, false), (2, 0, false, false)], 1),
        // Ties keep the earlier server.
        ([(3, 0, false, false), (3, 0, false, false)], 0),
        ([(1, 0, false, false), (3, 0, false, false), (3, 0, false, false)], 1),
        // Connection counts play no part.
        ([(3, 1_000, false, false), (2, 0, false, false)], 0),
        // An overloaded or removed primary fails over to the next weight.
        ([(3, 0, true, false), (2, 0, false, false), (1, 0, false, false)], 1),
        ([(3, 0, false, true), (2, 0, false, false)], 1),
        // Weight 0 never wins.
        ([(0, 0, false, false), (0, 0, false, false)], nil),
        ([(0, 0, false, false), (1, 0, false, false)], 1),
        ([(5, 0, true, false)], nil),
        ([], nil),
    ]

    @Test(arguments: cases)
    func highestAvailableWeightWins(servers spec: [(Int32, Int32, Bool, Bool)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, overloaded: $0.element.2, removed: $0.element.3,
                     index: $0.offset)
        }
        var scheduler = F.makeScheduler(WeightedFailoverScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    @Test func choiceIsStableAcrossCalls() {
        #expect(F.letters(F.sequence(WeightedFailoverScheduler.self, weights: [2, 5, 5, 1], count: 6)) == "BBBBBB")
    }
}
