import Core
import Wire

/// Interprets the statement tree of keepalived.conf, top level and `global_defs`; the
/// other blocks have their own files (`+VirtualServer`, `+RealServer`, `+Checker`,
/// `+Groups`, `+Director`).
///
/// Two passes: groups, `global_defs` and `lvsd_director` first, then every
/// `virtual_server`, so a virtual server may name a group declared after it, as in
/// keepalived (which resolves groups after reading the whole file).
struct KeepalivedParser {
    var warnings: [ConfigWarning] = []
    var globalDefs = KeepalivedGlobalDefs()
    var vrrp = KeepalivedVRRP()
    var ssl: KeepalivedSSLContext?
    /// `virtual_server_group`s by name.
    var serverGroups: [String: ServerGroup] = [:]
    /// DPVS `local_address_group`s by name.
    var localAddressGroups: [String: LocalAddressGroup] = [:]
    /// DPVS `deny_address_group` / `allow_address_group` blocks by name.
    var accessGroups: [String: KeepalivedStatement] = [:]
    /// `lvsd_director` lines and `lvs_timeouts`, applied with the rules file's own code.
    var director = RulesBuilder()
    /// `lvsd_director`'s metrics and monitor lines.
    var monitor = KeepalivedMonitor()
    var timeouts: (tcp: UInt32, tcpFin: UInt32, udp: UInt32) = (0, 0, 0)

    static let topLevelKeywords: Set<String> = ["global_defs", "virtual_server", "virtual_server_group", "local_address_group",
                                                "deny_address_group", "allow_address_group", "lvsd_director", "SSL"]

    mutating func parse(_ statements: [KeepalivedStatement]) throws(ConfigError) -> KeepalivedConfig {
        var virtualServerStatements: [KeepalivedStatement] = []
        for statement in statements {
            switch statement.name {
            case "global_defs": try parseGlobalDefs(statement)
            case "virtual_server": virtualServerStatements.append(statement)
            case "virtual_server_group": try parseServerGroup(statement)
            case "local_address_group": try parseLocalAddressGroup(statement)
            case "deny_address_group", "allow_address_group": try parseAccessGroup(statement)
            case "lvsd_director": try parseDirector(statement)
            case "SSL": try parseSSL(statement)
            case let name where KeepalivedKeywords.vrrpBlocks.contains(name):
                keepVRRP(statement)
            case let name where KeepalivedKeywords.ignoredTopLevel[name] != nil:
                warnings.append(statement.location.warning("'\(name)' is ignored: \(KeepalivedKeywords.ignoredTopLevel[name]!)"))
            default:
                let known = Self.topLevelKeywords.union(KeepalivedKeywords.vrrpBlocks).union(KeepalivedKeywords.ignoredTopLevel.keys)
                throw KeepalivedKeywords.unknown(statement, in: "the top level", known: known.sorted())
            }
        }
        director.setTimeouts(tcp: timeouts.tcp, tcpFin: timeouts.tcpFin, udp: timeouts.udp)

        var mapping = KeepalivedDirectorMapping(config: director.config)
        var virtualServers: [KeepalivedVirtualServer] = []
        for statement in virtualServerStatements {
            guard let parsed = try parseVirtualServer(statement) else { continue }
            virtualServers.append(try mapping.add(parsed, localAddresses: localAddresses(for: parsed), warnings: &warnings))
        }

        var config = KeepalivedConfig(director: mapping.config, globalDefs: globalDefs, virtualServers: virtualServers, ssl: ssl,
                                      vrrp: vrrp, warnings: warnings)
        config.monitor = monitor
        return config
    }

    // MARK: VRRP and SSL

    private mutating func keepVRRP(_ statement: KeepalivedStatement) {
        switch statement.name {
        case "vrrp_instance": vrrp.instances.append(statement)
        case "vrrp_sync_group": vrrp.syncGroups.append(statement)
        case "vrrp_script": vrrp.scripts.append(statement)
        default: vrrp.other.append(statement)
        }
        // lvsd run runs vrrp_instance, vrrp_script and vrrp_sync_group (VRRPRuntime); the rest is kept only.
        guard !["vrrp_instance", "vrrp_sync_group", "vrrp_script"].contains(statement.name) else { return }
        let name = statement.arguments.first.map { " \($0.text)" } ?? ""
        warnings.append(statement.location.warning("'\(statement.name)\(name)' is kept but not run: lvsd runs only vrrp_instance, vrrp_script and vrrp_sync_group blocks"))
    }

    private mutating func parseSSL(_ statement: KeepalivedStatement) throws(ConfigError) {
        _ = try statement.argumentsAllowingBlock(0...0, "SSL")
        var context = KeepalivedSSLContext()
        for option in try statement.contents("SSL") {
            switch option.name {
            case "password": context.password = try option.value("password STRING").text
            case "ca": context.caFile = try option.value("ca FILE").text
            case "certificate": context.certificateFile = try option.value("certificate FILE").text
            case "key": context.keyFile = try option.value("key FILE").text
            default: throw KeepalivedKeywords.unknown(option, in: "SSL", known: ["password", "ca", "certificate", "key"])
            }
        }
        ssl = context
    }

    // MARK: global_defs

