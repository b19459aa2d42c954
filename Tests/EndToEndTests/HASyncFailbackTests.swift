import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 14's pair of directors as keepalived users run it: two `lvsd` with one keepalived.conf
/// each (`vrrp_instance VI_1`, `lvs_sync_daemon d0 VI_1`, a persistent DR virtual server),
/// no lvsadm --start-daemon. The sync role follows VRRP: the MASTER runs the master daemon,
/// the BACKUP the backup one. A download survives the master's SIGKILL; the old master comes
/// back, relearns the table from the new one before it preempts, and a second download
/// survives the failback; with `nopreempt` it stays BACKUP.
///
/// ```
///   client 198.18.0.2 ─┐
///   A 198.18.0.11 ─────┤ br0     VIP 198.18.0.100 (VRRP VI_1: A prio 150, B prio 100)
///   B 198.18.0.12 ─────┤         sync 224.0.0.81:8848 on the same segment
///   r1 198.18.0.21 ────┤         real servers hold the VIP on lo (DR)
///   r2 198.18.0.22 ────┘
/// ```
@Suite(.serialized) struct HASyncFailbackTests {
    @Test("lvs_sync_daemon follows VRRP; a download survives the master's SIGKILL; the returning master relearns before it preempts and a second download survives the failback; persistence holds",
          .enabled(if: getuid() == 0, "needs root for network namespaces"))
    func syncFollowsVRRPThroughFailoverAndFailback() throws {
        let lab = try HALab(tag: "f")
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()
        try lab.startDirector(.a)
        try lab.startDirector(.b)
        try lab.waitForState(.a, "MASTER", seconds: 15)
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        // The sync daemon follows the state right after the transition's adverts and GARPs.
        try lab.waitForDaemon(.a, "master sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        try lab.waitForDaemon(.b, "backup sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        #expect(lab.log(.a).contains("master sync daemon started on d0") && lab.log(.a).contains("VRRP instance VI_1 is MASTER"), "\(lab.log(.a))")

        // Persistence: this client's server, before and after the failover.
        let server = try lab.who()
        #expect(server.hasPrefix("real-server-"), "\(server)")

        // Download 1 through A, synced to B; A dies mid-transfer.
        let first = try lab.download("one", rate: "25M")
        try lab.waitForDownload(on: .b)
        #expect(first.process.isRunning, "download 1 ended before the failover; make the file larger")
        let killedAt = Date()
        lab.kill(.a)
        try lab.waitForState(.b, "MASTER", seconds: 10)
        let takeover = Date().timeIntervalSince(killedAt)
        // The sync daemon follows the state a moment after the listing shows it.
        try lab.waitForDaemon(.b, "master sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        try lab.finish(first)
        // The template came with the connection: the client stays on its real server.
        for _ in 0..<3 { #expect(try lab.who() == server, "persistence lost across the failover") }

        // An idle connection through B (half a request, then silence), which A can only learn
        // from B's refresh walk; and download 2 through B. Then A returns with the higher priority.
        let idle = try lab.idleRequest()
        let second = try lab.download("two", rate: "5M")
        try lab.waitForDownload(on: .b)
        let returnedAt = Date()
        try lab.startDirector(.a, log: "a-returned")
        #expect(lab.daemons(.a) == "backup sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        // A must list download 2's connection while it is still BACKUP, then preempt.
        var learnedWhileBackup = false
        var preemptedAfter: Double?
        while Date().timeIntervalSince(returnedAt) < 30 {
            let state = lab.state(.a)
            if state == "MASTER" { preemptedAfter = Date().timeIntervalSince(returnedAt); break }
            if state == "BACKUP" && lab.hasDownload(on: .a) { learnedWhileBackup = true }
            usleep(100_000)
        }
        #expect(learnedWhileBackup, "A never listed the download's connection while BACKUP\n\(lab.log(.a, name: "a-returned"))")
        #expect(preemptedAfter != nil, "A did not preempt within 30 s: \(lab.vrrpListing(.a))\n\(lab.log(.a, name: "a-returned"))")
        #expect(lab.log(.a, name: "a-returned").contains("after relearning its connections"))
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        #expect(second.process.isRunning, "download 2 ended before the failback; the test proves nothing")
        try lab.finish(second)
        // The idle connection's next packets reach A now: the rest of the request is answered.
        let answer = try lab.finishIdleRequest(idle)
        #expect(answer.hasPrefix("real-server-"), "the idle connection across the failback: \(answer)\n\(lab.log(.a, name: "a-returned"))")
        try lab.waitForDaemon(.a, "master sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        try lab.waitForDaemon(.b, "backup sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        let summary = try lab.stopDirector(.a, log: "a-returned")
        #expect(summary.contains("preemption_deferred_for_sync"), "\(summary)")
        print("HA (lvs_sync_daemon follows VRRP, DR): B MASTER \(String(format: "%.2f", takeover)) s after A's SIGKILL; download 1 (100 MiB) finished through B, sha256 ok; A returned and preempted after \(String(format: "%.1f", preemptedAfter ?? .nan)) s, having relearned download 2's connection first; download 2 finished, sha256 ok; an idle connection opened through B, finished through A, got '\(answer)'")
    }

    @Test("NAT, FullNAT and TUN under VRRP: the VIP and the real servers' gateway (or the LIP) move together; a download survives the master's SIGKILL through the new master",
          .enabled(if: getuid() == 0, "needs root for network namespaces"), arguments: ["NAT", "FNAT", "TUN"])
    func natDownloadSurvivesFailoverUnderVRRP(_ method: String) throws {
        let lab = try HALab(tag: method == "NAT" ? "m" : method == "FNAT" ? "l" : "t")
        lab.nat = method != "TUN"
        lab.fullNAT = method == "FNAT"
        lab.tun = method == "TUN"
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()
        try lab.startDirector(.a)
        try lab.startDirector(.b)
        try lab.waitForState(.a, "MASTER", seconds: 15)
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        // The real servers learn their gateway's MAC (A's, from its gratuitous ARP) on the way.
        try lab.waitForAnswer(seconds: 10)
        let server = try lab.who()
        #expect(server.hasPrefix("real-server-"), "\(server)\n\(lab.log(.a))")
        let download = try lab.download("nat", rate: "25M")
        try lab.waitForDownload(on: .b)
        #expect(download.process.isRunning, "the download ended before the failover; make the file larger")
        lab.kill(.a)
        try lab.waitForState(.b, "MASTER", seconds: 10)
        try lab.finish(download)
        for _ in 0..<3 { #expect(try lab.who() == server, "persistence lost across the failover") }
        let listing = lab.lvsadmRun(.b, ["-L", "-n"])
        #expect(listing.contains(["NAT": "Masq", "FNAT": "FullNat", "TUN": "Tunnel"][method]!), "\(listing)")
    }

    /// A connection whose streams the director moves (a PROXY protocol header, a SYN proxy's
    /// cookie ISN) survives the failover only if the backup moves them the same way: the shift
    /// travels in sync (IPVS's sequence option and lvsd's own, Docs/connection-sync.md).
    @Test("a FullNAT download through proxy_protocol v2, and one through syn_proxy, survive a master SIGKILL under VRRP + sync with the right sha256",
          .enabled(if: getuid() == 0, "needs root for network namespaces"), arguments: ["proxy_protocol", "syn_proxy"])
    func shiftedDownloadSurvivesFailover(_ feature: String) throws {
        let lab = try HALab(tag: feature == "proxy_protocol" ? "shfp" : "shfs")
        lab.nat = true
        lab.fullNAT = true
        lab.proxyProtocol = feature == "proxy_protocol"
        lab.synProxy = feature == "syn_proxy"
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHTTPServers()
        try lab.startDirector(.a)
        try lab.startDirector(.b)
        try lab.waitForState(.a, "MASTER", seconds: 15)
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        try lab.waitForAnswer(seconds: 10)
        let server = try lab.who()
        #expect(server.hasPrefix("real-server-"), "\(server)\n\(lab.log(.a))")
        let download = try lab.download("shifted", rate: "25M")
        try lab.waitForDownload(on: .b)
        #expect(download.process.isRunning, "the download ended before the failover; make the file larger")
        lab.kill(.a)
        try lab.waitForState(.b, "MASTER", seconds: 10)
        try lab.finish(download)
        #expect(try lab.who() == server, "persistence lost across the failover")
        if lab.proxyProtocol {
            // Every request reached nginx with the client's address in its header, through A and B.
            let log = lab.proxyProtocolLog(1) + lab.proxyProtocolLog(2)
            let lines = log.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("198.18.0.2 198.18.1.100 /big.bin") }, "\(log)")
            #expect(lines.count >= 3 && lines.allSatisfy { $0.hasPrefix("198.18.0.2 198.18.1.100 ") }, "\(log)")
        } else {
            #expect(lab.lvsadmRun(.b, ["-L", "-n"]).contains("FullNat"))
        }
    }

    @Test("with nopreempt the returning higher-priority director stays BACKUP (and sync backup)",
          .enabled(if: getuid() == 0, "needs root for network namespaces"))
    func noPreemptKeepsTheReturningDirectorBackup() throws {
        let lab = try HALab(tag: "n")
        lab.noPreempt = true
        defer { lab.tearDown() }
        try lab.build()
        try lab.startDirector(.a)
        try lab.waitForState(.a, "MASTER", seconds: 15)
        try lab.startDirector(.b)
        try lab.waitForState(.b, "BACKUP", seconds: 5)
        _ = try lab.stopDirector(.a, log: "a")
        try lab.waitForState(.b, "MASTER", seconds: 5)
        try lab.startDirector(.a, log: "a-returned")
        // Longer than the relearn hold (6 s) plus Master_Down_Interval (~3.4 s) and a margin.
        let until = Date().addingTimeInterval(13)
        var states: Set<String> = []
        while Date() < until {
            states.insert(lab.state(.a) ?? "?")
            #expect(lab.state(.b) == "MASTER")
            usleep(250_000)
        }
        #expect(states == ["BACKUP"], "A was \(states)\n\(lab.log(.a, name: "a-returned"))")
        try lab.waitForDaemon(.a, "backup sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
        try lab.waitForDaemon(.b, "master sync daemon (mcast=d0, syncid=14, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n")
    }
}

/// `lvsd lab --ha` (Sources/Lab/LabHA.swift), as a person runs it: exit 0, the lines that
/// say who is master, the kill, the takeover and the sha256, and nothing left behind. The
/// lab's own phases are bounded (curl --max-time, every wait has a limit).
@Suite(.serialized) struct LabHATests {
    @Test("lvsd lab --ha: master shown, killed mid-download, takeover shown, the download survives with the right sha256, nothing left",
          .enabled(if: getuid() == 0, "needs root for network namespaces"))
    func labHAShowsTheFailover() throws {
        let prefix = "lvst-\(getpid())-ha-lab-"
        defer {
            for name in HALab.namespaces(prefix: prefix) {
                for pid in Command.pids(in: name) { kill(pid, SIGKILL) }
                _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", name])
            }
        }
        let run = try Command.run(try BuiltExecutable.lvsd(), ["lab", "--ha", "--transfer", "48"], environment: ["LVSD_LAB_PREFIX": prefix])
        #expect(run.status == 0, "lvsd lab --ha exited \(run.status)\n\(run.stdout)\n\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("master: A (master sync daemon") && $0.contains("backup: B (backup sync daemon") }, "\(run.stdout)")
        #expect(lines.contains { $0.contains("killing A (SIGKILL)") }, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix("B is MASTER ") && $0.contains(" s after the kill") }, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix("download finished through B: sha256 ") && $0.hasSuffix("matches") }, "\(run.stdout)")
        #expect(lines.last == "lvsd lab --ha: the download survived the failover", "\(run.stdout)")
        #expect(HALab.namespaces(prefix: prefix).isEmpty, "left behind: \(HALab.namespaces(prefix: prefix))")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(prefix)dir"))
    }
}

/// Six namespaces named `lvst-PID-ha<tag>-...`; everything is deleted in `tearDown`.
final class HALab {
    enum Director: String { case a, b }

    let prefix: String
    let directory: String
    let lvsd: String
    let lvsadm: String
    var noPreempt = false
    /// NAT instead of DR: a back segment (br1, 198.18.1.0/24) for the real servers, whose
    /// gateway 198.18.1.254 is a second VRRP address of VI_1; sync runs there.
    var nat = false
    /// With `nat`: FullNAT through LIP 198.18.1.100, also a VRRP address of VI_1.
    var fullNAT = false
    /// IPIP instead of DR: the real servers run `lvsd realserver --mode tun`, which accepts
    /// tunnelled packets from either director (the VIP on its tunnel device, rp_filter off there).
    var tun = false
    /// With `fullNAT`: `proxy_protocol v2` on the service, nginx (`listen 80 proxy_protocol`,
    /// logging `$proxy_protocol_addr`) instead of python on the real servers.
    var proxyProtocol = false
    /// `syn_proxy` on the service.
    var synProxy = false
    private var servers: [Process] = []
    private var directors: [Director: Process] = [:]
    private var downloads: [Process] = []
    var namespaces: [String] { ["sw", "c", "a", "b", "r1", "r2"].map { prefix + $0 } }
    static let vip = "198.18.0.100"
    static let fileSize = 100 << 20

    func ns(_ name: String) -> String { prefix + name }
    func address(_ d: Director) -> String { d == .a ? "198.18.0.11" : "198.18.0.12" }
    func socket(_ d: Director) -> String { "\(directory)/\(d.rawValue).sock" }

    init(tag: String) throws {
        prefix = "lvst-\(getpid())-ha\(tag)-"
        directory = "/tmp/lvst-\(getpid())-ha\(tag)"
        lvsd = try BuiltExecutable.lvsd()
        lvsadm = try BuiltExecutable.lvsadm()
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        deleteNamespaces()
    }

    func build() throws {
        for name in namespaces {
            try Command.ip(["netns", "add", name])
            try Command.ip(["-n", name, "link", "set", "lo", "up"])
        }
        let sw = ns("sw")
        try Command.ip(["-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try Command.ip(["-n", sw, "link", "set", "br0", "up"])
        for (node, address) in [("c", "198.18.0.2"), ("a", "198.18.0.11"), ("b", "198.18.0.12"), ("r1", "198.18.0.21"), ("r2", "198.18.0.22")] {
            try Command.ip(["-n", sw, "link", "add", "p\(node)", "type", "veth", "peer", "name", "d0", "netns", ns(node)])
            try Command.ip(["-n", sw, "link", "set", "p\(node)", "master", "br0"])
            try Command.ip(["-n", sw, "link", "set", "p\(node)", "up"])
            try Command.ip(["-n", ns(node), "address", "add", "\(address)/24", "dev", "d0"])
            try Command.ip(["-n", ns(node), "link", "set", "d0", "up"])
        }
        if nat {
            try Command.ip(["-n", sw, "link", "add", "br1", "type", "bridge", "mcast_snooping", "0"])
            try Command.ip(["-n", sw, "link", "set", "br1", "up"])
            for r in ["r1", "r2"] { try Command.ip(["-n", ns(r), "link", "del", "d0"]) }
            for (node, address) in [("a", "198.18.1.11"), ("b", "198.18.1.12"), ("r1", "198.18.1.21"), ("r2", "198.18.1.22")] {
                try Command.ip(["-n", sw, "link", "add", "q\(node)", "type", "veth", "peer", "name", "d1", "netns", ns(node)])
                try Command.ip(["-n", sw, "link", "set", "q\(node)", "master", "br1"])
                try Command.ip(["-n", sw, "link", "set", "q\(node)", "up"])
                try Command.ip(["-n", ns(node), "address", "add", "\(address)/24", "dev", "d1"])
                try Command.ip(["-n", ns(node), "link", "set", "d1", "up"])
            }
            for r in ["r1", "r2"] { try Command.ip(["-n", ns(r), "route", "add", "default", "via", "198.18.1.254"]) }
            return
        }
        if tun { return }
        for r in ["r1", "r2"] {
            try Command.ip(["-n", ns(r), "address", "add", "\(Self.vip)/32", "dev", "lo"])
            let run = try Command.run("/usr/sbin/ip", ["netns", "exec", ns(r), "/usr/sbin/sysctl", "-qw",
                                                       "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                                                       "net.ipv4.conf.d0.arp_ignore=1", "net.ipv4.conf.d0.arp_announce=2"])
            guard run.status == 0 else { throw Command.Failed(description: "sysctl in \(r): \(run.stderr)") }
        }
    }

    /// `python3 -m http.server 80` in each real server: `who` names it, `big.bin` is the same
    /// 100 MiB of random bytes on both.
    func startHTTPServers() throws {
        let big = "\(directory)/big.bin"
        let dd = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(big)", "bs=1048576", "count=\(Self.fileSize >> 20)", "status=none"])
        guard dd.status == 0 else { throw Command.Failed(description: "dd: \(dd.stderr)") }
        if tun {
            for i in 1...2 {
                let log = "\(directory)/r\(i)-realserver.log"
                _ = FileManager.default.createFile(atPath: log, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                p.arguments = ["netns", "exec", ns("r\(i)"), lvsd, "realserver", "--vip", Self.vip, "--mode", "tun", "--interface", "d0",
                               "--director", address(.a), "--director", address(.b)]
                p.standardOutput = handle
                p.standardError = handle
                try p.run()
                try? handle.close()
                servers.append(p)
            }
        }
        for i in 1...2 {
            let root = "\(directory)/www\(i)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try "real-server-\(i)\n".write(toFile: "\(root)/who", atomically: true, encoding: .utf8)
            try FileManager.default.linkItem(atPath: big, toPath: "\(root)/big.bin")
            if proxyProtocol {
                try startNginx(i, root: root)
                continue
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", ns("r\(i)"), "/usr/bin/python3", "-m", "http.server", "80"]
            p.currentDirectoryURL = URL(fileURLWithPath: root)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            servers.append(p)
        }
        for i in 1...2 {
            try waitUntil("real server \(i) serves HTTP") {
                (try? Command.run("/usr/sbin/ip", ["netns", "exec", ns("r\(i)"), "/usr/bin/curl", "-s", "-m", "1",
                                                "http://127.0.0.1:\(self.proxyProtocol ? 81 : 80)/who"]).status) == 0
            }
        }
    }

    /// nginx in real server `i`, one process: port 80 expects a PROXY protocol header and logs
    /// `$proxy_protocol_addr` (`pp.log`); 81 takes plain HTTP, for the readiness check.
    private func startNginx(_ i: Int, root: String) throws {
        let d = "\(directory)/nginx\(i)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try """
            daemon off;
            master_process off;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log;
            events { worker_connections 64; }
            http {
                log_format pp '$proxy_protocol_addr $remote_addr $uri';
                client_body_temp_path \(d)/body; proxy_temp_path \(d)/proxy;
                fastcgi_temp_path \(d)/fastcgi; uwsgi_temp_path \(d)/uwsgi; scgi_temp_path \(d)/scgi;
                server { listen 80 proxy_protocol; root \(root); access_log \(d)/pp.log pp; }
                server { listen 81; root \(root); access_log off; }
            }
            """.write(toFile: "\(d)/nginx.conf", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns("r\(i)"), "/usr/sbin/nginx", "-c", "\(d)/nginx.conf"]
        let log = "\(d)/nginx.out"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? handle.close()
        servers.append(p)
    }

    /// What nginx in real server `i` logged for PROXY protocol connections.
    func proxyProtocolLog(_ i: Int) -> String {
        (try? String(contentsOfFile: "\(directory)/nginx\(i)/pp.log", encoding: .utf8)) ?? ""
    }

    func config(_ d: Director) -> String {
        """
        global_defs {
            lvs_sync_daemon \(nat ? "d1" : "d0") VI_1 id 14
        }
        lvsd_director {
            interface d0 mac 00:00:00:00:00:00 address \(address(d))
        \(nat ? "    interface d1 mac 00:00:00:00:00:00 address 198.18.1.\(d == .a ? 11 : 12)" : "")
        }
        vrrp_instance VI_1 {
            state \(noPreempt ? "BACKUP" : d == .a ? "MASTER" : "BACKUP")
            interface d0
            virtual_router_id 61
            priority \(d == .a ? 150 : 100)
            advert_int 1
            \(noPreempt ? "nopreempt" : "")
            authentication {
                auth_type PASS
                auth_pass lvsha
            }
            virtual_ipaddress {
                \(Self.vip)/24 dev d0
        \(nat ? "        198.18.1.254/24 dev d1" : "")
        \(fullNAT ? "        198.18.1.100/24 dev d1" : "")
            }
        }
        \(fullNAT ? "local_address_group LIPS {\n    198.18.1.100 d1\n}" : "")
        virtual_server \(Self.vip) 80 {
            lb_algo rr
            lb_kind \(fullNAT ? "FNAT" : nat ? "NAT" : tun ? "TUN" : "DR")
            \(fullNAT ? "laddr_group_name LIPS" : "")
            \(proxyProtocol ? "proxy_protocol v2" : "")
            \(synProxy ? "syn_proxy" : "")
            protocol TCP
            persistence_timeout 300
            real_server 198.18.\(nat ? 1 : 0).21 80 {
                weight 1
            }
            real_server 198.18.\(nat ? 1 : 0).22 80 {
                weight 1
            }
        }

        """
    }

    func startDirector(_ d: Director, log name: String? = nil) throws {
        let file = "\(directory)/\(d.rawValue).conf"
        try config(d).write(toFile: file, atomically: true, encoding: .utf8)
        let logFile = "\(directory)/\(name ?? d.rawValue).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = FileHandle(forWritingAtPath: logFile)!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns(d.rawValue), lvsd, "--config", file, "--interface", "d0"]
            + (nat ? ["--interface", "d1"] : []) + ["--connections", "65536", "--socket", socket(d)]
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        directors[d] = p
        try waitUntil("lvsd \(d.rawValue) runs VRRP and its sync daemon (log: \(log(d, name: name)))") {
            guard p.isRunning else { return true }
            let text = log(d, name: name)
            return text.contains("lvsd: vrrp: running VI_1") && text.contains("sync daemon started")
        }
        guard p.isRunning else { throw Command.Failed(description: "lvsd \(d.rawValue) exited early: \(log(d, name: name))") }
    }

    func log(_ d: Director, name: String? = nil) -> String {
        (try? String(contentsOfFile: "\(directory)/\(name ?? d.rawValue).log", encoding: .utf8)) ?? ""
    }

    func kill(_ d: Director) {
        guard let p = directors[d] else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        directors[d] = nil
    }

    /// SIGTERM, then the log once lvsd has written its summary and exited.
    func stopDirector(_ d: Director, log name: String) throws -> String {
        if let p = directors[d], p.isRunning {
            Glibc.kill(p.processIdentifier, SIGTERM)
            try waitUntil("lvsd \(d.rawValue) exits") { !p.isRunning }
        }
        directors[d] = nil
        return log(d, name: name)
    }

    /// lvsadm's output, or its error when it fails.
    func lvsadmRun(_ d: Director, _ arguments: [String]) -> String {
        guard let run = try? Command.run(lvsadm, ["--socket", socket(d)] + arguments) else { return "lvsadm did not run" }
        return run.status == 0 ? run.stdout : "lvsadm exited \(run.status): \(run.stderr)"
    }

    func daemons(_ d: Director) -> String { lvsadmRun(d, ["-L", "--daemon"]) }

    func waitForDaemon(_ d: Director, _ listing: String) throws {
        try waitUntil("director \(d.rawValue) lists \(listing) (lists \(daemons(d)); log: \(log(d)))", seconds: 5, poll: 20_000) {
            self.daemons(d) == listing
        }
    }
    func vrrpListing(_ d: Director) -> String { lvsadmRun(d, ["--vrrp"]) }

    func state(_ d: Director) -> String? {
        for line in vrrpListing(d).split(separator: "\n") where line.hasPrefix("VI_1 ") {
            return line.split(separator: " ").dropFirst().first.map(String.init)
        }
        return nil
    }

    func waitForState(_ d: Director, _ state: String, seconds: Double) throws {
        try waitUntil("director \(d.rawValue) is \(state) (lvsadm --vrrp: \(vrrpListing(d)); log: \(log(d)))", seconds: seconds, poll: 20_000) {
            self.state(d) == state
        }
    }

    /// Whether `d` lists an ESTABLISHED connection from the client to VIP:80 with the
    /// client's template (`lvsadm -L -n -c`).
    func hasDownload(on d: Director) -> Bool {
        let rows = lvsadmRun(d, ["-L", "-n", "-c"]).split(separator: "\n")
        let connection = rows.contains { $0.contains("ESTABLISHED") && $0.contains("198.18.0.2:") && $0.contains("\(Self.vip):80") }
        let template = rows.contains { $0.contains("198.18.0.2:0 ") || $0.contains("198.18.0.0:0 ") }
        return connection && template
    }

    func waitForDownload(on d: Director) throws {
        try waitUntil("director \(d.rawValue) lists the download's connection and template (\(lvsadmRun(d, ["-L", "-n", "-c"])))", seconds: 10) {
            self.hasDownload(on: d)
        }
        // A little more of the transfer through the master.
        usleep(500_000)
    }

    struct Download {
        var name: String
        var process: Process
        var target: String
    }

    /// curl fetching big.bin through the VIP at `rate` bytes/s (curl's syntax), in the background.
    func download(_ name: String, rate: String) throws -> Download {
        let target = "\(directory)/download-\(name).bin"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns("c"), "/usr/bin/curl", "-sS", "--limit-rate", rate, "--max-time", "90",
                       "-o", target, "http://\(Self.vip)/big.bin"]
        let logFile = "\(directory)/curl-\(name).log"
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let handle = FileHandle(forWritingAtPath: logFile)!
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        downloads.append(p)
        return Download(name: name, process: p, target: target)
    }

    /// Waits for `d` to end (curl's own 90 s limit bounds it) and checks status and sha256.
    func finish(_ d: Download, sourceLocation: SourceLocation = #_sourceLocation) throws {
        d.process.waitUntilExit()
        let log = (try? String(contentsOfFile: "\(directory)/curl-\(d.name).log", encoding: .utf8)) ?? ""
        #expect(d.process.terminationStatus == 0, "download \(d.name): curl exited \(d.process.terminationStatus): \(log)",
                sourceLocation: sourceLocation)
        #expect(Command.sha256(d.target) == Command.sha256("\(directory)/big.bin"), "download \(d.name): sha256 differs",
                sourceLocation: sourceLocation)
    }

    /// Opens a connection to the VIP that sends half a request and then nothing until
    /// `finishIdleRequest` (a file appears); it then sends the rest and prints the body.
    func idleRequest() throws -> Process {
        let script = """
            import os, socket, sys, time
            go = sys.argv[1]
            s = socket.create_connection(("\(Self.vip)", 80), timeout=5)
            s.sendall(b"GET /who HTTP/1.0\\r\\nHost: lvst\\r\\n")
            print("open", flush=True)
            while not os.path.exists(go):
                time.sleep(0.05)
            s.settimeout(20)
            s.sendall(b"\\r\\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except Exception as e:
                print("error", e, flush=True)
            print("body", data.split(b"\\r\\n\\r\\n", 1)[-1].decode(errors="replace").strip(), flush=True)
            """
        let output = "\(directory)/idle.out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let handle = FileHandle(forWritingAtPath: output)!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns("c"), "/usr/bin/python3", "-c", script, "\(directory)/idle.go"]
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        downloads.append(p)
        try waitUntil("the idle connection is open (\((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""))") {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("open")
        }
        return p
    }

    /// Lets the idle connection send the rest of its request; returns the body it got.
    func finishIdleRequest(_ p: Process) throws -> String {
        FileManager.default.createFile(atPath: "\(directory)/idle.go", contents: nil)
        try waitUntil("the idle request ends", seconds: 30) { !p.isRunning }
        let text = (try? String(contentsOfFile: "\(directory)/idle.out", encoding: .utf8)) ?? ""
        let body = text.split(separator: "\n").last { $0.hasPrefix("body ") }.map { String($0.dropFirst(5)) }
        return body ?? text
    }

    func waitForAnswer(seconds: Double) throws {
        try waitUntil("a request through the VIP is answered (last: \((try? who()) ?? "?"))\nA: \(log(.a))", seconds: seconds) {
            try self.who().hasPrefix("real-server-")
        }
    }

    /// GET /who through the VIP: which real server answered.
    func who() throws -> String {
        let run = try Command.run("/usr/sbin/ip", ["netns", "exec", ns("c"), "/usr/bin/curl", "-sS", "-m", "3", "http://\(Self.vip)/who"])
        return run.status == 0 ? run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "curl \(run.status): \(run.stderr)"
    }

    func tearDown() {
        for p in downloads + servers + Array(directors.values) where p.isRunning {
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        for n in namespaces {
            for pid in Command.pids(in: n) { Glibc.kill(pid, SIGKILL) }
        }
        deleteNamespaces()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Namespaces whose names start with `prefix` (`ip netns list`).
    static func namespaces(prefix: String) -> [String] {
        let out = (try? Command.run("/usr/sbin/ip", ["netns", "list"]).stdout) ?? ""
        return out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix(prefix) }
    }

    private func deleteNamespaces() {
        for name in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", name]) }
    }

    private func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 10, poll: UInt32 = 50_000,
                           _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(poll)
        }
        throw Command.Failed(description: "timed out after \(seconds) s waiting until \(what())")
    }
}
