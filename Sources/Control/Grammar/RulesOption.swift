/// The options of ipvsadm's rules-file commands, as a table: names, the value each takes,
/// and the slot that stops an option (or two spellings of one setting) repeating on a line.
enum RulesOption: CaseIterable, Sendable {
    case tcpService
    case udpService
    case scheduler
    case persistent
    case netmask
    case schedulerFlags
    case realServer
    case gatewaying
    case masquerading
    case ipip
    /// DPVS: `-b` on `-a`/`-e`; on `-A`/`-E` the same letter is ipvsadm's `--sched-flags`.
    case fullNAT
    case weight
    case upperThreshold
    case lowerThreshold
    /// DPVS `-z/--laddr`, the local address of `--add-laddr`/`--del-laddr`.
    case localAddress
    /// DPVS `-F/--ifname`, accepted on laddr lines and not stored (SwiftLVS picks the
    /// interface from the route to the real servers).
    case interfaceName
    /// ipvsadm 1.31's `--tun-type`, which its `-S` writes after every tunnelling server;
    /// only `ipip` is accepted.
    case tunnelType

    enum Argument: Sendable, Equatable {
        case none
        /// A value is required; the string names it for messages ("a scheduler name").
        case required(String)
        /// ipvsadm's `-p [timeout]`: the next word is the value only if it is a number.
        case optionalNumber
    }

    /// Options that set the same thing share a slot, so `-t` then `-u`, or `-g` then `-m`,
    /// is caught as a repeat or conflict.
    enum Slot: Hashable, Sendable {
        case service, scheduler, persistent, netmask, schedulerFlags, realServer, forwardingMethod
        case weight, upperThreshold, lowerThreshold, localAddress, interfaceName, tunnelType
    }

    var shortName: Character? {
        switch self {
        case .tcpService: "t"
        case .udpService: "u"
        case .scheduler: "s"
        case .persistent: "p"
        case .netmask: "M"
        case .schedulerFlags: "b"
        case .realServer: "r"
        case .gatewaying: "g"
        case .masquerading: "m"
        case .ipip: "i"
        case .fullNAT: "b"
        case .weight: "w"
        case .upperThreshold: "x"
        case .lowerThreshold: "y"
        case .localAddress: "z"
        case .interfaceName: "F"
        case .tunnelType: nil
        }
    }

    var longName: String {
        switch self {
        case .tcpService: "tcp-service"
        case .udpService: "udp-service"
        case .scheduler: "scheduler"
        case .persistent: "persistent"
        case .netmask: "netmask"
        case .schedulerFlags: "sched-flags"
        case .realServer: "real-server"
        case .gatewaying: "gatewaying"
        case .masquerading: "masquerading"
        case .ipip: "ipip"
        case .fullNAT: "fullnat"
        case .weight: "weight"
        case .upperThreshold: "u-threshold"
        case .lowerThreshold: "l-threshold"
        case .localAddress: "laddr"
        case .interfaceName: "ifname"
        case .tunnelType: "tun-type"
        }
    }

    var argument: Argument {
        switch self {
        case .tcpService, .udpService: .required("a virtual service, VIP:port")
        case .scheduler: .required("a scheduler name")
        case .persistent: .optionalNumber
        case .netmask: .required("a netmask")
        case .schedulerFlags: .required("a comma-separated list of scheduler flags")
        case .realServer: .required("a real server, RIP[:port]")
        case .gatewaying, .masquerading, .ipip, .fullNAT: .none
        case .weight: .required("a weight from 0 to 65535")
        case .upperThreshold: .required("a connection count")
        case .lowerThreshold: .required("a connection count")
        case .localAddress: .required("a local address")
        case .interfaceName: .required("an interface name")
        case .tunnelType: .required("a tunnel type (ipip)")
        }
    }

    var slot: Slot {
        switch self {
        case .tcpService, .udpService: .service
        case .scheduler: .scheduler
        case .persistent: .persistent
        case .netmask: .netmask
        case .schedulerFlags: .schedulerFlags
        case .realServer: .realServer
        case .gatewaying, .masquerading, .ipip, .fullNAT: .forwardingMethod
        case .weight: .weight
        case .upperThreshold: .upperThreshold
        case .lowerThreshold: .lowerThreshold
        case .localAddress: .localAddress
        case .interfaceName: .interfaceName
        case .tunnelType: .tunnelType
        }
    }

    /// `-s (--scheduler)`, for messages.
    var displayName: String {
        if let shortName { return "-\(shortName) (--\(longName))" }
        return "--\(longName)"
    }

    /// The options a word names (two for `-b`, which the command disambiguates).
    static func named(_ word: String) -> [RulesOption] {
        if word.hasPrefix("--") {
            let name = word.dropFirst(2)
            return allCases.filter { $0.longName == name }
        }
        if word.count == 2, word.first == "-", let letter = word.last {
            return allCases.filter { $0.shortName == letter }
        }
        return []
    }

    /// ipvsadm options SwiftLVS knows but does not implement, with what to do instead.
    static func unsupported(_ word: String) -> String? {
        switch word {
        case "-f", "--fwmark-service":
            "firewall-mark services ('\(word)') are not supported; give the service with -t or -u"
        case "--sctp-service":
            "SCTP services ('\(word)') are not supported; give the service with -t or -u"
        case "-o", "--ops":
            "one-packet scheduling ('\(word)') is not supported"
        case "--pe":
            "persistence engines ('\(word)') are not supported"
        case "-6":
            "'-6' only qualifies firewall-mark services, which are not supported"
        case "--tun-port", "--tun-nocsum", "--tun-csum", "--tun-remcsum":
            "tunnel options ('\(word)') are not supported; SwiftLVS tunnels are plain IPIP"
        default:
            nil
        }
    }
}
