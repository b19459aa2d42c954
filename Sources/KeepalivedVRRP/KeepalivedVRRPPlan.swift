import Control
import VRRP
import Wire

/// keepalived.conf's VRRP blocks, which Control keeps as written (`KeepalivedConfig.vrrp`),
/// as the `VRRPConfig` the VRRP state machine runs.
///
/// Keywords and defaults follow keepalived/vrrp/vrrp_parser.c (`init_vrrp_keywords`) and the
/// corrections of vrrp.c `vrrp_complete_instance`, each made with a warning as keepalived
/// makes it (nopreempt with an owner or `state MASTER`, preempt_delay with either, version 2
/// with IPv6 addresses, a one-member sync group). A value keepalived would replace by a
/// default after logging is an error here, as elsewhere in lvsd's keepalived.conf reading.
/// Keywords keepalived knows and lvsd does not run, and unknown ones, are warnings with
/// their file and line.
public enum KeepalivedVRRPPlan {
    public struct Result: Sendable {
        public var config: VRRPConfig
        public var warnings: [ConfigWarning]
    }

    public static func make(from keepalived: KeepalivedConfig) throws(ConfigError) -> Result {
        var reader = Reader()
        let blocks = keepalived.vrrp
        for statement in blocks.scripts { try reader.script(statement) }
        for statement in blocks.instances { try reader.instance(statement) }
        for statement in blocks.syncGroups { try reader.syncGroup(statement) }
        try reader.finish()
        KeepalivedSyncFollow.apply(keepalived, to: &reader)
        return Result(config: VRRPConfig(instances: reader.instances, scripts: reader.scripts, syncGroups: reader.groups),
                      warnings: reader.warnings)
    }
}

/// The reading state: what has been read so far and the warnings.
struct Reader {
    var instances: [VRRPInstanceConfig] = []
    var scripts: [VRRPScriptConfig] = []
    var groups: [VRRPSyncGroupConfig] = []
    var warnings: [ConfigWarning] = []
    /// Where each instance was declared, for errors found once all are read.
    var instanceLocations: [ConfigLocation] = []

    mutating func warn(_ location: ConfigLocation, _ message: String) {
        warnings.append(location.warning(message))
    }

    /// A keyword keepalived reads and lvsd does not act on, or one nobody knows.
    mutating func ignore(_ option: KeepalivedStatement, in block: String, known: Set<String>) {
        if known.contains(option.name) {
            warn(option.location, "'\(option.name)' in \(block) is ignored: lvsd's VRRP does not support it")
        } else {
            warn(option.location, "unknown keyword '\(option.name)' in \(block) is ignored")
        }
    }

    // MARK: vrrp_instance

