import Core
import Wire

/// A `virtual_server` read into the model, with what the director mapping needs to
/// place its errors and resolve ports per service.
struct ParsedVirtualServer {
    var model: KeepalivedVirtualServer
    /// The addresses and ports it serves: one for `virtual_server IP PORT`, the group's otherwise.
    var members: [ServerGroup.Member]
    /// Parallel to `model.realServers`.
    var realServers: [RealServerSite]
    /// `persistence_granularity` as written, resolved per member's address family.
    var granularity: KeepalivedWord?
    var localAddressGroup: KeepalivedWord?
    /// Where `syn_proxy` was written, when it was.
    var synProxy: ConfigLocation? = nil
}

/// Where a real server was written and the port it was given (nil: none, or 0).
struct RealServerSite {
    var address: KeepalivedWord
    var port: UInt16?
    var portWord: KeepalivedWord?
}

extension KeepalivedParser {
    static let virtualServerUsage = "virtual_server IP [PORT] { ... } or virtual_server group NAME { ... }"

    /// Every keyword `virtual_server` reads (check_parser.c `init_check_keywords` and DPVS's
    /// `laddr_group_name`, `daddr_group_name`, `waddr_group_name`).
    static let virtualServerKeywords: Set<String> = [
        "ip_family", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "inhibit_on_failure",
        "lb_algo", "lvs_sched", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback",
        "lb_kind", "lvs_method", "persistence_timeout", "persistence_granularity", "protocol", "virtualhost", "alpha",
        "omega", "quorum_up", "quorum_down", "quorum", "hysteresis", "weight", "sorry_server", "sorry_server_inhibit",
        "sorry_server_lvs_method", "real_server", "laddr_group_name", "daddr_group_name", "waddr_group_name", "ops",
        "syn_proxy", "proxy_protocol", "toa",
    ]

