@testable import Core
import Testing
import Wire

/// ip_vs_lblc.c behaviour: a destination sticks to its server until that server is removed,
/// quiesced or lblc-overloaded; entries expire; the cache is bounded.
@Suite struct LocalityBasedLeastConnectionSchedulerTests {
    typealias F = SchedulerFixtures
    typealias LBLC = LocalityBasedLeastConnectionScheduler

    static let second: UInt64 = 1_000_000_000
    static let site = IPAddress(ipv4: 0xCB00_7107)  // 203.0.113.7

    static func flow(to destination: IPAddress = site, at now: UInt64 = 0) -> FlowTuple {
        FlowTuple(proto: .tcp, clientAddress: IPAddress(ipv4: 0xC0A8_010A), clientPort: 40000,
                  virtualAddress: destination, virtualPort: 80, now: now)
    }

    @Test func missSchedulesByWeightedLeastConnection() {
        var servers = [F.server(1, active: 2, index: 0), F.server(2, active: 1, index: 1), F.server(1, index: 2)]
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 2)
    }

    @Test func destinationSticksWhileItsServerIsNotLocalityOverloaded() {
        var servers = F.servers(weights: [4, 4])
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        // Server 0 is now far busier, but active (4) does not exceed its weight (4).
        servers[0].activeConnections = 4
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: Self.second)) == 0)
        // active > weight, but nobody is under half load (server 1: 2 × 2 is not < 4): stays.
        servers[0].activeConnections = 5
        servers[1].activeConnections = 2
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 2 * Self.second)) == 0)
        // Server 1 drops below half its weight: the destination moves, and stays moved.
        servers[1].activeConnections = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 3 * Self.second)) == 1)
        servers[0].activeConnections = 0
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: 4 * Self.second)) == 1)
    }

    @Test func halfLoadTestIncludesEveryConfiguredServer() {
        // The under-half server may itself be quiescent or flag-overloaded: IPVS counts it.
        var servers = [F.server(1, active: 2, index: 0), F.server(1, active: 3, index: 1),
                       F.server(4, overloaded: true, index: 2)]
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        servers[0].activeConnections = 0
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        servers[0].activeConnections = 2
        // 0 is lblc-overloaded (2 > 1, and server 2 has 0 × 2 < 4): wlc picks among 0 and 1.
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        servers[1].activeConnections = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1)
    }

    @Test func quiescedOrRemovedServerLosesItsDestinations() {
        for change in ["weight", "removed"] {
            var servers = F.servers(weights: [1, 1])
            var scheduler = F.makeScheduler(LBLC.self, &servers)
            #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
            if change == "weight" { servers[0].weight = 0 } else { servers[0].isRemoved = true }
            #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1)
            if change == "weight" { servers[0].weight = 1 } else { servers[0].isRemoved = false }
            #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 1, "the cache now says 1")
        }
    }

    /// ip_vs_lblc_schedule checks a cached server's weight and the lblc rule, not the threshold
    /// overload flag, so a cached destination keeps its server past `-x`.
    @Test func cachedServerIgnoresTheThresholdOverloadFlag() {
        var servers = F.servers(weights: [1, 1])
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        servers[0].isOverloaded = true
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        // A new destination is scheduled by wlc, which does skip it.
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: IPAddress(ipv4: 0xCB00_7108))) == 1)
    }

    @Test func nothingAvailableMeansNoServerAndTheEntryStays() {
        var servers = F.servers(weights: [1, 1])
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
        servers[0].weight = 0
        servers[1].isOverloaded = true
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == nil)
        servers[0].weight = 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow()) == 0)
    }

    @Test func entryExpiresExactlyAfterTheExpirationIdle() {
        var servers = F.servers(weights: [1, 1])
        var scheduler = RealServerPool.with(&servers) { LBLC(pool: $0, flags: [], expiration: 60 * Self.second) }
        let start: UInt64 = 1_000 * Self.second
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: start)) == 0)
        servers[0].activeConnections = 1  // wlc would now pick 1
        // Each use refreshes the entry.
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: start + 59 * Self.second)) == 0)
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: start + 118 * Self.second)) == 0)
        // One nanosecond short of 60 s idle: still there; at 60 s: gone, rescheduled.
        let last = start + 118 * Self.second
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: last + 60 * Self.second - 1)) == 0)
        let reuse = last + 60 * Self.second - 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow(at: reuse + 60 * Self.second)) == 1)
        #expect(LBLC.defaultExpiration == 86_400 * Self.second)
    }

    @Test func destinationsAreIndependent() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        var assigned: [Int?] = []
        for i in 0..<3 {
            let pick = F.select(&scheduler, &servers, flow: Self.flow(to: IPAddress(ipv4: 0xCB00_7100 &+ UInt32(i))))
            assigned.append(pick)
            if let pick { servers[pick].inactiveConnections += 1 }
        }
        #expect(assigned == [0, 1, 2])
        for i in 0..<3 {
            #expect(F.select(&scheduler, &servers, flow: Self.flow(to: IPAddress(ipv4: 0xCB00_7100 &+ UInt32(i)))) == i)
        }
    }

    /// Sixteen entries per bucket: a seventeenth destination replaces the one idle longest.
    @Test func fullBucketEvictsTheLeastRecentlyUsed() {
        let bucket = LocalityCache.bucket(of: Self.site)
        var colliding: [IPAddress] = []
        var candidate: UInt32 = 0x0A00_0000
        while colliding.count < 17 {
            let address = IPAddress(ipv4: candidate)
            if LocalityCache.bucket(of: address) == bucket { colliding.append(address) }
            candidate &+= 1
        }
        var servers = F.servers(weights: [1, 1])
        var scheduler = F.makeScheduler(LBLC.self, &servers)
        // All sixteen go to server 0 (idle ties keep the first), at times 1...16.
        for (i, address) in colliding.prefix(16).enumerated() {
            #expect(F.select(&scheduler, &servers, flow: Self.flow(to: address, at: UInt64(i + 1))) == 0)
        }
        // Touch the first again so the second is now idle longest.
        _ = F.select(&scheduler, &servers, flow: Self.flow(to: colliding[0], at: 20))
        servers[0].activeConnections = 1  // new schedules now go to server 1
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: colliding[16], at: 21)) == 1)
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: colliding[0], at: 22)) == 0, "kept")
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: colliding[2], at: 23)) == 0, "kept")
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: colliding[1], at: 24)) == 1, "evicted, rescheduled")
    }

    @Test func bucketIsHash32OfTheFoldOnTenBits() {
        #expect(LocalityCache.bucket(of: IPAddress(ipv4: 0xC0A8_010A)) == Int((0xC0A8_010A &* UInt32(0x61C8_8647)) >> 22) * 16)
    }
}
