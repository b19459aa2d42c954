import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 17 end to end: lvsd forwarding real HTTP (NAT, rr over three real servers) between
/// namespaces `lvst-<pid>-obs*`, watched by the ecosystem's own tools — a Prometheus server
/// scraping `--metrics-listen` with basic auth and answering PromQL, promtool linting the
/// exposition, node_exporter reading `--ipvs-procfs`, and headless Chromium rendering the
/// monitor. Every process is stopped by PID and every namespace deleted in a `defer`.
@Suite(.serialized)
struct ObservabilityE2ETests {
    static let requests = 30
    static let user = "ops"
    static let password = "mx-observability-pw"

    @Test(.enabled(if: getuid() == 0, "needs root: it builds network namespaces (CI runs as root)"),
          .enabled(if: ObservabilityLab.toolsPresent, "needs prometheus, promtool, prometheus-node-exporter and chromium (Scripts/install-deps.sh)"))
    func prometheusNodeExporterAndChromiumSeeTheTraffic() throws {
        let lab = try ObservabilityLab()
        defer { lab.tearDown() }
        try lab.startHTTPServers()
        let users = lab.directory.appendingPathComponent("monitor-users").path
        let hashed = try Command.run(try BuiltExecutable.lvsd(), ["monitor-user", Self.user], stdin: Self.password + "\n")
        #expect(hashed.status == 0, "lvsd monitor-user: \(hashed.stderr)")
        try hashed.stdout.write(toFile: users, atomically: true, encoding: .utf8)
        let procfs = lab.directory.appendingPathComponent("procfs").path
        try lab.startDirector(extra: ["--metrics-listen", "198.18.0.1:9100", "--monitor-users", users, "--ipvs-procfs", procfs])

        // Known traffic: rr over three servers, one connection per request.
        var answers: [String: Int] = [:]
        for _ in 0..<Self.requests {
            let run = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "3", "http://198.18.0.100/who"])
            if run.status == 0 { answers[run.stdout.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
        }
        #expect(answers == ["real-server-1": 10, "real-server-2": 10, "real-server-3": 10], "rr must split \(Self.requests) requests evenly: \(answers)")

        // Authentication: none → 401, wrong password → 401, right → 200.
        let url = "http://198.18.0.1:9100/metrics"
        #expect(try lab.httpStatus(url) == "401")
        #expect(try lab.httpStatus(url, user: "\(Self.user):wrong-password") == "401")
        #expect(try lab.httpStatus(url, user: "\(Self.user):\(Self.password)") == "200")
        #expect(try lab.httpStatus("http://198.18.0.1:9100/", user: "\(Self.user):\(Self.password)") == "200")

        // promtool accepts what lvsd serves.
        let metrics = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "-u", "\(Self.user):\(Self.password)", url]).stdout
        let lint = try Command.run("/usr/bin/promtool", ["check", "metrics"], stdin: metrics)
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
        #expect(metrics.contains(#"lvsd_engine_events_total{worker="0",event="rx-ring-drops"} "#), "engine counters by name")
        #expect(metrics.contains(#"lvsd_frames_dropped_total{reason="no-service"} "#), "drop reasons by name")
        for rs in 1...3 {
            #expect(metrics.contains(#"lvsd_real_server_connections_total{local_address="198.18.0.100",local_port="80",remote_address="198.18.\#(rs).2",remote_port="8080",proto="TCP",local_mark=""} 10"#),
                    "real server \(rs) has 10 connections in /metrics:\n\(metrics.prefix(3000))")
        }

        // A real Prometheus scrapes lvsd (basic auth) and PromQL returns per-server counts.
        try lab.startPrometheus(user: Self.user, password: Self.password)
        let perServer = try lab.waitForQuery("sum by (remote_address) (lvsd_real_server_connections_total)", count: 3)
        #expect(perServer == ["198.18.1.2": 10, "198.18.2.2": 10, "198.18.3.2": 10], "PromQL per real server: \(perServer)")
        let total = try lab.waitForQuery("node_ipvs_connections_total", count: 1)
        #expect(total.values.first == Double(Self.requests), "PromQL node_ipvs_connections_total: \(total)")

        // node_exporter reads the procfs files as it reads kernel IPVS.
        try lab.startNodeExporter(procfs: procfs)
        let node = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "http://198.18.0.2:9101/metrics"]).stdout
        #expect(node.contains("node_ipvs_connections_total \(Self.requests)"), "node_exporter totals:\n\(node.prefix(4000))")
        for rs in 1...3 {
            #expect(node.contains(#"node_ipvs_backend_weight{local_address="198.18.0.100",local_mark="",local_port="80",proto="TCP",remote_address="198.18.\#(rs).2",remote_port="8080"} 1"#),
                    "node_exporter backend \(rs):\n\(node.prefix(4000))")
        }

        // Chromium renders the monitor; the DOM holds each server's connection count.
        let dom = try lab.chromium(["--dump-dom", "http://\(Self.user):\(Self.password)@198.18.0.1:9100/"])
        for rs in 1...3 {
            #expect(dom.contains(#"<tr data-endpoint="198.18.\#(rs).2:8080">"#), "row for real server \(rs) in:\n\(dom.prefix(6000))")
        }
        #expect(dom.components(separatedBy: #"<td class="conns">10</td>"#).count - 1 == 3, "three rows with 10 connections:\n\(dom.prefix(6000))")
        #expect(dom.contains(#"<b class="service-conns">\#(Self.requests)</b>"#), "service total in the DOM")
        let screenshot = ProcessInfo.processInfo.environment["LVSD_MONITOR_SCREENSHOT"] ?? lab.directory.appendingPathComponent("monitor.png").path
        _ = try lab.chromium(["--screenshot=\(screenshot)", "--window-size=1280,800", "http://\(Self.user):\(Self.password)@198.18.0.1:9100/"])
        let png = (try? Data(contentsOf: URL(fileURLWithPath: screenshot))) ?? Data()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "Chromium wrote a PNG screenshot to \(screenshot)")

        let log = try lab.stopDirector()
        #expect(log.contains("lvsd: monitor: http://198.18.0.1:9100/"), "lvsd logs the monitor's URL:\n\(log)")
    }

    /// The checkers' view reaches the metrics and the monitor: configured from a keepalived.conf
    /// (its `lvsd_director` block carries metrics_listen and monitor_users), TCP_CHECK on three
    /// servers, one server's HTTP server stopped: lvsd_real_server_up drops to 0 with one
    /// transition, and the monitor's state says DOWN and why.
    @Test(.enabled(if: getuid() == 0, "needs root: it builds network namespaces (CI runs as root)"))
    func healthStateReachesMetricsAndMonitor() throws {
        let lab = try ObservabilityLab()
        defer { lab.tearDown() }
        try lab.startHTTPServers()
        let users = lab.directory.appendingPathComponent("monitor-users").path
        let hashed = try Command.run(try BuiltExecutable.lvsd(), ["monitor-user", Self.user], stdin: Self.password + "\n")
        try hashed.stdout.write(toFile: users, atomically: true, encoding: .utf8)
        let servers = (1...3).map { """
                real_server 198.18.\($0).2 8080 {
                    weight 1
                    TCP_CHECK {
                        connect_timeout 1
                    }
                }
            """ }.joined(separator: "\n")
        try lab.startDirector(extra: [], config: """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
                interface d3 mac 00:00:00:00:00:00 address 198.18.3.1
                metrics_listen 198.18.0.1:9100
                monitor_users \(users)
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                delay_loop 1
            \(servers)
            }
            """, journal: true)
        let rs3 = #"local_address="198.18.0.100",local_port="80",remote_address="198.18.3.2",remote_port="8080",proto="TCP",local_mark="""#
        let metricsURL = "http://198.18.0.1:9100/metrics"
        func metrics() throws -> String {
            try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "-u", "\(Self.user):\(Self.password)", metricsURL]).stdout
        }
        try lab.waitUntil("real server 3 is checked UP", seconds: 30) { try metrics().contains("lvsd_health_checker_up{\(rs3),checker=\"TCP_CHECK\"} 1.0") }
        lab.stopHTTPServer(3)
        try lab.waitUntil("real server 3 goes DOWN in /metrics", seconds: 30) { try metrics().contains("lvsd_real_server_up{\(rs3)} 0.0") }
        let text = try metrics()
        #expect(text.contains("lvsd_real_server_transitions_total{\(rs3)} 1"), "one transition:\n\(text.prefix(3000))")
        #expect(text.contains("lvsd_health_checker_up{\(rs3),checker=\"TCP_CHECK\"} 0.0"))
        #expect(text.contains(#"lvsd_real_server_up{local_address="198.18.0.100",local_port="80",remote_address="198.18.1.2",remote_port="8080",proto="TCP",local_mark=""} 1.0"#))
        let state = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "-u", "\(Self.user):\(Self.password)", "http://198.18.0.1:9100/api/state"]).stdout
        struct State: Decodable {
            struct Service: Decodable { let realServers: [RealServer] }
            struct RealServer: Decodable { let endpoint: String; let health: String; let reason: String }
            let services: [Service]
        }
        let decoded = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        let rows = decoded.services.first?.realServers ?? []
        #expect(rows.map(\.health) == ["UP", "UP", "DOWN"], "monitor state: \(state)")
        #expect(rows.last?.reason.hasPrefix("TCP_CHECK: ") == true, "the monitor says why: \(rows.last?.reason ?? "")")
        #expect(text.contains("lvsd_health_checker_duration_seconds{\(rs3),checker=\"TCP_CHECK\"} "), "last check duration:\n\(text.prefix(3000))")

        // The log, in the journal's format: the transition at notice (<5>) with its fields.
        let log = try lab.stopDirector()
        let lines = log.split(separator: "\n")
        let removal = lines.first { $0.hasPrefix("<5>lvsd: health: Removing service 198.18.3.2:8080 from VS TCP 198.18.0.100:80") }
        print("ObservabilityE2ETests: the removal as journald reads it: \(removal ?? "none")")
        #expect(removal?.contains(" event=real_server_down ") == true, "\(removal ?? "no removal line in:\n\(log)")")
        #expect(removal?.contains(" real_server=198.18.3.2:8080 ") == true, "\(removal ?? "")")
        #expect(removal?.contains(#" service="TCP 198.18.0.100:80""#) == true, "\(removal ?? "")")
        #expect(removal?.contains(" reason=") == true, "\(removal ?? "")")
        let checkerDown = lines.first { $0.hasPrefix("<5>lvsd: health: ") && $0.contains(" event=checker_down ") && $0.contains("real_server=198.18.3.2:8080") }
        #expect(checkerDown?.contains(" checker=TCP_CHECK ") == true, "\(checkerDown ?? "no checker_down line in:\n\(log)")")
        #expect(lines.contains { $0.hasPrefix("<6>lvsd: running on ") }, "info lines carry <6>")
    }

    /// HTTPS on the listener, configured from keepalived.conf's `lvsd_director` lines
    /// (metrics_tls_cert, metrics_tls_key, a bearer token): curl trusts it only with the test's
    /// own CA (made here by openssl), plain HTTP to the port gets no answer, and Prometheus
    /// scrapes it over https with tls_config. The same lvsd runs a VRRP instance, which becomes
    /// MASTER alone on its segment, so its metrics appear and count on (state, become_master,
    /// adverts sent), and a firewall-mark service, which /metrics and node_exporter (through
    /// the written /proc/net/ip_vs) both label as node_exporter labels kernel IPVS's: proto
    /// FWM, no local address, port 0, the mark in local_mark.
    @Test(.enabled(if: getuid() == 0, "needs root: it builds network namespaces (CI runs as root)"),
          .enabled(if: ObservabilityLab.toolsPresent && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                   "needs openssl, prometheus and prometheus-node-exporter (Scripts/install-deps.sh)"))
    func httpsListenerVRRPAndFirewallMarkMetrics() throws {
        let lab = try ObservabilityLab()
        defer { lab.tearDown() }
        let tls = try lab.makeTestCertificates(serverAddress: "198.18.0.1")
        let token = "obs-bearer-token-\(UInt32.random(in: 0 ... .max))"
        let tokenFile = lab.directory.appendingPathComponent("token").path
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let procfs = lab.directory.appendingPathComponent("procfs").path
        try lab.startDirector(extra: [], config: """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
                interface d3 mac 00:00:00:00:00:00 address 198.18.3.1
                fwmark 1 tcp 198.18.0.101 80
                metrics_listen 198.18.0.1:9100
                monitor_token_file \(tokenFile)
                metrics_tls_cert \(tls.certificate)
                metrics_tls_key \(tls.key)
                ipvs_procfs \(procfs)
            }
            vrrp_instance VI_1 {
                state BACKUP
                interface d0
                virtual_router_id 61
                priority 100
                advert_int 1
                virtual_ipaddress {
                    198.18.0.100/24
                }
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                real_server 198.18.1.2 8080 {
                    weight 1
                }
                real_server 198.18.3.2 8080 {
                    weight 1
                }
            }
            virtual_server fwmark 1 {
                lb_algo rr
                lb_kind NAT
                real_server 198.18.2.2 8080 {
                    weight 3
                }
            }
            """)
        let url = "https://198.18.0.1:9100/metrics"
        let bearer = ["-H", "Authorization: Bearer \(token)"]
        func metrics() throws -> String {
            try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "--cacert", tls.ca] + bearer + [url]).stdout
        }
        // Trusted through the test CA only; plain HTTP to the TLS port gets no HTTP answer.
        let verified = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                         "--cacert", tls.ca] + bearer + [url])
        #expect(verified.stdout == "200", "https with the CA: \(verified.stderr)")
        let unverified = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "-o", "/dev/null"] + bearer + [url])
        #expect(unverified.status == 60, "curl without the CA must refuse the certificate (exit 60): \(unverified.status) \(unverified.stderr)")
        let noToken = try lab.inClient(["/usr/bin/curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", tls.ca, url])
        #expect(noToken.stdout == "401", "https without the token")
        let plain = try lab.inClient(["/usr/bin/curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"] + bearer
                                     + ["http://198.18.0.1:9100/metrics"])
        #expect(plain.status != 0 && plain.stdout == "000", "plain HTTP to the TLS port: exit \(plain.status), status \(plain.stdout)")

        // VRRP: alone on the segment, VI_1 becomes MASTER after Master_Down_Interval and
        // keeps advertising, once a second.
        let instance = #"{iname="VI_1"}"#
        try lab.waitUntil("VI_1 is MASTER in /metrics", seconds: 30) { try metrics().contains("lvsd_vrrp_state\(instance) 2.0") }
        func advertsSent(_ text: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix("lvsd_vrrp_advertisements_sent_total\(instance) ") }
                .flatMap { Int($0.split(separator: " ").last ?? "") }
        }
        let first = try metrics()
        #expect(first.contains("lvsd_vrrp_become_master_total\(instance) 1"), "\(first.prefix(4000))")
        let sentBefore = try #require(advertsSent(first), "no advert counter in:\n\(first.prefix(4000))")
        try lab.waitUntil("VI_1's adverts sent count on", seconds: 10) { (advertsSent(try metrics()) ?? 0) > sentBefore }

        // Firewall-mark service: node_exporter's labels, in /metrics and through procfs.
        let fwm = #"local_address="",local_port="0",remote_address="198.18.2.2",remote_port="8080",proto="FWM",local_mark="00000001""#
        #expect(first.contains("node_ipvs_backend_weight{\(fwm)} 3.0"), "FWM backend in /metrics:\n\(first.prefix(4000))")
        let written = (try? String(contentsOfFile: procfs + "/net/ip_vs", encoding: .utf8)) ?? ""
        #expect(written.contains("\nFWM  00000001 rr \n  -> C6120202:1F90      Masq    3      0          0         \n"), "procfs:\n\(written)")
        try lab.startNodeExporter(procfs: procfs)
        let node = try lab.inClient(["/usr/bin/curl", "-sS", "-m", "5", "http://198.18.0.2:9101/metrics"]).stdout
        #expect(node.contains(#"node_ipvs_backend_weight{local_address="",local_mark="00000001",local_port="0",proto="FWM",remote_address="198.18.2.2",remote_port="8080"} 3"#),
                "node_exporter reads the FWM line:\n\(node.prefix(4000))")

        // Prometheus over https: tls_config with the test CA, the bearer token.
        try lab.startPrometheus(scrape: """
                scheme: https
                tls_config:
                  ca_file: \(tls.ca)
                authorization:
                  credentials: \(token)
            """)
        let state = try lab.waitForQuery("lvsd_vrrp_state", count: 1)
        #expect(state.values.first == 2, "PromQL lvsd_vrrp_state over https: \(state)")
        let log = try lab.stopDirector()
        #expect(log.contains("lvsd: monitor: https://198.18.0.1:9100/"), "lvsd logs the https URL:\n\(log)")
    }

    /// Without credentials the listener refuses to face the network: it binds loopback only
    /// and says so, so the client cannot reach it while the director's own stack can.
    @Test(.enabled(if: getuid() == 0, "needs root: it builds network namespaces (CI runs as root)"))
    func withoutCredentialsTheMonitorStaysOnLoopback() throws {
        let lab = try ObservabilityLab()
        defer { lab.tearDown() }
        try lab.startDirector(extra: ["--metrics-listen", "198.18.0.1:9100"])
        #expect(try lab.httpStatus("http://198.18.0.1:9100/metrics") == "000", "not reachable from the client")
        let local = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.director, "/usr/bin/curl", "-sS", "-m", "3",
                                                    "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9100/metrics"])
        #expect(local.stdout == "200", "served on the director's loopback: \(local.stderr)")
        let log = try lab.stopDirector()
        #expect(log.contains("no credentials configured"), "lvsd says why it listens on loopback:\n\(log)")
    }
}

