import Core
import Testing
import Wire

/// ip_vs_wlc.c behaviour: minimum overhead / weight by cross-multiplication, ties to the
/// earlier server, and its place as the default scheduler.
@Suite struct WeightedLeastConnectionSchedulerTests {
    typealias F = SchedulerFixtures

    /// (servers as (weight, active, inactive), expected choice).
    static let cases: [([(Int32, Int32, Int32)], Int?)] = [
        // 10 / 1 against 15 / 2.
        ([(1, 0, 10), (2, 0, 15)], 1),
        // 10 / 1 against 20 / 2: a tie keeps the earlier server.
        ([(1, 0, 10), (2, 0, 20)], 0),
        ([(2, 0, 20), (1, 0, 10)], 0),
        // 10 / 1 against 21 / 2.
        ([(1, 0, 10), (2, 0, 21)], 0),
        // Idle servers tie at 0: the first available one wins whatever the weights.
        ([(1, 0, 0), (100, 0, 0)], 0),
        // One active connection is worth 256 inactive ones: 256 / 1 against 300 / 1.
        ([(1, 1, 0), (1, 0, 300)], 0),
        // 512 / 2 = 256 / 1: tie, earlier wins; 511 / 2 is lighter.
        ([(1, 1, 0), (2, 2, 0)], 0),
        ([(1, 1, 0), (2, 1, 255)], 1),
        // Weight 0 is skipped when seeding the search and can never win afterwards.
        ([(0, 0, 0), (1, 0, 5)], 1),
        ([(1, 0, 5), (0, 0, 0)], 0),
        ([(1, 0, 5), (0, 0, 0), (3, 0, 14)], 2),
        ([(0, 0, 0), (0, 0, 0)], nil),
        ([], nil),
        // Large weights and counters stay exact in 64-bit products.
        ([(1_000_000, 8_000, 0), (999_999, 7_999, 0)], 1),
        ([(1_000_000, 8_000, 0), (999_999, 7_999, 255)], 0),
        ([(Int32.max, 4_000_000, 0), (Int32.max - 1, 4_000_000, 0)], 0),
    ]

    @Test(arguments: cases)
    func choosesTheLeastOverheadPerWeight(servers spec: [(Int32, Int32, Int32)], expected: Int?) {
        var servers = spec.enumerated().map {
            F.server($0.element.0, active: $0.element.1, inactive: $0.element.2, index: $0.offset)
        }
        var scheduler = F.makeScheduler(WeightedLeastConnectionScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == expected)
    }

    @Test func overloadedAndRemovedServersAreSkipped() {
        var servers = [F.server(1, index: 0), F.server(1, index: 1), F.server(1, inactive: 9, index: 2)]
        servers[0].isOverloaded = true
        servers[1].isRemoved = true
        var scheduler = F.makeScheduler(WeightedLeastConnectionScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 2)
        servers[2].isOverloaded = true
        #expect(F.select(&scheduler, &servers) == nil)
    }

    @Test func spreadsNewConnectionsInProportionToWeight() {
        var servers = F.servers(weights: [1, 2, 3])
        var scheduler = F.makeScheduler(WeightedLeastConnectionScheduler.self, &servers)
        for _ in 0..<600 {
            guard let pick = F.select(&scheduler, &servers) else { Issue.record("no server"); return }
            servers[pick].activeConnections += 1
        }
        #expect(servers.map(\.activeConnections) == [100, 200, 300])
    }

    @Test func isTheDefaultAndDispatchesThroughSchedulerInstance() {
        #expect(SchedulerKind.ipvsDefault == .weightedLeastConnection)
        var servers = [F.server(1, inactive: 10, index: 0), F.server(2, inactive: 15, index: 1)]
        var instance = RealServerPool.with(&servers) {
            SchedulerInstance(kind: .ipvsDefault, pool: $0, flags: [])
        }
        let pick = RealServerPool.with(&servers) { instance.select(from: $0, flow: F.anyFlow) }
        #expect(pick == 1)
    }
}
