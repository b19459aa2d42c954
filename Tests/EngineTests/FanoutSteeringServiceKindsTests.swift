import Core
import PacketIO
@testable import Engine
import TestSupport
import Testing
import Wire

/// The fanout program and port-spanning services: a firewall-mark service's VIPs are those
/// of its `fwmark` lines; what the program cannot steer (a persistent template over ports, a
/// marked network) is refused with a sentence for `--workers` > 1.
@Suite struct FanoutSteeringServiceKindsTests {
    static let server = RealServerConfig(address: IPAddress("198.18.1.11")!, port: 0, method: .nat)

    @Test func markedHostsAreVIPsOfTheProgram() throws {
        var config = DirectorConfig(services: [VirtualServiceConfig(key: ServiceKey(fwmark: 1), realServers: [Self.server])])
        config.firewallMarks = [FirewallMarkRule(mark: 1, proto: .tcp, address: IPAddress("198.18.0.100")!, ports: [80...80])]
        #expect(config.virtualAddresses == [IPAddress("198.18.0.100")!])
        let program = try FanoutSteering.program(for: config, workers: 2)
        #expect(ClassicBPF.check(program.instructions) == nil)
        #expect(program == (try FanoutProgram(workers: 2, virtualAddresses: [IPAddress("198.18.0.100")!], localAddresses: [],
                                              persistentServices: [], key: 0)))
    }

    @Test func portSpanningPersistenceAndMarkedNetworksNeedOneWorker() throws {
        let persistent = DirectorConfig(services: [VirtualServiceConfig(
            key: ServiceKey(.tcp, IPAddress("198.18.0.10")!, 0), persistence: Persistence(prefixLength: 32), realServers: [Self.server])])
        #expect { _ = try FanoutSteering.program(for: persistent, workers: 2) } throws: { "\($0)".contains("--workers 1") }
        #expect(throws: Never.self) { _ = try FanoutSteering.program(for: persistent, workers: 1) }

        var network = DirectorConfig(services: [VirtualServiceConfig(key: ServiceKey(fwmark: 2), realServers: [Self.server])])
        network.firewallMarks = [FirewallMarkRule(mark: 2, proto: .udp, address: IPAddress("198.18.4.0")!, prefixLength: 24)]
        #expect { _ = try FanoutSteering.program(for: network, workers: 2) } throws: {
            "\($0)".contains("'fwmark 2 udp 198.18.4.0/24 0-65535' marks a network")
        }
    }
}
