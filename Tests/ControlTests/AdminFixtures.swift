import Control
import Core
import Wire

/// The table the golden listings print: four services given out of order (the listings
/// sort them), with counters, rates and connections chosen to hit every column width and
/// print_largenum's scaling. The expected texts in AdminListingTests were produced by
/// ipvsadm 1.31's own printf formats (print_title, print_service_entry, print_largenum,
/// print_conn) fed with these values.
enum AdminFixtures {
    typealias S = AdminSnapshot

    static func counters(_ c: UInt64, _ pi: UInt64, _ po: UInt64, _ bi: UInt64, _ bo: UInt64) -> S.Counters {
        S.Counters(connections: c, packetsIn: pi, packetsOut: po, bytesIn: bi, bytesOut: bo)
    }

    static func rates(_ c: UInt64, _ pi: UInt64, _ po: UInt64, _ bi: UInt64, _ bo: UInt64) -> TrafficRates {
        TrafficRates(connectionsPerSecond: c, packetsInPerSecond: pi, packetsOutPerSecond: po, bytesInPerSecond: bi, bytesOutPerSecond: bo)
    }

    static let snapshot = AdminSnapshot(tableSize: 4096, services: [
        S.Service(key: tcp("198.18.0.10", 80), scheduler: "rr",
                  realServers: [
                    S.RealServer(address: ip("198.18.1.12"), port: 8080, method: .nat, weight: 1, activeConnections: 3,
                                 inactiveConnections: 10, stats: counters(234, 999_999_999_999_999, 0, 1_000_000_000_000_000, 0),
                                 rates: rates(123_456_789, 333, 0, 100_000_000_000, 0)),
                    S.RealServer(address: ip("198.18.1.11"), port: 8080, method: .nat, weight: 2, upperThreshold: 100,
                                 lowerThreshold: 80, activeConnections: 5, inactiveConnections: 1,
                                 stats: counters(1000, 99_999_999, 0, 100_000_000, 0), rates: rates(1, 12, 0, 1500, 0)),
                  ],
                  stats: counters(1234, 98_765_432, 0, 123_456_789_012, 0), rates: rates(12, 345, 0, 999_999_999, 0)),
        S.Service(key: ServiceKey(.tcp, ip("2001:db8::10"), 443), scheduler: "sh", flags: [.port], persistence: 600, prefixLength: 64,
                  realServers: [S.RealServer(address: ip("2001:db8:1::11"), port: 443, method: .fullNAT, weight: 5)],
                  localAddresses: [S.LocalAddress(address: ip("2001:db8::100"))]),
        S.Service(key: udp("198.18.0.10", 53), scheduler: "wlc", persistence: 360, prefixLength: 24,
                  realServers: [S.RealServer(address: ip("198.18.1.11"), port: 53, method: .directRouting, weight: 1,
                                             persistentConnections: 2, stats: counters(7, 7, 7, 700, 700))],
                  stats: counters(7, 7, 7, 700, 700)),
        S.Service(key: tcp("198.18.0.9", 443), scheduler: "wlc",
                  realServers: [S.RealServer(address: ip("198.18.1.21"), port: 443, method: .tunnel, weight: 0)]),
    ], connections: [
        S.Connection(proto: .tcp, clientAddress: ip("198.18.0.1"), clientPort: 40001, virtualAddress: ip("198.18.0.10"),
                     virtualPort: 80, destinationAddress: ip("198.18.1.11"), destinationPort: 8080, state: "ESTABLISHED", expires: 899),
        S.Connection(proto: .tcp, clientAddress: ip("198.18.0.1"), clientPort: 40002, virtualAddress: ip("198.18.0.10"),
                     virtualPort: 80, destinationAddress: ip("198.18.1.12"), destinationPort: 8080, state: "SYN_RECV", expires: 118),
        S.Connection(proto: .udp, clientAddress: ip("198.18.0.2"), clientPort: 5353, virtualAddress: ip("198.18.0.10"),
                     virtualPort: 53, destinationAddress: ip("198.18.1.11"), destinationPort: 53, state: "UDP", expires: 245),
        S.Connection(proto: .udp, clientAddress: ip("198.18.0.0"), clientPort: 0, virtualAddress: ip("198.18.0.10"),
                     virtualPort: 53, destinationAddress: ip("198.18.1.11"), destinationPort: 53, state: "NONE", expires: 6000),
        S.Connection(proto: .tcp, clientAddress: ip("2001:db8:ff::1"), clientPort: 51000, virtualAddress: ip("2001:db8::10"),
                     virtualPort: 443, destinationAddress: ip("2001:db8:1::11"), destinationPort: 443, state: "TIME_WAIT", expires: 0),
    ])
}
