/// ipvsadm's commands (`CMD_*`, named as `cmdnames` in messages), DPVS's local-address ones
/// and lvsadm's own, with the one command/option compatibility table both front ends check.
enum IPVSCommand: Int, CaseIterable, Sendable {
    case addService, editService, deleteService, flush, list, addServer, deleteServer, editServer
    case timeout, startDaemon, stopDaemon, restore, save, zero
    case addLocalAddress, deleteLocalAddress, getLocalAddresses
    case reload, health, vrrp

    var name: String {
        switch self {
        case .addService: "add-service"
        case .editService: "edit-service"
        case .deleteService: "delete-service"
        case .flush: "flush"
        case .list: "list"
        case .addServer: "add-server"
        case .deleteServer: "delete-server"
        case .editServer: "edit-server"
        case .timeout: "set"
        case .startDaemon: "start-daemon"
        case .stopDaemon: "stop-daemon"
        case .restore: "restore"
        case .save: "save"
        case .zero: "zero"
        case .addLocalAddress: "add-laddr"
        case .deleteLocalAddress: "del-laddr"
        case .getLocalAddresses: "get-laddr"
        case .reload: "reload"
        case .health: "health"
        case .vrrp: "vrrp"
        }
    }

    /// The option that starts the command, for messages (`-A (--add-service)`).
    var option: IPVSOption {
        IPVSOption.allCases.first { $0.command == self }!
    }

    /// The commands that change the table: what `lvsadm -R` restores and a rules file holds.
    static let tableChanging: Set<IPVSCommand> = [
        .addService, .editService, .deleteService, .flush, .addServer, .editServer, .deleteServer,
        .timeout, .zero, .addLocalAddress, .deleteLocalAddress,
    ]

    /// One row of `commands_v_options`, one character per `IPVSOptionClass` in order:
    /// '+' required, 'x' illegal, '1' at most one of the '1's, ' ' optional. The ipvsadm
    /// 1.31 rows, extended by DPVS's four columns (local-address, ifname, synproxy,
    /// proxy-protocol), lvsadm's toa column and DPVS's rows; `-F` is
    /// optional here where DPVS requires it, as SwiftLVS picks the interface by route.
    var row: String {
        let x31 = String(repeating: "x", count: 31)
        let ipvsadm: String = switch self {
        case .addService, .editService: "xx+   " + String(repeating: "x", count: 15) + "   " + String(repeating: "x", count: 10)
        case .deleteService: "xx+" + x31
        case .flush, .timeout, .restore, .reload, .health, .vrrp: String(repeating: "x", count: 34)
        // ipvsadm 1.31: --mcast-interface, --syncid and the four newer daemon options.
        case .startDaemon: String(repeating: "x", count: 11) + " " + String(repeating: "x", count: 7) + " " + "xxxx" + "    " + "xxxxxx"
        case .stopDaemon: String(repeating: "x", count: 19) + " " + String(repeating: "x", count: 14)
        case .list: " 11" + String(repeating: "x", count: 9) + "11" + "       " + String(repeating: "x", count: 7) + " " + "xxxxx"
        case .addServer, .editServer: "xx+xxx+" + "    " + String(repeating: "x", count: 18) + "     "
        case .deleteServer: "xx+xxx+" + String(repeating: "x", count: 27)
        case .save: " " + String(repeating: "x", count: 33)
        case .zero: "xx " + x31
        case .addLocalAddress, .deleteLocalAddress: "xx+" + x31
        case .getLocalAddresses: "xx " + x31
        }
        let dpvs: String = switch self {
        case .addLocalAddress, .deleteLocalAddress: "+ xxx"
        case .addService, .editService: "xx   "
        default: "xxxxx"
        }
        return ipvsadm + dpvs
    }

    func rule(_ option: IPVSOptionClass) -> Character {
        let r = row
        return r[r.index(r.startIndex, offsetBy: option.rawValue)]
    }
}

/// The columns of `commands_v_options` (ipvsadm's OPTC_* order, named as `optnames` in
/// messages), plus DPVS's local-address and ifname.
enum IPVSOptionClass: Int, CaseIterable, Sendable {
    case numeric, connection, service, scheduler, persistent, netmask, server, forward, weight
    case upperThreshold, lowerThreshold, mcastInterface, timeout, daemon, stats, rate, thresholds
    case persistentConnections, noSort, syncID, exact, onePacket, persistenceEngine, schedulerFlags
    case mcastGroup, mcastPort, mcastTTL, syncMaxLength, tunnelInfo, tunnelType, tunnelPort
    case tunnelNoChecksum, tunnelChecksum, tunnelRemoteChecksum
    case localAddress, interfaceName, synProxy, proxyProtocol, toa

    var name: String {
        switch self {
        case .numeric: "numeric"
        case .connection: "connection"
        case .service: "service-address"
        case .scheduler: "scheduler"
        case .persistent: "persistent"
        case .netmask: "netmask"
        case .server: "real-server"
        case .forward: "forwarding-method"
        case .weight: "weight"
        case .upperThreshold: "u-threshold"
        case .lowerThreshold: "l-threshold"
        case .mcastInterface: "mcast-interface"
        case .timeout: "timeout"
        case .daemon: "daemon"
        case .stats: "stats"
        case .rate: "rate"
        case .thresholds: "thresholds"
        case .persistentConnections: "persistent-conn"
        case .noSort: "nosort"
        case .syncID: "syncid"
        case .exact: "exact"
        case .onePacket: "ops"
        case .persistenceEngine: "pe"
        case .schedulerFlags: "sched-flags"
        case .mcastGroup: "mcast-group"
        case .mcastPort: "mcast-port"
        case .mcastTTL: "mcast-ttl"
        case .syncMaxLength: "sync-maxlen"
        case .tunnelInfo: "tun-info"
        case .tunnelType: "tun-type"
        case .tunnelPort: "tun-port"
        case .tunnelNoChecksum: "tun-nocsum"
        case .tunnelChecksum: "tun-csum"
        case .tunnelRemoteChecksum: "tun-remcsum"
        case .localAddress: "local-address"
        case .interfaceName: "ifname"
        case .synProxy: "synproxy"
        case .proxyProtocol: "proxy-protocol"
        case .toa: "toa"
        }
    }
}
