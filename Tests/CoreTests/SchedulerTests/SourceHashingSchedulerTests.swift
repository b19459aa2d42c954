@testable import Core
import Testing
import Wire

/// ip_vs_sh.c behaviour: the weighted 256-bucket table, the hash (IPv4, IPv6 fold, sh-port),
/// stability, proportionality and sh-fallback.
@Suite struct SourceHashingSchedulerTests {
    typealias F = SchedulerFixtures

    static let client = IPAddress(ipv4: 0xC0A8_010A)  // 192.168.1.10

    static func buckets(weights: [Int32], removed: Set<Int> = []) -> [Int32] {
        var servers = F.servers(weights: weights)
        for index in removed { servers[index].isRemoved = true }
        return F.makeScheduler(SourceHashingScheduler.self, &servers).buckets
    }

    static func counts(_ buckets: [Int32], servers: Int) -> [Int] {
        (0..<servers).map { server in buckets.filter { $0 == Int32(server) }.count }
    }

    // MARK: Table (ip_vs_sh_reassign)

    @Test func tableDealsEachServerItsWeightInConsecutiveBuckets() {
        let table = Self.buckets(weights: [1, 2, 3])
        #expect(table.count == 256)
        #expect(Array(table.prefix(12)) == [0, 1, 1, 2, 2, 2, 0, 1, 1, 2, 2, 2])
        // 42 full turns of 6, then A, B, B, C.
        #expect(Array(table.suffix(4)) == [0, 1, 1, 2])
        #expect(Self.counts(table, servers: 3) == [43, 86, 127])
    }

    @Test func tableWithUnequalWeightsWrapsMidTurn() {
        let table = Self.buckets(weights: [2, 1])
        #expect(Array(table.prefix(6)) == [0, 0, 1, 0, 0, 1])
        #expect(Self.counts(table, servers: 2) == [171, 85])
    }

    @Test func quiescentServerStillOwnsOneBucketPerTurn() {
        let table = Self.buckets(weights: [0, 1])
        #expect(Array(table.prefix(4)) == [0, 1, 0, 1])
        #expect(Self.counts(table, servers: 2) == [128, 128])
    }

    @Test func removedServerOwnsNoBucket() {
        let table = Self.buckets(weights: [1, 1, 1], removed: [0])
        #expect(Array(table.prefix(4)) == [1, 2, 1, 2])
        #expect(!table.contains(0))
    }