    mutating func instance(_ statement: KeepalivedStatement) throws(ConfigError) {
        let name = try Values.name(statement, "vrrp_instance NAME")
        let block = "vrrp_instance \(name)"
        var c = VRRPInstanceConfig(name: name, virtualRouterID: 0)
        var vridSeen = false
        var advertInterval: (micros: UInt64, word: KeepalivedWord)?
        var versionSet = false
        var authType: KeepalivedWord?
        var password: String?
        var preemptDelayLocation: ConfigLocation?
        var noPreemptLocation: ConfigLocation?
        for option in try Values.contents(statement, block) {
            switch option.name {
            case "state":
                let word = try Values.value(option, "state MASTER|BACKUP")
                guard let state = VRRPInitialState(rawValue: word.text) else {
                    throw word.location.error("unknown state '\(word.text)' in \(block); write MASTER or BACKUP")
                }
                c.initialState = state
            case "interface": c.interface = try Values.value(option, "interface NAME").text
            case "dont_track_primary": c.dontTrackPrimary = true
            case "virtual_router_id":
                c.virtualRouterID = UInt8(try Values.number(try Values.value(option, "virtual_router_id 1-255"), 1...255, "virtual_router_id"))
                vridSeen = true
            case "priority":
                c.priority = UInt8(try Values.number(try Values.value(option, "priority 1-255"), 1...255, "priority"))
            case "advert_int":
                let word = try Values.value(option, "advert_int SECONDS")
                advertInterval = (try Values.micros(word, "advert_int"), word)
            case "version":
                let word = try Values.value(option, "version 2|3")
                guard let v = VRRPVersion(rawValue: UInt8(try Values.number(word, 2...3, "VRRP version"))) else { break }
                c.version = v
                versionSet = true
            case "authentication":
                for auth in try Values.contents(option, "authentication") {
                    switch auth.name {
                    case "auth_type": authType = try Values.value(auth, "auth_type PASS|AH")
                    case "auth_pass": password = try Values.value(auth, "auth_pass PASSWORD").text
                    default: ignore(auth, in: "authentication of \(block)", known: ["auth_hmac", "key", "active_key", "time_window", "anti_replay", "mode"])
                    }
                }
            case "virtual_ipaddress": c.virtualAddresses = try addresses(option, block)
            case "virtual_ipaddress_excluded": c.excludedAddresses = try addresses(option, block)
            case "nopreempt":
                c.noPreempt = true
                noPreemptLocation = option.location
            case "preempt": c.noPreempt = false
            case "preempt_delay":
                let word = try Values.value(option, "preempt_delay SECONDS")
                c.preemptDelay = try Values.micros(word, "preempt_delay") * 1_000
                preemptDelayLocation = option.location
            case "unicast_src_ip", "mcast_src_ip":
                c.sourceAddress = try Values.address(try Values.value(option, "\(option.name) ADDRESS"), option.name)
            case "unicast_peer":
                for peer in try Values.contents(option, "unicast_peer") {
                    c.unicastPeers.append(try Values.address(peer.keyword, "unicast_peer"))
                    if let extra = peer.arguments.first {
                        warn(extra.location, "'\(extra.text)' after unicast peer \(peer.name) is ignored")
                    }
                }
            case "garp_master_delay":
                c.gratuitous.masterDelay = try Values.number(try Values.value(option, "garp_master_delay SECONDS"), 0...86_400, "garp_master_delay") * VRRPTimers.nanosecondsPerSecond
            case "garp_master_repeat":
                c.gratuitous.masterRepeat = Int(try Values.number(try Values.value(option, "garp_master_repeat N"), 1...255, "garp_master_repeat"))
            case "garp_master_refresh":
                c.gratuitous.masterRefresh = try Values.number(try Values.value(option, "garp_master_refresh SECONDS"), 0...86_400, "garp_master_refresh") * VRRPTimers.nanosecondsPerSecond
            case "garp_master_refresh_repeat":
                c.gratuitous.masterRefreshRepeat = Int(try Values.number(try Values.value(option, "garp_master_refresh_repeat N"), 1...255, "garp_master_refresh_repeat"))
            case "track_interface":
                c.trackedInterfaces = try tracked(option, block, weights: -253...253)
            case "track_script":
                c.trackedScripts = try tracked(option, block, weights: -253...253)
            case "notify_master": c.notify.master = try Values.command(option)
            case "notify_backup": c.notify.backup = try Values.command(option)
            case "notify_fault": c.notify.fault = try Values.command(option)
            case "notify_stop": c.notify.stop = try Values.command(option)
            case "notify": c.notify.generic = try Values.command(option)
            case "down_timer_adverts":
                c.downTimerAdverts = try Values.number(try Values.value(option, "down_timer_adverts 1-100"), 1...100, "down_timer_adverts")
            default:
                ignore(option, in: block, known: KeepalivedVRRPKeywords.instance)
            }
        }
        guard vridSeen else { throw statement.location.error("\(block) has no virtual_router_id; add 'virtual_router_id 1-255'") }
        guard c.interface != nil || (c.sourceAddress != nil && !c.unicastPeers.isEmpty) else {
            throw statement.location.error("\(block) has no interface; add 'interface NAME' (or unicast_src_ip and unicast_peer)")
        }
        if let first = c.virtualAddresses.first, c.virtualAddresses.contains(where: { $0.address.isIPv4 != first.address.isIPv4 }) {
            throw statement.location.error("\(block) mixes IPv4 and IPv6 in virtual_ipaddress; use one vrrp_instance per family")
        }
        if c.version == .v2, c.isIPv6 {
            if versionSet { warn(statement.location, "\(block): VRRP version 2 carries IPv4 only; using version 3") }
            c.version = .v3
        }
        if let (micros, word) = advertInterval {
            c.advertisementInterval = try interval(micros, word, version: c.version, block: block)
        }
        if let authType {
            switch authType.text {
            case "PASS":
                guard let password else { throw authType.location.error("auth_type PASS in \(block) needs 'auth_pass PASSWORD'") }
                if c.version == .v3 {
                    warn(authType.location, "\(block): VRRP version 3 has no authentication; auth_type is ignored")
                } else {
                    if password.utf8.count > 8 { warn(authType.location, "\(block): auth_pass is cut to its first 8 characters, as keepalived sends it") }
                    c.authentication = .password(password)
                }
            case "AH":
                throw authType.location.error("auth_type AH in \(block) is not supported by lvsd; use PASS or no authentication")
            default:
                throw authType.location.error("unknown auth_type '\(authType.text)' in \(block); write PASS or AH")
            }
        }
        // vrrp.c vrrp_complete_instance's corrections.
        if c.noPreempt, c.isAddressOwner || c.initialState == .master {
            warn(noPreemptLocation ?? statement.location, "\(block): nopreempt does not work with \(c.isAddressOwner ? "priority 255" : "state MASTER"); preempting, as keepalived does")
            c.noPreempt = false
        }
        if c.preemptDelay > 0, c.initialState == .master || c.noPreempt {
            warn(preemptDelayLocation ?? statement.location, "\(block): preempt_delay does not work with \(c.noPreempt ? "nopreempt" : "state MASTER"); ignoring it, as keepalived does")
            c.preemptDelay = 0
        }
        if let other = instances.firstIndex(where: {
            $0.virtualRouterID == c.virtualRouterID && $0.interface == c.interface && $0.isIPv6 == c.isIPv6
        }) {
            throw statement.location.error("\(block) has virtual_router_id \(c.virtualRouterID) on \(c.interface ?? "its unicast peers"), like vrrp_instance \(instances[other].name) (\(instanceLocations[other])); each VRID may be used once per interface and family")
        }
        instances.append(c)
        instanceLocations.append(statement.location)
    }