/// `NamespaceLab.Star` with three real servers (tag `obs`), and what this suite starts in it:
/// Python's HTTP server in the real servers; lvsd; Prometheus, node_exporter and Chromium in
/// the client. The VIP 198.18.0.100 is on the client's subnet. Kernel defaults everywhere.
final class ObservabilityLab {
    let lab: NamespaceLab
    let star: NamespaceLab.Star
    var director: String { star.director }
    var directory: URL { lab.directory }
    private var httpServers: [Spawned] = []
    private var lvsd: NamespaceLab.Director?
    private var logFile: URL { lab.file("lvsd.log") }

    static var toolsPresent: Bool {
        ["/usr/bin/prometheus", "/usr/bin/promtool", "/usr/bin/prometheus-node-exporter", "/usr/bin/chromium"]
            .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init() throws {
        lab = try NamespaceLab(tag: "obs")
        do { star = try lab.buildStar(realServers: 3) } catch { lab.tearDown(); throw error }
    }

    func tearDown() { lab.tearDown() }

    /// Python's HTTP server on :8080 in each real server, serving `who` = "real-server-N".
    func startHTTPServers() throws {
        httpServers = try lab.startHTTPServers(star)
    }

    /// lvsd NAT rr for 198.18.0.100:80 over the three servers, with `extra` arguments;
    /// returns once it resolved every server and its exporters run. With `journal`, lvsd's
    /// standard output is announced as the journal's stream (JOURNAL_STREAM = the log file's
    /// device:inode, as systemd sets it), so lvsd writes the journal's format into the file.
    func startDirector(extra: [String], config: String? = nil, journal: Bool = false) throws {
        let rules = config ?? star.interfaceLines + """
            -A -t 198.18.0.100:80 -s rr
            -a -t 198.18.0.100:80 -r 198.18.1.2:8080 -m -w 1
            -a -t 198.18.0.100:80 -r 198.18.2.2:8080 -m -w 1
            -a -t 198.18.0.100:80 -r 198.18.3.2:8080 -m -w 1
            """
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let environment = journal ? ["JOURNAL_STREAM": try NamespaceLab.journalStream(of: logFile)] : [:]
        lvsd = try lab.startLVSD(in: star.director, config: rules,
                                 arguments: star.interfaceArguments + ["--duration", "120", "--connections", "65536", "--socket", "none"] + extra,
                                 log: logFile, environment: environment, seconds: 30) { text in
            text.contains("lvsd: monitor: http") && (1...3).allSatisfy { text.contains("lvsd: neighbour 198.18.\($0).2") }
        }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM to lvsd, waits (bounded), returns its log.
    func stopDirector() throws -> String {
        if let lvsd { try lab.stopLVSD(lvsd, seconds: 20) }
        lvsd = nil
        return log
    }

    func inClient(_ argv: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try lab.run(in: star.client, argv)
    }

    /// curl's HTTP status for `url` from the client ("000" when nothing answered).
    func httpStatus(_ url: String, user: String? = nil) throws -> String {
        let auth = user.map { ["-u", $0] } ?? []
        return try inClient(["/usr/bin/curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}"] + auth + [url]).stdout
    }

    /// Prometheus in the client namespace on its loopback, scraping lvsd every second.
    func startPrometheus(user: String, password: String) throws {
        try startPrometheus(scrape: """
                basic_auth:
                  username: \(user)
                  password: \(password)
            """)
    }

    /// Prometheus scraping lvsd with `scrape` (YAML lines of the job, indented four spaces).
    func startPrometheus(scrape: String) throws {
        let config = directory.appendingPathComponent("prometheus.yml")
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: lvsd
            \(scrape)
                static_configs:
                  - targets: ["198.18.0.1:9100"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let data = directory.appendingPathComponent("prometheus-data")
        try lab.start(in: star.client, ["/usr/bin/prometheus", "--config.file=\(config.path)",
                                        "--storage.tsdb.path=\(data.path)", "--web.listen-address=127.0.0.1:9090"], directory: directory)
        try waitUntil("Prometheus answers", seconds: 60) {
            (try? inClient(["/usr/bin/curl", "-sf", "-m", "1", "http://127.0.0.1:9090/-/ready"]).status) == 0
        }
    }

    /// Polls a PromQL instant query until it returns `count` series; each series' first
    /// label value (or "") → its value.
    func waitForQuery(_ query: String, count: Int) throws -> [String: Double] {
        var result: [String: Double] = [:]
        try waitUntil("Prometheus returns \(count) series for \(query)", seconds: 60) {
            let run = try inClient(["/usr/bin/curl", "-sS", "-m", "3", "-G", "http://127.0.0.1:9090/api/v1/query",
                                    "--data-urlencode", "query=\(query)"])
            struct Answer: Decodable {
                struct Data: Decodable { let result: [Series] }
                struct Series: Decodable { let metric: [String: String]; let value: [Value] }
                enum Value: Decodable {
                    case time(Double), text(String)
                    init(from decoder: any Decoder) throws {
                        let c = try decoder.singleValueContainer()
                        if let d = try? c.decode(Double.self) { self = .time(d) } else { self = .text(try c.decode(String.self)) }
                    }
                }
                let data: Data
            }
            guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(run.stdout.utf8)),
                  answer.data.result.count == count else { return false }
            result = [:]
            for series in answer.data.result {
                guard case .text(let text)? = series.value.last, let value = Double(text) else { return false }
                result[series.metric.first(where: { $0.key != "__name__" })?.value ?? "", default: 0] += value
            }
            return true
        }
        return result
    }

    /// Debian's node_exporter with only the ipvs collector, reading `procfs` as /proc.
    func startNodeExporter(procfs: String) throws {
        try lab.start(in: star.client, ["/usr/bin/prometheus-node-exporter", "--collector.disable-defaults",
                                        "--collector.ipvs", "--path.procfs=\(procfs)", "--web.listen-address=198.18.0.2:9101"],
                      directory: directory)
        try waitUntil("node_exporter answers", seconds: 30) {
            (try? inClient(["/usr/bin/curl", "-sf", "-m", "1", "-o", "/dev/null", "http://198.18.0.2:9101/metrics"]).status) == 0
        }
    }

    /// Headless Chromium in the client namespace (root needs --no-sandbox), bounded by timeout(1).
    func chromium(_ arguments: [String]) throws -> String {
        let profile = directory.appendingPathComponent("chromium-\(UInt32.random(in: 0 ... .max))").path
        let run = try inClient(["/usr/bin/timeout", "-s", "KILL", "90", "/usr/bin/chromium", "--headless", "--no-sandbox",
                                "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)"] + arguments)
        if run.status != 0 { Issue.record("chromium \(arguments) exited \(run.status):\n\(run.stderr.suffix(2000))") }
        return run.stdout
    }

    /// A test CA and a server certificate for `serverAddress` (subjectAltName IP) it signed,
    /// made by openssl in the lab's directory: P-256 keys, valid two days.
    func makeTestCertificates(serverAddress: String) throws -> (ca: String, certificate: String, key: String) {
        let dir = directory.path
        func openssl(_ arguments: [String]) throws {
            let run = try Command.run("/usr/bin/openssl", arguments)
            if run.status != 0 { throw Command.Failed(description: "openssl \(arguments.joined(separator: " ")): \(run.stderr)") }
        }
        let ext = dir + "/server.ext"
        try "subjectAltName=IP:\(serverAddress)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "2", "-subj", "/CN=lvsd obs test CA"])
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", dir + "/server.key", "-out", dir + "/server.csr", "-subj", "/CN=\(serverAddress)"])
        try openssl(["x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
                     "-CAcreateserial", "-out", dir + "/server.pem", "-days", "2", "-extfile", ext])
        return (dir + "/ca.pem", dir + "/server.pem", dir + "/server.key")
    }

    /// Stops real server `n`'s HTTP server (by PID), as a crash would.
    func stopHTTPServer(_ n: Int) {
        lab.stop(httpServers[n - 1], signal: SIGKILL)
        // ip netns exec's child may outlive it: whatever still runs in the namespace.
        for pid in Command.pids(in: star.realServers[n - 1]) { kill(pid, SIGKILL) }
    }

    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        try lab.waitUntil(what, seconds: seconds, poll: 0.1, context: { "lvsd log:\n\(self.log)" }, condition)
    }
}