    @Test func emptyPoolHasEmptyBucketsAndNoServer() {
        #expect(Self.buckets(weights: []) == Array(repeating: -1, count: 256))
        #expect(Self.buckets(weights: [1], removed: [0]) == Array(repeating: -1, count: 256))
        for flags: SchedulerFlags in [[], [.fallback]] {
            var servers: [RealServer] = []
            var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers, flags: flags)
            #expect(F.select(&scheduler, &servers) == nil)
        }
    }

    // MARK: Hash (ip_vs_sh_hashkey)

    /// With three equal servers bucket b belongs to server b % 3, so a choice reveals the
    /// bucket modulo 3. Expected buckets are hash_32 values worked out independently:
    /// top 8 bits of (port + fold) * 0x61C88647.
    static let knownAnswers: [(IPAddress, UInt16, SchedulerFlags, UInt32)] = [
        (client, 40000, [], 248),                               // 0xC0A8010A
        (client, 12345, [], 248),                               // port ignored without sh-port
        (client, 12345, [.port], 87),                           // 0xC0A8010A + 12345
        (IPAddress(ipv4: 0x0A00_0001), 1, [], 39),              // 10.0.0.1
        (IPAddress("2001:db8::1")!, 40000, [], 63),             // fold 0x20010DB8 ^ 1
    ]

    @Test(arguments: knownAnswers)
    func hashMatchesKnownAnswers(address: IPAddress, port: UInt16, flags: SchedulerFlags, bucket: UInt32) {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers, flags: flags)
        let flow = F.flow(from: address, port: port)
        #expect(scheduler.baseHash(flow) == bucket)
        #expect(F.select(&scheduler, &servers, flow: flow) == Int(bucket % 3))
    }

    @Test func ipv6AddressesWithTheSameFoldShareABucket() {
        let words: (UInt64, UInt64, UInt64, UInt64) = (0x2001_0DB8, 0x1234_5678, 0x9ABC_DEF0, 0x0F0F_0F0F)
        let a = IPAddress(high: words.0 << 32 | words.1, low: words.2 << 32 | words.3)
        let b = IPAddress(high: words.1 << 32 | words.0, low: words.3 << 32 | words.2)
        var servers = F.servers(weights: [1, 1, 1, 1, 1, 1, 1])
        var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers)
        #expect(a != b)
        #expect(scheduler.baseHash(F.flow(from: a)) == scheduler.baseHash(F.flow(from: b)))
        #expect(F.select(&scheduler, &servers, flow: F.flow(from: a))
            == F.select(&scheduler, &servers, flow: F.flow(from: b)))
    }

    // MARK: Stability and proportion

    @Test func sameSourceSameServerAcrossCallsAndSchedulers() {
        var servers = F.servers(weights: [1, 2, 3, 1, 5])
        var first = F.makeScheduler(SourceHashingScheduler.self, &servers)
        var second = F.makeScheduler(SourceHashingScheduler.self, &servers)
        for i in 0..<1000 {
            let v4 = F.flow(from: IPAddress(ipv4: 0xAC10_0000 &+ UInt32(i) &* 7919), port: UInt16(1024 + i))
            let v6 = F.flow(from: IPAddress(high: 0x2001_0DB8_0000_0000 | UInt64(i), low: UInt64(i) &* 0x9E37_79B9))
            for flow in [v4, v6] {
                let pick = F.select(&first, &servers, flow: flow)
                #expect(pick != nil)
                #expect(F.select(&first, &servers, flow: flow) == pick)
                #expect(F.select(&second, &servers, flow: flow) == pick)
            }
        }
    }

    @Test func sourcePortChangesTheChoiceOnlyWithSHPort() {
        var servers = F.servers(weights: [1, 1, 1, 1])
        var plain = F.makeScheduler(SourceHashingScheduler.self, &servers)
        var ported = F.makeScheduler(SourceHashingScheduler.self, &servers, flags: [.port])
        var plainPicks = Set<Int?>()
        var portedPicks = Set<Int?>()
        for port in UInt16(1024)..<1088 {
            let flow = F.flow(from: Self.client, port: port)
            plainPicks.insert(F.select(&plain, &servers, flow: flow))
            portedPicks.insert(F.select(&ported, &servers, flow: flow))
        }
        #expect(plainPicks.count == 1)
        #expect(portedPicks.count == 4)
    }

    enum Source: String, CaseIterable { case ipv4, ipv6, ipv4Ports }

    @Test(arguments: Source.allCases)
    func weightsSetTheShareOfSources(source: Source) {
        let weights: [Int32] = [1, 2, 3]
        var servers = F.servers(weights: weights)
        var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers,
                                        flags: source == .ipv4Ports ? [.port] : [])
        let total = 100_000
        var counts = [0, 0, 0]
        for i in 0..<total {
            let flow: FlowTuple
            switch source {
            case .ipv4: flow = F.flow(from: IPAddress(ipv4: 0x0A00_0000 &+ UInt32(i)))
            case .ipv6:
                flow = F.flow(from: IPAddress(high: 0x2001_0DB8_0000_0000,
                                              low: UInt64(i >> 16) << 32 | 0xABCD_0000 | UInt64(i & 0xFFFF)))
            case .ipv4Ports: flow = F.flow(from: Self.client, port: UInt16(truncatingIfNeeded: 1024 + i % 60_000))
            }
            guard let pick = F.select(&scheduler, &servers, flow: flow) else {
                Issue.record("no server for source \(i)")
                return
            }
            counts[pick] += 1
        }
        for (index, weight) in weights.enumerated() {
            let share = Double(counts[index]) / Double(total)
            let expected = Double(weight) / 6
            #expect(abs(share - expected) < 0.02, "server \(index): \(share) vs \(expected)")
        }
    }

    // MARK: Availability and sh-fallback (ip_vs_sh_get, ip_vs_sh_get_fallback)

    @Test func unavailableHashedServerMeansNoServerWithoutFallback() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers)
        let flow = F.flow(from: Self.client)  // bucket 248 → server 2
        #expect(F.select(&scheduler, &servers, flow: flow) == 2)
        servers[2].isOverloaded = true
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
        servers[2].isOverloaded = false
        servers[2].weight = 0
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
    }

    @Test func fallbackProbesFromTwiceTheHomeBucket() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(SourceHashingScheduler.self, &servers, flags: [.fallback])
        let flow = F.flow(from: Self.client)  // bucket 248 → server 2
        #expect(F.select(&scheduler, &servers, flow: flow) == 2)
        servers[2].isOverloaded = true
        // Probes start at (248 + 248) mod 256 = 240 → server 0.
        #expect(F.select(&scheduler, &servers, flow: flow) == 0)
        servers[0].weight = 0
        // 240 → A (quiescent), 241 → server 1.
        #expect(F.select(&scheduler, &servers, flow: flow) == 1)
        servers[1].isOverloaded = true
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
        // Home server back: no probing at all.
        servers[2].isOverloaded = false
        #expect(F.select(&scheduler, &servers, flow: flow) == 2)
    }

    @Test func fallbackSendsQuiescentServersClientsElsewhere() {
        var servers = F.servers(weights: [0, 1])
        var strict = F.makeScheduler(SourceHashingScheduler.self, &servers)
        var lenient = F.makeScheduler(SourceHashingScheduler.self, &servers, flags: [.fallback])
        var strictNil = 0
        for i in 0..<256 {
            let flow = F.flow(from: IPAddress(ipv4: 0x0A00_0000 &+ UInt32(i)))
            if F.select(&strict, &servers, flow: flow) == nil { strictNil += 1 }
            #expect(F.select(&lenient, &servers, flow: flow) == 1)
        }
        // Half the buckets belong to the quiescent server; hash_32 spreads 256 consecutive
        // addresses evenly enough that a good share of them land there.
        #expect(strictNil > 64 && strictNil < 192)
    }
}
