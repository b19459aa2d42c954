import Core
import Wire

/// lvsadm's command line, the argv front end of the one ipvsadm grammar (`IPVSOption`,
/// `IPVSCommand`, `IPVSScanner` at `IPVSStrictness.commandLine`): ipvsadm 1.31's checks in
/// its order (ipvsadm.c `parse_options` with popt, `generic_opt_check`, `process_options`)
/// and its messages byte for byte. `RulesCommandLine` is the other front end.
///
/// - Options are popt's: short letters may be clustered (`-Ln`, `-lnc`), a short option's
///   value may follow it in the same word (`-w5`, `-t198.18.0.10:80`) or be the next word;
///   long options take `--name value` or `--name=value`; `--` ends the options.
/// - The first option must be a command (`-A -E -D -C -a -e -d -L -l -Z -S -R --set -h -v`,
///   DPVS's `--add-laddr --del-laddr --get-laddr`); otherwise ipvsadm's "Try ... -h" line.
/// - Values are checked as each option is read ("illegal weight specified"), then the
///   option set against the command (`commands_v_options`), then the command's own rules.
/// - `--socket PATH` (lvsadm's own) may appear anywhere; with nothing else, lvsadm lists.
///
/// Addresses are numeric: host names are refused rather than looked up, and ports may be
/// given by the /etc/services names in `PortNames`.
public enum LvsadmCommandLine {
    /// Parses `arguments` (argv without the program name). `program` appears in the
    /// "Try ... -h" message, as ipvsadm prints its argv[0].
    public static func parse(_ arguments: [String], program: String = "lvsadm") throws(AdminError) -> LvsadmInvocation {
        var words: [String] = []
        var socketPath: String?
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" {
                words.append(contentsOf: arguments[(index - 1)...])
                break
            }
            if word == "--socket" || word.hasPrefix("--socket=") {
                guard socketPath == nil else { throw .usage("multiple 'socket' options specified") }
                if word.hasPrefix("--socket=") {
                    socketPath = String(word.dropFirst("--socket=".count))
                } else {
                    guard index < arguments.count else {
                        throw AdminError("--socket: missing argument", detail: "give the path of lvsd's control socket after --socket",
                                         exitCode: AdminError.operationExit)
                    }
                    socketPath = arguments[index]
                    index += 1
                }
                guard socketPath?.isEmpty == false else { throw .usage("--socket needs a path") }
                continue
            }
            words.append(word)
        }
        if words.isEmpty {
            // ipvsadm with no arguments lists the table (`main`: argc == 1).
            return LvsadmInvocation(action: .list(ListingRequest()), socketPath: socketPath)
        }
        var parser = Parser(words: words, program: program, strictness: .commandLine)
        return LvsadmInvocation(action: try parser.run(), socketPath: socketPath)
    }

    /// One restore line (`-R` reads the same grammar, one command per line, with the
    /// table-changing commands only).
    static func parseRestoreLine(_ words: [String], program: String, strictness: IPVSStrictness = .restore) throws(AdminError) -> LvsadmInvocation.Action {
        var parser = Parser(words: words, program: program, strictness: strictness)
        return try parser.run()
    }

    /// ipvsadm's `tryhelp_exit(argv[0], -1)`.
    static func tryHelp(_ program: String) -> AdminError {
        AdminError("Try `\(program) -h' or '\(program) --help' for more information.", exitCode: AdminError.operationExit)
    }
}

private struct Parser {
    let program: String
    let strictness: IPVSStrictness
    var scanner: IPVSScanner
    var positional: [String] = []
    var command: IPVSCommand?

    // What the options set (ipvsadm's `struct ipvs_command_entry` and `options`).
    var options: Set<IPVSOptionClass> = []
    var serviceKey: ServiceKey?
    var scheduler: String?
    var persistence: UInt32?
    var prefixLength: Int?
    /// `-M` kept until the service is known, when `netmaskForTheLinesService` says so.
    var netmaskText: String?
    var serverText: String?
    var method: ForwardingMethod = .directRouting
    var weight: Int32 = 1
    var upper: UInt32 = 0
    var lower: UInt32 = 0
    var tunnel = TunnelSettings.ipip
    var schedulerFlagsText: String?
    var onePacket = false
    var synProxy: Bool?
    /// `--proxy-protocol`: `.some(nil)` disables; nil leaves an edited service's as it is.
    var proxyProtocol: ProxyProtocolHeader.Version??
    var toa: Bool?
    var localAddress: IPAddress?
    var format = ListingFormat()
    // The sync daemon's (`struct ipvs_daemon_t`).
    var daemonState: String?
    var daemon = SyncDaemonSettings(role: .master)

