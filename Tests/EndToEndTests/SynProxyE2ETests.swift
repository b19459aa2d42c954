import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The SYN proxy end to end (Docs/adr/0007): a client's curl through lvsd (NAT, `syn_proxy`
/// from keepalived.conf) to Python HTTP servers in their own namespaces, with the kernel's
/// default offloads. Real Linux stacks on both sides check every translated number: the
/// requests are answered, a 100 MiB download arrives with its sha256, and lvsd counts the
/// cookies it sent.
@Suite(.serialized)
struct SynProxyE2ETests {
    @Test(.enabled(if: getuid() == 0, "SynProxyE2ETests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(3)))
    func curlAndA100MiBDownloadThroughANATSynProxyService() throws {
        let lab = try SynProxyLab()
        defer { lab.tearDown() }
        try lab.build()
        let (file, digest) = try lab.startHTTPServers(megabytes: 100)
        let log = try lab.startDirector(config: """
            lvsd_director {
                interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
                interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
                interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
            }
            virtual_server 198.18.0.100 80 {
                protocol TCP
                lb_algo rr
                lb_kind NAT
                syn_proxy
                real_server 198.18.1.2 8080 {
                }
                real_server 198.18.2.2 8080 {
                }
            }
            """)

        var answers: [String: Int] = [:]
        var failures: [String] = []
        for i in 0..<10 {
            let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.client, "/usr/bin/curl", "-s", "-S",
                                                                     "-m", "5", "http://198.18.0.100/who"])
            if status == 0 { answers[out.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1 }
            else { failures.append("request \(i): curl exited \(status): \(err)") }
        }
        let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.client, "/bin/sh", "-c",
            "/usr/bin/curl -s -S -m 120 http://198.18.0.100/\(file) | /usr/bin/sha256sum"])
        let output = try lab.stopDirector(log: log)
        print("SynProxyE2ETests: answers \(answers.sorted { $0.key < $1.key }), failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(failures)")
        #expect(answers == ["real-server-1": 5, "real-server-2": 5], "rr over two servers through the proxy: \(answers)")
        #expect(status == 0, "the download failed: \(err)")
        #expect(out.split(separator: " ").first.map(String.init) == digest, "the 100 MiB download arrived altered")
        #expect(output.contains("syn-proxy-cookies-sent"), "lvsd reports the cookies it sent: \(output)")
    }
}

/// Client c0 198.18.0.2 — d0 198.18.0.1 [director] d1 — e0 198.18.1.2 [r1], d2 — e0 198.18.2.2
/// [r2]; the VIP 198.18.0.100 on the client's subnet. Namespaces `lvst-PID-sp*`; offloads as
/// the kernel sets them.
private final class SynProxyLab {
    let client: String, director: String, realServers: [String]
    var namespaces: [String] { [client, director] + realServers }
    private var processes: [Process] = []
    private var lvsd: Process?
    let directory: URL

    init() throws {
        let pid = getpid()
        client = "lvst-\(pid)-spc"
        director = "lvst-\(pid)-spd"
        realServers = ["lvst-\(pid)-spr1", "lvst-\(pid)-spr2"]
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-sp-\(pid)-\(UInt32.random(in: 0 ... .max))")
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
        try Command.ip(["-n", client, "link", "set", "c0", "up"])
        try Command.ip(["-n", director, "link", "set", "d0", "up"])
        for (i, rs) in realServers.enumerated() {
            let d = "d\(i + 1)"
            try Command.ip(["-n", director, "link", "add", d, "type", "veth", "peer", "name", "e0", "netns", rs])
            try Command.ip(["-n", director, "address", "add", "198.18.\(i + 1).1/24", "dev", d])
            try Command.ip(["-n", rs, "address", "add", "198.18.\(i + 1).2/24", "dev", "e0"])
            try Command.ip(["-n", director, "link", "set", d, "up"])
            try Command.ip(["-n", rs, "link", "set", "e0", "up"])
            try Command.ip(["-n", rs, "route", "add", "default", "via", "198.18.\(i + 1).1"])
        }
    }

    /// Python's HTTP server on 8080 in each real server, serving `who` and the same file of
    /// `megabytes` MiB of random bytes; returns the file's name and sha256.
    func startHTTPServers(megabytes: Int) throws -> (String, String) {
        let blob = directory.appendingPathComponent("blob")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1M", "count=\(megabytes)", "status=none"])
        guard dd == 0 else { throw SynProxyLabFailure(description: "dd failed: \(ddErr)") }
        let (_, sum, _) = try Command.run("/usr/bin/sha256sum", [blob.path])
        let digest = String(sum.split(separator: " ").first ?? "")
        for (i, rs) in realServers.enumerated() {
            let root = directory.appendingPathComponent("www\(i + 1)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try "real-server-\(i + 1)\n".write(to: root.appendingPathComponent("who"), atomically: true, encoding: .utf8)
            try FileManager.default.linkItem(at: blob, to: root.appendingPathComponent("blob"))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", rs, "/usr/bin/python3", "-m", "http.server", "8080"]
            p.currentDirectoryURL = root
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            processes.append(p)
        }
        for i in realServers.indices {
            try waitUntil("real server \(i + 1) serves HTTP") {
                (try? Command.run("/usr/sbin/ip", ["netns", "exec", director, "/usr/bin/curl", "-s", "-m", "1",
                                                "http://198.18.\(i + 1).2:8080/who"]).0) == 0
            }
        }
        return ("blob", digest)
    }

    func startDirector(config: String) throws -> URL {
        let configFile = directory.appendingPathComponent("keepalived.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("lvsd.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", director, try BuiltExecutable.lvsd(), "--config", configFile.path,
                       "--interface", "d0", "--interface", "d1", "--interface", "d2",
                       "--duration", "150", "--connections", "65536"]
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
            throw SynProxyLabFailure(description: "lvsd exited early: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? "")")
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
        throw SynProxyLabFailure(description: "timed out after \(seconds) s waiting until \(what)")
    }
}

private struct SynProxyLabFailure: Error, CustomStringConvertible {
    var description: String
}
