import Control
import Core
import Testing
import Wire

/// `virtual_server` keywords (keepalived/check/check_parser.c) and their mapping into the
/// director's services with the rules file's semantics.
@Suite struct KeepalivedVirtualServerTests {
    static let oneServer = "    real_server 198.18.1.1 80 {\n    }"

    @Test func defaultsAreKeepalivedsNATAndWlc() {
        let config = keepalived(virtualServer(Self.oneServer))
        let vs = onlyVirtualServer(config)
        #expect(vs.address == .endpoint(ip("198.18.0.10"), 80))
        #expect(vs.services == [tcp("198.18.0.10", 80)])
        #expect(vs.scheduler == .weightedLeastConnection)
        #expect(vs.method == .nat)
        #expect(vs.persistence == nil)
        #expect(vs.weight == 1 && vs.quorum == 1 && vs.hysteresis == 0)
        #expect(!vs.alpha && !vs.omega && !vs.inhibitOnFailure)
        #expect(vs.checkerDefaults == KeepalivedCheckerDefaults())
        #expect(config.director.services == [
            VirtualServiceConfig(key: tcp("198.18.0.10", 80), scheduler: .weightedLeastConnection, realServers: [
                RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 1, method: .nat),
            ]),
        ])
        #expect(config.warnings.isEmpty)
    }

    @Test func protocolLeftOutIsTCPWithAWarning() {
        let config = keepalived("virtual_server 198.18.0.10 80 {\n    real_server 198.18.1.1 80 {\n    }\n}")
        #expect(config.director.services.first?.key == tcp("198.18.0.10", 80))
        #expect(config.warnings == [kaWarning(1, 1,
            "virtual_server 198.18.0.10 80 gives no 'protocol'; lvsd uses TCP (keepalived 2.x would use UDP and complain); write 'protocol TCP' to be explicit")])
    }

    @Test func udpProtocolIsCaseInsensitiveAndSCTPIsRefused() {
        let config = keepalived("virtual_server 198.18.0.10 53 {\n    protocol udp\n" + Self.oneServer + "\n}")
        #expect(config.director.services.first?.key == udp("198.18.0.10", 53))
        #expect(keepalivedError("virtual_server 198.18.0.10 53 {\n    protocol SCTP\n}") ==
            kaError(2, 14, "SCTP services are not supported by lvsd; give TCP or UDP"))
        #expect(keepalivedError("virtual_server 198.18.0.10 53 {\n    protocol ICMP\n}") ==
            kaError(2, 14, "unknown protocol 'ICMP'; give TCP or UDP"))
    }

    @Test(arguments: ["lb_algo", "lvs_sched"])
    func everyKeepalivedSchedulerIsKnown(keyword: String) {
        for name in ["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"] {
            let config = keepalived(virtualServer("    \(keyword) \(name)\n" + Self.oneServer))
            #expect(config.director.services.first?.scheduler.rawValue == name)
        }
    }

    @Test func unknownSchedulerNamesTheKnownOnes() {
        #expect(keepalivedError(virtualServer("    lb_algo conhash\n" + Self.oneServer)) ==
            kaError(3, 13, "unknown scheduler 'conhash' (known: \(knownSchedulers))"))
    }

    @Test func schedulerFlagsFollowTheScheduler() {
        let config = keepalived(virtualServer("    sh-port\n    lb_algo sh\n    sh-fallback\n    flag-3\n" + Self.oneServer))
        #expect(config.director.services.first?.schedulerFlags == [.port, .fallback, .flag3])
        let mh = keepalived(virtualServer("    lvs_sched mh\n    mh-port\n" + Self.oneServer))
        #expect(mh.director.services.first?.schedulerFlags == [.port])
        #expect(keepalivedError(virtualServer("    lb_algo rr\n    sh-port\n" + Self.oneServer)) ==
            kaError(4, 5, "scheduler flag 'sh-port' belongs to the sh scheduler, but this virtual_server uses rr"))
    }

    @Test(arguments: [("NAT", ForwardingMethod.nat), ("DR", .directRouting), ("TUN", .tunnel), ("FNAT", .fullNAT), ("FULLNAT", .fullNAT)])
    func forwardingMethods(word: String, method: ForwardingMethod) {
        for keyword in ["lb_kind", "lvs_method"] {
            let vs = onlyVirtualServer(keepalived(virtualServer("    \(keyword) \(word)\n" + Self.oneServer)))
            #expect(vs.method == method)
            #expect(vs.realServers.first?.method == method)
        }
    }

    @Test func tunnelTypesPortsAndChecksums() {
        let vs = onlyVirtualServer(keepalived(virtualServer("    lvs_method TUN type ipip nocsum\n" + Self.oneServer)))
        #expect(vs.method == .tunnel)
        #expect(vs.tunnel == .ipip)
        let gue = onlyVirtualServer(keepalived(virtualServer("    lvs_method TUN type gue port 6080 csum\n" + Self.oneServer)))
        #expect(gue.tunnel == TunnelSettings(kind: .gue, port: 6080, checksum: .checksum))
        #expect(gue.realServers.first?.tunnel == gue.tunnel)
        let gre = onlyVirtualServer(keepalived(virtualServer("    lvs_method TUN type gre\n" + Self.oneServer)))
        #expect(gre.tunnel == TunnelSettings(kind: .gre))
        #expect(keepalivedError(virtualServer("    lvs_method TUN type gue\n" + Self.oneServer)) ==
            kaError(3, 25, "a GUE tunnel needs the real server's GUE port: add port N"))
        let remote = onlyVirtualServer(keepalived(virtualServer("    lvs_method TUN type gue port 6080 remcsum\n" + Self.oneServer)))
        #expect(remote.tunnel == TunnelSettings(kind: .gue, port: 6080, checksum: .remote))
        #expect(keepalivedError(virtualServer("    lvs_method TUN type gre remcsum\n" + Self.oneServer)) ==
            kaError(3, 29, "remcsum (GUE remote checksum offload) applies to GUE tunnels only; drop it or give type gue"))
        #expect(keepalivedError(virtualServer("    lvs_method TUN type gue csum remcsum\n" + Self.oneServer)) ==
            kaError(3, 34, "'remcsum' conflicts with 'csum'; give one checksum option"))
        #expect(keepalivedError(virtualServer("    lvs_method TUN type vxlan\n" + Self.oneServer)) ==
            kaError(3, 25, "tunnel type 'vxlan' is not one of ipip, gue and gre"))
        #expect(keepalivedError(virtualServer("    lvs_method TUN csum\n" + Self.oneServer)) ==
            kaError(3, 20, "csum applies to GUE and GRE tunnels only; drop it or give type gue or gre"))
        #expect(keepalivedError(virtualServer("    lb_kind DR type ipip\n" + Self.oneServer)) ==
            kaError(3, 16, "unexpected 'type' after 'lb_kind DR'; only TUN takes tunnel options"))
    }

    @Test func unknownMethodSuggestsKeepalivedsSpelling() {
        #expect(keepalivedError(virtualServer("    lb_kind dr\n" + Self.oneServer)) ==
            kaError(3, 13, "unknown forwarding method 'dr'; give NAT, DR, TUN or FNAT; keepalived spells it DR"))
        #expect(keepalivedError(virtualServer("    lb_kind SNAT\n" + Self.oneServer)) ==
            kaError(3, 13, "DPVS's SNAT forwarding is not supported by lvsd; give NAT, DR, TUN or FNAT"))
    }

    @Test func persistenceTimeoutAndGranularity() {
        let bare = onlyVirtualServer(keepalived(virtualServer("    persistence_timeout\n" + Self.oneServer)))
        #expect(bare.persistence == Persistence(timeout: 360, prefixLength: 32))
        let masked = keepalived(virtualServer("    persistence_timeout 600\n    persistence_granularity 255.255.255.0\n" + Self.oneServer))
        #expect(masked.director.services.first?.persistence == Persistence(timeout: 600, prefixLength: 24))
        // keepalived's pgr_handler: a granularity alone makes the service persistent for 360 s.
        let implied = keepalived(virtualServer("    persistence_granularity 255.255.0.0\n" + Self.oneServer))
        #expect(implied.director.services.first?.persistence == Persistence(timeout: 360, prefixLength: 16))
        let v6 = keepalived(virtualServer("2001:db8::10 443", "    persistence_timeout 60\n    persistence_granularity 64\n    real_server 2001:db8::1 443 {\n    }"))
        #expect(v6.director.services.first?.persistence == Persistence(timeout: 60, prefixLength: 64))
    }

    @Test func persistenceErrors() {
        #expect(keepalivedError(virtualServer("    persistence_timeout 0\n" + Self.oneServer)) ==
            kaError(3, 25, "invalid persistence timeout '0'; give a whole number from 1 to 2678400"))
        #expect(keepalivedError(virtualServer("    persistence_granularity 255.0.255.0\n" + Self.oneServer)) ==
            kaError(3, 29, "netmask 255.0.255.0 is not contiguous; its one-bits must all come first, as in 255.255.255.0"))
        #expect(keepalivedError(virtualServer("2001:db8::10 443", "    persistence_granularity 129\n    real_server 2001:db8::1 443 {\n    }")) ==
            kaError(3, 29, "invalid IPv6 persistence prefix length '129'; give a number from 1 to 128"))
    }

    @Test func portZeroOnlyForPersistentServices() {
        let persistent = keepalived(virtualServer("198.18.0.10", "    persistence_timeout 300\n    lb_kind DR\n" + Self.oneServer))
        #expect(persistent.director.services.first?.key == tcp("198.18.0.10", 0))
        #expect(persistent.director.services.first?.realServers.first?.port == 0)
        #expect(keepalivedError(virtualServer("198.18.0.10 0", Self.oneServer)) ==
            kaError(1, 16, "virtual service TCP 198.18.0.10:0 has no port, which only a persistent service may have; give a port or add persistence_timeout"))
    }

    @Test func ipv6VirtualServer() {
        let config = keepalived(virtualServer("2001:db8::10 443", """
                lb_algo sh
                lb_kind FNAT
                real_server 2001:db8::1 8443 {
                    weight 5
                }
                real_server 2001:db8::2 {
                }
            """))
        #expect(config.director.services == [
            VirtualServiceConfig(key: tcp("2001:db8::10", 443), scheduler: .sourceHashing, realServers: [
                RealServerConfig(address: ip("2001:db8::1"), port: 8443, weight: 5, method: .fullNAT),
                RealServerConfig(address: ip("2001:db8::2"), port: 443, weight: 1, method: .fullNAT),
            ]),
        ])
        #expect(onlyVirtualServer(config).realServers.map(\.port) == [8443, 443])
    }

    @Test func ipFamilyMustMatch() {
        _ = keepalived(virtualServer("    ip_family inet\n" + Self.oneServer))
        #expect(keepalivedError(virtualServer("    ip_family inet6\n" + Self.oneServer)) ==
            kaError(3, 15, "ip_family inet6 does not match the virtual server's IPv4 address"))
    }

    @Test func firewallMarkVirtualServerNeedsItsMark() {
        #expect(keepalivedError("virtual_server fwmark {\n    protocol TCP\n}") ==
            kaError(1, 16, "'virtual_server fwmark' needs the mark, e.g. 'virtual_server fwmark 1'"))
        #expect(keepalivedError("virtual_server fwmark 0 {\n    protocol TCP\n}")?.message.contains("fwmark") == true)
    }

    @Test func badAddressesAndPorts() {
        #expect(keepalivedError("virtual_server www.example.com 80 {\n}") ==
            kaError(1, 16, "'www.example.com' is not an IP address; keepalived.conf takes numeric virtual server addresses, not host names"))
        #expect(keepalivedError("virtual_server 198.18.0.10 http {\n}") ==
            kaError(1, 28, "invalid virtual server port 'http'; give a whole number from 1 to 65535"))
        #expect(keepalivedError("virtual_server 198.18.0.10 65536 {\n}") ==
            kaError(1, 28, "invalid virtual server port '65536'; give a whole number from 1 to 65535"))
        #expect(keepalivedError("virtual_server 198.18.0.10 80\n") ==
            kaError(1, 1, "'virtual_server' needs a { } block; write 'virtual_server IP [PORT] { ... }'"))
    }

    @Test func checkerDefaultsAndRegressionOptionsAreKept() {
        let vs = onlyVirtualServer(keepalived(virtualServer("""
                delay_loop 6
                connect_timeout 2.5
                retry 4
                delay_before_retry 0.25
                warmup 0
                inhibit_on_failure
                alpha
                omega
                quorum 2
                hysteresis 1
                quorum_up "/usr/local/bin/up 'pool 1'" lvs :ops
                quorum_down /usr/local/bin/down
                virtualhost www.example.com
                weight 7
                real_server 198.18.1.1 80 {
                }
            """)))
        #expect(vs.checkerDefaults == KeepalivedCheckerDefaults(connectTimeout: .milliseconds(2500), retry: 4, delayBeforeRetry: .milliseconds(250),
                                                                warmup: .zero, delayLoop: .seconds(6), alpha: true))
        #expect(vs.inhibitOnFailure && vs.alpha && vs.omega)
        #expect(vs.quorum == 2 && vs.hysteresis == 1)
        #expect(vs.quorumUp == KeepalivedScript(command: "/usr/local/bin/up 'pool 1'", user: "lvs", group: ":ops"))
        #expect(vs.quorumUp?.arguments == ["/usr/local/bin/up", "pool 1"])
        #expect(vs.quorumDown?.arguments == ["/usr/local/bin/down"])
        #expect(vs.virtualhost == "www.example.com")
        #expect(vs.weight == 7)
        // The virtual server's weight, inhibit and alpha are its real servers' defaults.
        #expect(vs.realServers.first?.weight == 7)
        #expect(vs.realServers.first?.inhibitOnFailure == true)
        #expect(vs.realServers.first?.alpha == true)
    }

    @Test func quorumAboveTotalWeightIsLoweredWithAWarning() {
        let config = keepalived(virtualServer("""
                quorum 10
                hysteresis 5
                real_server 198.18.1.1 80 {
                    weight 2
                }
                real_server 198.18.1.2 80 {
                    weight 1
                }
            """))
        let vs = onlyVirtualServer(config)
        #expect(vs.quorum == 3 && vs.hysteresis == 2)
        #expect(config.warnings == [
            kaWarning(3, 5, "quorum 10 exceeds the real servers' total weight 3; lowering it to 3, as keepalived does"),
            kaWarning(4, 5, "hysteresis 5 is not below the quorum 3; lowering it to 2, as keepalived does"),
        ])
    }

    @Test func sorryServer() {
        let config = keepalived(virtualServer("""
                lb_kind DR
                sorry_server 198.18.2.1 8080
                sorry_server_inhibit
                real_server 198.18.1.1 80 {
                }
            """))
        let vs = onlyVirtualServer(config)
        #expect(vs.sorryServer == KeepalivedSorryServer(address: ip("198.18.2.1"), port: 80, method: .directRouting, inhibit: true))
        #expect(config.warnings == [kaWarning(4, 29, "sorry server 198.18.2.1 port 8080 differs from the virtual server's 80; DR cannot change the port, so it is 80, as keepalived resets it")])
        // The sorry server is kept for the health checks; the director does not serve it yet.
        #expect(config.director.services.first?.realServers.map(\.address) == [ip("198.18.1.1")])
        let nat = onlyVirtualServer(keepalived(virtualServer("""
                sorry_server 198.18.2.1 8080
                sorry_server_lvs_method NAT
                real_server 198.18.1.1 80 {
                }
            """)))
        #expect(nat.sorryServer == KeepalivedSorryServer(address: ip("198.18.2.1"), port: 8080, method: .nat))
        #expect(keepalivedError(virtualServer("    sorry_server_inhibit\n" + Self.oneServer)) ==
            kaError(3, 5, "'sorry_server_inhibit' is given without a sorry_server; add 'sorry_server IP [PORT]'"))
        #expect(keepalivedError(virtualServer("    sorry_server 2001:db8::1 80\n" + Self.oneServer)) ==
            kaError(3, 18, "sorry server 2001:db8::1 is IPv6 but the virtual server is IPv4; only a TUN sorry server may differ"))
    }

    @Test func virtualServerWithoutRealServersIsLeftOutWithAWarning() {
        let config = keepalived(virtualServer("    lb_algo rr"))
        #expect(config.virtualServers.isEmpty)
        #expect(config.director.services.isEmpty)
        #expect(config.warnings == [kaWarning(1, 1, "virtual_server 198.18.0.10 80 has no real servers; keepalived ignores it, and so does lvsd")])
    }

    @Test func duplicateServiceIsAnError() {
        let text = virtualServer(Self.oneServer) + "\n" + virtualServer(Self.oneServer)
        #expect(keepalivedError(text) == kaError(6, 16, "virtual service TCP 198.18.0.10:80 is already declared at keepalived.conf:1:16"))
        // The same address and port over UDP is another service.
        let both = keepalived(virtualServer(Self.oneServer) + "\n" + virtualServer(Self.oneServer).replacingOccurrences(of: "protocol TCP", with: "protocol UDP"))
        #expect(both.director.services.map(\.key) == [tcp("198.18.0.10", 80), udp("198.18.0.10", 80)])
    }

    @Test func ignoredOptionsWarnAndRefusedOnesFail() {
        let config = keepalived(virtualServer("    ha_suspend\n    smtp_alert\n    hashed\n    snmp_name web\n" + Self.oneServer))
        #expect(config.warnings == [
            kaWarning(3, 5, "virtual_server option 'ha_suspend' is ignored: lvsd does not suspend checkers while the VIP is absent"),
            kaWarning(4, 5, "virtual_server option 'smtp_alert' is ignored: lvsd sends no e-mail"),
            kaWarning(5, 5, "virtual_server option 'hashed' is ignored: it has no effect on current kernels and none in lvsd"),
            kaWarning(6, 5, "virtual_server option 'snmp_name' is ignored: lvsd has no SNMP agent"),
        ])
        #expect(keepalivedError(virtualServer("    persistence_engine sip\n" + Self.oneServer)) ==
            kaError(3, 5, "'persistence_engine' is refused: persistence engines (such as sip) are not supported by lvsd (the rules file refuses --pe too); persistence_timeout keeps a client on one real server"))
    }

    @Test func unknownKeywordSuggestsTheClosestOne() {
        #expect(keepalivedError(virtualServer("    delay_lop 6\n" + Self.oneServer)) ==
            kaError(3, 5, "unknown keyword 'delay_lop' in virtual_server; did you mean 'delay_loop'?"))
        #expect(keepalivedError(virtualServer("    frobnicate\n" + Self.oneServer)) ==
            kaError(3, 5, "unknown keyword 'frobnicate' in virtual_server (Docs/keepalived-conf.md lists what lvsd reads)"))
    }

    @Test func argumentCountsAreChecked() {
        #expect(keepalivedError(virtualServer("    delay_loop\n" + Self.oneServer)) ==
            kaError(3, 5, "'delay_loop' needs a value; write 'delay_loop SECONDS'"))
        #expect(keepalivedError(virtualServer("    delay_loop 6 7\n" + Self.oneServer)) ==
            kaError(3, 18, "unexpected '7' after 'delay_loop'; write 'delay_loop SECONDS', one option per line"))
        #expect(onlyVirtualServer(keepalived(virtualServer("    omega yes\n" + Self.oneServer))).omega)
        #expect(keepalivedError(virtualServer("    alpha maybe\n" + Self.oneServer)) ==
            kaError(3, 11, "invalid alpha value 'maybe'; give on, off, true, false, yes or no"))
    }

    @Test func timersTakeDecimalSeconds() {
        #expect(keepalivedError(virtualServer("    delay_loop 1.1234567\n" + Self.oneServer)) ==
            kaError(3, 16, "delay_loop '1.1234567' has more than six decimal places; keepalived timers count microseconds"))
        #expect(keepalivedError(virtualServer("    delay_loop 0\n" + Self.oneServer)) ==
            kaError(3, 16, "delay_loop 0 is out of range; give more than 0 and at most 4294967295 seconds"))
        #expect(keepalivedError(virtualServer("    connect_timeout 4294.967296\n" + Self.oneServer)) ==
            kaError(3, 21, "connect_timeout 4294.967296 is out of range; give more than 0 and at most 4294.967295 seconds"))
        #expect(keepalivedError(virtualServer("    connect_timeout 5s\n" + Self.oneServer)) ==
            kaError(3, 21, "invalid connect_timeout '5s'; give seconds, such as 3 or 2.5"))
    }
}