    init(words: [String], program: String, strictness: IPVSStrictness) {
        // argv has no columns; a word's column is its position, which no message shows.
        scanner = IPVSScanner(words: words.enumerated().map { RulesToken(text: $1, column: $0 + 1) }, strictness: strictness)
        self.program = program
        self.strictness = strictness
    }

    mutating func run() throws(AdminError) -> LvsadmInvocation.Action {
        guard let first = try nextOption() else { throw LvsadmCommandLine.tryHelp(program) }
        switch first.option {
        case .help: return .help
        case .version: return .version
        default: break
        }
        guard let command = first.option.command else { throw LvsadmCommandLine.tryHelp(program) }
        if let reason = first.option.unsupported { throw .usage(reason) }
        guard strictness.commands.contains(command) else {
            throw .usage("unexpected command in restore input",
                         detail: "only commands that change the table (-A -E -D -C -a -e -d -Z --set --add-laddr --del-laddr) may be restored")
        }
        self.command = command
        if command == .startDaemon || command == .stopDaemon {
            // parse_options: the state word, checked as it is read.
            switch first.value?.text {
            case "master": daemon.role = .master
            case "backup": daemon.role = .backup
            default: throw .usage(command == .startDaemon ? "illegal start-daemon parameter specified" : "illegal start_daemon specified",
                                  detail: "the sync daemon state is master or backup")
            }
        }
        while let use = try nextOption() {
            try read(use)
        }
        return try finish(command)
    }

    // MARK: popt

    /// The rules grammar's value readers (addresses, ports, masks), reused here; their
    /// messages become the second line of lvsadm's errors.
    private var values: RulesValues { RulesValues(location: RulesLocation(file: "lvsadm", line: 0), strictness: strictness) }

    /// The next option with its value, as popt reads it; nil at the end. Words that are no
    /// option's value are collected as positional arguments.
    mutating func nextOption() throws(AdminError) -> IPVSOptionUse? {
        while true {
            let item: IPVSScanItem?
            do {
                item = try scanner.nextWithValue(command: command)
            } catch {
                throw poptError(error)
            }
            switch item {
            case nil: return nil
            case .argument(let word): positional.append(word.text)
            case .option(let use): return use
            }
        }
    }

    /// popt's errors after the command (`parse_options`: "%s: %s\n", then return -1); before
    /// it, ipvsadm only says to try -h.
    private func poptError(_ error: IPVSScanError) -> AdminError {
        if command == nil { return LvsadmCommandLine.tryHelp(program) }
        let (word, reason) = switch error {
        case .unknownOption(let word, _): (word.text, "unknown option")
        case .missingValue(let use), .emptyValue(let use): (use.word.text, "missing argument")
        case .valueNotTaken(let use): (use.word.text, "option does not take an argument")
        }
        return AdminError("\(word): \(reason)", exitCode: AdminError.operationExit)
    }

    // MARK: Options, as parse_options reads them

