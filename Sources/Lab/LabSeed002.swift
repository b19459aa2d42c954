import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd lab --seed 002`: seed 002's two-director DR lab ("虚拟机搭建LVS-DR集群", part 五).
/// Two lvsd directors each load the seed's keepalived.conf (VRRP instance `LVS`, DR service
/// `rr persistent 50`, an HTTP_GET check per real server with a genhash digest); the lab then
/// does what the seed's author did by hand and prints each verdict:
/// `genhash` for the digest, `ipvsadm -L -n` on both directors, `ip addr` showing the VIP on
/// the master, `curl http://VIP`, "stop one tomcat, can we still reach it?", "stop the
/// master's lvs (134), does the VIP move to the backup (137)?".
///
/// Addresses: the seed's 192.168.58.0/24 becomes 198.18.0.0/24 with the same last byte, so
/// Dserver1 198.18.0.134, Dserver2 198.18.0.137, RealServer1/2 198.18.0.135/.136, the VIP
/// 198.18.0.133; the client (the author's browser) is 198.18.0.2. The directors' interface
/// keeps the seed's name, eno16777736. Three edits to the seed's file, each printed: the
/// addresses; the digest (the seed's is the MD5 of its tomcat page, the lab's is what
/// genhash prints for the lab page); Dserver2's `state BACKUP` and `priority 90` (the seed
/// shows the master's file; "主(Dserver1)和从(Dserver2)" makes Dserver1 the master, and two
/// files saying MASTER 100 would elect Dserver2, the higher address, RFC 3768 6.4.3).
public final class LabSeed002Run: @unchecked Sendable {
    // Safety (@unchecked): used from one thread; `shell` is thread-safe for `stopAll`.
    let shell: LabShell
    public let prefix: String
    public let directory: String
    let pair: LabDirectorPair
    static let vip = "198.18.0.133"
    static let interface = "eno16777736"
    static let client = "198.18.0.2"
    static let directors: [(name: String, seedName: String, address: String)] = [
        ("a", "Dserver1", "198.18.0.134"), ("b", "Dserver2", "198.18.0.137")]
    static let realServers: [(name: String, seedName: String, address: String)] = [
        ("rs1", "RealServer1", "198.18.0.135"), ("rs2", "RealServer2", "198.18.0.136")]
    /// The page both "tomcats" serve at `/` (the seed's two servers share one digest).
    static let page = "seed 002: the same page on every real server\n"
    /// Requests per phase ("访问 http://192.168.58.133"), each a new connection.
    static let requests = 4

    /// The seed's keepalived.conf, part 五, as printed there (192.168.58.x and all).
    static let seedConfig = """
        vrrp_instance LVS {
            state MASTER   # 
            interface eno16777736
            virtual_router_id 51
            priority 100
            advert_int 1
            authentication {
                auth_type PASS
                auth_pass 1111
            }
            virtual_ipaddress {
                192.168.58.133
            }
        }

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

    var checks: [LabCheck] = []
    var webServers: [String: Int32] = [:]
    var lvsd: [String: Int32] = [:]

    /// `prefix` names every namespace (`lvsl-<id>-ha-` from `lvsd lab`).
    public init(shell: LabShell, prefix: String) {
        self.shell = shell
        self.prefix = prefix
        self.directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/\(prefix)seed002"
        pair = LabDirectorPair(shell: shell, prefix: prefix, directory: directory)
    }

    func ns(_ name: String) -> String { prefix + name }
    func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// The seed's file for one director: addresses mapped, the lab's digest, Dserver2 a
    /// BACKUP at priority 90; an `lvsd_director` block names the interface lvsd drives.
    static func config(director: String, address: String, mac: String, digest: String) -> String {
        var text = seedConfig.replacingOccurrences(of: "192.168.58.", with: "198.18.0.")
            .replacingOccurrences(of: "aa150255da35870c218c9be8cea310f3", with: digest)
        if director == "b" {
            text = text.replacingOccurrences(of: "state MASTER   # ", with: "state BACKUP   # Dserver2")
                .replacingOccurrences(of: "priority 100", with: "priority 90")
        }
        return text + """

            lvsd_director {
                interface \(interface) mac \(mac) address \(address)
            }

