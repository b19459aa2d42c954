import Core
import Wire

extension AdminListing {
    /// `lvsadm -S [-n]`: the table as commands `lvsadm -R` (and `lvsd --config`) read back,
    /// in ipvsadm 1.31's form (`list_all` with FMT_RULE, `print_service_entry`,
    /// `print_tunnel_rule`): services sorted as `-L` sorts them, each
    /// `-A -t VIP:port -s SCHED [-p T [-M MASK]] [-b FLAGS]` followed by its real servers
    /// `-a -t VIP:port -r RIP:port -g|-m|-i|-b -w W` (tunnels end in their `--tun-type` options).
    /// Without `-n` ports are /etc/services names, as ipvsadm's.
    ///
    /// Where ipvsadm would lose settings SwiftLVS keeps, lines carry more than ipvsadm's do:
    /// `-x`/`-y` on real servers with thresholds, `--add-laddr -z LIP` lines for FullNAT
    /// local addresses (DPVS's command), and a first `--set tcp tcpfin udp` line when the
    /// timeouts are not IPVS's defaults. A table without those prints exactly what
    /// ipvsadm prints.
    public static func save(_ snapshot: AdminSnapshot, numeric: Bool) -> String {
        var text = ""
        let t = snapshot.timeouts
        if t != AdminSnapshot.Timeouts() {
            text += "--set \(t.tcp) \(t.tcpFin) \(t.udp)\n"
        }
        let format = ListingFormat(numeric: numeric)
        for service in sortedServices(snapshot, format) {
            let name = service.key.isFirewallMark ? "-f \(service.key.fwmark)"
                : (service.key.proto == .udp ? "-u " : "-t ")
                + addressAndPort(service.key.address, service.key.port, service.key.proto, numeric: numeric)
            // ipvsadm writes `-f 1 -6` on the -A line and `-f 1` on its -a lines.
            let serviceName = name + (service.key.isFirewallMark && service.key.isIPv6 ? " -6" : "")
            text += "-A \(serviceName) -s \(service.scheduler)"
            if let timeout = service.persistence {
                text += " -p \(timeout)" + maskSuffix(service, word: "-M")
            }
            if !service.flags.isEmpty, let flags = flagNames(service) { text += " -b " + flags }
            if service.onePacket { text += " -o" }
            if service.synProxy { text += " -j enable" }
            if let version = service.proxyProtocol { text += " --proxy-protocol v\(version)" }
            if service.toa == true { text += " --toa enable" }
            text += "\n"
            for server in sortedServers(service, format) {
                let rip = addressAndPort(server.address, server.port, service.key.proto, numeric: numeric)
                text += "-a \(name) -r \(rip) \(RulesWriter.methodSwitch(server.method)) -w \(server.weight)"
                if server.method == .tunnel { text += Self.tunnelOptions(server.tunnel) }
                if server.upperThreshold != 0 { text += " -x \(server.upperThreshold)" }
                if server.lowerThreshold != 0 { text += " -y \(server.lowerThreshold)" }
                text += "\n"
            }
            for lip in service.localAddresses {
                text += "--add-laddr -z \(lip.address) \(name)\n"
            }
        }
        return text
    }

    /// ipvsadm's `print_tunnel_rule`: ` --tun-type ipip`; GUE adds its port and checksum
    /// option, GRE its checksum option.
    static func tunnelOptions(_ tunnel: TunnelSettings) -> String {
        switch tunnel.kind {
        case .ipip: " --tun-type ipip"
        case .gue: " --tun-type gue --tun-port \(tunnel.port) --tun-\(tunnel.checksum)"
        case .gre: " --tun-type gre --tun-\(tunnel.checksum)"
        }
    }
}
