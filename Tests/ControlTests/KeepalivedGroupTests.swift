import Control
import Core
import Testing
import Wire

/// `virtual_server_group` (check_data.c `alloc_vsg_entry`) and DPVS's `local_address_group`.
@Suite struct KeepalivedGroupTests {
    static let servers = """
            real_server 198.18.1.1 {
            }
            real_server 198.18.1.2 8080 {
                lvs_method NAT
            }
        """

    @Test func groupMakesOneServicePerAddressWithTheSameServers() {
        let config = keepalived("""
            virtual_server group web {
                protocol TCP
                lb_algo rr
                lb_kind DR
            \(Self.servers)
            }
            virtual_server_group web {
                198.18.0.10 80
                198.18.0.11-12 443
                198.18.0.20/31 8000
                198.18.0.30-198.18.0.31 8001
            }
            """)
        let vs = onlyVirtualServer(config)
        #expect(vs.address == .group("web"))
        let keys = [tcp("198.18.0.10", 80), tcp("198.18.0.11", 443), tcp("198.18.0.12", 443), tcp("198.18.0.20", 8000),
                    tcp("198.18.0.21", 8000), tcp("198.18.0.30", 8001), tcp("198.18.0.31", 8001)]
        #expect(vs.services == keys)
        #expect(config.director.services.map(\.key) == keys)
        // The DR server takes each service's port; the NAT one keeps its own.
        #expect(config.director.services.map { $0.realServers.map(\.port) } == keys.map { [$0.port, 8080] })
        #expect(config.director.services.allSatisfy { $0.scheduler == .roundRobin })
        // The model keeps the DR server's port as written (none), to be settled per service.
        #expect(vs.realServers.map(\.port) == [0, 8080])
        #expect(config.warnings.isEmpty)
    }

    @Test func ipv6RangesCountInHexInTheLastGroup() {
        let config = keepalived("""
            virtual_server_group v6 {
                2001:db8::fe-101 443
            }
            virtual_server group v6 {
                protocol TCP
                real_server 2001:db8::1 443 {
                }
            }
            """)
        #expect(config.director.services.map(\.key.address) == [ip("2001:db8::fe"), ip("2001:db8::ff"), ip("2001:db8::100"), ip("2001:db8::101")])
    }

