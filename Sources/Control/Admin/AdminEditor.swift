import Core
import Wire

/// Applies lvsadm commands to a configuration: `DirectorConfig` + command → new
/// `DirectorConfig`, or an `AdminError` and no change at all.
///
/// The checks and their order are the kernel's (net/netfilter/ipvs/ip_vs_ctl.c,
/// `do_ip_vs_set_ctl` / `ip_vs_genl_set_cmd`: the service is looked up first, then the
/// destination, then the values) plus the few ipvsadm makes before calling it (ipvsadm.c
/// `process_options`); the messages are libipvs's `ipvs_strerror` for the errno the kernel
/// returns, and DPVS's for its local-address commands. Everything works on a copy, so an
/// error never leaves a half-applied table; a batch (`-R`) is all or nothing the same way.
public enum AdminEditor {
    /// Applies one command.
    public static func apply(_ command: AdminCommand, to config: DirectorConfig) throws(AdminError) -> DirectorConfig {
        var next = config
        try apply(command, &next)
        return next
    }

    /// Applies `commands` in order, all or nothing; a failure names the failing command's index.
    public static func apply(_ commands: [AdminCommand], to config: DirectorConfig) throws(AdminError) -> DirectorConfig {
        var next = config
        for (index, command) in commands.enumerated() {
            do {
                try apply(command, &next)
            } catch {
                var located = error
                located.commandIndex = index
                throw located
            }
        }
        return next
    }

    static func apply(_ command: AdminCommand, _ config: inout DirectorConfig) throws(AdminError) {
        switch command {
        case .addService(let settings):
            try checkPortZero(settings)
            if config.services.contains(where: { $0.key == settings.key }) {
                throw .refused("Service already exists", detail: "service \(settings.key) already exists", subject: .service)
            }
            var service = VirtualServiceConfig(key: settings.key)
            try setService(&service, settings)
            config.services.append(service)
        case .editService(let settings):
            try checkPortZero(settings)
            let index = try service(settings.key, in: config, message: "No such service")
            try setService(&config.services[index], settings)
        case .deleteService(let key):
            let index = try service(key, in: config, message: "No such service")
            config.services.remove(at: index)
        case .clear:
            config.services.removeAll()
        case .addServer(let key, let settings):
            let index = try service(key, in: config, message: "Service not defined")
            let server = try realServer(settings, of: config.services[index])
            if config.services[index].realServers.contains(where: { $0.endpoint == server.endpoint }) {
                throw .refused("Destination already exists",
                               detail: "real server \(server.endpoint) already exists in service \(key)", subject: .realServer)
            }
            config.services[index].realServers.append(server)
        case .editServer(let key, let settings):
            let index = try service(key, in: config, message: "Service not defined")
            let server = try realServer(settings, of: config.services[index])
            let position = try existingServer(server.endpoint, in: config.services[index])
            config.services[index].realServers[position] = server
        case .deleteServer(let key, let address, let port):
            let index = try service(key, in: config, message: "Service not defined")
            let position = try existingServer(Endpoint(address, port), in: config.services[index])
            config.services[index].realServers.remove(at: position)
        case .setTimeouts(let tcp, let tcpFin, let udp):
            for (value, name) in [(tcp, "tcp"), (tcpFin, "tcpfin"), (udp, "udp")] where value > UInt32(RulesValues.maximumTimeout) {
                throw .usage("invalid timeout value `\(value)' specified",
                             detail: "the \(name) timeout must be at most \(RulesValues.maximumTimeout) seconds (31 days)")
            }
            config.timeouts.set(tcp: tcp, tcpFin: tcpFin, udp: udp)
        case .zero(let key):
            // Counters live outside the configuration; this only checks the service exists.
            if let key { _ = try service(key, in: config, message: "No such service") }
        case .addLocalAddress(let key, let address):
            let index = try service(key, in: config, message: "Service not defined")
            if config.services[index].localAddresses.contains(address) {
                throw .refused("Local address already exists",
                               detail: "local address \(address) already exists in service \(key)", subject: .localAddress)
            }
            try checkUnicast(address, what: "local address", subject: .localAddress)
            config.services[index].localAddresses.append(address)
        case .deleteLocalAddress(let key, let address):
            let index = try service(key, in: config, message: "Service not defined")
            guard let position = config.services[index].localAddresses.firstIndex(of: address) else {
                throw .refused("No such Local address",
                               detail: "local address \(address) does not exist in service \(key)", subject: .localAddress)
            }
            config.services[index].localAddresses.remove(at: position)
        }
    }

    // MARK: Services

    /// ipvsadm refuses a non-persistent service on port 0 before asking the kernel.
    private static func checkPortZero(_ settings: ServiceSettings) throws(AdminError) {
        if settings.key.port == 0 && !settings.key.isFirewallMark && settings.persistence == nil {
            throw AdminError("Zero port specified for non-persistent service",
                             detail: "service \(settings.key) has port 0, which only a persistent service may have; give a port or add -p",
                             exitCode: AdminError.usageExit, subject: .service)
        }
    }

    private static func service(_ key: ServiceKey, in config: DirectorConfig, message: String) throws(AdminError) -> Int {
        guard let index = config.services.firstIndex(where: { $0.key == key }) else {
            throw .refused(message, detail: "service \(key) does not exist", subject: .service)
        }
        return index
    }

