import Control
import Core
import Testing
import Wire

/// `real_server` keywords and the port, family and duplicate rules the director mapping
/// shares with the rules file.
@Suite struct KeepalivedRealServerTests {
    @Test func everyRealServerOption() {
        let config = keepalived(virtualServer("""
                lb_kind NAT
                real_server 198.18.1.1 8080 {
                    weight 5
                    uthreshold 1000
                    lthreshold 800
                    inhibit_on_failure
                    alpha off
                    notify_up "/usr/local/bin/rs-up 'web 1'" nobody
                    notify_down /usr/local/bin/rs-down
                    retry 2
                    delay_before_retry 1.5
                    warmup 3
                    connect_timeout 4
                    delay_loop 10
                    virtualhost rs1.example.com
                }
            """))
        let rs = onlyVirtualServer(config).realServers.first
        #expect(rs == KeepalivedRealServer(
            address: ip("198.18.1.1"), port: 8080, weight: 5, method: .nat, upperThreshold: 1000, lowerThreshold: 800,
            inhibitOnFailure: true, alpha: false,
            notifyUp: KeepalivedScript(command: "/usr/local/bin/rs-up 'web 1'", user: "nobody"),
            notifyDown: KeepalivedScript(command: "/usr/local/bin/rs-down"), virtualhost: "rs1.example.com",
            checkerDefaults: KeepalivedCheckerDefaults(connectTimeout: .seconds(4), retry: 2, delayBeforeRetry: .milliseconds(1500),
                                                       warmup: .seconds(3), delayLoop: .seconds(10), alpha: false)))
        #expect(rs?.notifyUp?.arguments == ["/usr/local/bin/rs-up", "web 1"])
        #expect(config.director.services.first?.realServers == [
            RealServerConfig(address: ip("198.18.1.1"), port: 8080, weight: 5, method: .nat, upperThreshold: 1000, lowerThreshold: 800),
        ])
    }

    @Test func realServerMethodOverridesTheVirtualServers() {
        let config = keepalived(virtualServer("""
                lb_kind DR
                real_server 198.18.1.1 80 {
                }
                real_server 198.18.1.2 80 {
                    lvs_method TUN
                }
                real_server 198.18.1.3 8080 {
                    lvs_method NAT
                }
            """))
        #expect(config.director.services.first?.realServers.map(\.method) == [.directRouting, .tunnel, .nat])
        #expect(config.director.services.first?.realServers.map(\.port) == [80, 80, 8080])
    }

    @Test func portLeftOutIsTheServicesForEveryMethod() {
        for method in ["NAT", "DR", "TUN", "FNAT"] {
            let config = keepalived(virtualServer("    lb_kind \(method)\n    real_server 198.18.1.1 {\n    }"))
            #expect(config.director.services.first?.realServers.first?.port == 80)
            #expect(config.warnings.isEmpty)
        }
    }

    @Test func directRoutingPortMismatchIsResetWithAWarning() {
        let config = keepalived(virtualServer("    lb_kind DR\n    real_server 198.18.1.1 8080 {\n    }"))
        #expect(config.director.services.first?.realServers.first?.port == 80)
        #expect(onlyVirtualServer(config).realServers.first?.port == 80)
        #expect(config.warnings == [kaWarning(4, 28,
            "real server 198.18.1.1 port 8080 differs from service TCP 198.18.0.10:80's; DR cannot change the port, so it is 80, as keepalived resets it")])
    }

    @Test func weightRangeAndDefaults() {
        let config = keepalived(virtualServer("    real_server 198.18.1.1 80 {\n        weight 0\n    }"))
        #expect(config.director.services.first?.realServers.first?.weight == 0)
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        weight 65536\n    }")) ==
            kaError(4, 16, "invalid weight '65536'; give a whole number from 0 to 65535"))
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        weight -1\n    }")) ==
            kaError(4, 16, "invalid weight '-1'; give a whole number from 0 to 65535"))
    }

    @Test func lowerThresholdAboveUpperIsRefusedAsTheKernelDoes() {
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        lthreshold 10\n    }")) ==
            kaError(4, 20, "lthreshold 10 is above uthreshold 0; give uthreshold at least 10"))
    }

    @Test func duplicateRealServerIsAnError() {
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n    }\n    real_server 198.18.1.1 80 {\n    }")) ==
            kaError(5, 17, "real server 198.18.1.1:80 is already in service TCP 198.18.0.10:80"))
        // DR servers all take the service's port, so two ports of one address collide.
        #expect(keepalivedError(virtualServer("    lb_kind DR\n    real_server 198.18.1.1 80 {\n    }\n    real_server 198.18.1.1 81 {\n    }")) ==
            kaError(6, 17, "real server 198.18.1.1:80 is already in service TCP 198.18.0.10:80"))
    }

    @Test func onlyTunnelledServersMayBeOfTheOtherFamily() {
        #expect(keepalivedError(virtualServer("    real_server 2001:db8::1 80 {\n    }")) ==
            kaError(3, 17, "real server 2001:db8::1 is IPv6 but service TCP 198.18.0.10:80 is IPv4; only TUN (lvs_method TUN) may mix address families"))
        let config = keepalived(virtualServer("    real_server 2001:db8::1 80 {\n        lvs_method TUN\n    }"))
        #expect(config.director.services.first?.realServers.first?.address == ip("2001:db8::1"))
    }

    @Test func blocklessRealServerTakesEveryDefault() {
        let config = keepalived(virtualServer("    weight 3\n    real_server 198.18.1.1 80"))
        #expect(config.director.services.first?.realServers == [RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 3, method: .nat)])
    }

    @Test func ignoredAndUnknownRealServerOptions() {
        let config = keepalived(virtualServer("    real_server 198.18.1.1 80 {\n        smtp_alert yes\n    }"))
        #expect(config.warnings == [kaWarning(4, 9, "real_server option 'smtp_alert' is ignored: lvsd sends no e-mail")])
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        wieght 3\n    }")) ==
            kaError(4, 9, "unknown keyword 'wieght' in real_server; did you mean 'weight'?"))
        #expect(keepalivedError(virtualServer("    real_server 198.18.1.1 80 {\n        lb_kind DR\n    }")) ==
            kaError(4, 9, "unknown keyword 'lb_kind' in real_server (Docs/keepalived-conf.md lists what lvsd reads)"))
    }
}

