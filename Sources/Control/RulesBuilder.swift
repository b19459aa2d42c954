import Core
import Wire

/// Applies rules-file commands, in order, to a configuration under construction, with
/// ipvsadm's (and the kernel's) semantics for each: what must exist, what must not, and
/// which defaults an add or edit fills in.
struct RulesBuilder {
    private(set) var config = DirectorConfig()
    /// Where each interface and neighbour was declared, for "already declared" messages.
    var interfaceLines: [String: Int] = [:]
    var neighbourLines: [IPAddress: Int] = [:]

    mutating func apply(_ line: RulesCommandLine, at location: RulesLocation) throws(ConfigError) {
        let values = RulesValues(location: location)
        if let extra = line.arguments.first, line.command != .setTimeouts {
            throw location.error("unexpected argument '\(extra.text)'", at: extra)
        }
        switch line.command {
        case .addService: try addService(line, values)
        case .editService: try editService(line, values)
        case .deleteService:
            let (index, _) = try existingService(line, values)
            config.services.remove(at: index)
        case .clear:
            config.services.removeAll()
        case .addServer: try addServer(line, values)
        case .editServer: try editServer(line, values)
        case .deleteServer: try deleteServer(line, values)
        case .setTimeouts: try setTimeouts(line, values)
        case .addLocalAddress: try addLocalAddress(line, values)
        case .deleteLocalAddress: try deleteLocalAddress(line, values)
        }
    }

    mutating func addInterface(_ interface: InterfaceConfig) { config.interfaces.append(interface) }
    mutating func addNeighbour(_ neighbour: NeighbourConfig) { config.neighbours.append(neighbour) }

    // MARK: Services

    private func serviceKey(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) -> (ServiceKey, RulesToken) {
        guard let use = line[.service], let token = use.value else { preconditionFailure("checked by the option table") }
        let proto: TransportProtocol = use.option == .udpService ? .udp : .tcp
        let (address, port) = try values.addressAndPort(token, what: "virtual service")
        return (ServiceKey(proto, address, port ?? 0), token)
    }

    /// The index of the service `key`; syntax is checked before existence, as ipvsadm
    /// parses a whole line before the kernel looks anything up.
    private func lookup(_ key: ServiceKey, _ token: RulesToken, _ values: RulesValues) throws(ConfigError) -> Int {
        guard let index = config.services.firstIndex(where: { $0.key == key }) else {
            throw values.error("service \(key) does not exist", at: token)
        }
        return index
    }

    private func existingService(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) -> (Int, RulesToken) {
        let (key, token) = try serviceKey(line, values)
        return (try lookup(key, token, values), token)
    }

    /// The scheduler, flags and persistence of an `-A` or `-E` line. Both replace all three,
    /// as `ipvsadm -E` does: an omitted `-s` means wlc again and an omitted `-p` ends
    /// persistence. `-M` without `-p` is accepted and has no effect, as in ipvsadm.
    private func serviceSettings(_ line: RulesCommandLine, key: ServiceKey, _ values: RulesValues)
        throws(ConfigError) -> (SchedulerKind, SchedulerFlags, Persistence?)
    {
        var scheduler = SchedulerKind.ipvsDefault
        if let token = line[.scheduler]?.value { scheduler = try values.scheduler(token) }
        var flags: SchedulerFlags = []
        if let token = line[.schedulerFlags]?.value { flags = try values.schedulerFlags(token, scheduler: scheduler) }
        let ipv6 = !key.address.isIPv4
        var prefixLength = ipv6 ? 128 : 32
        if let token = line[.netmask]?.value { prefixLength = try values.prefixLength(token, ipv6: ipv6) }
        var persistence: Persistence?
        if let use = line[.persistent] {
            var timeout = Persistence.defaultTimeout
            if let token = use.value {
                timeout = UInt32(try values.number(token, in: 1...RulesValues.maximumTimeout, what: "persistence timeout"))
            }
            persistence = Persistence(timeout: timeout, prefixLength: prefixLength)
        }
        if key.port == 0 && persistence == nil {
            let token = line[.service]!.value!
            throw values.error("service \(key) has port 0, which only a persistent service may have; give a port or add -p", at: token)
        }
        return (scheduler, flags, persistence)
    }