    /// keepalived's advert_int: v3 in centiseconds (1...4095), v2 in whole seconds (1...255;
    /// a fraction is rounded, as keepalived rounds it).
    func interval(_ micros: UInt64, _ word: KeepalivedWord, version: VRRPVersion, block: String) throws(ConfigError) -> UInt16 {
        if version == .v3 {
            let centis = (micros + 5_000) / 10_000
            guard (1...4095).contains(centis) else {
                throw word.location.error("advert_int \(word.text) in \(block) is out of range; VRRP version 3 takes 0.01 to 40.95 seconds")
            }
            return UInt16(centis)
        }
        let seconds = (micros + 500_000) / 1_000_000
        guard (1...255).contains(seconds) else {
            throw word.location.error("advert_int \(word.text) in \(block) is out of range; VRRP version 2 takes 1 to 255 seconds")
        }
        return UInt16(seconds * 100)
    }

    /// `virtual_ipaddress { ADDRESS[/PREFIX] [dev IF] ... }`.
    mutating func addresses(_ option: KeepalivedStatement, _ block: String) throws(ConfigError) -> [VRRPVirtualAddress] {
        var out: [VRRPVirtualAddress] = []
        for line in try Values.contents(option, "\(option.name) of \(block)") {
            var address = try Values.prefixed(line.keyword)
            var words = line.arguments[...]
            while let word = words.popFirst() {
                switch word.text {
                case "dev":
                    guard let device = words.popFirst() else { throw word.location.error("'dev' needs an interface name after it") }
                    address.device = device.text
                case "brd", "broadcast", "scope", "label", "track_group", "preferred_lft", "valid_lft":
                    let value = words.popFirst()
                    warn(word.location, "'\(word.text)\(value.map { " \($0.text)" } ?? "")' of \(address.address) is ignored: lvsd owns the address without adding it to an interface")
                default:
                    warn(word.location, "'\(word.text)' of \(address.address) is ignored")
                }
            }
            out.append(address)
        }
        return out
    }

    /// `track_interface { NAME [weight W [reverse]] }` and `track_script { ... }`.
    mutating func tracked(_ option: KeepalivedStatement, _ block: String, weights: ClosedRange<Int64>) throws(ConfigError) -> [VRRPTrackedObject] {
        var out: [VRRPTrackedObject] = []
        for line in try Values.contents(option, "\(option.name) of \(block)") {
            var object = VRRPTrackedObject(line.name)
            let words = line.arguments
            if let first = words.first {
                guard first.text == "weight", words.count >= 2 else {
                    throw first.location.error("unexpected '\(first.text)' after \(line.name); write '\(line.name) [weight W [reverse]]'")
                }
                object.weight = Int(try Values.signed(words[1], weights, "weight"))
                if words.count >= 3 {
                    guard words[2].text == "reverse", words.count == 3 else {
                        throw words[2].location.error("unexpected '\(words[2].text)' after the weight; only 'reverse' may follow it")
                    }
                    object.reverse = true
                }
            }
            out.append(object)
        }
        return out
    }
}
