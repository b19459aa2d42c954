import Control
import VRRP
import Wire

extension Reader {
    // MARK: vrrp_script

    /// `vrrp_script NAME { script CMD; interval; timeout; weight W [reverse]; rise; fall; user }`.
    mutating func script(_ statement: KeepalivedStatement) throws(ConfigError) {
        let name = try Values.name(statement, "vrrp_script NAME")
        let block = "vrrp_script \(name)"
        var command: VRRPCommand?
        var script = VRRPScriptConfig(name: name, command: VRRPCommand([]))
        var user: (String, String?)?
        for option in try Values.contents(statement, block) {
            switch option.name {
            case "script":
                command = try Values.command(option)
            case "interval":
                script.interval = try Values.micros(try Values.value(option, "interval SECONDS"), "interval") * 1_000
            case "timeout":
                script.timeout = try Values.micros(try Values.value(option, "timeout SECONDS"), "timeout") * 1_000
            case "weight":
                guard let word = option.arguments.first, option.arguments.count <= 2 else {
                    throw option.location.error("'weight' needs a value; write 'weight -253..253 [reverse]'")
                }
                script.weight = Int(try Values.signed(word, -253...253, "weight"))
                if option.arguments.count == 2 {
                    let extra = option.arguments[1]
                    guard extra.text == "reverse" else { throw extra.location.error("unexpected '\(extra.text)' after the weight; only 'reverse' may follow it") }
                    script.reverse = true
                }
            case "rise": script.rise = Int(try Values.number(try Values.value(option, "rise N"), 1...1_000_000, "rise"))
            case "fall": script.fall = Int(try Values.number(try Values.value(option, "fall N"), 1...1_000_000, "fall"))
            case "user":
                guard let first = option.arguments.first, option.arguments.count <= 2 else {
                    throw option.location.error("'user' needs a name; write 'user USERNAME [GROUPNAME]'")
                }
                user = (first.text, option.arguments.count == 2 ? option.arguments[1].text : nil)
            default:
                ignore(option, in: block, known: ["init_fail"])
            }
        }
        guard var command else { throw statement.location.error("\(block) has no script; add 'script \"/path/to/check\"'") }
        if let (name, group) = user {
            command.user = name
            command.group = group
        }
        script.command = command
        scripts.append(script)
    }

    // MARK: vrrp_sync_group

    /// `vrrp_sync_group NAME { group { INSTANCE ... } notify_master ... }`.
    mutating func syncGroup(_ statement: KeepalivedStatement) throws(ConfigError) {
        let name = try Values.name(statement, "vrrp_sync_group NAME")
        let block = "vrrp_sync_group \(name)"
        var group = VRRPSyncGroupConfig(name: name, instances: [])
        for option in try Values.contents(statement, block) {
            switch option.name {
            case "group":
                for member in try Values.contents(option, "group of \(block)") {
                    for word in [member.keyword] + member.arguments {
                        guard instances.contains(where: { $0.name == word.text }) else {
                            warn(word.location, "\(block): there is no vrrp_instance \(word.text); ignoring it, as keepalived does")
                            continue
                        }
                        if let other = groups.first(where: { $0.instances.contains(word.text) }) {
                            throw word.location.error("vrrp_instance \(word.text) is already in vrrp_sync_group \(other.name); an instance belongs to one group")
                        }
                        group.instances.append(word.text)
                    }
                }
            case "notify_master": group.notify.master = try Values.command(option)
            case "notify_backup": group.notify.backup = try Values.command(option)
            case "notify_fault": group.notify.fault = try Values.command(option)
            case "notify_stop": group.notify.stop = try Values.command(option)
            case "notify": group.notify.generic = try Values.command(option)
            default:
                ignore(option, in: block, known: ["smtp_alert", "global_tracking", "sync_group_tracking_weight",
                                                  "notify_priority_changes", "track_interface", "track_script",
                                                  "track_file", "track_process", "track_bfd"])
            }
        }
        guard group.instances.count > 1 else {
            warn(statement.location, "\(block) has \(group.instances.count) instance(s); a sync group needs two or more, so it is removed, as keepalived does")
            return
        }
        groups.append(group)
    }

    /// Cross-block checks once everything is read: tracked scripts that exist.
    mutating func finish() throws(ConfigError) {
        for (index, instance) in instances.enumerated() {
            let missing = instance.trackedScripts.filter { t in !scripts.contains { $0.name == t.name } }
            guard !missing.isEmpty else { continue }
            for script in missing {
                warn(instanceLocations[index], "vrrp_instance \(instance.name) tracks vrrp_script \(script.name), which does not exist; ignoring it, as keepalived does")
            }
            instances[index].trackedScripts.removeAll { t in !scripts.contains { $0.name == t.name } }
        }
    }
}

/// Value readers for VRRP blocks, each error located at the word that is wrong (the same
/// syntax as Control's keepalived values: lib/parser.c `read_unsigned`, `read_timer`).
enum Values {
    static func contents(_ statement: KeepalivedStatement, _ what: String) throws(ConfigError) -> [KeepalivedStatement] {
        guard let block = statement.block else {
            throw statement.location.error("'\(statement.name)' needs a { } block; write '\(what) { ... }'")
        }
        return block
    }

