import Control
import Core
import Testing
import Wire

/// The top level: `global_defs`, the VRRP blocks kept as written, `SSL`, `lvsd_director`,
/// and what is ignored or unknown there.
@Suite struct KeepalivedGlobalTests {
    @Test func routerIdIsKeptAndOtherGlobalOptionsWarn() {
        let config = keepalived("""
            global_defs {
                notification_email {
                    admin@example.com
                }
                notification_email_from lb@example.com
                smtp_server 198.18.0.25
                smtp_connect_timeout 30
                router_id LVS_DEVEL
                vrrp_skip_check_adv_addr
                vrrp_strict
                lvs_flush
                enable_snmp_checker
                checker_priority -5
                reload_check_config
            }
            """)
        #expect(config.globalDefs.routerID == "LVS_DEVEL")
        #expect(config.globalDefs.options.map(\.name) == [
            "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "router_id",
            "vrrp_skip_check_adv_addr", "vrrp_strict", "lvs_flush", "enable_snmp_checker", "checker_priority", "reload_check_config",
        ])
        #expect(config.warnings == [
            kaWarning(2, 5, "global_defs option 'notification_email' is ignored: lvsd sends no e-mail"),
            kaWarning(5, 5, "global_defs option 'notification_email_from' is ignored: lvsd sends no e-mail"),
            kaWarning(6, 5, "global_defs option 'smtp_server' is ignored: lvsd sends no e-mail"),
            kaWarning(7, 5, "global_defs option 'smtp_connect_timeout' is ignored: lvsd sends no e-mail"),
            kaWarning(9, 5, "global_defs option 'vrrp_skip_check_adv_addr' is ignored: it is a VRRP setting, kept for when lvsd runs VRRP"),
            kaWarning(10, 5, "global_defs option 'vrrp_strict' is ignored: it is a VRRP setting, kept for when lvsd runs VRRP"),
            kaWarning(11, 5, "global_defs option 'lvs_flush' is ignored: lvsd keeps its own table, which starts empty and ends with the process; there is no kernel table to flush"),
            kaWarning(12, 5, "global_defs option 'enable_snmp_checker' is ignored: lvsd has no SNMP agent"),
            kaWarning(13, 5, "global_defs option 'checker_priority' is ignored: it tunes keepalived's own processes"),
            kaWarning(14, 5, "global_defs option 'reload_check_config' is ignored: it is a keepalived daemon setting with no counterpart in lvsd"),
        ])
    }

    @Test func unknownGlobalOptionIsAnError() {
        #expect(keepalivedError("global_defs {\n    routerid lb1\n}") ==
            kaError(2, 5, "unknown keyword 'routerid' in global_defs; did you mean 'router_id'?"))
    }

    @Test func lvsTimeoutsSetTheDirectorsTimeouts() {
        let config = keepalived("global_defs {\n    lvs_timeouts tcp 7200 udp 60\n}")
        var expected = TimeoutTable.ipvsDefaults
        expected.set(tcp: 7200, tcpFin: 0, udp: 60)
        #expect(config.director.timeouts == expected)
        #expect(config.warnings.isEmpty)
        #expect(keepalivedError("global_defs {\n    lvs_timeouts tcp\n}") == kaError(2, 18, "'tcp' in lvs_timeouts needs a number of seconds after it"))
        #expect(keepalivedError("global_defs {\n    lvs_timeouts sctp 5\n}") ==
            kaError(2, 18, "unexpected 'sctp' in lvs_timeouts; write 'lvs_timeouts [tcp SECONDS] [tcpfin SECONDS] [udp SECONDS]'"))
        #expect(keepalivedError("global_defs {\n    lvs_timeouts udp 2678401\n}") ==
            kaError(2, 22, "invalid udp timeout '2678401'; give a whole number from 0 to 2678400"))
    }

    @Test func vrrpBlocksAreKeptAsWrittenWithOneWarningEach() {
        let config = keepalived("""
            vrrp_script chk_lvsd {
                script "/usr/bin/pgrep lvsd"
                interval 2
            }
            vrrp_sync_group VG1 {
                group {
                    VI_1
                }
            }
            vrrp_instance VI_1 {
                state MASTER
                interface eth0
                virtual_router_id 51
                track_script {
                    chk_lvsd
                }
            }
            static_ipaddress {
                198.18.0.2/24 dev eth0
            }
            """)
        #expect(config.vrrp.scripts.map { $0.arguments.first?.text } == ["chk_lvsd"])
        #expect(config.vrrp.syncGroups.count == 1 && config.vrrp.instances.count == 1)
        #expect(config.vrrp.other.map(\.name) == ["static_ipaddress"])
        #expect(config.vrrp.instances.first?.block?.first { $0.name == "virtual_router_id" }?.arguments.first?.text == "51")
        #expect(config.vrrp.instances.first?.location == ConfigLocation(file: keepalivedFile, line: 10, column: 1))
        #expect(config.warnings == [
            kaWarning(18, 1, "'static_ipaddress' is kept but not run: lvsd runs only vrrp_instance, vrrp_script and vrrp_sync_group blocks"),
        ])
        #expect(config.director == DirectorConfig())
    }

    @Test func ignoredAndUnknownTopLevelKeywords() {
        let config = keepalived("net_namespace blue\nuse_pid_dir\n")
        #expect(config.warnings == [
            kaWarning(1, 1, "'net_namespace' is ignored: lvsd runs in the network namespace it is started in"),
            kaWarning(2, 1, "'use_pid_dir' is ignored: lvsd writes no pid files"),
        ])
        #expect(keepalivedError("virtual_sever 198.18.0.1 80 {\n}") ==
            kaError(1, 1, "unknown keyword 'virtual_sever' at the top level; did you mean 'virtual_server'?"))
        #expect(keepalivedError("weight 1\n") ==
            kaError(1, 1, "unknown keyword 'weight' at the top level (Docs/keepalived-conf.md lists what lvsd reads)"))
    }

    @Test func sslContextIsKept() {
        let config = keepalived("SSL {\n    password secret\n    ca /etc/ssl/ca.pem\n    certificate /etc/ssl/c.pem\n    key /etc/ssl/k.pem\n}")
        #expect(config.ssl == KeepalivedSSLContext(password: "secret", caFile: "/etc/ssl/ca.pem", certificateFile: "/etc/ssl/c.pem", keyFile: "/etc/ssl/k.pem"))
    }

    @Test func lvsdDirectorGivesInterfacesAndNeighbours() {
        let config = keepalived("""
            lvsd_director {
                interface eth0 mac 02:00:00:00:00:01 address 198.18.0.1
                interface eth1 mac 02:00:00:00:00:02 mtu 9000
                neighbour 198.18.1.1 mac 02:00:00:00:01:01
                neighbor 198.18.1.2 mac 02:00:00:00:01:02 interface eth1
            }
            """)
        #expect(config.director.interfaces == [
            InterfaceConfig(name: "eth0", mac: mac("02:00:00:00:00:01"), addresses: [ip("198.18.0.1")]),
            InterfaceConfig(name: "eth1", mac: mac("02:00:00:00:00:02"), mtu: 9000),
        ])
        #expect(config.director.neighbours == [
            NeighbourConfig(address: ip("198.18.1.1"), mac: mac("02:00:00:00:01:01"), interface: 0),
            NeighbourConfig(address: ip("198.18.1.2"), mac: mac("02:00:00:00:01:02"), interface: 1),
        ])
    }

    @Test func lvsdDirectorErrorsAreTheRulesFilesAtTheirOwnColumns() {
        #expect(keepalivedError("lvsd_director {\n    interface eth0 mac 02:00:00:00:00:01 mtu 10\n}") ==
            kaError(2, 46, "invalid MTU '10'; give a number from 68 to 65535"))
        #expect(keepalivedError("lvsd_director {\n    neighbour 198.18.1.1 mac 02:00:00:00:01:01 interface eth9\n}") ==
            kaError(2, 58, "interface 'eth9' is not declared; add an 'interface eth9 mac MAC' line before this one"))
        #expect(keepalivedError("lvsd_director {\n    route 198.18.0.0/15\n}") ==
            kaError(2, 5, "unknown keyword 'route' in lvsd_director (Docs/keepalived-conf.md lists what lvsd reads)"))
    }
}