    private static func setService(_ service: inout VirtualServiceConfig, _ settings: ServiceSettings) throws(AdminError) {
        guard let scheduler = SchedulerKind(rawValue: settings.scheduler) else {
            let known = SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw .refused("Scheduler or persistence engine not found",
                           detail: "unknown scheduler '\(settings.scheduler)' (known: \(known))", subject: .scheduler)
        }
        let full = settings.key.address.isIPv4 ? 32 : 128
        let prefix = settings.prefixLength ?? full
        guard (settings.key.address.isIPv4 ? 0 : 1)...full ~= prefix else {
            throw AdminError(settings.key.address.isIPv4 ? "illegal virtual server persistent mask specified" : "illegal ipv6 netmask specified",
                             detail: "persistence prefix length \(prefix) is out of range for service \(settings.key)",
                             exitCode: AdminError.usageExit, subject: .service)
        }
        if let timeout = settings.persistence, timeout == 0 || timeout > UInt32(RulesValues.maximumTimeout) {
            throw AdminError("invalid timeout value `\(timeout)' specified",
                             detail: "a persistence timeout is 1 to \(RulesValues.maximumTimeout) seconds",
                             exitCode: AdminError.usageExit, subject: .service)
        }
        service.scheduler = scheduler
        service.schedulerFlags = settings.flags
        service.onePacket = settings.onePacket
        if let synProxy = settings.synProxy { service.synProxy = synProxy }
        if let version = settings.proxyProtocol { service.proxyProtocol = ProxyProtocolHeader.Version(rawValue: version) }
        if let toa = settings.toa { service.toa = toa }
        if let server = service.realServers.first(where: { !$0.method.repliesTraverseDirector }) {
            try refuseClientAddress(service, method: server.method, server: server.address)
        }
        service.persistence = settings.persistence.map { Persistence(timeout: $0, prefixLength: prefix) }
    }

    // MARK: Real servers

    /// The configuration of a real server for `-a`/`-e`, after ipvsadm's and the kernel's
    /// checks: DR and TUN servers take the service's port (ipvsadm overrides it), only
    /// tunnels may cross address families, the address must be unicast
    /// (`ip_vs_add_dest` → EINVAL) and the lower threshold may not pass the upper (ERANGE).
    private static func realServer(_ settings: RealServerSettings, of service: VirtualServiceConfig) throws(AdminError) -> RealServerConfig {
        var port = settings.port
        // ipvsadm: DR and TUN keep the service's port, except for a firewall-mark service,
        // whose traffic keeps its own port whatever the server's.
        if (settings.method == .directRouting || settings.method == .tunnel) && !service.key.isFirewallMark { port = service.key.port }
        let address = settings.address
        if address.isIPv4 != service.key.address.isIPv4 && settings.method != .tunnel {
            let family = { (a: IPAddress) in a.isIPv4 ? "IPv4" : "IPv6" }
            throw AdminError("Different address family is allowed only for tunneling servers",
                             detail: "real server \(address) is \(family(address)) but service \(service.key) is \(family(service.key.address)); only tunnelling (-i) may mix address families",
                             exitCode: AdminError.usageExit, subject: .realServer)
        }
        try checkUnicast(address, what: "real server", subject: .realServer)
        if !settings.method.repliesTraverseDirector { try refuseClientAddress(service, method: settings.method, server: address) }
        guard settings.weight >= 0 else {
            throw .refused("Numerical result out of range", detail: "weight \(settings.weight) is below 0", subject: .realServer)
        }
        if settings.lowerThreshold > settings.upperThreshold {
            throw .refused("Numerical result out of range",
                           detail: "lower threshold \(settings.lowerThreshold) (-y) is above upper threshold \(settings.upperThreshold) (-x); give -x at least \(settings.lowerThreshold)",
                           subject: .lowerThreshold)
        }
        if settings.method == .tunnel, let problem = settings.tunnel.problem {
            throw AdminError("Tunnel options conflict", detail: problem, exitCode: AdminError.usageExit, subject: .realServer)
        }
        return RealServerConfig(address: address, port: port, weight: settings.weight, method: settings.method,
                                upperThreshold: settings.upperThreshold, lowerThreshold: settings.lowerThreshold,
                                tunnel: settings.method == .tunnel ? settings.tunnel : .ipip)
    }

    /// A PROXY protocol header or TOA is written into the client's stream on its way to the
    /// real server and needs the server's replies to come back through the director (their
    /// acknowledgments are shifted back): DR and TUN servers answer the client directly.
    private static func refuseClientAddress(_ service: VirtualServiceConfig, method: ForwardingMethod,
                                            server: IPAddress) throws(AdminError) {
        let option = service.proxyProtocol != nil ? "--proxy-protocol" : service.toa ? "--toa" : nil
        guard let option else { return }
        throw AdminError("Invalid argument",
                         detail: "\(option) needs NAT (-m) or FullNAT (-b) real servers: \(server) of service \(service.key) uses \(RulesWriter.methodSwitch(method)), whose replies bypass the director",
                         exitCode: AdminError.usageExit, subject: .realServer)
    }

    private static func existingServer(_ endpoint: Endpoint, in service: VirtualServiceConfig) throws(AdminError) -> Int {
        guard let position = service.realServers.firstIndex(where: { $0.endpoint == endpoint }) else {
            throw .refused("No such destination", detail: "real server \(endpoint) does not exist in service \(service.key)",
                           subject: .realServer)
        }
        return position
    }

    /// The kernel refuses destinations that are not unicast (`ip_vs_add_dest`: "address not
    /// unicast" is one of EINVAL's meanings in `ipvs_strerror`).
    private static func checkUnicast(_ address: IPAddress, what: String, subject: AdminError.Subject) throws(AdminError) {
        let notUnicast: Bool
        if address.isIPv4 {
            let v = address.ipv4
            notUnicast = v == 0 || v == .max || v >> 28 == 0xE
        } else {
            notUnicast = address == .zero || address.high >> 56 == 0xFF
        }
        if notUnicast {
            throw .refused("Invalid operation.  Possibly wrong module version, address not unicast, ...",
                           detail: "\(what) \(address) is not a unicast address", subject: subject)
        }
    }
}
