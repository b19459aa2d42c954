import Core
import Wire

/// `lvsadm -L` in every format, byte for byte as ipvsadm 1.31 prints it (ipvsadm.c
/// `list_all`, `list_service`, `print_title`, `print_service_entry`, `print_largenum`),
/// trailing spaces included. Input is an `AdminSnapshot`; output is the whole text,
/// each line ending in "\n".
///
/// Where lvsadm differs, on purpose: addresses are always printed as numbers (ipvsadm
/// without `-n` asks DNS; lvsadm never does) while ports still become /etc/services names
/// (`PortNames`); sorting compares addresses as unsigned numbers where ipvsadm's
/// comparators subtract them as `int`, which misorders addresses 2^31 apart; with
/// `--nosort` services keep their configuration order (IPVS shows hash order) and real
/// servers are listed newest first, as IPVS's destination list is.
public enum AdminListing {
    /// The header `list_all` prints (IPVS 1.2.1, the version every kernel since 2.6 reports).
    static func header(_ snapshot: AdminSnapshot) -> String {
        "IP Virtual Server version 1.2.1 (size=\(snapshot.tableSize))\n"
    }

    /// Renders a listing request; a missing service is ipvsadm's "No such service" (exit 1).
    public static func render(_ request: ListingRequest, _ snapshot: AdminSnapshot) throws(AdminError) -> String {
        let format = request.format
        switch request.subject {
        case .services:
            return header(snapshot) + title(format) + sortedServices(snapshot, format).map { serviceEntry($0, format) }.joined()
        case .service(let key):
            guard let service = snapshot.services.first(where: { $0.key == key }) else {
                throw AdminError("No such service", detail: "service \(key) does not exist", exitCode: AdminError.listingExit,
                                 subject: .service)
            }
            return title(format) + serviceEntry(service, format)
        case .connections:
            return connections(snapshot, format)
        case .timeouts:
            return timeouts(snapshot)
        case .daemon:
            // Listed from the daemon's own answer (`Lvsadm.run`, `daemons(_:)`); a snapshot has none.
            return ""
        }
    }

    /// ipvsadm 1.31's `list_daemon`: one line per running daemon, master first, with every
    /// setting, as a kernel that reports them all (netlink) prints it.
    public static func daemons(_ list: [SyncDaemonSettings]) -> String {
        var out = ""
        for role in SyncRole.allCases {
            for d in list where d.role == role {
                out += "\(role.rawValue) sync daemon (mcast=\(d.interface), syncid=\(d.syncID), maxlen=\(d.maxLength), group=\(d.group), port=\(d.port), ttl=\(d.ttl))\n"
            }
        }
        return out
    }

    // MARK: Titles and entries