    private mutating func read(_ use: IPVSOptionUse) throws(AdminError) {
        let option = use.option
        // ipvsadm's "invalid option" quotes a long option's whole word, a short one's letter.
        let spelled = use.word.text.hasPrefix("--") ? use.word.text : use.name.text
        if option == .sort { return }  // "does nothing, for backwards compatibility"
        if option == .ipv6 {
            // ipvsadm: -6 makes the firewall-mark service named before it an IPv6 one.
            guard let key = serviceKey, key.isFirewallMark else {
                throw .usage("-6 used before -f", detail: "-6 qualifies a firewall-mark service: write -f MARK -6")
            }
            serviceKey = ServiceKey(fwmark: key.fwmark, ipv6: true)
            return
        }
        guard let optionClass = option.optionClass else {
            // A command or -h/-v after the command: parse_options's default case.
            throw .usage("invalid option `\(spelled)'")
        }
        if let reason = option.unsupported { throw .usage(reason) }
        // set_option
        if options.contains(optionClass) { throw .usage("multiple '\(optionClass.name)' options specified") }
        options.insert(optionClass)
        let value = use.value?.text ?? ""
        switch option {
        case .tcpService, .udpService:
            let proto: TransportProtocol = option == .udpService ? .udp : .tcp
            guard let (address, port) = parseService(value, proto: proto) else {
                throw .usage("illegal virtual server address[:port] specified", detail: serviceDetail(value, proto: proto, what: "virtual service"))
            }
            serviceKey = ServiceKey(proto, address, port ?? 0)
        case .fwmarkService:
            guard let mark = strictness.number(value, in: 1...Int(Int32.max)) else {
                throw .usage("illegal fwmark specified", detail: "a firewall mark is a number from 1 to \(Int32.max), not '\(value)'")
            }
            serviceKey = ServiceKey(fwmark: UInt32(mark))
        case .onePacket:
            onePacket = true
        case .synProxy:
            guard let on = IPVSOption.synProxySetting(value) else {
                throw .usage("illegal synproxy value specified", detail: "-j takes enable or disable, not '\(value)'")
            }
            synProxy = on
        case .proxyProtocol:
            guard let setting = IPVSOption.proxyProtocolSetting(value) else {
                throw .usage("illegal proxy-protocol value specified", detail: IPVSOption.proxyProtocolRefusal(value))
            }
            proxyProtocol = setting
        case .toa:
            guard let on = IPVSOption.synProxySetting(value) else {
                throw .usage("illegal toa value specified", detail: "--toa takes enable or disable, not '\(value)'")
            }
            toa = on
        case .scheduler:
            scheduler = value
        case .persistent:
            persistence = use.value == nil ? Persistence.defaultTimeout
                : UInt32(try timeout(value, in: 1...RulesValues.maximumTimeout))
        case .netmask:
            if strictness.netmaskForTheLinesService {
                netmaskText = value
            } else {
                prefixLength = try netmask(value)
            }
        case .realServer:
            serverText = value
        case .masquerading: method = .nat
        case .ipip: method = .tunnel
        case .gatewaying: method = .directRouting
        case .fullNAT: method = .fullNAT
        case .weight:
            guard let w = strictness.number(value, in: 0...65535) else {
                throw .usage("illegal weight specified", detail: "a weight is a number from 0 to 65535, not '\(value)'")
            }
            weight = Int32(w)
        case .upperThreshold:
            guard let x = strictness.number(value, in: 0...Int(Int32.max)) else {
                throw .usage("illegal u_threshold specified", detail: "an upper threshold is a connection count from 0 to \(Int32.max), not '\(value)'")
            }
            upper = UInt32(x)
        case .lowerThreshold:
            guard let y = strictness.number(value, in: 0...Int(Int32.max)) else {
                throw .usage("illegal l_threshold specified", detail: "a lower threshold is a connection count from 0 to \(Int32.max), not '\(value)'")
            }
            lower = UInt32(y)
        case .numeric: format.numeric = true
        case .stats: format.stats = true
        case .rate: format.rate = true
        case .thresholds: format.thresholds = true
        case .persistentConnections: format.persistentConnections = true
        case .noSort: format.noSort = true
        case .exact: format.exact = true
        case .tunnelInfo: format.tunnelInfo = true
        case .connection, .timeout, .daemon, .interfaceName:
            break
        case .schedulerFlags:
            schedulerFlagsText = value
        case .tunnelType:
            guard let kind = TunnelSettings.Kind(name: value) else {
                throw .usage("illegal tunnel type specified", detail: "a tunnel type is ipip, gue or gre, not '\(value)'")
            }
            tunnel.kind = kind
        case .tunnelPort:
            guard let port = strictness.number(value, in: 1...65535) else {
                throw .usage("illegal tunnel port specified", detail: "a tunnel port is a number from 1 to 65535, not '\(value)'")
            }
            tunnel.port = UInt16(port)
        case .tunnelNoChecksum, .tunnelChecksum, .tunnelRemoteChecksum:
            let checksum: TunnelSettings.Checksum = option == .tunnelChecksum ? .checksum
                : option == .tunnelRemoteChecksum ? .remote : .none
            tunnel.checksum = checksum
        case .mcastInterface:
            daemon.interface = String(value.prefix(15))
        case .syncID:
            guard let id = strictness.number(value, in: 0...255) else {
                throw .usage("illegal syncid specified", detail: "a syncid is a number from 0 to 255, not '\(value)'")
            }
            daemon.syncID = UInt8(id)
        case .mcastGroup:
            guard let group = IPAddress(value), group.isIPv4 ? group.ipv4 >> 28 == 0xE : group.high >> 56 == 0xFF else {
                throw .usage(value.contains(":") ? "illegal IPv6 mcast-group specified" : "illegal IPv4 mcast-group specified",
                             detail: "a multicast group is an address such as 224.0.0.81, not '\(value)'")
            }
            daemon.group = group
        case .mcastPort:
            guard let port = strictness.number(value, in: 1...65535) else {
                throw .usage("illegal mcast-port specified", detail: "a port is a number from 1 to 65535, not '\(value)'")
            }
            daemon.port = UInt16(port)
        case .mcastTTL:
            guard let ttl = strictness.number(value, in: 1...255) else {
                throw .usage("illegal mcast-ttl specified", detail: "a TTL is a number from 1 to 255, not '\(value)'")
            }
            daemon.ttl = UInt8(ttl)
        case .syncMaxLength:
            guard let length = strictness.number(value, in: 1...(65535 - 20 - 8)) else {
                throw .usage("illegal sync-maxlen specified", detail: "sync-maxlen is a number of bytes from 1 to 65507, not '\(value)'")
            }
            daemon.maxLength = length
        case .localAddress:
            guard !value.contains(where: { $0 == "[" || $0 == "]" }), let address = IPAddress(value) else {
                throw .usage("illegal local address", detail: "a local address is a numeric IPv4 or IPv6 address, not '\(value)'")
            }
            localAddress = address
        default:
            throw .usage("invalid option `\(spelled)'")
        }
    }

