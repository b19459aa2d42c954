import Core
import Wire

/// Renders a configuration in `ipvsadm -S -n` form (services then their real servers, in
/// insertion order), such that parse(save(c)) == c for the parts ipvsadm can express, plus
/// the SwiftLVS/DPVS lines for the rest.
///
/// Order: `interface` lines, `neighbour` lines, `--set` (only when the tcp/tcpfin/udp
/// timeouts differ from IPVS's defaults), then per service its `-A` line, its `-a` lines
/// and its `--add-laddr` lines. Service lines are ipvsadm 1.31's `print_service_entry`
/// shape (`-A -t VIP:port -s SCHED [-p T [-M MASK]] [-b FLAGS]`,
/// `-a -t VIP:port -r RIP:port -g|-m|-i|-b -w W`), with `-x`/`-y` appended when set,
/// which ipvsadm -S omits.
///
/// The other states' timeouts, IPVS's tunables and the firewall-mark classifier are written
/// as lvsd's `timeout`, `tunable` and `fwmark` lines after `--set`, when not the defaults.
///
/// Not expressible, so not preserved: DR or TUN servers whose port differs from the service's, weights outside
/// 0...65535, and neighbours whose interface index names no interface.
public enum RulesWriter {
    public static func save(_ config: DirectorConfig) -> String {
        var lines: [String] = []
        for interface in config.interfaces {
            var line = "interface \(interface.name) mac \(interface.mac)"
            if interface.mtu != 1500 { line += " mtu \(interface.mtu)" }
            for address in interface.addresses { line += " address \(address)" }
            lines.append(line)
        }
        for neighbour in config.neighbours {
            var line = "neighbour \(neighbour.address) mac \(neighbour.mac)"
            if neighbour.interface != 0, config.interfaces.indices.contains(neighbour.interface) {
                line += " interface \(config.interfaces[neighbour.interface].name)"
            }
            lines.append(line)
        }
        let timeouts = config.timeouts.tcpTcpFinUdp
        let defaults = TimeoutTable.ipvsDefaults.tcpTcpFinUdp
        if timeouts != defaults {
            lines.append("--set \(timeouts.tcp) \(timeouts.tcpFin) \(timeouts.udp)")
        }
        for state in ConnectionState.allCases where ![.established, .finWait, .udp].contains(state)
            && config.timeouts[state] != TimeoutTable.ipvsDefaults[state] {
            lines.append("timeout \(state.description.lowercased()) \(config.timeouts[state])")
        }
        for name in IPVSTunables.Name.allCases where config.tunables[name] != IPVSTunables.defaults[name] {
            lines.append("tunable \(name.rawValue) \(config.tunables[name])")
        }
        if config.tunables.ftpPorts != IPVSTunables.defaults.ftpPorts {
            lines.append("tunable \(TunableLine.ftpPortsName) \(config.tunables.ftpPorts)")
        }
        for rule in config.firewallMarks { lines.append(rule.description) }
        for service in config.services {
            lines.append(serviceLine(service))
            let name = serviceName(service.key)
            for server in service.realServers {
                var line = "-a \(name) -r \(Endpoint(server.address, server.port)) \(methodSwitch(server.method)) -w \(server.weight)"
                if server.upperThreshold != 0 { line += " -x \(server.upperThreshold)" }
                if server.lowerThreshold != 0 { line += " -y \(server.lowerThreshold)" }
                lines.append(line)
            }
            for address in service.localAddresses {
                lines.append("--add-laddr -z \(address) \(name)")
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// `-t 198.18.0.10:80`, `-u [2001:db8::10]:53`.
    static func serviceName(_ key: ServiceKey) -> String {
        if key.isFirewallMark { return "-f \(key.fwmark)" + (key.isIPv6 ? " -6" : "") }
        return "\(key.proto == .udp ? "-u" : "-t") \(key.endpoint)"
    }

    static func serviceLine(_ service: VirtualServiceConfig) -> String {
        var line = "-A \(serviceName(service.key)) -s \(service.scheduler.rawValue)"
        if let persistence = service.persistence {
            line += " -p \(persistence.timeout)"
            if service.key.address.isIPv4 {
                if persistence.prefixLength != 32 {
                    let length = max(0, min(32, persistence.prefixLength))
                    let mask: UInt32 = length == 0 ? 0 : ~(UInt32.max >> UInt32(length))
                    line += " -M \(IPAddress(ipv4: mask))"
                }
            } else if persistence.prefixLength != 128 {
                line += " -M \(persistence.prefixLength)"
            }
        }
        let flags = SchedulerFlagNames.names(of: service.schedulerFlags, scheduler: service.scheduler)
        if !flags.isEmpty { line += " -b \(flags.joined(separator: ","))" }
        if service.onePacket { line += " -o" }
        if service.synProxy { line += " -j enable" }
        if let version = service.proxyProtocol { line += " --proxy-protocol v\(version.rawValue)" }
        if service.toa { line += " --toa enable" }
        return line
    }

    /// ipvsadm's `fwd_switch`, with DPVS's `-b` for FullNAT.
    static func methodSwitch(_ method: ForwardingMethod) -> String {
        switch method {
        case .directRouting: "-g"
        case .nat: "-m"
        case .tunnel: "-i"
        case .fullNAT: "-b"
        }
    }
}