    /// The block's name: `vrrp_instance NAME {`.
    static func name(_ statement: KeepalivedStatement, _ usage: String) throws(ConfigError) -> String {
        guard statement.arguments.count == 1 else {
            throw statement.location.error("'\(statement.name)' needs one name; write '\(usage) { ... }'")
        }
        return statement.arguments[0].text
    }

    static func value(_ statement: KeepalivedStatement, _ usage: String) throws(ConfigError) -> KeepalivedWord {
        guard statement.block == nil, statement.arguments.count == 1 else {
            let at = statement.arguments.dropFirst().first?.location ?? statement.location
            throw at.error("'\(statement.name)' takes one value; write '\(usage)'")
        }
        return statement.arguments[0]
    }

    static func number(_ word: KeepalivedWord, _ range: ClosedRange<UInt64>, _ what: String) throws(ConfigError) -> UInt64 {
        guard !word.text.isEmpty, word.text.count <= 19, word.text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt64(word.text), range.contains(value) else {
            throw word.location.error("invalid \(what) '\(word.text)'; give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func signed(_ word: KeepalivedWord, _ range: ClosedRange<Int64>, _ what: String) throws(ConfigError) -> Int64 {
        let digits = word.text.hasPrefix("-") || word.text.hasPrefix("+") ? word.text.dropFirst() : Substring(word.text)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int64(word.text), range.contains(value) else {
            throw word.location.error("invalid \(what) '\(word.text)'; give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// keepalived's `<TIMER>`: seconds with up to six decimals, in microseconds.
    static func micros(_ word: KeepalivedWord, _ what: String) throws(ConfigError) -> UInt64 {
        let parts = word.text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty, whole.count <= 9, whole.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.count <= 6,
              fraction.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !fraction.isEmpty else {
            throw word.location.error("invalid \(what) '\(word.text)'; give seconds, such as 1 or 0.5")
        }
        return UInt64(whole)! * 1_000_000 + UInt64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0))!
    }

    static func address(_ word: KeepalivedWord, _ what: String) throws(ConfigError) -> IPAddress {
        guard let address = IPAddress(word.text) else {
            throw word.location.error("'\(word.text)' is not a valid IPv4 or IPv6 address for \(what)")
        }
        return address
    }

    /// `ADDRESS[/PREFIX]`.
    static func prefixed(_ word: KeepalivedWord) throws(ConfigError) -> VRRPVirtualAddress {
        let parts = word.text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else {
            throw word.location.error("'\(parts[0])' is not a valid IPv4 or IPv6 virtual address")
        }
        guard parts.count == 2 else { return VRRPVirtualAddress(address) }
        let limit = address.isIPv4 ? 32 : 128
        guard let prefix = Int(parts[1]), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), (0...limit).contains(prefix) else {
            throw word.location.error("invalid prefix length '/\(parts[1])' for \(address); give 0 to \(limit)")
        }
        return VRRPVirtualAddress(address, prefixLength: prefix)
    }

    /// A notify or check script: `"CMD ARGS" [USER [GROUP]]` (keepalived's
    /// `notify_script_init`), split as keepalived splits it.
    static func command(_ statement: KeepalivedStatement) throws(ConfigError) -> VRRPCommand {
        guard statement.block == nil, (1...3).contains(statement.arguments.count) else {
            throw statement.location.error("'\(statement.name)' needs a command; write '\(statement.name) \"/path/to/script args\" [USER [GROUP]]'")
        }
        let words = statement.arguments
        let script = KeepalivedScript(command: words[0].text, user: words.count > 1 ? words[1].text : nil,
                                      group: words.count > 2 ? words[2].text : nil)
        return VRRPCommand(script.arguments, user: script.user, group: script.group)
    }
}

/// keepalived's `vrrp_instance` keywords (vrrp_parser.c `init_vrrp_keywords`), so a keyword
/// lvsd does not run is told apart from a typo in the warning.
enum KeepalivedVRRPKeywords {
    static let instance: Set<String> = [
        "use_vmac", "use_vmac_addr", "vmac_xmit_base", "use_ipvlan", "unicast_fault_no_peer", "check_unicast_src",
        "old_unicast_checksum", "native_ipv6", "vrf", "track_file", "track_process", "track_bfd", "mcast_dst_ip",
        "track_src_ip", "unicast_ttl", "no_virtual_ipaddress", "promote_secondaries", "linkbeat_use_polling",
        "v3_checksum_as_v2", "virtual_routes", "virtual_rules", "accept", "no_accept", "skip_check_adv_addr",
        "strict_mode", "debug", "smtp_alert", "notify_priority_changes", "lvs_sync_daemon_interface",
        "garp_lower_prio_delay", "garp_lower_prio_repeat", "timer_expired_backup", "thread_timer_expired",
        "garp_extra_if", "vmac_garp_intvl", "lower_prio_no_advert", "higher_prio_send_advert", "owner_ignore_adverts",
        "kernel_rx_buf_size", "garp_interval", "gna_interval", "interfaces", "notify_deleted", "notify_master_rx_lower_pri",
    ]
}