    /// ipvsadm's `parse_service`: `ADDR`, `ADDR:PORT`, `[IPv6]:PORT` or a bare IPv6 address,
    /// the port a number or a service name for `proto`. A word of digits alone is no
    /// address, and host names are not looked up; `[IPv6]` without `:PORT` and port names
    /// of the other protocol are as `strictness` says.
    private func parseService(_ text: String, proto: TransportProtocol) -> (IPAddress, UInt16?)? {
        if text.isEmpty || text.allSatisfy(\.isASCIIDigit) { return nil }
        return try? values.addressAndPort(RulesToken(text: text, column: 1), what: "address", proto: proto)
    }

    /// Why `parseService` refused `text`, in SwiftLVS's words.
    private func serviceDetail(_ text: String, proto: TransportProtocol, what: String) -> String {
        if text.isEmpty { return "the \(what) is empty; write ADDRESS:PORT such as 198.18.0.10:80" }
        if text.allSatisfy(\.isASCIIDigit) { return "'\(text)' is a number, not an address; write ADDRESS:PORT such as 198.18.0.10:\(text)" }
        if text.hasPrefix("["), text.hasSuffix("]") { return "'\(text)' needs its port: write it as \(text):80" }
        do {
            _ = try values.addressAndPort(RulesToken(text: text, column: 1), what: what, proto: proto)
        } catch {
            return error.message
        }
        return "write the \(what) as ADDRESS:PORT or [IPv6]:PORT"
    }

    /// `parse_timeout`.
    private func timeout(_ text: String, in range: ClosedRange<Int>) throws(AdminError) -> Int {
        guard let value = strictness.number(text, in: range) else {
            throw .usage("invalid timeout value `\(text)' specified",
                         detail: "a timeout is a number of seconds from \(range.lowerBound) to \(range.upperBound) (31 days)")
        }
        return value
    }

    /// `-M`: a dotted mask for an IPv4 service (or before any service, as ipvsadm reads it
    /// with the family known so far), a prefix length 1...128 for an IPv6 one.
    private func netmask(_ text: String) throws(AdminError) -> Int {
        if let key = serviceKey, !key.address.isIPv4 {
            guard let length = strictness.number(text, in: 1...128) else {
                throw .usage("illegal ipv6 netmask specified", detail: "an IPv6 persistence mask is a prefix length from 1 to 128, not '\(text)'")
            }
            return length
        }
        do {
            return try values.prefixLength(RulesToken(text: text, column: 1), ipv6: false)
        } catch {
            throw .usage("illegal virtual server persistent mask specified", detail: error.message)
        }
    }

    // MARK: After the options: process_options

