import Core
import Wire

/// Pools and flows for the scheduler tests, namespaced so they cannot collide with helpers in
/// other CoreTests files.
enum SchedulerFixtures {
    /// A real server 10.1.0.<index+1>:80 with the given weight and live counters.
    static func server(_ weight: Int32, active: Int32 = 0, inactive: Int32 = 0,
                       overloaded: Bool = false, removed: Bool = false, index: Int = 0) -> RealServer {
        var server = RealServer(RealServerConfig(address: IPAddress(ipv4: 0x0A01_0001 &+ UInt32(index)), port: 80,
                                                 weight: weight))
        server.activeConnections = active
        server.inactiveConnections = inactive
        server.isOverloaded = overloaded
        server.isRemoved = removed
        return server
    }

    /// Servers with these weights and no connections.
    static func servers(weights: [Int32]) -> [RealServer] {
        weights.enumerated().map { server($0.element, index: $0.offset) }
    }

    /// A TCP flow from `client` to 198.18.0.1:80.
    static func flow(from client: IPAddress, port: UInt16 = 40000) -> FlowTuple {
        FlowTuple(proto: .tcp, clientAddress: client, clientPort: port,
                  virtualAddress: IPAddress(ipv4: 0xC612_0001), virtualPort: 80)
    }

    static let anyFlow = flow(from: IPAddress(ipv4: 0xC0A8_010A))

    static func makeScheduler<S: Scheduler>(_ type: S.Type, _ servers: inout [RealServer],
                                            flags: SchedulerFlags = []) -> S {
        RealServerPool.with(&servers) { S(pool: $0, flags: flags) }
    }

    static func select<S: Scheduler>(_ scheduler: inout S, _ servers: inout [RealServer],
                                     flow: FlowTuple = anyFlow) -> Int? {
        RealServerPool.with(&servers) { scheduler.select(from: $0, flow: flow) }
    }

    /// `count` consecutive selections from one scheduler over an unchanging pool.
    static func sequence<S: Scheduler>(_ type: S.Type, weights: [Int32], count: Int) -> [Int?] {
        var servers = Self.servers(weights: weights)
        return sequence(type, &servers, count: count)
    }

    static func sequence<S: Scheduler>(_ type: S.Type, _ servers: inout [RealServer], count: Int) -> [Int?] {
        var scheduler = makeScheduler(type, &servers)
        return (0..<count).map { _ in select(&scheduler, &servers) }
    }

    /// Letters for readable expectations: 0 → "A", nil → "-".
    static func letters(_ picks: [Int?]) -> String {
        String(picks.map { $0.map { Character(UnicodeScalar(UInt8(65 + $0))) } ?? "-" })
    }
}
