import Core
import PacketIO
import Wire

/// Turns a configuration into the fanout program's inputs (Docs/adr/0002): every VIP, every
/// FullNAT local address, and the persistent services with their NAT real servers.
///
/// One configuration the program cannot steer is refused: a NAT real server endpoint
/// (RIP:rport, protocol) shared by services that persist differently (or by a persistent
/// and a non-persistent one). Its replies all look alike (RIP:rport → CIP:cport), yet one
/// service's must be steered by the client's address and port and the other's by its masked
/// address alone, so some of them would reach a worker without their connection.
enum FanoutSteering {
    struct Use: Hashable {
        var address: IPAddress
        var port: UInt16
        var proto: TransportProtocol
    }

    /// The worker the program steers a synced connection's frames to (`FanoutProgram`'s rules
    /// in Swift): FullNAT by its local port, a persistent service's by the masked client, the
    /// rest by the client's address and port. A template (port 0) goes where its service's
    /// connections go.
    static func worker(for record: SyncConnectionRecord, config: DirectorConfig, workers: Int, key: UInt32 = 0) -> Int {
        if workers <= 1 { return 0 }
        if !record.flags.contains(.template), let local = record.localEndpoint {
            return FanoutProgram.worker(localPort: local.port, workers: workers)
        }
        if let proto = TransportProtocol(record.proto),
           let service = config.services.first(where: { $0.key == ServiceKey(proto, record.virtualAddress, record.virtualPort) }),
           let persistence = service.persistence {
            let prefix = record.clientAddress.isIPv4 ? min(persistence.prefixLength, 32) : persistence.prefixLength
            return FanoutProgram.worker(persistentClient: record.clientAddress, prefixLength: prefix, workers: workers, key: key)
        }
        return FanoutProgram.worker(client: record.clientAddress, port: record.clientPort, workers: workers, key: key)
    }

    static func program(for config: DirectorConfig, workers: Int, key: UInt32 = 0) throws(EngineError) -> FanoutProgram {
        var persistent: [FanoutProgram.PersistentService] = []
        // The persistence prefix of every service a NAT real server endpoint serves (nil: none).
        var uses: [Use: [(service: ServiceKey, prefix: Int?)]] = [:]
        for service in config.services {
            let key = service.key
            // The program steers a persistent client by (VIP, protocol, port); a port-0 or
            // firewall-mark template spans ports (and VIPs), which it cannot follow yet.
            if workers > 1, service.persistence != nil, key.isFirewallMark || key.port == 0 {
                throw EngineError("persistent service \(key) spans ports, and with --workers > 1 a client's connections to different ports could reach different workers, each with its own template; run --workers 1")
            }
            let prefix = service.persistence.map { key.address.isIPv4 ? min($0.prefixLength, 32) : $0.prefixLength }
            let nat = service.realServers.filter { $0.method == .nat }
            for server in nat {
                uses[Use(address: server.address, port: server.port, proto: key.proto), default: []].append((key, prefix))
            }
            if let prefix {
                persistent.append(FanoutProgram.PersistentService(
                    virtualAddress: key.address, protocolNumber: key.proto.rawValue, port: key.port, prefixLength: prefix,
                    natRealServers: nat.map { FanoutProgram.RealServerEndpoint(address: $0.address, port: $0.port) }))
            }
        }
        for (endpoint, services) in uses.sorted(by: { "\($0.key.address)" < "\($1.key.address)" }) {
            guard Set(services.map(\.prefix)).count > 1 else { continue }
            let list = services.map { "\($0.service) (\($0.prefix.map { "persistent, prefix \($0)" } ?? "not persistent"))" }
            throw EngineError("real server \(Wire.Endpoint(endpoint.address, endpoint.port)) \(endpoint.proto) is a NAT real server of \(list.joined(separator: " and ")): with --workers > 1 its replies cannot all be steered to the worker that owns their connection; give it its own port per service, make the services persist alike, or run --workers 1")
        }
        let marks = Set(config.services.lazy.filter(\.key.isFirewallMark).map(\.key.fwmark))
        if workers > 1, let network = config.firewallMarks.first(where: { marks.contains($0.mark) && !$0.isHost }) {
            throw EngineError("'\(network)' marks a network, and with --workers > 1 the fanout program steers by VIP: list the VIPs one per fwmark line, or run --workers 1")
        }
        do {
            return try FanoutProgram(workers: workers, virtualAddresses: config.virtualAddresses,
                                     localAddresses: config.services.flatMap(\.localAddresses),
                                     persistentServices: persistent, key: key)
        } catch {
            throw EngineError("\(error)")
        }
    }
}
