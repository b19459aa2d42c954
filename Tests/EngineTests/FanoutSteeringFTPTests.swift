import Core
import PacketBuilder
import PacketIO
@testable import Engine
import TestSupport
import Testing
import Wire

/// FTP services and the fanout program (Docs/ftp.md): the VIP of a NAT or FullNAT service on
/// an FTP port is steered by the client's address, with every VIP and NAT real server tied to
/// it through a shared NAT real server; a sync backup puts synced connections where the
/// program steers them; a persistent FTP service with a short netmask is refused.
@Suite struct FanoutSteeringFTPTests {
    static func service(_ vip: String, _ port: UInt16, _ servers: [String], method: ForwardingMethod = .nat,
                        persistence: Persistence? = nil) -> VirtualServiceConfig {
        VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress(vip)!, port), scheduler: .roundRobin, persistence: persistence,
                             realServers: servers.map { RealServerConfig(address: IPAddress($0)!, port: port, method: method) })
    }

    static let config = DirectorConfig(services: [
        service("198.18.0.10", 21, ["198.18.1.11", "198.18.1.12"]),  // FTP, NAT
        service("198.18.0.10", 80, ["198.18.1.13"]),                 // same VIP: its server joins
        service("198.18.0.20", 80, ["198.18.1.13"]),                 // shares 1.13: this VIP joins
        service("198.18.0.30", 80, ["198.18.1.14"]),                 // unrelated
        service("198.18.0.40", 21, ["198.18.1.15"], method: .directRouting),  // DR FTP: persistence's job
        service("2001:db8::10", 21, ["2001:db8:1::11"], method: .fullNAT),    // FullNAT FTP
    ])

    @Test func ftpVIPsAndTheirNATRealServersAreSteeredByClientAddress() throws {
        let steering = FanoutSteering.clientAddressSteering(for: Self.config)
        #expect(Set(steering.virtualAddresses) == Set(["198.18.0.10", "198.18.0.20", "2001:db8::10"].map { IPAddress($0)! }))
        #expect(Set(steering.natRealServers) == Set(["198.18.1.11", "198.18.1.12", "198.18.1.13"].map { IPAddress($0)! }))
        let program = try FanoutSteering.program(for: Self.config, workers: 2)
        #expect(ClassicBPF.check(program.instructions) == nil)
        #expect(program == (try FanoutProgram(workers: 2, virtualAddresses: Self.config.virtualAddresses, localAddresses: [],
                                              clientAddress: steering)))

        var off = Self.config
        off.tunables.ftpPorts = .none
        #expect(FanoutSteering.clientAddressSteering(for: off) == .init())
    }

    /// A synced NAT connection of an FTP VIP (control or data, any port) goes where the
    /// client's address sends it; one of an unrelated VIP where its port does; FullNAT by the
    /// local port.
    @Test func syncedConnectionsFollowTheProgram() throws {
        let workers = 3
        let program = try FanoutSteering.program(for: Self.config, workers: workers, key: 0x4654)
        for i in 0..<60 {
            let client = IPAddress(ipv4: 0xC612_8000 | UInt32(i * 37)), cport = UInt16(30000 + i * 11)
            for (vip, vport, rip) in [("198.18.0.10", UInt16(21), "198.18.1.11"), ("198.18.0.10", 40000 + UInt16(i), "198.18.1.12"),
                                      ("198.18.0.20", 80, "198.18.1.13"), ("198.18.0.30", 80, "198.18.1.14")] {
                let record = SyncConnectionRecord(
                    proto: .tcp, flags: .forwarding(SyncConnectionFlags.forwardMasquerade), state: 1,
                    clientAddress: client, clientPort: cport, virtualAddress: IPAddress(vip)!, virtualPort: vport,
                    destinationAddress: IPAddress(rip)!, destinationPort: vport, timeout: 900)
                let w = FanoutSteering.worker(for: record, config: Self.config, workers: workers, key: 0x4654)
                let frame = FanoutProgramFrames.segment("\(client)", cport, vip, vport)
                #expect(ClassicBPF.worker(program, frame) == w, "\(client):\(cport) → \(vip):\(vport)")
                let reply = FanoutProgramFrames.segment(rip, vport, "\(client)", cport)
                #expect(ClassicBPF.worker(program, reply) == w, "\(rip):\(vport) → \(client):\(cport)")
            }
        }
        var full = SyncConnectionRecord(
            proto: .tcp, flags: .forwarding(SyncConnectionFlags.forwardFullNAT), state: 1,
            clientAddress: IPAddress("2001:db8:8000::1")!, clientPort: 40000, virtualAddress: IPAddress("2001:db8::10")!,
            virtualPort: 21, destinationAddress: IPAddress("2001:db8:1::11")!, destinationPort: 21, timeout: 900)
        full.localEndpoint = Endpoint(IPAddress("2001:db8:1::100")!, 1031)
        #expect(FanoutSteering.worker(for: full, config: Self.config, workers: workers) == 1031 % workers)
    }

    @Test func aPersistentFTPServiceNeedsAFullNetmaskWithSeveralWorkers() throws {
        let short = DirectorConfig(services: [
            Self.service("198.18.0.10", 21, ["198.18.1.11"], persistence: Persistence(timeout: 300, prefixLength: 24)),
        ])
        #expect { _ = try FanoutSteering.program(for: short, workers: 2) } throws: {
            "\($0)".contains("persistent FTP service TCP 198.18.0.10:21 keeps clients by a /24 netmask") && "\($0)".contains("--workers 1")
        }
        #expect(throws: Never.self) { _ = try FanoutSteering.program(for: short, workers: 1) }
        let full = DirectorConfig(services: [
            Self.service("198.18.0.10", 21, ["198.18.1.11"], persistence: Persistence(timeout: 300, prefixLength: 32)),
        ])
        let program = try FanoutSteering.program(for: full, workers: 2)
        #expect(ClassicBPF.check(program.instructions) == nil)
    }
}

/// Frames as the director receives them, for the steering tests.
enum FanoutProgramFrames {
    static func segment(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16) -> [UInt8] {
        let eth = Frame.ethernet(destination: MACAddress("02:00:00:00:00:01")!, source: MACAddress("02:00:00:00:c0:01")!)
        let l3 = source.contains(":") ? eth.ipv6(source: source, destination: destination)
                                      : eth.ipv4(source: source, destination: destination)
        return l3.tcp(sourcePort: sport, destinationPort: dport, flags: [.ack]).payload("x").bytes
    }
}
