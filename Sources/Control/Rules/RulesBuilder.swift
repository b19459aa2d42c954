import Core
import Wire

/// Applies rules-file commands, in order, to a configuration under construction, with
/// ipvsadm's (and the kernel's) semantics for each: what must exist, what must not, and
/// which defaults an add or edit fills in.
struct RulesBuilder {
    private(set) var config = DirectorConfig()
    /// How the grammar read the lines, which also decides how their values are read.
    var strictness: IPVSStrictness = .rulesFile
    /// Where each interface and neighbour was declared, for "already declared" messages.
    var interfaceLines: [String: Int] = [:]
    var neighbourLines: [IPAddress: Int] = [:]

    mutating func apply(_ line: RulesCommandLine, at location: RulesLocation) throws(ConfigError) {
        let values = RulesValues(location: location, strictness: strictness)
        if let extra = line.arguments.first, line.command != .timeout {
            throw location.error("unexpected argument '\(extra.text)'", at: extra)
        }
        switch line.command {
        case .addService: try addService(line, values)
        case .editService: try editService(line, values)
        case .deleteService:
            try edit(.deleteService(try serviceKey(line, values).0), line, values)
        case .flush:
            try edit(.clear, line, values)
        case .addServer: try addServer(line, values)
        case .editServer: try editServer(line, values)
        case .deleteServer: try deleteServer(line, values)
        case .timeout: try setTimeouts(line, values)
        case .zero:
            // Only when the strictness admits -Z (lvsadm -R's); a new table has nothing to zero.
            try edit(.zero(line[.service] == nil ? nil : try serviceKey(line, values).0), line, values)
        case .addLocalAddress: try addLocalAddress(line, values)
        case .deleteLocalAddress: try deleteLocalAddress(line, values)
        case .list, .startDaemon, .stopDaemon, .restore, .save, .getLocalAddresses, .reload, .health, .vrrp:
            throw values.error("'\(line.commandToken.text)' does not change the table and has no place in a rules file", at: line.commandToken)
        }
    }

    mutating func addInterface(_ interface: InterfaceConfig) { config.interfaces.append(interface) }
    mutating func addNeighbour(_ neighbour: NeighbourConfig) { config.neighbours.append(neighbour) }
    /// `--set`'s effect, for keepalived's `lvs_timeouts`: 0 keeps a value.
    mutating func setTimeouts(tcp: UInt32, tcpFin: UInt32, udp: UInt32) { config.timeouts.set(tcp: tcp, tcpFin: tcpFin, udp: udp) }
    mutating func setTimeout(_ state: ConnectionState, _ seconds: UInt32) { config.timeouts[state] = seconds }
    mutating func addFirewallMark(_ rule: FirewallMarkRule) { config.firewallMarks.append(rule) }
    mutating func setTunable(_ name: IPVSTunables.Name, _ value: UInt8) { config.tunables[name] = value }
    mutating func setFTPPorts(_ ports: FTPPorts) { config.tunables.ftpPorts = ports }

    // MARK: Services

    private func serviceKey(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) -> (ServiceKey, RulesToken) {
        guard let use = line[.service], let token = use.value else { preconditionFailure("checked by the option table") }
        if use.option == .fwmarkService {
            let mark = try values.number(token, in: 1...Int(Int32.max), what: "firewall mark")
            return (ServiceKey(fwmark: UInt32(mark), ipv6: line.ipv6 != nil), token)
        }
        let proto: TransportProtocol = use.option == .udpService ? .udp : .tcp
        let (address, port) = try values.addressAndPort(token, what: "virtual service", proto: proto)
        return (ServiceKey(proto, address, port ?? 0), token)
    }