    @Test func persistentGroupMayHavePortlessMembers() {
        let config = keepalived("""
            virtual_server_group any {
                198.18.0.10
            }
            virtual_server group any {
                protocol UDP
                persistence_timeout 120
                persistence_granularity 255.255.255.0
                real_server 198.18.1.1 {
                }
            }
            """)
        #expect(config.director.services == [VirtualServiceConfig(
            key: udp("198.18.0.10", 0), scheduler: .weightedLeastConnection, persistence: Persistence(timeout: 120, prefixLength: 24),
            realServers: [RealServerConfig(address: ip("198.18.1.1"), port: 0, weight: 1, method: .nat)])])
    }

    @Test func groupErrors() {
        #expect(keepalivedError("virtual_server group nope {\n    protocol TCP\n}") ==
            kaError(1, 22, "no virtual_server_group named 'nope'"))
        #expect(keepalivedError("virtual_server_group a {\n    198.18.0.1 80\n}\nvirtual_server group b {\n}") ==
            kaError(4, 22, "no virtual_server_group named 'b' (declared: a)"))
        #expect(keepalivedError("virtual_server_group g {\n    fwmark x\n}")?.message.contains("fwmark") == true)
        #expect(keepalivedError("virtual_server_group g {\n}") ==
            kaError(1, 22, "virtual_server_group g has no entries; list 'IP PORT' lines in its block"))
        #expect(keepalivedError("virtual_server_group g {\n    198.18.0.1 80\n}\nvirtual_server_group g {\n    198.18.0.2 80\n}") ==
            kaError(4, 22, "virtual_server_group g is already declared at keepalived.conf:1:22"))
    }

    @Test func rangeErrors() {
        func entry(_ text: String) -> ConfigError? { keepalivedError("virtual_server_group g {\n    \(text) 80\n}") }
        #expect(entry("198.18.0.10-5") == kaError(2, 17, "the range end 198.18.0.5 is not above its start 198.18.0.10"))
        #expect(entry("198.18.0.10-256") == kaError(2, 17, "invalid range end '256'; give a whole number from 0 to 255"))
        #expect(entry("198.18.0.0/16") == kaError(2, 5, "198.18.0.0/16 stands for more than 4096 addresses; lvsd makes one service per address"))
        #expect(entry("198.18.0.1/24") == kaError(2, 5, "198.18.0.1/24 has host bits set; write the network address, such as 198.18.0.0/24"))
        #expect(entry("198.18.0.1/33") == kaError(2, 16, "invalid prefix length '33'; give a whole number from 1 to 32"))
        #expect(entry("2001:db8::1-2001:db9::1") == kaError(2, 5, "2001:db8::1-2001:db9::1 stands for more than 4096 addresses; lvsd makes one service per address"))
        #expect(entry("198.18.0.1-2001:db8::1") == kaError(2, 16, "invalid range end '2001:db8::1'; give a whole number from 0 to 255"))
    }

    @Test func localAddressGroupGivesFullNATItsLocalAddresses() {
        let config = keepalived("""
            local_address_group laddr_g1 {
                198.18.2.240 dpdk0.102
                198.18.2.241-242 dpdk0.102
            }
            virtual_server 198.18.0.1 80 {
                protocol TCP
                lb_kind FNAT
                laddr_group_name laddr_g1
                real_server 198.18.1.30 80 {
                }
            }
            """)
        #expect(config.director.services.first?.localAddresses == [ip("198.18.2.240"), ip("198.18.2.241"), ip("198.18.2.242")])
        #expect(onlyVirtualServer(config).localAddressGroup == "laddr_g1")
        #expect(keepalivedError("virtual_server 198.18.0.1 80 {\n    protocol TCP\n    laddr_group_name none\n    real_server 198.18.1.1 80\n}") ==
            kaError(3, 22, "no local_address_group named 'none'"))
        #expect(keepalivedError("local_address_group l {\n    198.18.2.1\n    198.18.2.1\n}\nvirtual_server 198.18.0.1 80 {\n    protocol TCP\n    laddr_group_name l\n    real_server 198.18.1.1 80\n}") ==
            kaError(3, 5, "local address 198.18.2.1 is listed twice for service TCP 198.18.0.1:80"))
    }

    /// The first virtual server of DPVS's own example (iqiyi/dpvs doc/containerized/keepalived.conf),
    /// addresses moved into 198.18.0.0/15.
    @Test func dpvsFullNATExample() {
        let config = keepalived("""
            global_defs {
                script_user root
                enable_script_security
            }

            local_address_group laddr_g1 {
                198.18.88.240 dpdk0.102
                198.18.88.241 dpdk0.102
            }

            virtual_server_group 198.18.88.1-80-TCP_QLB {
                198.18.88.1 80
            }

            virtual_server group 198.18.88.1-80-TCP_QLB {
                delay_loop 3
                lb_algo rr
                lb_kind FNAT
                protocol TCP

                establish_timeout 60
                daddr_group_name 198.18.88.1_deny
                laddr_group_name laddr_g1

                real_server 198.18.88.30 80 {
                    weight 100
                    inhibit_on_failure
                    TCP_CHECK {
                        retry 1
                        connect_timeout 1
                        connect_port 80
                    }
                }

                real_server 198.18.88.130 80 {
                    weight 100
                    inhibit_on_failure
                    TCP_CHECK {
                        retry 1
                        connect_timeout 1
                        connect_port 80
                    }

                }
            }

            deny_address_group 198.18.88.1_deny {
            }
            """)
        #expect(config.director.services == [VirtualServiceConfig(
            key: tcp("198.18.88.1", 80), scheduler: .roundRobin,
            realServers: [RealServerConfig(address: ip("198.18.88.30"), port: 80, weight: 100, method: .fullNAT),
                          RealServerConfig(address: ip("198.18.88.130"), port: 80, weight: 100, method: .fullNAT)],
            localAddresses: [ip("198.18.88.240"), ip("198.18.88.241")])])
        let checker = config.virtualServers.first?.realServers.first?.checkers.first
        #expect(checker == KeepalivedChecker(kind: .tcp, connection: KeepalivedCheckerConnection(port: 80, connectTimeout: .seconds(1)),
                                             timing: KeepalivedCheckerTiming(delayLoop: .seconds(3), retry: 1, delayBeforeRetry: .seconds(1))))
        #expect(messages(config) == [
            "virtual_server option 'establish_timeout' is ignored: lvsd uses the global TCP timeouts for every service (set them with global_defs lvs_timeouts)",
            "'daddr_group_name 198.18.88.1_deny' names an empty deny_address_group; it changes nothing and is ignored",
        ])
    }

    @Test func nonEmptyAccessListIsRefused() {
        #expect(keepalivedError("""
            deny_address_group bad {
                198.18.9.9
            }
            virtual_server 198.18.0.1 80 {
                protocol TCP
                daddr_group_name bad
                real_server 198.18.1.1 80
            }
            """) == kaError(6, 5, "'daddr_group_name' names the non-empty deny_address_group bad, but lvsd has no access lists; remove it or empty the group"))
    }
}