    /// Reads one `virtual_server` block; nil when it has no real servers (keepalived's
    /// `vs_end_handler` drops it with a complaint, and lvsd does the same with a warning).
    mutating func parseVirtualServer(_ statement: KeepalivedStatement) throws(ConfigError) -> ParsedVirtualServer? {
        let usage = Self.virtualServerUsage
        let header = try statement.argumentsAllowingBlock(1...2, usage)
        var members: [ServerGroup.Member]
        var model: KeepalivedVirtualServer
        switch header[0].text {
        case "fwmark":
            guard header.count == 2 else {
                throw header[0].location.error("'virtual_server fwmark' needs the mark, e.g. 'virtual_server fwmark 1'")
            }
            let mark = UInt32(try KeepalivedValues.number(header[1], in: 1...UInt64(Int32.max), what: "fwmark"))
            members = [ServerGroup.Member(address: IPAddress(ipv4: 0), port: 0, word: header[0], fwmark: mark)]
            model = KeepalivedVirtualServer(address: .fwmark(mark), services: [])
        case "group":
            guard header.count == 2 else {
                throw header[0].location.error("'virtual_server group' needs the name of a virtual_server_group")
            }
            guard let group = serverGroups[header[1].text] else {
                let declared = serverGroups.keys.sorted().joined(separator: ", ")
                throw header[1].location.error("no virtual_server_group named '\(header[1].text)'\(declared.isEmpty ? "" : " (declared: \(declared))")")
            }
            members = group.members
            model = KeepalivedVirtualServer(address: .group(group.name.text), services: [])
        default:
            let address = try KeepalivedValues.address(header[0], what: "virtual server")
            let port = try header.count > 1 ? KeepalivedValues.port(header[1], what: "virtual server") : 0
            members = [ServerGroup.Member(address: address, port: port, word: header[0])]
            model = KeepalivedVirtualServer(address: .endpoint(address, port), services: [])
        }
        let block = try statement.contents("virtual_server IP [PORT]")
        // A firewall-mark service has no address to tell its family: the group's addresses
        // do, else `ip_family` (keepalived's default, inet, otherwise).
        let ipv4 = members.first { $0.fwmark == 0 }?.address.isIPv4
            ?? !block.contains(where: { $0.name == "ip_family" && $0.arguments.first?.text == "inet6" })
        if !ipv4 {
            for i in members.indices where members[i].fwmark != 0 { members[i].address = .zero }
        }

        var protocolWritten = false
        var schedulerWord: KeepalivedWord?
        var flagWords: [KeepalivedWord] = []
        var methodWritten: ForwardingMethod?
        var tunnelWritten = TunnelSettings.ipip
        var persistenceTimeout: UInt32?
        var granularity: KeepalivedWord?
        var localAddressGroup: KeepalivedWord?
        var sorry: KeepalivedStatement?
        var sorryInhibit: KeepalivedStatement?
        var sorryMethod: (KeepalivedStatement, ForwardingMethod)?
        var quorumWritten = false
        var realServerStatements: [KeepalivedStatement] = []
        var synProxyAt: ConfigLocation?
        var clientAddressAt: (ConfigLocation, String)?

        for option in block {
            switch option.name {
            case "ip_family":
                let word = try option.value("ip_family inet|inet6")
                guard word.text == "inet" || word.text == "inet6" else {
                    throw word.location.error("unknown address family '\(word.text)'; give inet or inet6")
                }
                if (word.text == "inet") != ipv4 {
                    throw word.location.error("ip_family \(word.text) does not match the virtual server's \(ipv4 ? "IPv4" : "IPv6") address")
                }
            case "retry":
                model.checkerDefaults.retry = UInt32(try KeepalivedValues.number(option.value("retry N"), in: 1...UInt64(UInt32.max), what: "retry"))
            case "delay_before_retry":
                model.checkerDefaults.delayBeforeRetry = try KeepalivedValues.timer(option.value("delay_before_retry SECONDS"), what: "delay_before_retry")
            case "warmup":
                model.checkerDefaults.warmup = try KeepalivedValues.timer(option.value("warmup SECONDS"), what: "warmup")
            case "connect_timeout":
                model.checkerDefaults.connectTimeout = try Self.connectTimeout(option)
            case "delay_loop":
                model.checkerDefaults.delayLoop = try Self.delayLoop(option)
            case "inhibit_on_failure":
                model.inhibitOnFailure = try option.flag("inhibit_on_failure [BOOL]")
            case "lb_algo", "lvs_sched":
                schedulerWord = try option.value("\(option.name) rr|wrr|lc|wlc|lblc|sh|mh|dh|fo|ovf|lblcr|sed|nq|twos")
            case "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback":
                try option.bare(option.name)
                flagWords.append(option.keyword)
            case "lb_kind", "lvs_method":
                (methodWritten, tunnelWritten) = try Self.forwarding(option)
            case "persistence_timeout":
                let word = try option.arguments(0...1, "persistence_timeout [SECONDS]").first
                persistenceTimeout = try word.map { w throws(ConfigError) in
                    UInt32(try KeepalivedValues.number(w, in: 1...UInt64(RulesValues.maximumTimeout), what: "persistence timeout"))
                } ?? KeepalivedDefaults.persistenceTimeout
            case "persistence_granularity":
                granularity = try option.value(ipv4 ? "persistence_granularity NETMASK" : "persistence_granularity PREFIX-LENGTH")
            case "ops":
                _ = try option.arguments(0...0, "ops")
                model.onePacket = true
            case "protocol":
                let word = try option.value("protocol TCP|UDP")
                switch word.text.uppercased() {
                case "TCP": model.proto = .tcp
                case "UDP": model.proto = .udp
                case "SCTP": throw word.location.error("SCTP services are not supported by lvsd; give TCP or UDP")
                default: throw word.location.error("unknown protocol '\(word.text)'; give TCP or UDP")
                }
                protocolWritten = true
            case "syn_proxy":
                model.synProxy = try option.flag("syn_proxy [on|off]")
                synProxyAt = option.location
            case "proxy_protocol":
                // DPVS's keepalived: `proxy_protocol v1|v2|v1-insecure|v2-insecure|disable`.
                let word = try option.value("proxy_protocol v1|v2|disable")
                guard let setting = IPVSOption.proxyProtocolSetting(word.text) else {
                    throw word.location.error(word.text.lowercased().hasSuffix("-insecure")
                        ? "proxy_protocol \(word.text) (keeping a client's own header) is not supported; give v1, v2 or disable"
                        : "unknown proxy_protocol '\(word.text)'; give v1, v2 or disable")
                }
                model.proxyProtocol = setting
                if setting != nil { clientAddressAt = (option.location, "proxy_protocol") }
            case "toa":
                model.toa = try option.flag("toa [on|off]")
                if model.toa && clientAddressAt == nil { clientAddressAt = (option.location, "toa") }
            case "virtualhost":
                model.virtualhost = try option.value("virtualhost NAME").text
            case "alpha":
                model.alpha = try option.flag("alpha")
                model.checkerDefaults.alpha = model.alpha
            case "omega":
                model.omega = try option.flag("omega")
            case "quorum_up":
                model.quorumUp = try Self.script(option)
            case "quorum_down":
                model.quorumDown = try Self.script(option)
            case "quorum":
                model.quorum = UInt32(try KeepalivedValues.number(option.value("quorum N"), in: 1...UInt64(UInt32.max), what: "quorum"))
                quorumWritten = true
            case "hysteresis":
                model.hysteresis = UInt32(try KeepalivedValues.number(option.value("hysteresis N"), in: 0...UInt64(UInt32.max), what: "hysteresis"))
            case "weight":
                model.weight = Int32(try KeepalivedValues.number(option.value("weight N"), in: 1...65535, what: "virtual server weight"))
            case "sorry_server":
                _ = try option.arguments(1...2, "sorry_server IP [PORT]")
                sorry = option
            case "sorry_server_inhibit":
                if try option.flag("sorry_server_inhibit") { sorryInhibit = option }
            case "sorry_server_lvs_method":
                sorryMethod = (option, try Self.forwardingMethod(option))
            case "real_server":
                realServerStatements.append(option)
            case "laddr_group_name":
                localAddressGroup = try option.value("laddr_group_name NAME")
            case "daddr_group_name", "waddr_group_name":
                try checkAccessGroup(option)
            case let name where KeepalivedKeywords.rejectedVirtualServer[name] != nil:
                throw option.location.error("'\(name)' is refused: \(KeepalivedKeywords.rejectedVirtualServer[name]!)")
            case let name where KeepalivedKeywords.ignoredVirtualServer[name] != nil:
                warnings.append(option.location.warning("virtual_server option '\(name)' is ignored: \(KeepalivedKeywords.ignoredVirtualServer[name]!)"))
            default:
                let known = Self.virtualServerKeywords.union(KeepalivedKeywords.ignoredVirtualServer.keys).union(KeepalivedKeywords.rejectedVirtualServer.keys)
                throw KeepalivedKeywords.unknown(option, in: "virtual_server", known: known.sorted())
            }
        }

        if !protocolWritten {
            warnings.append(statement.location.warning("virtual_server \(header.map(\.text).joined(separator: " ")) gives no 'protocol'; lvsd uses TCP (keepalived 2.x would use UDP and complain); write 'protocol TCP' to be explicit"))
        }
        if let schedulerWord {
            guard let kind = SchedulerKind(rawValue: schedulerWord.text) else {
                let known = SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw schedulerWord.location.error("unknown scheduler '\(schedulerWord.text)' (known: \(known))")
            }
            model.scheduler = kind
        }
        for word in flagWords {
            guard let (flag, owner) = SchedulerFlagNames.named(word.text) else {
                throw KeepalivedKeywords.unknown(KeepalivedStatement(keyword: word), in: "virtual_server", known: Self.virtualServerKeywords)
            }
            if let owner, owner != model.scheduler.rawValue {
                throw word.location.error("scheduler flag '\(word.text)' belongs to the \(owner) scheduler, but this virtual_server uses \(model.scheduler.rawValue)")
            }
            model.schedulerFlags.insert(flag)
        }
        model.method = methodWritten ?? .nat
        model.tunnel = tunnelWritten
        if granularity != nil, persistenceTimeout == nil {
            // keepalived's pgr_handler: a granularity makes the service persistent.
            persistenceTimeout = KeepalivedDefaults.persistenceTimeout
        }
        if let timeout = persistenceTimeout {
            let length = try granularity.map { word throws(ConfigError) in try Self.prefixLength(word, ipv4: ipv4) } ?? (ipv4 ? 32 : 128)
            model.persistence = Persistence(timeout: timeout, prefixLength: length)
        }
        model.localAddressGroup = localAddressGroup?.text

        var sites: [RealServerSite] = []
        for realServerStatement in realServerStatements {
            let (realServer, site) = try parseRealServer(realServerStatement, of: model)
            model.realServers.append(realServer)
            sites.append(site)
        }

        if let sorryStatement = sorry {
            model.sorryServer = try sorryServer(sorryStatement, method: sorryMethod?.1 ?? model.method, inhibit: sorryInhibit != nil,
                                                vsPort: members.count == 1 ? members[0].port : nil, ipv4: ipv4)
        } else if let stray = sorryInhibit ?? sorryMethod?.0 {
            throw stray.location.error("'\(stray.name)' is given without a sorry_server; add 'sorry_server IP [PORT]'")
        }

        guard !model.realServers.isEmpty else {
            warnings.append(statement.location.warning("virtual_server \(header.map(\.text).joined(separator: " ")) has no real servers; keepalived ignores it, and so does lvsd"))
            return nil
        }

        // keepalived's validate_check_config: the quorum cannot exceed the total weight,
        // and the hysteresis must stay below the quorum.
        let totalWeight = model.realServers.reduce(UInt64(0)) { $0 + UInt64(max(0, $1.weight)) }
        if UInt64(model.quorum) > totalWeight {
            let at = quorumWritten ? block.last { $0.name == "quorum" }!.location : statement.location
            warnings.append(at.warning("quorum \(model.quorum) exceeds the real servers' total weight \(totalWeight); lowering it to \(totalWeight), as keepalived does"))
            model.quorum = UInt32(totalWeight)
        }
        if model.hysteresis >= model.quorum, model.hysteresis > 0 {
            let lowered = model.quorum == 0 ? 0 : model.quorum - 1
            let at = block.last { $0.name == "hysteresis" }?.location ?? statement.location
            warnings.append(at.warning("hysteresis \(model.hysteresis) is not below the quorum \(model.quorum); lowering it to \(lowered), as keepalived does"))
            model.hysteresis = lowered
        }
        if model.synProxy, let at = synProxyAt {
            guard model.proto == .tcp else {
                throw at.error("syn_proxy answers TCP handshakes; this virtual server is UDP")
            }
            // The director must see the real server's replies to translate their sequence numbers.
            if let rs = model.realServers.first(where: { $0.method == .directRouting || $0.method == .tunnel }) {
                let method = rs.method == .tunnel ? "TUN" : "DR"
                throw at.error("syn_proxy needs NAT or FNAT real servers: real server \(rs.address) uses \(method), whose replies bypass the director, so their sequence numbers could not be translated")
            }
        }
        if let (at, keyword) = clientAddressAt, model.proxyProtocol != nil || model.toa {
            guard model.proto == .tcp else {
                throw at.error("\(keyword) writes the client's address into a TCP stream; this virtual server is UDP")
            }
            if let rs = model.realServers.first(where: { $0.method == .directRouting || $0.method == .tunnel }) {
                let method = rs.method == .tunnel ? "TUN" : "DR"
                throw at.error("\(keyword) needs NAT or FNAT real servers: real server \(rs.address) uses \(method), whose replies bypass the director, so the bytes it inserts could not be taken back out of the acknowledgments")
            }
        }
        return ParsedVirtualServer(model: model, members: members, realServers: sites, granularity: granularity,
                                   localAddressGroup: localAddressGroup, synProxy: synProxyAt)
    }

