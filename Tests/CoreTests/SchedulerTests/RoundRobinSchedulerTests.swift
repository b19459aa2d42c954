import Core
import Testing
import Wire

/// ip_vs_rr.c behaviour: order, skipping, and where the search resumes.
@Suite struct RoundRobinSchedulerTests {
    typealias F = SchedulerFixtures

    @Test func cyclesThroughServersInPoolOrder() {
        let picks = F.sequence(RoundRobinScheduler.self, weights: [1, 1, 1], count: 9)
        #expect(F.letters(picks) == "ABCABCABC")
    }

    @Test func weightsDoNotChangeTheOrder() {
        let picks = F.sequence(RoundRobinScheduler.self, weights: [5, 1, 100], count: 6)
        #expect(F.letters(picks) == "ABCABC")
    }

    @Test func skipsQuiescentServers() {
        let picks = F.sequence(RoundRobinScheduler.self, weights: [1, 0, 1, 0], count: 6)
        #expect(F.letters(picks) == "ACACAC")
    }

    @Test func skipsOverloadedAndRemovedServers() {
        var servers = F.servers(weights: [1, 1, 1, 1])
        servers[1].isOverloaded = true
        servers[2].isRemoved = true
        let picks = F.sequence(RoundRobinScheduler.self, &servers, count: 6)
        #expect(F.letters(picks) == "ADADAD")
    }

    @Test func resumesAfterTheLastChosenServer() {
        var servers = F.servers(weights: [1, 1, 1, 1])
        var scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 1)
        // C becomes unavailable between calls: the search starts after B and skips it.
        servers[2].weight = 0
        #expect(F.select(&scheduler, &servers) == 3)
        // It comes back: the search starts after D, wraps to A.
        servers[2].weight = 1
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 1)
        #expect(F.select(&scheduler, &servers) == 2)
    }

    @Test func theLastChosenServerIsCheckedLastAndCanBeChosenAgain() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
        #expect(F.select(&scheduler, &servers) == 1)
        servers[0].isOverloaded = true
        servers[2].isOverloaded = true
        #expect(F.select(&scheduler, &servers) == 1)
        #expect(F.select(&scheduler, &servers) == 1)
    }

    @Test func noAvailableServerGivesNilAndKeepsTheCursor() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
        for index in servers.indices { servers[index].isOverloaded = true }
        #expect(F.select(&scheduler, &servers) == nil)
        #expect(F.select(&scheduler, &servers) == nil)
        for index in servers.indices { servers[index].isOverloaded = false }
        // The failed searches did not move the cursor off A.
        #expect(F.select(&scheduler, &servers) == 1)
    }

    @Test func allQuiescentOrEmptyGivesNil() {
        #expect(F.letters(F.sequence(RoundRobinScheduler.self, weights: [0, 0, 0], count: 3)) == "---")
        #expect(F.letters(F.sequence(RoundRobinScheduler.self, weights: [], count: 2)) == "--")
    }

    @Test func rebuildingStartsAgainFromTheHead() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        _ = F.select(&scheduler, &servers)
        _ = F.select(&scheduler, &servers)
        servers.append(F.server(1, index: 3))
        scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers) == 0)
    }

    @Test func aCursorBeyondAShrunkenPoolStartsFromTheHead() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(RoundRobinScheduler.self, &servers)
        for _ in 0..<3 { _ = F.select(&scheduler, &servers) }
        servers.removeLast(2)
        #expect(F.select(&scheduler, &servers) == 0)
    }
}