    private mutating func finish(_ command: IPVSCommand) throws(AdminError) -> LvsadmInvocation.Action {
        var timeouts: [UInt32] = []
        if command == .timeout {
            guard positional.count >= 3 else {
                throw .usage("--set option requires 3 timeout values", detail: "write --set TCP TCPFIN UDP in seconds; 0 keeps a value")
            }
            for text in positional.prefix(3) {
                timeouts.append(UInt32(try timeout(text, in: 0...RulesValues.maximumTimeout)))
            }
            positional.removeFirst(3)
        }
        if let extra = positional.first { throw .usage("unexpected argument \(extra)") }
        if let text = netmaskText { prefixLength = try netmask(text) }
        var flags: SchedulerFlags = []
        if let text = schedulerFlagsText { flags = try schedulerFlags(text, scheduler: scheduler ?? SchedulerKind.ipvsDefault.rawValue) }
        var server: (IPAddress, UInt16)?
        if let text = serverText {
            let proto = serviceKey?.proto ?? .tcp
            guard let (address, port) = parseService(text, proto: proto) else {
                throw .usage("illegal real server address[:port] specified", detail: serviceDetail(text, proto: proto, what: "real server"))
            }
            // "copy vport to dport if not specified"
            server = (address, port ?? serviceKey?.port ?? 0)
        }
        try checkOptions(command)

        switch command {
        case .addService, .editService:
            let key = serviceKey!
            if key.port == 0 && !key.isFirewallMark && persistence == nil {
                throw .usage("Zero port specified for non-persistent service",
                             detail: "service \(key) has port 0, which only a persistent service may have; give a port or add -p")
            }
            if synProxy == true && key.proto != .tcp {
                throw .usage("synproxy is for TCP services", detail: "the SYN proxy answers TCP handshakes; \(key) is not TCP")
            }
            if (proxyProtocol ?? nil) != nil && key.proto != .tcp {
                throw .usage("proxy-protocol is for TCP services",
                             detail: "a PROXY protocol header starts a TCP stream; \(key) is not TCP")
            }
            if toa == true && key.proto != .tcp {
                throw .usage("toa is for TCP services", detail: "TOA is a TCP option; \(key) is not TCP")
            }
            var settings = ServiceSettings(key: key, scheduler: scheduler ?? SchedulerKind.ipvsDefault.rawValue, flags: flags,
                                           persistence: persistence, prefixLength: prefixLength, onePacket: onePacket,
                                           synProxy: synProxy)
            settings.proxyProtocol = proxyProtocol.map { $0?.rawValue ?? 0 }
            settings.toa = toa
            return .change(command == .addService ? .addService(settings) : .editService(settings))
        case .deleteService:
            return .change(.deleteService(serviceKey!))
        case .flush:
            return .change(.clear)
        case .addServer, .editServer:
            let key = serviceKey!
            var (address, port) = server!
            if (method == .directRouting || method == .tunnel) && !key.isFirewallMark { port = key.port }
            if address.isIPv4 != key.address.isIPv4 && method != .tunnel {
                throw .usage("Different address family is allowed only for tunneling servers",
                             detail: "real server \(address) and service \(key) are of different address families; only tunnelling (-i) may mix them")
            }
            let tunnelOptions: Set<IPVSOptionClass> = [.tunnelType, .tunnelPort, .tunnelNoChecksum, .tunnelChecksum, .tunnelRemoteChecksum]
            if !options.isDisjoint(with: tunnelOptions) && method != .tunnel {
                throw .usage("Tunnel options conflict with forward method", detail: "--tun-type, --tun-port and the --tun-*csum options apply to tunnelling (-i) servers only")
            }
            if method == .tunnel {
                try checkTunnelOptions()
                if let problem = tunnel.problem { throw .usage("Tunnel options conflict", detail: problem) }
            }
            let settings = RealServerSettings(address: address, port: port, method: method, weight: weight,
                                              upperThreshold: upper, lowerThreshold: lower,
                                              tunnel: method == .tunnel ? tunnel : .ipip)
            return .change(command == .addServer ? .addServer(key, settings) : .editServer(key, settings))
        case .deleteServer:
            let (address, port) = server!
            return .change(.deleteServer(serviceKey!, address: address, port: port))
        case .timeout:
            return .change(.setTimeouts(tcp: timeouts[0], tcpFin: timeouts[1], udp: timeouts[2]))
        case .zero:
            return .change(.zero(serviceKey))
        case .addLocalAddress:
            return .change(.addLocalAddress(serviceKey!, localAddress!))
        case .deleteLocalAddress:
            return .change(.deleteLocalAddress(serviceKey!, localAddress!))
        case .getLocalAddresses:
            return .getLocalAddresses(serviceKey)
        case .restore:
            return .restore
        case .reload:
            return .reload
        case .health:
            return .health
        case .vrrp:
            return .vrrp
        case .save:
            return .save(numeric: format.numeric)
        case .list:
            return .list(try listing())
        case .startDaemon:
            return .startDaemon(daemon)
        case .stopDaemon:
            return .stopDaemon(daemon.role)
        }
    }

