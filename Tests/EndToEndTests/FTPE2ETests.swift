import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// FTP through lvsd end to end (Docs/ftp.md): Debian's vsftpd on two real servers, curl as the
/// client, a file fetched passive (EPSV and PASV) and active (EPRT and PORT) with its sha256
/// checked, through NAT and FullNAT (the FTP helper rewrites the lines and creates the data
/// connections) and DR (a persistent port-0 service carries the data connection to the
/// control connection's real server). The kernel's default offloads everywhere.
@Suite(.serialized)
struct FTPE2ETests {
    /// curl's four ways to fetch a file over FTP.
    static let modes: [(String, [String])] = [
        ("passive EPSV", []),
        ("passive PASV", ["--disable-epsv"]),
        ("active EPRT", ["-P", "-"]),
        ("active PORT", ["-P", "-", "--disable-eprt"]),
    ]

    @Test(.enabled(if: getuid() == 0, "FTPE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: ["NAT", "FNAT", "DR"])
    func curlFetchesAFileActiveAndPassive(_ kind: String) throws {
        let lab = try FTPLab(directRouting: kind == "DR")
        defer { lab.tearDown() }
        try lab.build()
        let digest = try lab.startFTPServers(kilobytes: 2048)
        let log = try lab.startDirector(config: lab.keepalivedConf(kind))
        var failures: [String] = []
        var fetched = 0
        // Two rounds: with rr (NAT, FullNAT) the control connections alternate between the two
        // servers, and each data connection must reach the server of its control connection.
        for round in 0..<2 {
            for (name, flags) in Self.modes {
                let (status, out, err) = try lab.run(in: lab.client,
                    "/usr/bin/curl -s -S -m 30 \(flags.joined(separator: " ")) ftp://198.18.0.100/blob | /usr/bin/sha256sum")
                let sum = out.split(separator: " ").first.map(String.init) ?? ""
                if status == 0 && sum == digest && err.isEmpty { fetched += 1 }
                else { failures.append("round \(round) \(name): exit \(status), sha256 \(sum), \(err)") }
            }
        }
        let output = try lab.stopDirector(log: log)
        print("FTPE2ETests \(kind): \(fetched) fetched, failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(kind): \(failures)")
        #expect(fetched == 2 * Self.modes.count)
        if kind != "DR" {
            // lvsd's summary names the helper's work: data connections it created.
            #expect(output.contains("ftp-data-connections"), "lvsd reports the FTP helper's counters: \(output)")
        }
    }

    /// Client addresses for the two-worker runs: the fanout program steers an FTP VIP's
    /// clients by address, so one address keeps one worker; twenty-four make it all but
    /// certain (1 in 2^23 under the random steering key) that both workers hold sessions.
    static let clientAddresses = (20..<44).map { "198.18.0.\($0)" }

    /// `--workers 2` (Docs/ftp.md, Docs/adr/0002): each control connection and its data
    /// connections must reach one worker, the one holding the passive expectation or the
    /// inserted active connection. Twenty-four client addresses each fetch once, the four modes in
    /// turn; every fetch must arrive whole and both workers must have held connections.
    @Test(.enabled(if: getuid() == 0, "FTPE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: ["NAT", "FNAT"])
    func twoWorkersKeepEachSessionOnOneWorker(_ kind: String) throws {
        let lab = try FTPLab(directRouting: false, tag: "ftw")
        defer { lab.tearDown() }
        try lab.build()
        for address in Self.clientAddresses {
            try Command.ip(["-n", lab.client, "address", "add", "\(address)/24", "dev", "c0"])
        }
        let digest = try lab.startFTPServers(kilobytes: 512)
        let log = try lab.startDirector(config: lab.keepalivedConf(kind), arguments: ["--workers", "2"])
        var failures: [String] = []
        for (i, address) in Self.clientAddresses.enumerated() {
            let (name, flags) = Self.modes[i % Self.modes.count]
            let (status, out, err) = try lab.run(in: lab.client,
                "/usr/bin/curl -s -S -m 30 --interface \(address) \(flags.joined(separator: " ")) ftp://198.18.0.100/blob | /usr/bin/sha256sum")
            let sum = out.split(separator: " ").first.map(String.init) ?? ""
            if status != 0 || sum != digest || !err.isEmpty { failures.append("\(address) \(name): exit \(status), sha256 \(sum), \(err)") }
        }
        let output = try lab.stopDirector(log: log)
        print("FTPE2ETests \(kind) --workers 2: failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(kind) --workers 2: \(failures)")
        // `lvsd:   worker K: frames in …, connections C`: both workers held sessions.
        var connections: [Int: Int] = [:]
        for line in output.split(separator: "\n") where line.contains("  worker ") && line.contains("connections ") {
            let words = line.split(separator: " ")
            guard let w = words.firstIndex(of: "worker"), w + 1 < words.count, let last = words.last,
                  let index = Int(words[w + 1].dropLast()), let count = Int(last) else { continue }
            connections[index] = count
        }
        #expect(connections.keys.sorted() == [0, 1], "no per-worker summary lines: \(output)")
        #expect(connections.values.allSatisfy { $0 > 0 }, "\(kind): connections per worker \(connections)")
        #expect(output.contains("ftp-data-connections"), "lvsd reports the FTP helper's counters: \(output)")
    }
}

extension FTPE2ETests {
    /// IPVS's `cp->control` (Docs/ftp.md, "A transfer outlives the idle timeout"): with
    /// `lvsadm --set 3 0 0` the control connection idles out after 3 s, but a data connection
    /// the helper created holds it for as long as the transfer runs. curl fetches 640 KiB that
    /// vsftpd sends at 100 KiB/s (6.4 s, twice the timeout), passive and active; after the
    /// transfer it reads the 226 and sends QUIT over the control connection, so curl's exit 0
    /// and the right sha256 mean the control connection was still in lvsd's table. Without the
    /// link both fetches fail: curl waits for the 226 until `-m` and exits 28.
    @Test(.enabled(if: getuid() == 0, "FTPE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: ["NAT", "FNAT"])
    func aTransferLongerThanTheIdleTimeoutKeepsItsControlConnection(_ kind: String) throws {
        let lab = try FTPLab(directRouting: false, tag: "ftc")
        defer { lab.tearDown() }
        try lab.build()
        // vsftpd paces each transfer (curl 7.88's --limit-rate did not slow these downloads).
        let digest = try lab.startFTPServers(kilobytes: 640, bytesPerSecond: 100 * 1024)
        let socket = lab.directory.appendingPathComponent("lvsd.sock").path
        let log = try lab.startDirector(config: lab.keepalivedConf(kind), arguments: ["--socket", socket])
        let lvsadm = try BuiltExecutable.lvsadm()
        let set = try Command.run("/usr/bin/timeout", ["-s", "KILL", "20", lvsadm, "--socket", socket, "--set", "3", "0", "0"])
        #expect(set.status == 0, "lvsadm --set 3 0 0: \(set.stderr)")
        let listed = try Command.run("/usr/bin/timeout", ["-s", "KILL", "20", lvsadm, "--socket", socket, "-L", "--timeout"])
        #expect(listed.stdout.contains("Timeout (tcp tcpfin udp): 3 "), "lvsadm -L --timeout: \(listed.stdout) \(listed.stderr)")
        var failures: [String] = []
        for (name, flags) in [Self.modes[0], Self.modes[3]] {
            // curl's exit code (the pipeline's status is sha256sum's) and how long the transfer
            // ran, on stderr after any error message.
            let (status, out, err) = try lab.run(in: lab.client,
                "/usr/bin/curl -s -S -m 40 --limit-rate 100k -w '%{stderr}exit %{exitcode} after %{time_total} s' \(flags.joined(separator: " ")) "
                    + "ftp://198.18.0.100/blob | /usr/bin/sha256sum",
                seconds: 50)
            print("FTPE2ETests \(kind) \(name) at 100 KiB/s: \(err)")
            let sum = out.split(separator: " ").first.map(String.init) ?? ""
            if status != 0 || sum != digest || !err.hasPrefix("exit 0 after ") { failures.append("\(name): exit \(status), sha256 \(sum), \(err)") }
        }
        let output = try lab.stopDirector(log: log)
        print("FTPE2ETests \(kind) slow transfers: failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(kind) with a 3 s idle timeout: \(failures)")
        #expect(output.contains("ftp-data-connections"), "lvsd reports the FTP helper's counters: \(output)")
    }
}

/// NAT and FullNAT: client c0 198.18.0.2 — d0 198.18.0.1 [director] d1 — e0 198.18.1.2 [r1],
/// d2 — e0 198.18.2.2 [r2], the VIP 198.18.0.100 on the client's subnet, the LIP 198.18.3.1
/// (FullNAT) reached through the real servers' default route, the director.
/// DR: one bridge (namespace `…ftw`) joins client 198.18.0.2, director 198.18.0.1 and real
/// servers 198.18.0.11/12, which hold the VIP on lo and answer the client directly.
/// Namespaces `lvst-PID-ft*`.
private final class FTPLab {
    let directRouting: Bool
    let client: String, director: String, realServers: [String], bridge: String
    var namespaces: [String] { [client, director] + realServers + (directRouting ? [bridge] : []) }
    private var processes: [Process] = []
    private var lvsd: Process?
    let directory: URL

    /// `tag` names the namespaces `lvst-PID-TAGc`, `…TAGd`, `…TAGr1`, `…TAGr2`, `…TAGw`.
    init(directRouting: Bool, tag: String = "ftp") throws {
        self.directRouting = directRouting
        let pid = getpid()
        client = "lvst-\(pid)-\(tag)c"
        director = "lvst-\(pid)-\(tag)d"
        realServers = ["lvst-\(pid)-\(tag)r1", "lvst-\(pid)-\(tag)r2"]
        bridge = "lvst-\(pid)-\(tag)w"
        directory = URL(fileURLWithPath: "/tmp/lvst-\(tag)-\(pid)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        deleteNamespaces()
    }

    func serverAddress(_ i: Int) -> String { directRouting ? "198.18.0.1\(i + 1)" : "198.18.\(i + 1).2" }

    func build() throws {
        for ns in namespaces {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
            try Command.ip(["netns", "exec", ns, "/usr/sbin/sysctl", "-qw",
                            "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        if directRouting { try buildBridge() } else { try buildRouted() }
    }

    private func buildRouted() throws {
        try Command.ip(["-n", director, "link", "add", "d0", "type", "veth", "peer", "name", "c0", "netns", client])
        try Command.ip(["-n", director, "address", "add", "198.18.0.1/24", "dev", "d0"])
        try Command.ip(["-n", client, "address", "add", "198.18.0.2/24", "dev", "c0"])
        try Command.ip(["-n", client, "link", "set", "c0", "up"])
        try Command.ip(["-n", director, "link", "set", "d0", "up"])
        for (i, rs) in realServers.enumerated() {
            let d = "d\(i + 1)"
            try Command.ip(["-n", director, "link", "add", d, "type", "veth", "peer", "name", "e0", "netns", rs])
            try Command.ip(["-n", director, "address", "add", "198.18.\(i + 1).1/24", "dev", d])
            try Command.ip(["-n", rs, "address", "add", "\(serverAddress(i))/24", "dev", "e0"])
            try Command.ip(["-n", director, "link", "set", d, "up"])
            try Command.ip(["-n", rs, "link", "set", "e0", "up"])
            try Command.ip(["-n", rs, "route", "add", "default", "via", "198.18.\(i + 1).1"])
        }
    }

    private func buildBridge() throws {
        try Command.ip(["-n", bridge, "link", "add", "br0", "type", "bridge"])
        try Command.ip(["-n", bridge, "link", "set", "br0", "up"])
        let ends: [(String, String, String)] = [(client, "c0", "198.18.0.2"), (director, "d0", "198.18.0.1")]
            + realServers.enumerated().map { ($0.element, "e0", serverAddress($0.offset)) }
        for (i, (ns, name, address)) in ends.enumerated() {
            try Command.ip(["-n", bridge, "link", "add", "p\(i)", "type", "veth", "peer", "name", name, "netns", ns])
            try Command.ip(["-n", bridge, "link", "set", "p\(i)", "master", "br0"])
            try Command.ip(["-n", bridge, "link", "set", "p\(i)", "up"])
            try Command.ip(["-n", ns, "address", "add", "\(address)/24", "dev", name])
            try Command.ip(["-n", ns, "link", "set", name, "up"])
        }
        // The usual LVS-DR real server: the VIP on lo, never answered for in ARP.
        for rs in realServers {
            try Command.ip(["-n", rs, "address", "add", "198.18.0.100/32", "dev", "lo"])
            for setting in ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"] {
                try Command.ip(["netns", "exec", rs, "/usr/sbin/sysctl", "-qw", setting])
            }
        }
    }

    func keepalivedConf(_ kind: String) -> String {
        if directRouting {
            return """
                lvsd_director {
                    interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                }
                virtual_server 198.18.0.100 0 {
                    protocol TCP
                    lb_algo rr
                    lb_kind DR
                    persistence_timeout 60
                    real_server 198.18.0.11 0 {
                    }
                    real_server 198.18.0.12 0 {
                    }
                }
                """
        }
        return """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
            }
            virtual_server 198.18.0.100 21 {
                protocol TCP
                lb_algo rr
                lb_kind \(kind)
            \(kind == "FNAT" ? "    laddr_group_name ftp_lips\n" : "")\
                real_server 198.18.1.2 21 {
                }
                real_server 198.18.2.2 21 {
                }
            }
            \(kind == "FNAT" ? "local_address_group ftp_lips {\n    198.18.3.1\n}\n" : "")
            """
    }

    /// vsftpd in each real server, anonymous read of the same file of `kilobytes` KiB of
    /// random bytes, sent at most `bytesPerSecond` per transfer when given; returns its sha256.
    func startFTPServers(kilobytes: Int, bytesPerSecond: Int? = nil) throws -> String {
        let blob = directory.appendingPathComponent("blob")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1K", "count=\(kilobytes)", "status=none"])
        guard dd == 0 else { throw FTPLabFailure(description: "dd failed: \(ddErr)") }
        let (_, sum, _) = try Command.run("/usr/bin/sha256sum", [blob.path])
        let digest = String(sum.split(separator: " ").first ?? "")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: blob.path)
        for (i, rs) in realServers.enumerated() {
            let root = directory.appendingPathComponent("ftp\(i + 1)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: root.path)
            try FileManager.default.linkItem(at: blob, to: root.appendingPathComponent("blob"))
            let conf = directory.appendingPathComponent("vsftpd\(i + 1).conf")
            try """
                listen=YES
                listen_ipv6=NO
                background=NO
                anonymous_enable=YES
                no_anon_password=YES
                anon_root=\(root.path)
                local_enable=NO
                write_enable=NO
                connect_from_port_20=YES
                pasv_enable=YES
                pasv_min_port=50000
                pasv_max_port=50999
                isolate=NO
                isolate_network=NO
                seccomp_sandbox=NO
                xferlog_enable=NO
                secure_chroot_dir=/var/run/vsftpd/empty
                \(bytesPerSecond.map { "anon_max_rate=\($0)" } ?? "")

                """.write(to: conf, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", rs, "/usr/sbin/vsftpd", conf.path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
        try FileManager.default.createDirectory(atPath: "/var/run/vsftpd/empty", withIntermediateDirectories: true)
        for (i, rs) in realServers.enumerated() {
            try waitUntil("real server \(i + 1) serves FTP") {
                (try? run(in: rs, "/usr/bin/curl -s -m 2 -o /dev/null ftp://\(serverAddress(i))/").0) == 0
            }
        }
        return digest
    }

    func startDirector(config: String, arguments: [String] = []) throws -> URL {
        let configFile = directory.appendingPathComponent("keepalived.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("lvsd.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        let interfaces = directRouting ? ["--interface", "d0"] : ["--interface", "d0", "--interface", "d1", "--interface", "d2"]
        p.arguments = ["netns", "exec", director, try BuiltExecutable.lvsd(), "--config", configFile.path] + interfaces
            + ["--duration", "150", "--connections", "65536"] + arguments
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        lvsd = p
        try waitUntil("lvsd starts (log: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? ""))") {
            guard p.isRunning else { return true }
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            return text.contains("lvsd: neighbour \(serverAddress(0))") && text.contains("lvsd: neighbour \(serverAddress(1))")
        }
        guard p.isRunning else {
            throw FTPLabFailure(description: "lvsd exited early: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? "")")
        }
        return logFile
    }

    func stopDirector(log: URL) throws -> String {
        if let p = lvsd, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            try waitUntil("lvsd exits after SIGTERM") { !p.isRunning }
        }
        lvsd = nil
        return (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }

    /// `command` through `sh -c` in namespace `ns`, killed after `seconds` so a hung peer fails
    /// the test instead of holding it.
    func run(in ns: String, _ command: String, seconds: Int = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        try Command.run("/usr/bin/timeout", ["-s", "KILL", "\(seconds)", "/usr/sbin/ip", "netns", "exec", ns, "/bin/sh", "-c", command])
    }

    /// Every process this lab started, and what they forked inside its namespaces (vsftpd's
    /// sessions), is SIGKILLed and waited for a bounded time: a broken run ends in seconds.
    /// lvsd gets a SIGTERM first, a second to remove its host settings.
    func tearDown() {
        if let p = lvsd, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            for _ in 0..<50 where p.isRunning { usleep(20_000) }
        }
        for p in processes + [lvsd].compactMap({ $0 }) where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for ns in namespaces { for pid in Command.pids(in: ns) { kill(pid, SIGKILL) } }
        for p in processes + [lvsd].compactMap({ $0 }) {
            for _ in 0..<100 where p.isRunning { usleep(20_000) }
        }
        processes = []
        lvsd = nil
        deleteNamespaces()
        try? FileManager.default.removeItem(at: directory)
    }

    private func deleteNamespaces() {
        for ns in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
    }

    private func waitUntil(_ what: String, seconds: Double = 15, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw FTPLabFailure(description: "timed out after \(seconds) s waiting until \(what)")
    }
}

private struct FTPLabFailure: Error, CustomStringConvertible {
    var description: String
}
