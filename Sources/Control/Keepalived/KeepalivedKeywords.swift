/// The keepalived options lvsd reads without acting on them, and those it refuses, with the
/// reason each warning or error gives. Docs/keepalived-conf.md lists the same tables for
/// operators. Any keyword in none of these tables and not interpreted by the parser is an
/// error, so a typo never passes silently.
///
/// Keyword lists come from keepalived's `install_keyword*` calls (keepalived/core/
/// global_parser.c `init_global_keywords`, keepalived/vrrp/vrrp_parser.c
/// `init_vrrp_keywords`, keepalived/check/check_parser.c `init_check_keywords`) and DPVS's
/// fork of it (iqiyi/dpvs tools/keepalived/keepalived/check/check_parser.c).
enum KeepalivedKeywords {
    // MARK: Top level

    /// Blocks kept as written for VRRP (`KeepalivedConfig.vrrp`), with one warning each.
    static let vrrpBlocks: Set<String> = [
        "vrrp_instance", "vrrp_sync_group", "vrrp_script", "vrrp_track_process", "vrrp_track_file", "track_file",
        "track_group", "static_ipaddress", "static_routes", "static_rules", "garp_group", "linkbeat_interfaces",
        "interface_up_down_delays", "bfd_instance",
    ]

    /// Top-level keywords read and ignored, with the reason.
    static let ignoredTopLevel: [String: String] = [
        "net_namespace": "lvsd runs in the network namespace it is started in",
        "net_namespace_ipvs": "lvsd does not use kernel IPVS",
        "namespace_with_ipsets": "lvsd uses no ipsets",
        "use_pid_dir": "lvsd writes no pid files",
        "instance": "lvsd has no instance name",
        "child_wait_time": "lvsd has no child processes to wait for",
        "linkbeat_use_polling": "lvsd does not run VRRP yet",
        // DPVS: tunnel devices of the DPVS host.
        "tunnel_group": "it configures DPVS's own tunnel devices; create tunnels on the host",
    ]

    // MARK: global_defs

    /// Every `global_defs` keyword of keepalived 2.3; any other word there is an error.
    static let globalDefs: Set<String> = [
        "process_names", "process_name", "vrrp_process_name", "checker_process_name", "lvs_process_name",
        "bfd_process_name", "use_symlink_paths", "set_supplementary_groups", "router_id", "notification_email_from",
        "smtp_server", "smtp_helo_name", "smtp_connect_timeout", "notification_email", "smtp_alert", "startup_script",
        "startup_script_timeout", "shutdown_script", "shutdown_script_timeout", "max_auto_priority",
        "min_auto_priority_delay", "smtp_alert_vrrp", "smtp_alert_checker", "checker_log_all_failures",
        "dynamic_interfaces", "no_email_faults", "default_interface", "disable_local_igmp", "v3_checksum_as_v2",
        "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop", "lvs_sync_daemon", "vrrp_mcast_group4",
        "vrrp_mcast_group6", "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
        "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat",
        "vrrp_down_timer_adverts", "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_min_garp", "vrrp_garp_extra_if",
        "vrrp_vmac_garp_intvl", "vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert", "vrrp_version",
        "vrrp_iptables", "vrrp_ipsets", "nftables", "nftables_priority", "nftables_ifindex", "vrrp_check_unicast_src",
        "vrrp_skip_check_adv_addr", "vrrp_strict", "vrrp_priority", "vrrp_no_swap", "vrrp_rt_priority",
        "vrrp_cpu_affinity", "vrrp_rlimit_rttime", "vrrp_rlimit_rtime", "nftables_ipvs", "nftables_ipvs_priority",
        "nftables_ipvs_start_fwmark", "nftables_counters", "notify_fifo", "notify_fifo_script", "vrrp_notify_fifo",
        "vrrp_notify_fifo_script", "vrrp_notify_priority_changes", "fifo_write_vrrp_states_on_reload",
        "lvs_notify_fifo", "lvs_notify_fifo_script", "checker_priority", "checker_no_swap", "checker_rt_priority",
        "checker_cpu_affinity", "checker_rlimit_rttime", "checker_rlimit_rtime", "bfd_priority", "bfd_no_swap",
        "bfd_rt_priority", "bfd_cpu_affinity", "bfd_rlimit_rttime", "bfd_rlimit_rtime", "snmp_socket", "enable_traps",
        "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
        "enable_snmp_checker", "snmp_vs_stats_update_interval", "snmp_rs_stats_update_interval", "enable_dbus",
        "dbus_service_name", "dbus_no_interface_name", "script_user", "enable_script_security",
        "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force",
        "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force", "rs_init_notifies", "no_checker_emails", "vrrp_rx_bufs_policy",
        "vrrp_rx_bufs_multiplier", "vrrp_startup_delay", "vrrp_delay_after_boot", "log_unknown_vrids",
        "vrrp_owner_ignore_adverts", "vmac_prefix", "vmac_addr_prefix", "umask", "random_seed", "reload_check_config",
        "reload_time_file", "reload_repeat", "reload_file", "include_check", "config_save_dir", "tmp_config_directory",
        "data_use_instance", "json_version", "iproute_usr_dir", "iproute_etc_dir", "state_dump_file",
        "stats_dump_file", "json_dump_file",
        // Older spellings still met in configurations (keepalived 1.x).
        "lvs_id", "vrrp_garp_master_refresh_rep",
    ]

