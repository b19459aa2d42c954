import Control
import Core
import Foundation
import Health
import KeepalivedHealth
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// keepalived.conf checker blocks (Control's parser) → Health's plan, and seed 002's
/// configuration running against real servers.
@Suite(.serialized) struct KeepalivedHealthTests {
    /// Seed 002's virtual_server block, as the seed writes it (the VRRP part is not needed here).
    static let seed002 = """
        virtual_server 192.168.58.133 80 {
            delay_loop 6
            lb_algo rr
            lb_kind DR
            persistence_timeout 50
            protocol TCP
            real_server 192.168.58.135 80 {
                weight 1
                HTTP_GET {
                    url {
                      path /
                      digest aa150255da35870c218c9be8cea310f3
                    }
                    connect_timeout 3
                    nb_get_retry 3
                    connect_port 80
                    delay_before_retry 3
                }
            }

            real_server 192.168.58.136 80 {
                weight 1
                HTTP_GET {
                    url {
                      path /
                      digest aa150255da35870c218c9be8cea310f3
                    }
                    connect_timeout 3
                    nb_get_retry 3
                    connect_port 80
                    delay_before_retry 3
                }
            }
        }
        """

    @Test func seed002MapsToHTTPGetWithDigest() throws {
        let config = try KeepalivedFile.parse(Self.seed002, file: "keepalived.conf")
        let result = try KeepalivedHealthPlan.make(from: config)
        #expect(result.warnings.isEmpty)
        let plan = result.plan
        let key = ServiceKey(.tcp, ip("192.168.58.133"), 80)
        #expect(plan.services.map(\.key) == [key])
        #expect(plan.services[0].quorum == 1 && plan.services[0].hysteresis == 0 && plan.services[0].sorryServer == nil)
        #expect(plan.services[0].realServers.map(\.endpoint) == [ep("192.168.58.135", 80), ep("192.168.58.136", 80)])
        let digest = try MD5Digest(hex: "aa150255da35870c218c9be8cea310f3")
        for (i, rs) in plan.services[0].realServers.enumerated() {
            #expect(rs.weight == 1 && !rs.inhibitOnFailure)
            #expect(rs.checkers.count == 1)
            let c = rs.checkers[0]
            #expect(c.target == CheckTarget(service: key, realServer: rs.endpoint, connectPort: 80))
            #expect(c.timing == CheckerTiming(delayLoop: .seconds(6), connectTimeout: .seconds(3), retry: 3,
                                             delayBeforeRetry: .seconds(3), warmup: .seconds(6), alpha: false), "real server \(i)")
            #expect(c.spec == .httpGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/", digest: digest)])))
        }
        // The plan runs against the director configuration the same file produces.
        var model = HealthModel(plan: plan, seed: 1)
        _ = model.start()
        #expect(model.desiredConfig(from: config.director) == config.director, "all alive: the configured table")
        _ = model.record(.failure(CheckFailure("status 503, expected 200-299", subject: "/")), for: CheckerID(0), at: .seconds(1))
        #expect(model.desiredConfig(from: config.director).services[0].realServers.map(\.endpoint) == [ep("192.168.58.136", 80)])
    }

    @Test func everySettingMapsOrWarns() throws {
        let text = """
            SSL {
                ca /etc/ssl/ca.pem
            }
            virtual_server 198.18.0.10 80 {
                protocol TCP
                lb_kind NAT
                delay_loop 10
                connect_timeout 2
                alpha
                omega
                quorum 3
                hysteresis 1
                quorum_up "/usr/local/bin/qup 'VS up'"
                quorum_down /usr/local/bin/qdown
                inhibit_on_failure
                virtualhost vs.example.test
                sorry_server 198.18.9.9 8080
                sorry_server_inhibit
                real_server 198.18.1.1 8080 {
                    weight 3
                    notify_up "/usr/local/bin/up 198.18.1.1"
                    notify_down /usr/local/bin/down
                    TCP_CHECK {
                        connect_ip 198.18.1.100
                        connect_port 9000
                        bindto 198.18.0.1
                        bind_port 4000
                        retry 4
                        delay_before_retry 2
                        warmup 0
                    }
                    SSL_GET {
                        url {
                            path /health
                            status_code 200 301-302
                            virtualhost url.example.test
                            regex "OK"
                        }
                        enable_sni
                        http_protocol 1.1
                        fast_recovery
                    }
                    MISC_CHECK {
                        misc_path "/usr/local/bin/weight.sh 198.18.1.1"
                        misc_timeout 4
                        misc_dynamic
                        user nobody :nogroup
                    }
                }
                real_server 198.18.1.2 8080 {
                    inhibit_on_failure off
                    PING_CHECK {
                    }
                    UDP_CHECK {
                        payload 01 02
                        require_reply 4f 4b x
                        max_reply_length 16
                    }
                    DNS_CHECK {
                    }
                    HTTP_GET {
                        url {
                            path /
                        }
                    }
                }
            }
            """
        let config = try KeepalivedFile.parse(text, file: "keepalived.conf")
        let result = try KeepalivedHealthPlan.make(from: config)
        let key = ServiceKey(.tcp, ip("198.18.0.10"), 80)
        let s = result.plan.services[0]
        #expect(s.key == key && s.quorum == 3 && s.hysteresis == 1 && s.omega)
        #expect(s.quorumUpScript == ScriptCommand(["/usr/local/bin/qup", "VS up"]))
        #expect(s.quorumDownScript == ScriptCommand(["/usr/local/bin/qdown"]))
        #expect(s.sorryServer == SorryServer(endpoint: ep("198.18.9.9", 8080), method: .nat, inhibit: true))
        let a = s.realServers[0], b = s.realServers[1]
        #expect(a.endpoint == ep("198.18.1.1", 8080) && a.weight == 3 && a.inhibitOnFailure)
        #expect(b.endpoint == ep("198.18.1.2", 8080) && b.weight == 1 && !b.inhibitOnFailure)
        #expect(a.notifyUp == ScriptCommand(["/usr/local/bin/up", "198.18.1.1"]) && a.notifyDown == ScriptCommand(["/usr/local/bin/down"]))
        #expect(a.checkers.map(\.kind) == [.tcp, .sslGet, .misc])
        #expect(b.checkers.map(\.kind) == [.ping, .udp, .dns, .httpGet])
        #expect(b.checkers[2].spec == .dns(DNSCheckConfig(type: .soa, name: ".")))
        #expect(b.checkers[2].timing.retry == 3 && b.checkers[2].timing.delayBeforeRetry == b.checkers[2].timing.delayLoop,
                "DNS_CHECK's defaults (check_dns.c)")

        let tcp = a.checkers[0]
        #expect(tcp.target == CheckTarget(service: key, realServer: a.endpoint, connectAddress: ip("198.18.1.100"), connectPort: 9000,
                                          bindAddress: ip("198.18.0.1"), bindPort: 4000))
        #expect(tcp.timing == CheckerTiming(delayLoop: .seconds(10), connectTimeout: .seconds(2), retry: 4, delayBeforeRetry: .seconds(2),
                                            warmup: .zero, alpha: true))
        let codes = try HTTPStatusCodes(parsing: ["200", "301-302"])
        #expect(a.checkers[1].spec == .sslGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/health", statusCodes: codes, virtualhost: "url.example.test",
                                                                                       regex: BodyRegex(pattern: "OK"))],
                                                          virtualhost: "vs.example.test", httpProtocol: .http11),
                                            TLSOptions(enableSNI: true, caFile: "/etc/ssl/ca.pem")),
                "the SSL block's CA reaches SSL_GET")
        #expect(a.checkers[1].timing.delayBeforeRetry == .seconds(3), "HTTP_GET/SSL_GET default")
        #expect(a.checkers[2].spec == .misc(MiscCheckConfig(command: ["/usr/local/bin/weight.sh", "198.18.1.1"], user: "nobody",
                                                            group: "nogroup", timeout: .seconds(4), dynamic: true)))
        #expect(a.checkers[2].timing.retry == 0, "MISC_CHECK's retry default")
        #expect(b.checkers[1].spec == .udp(UDPCheckConfig(payload: [1, 2], requireReply: true,
                                                          reply: HexPattern(bytes: [0x4F, 0x4B, 0x00], wildcardMask: [0, 0, 0x0F]),
                                                          maxReplyLength: 16)))
        #expect(b.checkers[3].spec == .httpGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/")], virtualhost: "vs.example.test")),
                "the virtual server's virtualhost reaches the checker")
        // Besides fast_recovery, what the script audit says (the scripts do not exist here).
        #expect(result.warnings.filter { !$0.hasPrefix("script ") && !$0.hasPrefix("default user") }.count == 1)
        #expect(result.warnings.contains("script /usr/local/bin/qup not found or not executable; it will not run"))
        #expect(result.plan.scripts == ScriptPolicy())
        #expect(!result.warnings.contains { $0.contains("regex") }, "regex is checked now: \(result.warnings)")
        #expect(result.warnings.contains("SSL_GET of real server 198.18.1.1:8080 in VS TCP 198.18.0.10:80: fast_recovery is ignored (every url is checked in each check already)"))

        // Quorum 3 over weights 3 + 1 with alpha: nobody is alive yet; the sorry server holds the service.
        var model = HealthModel(plan: result.plan, seed: 1)
        let start = model.start()
        #expect(start.events.contains { $0.kind == .quorumLost })
        #expect(weights(model.desiredConfig(from: config.director)) == [ep("198.18.1.1", 8080): 0, ep("198.18.9.9", 8080): 1],
                "alpha + inhibit keeps .1 at 0, .2 (alpha, no inhibit) is out, the sorry server serves")
    }

    /// Issue 12: a health-plan error used to be a warning while the reload went through with no
    /// checks at all. `checked` is what lvsd asks before it swaps a file in: it throws the
    /// sentence, and lvsd refuses the reload (Daemon.reload).
    @Test func planErrorsRefuseTheFile() throws {
        let text = """
            virtual_server 198.18.0.10 80 {
                lb_kind NAT
                real_server 198.18.1.1 80 {
                    TCP_CHECK {
                    }
                }
            }
            """
        // The parser refuses most mistakes itself; what gets past it is a plan the runner
        // cannot run: a checker that cannot be timed, a checked server the engine config lacks.
        let good = try KeepalivedFile.parse(text, file: "keepalived.conf")
        #expect(try KeepalivedHealthPlan.checked(from: good).plan.checkers.count == 1)
        var untimed = good
        untimed.virtualServers[0].realServers[0].checkers[0].timing.delayLoop = .zero
        #expect(throws: HealthConfigError("TCP_CHECK 198.18.1.1:80: delay_loop must be positive (keepalived's minimum is 1 µs)")) {
            _ = try KeepalivedHealthPlan.checked(from: untimed)
        }
        var missing = good
        missing.director.services[0].realServers = []
        #expect(throws: HealthConfigError("real server 198.18.1.1:80 of VS TCP 198.18.0.10:80 has health checks but is not in the configuration")) {
            _ = try KeepalivedHealthPlan.checked(from: missing)
        }
    }

    /// global_defs `script_user USER [GROUP]` and `enable_script_security` reach the plan
    /// (they were parsed and ignored); MISC_CHECK's `user` stays on its checker.
    @Test func scriptUserAndSecurityReachThePlan() throws {
        let config = try KeepalivedFile.parse("""
            global_defs {
                script_user nobody :nogroup
                enable_script_security
            }
            virtual_server 198.18.0.10 80 {
                lb_kind NAT
                real_server 198.18.1.1 80 {
                    MISC_CHECK {
                        misc_path /bin/true
                        user root
                    }
                }
            }
            """, file: "keepalived.conf")
        #expect(!config.warnings.contains { $0.description.contains("script_user") || $0.description.contains("enable_script_security") })
        let plan = try KeepalivedHealthPlan.make(from: config).plan
        #expect(plan.scripts == ScriptPolicy(user: "nobody", group: "nogroup", enforceSecurity: true))
        #expect(plan.checkers[0].spec == .misc(MiscCheckConfig(command: ["/bin/true"], user: "root", timeout: .seconds(60))))
        #expect(throws: (any Error).self) {
            _ = try KeepalivedFile.parse("global_defs {\n enable_script_security yes\n}\n", file: "keepalived.conf")
        }
    }

    /// Seed 002's configuration with its addresses mapped into 198.18.0.0/15: two HTTP real
    /// servers checked with HTTP_GET and the page's digest. Killing one takes it out of the
    /// table (the seed's last paragraph: "if one tomcat dies, keepalived switches to the other");
    /// changing its page (digest mismatch) does too; restarting it brings it back.
    @Test(.enabled(if: isRoot, "needs root for network namespaces (CI runs as root)"), .timeLimit(.minutes(2)))
    func seed002KillingOneTomcatTakesItOut() throws {
        let lab = try CheckerLab("k")
        defer { lab.tearDown() }
        let page = "tomcat\n"
        let root1 = lab.directory.appendingPathComponent("rs1"), root2 = lab.directory.appendingPathComponent("rs2")
        for root in [root1, root2] {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try page.write(to: root.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        }
        try lab.startHTTP("tomcat1", port: 80, root: root1, address: CheckerLab.serverAddress)
        try lab.startHTTP("tomcat2", port: 80, root: root2, address: CheckerLab.serverAddress2)
        let digest = MD5Digest.of(Array(page.utf8))!
        let text = Self.seed002
            .replacingOccurrences(of: "192.168.58.133", with: "198.18.0.100")
            .replacingOccurrences(of: "192.168.58.135", with: CheckerLab.serverAddress)
            .replacingOccurrences(of: "192.168.58.136", with: CheckerLab.serverAddress2)
            .replacingOccurrences(of: "aa150255da35870c218c9be8cea310f3", with: digest.description)
            // Seconds instead of the seed's 6 s loop and 3 × 3 s retries, so the test is short.
            .replacingOccurrences(of: "delay_loop 6", with: "delay_loop 1")
            .replacingOccurrences(of: "connect_timeout 3", with: "connect_timeout 1")
            .replacingOccurrences(of: "nb_get_retry 3", with: "nb_get_retry 1")
            .replacingOccurrences(of: "delay_before_retry 3", with: "delay_before_retry 1")
        let config = try KeepalivedFile.parse(text, file: "keepalived.conf")
        let plan = try KeepalivedHealthPlan.make(from: config).plan
        let recorder = Recorder()
        let runner = try HealthRunner(plan: plan, base: config.director, options: HealthRunner.Options(threadSetup: lab.enterChecker)) {
            recorder.record($0)
        }
        try runner.start()
        defer { runner.stop() }
        let tomcat1 = ep(CheckerLab.serverAddress, 80), tomcat2 = ep(CheckerLab.serverAddress2, 80)
        func table() -> [Endpoint: Int32] { recorder.lastDesired.map { weights($0) } ?? [:] }
        try lab.waitUntil("both tomcats checked") {
            runner.status().first?.realServers.allSatisfy { $0.alive && $0.checkers.allSatisfy(\.hasRun) } ?? false
        }
        #expect(table() == [tomcat1: 1, tomcat2: 1])

        var since = runner.clock.now
        lab.stop("tomcat1")
        try lab.waitUntil("tomcat1 leaves the table", seconds: 8) { table() == [tomcat2: 1] }
        let removal = recorder.all.filter { $0.time >= since }.flatMap(\.events).first { $0.kind == .checkerDown }
        #expect(removal?.message == "HTTP_GET 198.18.60.2:80 /: connection refused (after 1 retry)", "\(String(describing: removal))")

        since = runner.clock.now
        try lab.startHTTP("tomcat1", port: 80, root: root1, address: CheckerLab.serverAddress)
        try lab.waitUntil("tomcat1 returns", seconds: 8) { table() == [tomcat1: 1, tomcat2: 1] }

        // The page on tomcat2 changes: the digest no longer matches.
        since = runner.clock.now
        try "maintenance\n".write(to: root2.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try lab.waitUntil("tomcat2 leaves on the digest mismatch", seconds: 8) { table() == [tomcat1: 1] }
        let mismatch = recorder.all.filter { $0.time >= since }.flatMap(\.events).first { $0.kind == .checkerDown }
        #expect(mismatch?.message.contains("/: digest \(MD5Digest.of(Array("maintenance\n".utf8))!), expected \(digest) (after 1 retry)") == true,
                "\(String(describing: mismatch))")
    }
}
