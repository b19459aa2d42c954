import Control
import Core
import Foundation
@testable import Observability
import Wire

/// One known director state: a TCP NAT service with three real servers (rr, known counters),
/// an IPv6 service, a FullNAT local address, two workers with known drops, checkers (one
/// server DOWN) and one VRRP instance.
enum ObservationFixtures {
    static let vip = IPAddress("198.18.0.10")!
    static let v6 = IPAddress("2001:db8::10")!
    static let tcp = ServiceKey(.tcp, vip, 80)
    static let udp6 = ServiceKey(.udp, v6, 53)

    static func rs(_ last: UInt8, conns: UInt64, active: UInt32, inactive: UInt32, weight: Int32 = 1) -> AdminSnapshot.RealServer {
        AdminSnapshot.RealServer(
            address: IPAddress("198.18.1.\(last)")!, port: 8080, method: .nat, weight: weight,
            activeConnections: active, inactiveConnections: inactive,
            stats: AdminSnapshot.Counters(connections: conns, packetsIn: conns * 5, packetsOut: conns * 4,
                                          bytesIn: conns * 400, bytesOut: conns * 3000),
            rates: TrafficRates(connectionsPerSecond: conns, packetsInPerSecond: 10, packetsOutPerSecond: 8,
                                bytesInPerSecond: 1000, bytesOutPerSecond: 9000))
    }

    static var snapshot: AdminSnapshot {
        let servers = [rs(1, conns: 4, active: 1, inactive: 3), rs(2, conns: 3, active: 0, inactive: 3), rs(3, conns: 3, active: 2, inactive: 1, weight: 0)]
        var total = TrafficStats()
        for s in servers { total = total &+ s.stats.trafficStats }
        let web = AdminSnapshot.Service(key: tcp, scheduler: "rr", realServers: servers,
                                        localAddresses: [AdminSnapshot.LocalAddress(address: IPAddress("198.18.2.1")!, connections: 7)],
                                        stats: AdminSnapshot.Counters(total),
                                        rates: TrafficRates(connectionsPerSecond: 10, packetsInPerSecond: 30, packetsOutPerSecond: 24,
                                                            bytesInPerSecond: 3000, bytesOutPerSecond: 27000))
        let dns = AdminSnapshot.Service(key: udp6, scheduler: "wlc", persistence: 300, realServers: [
            AdminSnapshot.RealServer(address: IPAddress("2001:db8::1:1")!, port: 53, method: .directRouting, weight: 5,
                                     activeConnections: 0, inactiveConnections: 2,
                                     stats: AdminSnapshot.Counters(connections: 2, packetsIn: 2, packetsOut: 0, bytesIn: 120, bytesOut: 0)),
        ], stats: AdminSnapshot.Counters(connections: 2, packetsIn: 2, packetsOut: 0, bytesIn: 120, bytesOut: 0))
        return AdminSnapshot(tableSize: 4096, services: [web, dns])
    }

    static var workers: [WorkerObservation] {
        var w0 = WorkerObservation(index: 0, framesReceived: 100, framesForwarded: 90, framesAnswered: 2, framesPassed: 3,
                                   framesDropped: 5, tableEntries: 8, tableCapacity: 2048)
        w0.drops[Int(DropReason.ipv4BadChecksum.rawValue)] = 4
        w0.drops[Int(DropReason.frameTruncated.rawValue)] = 1
        w0.passes[Int(PassReason.notForDirector.rawValue)] = 3
        w0.engine = [.init(name: "rx-ring-drops", count: 17), .init(name: "tx-ring-full", count: 0)]
        var w1 = WorkerObservation(index: 1, framesReceived: 50, framesForwarded: 49, framesDropped: 1, tableEntries: 4, tableCapacity: 2048)
        w1.drops[Int(DropReason.ipv4BadChecksum.rawValue)] = 1
        return [w0, w1]
    }

    static var health: [RealServerHealthObservation] {
        [
            RealServerHealthObservation(service: tcp, endpoint: Endpoint(IPAddress("198.18.1.1")!, 8080), alive: true, tableWeight: 1,
                                        checkers: [CheckerObservation(kind: "HTTP_GET", up: true, lastDuration: 0.25)]),
            RealServerHealthObservation(service: tcp, endpoint: Endpoint(IPAddress("198.18.1.3")!, 8080), alive: false, tableWeight: 0, transitions: 3,
                                        checkers: [CheckerObservation(kind: "TCP_CHECK", up: false, lastFailure: "connection refused")]),
        ]
    }

    static var vrrp: [VRRPObservation] {
        [VRRPObservation(name: "VI_1", state: "MASTER", priority: 150, effectivePriority: 140,
                         counters: ["adverts_sent": 42, "became_master": 2, "adverts_received": 7, "bad_checksum": 1])]
    }

    static var observation: DirectorObservation {
        DirectorObservation(snapshot: snapshot, workers: workers, health: health, vrrp: vrrp, takenAt: 5_000_000_000)
    }
}