    private mutating func addService(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, token) = try serviceKey(line, values)
        let (scheduler, flags, persistence) = try serviceSettings(line, key: key, values)
        guard !config.services.contains(where: { $0.key == key }) else {
            throw values.error("service \(key) already exists", at: token)
        }
        config.services.append(VirtualServiceConfig(key: key, scheduler: scheduler, schedulerFlags: flags, persistence: persistence))
    }

    private mutating func editService(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, token) = try serviceKey(line, values)
        let (scheduler, flags, persistence) = try serviceSettings(line, key: key, values)
        let index = try lookup(key, token, values)
        config.services[index].scheduler = scheduler
        config.services[index].schedulerFlags = flags
        config.services[index].persistence = persistence
    }

    // MARK: Real servers

    /// The real server an `-a`, `-e` or `-d` line names, with the port ipvsadm would use:
    /// the service's port when the word has none, and always the service's port for DR and
    /// TUN on add and edit (those methods cannot change the port; ipvsadm.c overrides it).
    private func realServer(_ line: RulesCommandLine, service key: ServiceKey, method: ForwardingMethod?,
                            _ values: RulesValues) throws(ConfigError) -> (IPAddress, UInt16, RulesToken)
    {
        let token = line[.realServer]!.value!
        let (address, port) = try values.addressAndPort(token, what: "real server")
        var resolved = port ?? key.port
        if method == .directRouting || method == .tunnel { resolved = key.port }
        return (address, resolved, token)
    }

    /// Weight, method and thresholds of an `-a` or `-e` line, with ipvsadm's defaults for
    /// what is omitted (-g, -w 1, no thresholds): `-e` replaces all of them.
    private func serverSettings(_ line: RulesCommandLine, _ values: RulesValues)
        throws(ConfigError) -> (method: ForwardingMethod, weight: Int32, upper: UInt32, lower: UInt32)
    {
        let method: ForwardingMethod = switch line[.forwardingMethod]?.option {
        case .masquerading: .nat
        case .ipip: .tunnel
        case .fullNAT: .fullNAT
        default: .directRouting
        }
        var weight: Int32 = 1
        if let token = line[.weight]?.value { weight = Int32(try values.number(token, in: 0...65535, what: "weight")) }
        var upper: UInt32 = 0
        if let token = line[.upperThreshold]?.value {
            upper = UInt32(try values.number(token, in: 0...Int(Int32.max), what: "upper threshold"))
        }
        var lower: UInt32 = 0
        if let token = line[.lowerThreshold]?.value {
            lower = UInt32(try values.number(token, in: 0...Int(Int32.max), what: "lower threshold"))
            // The kernel refuses this (ip_vs_add_dest / ip_vs_edit_dest).
            if lower > upper {
                throw values.error("lower threshold \(lower) (-y) is above upper threshold \(upper) (-x); give -x at least \(lower)", at: token)
            }
        }
        return (method, weight, upper, lower)
    }

    private func checkFamily(_ address: IPAddress, _ method: ForwardingMethod, _ service: VirtualServiceConfig,
                             _ token: RulesToken, _ values: RulesValues) throws(ConfigError)
    {
        guard address.isIPv4 != service.key.address.isIPv4, method != .tunnel else { return }
        let family = { (a: IPAddress) in a.isIPv4 ? "IPv4" : "IPv6" }
        throw values.error("real server \(address) is \(family(address)) but service \(service.key) is \(family(service.key.address)); only tunnelling (-i) may mix address families", at: token)
    }

    private mutating func addServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, keyToken) = try serviceKey(line, values)
        let settings = try serverSettings(line, values)
        let (address, port, token) = try realServer(line, service: key, method: settings.method, values)
        let index = try lookup(key, keyToken, values)
        let service = config.services[index]
        try checkFamily(address, settings.method, service, token, values)
        let endpoint = Endpoint(address, port)
        guard !service.realServers.contains(where: { $0.endpoint == endpoint }) else {
            throw values.error("real server \(endpoint) already exists in service \(service.key)", at: token)
        }
        config.services[index].realServers.append(RealServerConfig(
            address: address, port: port, weight: settings.weight, method: settings.method,
            upperThreshold: settings.upper, lowerThreshold: settings.lower))
    }

    private mutating func editServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, keyToken) = try serviceKey(line, values)
        let settings = try serverSettings(line, values)
        let (address, port, token) = try realServer(line, service: key, method: settings.method, values)
        let index = try lookup(key, keyToken, values)
        let service = config.services[index]
        try checkFamily(address, settings.method, service, token, values)
        let endpoint = Endpoint(address, port)
        guard let server = service.realServers.firstIndex(where: { $0.endpoint == endpoint }) else {
            throw values.error("real server \(endpoint) does not exist in service \(service.key)", at: token)
        }
        config.services[index].realServers[server] = RealServerConfig(
            address: address, port: port, weight: settings.weight, method: settings.method,
            upperThreshold: settings.upper, lowerThreshold: settings.lower)
    }

    private mutating func deleteServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, keyToken) = try serviceKey(line, values)
        let (address, port, token) = try realServer(line, service: key, method: nil, values)
        let index = try lookup(key, keyToken, values)
        let service = config.services[index]
        let endpoint = Endpoint(address, port)
        guard let server = service.realServers.firstIndex(where: { $0.endpoint == endpoint }) else {
            throw values.error("real server \(endpoint) does not exist in service \(service.key)", at: token)
        }
        config.services[index].realServers.remove(at: server)
    }

    // MARK: Timeouts and local addresses

    /// `--set tcp tcpfin udp`: seconds 0...31 days, where 0 keeps the current value.
    private mutating func setTimeouts(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        if line.arguments.count > 3 {
            throw values.error("unexpected argument '\(line.arguments[3].text)'; --set takes exactly three timeouts", at: line.arguments[3])
        }
        guard line.arguments.count == 3 else {
            throw values.error("--set needs three timeouts in seconds: tcp tcpfin udp (0 keeps a value)", at: line.commandToken)
        }
        var seconds: [UInt32] = []
        for (token, what) in zip(line.arguments, ["tcp timeout", "tcpfin timeout", "udp timeout"]) {
            seconds.append(UInt32(try values.number(token, in: 0...RulesValues.maximumTimeout, what: what)))
        }
        config.timeouts.set(tcp: seconds[0], tcpFin: seconds[1], udp: seconds[2])
    }

    private mutating func addLocalAddress(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, keyToken) = try serviceKey(line, values)
        let token = line[.localAddress]!.value!
        let address = try values.address(token, what: "local")
        let index = try lookup(key, keyToken, values)
        let service = config.services[index]
        guard !service.localAddresses.contains(address) else {
            throw values.error("local address \(address) already exists in service \(service.key)", at: token)
        }
        config.services[index].localAddresses.append(address)
    }

    private mutating func deleteLocalAddress(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, keyToken) = try serviceKey(line, values)
        let token = line[.localAddress]!.value!
        let address = try values.address(token, what: "local")
        let index = try lookup(key, keyToken, values)
        let service = config.services[index]
        guard let position = service.localAddresses.firstIndex(of: address) else {
            throw values.error("local address \(address) does not exist in service \(service.key)", at: token)
        }
        config.services[index].localAddresses.remove(at: position)
    }
}