            """
    }

    /// Builds, runs the author's checks, prints them and the verdict; returns whether every
    /// check held. `cleanUp` removes everything (call it also on failure).
    public func execute() throws -> Bool {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        say("lvsd lab --seed 002: seed 002's DR cluster with keepalived on two directors, 192.168.58.x mapped to 198.18.0.x")
        say("  Dserver1 198.18.0.134 and Dserver2 198.18.0.137 (lvsd, VRRP instance LVS), VIP \(Self.vip),")
        say("  RealServer1 198.18.0.135 and RealServer2 198.18.0.136 (a web server each on port 80), client \(Self.client)")
        try build()
        try startWebServers()

        // "genhash -s 192.168.58.135 -p 80 -u /" for the digest, as the seed did.
        var digests: [String] = []
        for rs in Self.realServers {
            let out = try shell.run(in: ns("a"), [LabRun.selfPath, "genhash", "-s", rs.address, "-p", "80", "-u", "/"], check: false)
            digests.append(out.output.trimmingCharacters(in: .whitespacesAndNewlines))
            say("genhash -s \(rs.address) -p 80 -u /  →  MD5SUM = \(digests.last ?? "")")
        }
        let digest = digests[0]
        checks.append(LabCheck(what: "genhash gives both real servers the same digest (one 'digest' line serves both in the seed's file)",
                               held: digest.count == 32 && Set(digests).count == 1, detail: digests.joined(separator: ", ")))

        for d in Self.directors {
            let mac = try self.mac(d.name, Self.interface)
            let text = Self.config(director: d.name, address: d.address, mac: mac, digest: digest)
            try text.write(toFile: "\(directory)/\(d.name).conf", atomically: true, encoding: .utf8)
            lvsd[d.name] = try startDirector(d.name)
        }
        say("edits to the seed's keepalived.conf: 192.168.58.x → 198.18.0.x; digest → \(digest); Dserver2: state BACKUP, priority 90; an lvsd_director block naming \(Self.interface)")
        do {
            try waitUntil("Dserver1 is MASTER and Dserver2 BACKUP", seconds: 20) { self.state("a") == "MASTER" && self.state("b") == "BACKUP" }
        } catch {
            throw LabShell.Failure(command: ["wait"], status: -1, output: "\(error)\nDserver1: \(vrrpLine("a"))\nDserver2: \(vrrpLine("b"))\n" + logTails())
        }

        for d in Self.directors {
            let listing = lvsadm(d.name, ["-L", "-n"])
            let service = listing.split(separator: "\n").first { $0.hasPrefix("TCP  \(Self.vip):80") }.map(String.init) ?? ""
            let routes = Self.realServers.filter { rs in listing.split(separator: "\n").contains { $0.contains("-> \(rs.address):80") && $0.contains("Route") } }
            checks.append(LabCheck(
                what: "ipvsadm -L -n on \(d.seedName): keepalived added 'TCP \(Self.vip):80 rr persistent 50' with two Route lines (not added by hand)",
                held: service.split(separator: " ").joined(separator: " ") == "TCP \(Self.vip):80 rr persistent 50" && routes.count == 2,
                detail: "\(service.split(separator: " ").joined(separator: " ")); \(routes.count) Route lines"))
        }
        let vrrpA = vrrpLine("a"), vrrpB = vrrpLine("b")
        checks.append(LabCheck(what: "ip addr: the VIP is on the master, Dserver1 (lvsd holds it in user space: lvsadm --vrrp)",
                               held: state("a") == "MASTER" && state("b") == "BACKUP" && vrrpA.contains(Self.vip),
                               detail: "Dserver1: \(vrrpA); Dserver2: \(vrrpB)"))

        // "访问 http://192.168.58.133 成功"
        let first = try requests()
        let macA = try mac("a", Self.interface), macB = try mac("b", Self.interface)
        let arpBefore = clientARP()
        checks.append(LabCheck(
            what: "curl http://\(Self.vip) works; persistence_timeout 50 keeps the client on one real server; the client's ARP entry for the VIP is Dserver1's MAC",
            held: first.failed == 0 && first.servedBy.count == 1 && arpBefore == macA,
            detail: "\(Self.requests) requests, \(first.failed) failed, served by \(first.summary); VIP at \(arpBefore ?? "no entry") (Dserver1 \(macA))"))

        // "关闭其中一台tomcat 看是否能够继续访问": stop the server the client is stuck to.
        let stopped = Self.realServers.first { first.servedBy.keys.contains($0.name) } ?? Self.realServers[0]
        let other = Self.realServers.first { $0.name != stopped.name }!
        say("stopping \(stopped.seedName)'s web server (\(stopped.address)) ...")
        if let pid = webServers[stopped.name] { shell.stop(pid) }
        let removedAt = Date()
        var removed = false
        do {
            try waitUntil("both directors' HTTP_GET checks take \(stopped.address) out", seconds: 60) {
                Self.directors.allSatisfy { !self.lvsadm($0.name, ["-L", "-n"]).contains("-> \(stopped.address):80") }
            }
            removed = true
        } catch {}
        let checkSeconds = Date().timeIntervalSince(removedAt)
        let second = try requests()
        checks.append(LabCheck(
            what: "stop one tomcat: the HTTP_GET checks take it out on both directors and curl http://\(Self.vip) still works, through the other",
            held: removed && second.failed == 0 && second.servedBy.keys.sorted() == [other.name],
            detail: (removed ? String(format: "%@ out of both tables %.0f s after the stop", stopped.address, checkSeconds) : "\(stopped.address) still listed after 60 s")
                + "; \(Self.requests) requests, \(second.failed) failed, served by \(second.summary)"))

        // "关闭主lvs服务134 看vip是否转移到从服务器137": stop lvsd on Dserver1 (SIGTERM, as
        // `systemctl stop keepalived` does: it sends a priority-0 advert on the way out).
        say("stopping lvsd on Dserver1 (SIGTERM) ...")
        let stopAt = Date()
        if let pid = lvsd["a"] { shell.stop(pid) }
        var tookOver = false
        do {
            try waitUntil("Dserver2 is MASTER", seconds: 10, poll: 10_000) { self.state("b") == "MASTER" }
            tookOver = true
        } catch {}
        let takeover = Date().timeIntervalSince(stopAt)
        var arpAfter = clientARP()
        if tookOver {
            try? waitUntil("the client's ARP entry moves to Dserver2", seconds: 10) {
                arpAfter = self.clientARP()
                return arpAfter == macB
            }
        }
        let third = try requests()
        checks.append(LabCheck(
            what: "stop the master's lvs (134): the VIP moves to Dserver2 (137), the client's ARP entry follows (gratuitous ARP), curl http://\(Self.vip) still works",
            held: tookOver && arpAfter == macB && third.failed == 0 && third.servedBy.keys.sorted() == [other.name],
            detail: (tookOver ? String(format: "Dserver2 MASTER %.2f s after the stop", takeover) : "Dserver2 not MASTER after 10 s")
                + "; VIP at \(arpAfter ?? "no entry") (Dserver2 \(macB)); \(Self.requests) requests, \(third.failed) failed, served by \(third.summary)"))
        say("Dserver2: \(vrrpLine("b"))")

        say("")
        say("Seed 002, DR with keepalived on two directors: what the author checked by hand, and whether it held:")
        for check in checks { say(check.line) }
        let held = checks.filter(\.held).count
        let passed = held == checks.count
        say("")
        say("verdict: seed 002 \(passed ? "PASSED: every check held" : "FAILED") (\(held) of \(checks.count) checks held)")
        return passed
    }

    private func build() throws {
        try pair.buildSwitch([(name: "client", address: Self.client, device: "d0")]
                             + Self.directors.map { ($0.name, $0.address, Self.interface) }
                             + Self.realServers.map { ($0.name, $0.address, "d0") })
        for rs in Self.realServers {
            // The seed's part 三.2: arp_ignore/arp_announce on lo and all, the VIP on lo:0 as a /32.
            try shell.run(in: ns(rs.name), ["sysctl", "-qw", "net.ipv4.conf.lo.arp_ignore=1", "net.ipv4.conf.lo.arp_announce=2",
                                            "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"])
            try shell.run(["ip", "-n", ns(rs.name), "address", "add", "\(Self.vip)/32", "dev", "lo", "label", "lo:0"])
        }
    }

    private func startWebServers() throws {
        for rs in Self.realServers {
            let root = "\(directory)/\(rs.name)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Self.page.write(toFile: "\(root)/index.html", atomically: true, encoding: .utf8)
            webServers[rs.name] = try shell.start(in: ns(rs.name), [LabRun.python, "-m", "http.server", "80", "--bind", "0.0.0.0", "--directory", root],
                                                  log: "\(directory)/\(rs.name).log")
        }
        for rs in Self.realServers {
            try waitUntil("\(rs.seedName) serves HTTP", seconds: 15) {
                (try? self.shell.run(in: self.ns("client"), ["curl", "-s", "-m", "1", "-o", "/dev/null", "http://\(rs.address)/"], check: false).status) == 0
            }
        }
    }

    private func startDirector(_ d: String) throws -> Int32 {
        try pair.startDirector(d, interface: Self.interface, instance: "LVS")
    }

    /// One phase of "访问 http://VIP": which real server answered each request, from the web
    /// servers' own logs (the client's address, as DR keeps it).
    struct Phase {
        var failed = 0
        var servedBy: [String: Int] = [:]
        var summary: String { servedBy.isEmpty ? "nobody" : servedBy.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
    }

    private func requests() throws -> Phase {
        let before = Self.realServers.map { clientHits($0.name) }
        var phase = Phase()
        for _ in 0..<Self.requests {
            let r = try shell.run(in: ns("client"), ["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", "http://\(Self.vip)/"], check: false)
            if r.status != 0 || r.output != "200" { phase.failed += 1 }
        }
        for (i, rs) in Self.realServers.enumerated() {
            let n = clientHits(rs.name) - before[i]
            if n > 0 { phase.servedBy[rs.name] = n }
        }
        return phase
    }

    /// Requests from the client in a real server's access log (python's http.server logs
    /// "ADDRESS - - [date] "GET / HTTP/1.1" 200 -").
    private func clientHits(_ rs: String) -> Int {
        let log = (try? String(contentsOfFile: "\(directory)/\(rs).log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.hasPrefix("\(Self.client) - ") && $0.contains("\"GET / ") }.count
    }

    /// The directors' last log lines, for a run that did not complete.
    func logTails() -> String {
        Self.directors.map { d in
            let log = (try? String(contentsOfFile: "\(directory)/\(d.name).log", encoding: .utf8)) ?? ""
            return "\(d.seedName)'s lvsd log (last lines):\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    private func lvsadm(_ d: String, _ arguments: [String]) -> String { pair.lvsadm(d, arguments) }

    func vrrpLine(_ d: String) -> String {
        (pair.vrrpLine(d, instance: "LVS") ?? "no instance LVS").split(separator: " ").joined(separator: " ")
    }

    func state(_ d: String) -> String? { pair.state(d, instance: "LVS") }

    private func mac(_ node: String, _ device: String) throws -> String {
        let out = try shell.run(["ip", "-n", ns(node), "-o", "link", "show", device]).output
        let words = out.split(separator: " ")
        guard let i = words.firstIndex(of: "link/ether"), i + 1 < words.count else {
            throw LabShell.Failure(command: ["ip", "link", "show", device], status: -1, output: "no MAC address in: \(out)")
        }
        return String(words[i + 1])
    }

    /// The MAC the client's neighbour table holds for the VIP.
    private func clientARP() -> String? {
        let out = (try? shell.run(["ip", "-n", ns("client"), "neigh", "show", Self.vip], check: false).output) ?? ""
        let words = out.split(separator: " ")
        guard let i = words.firstIndex(of: "lladdr"), i + 1 < words.count else { return nil }
        return String(words[i + 1])
    }

    private func waitUntil(_ what: String, seconds: Double, poll: UInt32 = 100_000, _ condition: () throws -> Bool) throws {
        try pair.waitUntil(what, seconds: seconds, poll: poll, condition)
    }

    /// Stops what the lab started, deletes its namespaces and its folder.
    public func cleanUp() { pair.cleanUp(id: shell.tag) }
}