    // MARK: Shared values

    /// `connect_timeout`: at least a microsecond, at most `UINT_MAX` microseconds (check_parser.c).
    static func connectTimeout(_ option: KeepalivedStatement) throws(ConfigError) -> Duration {
        try KeepalivedValues.timer(option.value("connect_timeout SECONDS"), minimum: 1, maximum: Int64(UInt32.max), what: "connect_timeout")
    }

    /// `delay_loop`: at least a microsecond.
    static func delayLoop(_ option: KeepalivedStatement) throws(ConfigError) -> Duration {
        try KeepalivedValues.timer(option.value("delay_loop SECONDS"), minimum: 1, what: "delay_loop")
    }

    /// `lb_kind` / `lvs_method` / `sorry_server_lvs_method`: NAT, DR, TUN, and DPVS's FNAT
    /// (also spelled FULLNAT) for FullNAT (check_parser.c `svr_forwarding_handler`).
    /// A sorry server is reached by IPIP only (lvsd keeps no tunnel settings for it).
    static func forwardingMethod(_ option: KeepalivedStatement) throws(ConfigError) -> ForwardingMethod {
        let (method, tunnel) = try forwarding(option)
        guard tunnel == .ipip else {
            throw option.keyword.location.error("'\(option.name)' takes no GUE or GRE tunnel options in lvsd; a TUN sorry server is reached by IPIP")
        }
        return method
    }

