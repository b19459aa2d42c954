@testable import Core
import Testing
import Wire

/// ip_vs_lblcr.c behaviour: a destination's server set, its least-loaded member, growth when
/// that member is lblc-overloaded, shrinking after the expiration, entry expiry.
@Suite struct ReplicatedLocalityBasedLeastConnectionSchedulerTests {
    typealias F = SchedulerFixtures
    typealias LBLCR = ReplicatedLocalityBasedLeastConnectionScheduler

    static let second: UInt64 = 1_000_000_000
    static let site = IPAddress(ipv4: 0xCB00_7107)

    static func flow(to destination: IPAddress = site, at now: UInt64 = 0) -> FlowTuple {
        FlowTuple(proto: .tcp, clientAddress: IPAddress(ipv4: 0xC0A8_010A), clientPort: 40000,
                  virtualAddress: destination, virtualPort: 80, now: now)
    }

    static func members(_ scheduler: LBLCR, _ destination: IPAddress = site, now: UInt64) -> [Int] {
        guard let slot = scheduler.cache.find(destination, now: now) else { return [] }
        return (0..<Int(scheduler.cache.counts[slot])).map { scheduler.cache.member(slot, $0) }
    }

    @Test func setGrowsWhenItsLeastLoadedMemberIsLocalityOverloaded() {
        var servers = F.servers(weights: [2, 2, 2])
        var scheduler = F.makeScheduler(LBLCR.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        #expect(Self.members(scheduler, now: 0) == [0])
        // 3 > 2 and server 1 is idle (0 < 2 / 2... 0 × 2 < 2): wlc picks 1 and it joins the set.
        servers[0].activeConnections = 3
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1)
        #expect(Self.members(scheduler, now: 0) == [1, 0], "newest first")
        // Now the set minimum serves: server 1 (1 active) is lighter than server 0.
        servers[1].activeConnections = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1)
        // Server 0 frees up: the set minimum moves back to it without any rescheduling.
        servers[0].activeConnections = 0
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        #expect(Self.members(scheduler, now: 0) == [1, 0])
    }

    @Test func setMinimumSkipsFlagOverloadedQuiescentAndRemovedMembers() {
        var servers = F.servers(weights: [2, 2, 2])
        var scheduler = F.makeScheduler(LBLCR.self, &servers)
        _ = F.select(&scheduler, &servers, flow: Self.flow())
        servers[0].activeConnections = 3
        _ = F.select(&scheduler, &servers, flow: Self.flow())  // set [1, 0]
        servers[0].activeConnections = 0
        servers[0].isOverloaded = true
        servers[1].activeConnections = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1)
        servers[1].weight = 0
        // No usable member: wlc over the pool (server 2) joins the set.
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 2)
        #expect(Self.members(scheduler, now: 0) == [2, 1, 0])
    }

    @Test func setShrinksByItsBusiestMemberAfterTheExpiration() {
        var servers = F.servers(weights: [2, 2, 2])
        var scheduler = RealServerPool.with(&servers) { LBLCR(pool: $0, flags: [], expiration: 100 * Self.second) }
        _ = F.select(&scheduler, &servers, flow: Self.flow(at: 0))
        servers[0].activeConnections = 3
        _ = F.select(&scheduler, &servers, flow: Self.flow(at: 10 * Self.second))  // set [1, 0], changed at 10 s
        servers[0].activeConnections = 2
        servers[1].activeConnections = 1
        // A use at 60 s keeps the entry itself alive (entries also expire after 100 s idle).
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 60 * Self.second)) == 1)
        // Exactly 100 s after the change is not yet "after": nothing is erased.
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 110 * Self.second)) == 1)
        #expect(Self.members(scheduler, now: 110 * Self.second) == [1, 0])
        // One nanosecond later the busiest member (server 0, 2/2 against 1/2) goes.
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 110 * Self.second + 1)) == 1)
        #expect(Self.members(scheduler, now: 110 * Self.second + 1) == [1])
        // A single member is never erased (the entry itself stays live: used 90 s ago).
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 200 * Self.second)) == 1)
        #expect(Self.members(scheduler, now: 200 * Self.second) == [1])
    }

    @Test func erasedMinimumStillServesTheFlowThatErasedIt() {
        var servers = F.servers(weights: [1, 1])
        var scheduler = RealServerPool.with(&servers) { LBLCR(pool: $0, flags: [], expiration: Self.second) }
        _ = F.select(&scheduler, &servers, flow: Self.flow(at: 0))
        servers[0].activeConnections = 2
        _ = F.select(&scheduler, &servers, flow: Self.flow(at: 0))  // set [1, 0], changed at 0
        // Both members at 5/1 (nobody under half load): the minimum is the first member,
        // server 1, and so is the maximum.
        servers[0].activeConnections = 5
        servers[1].activeConnections = 5
        let tenth = Self.second / 10
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 9 * tenth)) == 1)
        #expect(Self.members(scheduler, now: 9 * tenth) == [1, 0])
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 18 * tenth)) == 1)
        #expect(Self.members(scheduler, now: 18 * tenth) == [0])
    }

    @Test func entryExpiresAfterTheExpirationIdle() {
        var servers = F.servers(weights: [1, 1])
        var scheduler = RealServerPool.with(&servers) { LBLCR(pool: $0, flags: [], expiration: 60 * Self.second) }
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 0)) == 0)
        servers[0].activeConnections = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 60 * Self.second - 1)) == 0)
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 120 * Self.second - 1)) == 1, "a new entry")
        #expect(LBLCR.defaultExpiration == 86_400 * Self.second)
    }

    @Test func setIsBoundedAndAFullSetReplacesItsBusiestMember() {
        var servers = F.servers(weights: Array(repeating: 1, count: 10))
        var scheduler = F.makeScheduler(LBLCR.self, &servers)
        // Each round: every member busy (2 > 1) with an idle server elsewhere, so wlc adds one.
        for round in 0..<LBLCR.setCapacity + 1 {
            #expect(F.select(&scheduler, &servers, flow: Self.flow()) == round)
            servers[round].activeConnections = 2 + Int32(round == 3 ? 5 : 0)
        }
        let members = Self.members(scheduler, now: 0)
        #expect(members.count == LBLCR.setCapacity)
        #expect(!members.contains(3), "server 3 was the busiest when the ninth joined")
        #expect(members.first == 8)
    }

    @Test func nothingAvailableMeansNoServer() {
        var servers = [F.server(0, index: 0), F.server(1, overloaded: true, index: 1)]
        var scheduler = F.makeScheduler(LBLCR.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == nil)
    }
}
