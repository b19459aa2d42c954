import Core
@testable import Engine
import TestSupport
import Testing
import Wire

/// What the fanout steering program cannot steer is refused by name; what it can steer
/// passes the kernel's classic BPF checks (run here by `ClassicBPF`, no root).
@Suite struct FanoutSteeringTests {
    static func service(_ port: UInt16, persistence: Persistence?, servers: [String], method: ForwardingMethod = .nat) -> VirtualServiceConfig {
        VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress("198.18.0.10")!, port), scheduler: .roundRobin, persistence: persistence,
                             realServers: servers.map { RealServerConfig(address: IPAddress($0)!, port: 8080, method: method) })
    }

    /// A NAT real server endpoint shared by a persistent and a plain service is refused by
    /// name (its replies cannot be told apart); shared alike, or through DR, it is fine.
    @Test func aRealServerSharedByDifferentlyPersistentNATServicesIsRefused() throws {
        let persistent = Persistence(timeout: 300, prefixLength: 24)
        let mixed = DirectorConfig(services: [
            Self.service(80, persistence: persistent, servers: ["198.18.1.11", "198.18.1.12"]),
            Self.service(81, persistence: nil, servers: ["198.18.1.12"]),
        ])
        #expect {
            _ = try FanoutSteering.program(for: mixed, workers: 2)
        } throws: { error in
            let text = "\(error)"
            return text.contains("real server 198.18.1.12:8080 TCP is a NAT real server of TCP 198.18.0.10:80 (persistent, prefix 24) and TCP 198.18.0.10:81 (not persistent)")
                && text.contains("--workers 1")
        }
        let alike = DirectorConfig(services: [
            Self.service(80, persistence: persistent, servers: ["198.18.1.11", "198.18.1.12"]),
            Self.service(81, persistence: persistent, servers: ["198.18.1.12"]),
        ])
        let program = try FanoutSteering.program(for: alike, workers: 2)
        #expect(ClassicBPF.check(program.instructions) == nil)
        let directRouting = DirectorConfig(services: [
            Self.service(80, persistence: persistent, servers: ["198.18.1.11"], method: .directRouting),
            Self.service(81, persistence: nil, servers: ["198.18.1.11"], method: .directRouting),
        ])
        #expect(throws: Never.self) { _ = try FanoutSteering.program(for: directRouting, workers: 2) }
    }
}
