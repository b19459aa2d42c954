import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd lab --ha`: issue 14's pair of directors for people to watch. Two lvsd (A priority
/// 150, B 100) share VIP 198.18.0.100 through VRRP and sync their connections
/// (`lvs_sync_daemon d0 VI_1`, one keepalived.conf each); two DR real servers serve a file; a
/// client downloads it through the VIP. The run prints who is master, kills the master
/// (SIGKILL) mid-download, prints how long the takeover took and whether the download
/// finished with the right sha256 through the new master.
///
/// ```
///   client 198.18.0.2, A 198.18.0.11, B 198.18.0.12, rs1 198.18.0.21, rs2 198.18.0.22
///   one bridge (namespace `switch`); sync 224.0.0.81:8848 and VRRP 224.0.0.18 on it
/// ```
public final class LabHARun: @unchecked Sendable {
    // Safety (@unchecked): used from one thread; `shell` is thread-safe for `stopAll`.
    let shell: LabShell
    public let prefix: String
    public let directory: String
    let pair: LabDirectorPair
    let transferMiB: Int
    let rate: String
    static let vip = "198.18.0.100"
    static let nodes: [(name: String, address: String)] = [("client", "198.18.0.2"), ("a", "198.18.0.11"), ("b", "198.18.0.12"),
                                                          ("rs1", "198.18.0.21"), ("rs2", "198.18.0.22")]

    /// What a run saw, for the text and for tests.
    public struct Report: Sendable {
        public var masterBefore = "?"
        public var backupBefore = "?"
        public var syncedBeforeKill = false
        public var mibAtKill = 0
        public var takeoverSeconds: Double?
        public var masterAfter = "?"
        public var downloadOK = false
        public var sha256Matches = false
        public var passed: Bool { syncedBeforeKill && takeoverSeconds != nil && masterAfter == "b" && downloadOK && sha256Matches }
    }

    /// `prefix` names every namespace (`lvsl-<id>-ha-` by default); `transferMiB` at `rate`
    /// (curl's `--limit-rate`) must outlast the takeover (~3.5 s).
    public init(shell: LabShell, prefix: String, transferMiB: Int = 64, rate: String = "8M") {
        self.shell = shell
        self.prefix = prefix
        self.directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/\(prefix)dir"
        self.transferMiB = transferMiB
        self.rate = rate
        pair = LabDirectorPair(shell: shell, prefix: prefix, directory: directory)
    }

    func ns(_ name: String) -> String { prefix + name }
    func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// Builds, runs and reports; `cleanUp` removes everything (call it also on failure).
    public func execute() throws -> Report {
        var report = Report()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try build()
        try startRealServers()
        let a = try startDirector("a", priority: 150)
        _ = try startDirector("b", priority: 100)
        say("lvsd lab --ha: VIP \(Self.vip) (VRRP VI_1: A 198.18.0.11 priority 150, B 198.18.0.12 priority 100), DR to rs1 and rs2, connection sync on d0")
        try waitUntil("A is MASTER", seconds: 20) { self.state("a") == "MASTER" && self.state("b") == "BACKUP" }
        report.masterBefore = "a"
        report.backupBefore = "b"
        say("master: A (\(daemon("a"))); backup: B (\(daemon("b")))")

        let target = "\(directory)/download.bin"
        say("downloading \(transferMiB) MiB through the VIP at \(rate)iB/s ...")
        let curl = try shell.start(in: ns("client"), ["curl", "-sS", "--limit-rate", rate, "--max-time", "120", "-o", target,
                                                      "http://\(Self.vip)/big.bin"], log: "\(directory)/curl.log")
        try waitUntil("B lists the download's connection (synced from A)", seconds: 10) { self.synced("b") }
        report.syncedBeforeKill = true
        usleep(1_000_000)
        report.mibAtKill = ((try? FileManager.default.attributesOfItem(atPath: target))?[.size] as? Int ?? 0) >> 20
        say("B has the download's connection from A's sync messages; killing A (SIGKILL) at \(report.mibAtKill) MiB")
        let killedAt = Date()
        kill(a, SIGKILL)
        try waitUntil("B is MASTER", seconds: 10, poll: 10_000) { self.state("b") == "MASTER" }
        report.takeoverSeconds = Date().timeIntervalSince(killedAt)
        report.masterAfter = "b"
        say(String(format: "B is MASTER %.2f s after the kill (Master_Down_Interval 3 × 1 s + skew 0.61 s after A's last advert)", report.takeoverSeconds ?? 0))
        try waitUntil("the download ends", seconds: 130) { !self.shell.isRunning(curl) }
        let curlLog = (try? String(contentsOfFile: "\(directory)/curl.log", encoding: .utf8)) ?? ""
        report.downloadOK = curlLog.isEmpty
        let got = try sha256(target), want = try sha256("\(directory)/big.bin")
        report.sha256Matches = got == want
        say("download \(report.downloadOK ? "finished" : "failed: \(curlLog)") through B: sha256 \(got.prefix(16))… \(report.sha256Matches ? "matches" : "differs from \(want.prefix(16))…")")
        say(report.passed ? "lvsd lab --ha: the download survived the failover" : "lvsd lab --ha: FAILED")
        return report
    }