    /// The scheduler, flags and persistence of an `-A` or `-E` line. Both replace all three,
    /// as `ipvsadm -E` does: an omitted `-s` means wlc again and an omitted `-p` ends
    /// persistence. `-M` without `-p` is accepted and has no effect, as in ipvsadm.
    private func serviceSettings(_ line: RulesCommandLine, key: ServiceKey, _ values: RulesValues) throws(ConfigError) -> ServiceSettings {
        var scheduler = SchedulerKind.ipvsDefault
        if let token = line[.scheduler]?.value { scheduler = try values.scheduler(token) }
        var flags: SchedulerFlags = []
        if let token = line[.schedulerFlags]?.value { flags = try values.schedulerFlags(token, scheduler: scheduler) }
        var prefixLength: Int?
        if let use = line[.netmask], let token = use.value {
            // ipvsadm reads -M with the family of the service named before it (IPv4 if none).
            let serviceBefore = line[.service].map { $0.word.column < use.word.column } ?? false
            let ipv6 = !key.address.isIPv4 && (strictness.netmaskForTheLinesService || serviceBefore)
            prefixLength = try values.prefixLength(token, ipv6: ipv6)
        }
        var persistence: UInt32?
        if let use = line[.persistent] {
            persistence = Persistence.defaultTimeout
            if let token = use.value {
                persistence = UInt32(try values.number(token, in: 1...RulesValues.maximumTimeout, what: "persistence timeout"))
            }
        }
        var synProxy: Bool?
        if let use = line[.synProxy], let token = use.value {
            guard let on = IPVSOption.synProxySetting(token.text) else {
                throw values.error("-j takes enable or disable, not '\(token.text)'", at: token)
            }
            if on && key.proto != .tcp {
                throw values.error("-j enable is for TCP services: the SYN proxy answers TCP handshakes", at: token)
            }
            synProxy = on
        }
        var settings = ServiceSettings(key: key, scheduler: scheduler.rawValue, flags: flags, persistence: persistence,
                                       prefixLength: prefixLength, onePacket: line[.onePacket] != nil, synProxy: synProxy)
        if let use = line[.proxyProtocol], let token = use.value {
            guard let setting = IPVSOption.proxyProtocolSetting(token.text) else {
                throw values.error(IPVSOption.proxyProtocolRefusal(token.text), at: token)
            }
            if setting != nil && key.proto != .tcp {
                throw values.error("--proxy-protocol is for TCP services: the header starts a TCP stream", at: token)
            }
            settings.proxyProtocol = setting?.rawValue ?? 0
        }
        if let use = line[.toa], let token = use.value {
            guard let on = IPVSOption.synProxySetting(token.text) else {
                throw values.error("--toa takes enable or disable, not '\(token.text)'", at: token)
            }
            if on && key.proto != .tcp {
                throw values.error("--toa enable is for TCP services: TOA is a TCP option", at: token)
            }
            settings.toa = on
        }
        return settings
    }

    private mutating func addService(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        let settings = try serviceSettings(line, key: key, values)
        try edit(.addService(settings), line, values)
    }

    private mutating func editService(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        let settings = try serviceSettings(line, key: key, values)
        try edit(.editService(settings), line, values)
    }

    /// Applies `command` with lvsadm's semantics (`AdminEditor`: one implementation of what
    /// must exist, what must not and which defaults apply), reporting a refusal at the word
    /// it is about.
    private mutating func edit(_ command: AdminCommand, _ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        do {
            config = try AdminEditor.apply(command, to: config)
        } catch {
            let token: RulesToken = switch error.subject {
            case .service: line[.service]?.value ?? line.commandToken
            case .scheduler: line[.scheduler]?.value ?? line[.service]?.value ?? line.commandToken
            case .realServer: line[.server]?.value ?? line.commandToken
            case .lowerThreshold: line[.lowerThreshold]?.value ?? line[.server]?.value ?? line.commandToken
            case .localAddress: line[.localAddress]?.value ?? line.commandToken
            case .command: line.commandToken
            }
            throw values.error(error.detail ?? error.message, at: token)
        }
    }

    // MARK: Real servers

    /// The real server an `-a`, `-e` or `-d` line names: the service's port when the word
    /// has none (DR and TUN servers always take the service's port; `AdminEditor` sees to it).
    private func realServer(_ line: RulesCommandLine, service key: ServiceKey, _ values: RulesValues) throws(ConfigError) -> (IPAddress, UInt16) {
        let token = line[.server]!.value!
        let (address, port) = try values.addressAndPort(token, what: "real server", proto: key.proto)
        return (address, port ?? key.port)
    }

