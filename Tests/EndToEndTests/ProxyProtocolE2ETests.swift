import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The client's real address behind FullNAT, end to end (Docs/adr/0008): curl in the client's
/// namespace, lvsd FullNAT from a keepalived.conf, nginx on the real server with
/// `listen ... proxy_protocol` logging `$proxy_protocol_addr`, offloads as the kernel sets
/// them. One lab, six services: PROXY protocol v1 and v2 over IPv4 and IPv6 (the log shows the
/// client's address, not the local address the server's TCP peer is), a 100 MiB download
/// through v2 with its sha256, and TOA, whose option 254 a capture on the real server reads
/// (the server cannot load the toa module here).
@Suite(.serialized)
struct ProxyProtocolE2ETests {
    static let client4 = "198.18.0.2", client6 = "2001:db8::2"
    static let vip4 = "198.18.0.10", vip6 = "2001:db8::10"

    @Test(.enabled(if: getuid() == 0, "ProxyProtocolE2ETests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(4)))
    func nginxLogsTheClientsAddressThroughFullNAT() throws {
        let lab = try ProxyProtocolLab()
        defer { lab.tearDown() }
        try lab.build()
        let digest = try lab.startNginx(megabytes: 100)
        try lab.startCapture(port: 8082)
        try lab.startDirector(config: """
            local_address_group LIPS {
                198.18.1.100 d1
            }
            local_address_group LIPS6 {
                2001:db8:1::100 d1
            }
            \(Self.service(Self.vip4, 80, lips: "LIPS", option: "proxy_protocol v1", server: "198.18.1.11", port: 8080))
            \(Self.service(Self.vip4, 81, lips: "LIPS", option: "proxy_protocol v2", server: "198.18.1.11", port: 8081))
            \(Self.service(Self.vip4, 82, lips: "LIPS", option: "toa", server: "198.18.1.11", port: 8082))
            \(Self.service(Self.vip6, 80, lips: "LIPS6", option: "proxy_protocol v1", server: "2001:db8:1::11", port: 8080))
            \(Self.service(Self.vip6, 81, lips: "LIPS6", option: "proxy_protocol v2", server: "2001:db8:1::11", port: 8081))
            \(Self.service(Self.vip6, 82, lips: "LIPS6", option: "toa", server: "2001:db8:1::11", port: 8082))
            """)

        var failures: [String] = []
        for (vip, port) in [(Self.vip4, 80), (Self.vip4, 81), ("[\(Self.vip6)]", 80), ("[\(Self.vip6)]", 81),
                            (Self.vip4, 82), ("[\(Self.vip6)]", 82)] {
            let (status, out, err) = try lab.inClient(["/usr/bin/curl", "-s", "-S", "-m", "5", "http://\(vip):\(port)/who"])
            if status != 0 || out != "rs1\n" { failures.append("\(vip):\(port): curl \(status) '\(out)' \(err)") }
        }
        // A first write of 20 KB: the client's stack hands it over as one GSO super-frame, and the
        // header goes into that. nginx parses the request after the header and answers it (404:
        // there is no /big); a header it could not read would end the connection unanswered.
        let post = "import socket; s = socket.create_connection(('\(Self.vip4)', 81)); "
            + "s.sendall(b'POST /big HTTP/1.0\\r\\nContent-Length: 20000\\r\\n\\r\\n' + b'x' * 20000); "
            + "print(s.recv(100).split(b'\\r\\n')[0].decode())"
        let (postStatus, postOut, postErr) = try lab.inClient(["/usr/bin/python3", "-c", post])
        #expect(postStatus == 0 && postOut.hasPrefix("HTTP/1.1 404"), "the 20 KB first write: \(postStatus) \(postOut) \(postErr)")

        // The download through v2, and (for the printed comparison only) through the TOA service,
        // whose stream is not shifted.
        var seconds: [Double] = []
        var results: [(Int32, String, String)] = []
        for port in [81, 82] {
            let start = Date()
            results.append(try lab.inClient(["/bin/sh", "-c",
                "/usr/bin/curl -s -S -m 120 http://\(Self.vip4):\(port)/blob | /usr/bin/sha256sum"]))
            seconds.append(Date().timeIntervalSince(start))
        }
        let (status, out, err) = results[0]
        let listing = try Command.run(try BuiltExecutable.lvsadm(), ["--socket", lab.socket, "-L", "-n"])
        let capture = try lab.stopCapture()
        let log = try lab.stopDirector()
        #expect(failures.isEmpty, "\(failures)\n\(log)")
        #expect(status == 0, "the download failed: \(err)")
        #expect(out.split(separator: " ").first.map(String.init) == digest, "the 100 MiB download through v2 arrived altered")
        #expect(results[1].1.split(separator: " ").first.map(String.init) == digest, "the download through TOA: \(results[1])")
        print("ProxyProtocolE2ETests: 100 MiB through PROXY protocol v2 in \(seconds[0]) s, through TOA (no shift) in \(seconds[1]) s")

        // `$proxy_protocol_addr $remote_addr $server_port`: the client's address from the
        // header, the local address lvsd connected from.
        let v1 = lab.accessLog("pp1"), v2 = lab.accessLog("pp2")
        print("ProxyProtocolE2ETests: v1 log\n\(v1)v2 log\n\(v2)TOA options seen: \(capture.filter { $0.hasPrefix("fe") || $0.contains("fe08") || $0.contains("fe14") })\n\(log.split(separator: "\n").filter { $0.contains("lvsd:   ") }.joined(separator: "\n"))")
        #expect(v1.contains("\(Self.client4) 198.18.1.100 8080 /who"), "v1 over IPv4: \(v1)")
        #expect(v1.contains("\(Self.client6) 2001:db8:1::100 8080 /who"), "v1 over IPv6: \(v1)")
        #expect(v2.contains("\(Self.client4) 198.18.1.100 8081 /who"), "v2 over IPv4: \(v2)")
        #expect(v2.contains("\(Self.client6) 2001:db8:1::100 8081 /who"), "v2 over IPv6: \(v2)")
        #expect(v2.contains("\(Self.client4) 198.18.1.100 8081 /blob"), "the download's request: \(v2)")
        #expect(v2.contains("\(Self.client4) 198.18.1.100 8081 /big"), "the 20 KB first write's request: \(v2)")
        // The plain server saw no header: its request line reached it intact.
        #expect(lab.accessLog("toa").contains("198.18.1.100 8082 /who"), "\(lab.accessLog("toa"))")

        // TOA: kind 254, length 8 (IPv4) or 20 (IPv6), the client's port, its address.
        let options = capture.joined(separator: "\n")
        #expect(options.range(of: "fe08[0-9a-f]{4}c6120002", options: .regularExpression) != nil,
                "no IPv4 TOA with \(Self.client4) among the real server's segments: \(capture)")
        #expect(options.range(of: "fe14[0-9a-f]{4}20010db8000000000000000000000002", options: .regularExpression) != nil,
                "no IPv6 TOA with \(Self.client6) among the real server's segments: \(capture)")
        // lvsadm lists the switches as DPVS's ipvsadm does (`ppv1`, `ppv2`) and `toa`.
        for line in ["TCP  198.18.0.10:80 rr ppv1", "TCP  198.18.0.10:81 rr ppv2", "TCP  198.18.0.10:82 rr toa",
                     "TCP  [2001:db8::10]:81 rr ppv2"] {
            #expect(listing.stdout.contains(line + "\n"), "lvsadm -L -n: \(listing.stdout) \(listing.stderr)")
        }
        #expect(log.contains("proxy-protocol-headers-sent"), "lvsd reports the headers it sent: \(log)")
        #expect(log.contains("toa-added"), "lvsd reports the TOA options it added: \(log)")
    }

