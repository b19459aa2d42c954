import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The live director (`lvsd run`): the built `lvsd` forwarding real HTTP traffic between
/// network namespaces.
@Suite(.serialized)
struct LiveDirectorTests {
    /// Client → lvsd (NAT, rr) → two real servers running Python's HTTP server, each in its own
    /// namespace with the director as default route. 20 curl requests to the VIP: all answered,
    /// 10 by each server; the host settings lvsd applied are gone after it exits.
    @Test(.enabled(if: getuid() == 0, "LiveDirectorTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)))
    func natRoundRobinSpreadsHTTPRequestsEvenly() throws {
        try natRoundRobin(engine: "af_packet")
    }

    /// The same NAT case through the pcap engine (libpcap live handles, BPF filter,
    /// pcap_inject). libpcap drops the kernel's partial-checksum flag, so this also proves the
    /// engine's checksum handling: veth leaves the client's and servers' TCP checksums partial.
    @Test(.enabled(if: getuid() == 0, "LiveDirectorTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)))
    func natRoundRobinThroughThePcapEngine() throws {
        try natRoundRobin(engine: "pcap")
    }

    /// The same NAT case configured by a keepalived.conf: the interfaces in an
    /// `lvsd_director` block, the service as keepalived writes it (Docs/keepalived-conf.md).
    @Test(.enabled(if: getuid() == 0, "LiveDirectorTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)))
    func natRoundRobinFromKeepalivedConf() throws {
        let output = try natRoundRobin(engine: "af_packet", config: """
            ! keepalived.conf for lvsd
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                establish_timeout 10
                real_server 198.18.1.2 8080 {
                    weight 1
                    TCP_CHECK {
                        connect_timeout 3
                    }
                }
                real_server 198.18.2.2 8080 {
                    weight 1
                }
            }
            """)
        #expect(output.contains("rules:11:5: warning: virtual_server option 'establish_timeout' is ignored"), "lvsd prints the keepalived warnings: \(output)")
        #expect(output.contains("lvsd: health: Activating healthchecker TCP_CHECK for service 198.18.1.2:8080"), "the TCP_CHECK runs: \(output)")
    }

    /// lvsd keeps six capabilities (Docs/privileges.md): every one of its threads has exactly
    /// them effective, permitted and bounding, with no ambient or inheritable ones; a
    /// MISC_CHECK script it starts (as root: no script_user) is bounded by the same six; and
    /// with them it still forwards, checks and undoes its host settings at exit.
    @Test(.enabled(if: getuid() == 0, "LiveDirectorTests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(2)))
    func keepsOnlyItsCapabilitiesOnEveryThreadAndInItsScripts() throws {
        // CAP_KILL 5, CAP_SETGID 6, CAP_SETUID 7, CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13.
        let six = "00000000000034e0"
        var threads: [String: [String: String]] = [:]
        var script: [String: String] = [:]
        let output = try natRoundRobin(engine: "af_packet", config: """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                delay_loop 1
                real_server 198.18.1.2 8080 {
                    MISC_CHECK {
                        misc_path "@DIR@/caps.sh"
                        misc_timeout 5
                    }
                }
                real_server 198.18.2.2 8080 {
                    TCP_CHECK {
                        connect_timeout 3
                    }
                }
            }
            """, script: ("caps.sh", "#!/bin/sh\ngrep '^Cap' /proc/self/status > \"$(dirname \"$0\")/script-caps\"\nexit 0\n"),
            during: { lab in
                threads = try lab.lvsdThreadCapabilities()
                let file = lab.directory.appendingPathComponent("script-caps")
                for _ in 0..<150 where !FileManager.default.fileExists(atPath: file.path) { usleep(100_000) }
                script = Self.capabilities(in: (try? String(contentsOf: file, encoding: .utf8)) ?? "")
            })
        #expect(output.contains("lvsd: capabilities limited to cap_kill, cap_setgid, cap_setuid, cap_net_bind_service, cap_net_admin, cap_net_raw"), "\(output)")
        #expect(threads.count > 1, "lvsd's threads: \(threads)")
        for (task, caps) in threads {
            #expect(caps["CapEff"] == six && caps["CapPrm"] == six && caps["CapBnd"] == six, "thread \(task): \(caps)")
            #expect(caps["CapInh"] == "0000000000000000" && caps["CapAmb"] == "0000000000000000", "thread \(task): \(caps)")
        }
        #expect(script["CapBnd"] == six, "the MISC_CHECK script's bounding set: \(script)")
        #expect(script["CapAmb"] == "0000000000000000", "\(script)")
    }

    /// `CapEff: 00000000000034e0` lines of a /proc status file, by name.
    static func capabilities(in status: String) -> [String: String] {
        var caps: [String: String] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("Cap") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { caps[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return caps
    }

    @discardableResult
    private func natRoundRobin(engine: String, config: String = """
        interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
        interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
        interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
        -A -t 198.18.0.100:80 -s rr
        -a -t 198.18.0.100:80 -r 198.18.1.2:8080 -m -w 1
        -a -t 198.18.0.100:80 -r 198.18.2.2:8080 -m -w 1
        """, script: (name: String, text: String)? = nil, during: (LiveLab) throws -> Void = { _ in }) throws -> String {
        let lab = try LiveLab()
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()
        if let script {
            let path = lab.directory.appendingPathComponent(script.name).path
            try script.text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let log = try lab.startDirector(engine: engine, rules: config.replacingOccurrences(of: "@DIR@", with: lab.directory.path))
        try during(lab)

        var answers: [String: Int] = [:]
        var failures: [String] = []
        for i in 0..<20 {
            let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.client, "/usr/bin/curl", "-s", "-S", "-m", "3",
                                                                     "http://198.18.0.100/who"])
            if status == 0 { answers[out.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
            else { failures.append("request \(i): curl exited \(status): \(err)") }
        }
        let output = try lab.stopDirector(log: log)
        print("LiveDirectorTests (\(engine)): answers per real server \(answers.sorted { $0.key < $1.key }), failures \(failures.count)\n\(output)")
        #expect(failures.isEmpty, "\(failures)")
        #expect(answers == ["real-server-1": 10, "real-server-2": 10], "rr over two servers must split 20 requests 10/10")
        #expect(output.contains("lvsd: neighbour 198.18.1.2 is at"), "lvsd resolves the real servers by ARP")
        #expect(output.contains("lvsd: host: removed nftables table netdev swiftlvs"))
        #expect(output.contains("dropped 0"), "no frame dropped: \(output)")
        #expect(output.contains("engine \(engine), 1 worker"), "lvsd ran the \(engine) engine: \(output)")
        let (_, ruleset, _) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.director, "/usr/sbin/nft", "list", "ruleset"])
        #expect(!ruleset.contains("swiftlvs"), "lvsd left its nftables table behind: \(ruleset)")
        return output
    }
}

/// Four namespaces joined by direct veth pairs, addresses in 198.18.0.0/15:
/// client c0 198.18.0.2 — d0 198.18.0.1 [director] d1 198.18.1.1 — e0 198.18.1.2 [r1],
/// d2 198.18.2.1 — e0 198.18.2.2 [r2]; the VIP 198.18.0.100 is on the client's subnet.
/// Offloads are off on every veth (otherwise AF_PACKET sees 64 KB GSO frames).
private final class LiveLab {
    let client: String, director: String, realServers: [String]
    var namespaces: [String] { [client, director] + realServers }
    private var processes: [Process] = []
    private var lvsd: Process?
    let directory: URL

    init() throws {
        let pid = getpid()
        client = "lvst-\(pid)-c"
        director = "lvst-\(pid)-d"
        realServers = ["lvst-\(pid)-r1", "lvst-\(pid)-r2"]
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-live-\(pid)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        deleteNamespaces()
    }

    func build() throws {
        for ns in namespaces {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
            try Command.ip(["netns", "exec", ns, "/usr/sbin/sysctl", "-qw",
                            "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        try Command.ip(["-n", director, "link", "add", "d0", "type", "veth", "peer", "name", "c0", "netns", client])
        try Command.ip(["-n", director, "address", "add", "198.18.0.1/24", "dev", "d0"])
        try Command.ip(["-n", client, "address", "add", "198.18.0.2/24", "dev", "c0"])
        try up(client, "c0")
        try up(director, "d0")
        for (i, rs) in realServers.enumerated() {
            let d = "d\(i + 1)"
            try Command.ip(["-n", director, "link", "add", d, "type", "veth", "peer", "name", "e0", "netns", rs])
            try Command.ip(["-n", director, "address", "add", "198.18.\(i + 1).1/24", "dev", d])
            try Command.ip(["-n", rs, "address", "add", "198.18.\(i + 1).2/24", "dev", "e0"])
            try up(director, d)
            try up(rs, "e0")
            try Command.ip(["-n", rs, "route", "add", "default", "via", "198.18.\(i + 1).1"])
        }
    }

    /// Brings a veth up with the kernel's default offloads (TSO/GSO on), as on a user's host.
    private func up(_ ns: String, _ interface: String) throws {
        try Command.ip(["-n", ns, "link", "set", interface, "up"])
    }

    /// `python3 -m http.server 8080` in each real server namespace (bound to all addresses:
    /// binding one address hangs in getfqdn without DNS), serving `who` = "real-server-N".
    func startHTTPServers() throws {
        for (i, rs) in realServers.enumerated() {
            let root = directory.appendingPathComponent("www\(i + 1)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try "real-server-\(i + 1)\n".write(to: root.appendingPathComponent("who"), atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", rs, "/usr/bin/python3", "-m", "http.server", "8080"]
            p.currentDirectoryURL = root
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
        // Ready when the director's own stack can fetch the file (from its DIP, not the client's address).
        for i in realServers.indices {
            try waitUntil("real server \(i + 1) serves HTTP") {
                (try? Command.run("/usr/sbin/ip", ["netns", "exec", director, "/usr/bin/curl", "-s", "-m", "1",
                                                "http://198.18.\(i + 1).2:8080/who"]).0) == 0
            }
        }
    }

    /// Starts `lvsd --config RULES --interface d0 d1 d2 --duration 20 --engine ENGINE` in the director namespace
    /// and waits until it says it is running; returns its log file.
    func startDirector(engine: String, rules: String) throws -> URL {
        let rulesFile = directory.appendingPathComponent("rules")
        try rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("lvsd.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", director, try BuiltExecutable.lvsd(), "--config", rulesFile.path,
                       "--interface", "d0", "--interface", "d1", "--interface", "d2",
                       "--duration", "20", "--connections", "65536", "--engine", engine]
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        lvsd = p
        try waitUntil("lvsd starts (log: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? ""))") {
            guard p.isRunning else { return true }
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            return text.contains("lvsd: neighbour 198.18.1.2") && text.contains("lvsd: neighbour 198.18.2.2")
        }
        guard p.isRunning else {
            throw LabFailure(description: "lvsd exited early: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? "")")
        }
        return logFile
    }

    /// Each of the running lvsd's threads' capability lines (/proc/PID/task/TID/status).
    func lvsdThreadCapabilities() throws -> [String: [String: String]] {
        guard let p = lvsd, p.isRunning else { throw LabFailure(description: "lvsd is not running") }
        let tasks = "/proc/\(p.processIdentifier)/task"
        var result: [String: [String: String]] = [:]
        for task in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            guard let status = try? String(contentsOfFile: "\(tasks)/\(task)/status", encoding: .utf8) else { continue }
            result[task] = LiveDirectorTests.capabilities(in: status)
        }
        return result
    }

    /// SIGTERM to lvsd, waits for it (bounded) and returns its log.
    func stopDirector(log: URL) throws -> String {
        if let p = lvsd, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            try waitUntil("lvsd exits after SIGTERM") { !p.isRunning }
        }
        lvsd = nil
        return (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }

    func tearDown() {
        for p in processes + [lvsd].compactMap({ $0 }) where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            for _ in 0..<50 where p.isRunning { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        processes = []
        lvsd = nil
        deleteNamespaces()
        try? FileManager.default.removeItem(at: directory)
    }

    private func deleteNamespaces() {
        for ns in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
    }

    private func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw LabFailure(description: "timed out after \(seconds) s waiting until \(what)")
    }
}

private struct LabFailure: Error, CustomStringConvertible {
    var description: String
}