    private func build() throws {
        try pair.buildSwitch(Self.nodes.map { ($0.name, $0.address, "d0") })
        for rs in ["rs1", "rs2"] {
            // DR: the real servers hold the VIP and never answer ARP for it.
            try shell.run(["ip", "-n", ns(rs), "address", "add", "\(Self.vip)/32", "dev", "lo"])
            try shell.run(in: ns(rs), ["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                                       "net.ipv4.conf.d0.arp_ignore=1", "net.ipv4.conf.d0.arp_announce=2"])
        }
    }

    private func startRealServers() throws {
        let big = "\(directory)/big.bin"
        try shell.run(["dd", "if=/dev/urandom", "of=\(big)", "bs=1048576", "count=\(transferMiB)", "status=none"])
        for rs in ["rs1", "rs2"] {
            let root = "\(directory)/\(rs)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.linkItem(atPath: big, toPath: "\(root)/big.bin")
            _ = try shell.start(in: ns(rs), ["python3", "-m", "http.server", "80", "--directory", root], log: "\(directory)/\(rs).log")
        }
        for (rs, address) in [("rs1", "198.18.0.21"), ("rs2", "198.18.0.22")] {
            try waitUntil("\(rs) serves HTTP", seconds: 15) {
                (try? self.shell.run(in: self.ns("client"), ["curl", "-s", "-m", "1", "-o", "/dev/null", "http://\(address)/big.bin", "-r", "0-0"],
                                     check: false).status) == 0
            }
        }
    }

    func config(_ d: String, priority: Int) -> String {
        """
        global_defs {
            lvs_sync_daemon d0 VI_1 id 14
        }
        lvsd_director {
            interface d0 mac 00:00:00:00:00:00 address \(d == "a" ? "198.18.0.11" : "198.18.0.12")
        }
        vrrp_instance VI_1 {
            state BACKUP
            interface d0
            virtual_router_id 51
            priority \(priority)
            advert_int 1
            virtual_ipaddress {
                \(Self.vip)/24
            }
        }
        virtual_server \(Self.vip) 80 {
            lb_algo rr
            lb_kind DR
            protocol TCP
            real_server 198.18.0.21 80 {
                weight 1
            }
            real_server 198.18.0.22 80 {
                weight 1
            }
        }

        """
    }

    private func startDirector(_ d: String, priority: Int) throws -> Int32 {
        try config(d, priority: priority).write(toFile: "\(directory)/\(d).conf", atomically: true, encoding: .utf8)
        return try pair.startDirector(d, interface: "d0", instance: "VI_1", extra: ["--connections", "65536"])
    }

    private func lvsadm(_ d: String, _ arguments: [String]) -> String { pair.lvsadm(d, arguments) }

    /// VI_1's state in `lvsadm --vrrp`.
    func state(_ d: String) -> String? { pair.state(d, instance: "VI_1") }

    func daemon(_ d: String) -> String {
        lvsadm(d, ["-L", "--daemon"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether `d` lists an ESTABLISHED connection from the client to the VIP.
    func synced(_ d: String) -> Bool {
        lvsadm(d, ["-L", "-n", "-c"]).split(separator: "\n").contains {
            $0.contains("ESTABLISHED") && $0.contains("198.18.0.2:") && $0.contains("\(Self.vip):80")
        }
    }

    private func sha256(_ path: String) throws -> String {
        String(try shell.run(["sha256sum", path]).output.prefix { $0 != " " })
    }

    private func waitUntil(_ what: String, seconds: Double, poll: UInt32 = 50_000, _ condition: () throws -> Bool) throws {
        try pair.waitUntil(what, seconds: seconds, poll: poll, condition)
    }

    /// Stops what the lab started, deletes its namespaces and its folder.
    public func cleanUp() { pair.cleanUp() }
}