    static func service(_ vip: String, _ port: Int, lips: String, option: String, server: String, port serverPort: Int) -> String {
        """
        virtual_server \(vip) \(port) {
            protocol TCP
            lb_algo rr
            lb_kind FNAT
            laddr_group_name \(lips)
            \(option)
            real_server \(server) \(serverPort) {
            }
        }
        """
    }

    /// The SYN proxy with the client's address (Docs/adr/0009): its own ACK to the real server
    /// carries TOA (a capture on the real server reads option 254 with the client's address),
    /// and the PROXY protocol header goes into the client's first data segment (nginx logs the
    /// client's address, and a download arrives whole).
    @Test(.enabled(if: getuid() == 0, "ProxyProtocolE2ETests need root: they build network namespaces (CI runs as root)"),
          .timeLimit(.minutes(4)))
    func synProxyCarriesTheClientsAddress() throws {
        let lab = try ProxyProtocolLab(tag: "shf")
        defer { lab.tearDown() }
        try lab.build()
        let digest = try lab.startNginx(megabytes: 8)
        try lab.startCapture(port: 8082)
        try lab.startDirector(config: """
            local_address_group LIPS {
                198.18.1.100 d1
            }
            \(Self.service(Self.vip4, 81, lips: "LIPS", option: "syn_proxy\n    proxy_protocol v2", server: "198.18.1.11", port: 8081))
            \(Self.service(Self.vip4, 82, lips: "LIPS", option: "syn_proxy\n    toa", server: "198.18.1.11", port: 8082))
            """)
        var failures: [String] = []
        for port in [81, 82] {
            let (status, out, err) = try lab.inClient(["/usr/bin/curl", "-s", "-S", "-m", "5", "http://\(Self.vip4):\(port)/who"])
            if status != 0 || out != "rs1\n" { failures.append(":\(port): curl \(status) '\(out)' \(err)") }
        }
        let (status, out, err) = try lab.inClient(["/bin/sh", "-c",
            "/usr/bin/curl -s -S -m 60 http://\(Self.vip4):81/blob | /usr/bin/sha256sum"])
        let listing = try Command.run(try BuiltExecutable.lvsadm(), ["--socket", lab.socket, "-L", "-n"])
        let capture = try lab.stopCapture()
        let log = try lab.stopDirector()
        #expect(failures.isEmpty, "\(failures)\n\(log)")
        #expect(status == 0 && out.split(separator: " ").first.map(String.init) == digest, "the download through syn_proxy + v2: \(err)")
        let v2 = lab.accessLog("pp2")
        #expect(v2.contains("\(Self.client4) 198.18.1.100 8081 /who"), "syn_proxy + v2: \(v2)")
        #expect(v2.contains("\(Self.client4) 198.18.1.100 8081 /blob"), "syn_proxy + v2, the download: \(v2)")
        #expect(lab.accessLog("toa").contains("198.18.1.100 8082 /who"), "\(lab.accessLog("toa"))")
        #expect(capture.joined(separator: "\n").range(of: "fe08[0-9a-f]{4}c6120002", options: .regularExpression) != nil,
                "no TOA with \(Self.client4) among the real server's segments through syn_proxy + toa: \(capture)")
        #expect(listing.stdout.contains("TCP  198.18.0.10:82 rr"), "\(listing.stdout)")
        #expect(log.contains("toa-added"), "\(log)")
    }
}

