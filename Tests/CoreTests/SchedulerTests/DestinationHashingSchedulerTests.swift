@testable import Core
import Testing
import Wire

/// ip_vs_dh.c behaviour: an unweighted 256-bucket table keyed on the destination address.
@Suite struct DestinationHashingSchedulerTests {
    typealias F = SchedulerFixtures

    static func flow(to destination: IPAddress, from client: IPAddress = IPAddress(ipv4: 0xC0A8_010A),
                     port: UInt16 = 40000) -> FlowTuple {
        FlowTuple(proto: .tcp, clientAddress: client, clientPort: port, virtualAddress: destination, virtualPort: 80)
    }

    static func buckets(weights: [Int32], removed: Set<Int> = []) -> [Int32] {
        var servers = F.servers(weights: weights)
        for index in removed { servers[index].isRemoved = true }
        return F.makeScheduler(DestinationHashingScheduler.self, &servers).buckets
    }

    // MARK: Table (ip_vs_dh_reassign)

    @Test func bucketsGoRoundTheServersIgnoringWeights() {
        let table = Self.buckets(weights: [1, 5, 0])
        #expect(table.count == 256)
        #expect(Array(table.prefix(7)) == [0, 1, 2, 0, 1, 2, 0])
        #expect((0..<3).map { s in table.filter { $0 == Int32(s) }.count } == [86, 85, 85])
    }

    @Test func removedServerOwnsNoBucket() {
        let table = Self.buckets(weights: [1, 1, 1], removed: [1])
        #expect(Array(table.prefix(4)) == [0, 2, 0, 2])
        #expect(!table.contains(1))
    }

    @Test func emptyPoolHasNoServer() {
        #expect(Self.buckets(weights: []) == Array(repeating: -1, count: 256))
        #expect(Self.buckets(weights: [1], removed: [0]) == Array(repeating: -1, count: 256))
        var servers: [RealServer] = []
        var scheduler = F.makeScheduler(DestinationHashingScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: IPAddress(ipv4: 0x0A00_0001))) == nil)
    }

    // MARK: Key (ip_vs_dh_hashkey)

    /// hash_32 values worked out independently (they match sh's known answers, which use the
    /// same fold and hash on the client address).
    static let knownAnswers: [(IPAddress, Int)] = [
        (IPAddress(ipv4: 0xC0A8_010A), 248),        // 192.168.1.10
        (IPAddress(ipv4: 0x0A00_0001), 39),         // 10.0.0.1
        (IPAddress("2001:db8::1")!, 63),            // fold 0x20010DB8 ^ 1
    ]

    @Test(arguments: knownAnswers)
    func bucketMatchesKnownAnswers(address: IPAddress, bucket: Int) {
        #expect(DestinationHashingScheduler.bucket(of: address) == bucket)
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(DestinationHashingScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: Self.flow(to: address)) == bucket % 3)
    }

    @Test func onlyTheDestinationChoosesTheServer() {
        var servers = F.servers(weights: [1, 1, 1, 1, 1])
        var scheduler = F.makeScheduler(DestinationHashingScheduler.self, &servers)
        let destination = IPAddress(ipv4: 0xC612_0001)
        let expected = F.select(&scheduler, &servers, flow: Self.flow(to: destination))
        for i in 0..<200 {
            let flow = Self.flow(to: destination, from: IPAddress(ipv4: 0x0A00_0000 &+ UInt32(i) &* 7919),
                                 port: UInt16(1024 + i))
            #expect(F.select(&scheduler, &servers, flow: flow) == expected)
        }
        var seen = Set<Int?>()
        for i in 0..<64 { seen.insert(F.select(&scheduler, &servers, flow: Self.flow(to: IPAddress(ipv4: 0xC612_0000 &+ UInt32(i))))) }
        #expect(seen.count == 5)
    }

    // MARK: Availability (ip_vs_dh_schedule)

    @Test func unavailableServerMeansNoServer() {
        var servers = F.servers(weights: [1, 1, 1])
        var scheduler = F.makeScheduler(DestinationHashingScheduler.self, &servers)
        let flow = Self.flow(to: IPAddress(ipv4: 0xC0A8_010A))  // bucket 248 → server 2
        #expect(F.select(&scheduler, &servers, flow: flow) == 2)
        servers[2].isOverloaded = true
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
        servers[2].isOverloaded = false
        servers[2].weight = 0
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
        servers[2].weight = 1
        servers[2].isRemoved = true
        #expect(F.select(&scheduler, &servers, flow: flow) == nil)
        // Rebuilt without it, bucket 248 belongs to 248 mod 2 = server 0.
        scheduler = F.makeScheduler(DestinationHashingScheduler.self, &servers)
        #expect(F.select(&scheduler, &servers, flow: flow) == 0)
    }
}