    /// The method and, for TUN, keepalived's tunnel words after it:
    /// `TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]` (ipvsadm's `--tun-type`,
    /// `--tun-port`, `--tun-*csum`), each refused at its own column when it does not fit.
    static func forwarding(_ option: KeepalivedStatement) throws(ConfigError) -> (method: ForwardingMethod, tunnel: TunnelSettings) {
        let usage = "\(option.name) NAT|DR|TUN|FNAT"
        let words = try option.arguments(1...6, usage)
        let method: ForwardingMethod
        switch words[0].text {
        case "NAT": method = .nat
        case "DR": method = .directRouting
        case "TUN": method = .tunnel
        case "FNAT", "FULLNAT": method = .fullNAT
        case "SNAT": throw words[0].location.error("DPVS's SNAT forwarding is not supported by lvsd; give NAT, DR, TUN or FNAT")
        default:
            let hint = ["NAT", "DR", "TUN", "FNAT", "FULLNAT"].first { $0 == words[0].text.uppercased() }.map { "; keepalived spells it \($0)" } ?? ""
            throw words[0].location.error("unknown forwarding method '\(words[0].text)'; give NAT, DR, TUN or FNAT\(hint)")
        }
        var tunnel = TunnelSettings.ipip
        var last = words[0]
        var checksumWord: KeepalivedWord?
        var index = 1
        while index < words.count {
            let word = words[index]
            last = word
            guard method == .tunnel else {
                throw word.location.error("unexpected '\(word.text)' after '\(option.name) \(words[0].text)'; only TUN takes tunnel options")
            }
            switch word.text {
            case "type":
                guard index + 1 < words.count else { throw word.location.error("'type' needs a tunnel type after it: ipip, gue or gre") }
                let type = words[index + 1]
                guard let kind = TunnelSettings.Kind(name: type.text) else {
                    throw type.location.error("tunnel type '\(type.text)' is not one of ipip, gue and gre")
                }
                tunnel.kind = kind
                last = type
                index += 2
            case "port":
                guard index + 1 < words.count else { throw word.location.error("'port' needs the real server's GUE port after it") }
                tunnel.port = try KeepalivedValues.port(words[index + 1], what: "tunnel")
                last = words[index + 1]
                index += 2
            case "nocsum", "csum", "remcsum":
                if let checksumWord {
                    throw word.location.error("'\(word.text)' conflicts with '\(checksumWord.text)'; give one checksum option")
                }
                checksumWord = word
                tunnel.checksum = TunnelSettings.Checksum.allCases.first { $0.description == word.text } ?? .none
                index += 1
            default:
                throw word.location.error("unknown tunnel option '\(word.text)'; write '\(option.name) TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]'")
            }
        }
        if method == .tunnel, let problem = tunnel.problem {
            throw (checksumWord ?? last).location.error(problem.replacingOccurrences(of: "--tun-type ", with: "type ")
                .replacingOccurrences(of: "--tun-port PORT", with: "port N").replacingOccurrences(of: "--tun-", with: ""))
        }
        return (method, tunnel)
    }

