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
            during: { lab, lvsd in
                threads = try Self.threadCapabilities(of: lvsd.pid)
                let file = lab.file("script-caps")
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

    /// Each thread's capability lines of a running process (/proc/PID/task/TID/status).
    static func threadCapabilities(of pid: Int32) throws -> [String: [String: String]] {
        let tasks = "/proc/\(pid)/task"
        var result: [String: [String: String]] = [:]
        for task in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            guard let status = try? String(contentsOfFile: "\(tasks)/\(task)/status", encoding: .utf8) else { continue }
            result[task] = capabilities(in: status)
        }
        return result
    }

    /// The NAT case on `NamespaceLab.Star` with two real servers (Python's HTTP server on
    /// 8080): lvsd with `config` (`@DIR@` → the lab's directory) for at most 20 s, 20 curl
    /// requests from the client to the VIP 198.18.0.100. Returns lvsd's log.
    @discardableResult
    private func natRoundRobin(engine: String, config: String? = nil, script: (name: String, text: String)? = nil,
                               during: (NamespaceLab, NamespaceLab.Director) throws -> Void = { _, _ in }) throws -> String {
        let lab = try NamespaceLab(tag: "live")
        defer { lab.tearDown() }
        let star = try lab.buildStar(realServers: 2)
        try lab.startHTTPServers(star)
        if let script {
            let path = lab.file(script.name).path
            try script.text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let rules = config ?? star.interfaceLines + """
            -A -t 198.18.0.100:80 -s rr
            -a -t 198.18.0.100:80 -r 198.18.1.2:8080 -m -w 1
            -a -t 198.18.0.100:80 -r 198.18.2.2:8080 -m -w 1
            """
        let lvsd = try lab.startLVSD(in: star.director, config: rules.replacingOccurrences(of: "@DIR@", with: lab.directory.path),
                                     arguments: star.interfaceArguments + ["--duration", "20", "--connections", "65536", "--engine", engine]) {
            $0.contains("lvsd: neighbour 198.18.1.2") && $0.contains("lvsd: neighbour 198.18.2.2")
        }
        try during(lab, lvsd)

        var answers: [String: Int] = [:]
        var failures: [String] = []
        for i in 0..<20 {
            let (status, out, err) = try lab.run(in: star.client, ["/usr/bin/curl", "-s", "-S", "-m", "3", "http://198.18.0.100/who"])
            if status == 0 { answers[out.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
            else { failures.append("request \(i): curl exited \(status): \(err)") }
        }
        let output = try lab.stopLVSD(lvsd)
        print("LiveDirectorTests (\(engine)): answers per real server \(answers.sorted { $0.key < $1.key }), failures \(failures.count)\n\(output)")
        #expect(failures.isEmpty, "\(failures)")
        #expect(answers == ["real-server-1": 10, "real-server-2": 10], "rr over two servers must split 20 requests 10/10")
        #expect(output.contains("lvsd: neighbour 198.18.1.2 is at"), "lvsd resolves the real servers by ARP")
        #expect(output.contains("lvsd: host: removed nftables table netdev swiftlvs"))
        #expect(output.contains("dropped 0"), "no frame dropped: \(output)")
        #expect(output.contains("engine \(engine), 1 worker"), "lvsd ran the \(engine) engine: \(output)")
        let (_, ruleset, _) = try lab.run(in: star.director, ["/usr/sbin/nft", "list", "ruleset"])
        #expect(!ruleset.contains("swiftlvs"), "lvsd left its nftables table behind: \(ruleset)")
        return output
    }
}
