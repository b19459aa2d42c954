import Core
import Testing
import Wire

/// ip_vs_wrr.c behaviour: exact interleaved sequences, gcd steps, quiescent and overloaded
/// servers, and termination when nothing is available.
@Suite struct WeightedRoundRobinSchedulerTests {
    typealias F = SchedulerFixtures

    /// (weights, one full cycle of picks). Each cycle repeats exactly.
    static let cycles: [([Int32], String)] = [
        ([4, 3, 2], "AABABCABC"),
        ([1, 1, 1], "ABC"),
        ([2, 1], "AAB"),
        ([3, 2, 1], "AABABC"),
        // gcd 2: the same interleaving as 3, 2, 1.
        ([6, 4, 2], "AABABC"),
        // gcd 2 with mw lowered by di - 1: thresholds 3 then 1.
        ([4, 2], "AAB"),
        ([5], "A"),
        ([1, 5], "BBBBAB"),
        // A quiescent server is skipped; gcd and maximum come from the others.
        ([4, 0, 2], "AAC"),
        ([0, 3, 0, 1], "BBBD"),
    ]

    @Test(arguments: cycles)
    func sequenceRepeatsTheCycle(weights: [Int32], cycle: String) {
        let picks = F.sequence(WeightedRoundRobinScheduler.self, weights: weights, count: cycle.count * 3)
        #expect(F.letters(picks) == cycle + cycle + cycle)
    }

    @Test func eachCycleServesEveryServerInProportionToItsWeight() {
        let weights: [Int32] = [5, 3, 1, 7]
        let picks = F.sequence(WeightedRoundRobinScheduler.self, weights: weights, count: 16 * 10)
        for (index, weight) in weights.enumerated() {
            #expect(picks.filter { $0 == index }.count == Int(weight) * 10)
        }
    }

    @Test func allQuiescentGivesNil() {
        #expect(F.letters(F.sequence(WeightedRoundRobinScheduler.self, weights: [0, 0, 0], count: 3)) == "---")
        #expect(F.letters(F.sequence(WeightedRoundRobinScheduler.self, weights: [], count: 2)) == "--")
    }

    @Test func overloadedServerIsSkippedButStillSetsTheMaximum() {
        var servers = F.servers(weights: [4, 3, 2])
        servers[0].isOverloaded = true
        // Thresholds still start at 4, where nobody qualifies, then 3, 2, 1.
        let picks = F.sequence(WeightedRoundRobinScheduler.self, &servers, count: 10)
        #expect(F.letters(picks) == "BBCBCBBCBC")
    }

    @Test func removedServersDoNotCountTowardsGcdOrMaximum() {
        var servers = F.servers(weights: [9, 4, 2])
        servers[0].isRemoved = true
        let picks = F.sequence(WeightedRoundRobinScheduler.self, &servers, count: 6)
        #expect(F.letters(picks) == "BBCBBC")
    }

    @Test func allOverloadedGivesNilThenResumes() {
        var servers = F.servers(weights: [4, 3, 2])
        var scheduler = F.makeScheduler(WeightedRoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 0)
        for index in servers.indices { servers[index].isOverloaded = true }
        #expect(F.select(&scheduler, &servers) == nil)
        #expect(F.select(&scheduler, &servers) == nil)
        for index in servers.indices { servers[index].isOverloaded = false }
        // A failed search leaves the cursor on the head at the highest threshold.
        #expect(F.select(&scheduler, &servers) == 0)
    }

    @Test func theOnlyAvailableServerIsFoundFromAnyCursor() {
        var servers = F.servers(weights: [4, 3, 2])
        var scheduler = F.makeScheduler(WeightedRoundRobinScheduler.self, &servers)
        // Walk to B at threshold 3, then leave only C (below every threshold until 2).
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 1)
        servers[0].isOverloaded = true
        servers[1].isOverloaded = true
        for _ in 0..<5 { #expect(F.select(&scheduler, &servers) == 2) }
    }

    @Test func theOnlyAvailableServerBeforeTheCursorIsFound() {
        var servers = F.servers(weights: [1, 4, 1])
        var scheduler = F.makeScheduler(WeightedRoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 1)
        servers[1].isOverloaded = true
        servers[2].isOverloaded = true
        // From B at threshold 4: the sweep must wrap and reach A at threshold 1.
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 0)
    }

    @Test func rebuildRestartsAtTheHighestThreshold() {
        var servers = F.servers(weights: [4, 3, 2])
        var scheduler = F.makeScheduler(WeightedRoundRobinScheduler.self, &servers)
        for _ in 0..<4 { _ = F.select(&scheduler, &servers) }
        servers[2].weight = 4
        scheduler = F.makeScheduler(WeightedRoundRobinScheduler.self, &servers)
        let picks = (0..<9).map { _ in F.select(&scheduler, &servers) }
        #expect(F.letters(picks) == "ACABCABCA")
    }
}
