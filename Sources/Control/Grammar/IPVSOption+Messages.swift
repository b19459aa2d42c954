/// The sentences the two front ends say about an option of the one table. lvsadm keeps
/// ipvsadm's words where ipvsadm has some and speaks for SwiftLVS where it refuses what
/// ipvsadm accepts; a rules file says what was wrong and what to write instead, at a column.
extension IPVSOption {
    /// `-s (--scheduler)`, or `--set` for an option without a letter.
    var displayName: String {
        if let shortName { return "-\(shortName) (--\(longName))" }
        return "--\(longName)"
    }

    /// What the option's value is, for "needs a value" messages in rules files.
    var valueDescription: String {
        switch self {
        case .tcpService, .udpService, .sctpService: "a virtual service, VIP:port"
        case .fwmarkService: "a firewall mark"
        case .scheduler: "a scheduler name"
        case .persistent: "a persistence timeout in seconds"
        case .netmask: "a netmask"
        case .schedulerFlags: "a comma-separated list of scheduler flags"
        case .realServer: "a real server, RIP[:port]"
        case .weight: "a weight from 0 to 65535"
        case .upperThreshold, .lowerThreshold: "a connection count"
        case .localAddress: "a local address"
        case .interfaceName: "an interface name"
        case .tunnelType: "a tunnel type (ipip, gue or gre)"
        case .tunnelPort: "a tunnel port from 1 to 65535"
        case .startDaemon, .stopDaemon: "a sync daemon state, master or backup"
        default: "a value"
        }
    }

    /// lvsadm's refusal of an option ipvsadm has and SwiftLVS does not implement.
    var unsupported: String? {
        switch self {
        case .sctpService: "SCTP services (--sctp-service) are not supported by SwiftLVS; give the service with -t or -u"
        case .persistenceEngine: "persistence engines (--pe) are not supported by SwiftLVS: the sip engine needs SIP parsing lvsd does not do; use -p (a client sticks to one real server)"
        default: nil
        }
    }

    /// A rules file's refusal of the same options, naming the word as it was `spelled`.
    func unsupportedInRulesFile(spelled word: String) -> String? {
        switch self {
        case .sctpService: "SCTP services ('\(word)') are not supported; give the service with -t or -u"
        case .persistenceEngine: "persistence engines ('\(word)') are not supported: the sip engine needs SIP parsing lvsd does not do; use -p"
        default: nil
        }
    }

    /// What a command that has no place in a rules file does, for the rules file's message.
    var interactivePurpose: String? {
        switch self {
        case .list, .listLowercase: "lists the table"
        case .zero: "zeroes the counters"
        case .restore: "reads a rules file"
        case .save: "prints a rules file"
        case .help: "prints help"
        case .version: "prints the version"
        case .startDaemon, .stopDaemon: "controls the connection-sync daemon"
        case .getLocalAddresses: "lists the local addresses"
        case .reload: "asks lvsd to re-read its configuration"
        case .health: "prints the health checkers' view"
        case .vrrp: "prints the VRRP instances"
        default: nil
        }
    }
}
