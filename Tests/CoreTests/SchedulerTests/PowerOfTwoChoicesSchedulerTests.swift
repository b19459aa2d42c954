@testable import Core
import Testing
import Wire

/// ip_vs_twos.c behaviour: two weighted draws over the available servers, the less loaded of the
/// two kept, with a seeded generator so the choices replay.
@Suite struct PowerOfTwoChoicesSchedulerTests {
    typealias F = SchedulerFixtures

    static func make(_ servers: inout [RealServer], seed: UInt64) -> PowerOfTwoChoicesScheduler {
        RealServerPool.with(&servers) { PowerOfTwoChoicesScheduler(pool: $0, flags: [], seed: seed) }
    }

    /// SplitMix64's published first output for seed 0 is 0xE220A8397B1DCDAF.
    @Test func generatorIsSplitMix64() {
        var servers: [RealServer] = []
        var scheduler = Self.make(&servers, seed: 0)
        #expect(scheduler.nextRandom() == 0xE220_A839)
    }

    /// The IPVS rule written out independently, fed the scheduler's own next two draws.
    static func reference(_ servers: [RealServer], _ r1: UInt32, _ r2: UInt32) -> Int? {
        let candidates = servers.indices.filter { servers[$0].isAvailable }
        guard !candidates.isEmpty else { return nil }
        let total = candidates.reduce(Int64(0)) { $0 + Int64(servers[$1].weight) } + 1
        func walk(_ r: UInt32) -> Int {
            var left = Int64(UInt64(r) % UInt64(total))
            for i in candidates {
                left -= Int64(servers[i].weight)
                if left <= 0 { return i }
            }
            return candidates.last!
        }
        let a = walk(r1), b = walk(r2)
        func overhead(_ s: RealServer) -> Int64 { Int64(s.activeConnections) * 256 + Int64(s.inactiveConnections) }
        return Int64(servers[b].weight) * overhead(servers[a]) > Int64(servers[a].weight) * overhead(servers[b]) ? b : a
    }

    @Test func everyChoiceFollowsTheIPVSRule() {
        var servers = [F.server(3, index: 0), F.server(1, index: 1), F.server(0, index: 2),
                       F.server(2, index: 3), F.server(5, overloaded: true, index: 4), F.server(4, index: 5)]
        var scheduler = Self.make(&servers, seed: 42)
        var mixer: UInt64 = 7
        for _ in 0..<2_000 {
            // Vary the counters so both outcomes of the comparison occur.
            for i in servers.indices {
                mixer = mixer &* 6364136223846793005 &+ 1442695040888963407
                servers[i].activeConnections = Int32(mixer >> 60)
                servers[i].inactiveConnections = Int32((mixer >> 40) & 0xFF)
            }
            var shadow = scheduler
            let expected = Self.reference(servers, shadow.nextRandom(), shadow.nextRandom())
            #expect(F.select(&scheduler, &servers) == expected)
        }
    }

    @Test func sameSeedReplaysDifferentSeedDiffers() {
        var servers = F.servers(weights: [1, 2, 3, 4])
        var a = Self.make(&servers, seed: 1), b = Self.make(&servers, seed: 1), c = Self.make(&servers, seed: 2)
        let pa = (0..<100).map { _ in F.select(&a, &servers) }
        let pb = (0..<100).map { _ in F.select(&b, &servers) }
        let pc = (0..<100).map { _ in F.select(&c, &servers) }
        #expect(pa == pb)
        #expect(pa != pc)
        // The default seed comes from the pool, so two schedulers over one pool agree too.
        var d = F.makeScheduler(PowerOfTwoChoicesScheduler.self, &servers)
        var e = F.makeScheduler(PowerOfTwoChoicesScheduler.self, &servers)
        #expect((0..<50).map { _ in F.select(&d, &servers) } == (0..<50).map { _ in F.select(&e, &servers) })
    }

    /// Idle servers tie, so choice 1 stands: draw 0...6 over weights 1, 2, 3 gives the first
    /// server 2 of 7 values (0 and 1), the second 2 (2, 3), the third 3 (4, 5, 6).
    @Test func idleServersAreDrawnByWeightPlusOneForTheFirst() {
        var servers = F.servers(weights: [1, 2, 3])
        var scheduler = Self.make(&servers, seed: 2024)
        var counts = [0, 0, 0]
        let total = 70_000
        for _ in 0..<total { counts[F.select(&scheduler, &servers)!] += 1 }
        for (i, expected) in [2.0 / 7, 2.0 / 7, 3.0 / 7].enumerated() {
            #expect(abs(Double(counts[i]) / Double(total) - expected) < 0.01, "server \(i): \(counts[i])")
        }
    }

    /// The loaded server wins only when both draws land on it: (2/3)² of the time.
    @Test func lessLoadedOfTheTwoIsKept() {
        var servers = [F.server(1, active: 5, index: 0), F.server(1, index: 1)]
        var scheduler = Self.make(&servers, seed: 99)
        let total = 45_000
        var loaded = 0
        for _ in 0..<total where F.select(&scheduler, &servers) == 0 { loaded += 1 }
        #expect(abs(Double(loaded) / Double(total) - 4.0 / 9) < 0.01)
    }

    @Test func nothingAvailableMeansNoServer() {
        var servers = [F.server(0, index: 0), F.server(1, overloaded: true, index: 1), F.server(1, removed: true, index: 2)]
        var scheduler = Self.make(&servers, seed: 5)
        #expect(F.select(&scheduler, &servers) == nil)
        var empty: [RealServer] = []
        var none = Self.make(&empty, seed: 5)
        #expect(F.select(&none, &empty) == nil)
    }
}
