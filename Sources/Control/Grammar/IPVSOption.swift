import Wire

/// The one ipvsadm option table, read by both front ends (lvsadm's argv and rules-file
/// lines): ipvsadm 1.31's popt table (ipvsadm.c `parse_options`), DPVS's local-address
/// commands and `--fullnat`, and lvsadm's own `--reload`, `--health` and `--vrrp`. Which options each
/// command takes is `IPVSCommand.rule`, ipvsadm's `commands_v_options` table; how strictly
/// words are read is `IPVSStrictness`; the sentences each front end prints are in
/// `IPVSOption+Messages.swift`.
enum IPVSOption: CaseIterable, Sendable {
    // Commands: the first option of a command line.
    case addService, editService, deleteService, clear, list, listLowercase, zero
    case addServer, editServer, deleteServer, set, help, version, restore, save
    case startDaemon, stopDaemon
    case addLocalAddress, deleteLocalAddress, getLocalAddresses
    /// lvsadm's own: lvsd re-reads its configuration file (as SIGHUP does).
    case reload
    /// lvsadm's own: the health checkers' view of every real server.
    case health
    /// lvsadm's own: lvsd's VRRP instances (state, priorities, master, VIPs).
    case vrrp
    // Options.
    case tcpService, udpService, sctpService, fwmarkService
    case scheduler, persistent, netmask, realServer
    case masquerading, ipip, gatewaying, fullNAT
    case weight, upperThreshold, lowerThreshold
    case numeric, connection, mcastInterface, syncID, timeout, daemon, stats, rate, thresholds
    case persistentConnections, noSort, sort, exact, ipv6, onePacket, persistenceEngine, schedulerFlags
    case mcastGroup, mcastPort, mcastTTL, syncMaxLength
    case tunnelInfo, tunnelType, tunnelPort, tunnelNoChecksum, tunnelChecksum, tunnelRemoteChecksum
    case localAddress, interfaceName
    /// DPVS's ipvsadm: `-j enable|disable`, the SYN proxy of a TCP service (Docs/adr/0007).
    case synProxy
    /// DPVS's ipvsadm: `--proxy-protocol v1|v2|disable`, the PROXY protocol header a FullNAT
    /// or NAT TCP service puts before the client's stream (Docs/adr/0008).
    case proxyProtocol
    /// lvsadm's own (DPVS adds TOA to every FullNAT service without a PROXY protocol):
    /// `--toa enable|disable`, the client's address in TCP option 254 (Docs/adr/0008).
    case toa

    enum Argument: Sendable, Equatable {
        case none
        case required
        /// popt's POPT_ARGFLAG_OPTIONAL (`-p [timeout]`): the next word is the value unless it
        /// starts with '-'.
        case optional
    }

    var longName: String {
        switch self {
        case .addService: "add-service"
        case .editService: "edit-service"
        case .deleteService: "delete-service"
        case .clear: "clear"
        case .list, .listLowercase: "list"
        case .zero: "zero"
        case .addServer: "add-server"
        case .editServer: "edit-server"
        case .deleteServer: "delete-server"
        case .set: "set"
        case .help: "help"
        case .version: "version"
        case .restore: "restore"
        case .save: "save"
        case .startDaemon: "start-daemon"
        case .stopDaemon: "stop-daemon"
        case .addLocalAddress: "add-laddr"
        case .deleteLocalAddress: "del-laddr"
        case .getLocalAddresses: "get-laddr"
        case .reload: "reload"
        case .health: "health"
        case .vrrp: "vrrp"
        case .tcpService: "tcp-service"
        case .udpService: "udp-service"
        case .sctpService: "sctp-service"
        case .fwmarkService: "fwmark-service"
        case .scheduler: "scheduler"
        case .persistent: "persistent"
        case .netmask: "netmask"
        case .realServer: "real-server"
        case .masquerading: "masquerading"
        case .ipip: "ipip"
        case .gatewaying: "gatewaying"
        case .fullNAT: "fullnat"
        case .weight: "weight"
        case .upperThreshold: "u-threshold"
        case .lowerThreshold: "l-threshold"
        case .numeric: "numeric"
        case .connection: "connection"
        case .mcastInterface: "mcast-interface"
        case .syncID: "syncid"
        case .timeout: "timeout"
        case .daemon: "daemon"
        case .stats: "stats"
        case .rate: "rate"
        case .thresholds: "thresholds"
        case .persistentConnections: "persistent-conn"
        case .noSort: "nosort"
        case .sort: "sort"
        case .exact: "exact"
        case .ipv6: "ipv6"
        case .onePacket: "ops"
        case .synProxy: "synproxy"
        case .proxyProtocol: "proxy-protocol"
        case .toa: "toa"
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
        case .localAddress: "laddr"
        case .interfaceName: "ifname"
        }
    }

    /// The short letter, if any. `-b` is two options: ipvsadm's `--sched-flags` with a value,
    /// and DPVS's `--fullnat` without one on `-a`/`-e` (`IPVSScanner` picks by command).
    var shortName: Character? {
        switch self {
        case .addService: "A"
        case .editService: "E"
        case .deleteService: "D"
        case .clear: "C"
        case .list: "L"
        case .listLowercase: "l"
        case .zero: "Z"
        case .addServer: "a"
        case .editServer: "e"
        case .deleteServer: "d"
        case .help: "h"
        case .version: "v"
        case .restore: "R"
        case .save: "S"
        // DPVS's letters for its local-address commands.
        case .addLocalAddress: "P"
        case .deleteLocalAddress: "Q"
        case .getLocalAddresses: "G"
        case .tcpService: "t"
        case .udpService: "u"
        case .fwmarkService: "f"
        case .scheduler: "s"
        case .persistent: "p"
        case .netmask: "M"
        case .realServer: "r"
        case .masquerading: "m"
        case .ipip: "i"
        case .gatewaying: "g"
        case .fullNAT, .schedulerFlags: "b"
        case .weight: "w"
        case .upperThreshold: "x"
        case .lowerThreshold: "y"
        case .numeric: "n"
        case .connection: "c"
        case .exact: "X"
        case .ipv6: "6"
        case .onePacket: "o"
        case .synProxy: "j"
        case .localAddress: "z"
        case .interfaceName: "F"
        default: nil
        }
    }