    private mutating func parseGlobalDefs(_ statement: KeepalivedStatement) throws(ConfigError) {
        _ = try statement.argumentsAllowingBlock(0...0, "global_defs")
        for option in try statement.contents("global_defs") {
            globalDefs.options.append(option)
            switch option.name {
            case "router_id", "lvs_id":
                globalDefs.routerID = try option.value("router_id NAME").text
            case "lvs_timeouts":
                try parseTimeouts(option)
            case "lvs_sync_daemon":
                try parseSyncDaemon(option)
            // Read by the health plan (KeepalivedHealth) from `globalDefs.options`; checked here.
            case "script_user":
                _ = try option.arguments(1...2, "script_user USER [GROUP]")
            case "enable_script_security":
                _ = try option.arguments(0...0, "enable_script_security")
            case let name where KeepalivedKeywords.globalDefs.contains(name):
                warnings.append(option.location.warning("global_defs option '\(name)' is ignored: \(KeepalivedKeywords.globalDefsReason(name))"))
            default:
                throw KeepalivedKeywords.unknown(option, in: "global_defs", known: KeepalivedKeywords.globalDefs.sorted())
            }
        }
    }

    /// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`
    /// (global_parser.c `lvs_syncd_handler`): the connection-sync daemon's settings. lvsd
    /// starts it as backup; the instance's VRRP state is to move it (Daemon.setSyncRole).
    /// lvsd adds `refresh SECONDS` and `relearn SECONDS` (Docs/connection-sync.md, "Failback").
    private mutating func parseSyncDaemon(_ option: KeepalivedStatement) throws(ConfigError) {
        let usage = "lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDRESS] [refresh SECONDS] [relearn SECONDS]"
        let keys = ["id", "maxlen", "port", "ttl", "group", "refresh", "relearn"]
        let words = try option.arguments(1...16, usage)
        var settings = SyncDaemonSettings(role: .backup, interface: words[0].text)
        var instance = ""
        var failback = SyncFailbackSettings()
        var relearnWord: KeepalivedWord?
        var index = 1
        if index < words.count, !keys.contains(words[index].text) {
            instance = words[index].text
            index += 1
        }
        while index < words.count {
            let key = words[index]
            guard keys.contains(key.text) else {
                throw key.location.error("unexpected '\(key.text)' in lvs_sync_daemon; write '\(usage)'")
            }
            guard index + 1 < words.count else { throw key.location.error("'\(key.text)' in lvs_sync_daemon needs a value after it") }
            let value = words[index + 1]
            switch key.text {
            case "id": settings.syncID = UInt8(try KeepalivedValues.number(value, in: 0...255, what: "sync id"))
            case "maxlen": settings.maxLength = Int(try KeepalivedValues.number(value, in: 1...65507, what: "sync maxlen"))
            case "port": settings.port = UInt16(try KeepalivedValues.number(value, in: 1...65535, what: "sync port"))
            case "ttl": settings.ttl = UInt8(try KeepalivedValues.number(value, in: 1...255, what: "sync ttl"))
            case "refresh": failback.refreshPeriod = UInt64(try KeepalivedValues.number(value, in: 1...3600, what: "sync refresh period (seconds)")) * 1_000_000_000
            case "relearn":
                failback.relearnPeriod = UInt64(try KeepalivedValues.number(value, in: 0...3600, what: "sync relearn hold (seconds)")) * 1_000_000_000
                relearnWord = value
            default: settings.group = try KeepalivedValues.address(value, what: "sync multicast group")
            }
            index += 2
        }
        if let problem = settings.problem { throw option.keyword.location.error("lvs_sync_daemon: \(problem)") }
        if let problem = failback.problem { throw (relearnWord?.location ?? option.keyword.location).error("lvs_sync_daemon: \(problem)") }
        if instance.isEmpty {
            warnings.append(option.location.warning("lvs_sync_daemon names no VRRP instance: lvsd runs it as backup until told otherwise (lvsadm --start-daemon/--stop-daemon)"))
        }
        globalDefs.syncDaemon = (settings, instance)
        globalDefs.syncFailback = failback
    }

    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]` (global_parser.c `lvs_timeouts`): the
    /// rules file's `--set tcp tcpfin udp`, 0 keeping a value, at most 31 days each.
    private mutating func parseTimeouts(_ option: KeepalivedStatement) throws(ConfigError) {
        let usage = "lvs_timeouts [tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]"
        let words = try option.arguments(1...6, usage)
        var index = 0
        while index < words.count {
            let key = words[index]
            guard ["tcp", "tcpfin", "udp"].contains(key.text) else {
                throw key.location.error("unexpected '\(key.text)' in lvs_timeouts; write '\(usage)'")
            }
            guard index + 1 < words.count else {
                throw key.location.error("'\(key.text)' in lvs_timeouts needs a number of seconds after it")
            }
            let seconds = UInt32(try KeepalivedValues.number(words[index + 1], in: 0...UInt64(RulesValues.maximumTimeout), what: "\(key.text) timeout"))
            switch key.text {
            case "tcp": timeouts.tcp = seconds
            case "tcpfin": timeouts.tcpFin = seconds
            default: timeouts.udp = seconds
            }
            index += 2
        }
    }

    private func firstCheckerLocation(_ statements: [KeepalivedStatement]) -> ConfigLocation? {
        for virtualServer in statements {
            for realServer in virtualServer.block ?? [] where realServer.name == "real_server" {
                if let checker = (realServer.block ?? []).first(where: { KeepalivedParser.checkerKeywords.contains($0.name) }) {
                    return checker.location
                }
            }
        }
        return nil
    }
}
