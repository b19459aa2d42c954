import Control
import Core
import Foundation
import Testing
import Wire

/// Seed 002's keepalived.conf (../shared/seeds/002_fd7ad0aa2facbdd6.txt), kept verbatim in
/// Fixtures/, and round trips through the rules file.
@Suite struct KeepalivedSeedTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let seedPath = fixtures.appendingPathComponent("seed-002-keepalived.conf").path

    @Test func seedParsesToItsServiceServersAndCheckers() throws {
        let config = try KeepalivedFile.load(path: Self.seedPath)
        #expect(config.director.services == [
            VirtualServiceConfig(key: tcp("192.168.58.133", 80), scheduler: .roundRobin, persistence: Persistence(timeout: 50, prefixLength: 32),
                                 realServers: [
                                     RealServerConfig(address: ip("192.168.58.135"), port: 80, weight: 1, method: .directRouting),
                                     RealServerConfig(address: ip("192.168.58.136"), port: 80, weight: 1, method: .directRouting),
                                 ]),
        ])
        let expectedChecker = KeepalivedChecker(
            kind: .http(KeepalivedHTTPCheck(urls: [KeepalivedURL(path: "/", digest: [
                0xAA, 0x15, 0x02, 0x55, 0xDA, 0x35, 0x87, 0x0C, 0x21, 0x8C, 0x9B, 0xE8, 0xCE, 0xA3, 0x10, 0xF3,
            ])])),
            connection: KeepalivedCheckerConnection(port: 80, connectTimeout: .seconds(3)),
            timing: KeepalivedCheckerTiming(delayLoop: .seconds(6), retry: 3, delayBeforeRetry: .seconds(3), warmup: .seconds(6), alpha: false))
        let vs = onlyVirtualServer(config)
        #expect(vs.realServers.map(\.checkers) == [[expectedChecker], [expectedChecker]])
        #expect(vs.checkerDefaults.delayLoop == .seconds(6))
        #expect(vs.method == .directRouting)
        #expect(config.checkers.map(\.destination) == [Endpoint(ip("192.168.58.135"), 80), Endpoint(ip("192.168.58.136"), 80)])
        // The VRRP instance is kept word for word for the HA issue.
        #expect(outline(config.vrrp.instances) == "vrrp_instance LVS { state MASTER; interface eno16777736; virtual_router_id 51; priority 100; advert_int 1; authentication { auth_type PASS; auth_pass 1111 }; virtual_ipaddress { 192.168.58.133 } }")
        #expect(config.warnings == [
            ConfigWarning(file: Self.seedPath, line: 30, column: 13, message: "'nb_get_retry' is deprecated; keepalived and lvsd read it as 'retry', write that instead"),
            ConfigWarning(file: Self.seedPath, line: 44, column: 13, message: "'nb_get_retry' is deprecated; keepalived and lvsd read it as 'retry', write that instead"),
        ])
    }

    @Test func seedIsTheSameServiceAsTheSeedsIpvsadmCommands() throws {
        // The blog post's ipvsadm commands (SeedCommandTests) plus the -p 50 keepalived adds.
        let rules = try RulesFile.parse("""
            -A -t 192.168.58.133:80 -s rr -p 50
            -a -t 192.168.58.133:80 -r 192.168.58.135:80 -g
            -a -t 192.168.58.133:80 -r 192.168.58.136:80 -g
            """, file: rulesFile)
        #expect(try KeepalivedFile.load(path: Self.seedPath).director == rules)
    }

    @Test func seedSavesAsIpvsadmWouldListIt() throws {
        let config = try KeepalivedFile.load(path: Self.seedPath)
        #expect(RulesWriter.save(config.director) == """
            -A -t 192.168.58.133:80 -s rr -p 50
            -a -t 192.168.58.133:80 -r 192.168.58.135:80 -g -w 1
            -a -t 192.168.58.133:80 -r 192.168.58.136:80 -g -w 1

            """)
    }

    /// keepalived.conf → DirectorConfig → RulesWriter text → RulesFile.parse → the same DirectorConfig.
    @Test(arguments: [
        "seed",
        """
        global_defs {
            lvs_timeouts tcp 7200 tcpfin 60 udp 120
        }
        lvsd_director {
            interface eth0 mac 02:00:00:00:00:01 address 198.18.0.1 address 2001:db8::1
            interface eth1 mac 02:00:00:00:00:02 mtu 9000
            neighbour 198.18.1.1 mac 02:00:00:00:01:01 interface eth1
        }
        local_address_group lips {
            198.18.2.1-3 dpdk0
        }
        virtual_server_group v6 {
            2001:db8::10-11 443
        }
        virtual_server 198.18.0.10 80 {
            protocol TCP
            lb_algo sh
            sh-port
            sh-fallback
            lb_kind NAT
            persistence_timeout 900
            persistence_granularity 255.255.255.0
            real_server 198.18.1.1 8080 {
                weight 3
                uthreshold 100
                lthreshold 50
            }
            real_server 198.18.1.2 8080 {
                weight 0
                lvs_method DR
            }
            real_server 2001:db8::99 80 {
                lvs_method TUN
            }
        }
        virtual_server 198.18.0.20 53 {
            protocol UDP
            lb_algo mh
            mh-port
            lb_kind FNAT
            laddr_group_name lips
            real_server 198.18.1.5 5353 {
            }
        }
        virtual_server group v6 {
            protocol TCP
            lvs_sched wrr
            persistence_granularity 48
            real_server 2001:db8::1 8443 {
                weight 65535
            }
        }
        """,
    ])
    func roundTripThroughTheRulesFile(text: String) throws {
        let config = text == "seed" ? try KeepalivedFile.load(path: Self.seedPath) : try KeepalivedFile.parse(text, file: keepalivedFile)
        #expect(!config.director.services.isEmpty)
        let saved = RulesWriter.save(config.director)
        #expect(try RulesFile.parse(saved, file: "saved.rules") == config.director)
    }

    @Test func roundTripSampleKeepsEverything() throws {
        let config = try KeepalivedFile.parse("""
            virtual_server 198.18.0.20 53 {
                protocol UDP
                lb_kind FNAT
                real_server 198.18.1.5 5353 {
                }
            }
            """, file: keepalivedFile)
        #expect(RulesWriter.save(config.director) == "-A -u 198.18.0.20:53 -s wlc\n-a -u 198.18.0.20:53 -r 198.18.1.5:5353 -b -w 1\n")
    }
}

/// `ConfigFile`: one entry point for both formats.
@Suite struct ConfigFileTests {
    @Test func detectsTheFormatFromTheFirstStatement() {
        #expect(ConfigFile.Format.detect("# rules\n\n-A -t 198.18.0.10:80 -s rr\n") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("ipvsadm -A -t 198.18.0.10:80\n") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("interface eth0 mac 02:00:00:00:00:01\n") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("neighbor 198.18.1.1 mac 02:00:00:00:01:01\n") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("--set 900 120 300\n") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("") == .ipvsadmRules)
        #expect(ConfigFile.Format.detect("! Configuration File for keepalived\n\nglobal_defs {\n}\n") == .keepalived)
        #expect(ConfigFile.Format.detect("   virtual_server 198.18.0.10 80 {") == .keepalived)
        #expect(ConfigFile.Format.detect("include /etc/keepalived/conf.d/*.conf\n") == .keepalived)
        #expect(ConfigFile.Format.detect("vrrp_instance{\n") == .keepalived)
    }

    @Test func loadsEitherFormat() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("director.rules")
        try write("-A -t 198.18.0.10:80 -s rr\n-a -t 198.18.0.10:80 -r 198.18.1.1 -m\n", to: rules)
        let fromRules = try ConfigFile.load(path: rules.path)
        #expect(fromRules.format == .ipvsadmRules && fromRules.keepalived == nil && fromRules.warnings.isEmpty)
        #expect(fromRules.files == [rules.path])

        let conf = dir.appendingPathComponent("keepalived.conf")
        try write("virtual_server 198.18.0.10 80 {\n    lb_algo rr\n    real_server 198.18.1.1 80 {\n    }\n}\n", to: conf)
        let fromKeepalived = try ConfigFile.load(path: conf.path)
        #expect(fromKeepalived.format == .keepalived)
        #expect(fromKeepalived.director == fromRules.director)
        #expect(fromKeepalived.warnings.map(\.line) == [1])
        #expect(fromKeepalived.keepalived?.virtualServers.count == 1)
    }

    @Test func errorsOfEitherFormatNameFileLineAndColumn() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("bad.rules")
        try write("-A -t 198.18.0.10:80 -s xyz\n", to: rules)
        #expect(throws: ConfigError(file: rules.path, line: 1, column: 25, message: "unknown scheduler 'xyz' (known: \(knownSchedulers))")) {
            try ConfigFile.load(path: rules.path)
        }
        let conf = dir.appendingPathComponent("bad.conf")
        try write("virtual_server 198.18.0.10 80 {\n    lb_algo xyz\n}\n", to: conf)
        #expect(throws: ConfigError(file: conf.path, line: 2, column: 13, message: "unknown scheduler 'xyz' (known: \(knownSchedulers))")) {
            try ConfigFile.load(path: conf.path)
        }
    }

    @Test func forcedFormatOverridesDetection() throws {
        let loaded = try ConfigFile.parse("# looks like rules\n", file: "x.conf", format: .keepalived)
        #expect(loaded.format == .keepalived)
        #expect(throws: ConfigError.self) { try ConfigFile.parse("global_defs {\n}\n", file: "x.rules", format: .ipvsadmRules) }
    }
}