/// Client c0 198.18.0.2/24, 2001:db8::2/64 ─ d0 198.18.0.1, 2001:db8::1 [director] d1
/// 198.18.1.1, 2001:db8:1::1 ─ r0 198.18.1.11, 2001:db8:1::11 [real server]; VIPs on the
/// client's networks, local addresses 198.18.1.100 and 2001:db8:1::100 on the server's (lvsd
/// answers ARP and ND for both). Namespaces `lvst-PID-pxy*`.
private final class ProxyProtocolLab {
    let client: String, director: String, server: String
    var namespaces: [String] { [client, director, server] }
    let directory: URL
    private var processes: [Process] = []
    private var lvsd: Process?
    private var capture: Process?
    private var captureFile: URL { directory.appendingPathComponent("r0.pcap") }
    private var lvsdLog: URL { directory.appendingPathComponent("lvsd.log") }
    var socket: String { directory.appendingPathComponent("lvsd.sock").path }

    init(tag: String = "pxy") throws {
        let pid = getpid()
        client = "lvst-\(pid)-\(tag)c"
        director = "lvst-\(pid)-\(tag)d"
        server = "lvst-\(pid)-\(tag)r"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-pxy-\(pid)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("www"), withIntermediateDirectories: true)
        deleteNamespaces()
    }

    func build() throws {
        for ns in namespaces {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
        }
        try Command.ip(["-n", director, "link", "add", "d0", "type", "veth", "peer", "name", "c0", "netns", client])
        try Command.ip(["-n", director, "link", "add", "d1", "type", "veth", "peer", "name", "r0", "netns", server])
        for (ns, link) in [(director, "d0"), (director, "d1"), (client, "c0"), (server, "r0")] {
            try Command.ip(["-n", ns, "link", "set", link, "up"])
        }
        for (ns, link, address) in [(director, "d0", "198.18.0.1/24"), (director, "d0", "2001:db8::1/64"),
                                    (director, "d1", "198.18.1.1/24"), (director, "d1", "2001:db8:1::1/64"),
                                    (client, "c0", "198.18.0.2/24"), (client, "c0", "2001:db8::2/64"),
                                    (server, "r0", "198.18.1.11/24"), (server, "r0", "2001:db8:1::11/64")] {
            try Command.ip(["-n", ns, "addr", "add", address, "dev", link] + (address.contains(":") ? ["nodad"] : []))
        }
    }

    /// nginx on the real server: 8080 and 8081 expect a PROXY protocol header, 8082 none; each
    /// logs `$proxy_protocol_addr $remote_addr $server_port $uri`. Returns the sha256 of `blob`.
    func startNginx(megabytes: Int) throws -> String {
        let www = directory.appendingPathComponent("www")
        try "rs1\n".write(to: www.appendingPathComponent("who"), atomically: true, encoding: .utf8)
        let blob = www.appendingPathComponent("blob")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1M", "count=\(megabytes)", "status=none"])
        guard dd == 0 else { throw ProxyProtocolLabFailure(description: "dd failed: \(ddErr)") }
        let (_, sum, _) = try Command.run("/usr/bin/sha256sum", [blob.path])
        let d = directory.path
        func block(_ port: Int, _ name: String, proxyProtocol: Bool) -> String {
            let pp = proxyProtocol ? " proxy_protocol" : ""
            return "server { listen \(port)\(pp); listen [::]:\(port)\(pp); root \(d)/www; access_log \(d)/\(name).log pp; }"
        }
        try """
            daemon off;
            worker_processes 1;
            pid \(d)/nginx.pid;
            error_log \(d)/nginx-error.log;
            events { worker_connections 64; }
            http {
                log_format pp '$proxy_protocol_addr $remote_addr $server_port $uri';
                client_body_temp_path \(d)/body; proxy_temp_path \(d)/proxy;
                fastcgi_temp_path \(d)/fastcgi; uwsgi_temp_path \(d)/uwsgi; scgi_temp_path \(d)/scgi;
                \(block(8080, "pp1", proxyProtocol: true))
                \(block(8081, "pp2", proxyProtocol: true))
                \(block(8082, "toa", proxyProtocol: false))
            }
            """.write(to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        try start(["/usr/sbin/ip", "netns", "exec", server, "/usr/sbin/nginx", "-c", "\(d)/nginx.conf"], output: "nginx.out")
        try waitUntil("nginx listens on 8082") {
            (try? Command.run("/usr/sbin/ip", ["netns", "exec", server, "ss", "-Hltn", "sport = :8082"]).stdout.contains(":8082")) == true
        }
        return String(sum.split(separator: " ").first ?? "")
    }

    /// dumpcap on the real server's interface, segments to and from `port`. A child of the test
    /// runner inherits its blocked and ignored signals, and dumpcap (unlike nginx or lvsd) does
    /// not reset them: a two-line Python exec restores SIGTERM before dumpcap starts.
    func startCapture(port: Int) throws {
        let restoreSignals = "import os, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
            + "signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"
        capture = try start(["/usr/sbin/ip", "netns", "exec", server, "/usr/bin/python3", "-c", restoreSignals,
                             "/usr/bin/dumpcap", "-q", "-i", "r0", "-f", "tcp port \(port)", "-w", captureFile.path],
                            output: "dumpcap.out")
        try waitUntil("dumpcap writes its capture file") { FileManager.default.fileExists(atPath: captureFile.path) }
    }

    /// Stops the capture; the TCP options of each captured segment, as hex.
    func stopCapture() throws -> [String] {
        if let p = capture, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            try waitUntil("dumpcap exits") { !p.isRunning }
        }
        capture = nil
        let (_, out, _) = try Command.run("/usr/bin/tshark", ["-r", captureFile.path, "-T", "fields", "-e", "tcp.options"])
        return out.split(separator: "\n").map { $0.replacingOccurrences(of: ":", with: "").lowercased() }.filter { !$0.isEmpty }
    }

    func startDirector(config: String) throws {
        let file = directory.appendingPathComponent("keepalived.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        lvsd = try start(["/usr/sbin/ip", "netns", "exec", director, try BuiltExecutable.lvsd(), "run", "--config", file.path,
                          "--interface", "d0", "--interface", "d1", "--socket", socket, "--duration", "150"],
                         output: "lvsd.log")
        try waitUntil("lvsd runs") {
            let text = (try? String(contentsOf: lvsdLog, encoding: .utf8)) ?? ""
            return text.contains("lvsd: running on d0, d1") || !(lvsd?.isRunning ?? false)
        }
        guard lvsd?.isRunning == true else {
            throw ProxyProtocolLabFailure(description: "lvsd stopped at start: \((try? String(contentsOf: lvsdLog, encoding: .utf8)) ?? "")")
        }
    }

    func stopDirector() throws -> String {
        if let p = lvsd, p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            try waitUntil("lvsd exits after SIGTERM") { !p.isRunning }
        }
        lvsd = nil
        return (try? String(contentsOf: lvsdLog, encoding: .utf8)) ?? ""
    }

    func inClient(_ argv: [String]) throws -> (Int32, String, String) {
        let run = try Command.run("/usr/sbin/ip", ["netns", "exec", client] + argv)
        return (run.status, run.stdout, run.stderr)
    }

    func accessLog(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    func tearDown() {
        for p in (processes + [lvsd, capture].compactMap { $0 }).reversed() where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            for _ in 0..<100 where p.isRunning { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        processes = []
        lvsd = nil
        capture = nil
        deleteNamespaces()
        try? FileManager.default.removeItem(at: directory)
    }

    private func deleteNamespaces() {
        for ns in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
    }

    @discardableResult
    private func start(_ argv: [String], output: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let path = directory.appendingPathComponent(output)
        _ = FileManager.default.createFile(atPath: path.path, contents: nil)
        let handle = try FileHandle(forWritingTo: path)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? handle.close()
        processes.append(p)
        return p
    }

    private func waitUntil(_ what: String, seconds: Double = 15, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw ProxyProtocolLabFailure(description: "timed out after \(seconds) s waiting until \(what)")
    }
}

private struct ProxyProtocolLabFailure: Error, CustomStringConvertible {
    var description: String
}

/// `lvsd run --ring v3` behind FullNAT with a PROXY protocol v2 header and TOA (Docs/adr/0008,
/// Docs/adr/0003): a TPACKET_V3 frame has no tailroom, so the 52-byte v2 header over IPv6 and
/// the 20-byte IPv6 TOA option go into the headroom the ring's reserve leaves. nginx logs the
/// client's address from the header over IPv4 and IPv6, a 20 MiB download over IPv6 arrives
/// with its sha256, and lvsd counts no `proxy-protocol-no-room` or `toa-no-room`. Its own lab
/// (namespaces `lvst-PID-ftcp*`), nothing shared with the suite above.
@Suite(.serialized)
struct ProxyProtocolRingV3E2ETests {
    @Test(.enabled(if: getuid() == 0, "ProxyProtocolRingV3E2ETests need root: they build network namespaces (CI runs as root)"))
    func nginxLogsTheClientsAddressThroughARingV3Director() throws {
        let pid = getpid()
        let client = "lvst-\(pid)-ftcpc", director = "lvst-\(pid)-ftcpd", server = "lvst-\(pid)-ftcpr"
        let namespaces = [client, director, server]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-ftcp-\(pid)-\(UInt32.random(in: 0 ... .max))")
        var processes: [Process] = []
        func deleteNamespaces() {
            for ns in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
        }
        defer {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            for p in processes { for _ in 0..<100 where p.isRunning { usleep(20_000) } }
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            for ns in namespaces { for pid in Command.pids(in: ns) { kill(pid, SIGKILL) } }
            for p in processes { for _ in 0..<100 where p.isRunning { usleep(20_000) } }
            deleteNamespaces()
            try? FileManager.default.removeItem(at: directory)
        }
        deleteNamespaces()
        let www = directory.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www, withIntermediateDirectories: true)
        func start(_ argv: [String], output: String) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
            let path = directory.appendingPathComponent(output)
            _ = FileManager.default.createFile(atPath: path.path, contents: nil)
            let handle = try FileHandle(forWritingTo: path)
            p.standardOutput = handle
            p.standardError = handle
            p.standardInput = FileHandle.nullDevice
            try p.run()
            try? handle.close()
            processes.append(p)
            return p
        }
        func waitUntil(_ what: String, _ condition: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if condition() { return }
                usleep(50_000)
            }
            throw Command.Failed(description: "timed out after 15 s waiting until \(what)")
        }
        func inClient(_ command: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try Command.run("/usr/bin/timeout", ["-s", "KILL", "90", "/usr/sbin/ip", "netns", "exec", client, "/bin/sh", "-c", command])
        }

        // Client c0 ─ d0 [director --ring v3] d1 ─ r0 [nginx], IPv4 and IPv6.
        for ns in namespaces {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
        }
        try Command.ip(["-n", director, "link", "add", "d0", "type", "veth", "peer", "name", "c0", "netns", client])
        try Command.ip(["-n", director, "link", "add", "d1", "type", "veth", "peer", "name", "r0", "netns", server])
        for (ns, link) in [(director, "d0"), (director, "d1"), (client, "c0"), (server, "r0")] {
            try Command.ip(["-n", ns, "link", "set", link, "up"])
        }
        for (ns, link, address) in [(director, "d0", "198.18.0.1/24"), (director, "d0", "2001:db8::1/64"),
                                    (director, "d1", "198.18.1.1/24"), (director, "d1", "2001:db8:1::1/64"),
                                    (client, "c0", "198.18.0.2/24"), (client, "c0", "2001:db8::2/64"),
                                    (server, "r0", "198.18.1.11/24"), (server, "r0", "2001:db8:1::11/64")] {
            try Command.ip(["-n", ns, "addr", "add", address, "dev", link] + (address.contains(":") ? ["nodad"] : []))
        }

        // nginx: 8081 expects a PROXY protocol header and logs `$proxy_protocol_addr $remote_addr $uri`.
        try "rs1\n".write(to: www.appendingPathComponent("who"), atomically: true, encoding: .utf8)
        let blob = www.appendingPathComponent("blob")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1M", "count=20", "status=none"])
        #expect(dd == 0, "dd: \(ddErr)")
        let digest = Command.sha256(blob.path)
        let d = directory.path
        try """
            daemon off;
            worker_processes 1;
            pid \(d)/nginx.pid;
            error_log \(d)/nginx-error.log;
            events { worker_connections 64; }
            http {
                log_format pp '$proxy_protocol_addr $remote_addr $uri';
                client_body_temp_path \(d)/body; proxy_temp_path \(d)/proxy;
                fastcgi_temp_path \(d)/fastcgi; uwsgi_temp_path \(d)/uwsgi; scgi_temp_path \(d)/scgi;
                server { listen 8081 proxy_protocol; listen [::]:8081 proxy_protocol; root \(d)/www; access_log \(d)/pp.log pp; }
            }
            """.write(to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        _ = try start(["/usr/sbin/ip", "netns", "exec", server, "/usr/sbin/nginx", "-c", "\(d)/nginx.conf"], output: "nginx.out")
        try waitUntil("nginx listens on 8081") {
            (try? Command.run("/usr/sbin/ip", ["netns", "exec", server, "ss", "-Hltn", "sport = :8081"]).stdout.contains(":8081")) == true
        }

        func service(_ vip: String, lips: String, server address: String) -> String {
            "virtual_server \(vip) 81 {\n  protocol TCP\n  lb_algo rr\n  lb_kind FNAT\n  laddr_group_name \(lips)\n"
                + "  proxy_protocol v2\n  toa\n  real_server \(address) 8081 {\n  }\n}\n"
        }
        let config = directory.appendingPathComponent("keepalived.conf")
        try ("local_address_group LIPS {\n  198.18.1.100 d1\n}\nlocal_address_group LIPS6 {\n  2001:db8:1::100 d1\n}\n"
            + service("198.18.0.10", lips: "LIPS", server: "198.18.1.11")
            + service("2001:db8::10", lips: "LIPS6", server: "2001:db8:1::11")).write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("lvsd.log")
        let lvsd = try start(["/usr/sbin/ip", "netns", "exec", director, try BuiltExecutable.lvsd(), "run", "--config", config.path,
                              "--interface", "d0", "--interface", "d1", "--ring", "v3", "--socket", "\(d)/lvsd.sock",
                              "--duration", "150"], output: "lvsd.log")
        try waitUntil("lvsd runs") {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return text.contains("lvsd: running on d0, d1") || !lvsd.isRunning
        }
        #expect(lvsd.isRunning, "lvsd stopped at start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")

        var failures: [String] = []
        for vip in ["198.18.0.10", "[2001:db8::10]"] {
            let (status, out, err) = try inClient("/usr/bin/curl -s -S -m 10 http://\(vip):81/who")
            if status != 0 || out != "rs1\n" { failures.append("\(vip): curl \(status) '\(out)' \(err)") }
        }
        let download = try inClient("/usr/bin/curl -s -S -m 60 http://[2001:db8::10]:81/blob | /usr/bin/sha256sum")
        let sum = download.stdout.split(separator: " ").first.map(String.init) ?? ""

        if lvsd.isRunning {
            kill(lvsd.processIdentifier, SIGTERM)
            try waitUntil("lvsd exits after SIGTERM") { !lvsd.isRunning }
        }
        let summary = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let access = (try? String(contentsOf: directory.appendingPathComponent("pp.log"), encoding: .utf8)) ?? ""
        print("ProxyProtocolRingV3E2ETests: access log\n\(access)\(summary.split(separator: "\n").filter { $0.contains("lvsd:   ") }.joined(separator: "\n"))")
        #expect(failures.isEmpty, "\(failures)\n\(summary)")
        #expect(download.status == 0 && sum == digest, "the 20 MiB download over IPv6: exit \(download.status), sha256 \(sum), \(download.stderr)")
        #expect(access.contains("198.18.0.2 198.18.1.100 /who"), "v2 over IPv4: \(access)")
        #expect(access.contains("2001:db8::2 2001:db8:1::100 /who"), "v2 over IPv6: \(access)")
        #expect(access.contains("2001:db8::2 2001:db8:1::100 /blob"), "the download's request: \(access)")
        #expect(summary.contains("proxy-protocol-headers-sent") && summary.contains("toa-added"), "\(summary)")
        #expect(!summary.contains("proxy-protocol-no-room") && !summary.contains("toa-no-room"), "\(summary)")
    }
}