    /// Weight, method and thresholds of an `-a` or `-e` line, with ipvsadm's defaults for
    /// what is omitted (-g, -w 1, no thresholds): `-e` replaces all of them.
    private func serverSettings(_ line: RulesCommandLine, service key: ServiceKey, _ values: RulesValues) throws(ConfigError) -> RealServerSettings {
        let method: ForwardingMethod = switch line[.forward]?.option {
        case .masquerading: .nat
        case .ipip: .tunnel
        case .fullNAT: .fullNAT
        default: .directRouting
        }
        let tunnel = try tunnelSettings(line, method: method, values)
        var weight: Int32 = 1
        if let token = line[.weight]?.value { weight = Int32(try values.number(token, in: 0...65535, what: "weight")) }
        var upper: UInt32 = 0
        if let token = line[.upperThreshold]?.value {
            upper = UInt32(try values.number(token, in: 0...Int(Int32.max), what: "upper threshold"))
        }
        var lower: UInt32 = 0
        if let token = line[.lowerThreshold]?.value {
            lower = UInt32(try values.number(token, in: 0...Int(Int32.max), what: "lower threshold"))
        }
        let (address, port) = try realServer(line, service: key, values)
        return RealServerSettings(address: address, port: port, method: method, weight: weight,
                                  upperThreshold: upper, lowerThreshold: lower, tunnel: tunnel)
    }

    /// `--tun-type`, `--tun-port` and `--tun-nocsum|--tun-csum|--tun-remcsum` of an `-a` or
    /// `-e` line (ipvsadm -S writes them after every tunnelling server), each refused at its
    /// own column when it does not fit the method or the tunnel type.
    private func tunnelSettings(_ line: RulesCommandLine, method: ForwardingMethod, _ values: RulesValues) throws(ConfigError) -> TunnelSettings {
        var tunnel = TunnelSettings.ipip
        let checksums: [(IPVSOptionClass, TunnelSettings.Checksum)] = [
            (.tunnelNoChecksum, .none), (.tunnelChecksum, .checksum), (.tunnelRemoteChecksum, .remote),
        ]
        let given = [IPVSOptionClass.tunnelType, .tunnelPort] + checksums.map(\.0)
        if method != .tunnel, let use = given.lazy.compactMap({ line[$0] }).first {
            throw values.error("\(use.name.text) applies to tunnelling servers only; add -i or drop it", at: use.name)
        }
        if let token = line[.tunnelType]?.value {
            guard let kind = TunnelSettings.Kind(name: token.text) else {
                throw values.error("tunnel type '\(token.text)' is not one of ipip, gue and gre", at: token)
            }
            tunnel.kind = kind
        }
        if let use = line[.tunnelPort], let token = use.value {
            tunnel.port = UInt16(try values.number(token, in: 1...65535, what: "tunnel port"))
        }
        var chosen: IPVSOptionUse?
        for (option, checksum) in checksums {
            guard let use = line[option] else { continue }
            if let chosen {
                throw values.error("\(use.name.text) conflicts with \(chosen.name.text); give one checksum option", at: use.name)
            }
            chosen = use
            tunnel.checksum = checksum
        }
        if method == .tunnel, let problem = tunnel.problem {
            let at = chosen?.name ?? line[.tunnelPort]?.name ?? line[.tunnelType]?.value ?? line.commandToken
            throw values.error(problem, at: at)
        }
        return tunnel
    }

    private mutating func addServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        try edit(.addServer(key, try serverSettings(line, service: key, values)), line, values)
    }

    private mutating func editServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        try edit(.editServer(key, try serverSettings(line, service: key, values)), line, values)
    }

    private mutating func deleteServer(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        let (address, port) = try realServer(line, service: key, values)
        try edit(.deleteServer(key, address: address, port: port), line, values)
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
        try edit(.setTimeouts(tcp: seconds[0], tcpFin: seconds[1], udp: seconds[2]), line, values)
    }

    private mutating func addLocalAddress(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        let address = try values.address(line[.localAddress]!.value!, what: "local")
        try edit(.addLocalAddress(key, address), line, values)
    }

    private mutating func deleteLocalAddress(_ line: RulesCommandLine, _ values: RulesValues) throws(ConfigError) {
        let (key, _) = try serviceKey(line, values)
        let address = try values.address(line[.localAddress]!.value!, what: "local")
        try edit(.deleteLocalAddress(key, address), line, values)
    }
}
