import Core
import Wire

/// Puts parsed virtual servers into a `DirectorConfig` with the rules file's semantics
/// (`RulesBuilder`): a service is declared once; port 0 only for a persistent service; a
/// real server is identified by address and port within its service and declared once;
/// DR and TUN real servers take the service's port; only TUN real servers may be of the
/// other address family; a local address is declared once per service.
///
/// Where keepalived corrects instead of refusing, lvsd follows it with a warning: a DR or
/// TUN real server written with another port gets the service's port (check_data.c
/// `validate_check_config`, "ports don't match - resetting"). A real server without a port
/// takes the service's, for every method.
struct KeepalivedDirectorMapping {
    var config: DirectorConfig
    /// Where each service was declared, for "already declared" errors.
    private var declared: [ServiceKey: ConfigLocation] = [:]

    init(config: DirectorConfig) {
        self.config = config
    }

    /// Adds the services of `parsed` and returns its model with `services` filled in and,
    /// for a single-address virtual server, its real servers' ports settled.
    mutating func add(_ parsed: ParsedVirtualServer, localAddresses: [(address: IPAddress, word: KeepalivedWord)],
                      warnings: inout [ConfigWarning]) throws(ConfigError) -> KeepalivedVirtualServer
    {
        var model = parsed.model
        for member in parsed.members {
            let key = member.key(model.proto)
            if let earlier = declared[key] {
                throw member.word.location.error("virtual service \(key) is already declared at \(earlier)")
            }
            let persistence = try persistence(of: parsed, for: member)
            if key.port == 0, !key.isFirewallMark, persistence == nil {
                throw member.word.location.error("virtual service \(key) has no port, which only a persistent service may have; give a port or add persistence_timeout")
            }
            var service = VirtualServiceConfig(key: key, scheduler: model.scheduler, schedulerFlags: model.schedulerFlags,
                                               persistence: persistence, synProxy: model.synProxy)
            service.onePacket = model.onePacket
            service.proxyProtocol = model.proxyProtocol
            service.toa = model.toa
            for (index, (server, site)) in zip(model.realServers, parsed.realServers).enumerated() {
                if server.address.isIPv4 != key.address.isIPv4, server.method != .tunnel {
                    let family = { (a: IPAddress) in a.isIPv4 ? "IPv4" : "IPv6" }
                    throw site.address.location.error("real server \(server.address) is \(family(server.address)) but service \(key) is \(family(key.address)); only TUN (lvs_method TUN) may mix address families")
                }
                var port = site.port ?? key.port
                // A firewall-mark service forwards to the packet's own port whatever the server's
                // (ip_vs_sched_persist), so its port is kept as written, for the checkers.
                if server.method == .directRouting || server.method == .tunnel, port != key.port, !key.isFirewallMark {
                    warnings.append((site.portWord ?? site.address).location.warning("real server \(server.address) port \(port) differs from service \(key)'s; \(server.method == .tunnel ? "TUN" : "DR") cannot change the port, so it is \(key.port), as keepalived resets it"))
                    port = key.port
                }
                let endpoint = Endpoint(server.address, port)
                guard !service.realServers.contains(where: { $0.endpoint == endpoint }) else {
                    throw site.address.location.error("real server \(endpoint) is already in service \(key)")
                }
                service.realServers.append(RealServerConfig(address: server.address, port: port, weight: server.weight, method: server.method,
                                                            upperThreshold: server.upperThreshold, lowerThreshold: server.lowerThreshold,
                                                            tunnel: server.method == .tunnel ? server.tunnel : .ipip))
                if parsed.members.count == 1 { model.realServers[index].port = port }
            }
            for (address, word) in localAddresses {
                guard !service.localAddresses.contains(address) else {
                    throw word.location.error("local address \(address) is listed twice for service \(key)")
                }
                service.localAddresses.append(address)
            }
            model.services.append(key)
            declared[key] = member.word.location
            config.services.append(service)
        }
        model.persistence = try persistence(of: parsed, for: parsed.members[0])
        return model
    }

    /// The service's persistence: the virtual server's timeout with the granularity read for
    /// this member's address family.
    private func persistence(of parsed: ParsedVirtualServer, for member: ServerGroup.Member) throws(ConfigError) -> Persistence? {
        guard let timeout = parsed.model.persistence?.timeout else { return nil }
        let ipv4 = member.address.isIPv4
        let length = try parsed.granularity.map { word throws(ConfigError) in try KeepalivedParser.prefixLength(word, ipv4: ipv4) } ?? (ipv4 ? 32 : 128)
        return Persistence(timeout: timeout, prefixLength: length)
    }
}