    /// `generic_opt_check`: in column order, a missing '+' or a present 'x' fails, and a
    /// second '1' conflicts with the first.
    private func checkOptions(_ command: IPVSCommand) throws(AdminError) {
        var exclusive: IPVSOptionClass?
        for column in IPVSOptionClass.allCases {
            let rule = command.rule(column)
            if !options.contains(column) {
                if rule == "+" {
                    throw .usage("You need to supply the '\(column.name)' option for the '\(command.name)' command")
                }
                continue
            }
            if rule == "x" {
                throw .usage("Illegal '\(column.name)' option with the '\(command.name)' command")
            }
            if rule == "1" {
                if let first = exclusive {
                    throw .usage("The option '\(column.name)' conflicts with the '\(first.name)' option in the '\(command.name)' command")
                }
                exclusive = column
            }
        }
    }

    /// `parse_sched_flags` for `-b` on -A/-E: flag-1..3 for any scheduler, sh-*/mh-* only
    /// with their scheduler.
    private func schedulerFlags(_ text: String, scheduler: String) throws(AdminError) -> SchedulerFlags {
        var flags: SchedulerFlags = []
        let names = text.split(separator: ",", omittingEmptySubsequences: strictness.emptyListItems)
        if names.isEmpty { throw .usage("invalid scheduler flag `\(text)'") }
        for name in names.map(String.init) {
            guard let (flag, owner) = SchedulerFlagNames.named(name) else {
                let known = SchedulerFlagNames.table.map(\.name).joined(separator: ", ")
                throw .usage("invalid scheduler flag `\(name)'", detail: "known scheduler flags: \(known)")
            }
            if let owner, owner != scheduler {
                throw .usage("incompatible scheduler flag `\(name)'", detail: "\(name) belongs to the \(owner) scheduler, but the service uses \(scheduler)")
            }
            flags.insert(flag)
        }
        return flags
    }

    /// The CMD_LIST branch of `process_options`.
    private func listing() throws(AdminError) -> ListingRequest {
        if (options.contains(where: { [.connection, .timeout, .daemon].contains($0) })
            && options.contains(where: { [.stats, .rate, .thresholds].contains($0) }))
            || (options.contains(where: { [.timeout, .daemon].contains($0) }) && options.contains(.persistentConnections)) {
            throw .usage("options conflicts in the list command")
        }
        let subject: ListingRequest.Subject
        if options.contains(.connection) {
            subject = .connections
        } else if let key = serviceKey {
            subject = .service(key)
        } else if options.contains(.timeout) {
            subject = .timeouts
        } else if options.contains(.daemon) {
            subject = .daemon
        } else {
            subject = .services
        }
        return ListingRequest(subject: subject, format: format)
    }
}

extension Parser {
    /// ipvsadm's `tunnel_opt_check` over `tunnel_types_v_options`: per tunnel type, which of
    /// --tun-port, --tun-nocsum, --tun-csum, --tun-remcsum is required ('+'), illegal ('x')
    /// or one of a set ('1').
    static let tunnelOptionRules: [(IPVSOptionClass, [TunnelSettings.Kind: Character])] = [
        (.tunnelPort, [.ipip: "x", .gue: "+", .gre: "x"]),
        (.tunnelNoChecksum, [.ipip: "x", .gue: "1", .gre: "1"]),
        (.tunnelChecksum, [.ipip: "x", .gue: "1", .gre: "1"]),
        (.tunnelRemoteChecksum, [.ipip: "x", .gue: "1", .gre: "x"]),
    ]

    func checkTunnelOptions() throws(AdminError) {
        let kind = tunnel.kind
        var first: IPVSOptionClass?
        for (option, rules) in Self.tunnelOptionRules {
            let rule = rules[kind] ?? " "
            guard options.contains(option) else {
                if rule == "+" {
                    throw .usage("You need to supply the '\(option.name)' option for the '\(kind)' tunnel type",
                                 detail: "a GUE real server is reached at its GUE port: add --tun-port PORT")
                }
                continue
            }
            if rule == "x" {
                throw .usage("Illegal '\(option.name)' option with the '\(kind)' tunnel type",
                             detail: tunnel.problem ?? "drop --\(option.name) or choose another --tun-type")
            }
            if rule == "1" {
                if let first {
                    throw .usage("The option '\(option.name)' conflicts with the '\(first.name)' option in the '\(kind)' tunnel type",
                                 detail: "give one of --tun-nocsum, --tun-csum and --tun-remcsum")
                }
                first = option
            }
        }
    }
}