    /// `print_title`: the two column-header lines for the chosen format.
    static func title(_ format: ListingFormat) -> String {
        let first = "Prot LocalAddress:Port"
        let remote = "  -> RemoteAddress:Port\n"
        if format.stats {
            return left(first, 33) + " " + ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"].map { right($0, 8) }.joined(separator: " ") + "\n" + remote
        }
        if format.rate {
            return left(first, 33) + " " + ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"].map { right($0, 8) }.joined(separator: " ") + "\n" + remote
        }
        if format.thresholds {
            return left(first, 33) + " " + ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"].map { left($0, 10) }.joined(separator: " ") + "\n" + remote
        }
        if format.persistentConnections {
            return left(first, 33) + " " + left("Weight", 9) + " " + left("PersistConn", 11) + " " + left("ActiveConn", 10) + " "
                + left("InActConn", 10) + "\n" + remote
        }
        if format.tunnelInfo {
            return "Prot LocalAddress:Port Scheduler Flags\n"
                + "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
        }
        return "Prot LocalAddress:Port Scheduler Flags\n"
            + "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    }

    /// `print_service_entry` for the listing formats: the service line, then one per real server.
    static func serviceEntry(_ service: AdminSnapshot.Service, _ format: ListingFormat) -> String {
        var text = ""
        let name = serviceName(service, format)
        if format.stats {
            text += left(name, 33) + counters(service.stats, format) + "\n"
        } else if format.rate {
            let r = service.rates
            text += left(name, 33) + [r.connectionsPerSecond, r.packetsInPerSecond, r.packetsOutPerSecond, r.bytesInPerSecond,
                                      r.bytesOutPerSecond].map { largeNumber($0, exact: format.exact) }.joined() + "\n"
        } else {
            text += name + " " + service.scheduler
            if let flags = flagNames(service), !service.flags.isEmpty { text += " (" + flags + ")" }
            if let timeout = service.persistence {
                text += " persistent \(timeout)"
                text += maskSuffix(service, word: "mask")
            }
            if service.onePacket { text += " ops" }
            if service.synProxy { text += " synproxy" }
            // DPVS's ipvsadm lists the PROXY protocol as `pp` and its version.
            if let version = service.proxyProtocol { text += " ppv\(version)" }
            if service.toa == true { text += " toa" }
            text += "\n"
        }
        for server in sortedServers(service, format) {
            text += serverEntry(server, of: service, format)
        }
        return text
    }

    static func serverEntry(_ server: AdminSnapshot.RealServer, of service: AdminSnapshot.Service, _ format: ListingFormat) -> String {
        var name = addressAndPort(server.address, server.port, service.key.proto, numeric: format.numeric)
        if server.address.isIPv4 { name = String(name.prefix(28)) }
        let arrow = "  -> " + left(name, 28)
        if format.stats {
            return arrow + counters(server.stats, format) + "\n"
        }
        if format.rate {
            let r = server.rates
            return arrow + " " + right(String(r.connectionsPerSecond), 8) + " " + right(String(r.packetsInPerSecond), 8) + " "
                + right(String(r.packetsOutPerSecond), 8) + largeNumber(r.bytesInPerSecond, exact: format.exact)
                + largeNumber(r.bytesOutPerSecond, exact: format.exact) + "\n"
        }
        if format.thresholds {
            return arrow + " " + [server.upperThreshold, server.lowerThreshold, server.activeConnections, server.inactiveConnections]
                .map { left(String($0), 10) }.joined(separator: " ") + "\n"
        }
        if format.persistentConnections {
            return arrow + " " + left(String(UInt32(bitPattern: server.weight)), 9) + " " + left(String(server.persistentConnections), 11)
                + " " + left(String(server.activeConnections), 10) + " " + left(String(server.inactiveConnections), 10) + "\n"
        }
        if format.tunnelInfo {
            // ipvsadm's `fwd_tun_info`: ipip, gue:PORT:FLAGS, gre:FLAGS.
            let info: String = switch (server.method, server.tunnel.kind) {
            case (.tunnel, .ipip): "ipip"
            case (.tunnel, .gue): "gue:\(server.tunnel.port):\(server.tunnel.checksum)"
            case (.tunnel, .gre): "gre:\(server.tunnel.checksum)"
            default: "n/a"
            }
            return arrow + " " + left(server.method.description, 7) + " " + left(info, 13) + " " + left(String(server.weight), 6)
                + " " + left(String(server.activeConnections), 10) + " " + left(String(server.inactiveConnections), 10) + "\n"
        }
        return arrow + " " + left(server.method.description, 7) + " " + left(String(server.weight), 6) + " "
            + left(String(server.activeConnections), 10) + " " + left(String(server.inactiveConnections), 10) + "\n"
    }

    /// `TCP  198.18.0.10:80` (`"%-4s %s"`, cut at 33 characters for IPv4); `FWM  1` or
    /// `FWM  1 IPv6` for a firewall-mark service (`"FWM  %d"`).
    static func serviceName(_ service: AdminSnapshot.Service, _ format: ListingFormat) -> String {
        if service.key.isFirewallMark { return "FWM  \(service.key.fwmark)" + (service.key.isIPv6 ? " IPv6" : "") }
        let name = left(service.key.proto.description, 4) + " "
            + addressAndPort(service.key.address, service.key.port, service.key.proto, numeric: format.numeric)
        return service.key.address.isIPv4 ? String(name.prefix(33)) : name
    }

    /// ` mask 255.255.255.0` / ` mask 64` when persistence covers less than the whole address.
    static func maskSuffix(_ service: AdminSnapshot.Service, word: String) -> String {
        if service.key.address.isIPv4 {
            guard service.prefixLength < 32 else { return "" }
            let length = max(0, service.prefixLength)
            let mask: UInt32 = length == 0 ? 0 : ~(UInt32.max >> UInt32(length))
            return " \(word) \(IPAddress(ipv4: mask))"
        }
        return service.prefixLength == 128 ? "" : " \(word) \(service.prefixLength)"
    }

    /// `print_sched_flags`: sh and mh print their own two names, other schedulers flag-1..3.
    static func flagNames(_ service: AdminSnapshot.Service) -> String? {
        let names: [(String, SchedulerFlags)] = switch service.scheduler {
        case "sh": [("sh-fallback", .fallback), ("sh-port", .port)]
        case "mh": [("mh-fallback", .fallback), ("mh-port", .port)]
        default: [("flag-1", .fallback), ("flag-2", .port), ("flag-3", .flag3)]
        }
        return names.filter { service.flags.contains($0.1) }.map(\.0).joined(separator: ",")
    }

    static func counters(_ c: AdminSnapshot.Counters, _ format: ListingFormat) -> String {
        [c.connections, c.packetsIn, c.packetsOut, c.bytesIn, c.bytesOut].map { largeNumber($0, exact: format.exact) }.joined()
    }

    // MARK: Numbers, names, order

    /// ipvsadm's `print_largenum`: nine columns (a space and eight digits) up to 99,999,999,
    /// then eight columns of thousands, millions, billions or trillions and the letter K, M,
    /// G or T. With `--exact`, the whole number after one space, at least nine columns.
    public static func largeNumber(_ value: UInt64, exact: Bool) -> String {
        if exact {
            let digits = String(value)
            return right(digits, digits.count <= 8 ? 9 : digits.count + 1)
        }
        switch value {
        case ..<100_000_000: return right(String(value), 9)
        case ..<1_000_000_000: return right(String(value / 1_000), 8) + "K"
        case ..<100_000_000_000: return right(String(value / 1_000_000), 8) + "M"
        case ..<100_000_000_000_000: return right(String(value / 1_000_000_000), 8) + "G"
        default: return right(String(value / 1_000_000_000_000), 8) + "T"
        }
    }

    /// `addrport_to_anyname`: `198.18.0.10:80`, `[2001:db8::10]:80`; without `-n` the port
    /// by its /etc/services name for the protocol (addresses stay numeric: no DNS).
    static func addressAndPort(_ address: IPAddress, _ port: UInt16, _ proto: TransportProtocol, numeric: Bool) -> String {
        let portText = numeric ? String(port) : (PortNames.name(of: port, proto: proto) ?? String(port))
        return address.isIPv4 ? "\(address):\(portText)" : "[\(address)]:\(portText)"
    }

    /// `ipvs_sort_services` (`ipvs_cmp_services`): address services before firewall-mark
    /// ones (those by mark), IPv4 before IPv6, TCP before UDP, then address and port.
    static func sortedServices(_ snapshot: AdminSnapshot, _ format: ListingFormat) -> [AdminSnapshot.Service] {
        if format.noSort { return snapshot.services }
        return snapshot.services.sorted { a, b in
            if a.key.isFirewallMark || b.key.isFirewallMark {
                if a.key.isFirewallMark != b.key.isFirewallMark { return b.key.isFirewallMark }
                if a.key.fwmark != b.key.fwmark { return a.key.fwmark < b.key.fwmark }
                return !a.key.isIPv6 && b.key.isIPv6
            }
            let ka = (a.key.address.isIPv4 ? 0 : 1, a.key.proto.rawValue)
            let kb = (b.key.address.isIPv4 ? 0 : 1, b.key.proto.rawValue)
            if ka != kb { return ka < kb }
            if a.key.address != b.key.address { return a.key.address < b.key.address }
            return a.key.port < b.key.port
        }
    }

    /// `ipvs_sort_dests` (`ipvs_cmp_dests`): address, then port; with `--nosort`, IPVS's
    /// list order, newest first (`list_add_rcu` at the head in `ip_vs_add_dest`).
    static func sortedServers(_ service: AdminSnapshot.Service, _ format: ListingFormat) -> [AdminSnapshot.RealServer] {
        if format.noSort { return service.realServers.reversed() }
        return service.realServers.sorted { a, b in
            a.address != b.address ? a.address < b.address : a.port < b.port
        }
    }

    /// printf's `%-Ns`.
    static func left(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// printf's `%Ns`.
    static func right(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