    /// Why lvsd ignores a `global_defs` option it does not interpret, by family of option;
    /// the first matching rule wins.
    static let globalDefsReasons: [(matches: @Sendable (String) -> Bool, reason: String)] = [
        ({ $0.hasPrefix("notification_email") || $0.hasPrefix("smtp_") || $0.hasSuffix("_emails") || $0 == "no_email_faults" },
         "lvsd sends no e-mail"),
        ({ $0.contains("snmp") || $0 == "enable_traps" }, "lvsd has no SNMP agent"),
        ({ $0.contains("dbus") }, "lvsd has no D-Bus interface"),
        ({ $0.contains("fifo") }, "lvsd writes no notify FIFO"),
        ({ $0.hasPrefix("lvs_flush") }, "lvsd keeps its own table, which starts empty and ends with the process; there is no kernel table to flush"),
        ({ $0.hasPrefix("nftables_ipvs") }, "lvsd does not use kernel IPVS or firewall marks"),
        ({ $0.hasSuffix("_priority") && !$0.hasPrefix("vrrp_") && $0 != "max_auto_priority" || $0.hasSuffix("_no_swap")
            || $0.hasSuffix("_cpu_affinity") || $0.contains("rlimit") || $0.contains("rcv_bufs") || $0.contains("process_name")
            || ["umask", "set_supplementary_groups", "use_symlink_paths", "random_seed"].contains($0) },
         "it tunes keepalived's own processes"),
        ({ $0.hasPrefix("vrrp_") || $0.hasPrefix("vmac_") || $0.hasPrefix("nftables")
            || ["default_interface", "dynamic_interfaces", "disable_local_igmp", "v3_checksum_as_v2", "max_auto_priority",
                "min_auto_priority_delay", "log_unknown_vrids"].contains($0) },
         "it is a VRRP setting, kept for when lvsd runs VRRP"),
        ({ $0.contains("script") || $0 == "rs_init_notifies" }, "lvsd honours script_user and enable_script_security only; scripts run as described in Docs/health-checks.md"),
    ]

    static let globalDefsDefaultReason = "it is a keepalived daemon setting with no counterpart in lvsd"

    static func globalDefsReason(_ keyword: String) -> String {
        globalDefsReasons.first { $0.matches(keyword) }?.reason ?? globalDefsDefaultReason
    }

    // MARK: virtual_server and real_server

    /// `virtual_server` options read and ignored, with the reason.
    static let ignoredVirtualServer: [String: String] = [
        "hashed": "it has no effect on current kernels and none in lvsd",
        "ha_suspend": "lvsd does not suspend checkers while the VIP is absent",
        "smtp_alert": "lvsd sends no e-mail",
        "snmp_name": "lvsd has no SNMP agent",
        // DPVS's keepalived.
        "establish_timeout": "lvsd uses the global TCP timeouts for every service (set them with global_defs lvs_timeouts)",
        "expire_quiescent_conn": "it is a DPVS option lvsd does not implement",
        "bps": "DPVS's per-service rate limits are not implemented",
        "limit_proportion": "DPVS's per-service rate limits are not implemented",
        "hash_target": "it is a DPVS option lvsd does not implement",
        "quic": "DPVS's QUIC connection migration is not implemented",
        "vip_bind_dev": "DPVS binds VIPs to its kni device; lvsd answers for its VIPs itself",
    ]

    /// `virtual_server` options refused: ignoring them would change which packets go where.
    static let rejectedVirtualServer: [String: String] = [
        "persistence_engine": "persistence engines (such as sip) are not supported by lvsd (the rules file refuses --pe too); persistence_timeout keeps a client on one real server",
        "proxy_protocol": "DPVS's PROXY protocol insertion is not supported by lvsd; real servers expecting the header would fail",
        "src-range": "DPVS's SNAT service matching is not supported by lvsd",
        "dst-range": "DPVS's SNAT service matching is not supported by lvsd",
        "oif": "DPVS's SNAT service matching is not supported by lvsd",
        "iif": "DPVS's SNAT service matching is not supported by lvsd",
    ]

    /// `real_server` options read and ignored, with the reason.
    static let ignoredRealServer: [String: String] = [
        "smtp_alert": "lvsd sends no e-mail",
        "snmp_name": "lvsd has no SNMP agent",
    ]

    /// Checker blocks kept as written (`KeepalivedChecker.Kind.other`), with the reason.
    static let rawCheckers: [String: String] = [
        "FILE_CHECK": "file checks are kept as written, not yet typed",
    ]

    // MARK: Suggestions

    /// The known keyword closest to `word` by edit distance, for "did you mean" hints; nil
    /// when nothing is close (more than a third of the word would have to change).
    static func suggestion(for word: String, among known: some Sequence<String>) -> String? {
        var best: (String, Int)?
        for candidate in known {
            let distance = editDistance(Array(word.lowercased()), Array(candidate.lowercased()))
            if distance <= max(1, word.count / 3), best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        return best?.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// `unknown keyword 'delay_lop' in virtual_server; did you mean 'delay_loop'?`
    static func unknown(_ statement: KeepalivedStatement, in context: String, known: some Sequence<String>) -> ConfigError {
        var message = "unknown keyword '\(statement.name)' \(context.hasPrefix("the ") ? "at" : "in") \(context)"
        if let hint = suggestion(for: statement.name, among: known) {
            message += "; did you mean '\(hint)'?"
        } else {
            message += " (Docs/keepalived-conf.md lists what lvsd reads)"
        }
        return statement.location.error(message)
    }
}