    /// `persistence_granularity`: an IPv4 netmask (contiguous, as the rules file's -M) or
    /// an IPv6 prefix length 1-128.
    static func prefixLength(_ word: KeepalivedWord, ipv4: Bool) throws(ConfigError) -> Int {
        let values = RulesValues(location: RulesLocation(file: word.location.file, line: word.location.line))
        return try values.prefixLength(RulesToken(text: word.text, column: word.location.column), ipv6: !ipv4)
    }

    /// A script keyword: `KEYWORD COMMAND [USER [[:]GROUP]]`.
    static func script(_ option: KeepalivedStatement) throws(ConfigError) -> KeepalivedScript {
        let words = try option.arguments(1...3, "\(option.name) \"COMMAND [ARGS]\" [USER [[:]GROUP]]")
        guard !words[0].text.isEmpty else { throw words[0].location.error("'\(option.name)' has an empty command") }
        return KeepalivedScript(command: words[0].text, user: words.count > 1 ? words[1].text : nil, group: words.count > 2 ? words[2].text : nil)
    }

    // MARK: Sorry server and DPVS access lists

    private mutating func sorryServer(_ option: KeepalivedStatement, method: ForwardingMethod, inhibit: Bool, vsPort: UInt16?,
                                      ipv4: Bool) throws(ConfigError) -> KeepalivedSorryServer
    {
        let words = option.arguments
        let address = try KeepalivedValues.address(words[0], what: "sorry server")
        if address.isIPv4 != ipv4, method != .tunnel {
            throw words[0].location.error("sorry server \(address) is \(address.isIPv4 ? "IPv4" : "IPv6") but the virtual server is \(ipv4 ? "IPv4" : "IPv6"); only a TUN sorry server may differ")
        }
        let written = try words.count > 1 ? KeepalivedValues.port(words[1], what: "sorry server") : 0
        var port = written
        if let vsPort, written == 0 || method == .directRouting || method == .tunnel {
            if written != 0, written != vsPort {
                warnings.append(words[1].location.warning("sorry server \(address) port \(written) differs from the virtual server's \(vsPort); \(method == .tunnel ? "TUN" : "DR") cannot change the port, so it is \(vsPort), as keepalived resets it"))
            }
            port = vsPort
        }
        return KeepalivedSorryServer(address: address, port: port, method: method, inhibit: inhibit)
    }

    /// DPVS's `daddr_group_name` / `waddr_group_name` name a deny or allow list; lvsd has
    /// no access lists, so only an empty one (which changes nothing) is accepted.
    private mutating func checkAccessGroup(_ option: KeepalivedStatement) throws(ConfigError) {
        let word = try option.value("\(option.name) NAME")
        let kind = option.name == "daddr_group_name" ? "deny_address_group" : "allow_address_group"
        guard let group = accessGroups[kind + " " + word.text] else {
            throw word.location.error("no \(kind) named '\(word.text)'")
        }
        guard group.block?.isEmpty ?? true else {
            throw option.location.error("'\(option.name)' names the non-empty \(kind) \(word.text), but lvsd has no access lists; remove it or empty the group")
        }
        warnings.append(option.location.warning("'\(option.name) \(word.text)' names an empty \(kind); it changes nothing and is ignored"))
    }
}