    var argument: Argument {
        switch self {
        case .startDaemon, .stopDaemon, .tcpService, .udpService, .sctpService, .fwmarkService, .scheduler, .netmask,
             .realServer, .weight, .upperThreshold, .lowerThreshold, .mcastInterface, .syncID, .persistenceEngine,
             .schedulerFlags, .mcastGroup, .mcastPort, .mcastTTL, .syncMaxLength, .tunnelType, .tunnelPort,
             .localAddress, .interfaceName, .synProxy, .proxyProtocol, .toa:
            .required
        case .persistent:
            .optional
        default:
            .none
        }
    }

    /// The command this word starts, when it is one.
    var command: IPVSCommand? {
        switch self {
        case .addService: .addService
        case .editService: .editService
        case .deleteService: .deleteService
        case .clear: .flush
        case .list, .listLowercase: .list
        case .zero: .zero
        case .addServer: .addServer
        case .editServer: .editServer
        case .deleteServer: .deleteServer
        case .set: .timeout
        case .restore: .restore
        case .save: .save
        case .startDaemon: .startDaemon
        case .stopDaemon: .stopDaemon
        case .addLocalAddress: .addLocalAddress
        case .deleteLocalAddress: .deleteLocalAddress
        case .getLocalAddresses: .getLocalAddresses
        case .reload: .reload
        case .health: .health
        case .vrrp: .vrrp
        default: nil
        }
    }

    /// The column of `commands_v_options` this option fills (`set_option`'s OPTC_*).
    var optionClass: IPVSOptionClass? {
        switch self {
        case .numeric: .numeric
        case .connection: .connection
        case .tcpService, .udpService, .sctpService, .fwmarkService: .service
        case .scheduler: .scheduler
        case .persistent: .persistent
        case .netmask: .netmask
        case .realServer: .server
        case .masquerading, .ipip, .gatewaying, .fullNAT: .forward
        case .weight: .weight
        case .upperThreshold: .upperThreshold
        case .lowerThreshold: .lowerThreshold
        case .mcastInterface: .mcastInterface
        case .timeout: .timeout
        case .daemon: .daemon
        case .stats: .stats
        case .rate: .rate
        case .thresholds: .thresholds
        case .persistentConnections: .persistentConnections
        case .noSort: .noSort
        case .syncID: .syncID
        case .exact: .exact
        case .onePacket: .onePacket
        case .persistenceEngine: .persistenceEngine
        case .schedulerFlags: .schedulerFlags
        case .mcastGroup: .mcastGroup
        case .mcastPort: .mcastPort
        case .mcastTTL: .mcastTTL
        case .syncMaxLength: .syncMaxLength
        case .tunnelInfo: .tunnelInfo
        case .tunnelType: .tunnelType
        case .tunnelPort: .tunnelPort
        case .tunnelNoChecksum: .tunnelNoChecksum
        case .tunnelChecksum: .tunnelChecksum
        case .tunnelRemoteChecksum: .tunnelRemoteChecksum
        case .localAddress: .localAddress
        case .interfaceName: .interfaceName
        case .synProxy: .synProxy
        case .proxyProtocol: .proxyProtocol
        case .toa: .toa
        default: nil
        }
    }

    /// The options a long name (without `--`) spells.
    static func named(long name: Substring) -> [IPVSOption] {
        allCases.filter { $0.longName == name && $0 != .listLowercase }
    }

    /// The options a short letter spells.
    static func named(short letter: Character) -> [IPVSOption] {
        allCases.filter { $0.shortName == letter }
    }

    /// The options a whole word spells exactly (`-b` gives two, `-w5` none): how a rules
    /// file names options in its messages.
    static func named(word: String) -> [IPVSOption] {
        if word.hasPrefix("--") { return named(long: word.dropFirst(2)) }
        if word.count == 2, word.first == "-", let letter = word.last { return named(short: letter) }
        return []
    }
}

extension IPVSOption {
    /// `-j`'s value as DPVS's ipvsadm reads it: enable or disable; nil for anything else.
    static func synProxySetting(_ word: String) -> Bool? {
        switch word {
        case "enable": true
        case "disable": false
        default: nil
        }
    }

    /// `--proxy-protocol`'s value as DPVS spells it (`proxy_protocol_type`, case-insensitive):
    /// `.some(nil)` for disable; nil for anything else. `v1-insecure` and `v2-insecure` (pass a
    /// client's own header through) are DPVS's and not built here, so they are refused.
    static func proxyProtocolSetting(_ word: String) -> ProxyProtocolHeader.Version?? {
        switch word.lowercased() {
        case "v1": .some(.v1)
        case "v2": .some(.v2)
        case "disable": .some(nil)
        default: nil
        }
    }

    /// The sentence for a `--proxy-protocol` value that is not one.
    static func proxyProtocolRefusal(_ word: String) -> String {
        word.lowercased().hasSuffix("-insecure")
            ? "--proxy-protocol \(word) (keeping a client's own header) is not supported; use v1, v2 or disable"
            : "--proxy-protocol takes v1, v2 or disable, not '\(word)'"
    }
}
