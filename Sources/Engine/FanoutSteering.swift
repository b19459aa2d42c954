import Core
import PacketIO
import Wire

/// Turns a configuration into the fanout program's inputs (Docs/adr/0002): every VIP, every
/// FullNAT local address, the persistent services with their NAT real servers, and the
/// client-address VIPs with theirs (`clientAddressSteering`).
///
/// One configuration the program cannot steer is refused: a NAT real server endpoint
/// (RIP:rport, protocol) shared by services that persist differently (or by a persistent
/// and a non-persistent one). Its replies all look alike (RIP:rport → CIP:cport), yet one
/// service's must be steered by the client's address and port and the other's by its masked
/// address alone, so some of them would reach a worker without their connection. A persistent
/// FTP service whose netmask is shorter than the address is refused too: its data connections
/// are steered by the client's whole address, its control connection by the masked one.
enum FanoutSteering {
    struct Use: Hashable {
        var address: IPAddress
        var port: UInt16
        var proto: TransportProtocol
    }

    /// The worker the program steers a synced connection's frames to (`FanoutProgram`'s rules
    /// in Swift): FullNAT by its local port, a persistent service's by the masked client, the
    /// client-address VIPs' by the client's address, the rest by the client's address and port.
    /// A template (port 0) goes where its service's connections go.
    static func worker(for record: SyncConnectionRecord, config: DirectorConfig, workers: Int, key: UInt32 = 0) -> Int {
        worker(for: record, config: config, clientAddressVIPs: Set(clientAddressSteering(for: config).virtualAddresses),
               workers: workers, key: key)
    }

    /// As above with the client-address VIPs already worked out (one sync message holds many records).
    static func worker(for record: SyncConnectionRecord, config: DirectorConfig, clientAddressVIPs: Set<IPAddress>,
                       workers: Int, key: UInt32 = 0) -> Int {
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
        if clientAddressVIPs.contains(record.virtualAddress) {
            return FanoutProgram.worker(clientAddress: record.clientAddress, workers: workers, key: key)
        }
        return FanoutProgram.worker(client: record.clientAddress, port: record.clientPort, workers: workers, key: key)
    }

    /// The VIPs whose clients are steered by address alone, and the NAT real server addresses
    /// whose replies are: an FTP session's control and data connections (Docs/ftp.md) share
    /// only the client's address, so every VIP with a NAT or FullNAT TCP service on an FTP port
    /// (`tunable ftp_ports`, as Core's helper picks them) is one. A NAT real server of such a
    /// VIP has all its replies steered by the client's address, so every VIP it also serves
    /// must be one too, and every NAT real server of that VIP, until nothing more joins.
    static func clientAddressSteering(for config: DirectorConfig) -> FanoutProgram.ClientAddressSteering {
        let ports = config.tunables.ftpPorts
        var vips: [IPAddress] = [], servers: [IPAddress] = []
        for service in config.services where service.key.proto == .tcp && !service.key.isFirewallMark
            && ports.contains(service.key.port) && service.realServers.contains(where: { $0.method.repliesTraverseDirector })
            && !vips.contains(service.key.address) {
            vips.append(service.key.address)
        }
        guard !vips.isEmpty else { return .init() }
        // The VIPs a service answers on: its address, or its mark's host rules.
        let serviceVIPs: [[IPAddress]] = config.services.map { service in
            guard service.key.isFirewallMark else { return [service.key.address] }
            return config.firewallMarks.filter { $0.mark == service.key.fwmark && $0.isHost }.map(\.address)
        }
        var changed = true
        while changed {
            changed = false
            for (service, addresses) in zip(config.services, serviceVIPs) {
                let nat = service.realServers.filter { $0.method == .nat }.map(\.address)
                if addresses.contains(where: vips.contains) {
                    for address in nat where !servers.contains(address) {
                        servers.append(address)
                        changed = true
                    }
                }
                if nat.contains(where: servers.contains) {
                    for address in addresses where !vips.contains(address) {
                        vips.append(address)
                        changed = true
                    }
                }
            }
        }
        return .init(virtualAddresses: vips, natRealServers: servers)
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
            if workers > 1, let prefix, prefix < (key.address.isIPv4 ? 32 : 128), key.proto == .tcp,
               config.tunables.ftpPorts.contains(key.port), service.realServers.contains(where: { $0.method.repliesTraverseDirector }) {
                throw EngineError("persistent FTP service \(key) keeps clients by a /\(prefix) netmask, and with --workers > 1 its data connections are steered by the client's whole address, so they could reach another worker than the control connection's; persist with a full netmask (255.255.255.255 or 128), or run --workers 1")
            }
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
                                     persistentServices: persistent, clientAddress: clientAddressSteering(for: config),
                                     key: key)
        } catch {
            throw EngineError("\(error)")
        }
    }
}
