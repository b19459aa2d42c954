import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// TUN beyond IPv4 IPIP through the built `lvsd`, with `lvsd realserver` decapsulating in
/// user space (this kernel has no ipip, ip6_tunnel, gre or fou module), nginx on the real
/// server and curl as the client; offloads and sysctls at the kernel's defaults. Each
/// encapsulation carries a 100 MB upload (the direction whose bytes lvsd tunnels) and a
/// download (whose bytes return straight from the real server), sha256 checked; a lowered MTU on
/// the director's real-server-side veth makes lvsd answer fragmentation-needed /
/// packet-too-big, and the client's path MTU discovery completes an upload through it.
/// `--tun-remcsum` is proven by a download and by a capture on the real server showing the
/// GUE private flags word with the remote checksum offload option.
@Suite(.serialized)
struct TunnelTypesE2ETests {
    struct Case: CustomStringConvertible, Sendable {
        /// The `-a` line's tunnel options.
        let options: String
        let vip: String
        let realServer: String
        let megabytes: Int
        var description: String { "\(options) VIP \(vip) RS \(realServer)" }
    }

    /// Every encapsulation and every pairing of families (issue 16: each tunnel type with a
    /// 100 MB transfer, the upload below); `--tun-remcsum` has its own test below.
    static let cases = [
        Case(options: "--tun-type ipip", vip: "198.18.0.100", realServer: "198.18.1.2", megabytes: 100),
        Case(options: "--tun-type gre --tun-nocsum", vip: "198.18.0.100", realServer: "198.18.1.2", megabytes: 100),
        Case(options: "--tun-type gre --tun-csum", vip: "198.18.0.100", realServer: "198.18.1.2", megabytes: 100),
        Case(options: "--tun-type gue --tun-port 6080 --tun-csum", vip: "198.18.0.100", realServer: "198.18.1.2", megabytes: 100),
        Case(options: "--tun-type ipip", vip: "2001:db8::100", realServer: "2001:db8:1::2", megabytes: 100),
        Case(options: "--tun-type ipip", vip: "198.18.0.100", realServer: "2001:db8:1::2", megabytes: 100),
        Case(options: "--tun-type ipip", vip: "2001:db8::100", realServer: "198.18.1.2", megabytes: 100),
        Case(options: "--tun-type gue --tun-port 6080", vip: "2001:db8::100", realServer: "198.18.1.2", megabytes: 100),
    ]

    @Test(.enabled(if: getuid() == 0, "TunnelTypesE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: cases)
    func downloadThroughTheTunnelKeepsItsHash(_ c: Case) throws {
        let lab = try TunnelLab()
        defer { lab.tearDown() }
        try lab.build()
        // The director tunnels only the client's ACKs of a download (the real server answers
        // the client directly), so 8 MB proves the path; the 100 MB run is the upload.
        let file = try lab.serveFile(megabytes: 8)
        try lab.startRealServer(vip: c.vip, guePort: c.options.contains("gue") ? 6080 : nil)
        let log = try lab.startDirector(vip: c.vip, realServer: c.realServer, options: c.options)
        let url = "http://\(c.vip.contains(":") ? "[\(c.vip)]" : c.vip)/\(file.lastPathComponent)"
        let received = lab.directory.appendingPathComponent("received")
        let (status, _, err) = try lab.inClient("/usr/bin/curl", ["-sS", "-m", "180", "-o", received.path, url])
        let output = try lab.stopAll(log: log)
        #expect(status == 0, "curl: \(err)\n\(output)")
        #expect(Command.sha256(received.path) == Command.sha256(file.path), "\(output)")
        #expect(output.contains("packets decapsulated"), "\(output)")
    }

    /// The other direction, where the bytes themselves go through the tunnel: 100 MB posted
    /// by curl reach the real server as the client's super-frames, wrapped and cut into
    /// segments by lvsd and unwrapped by `lvsd realserver`; the server answers the body's sha256.
    @Test(.enabled(if: getuid() == 0, "TunnelTypesE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: cases + [Case(options: "--tun-type gue --tun-port 6080 --tun-remcsum", vip: "198.18.0.100",
                                   realServer: "198.18.1.2", megabytes: 100)])
    func uploadThroughTheTunnelKeepsItsHash(_ c: Case) throws {
        let lab = try TunnelLab()
        defer { lab.tearDown() }
        try lab.build()
        try lab.startHashingServer()
        try lab.startRealServer(vip: c.vip, guePort: c.options.contains("gue") ? 6080 : nil)
        let log = try lab.startDirector(vip: c.vip, realServer: c.realServer, options: c.options, port: 8080)
        let body = lab.directory.appendingPathComponent("body")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(body.path)", "bs=1M", "count=\(c.megabytes)", "status=none"])
        #expect(dd == 0, "dd: \(ddErr)")
        let url = "http://\(c.vip.contains(":") ? "[\(c.vip)]" : c.vip):8080/"
        let (status, answer, err) = try lab.inClient("/usr/bin/curl", ["-sS", "-m", "180", "--data-binary", "@\(body.path)", url])
        let output = try lab.stopAll(log: log)
        #expect(status == 0, "curl: \(err)\n\(output)")
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == Command.sha256(body.path), "\(output)")
        #expect(output.contains("software-segmented"), "lvsd cut the client's super-frames: \(output)")
        // The real server's kernel saw every tunnel packet too and, with no ipip, gre or
        // ip6_tunnel module, would have answered protocol-unreachable / parameter-problem had
        // `lvsd realserver` not taken them with its raw sockets (Docs/rules-file.md "TUN").
        #expect(lab.realServerCounter("/proc/net/snmp", "Icmp:", "OutDestUnreachs") == 0, "\(output)")
        #expect(lab.realServerCounter("/proc/net/snmp6", "", "Icmp6OutParmProblems") == 0, "\(output)")
    }

    /// `--tun-remcsum`: the client's segments reach lvsd with their checksums partial (veth's
    /// offload), so every one goes out with the GUE private flags word and the remote checksum
    /// offload option, its TCP checksum left for the real server, which `lvsd realserver`
    /// completes before the kernel sees it (a checksum left undone would be dropped there and
    /// the download would stall). A capture on the real server's tunnel link shows the option.
    @Test(.enabled(if: getuid() == 0, "TunnelTypesE2ETests need root: they build network namespaces (CI runs as root)"))
    func remoteChecksumOffloadCarriesADownloadAndShowsOnTheWire() throws {
        let lab = try TunnelLab()
        defer { lab.tearDown() }
        try lab.build()
        let file = try lab.serveFile(megabytes: 100)
        try lab.startRealServer(vip: "198.18.0.100", guePort: 6080)
        let capture = try lab.startCapture(in: lab.realServer, interface: "e1", filter: "udp dst port 6080", count: 40)
        let log = try lab.startDirector(vip: "198.18.0.100", realServer: "198.18.1.2",
                                        options: "--tun-type gue --tun-port 6080 --tun-remcsum")
        let received = lab.directory.appendingPathComponent("received")
        let (status, _, err) = try lab.inClient("/usr/bin/curl", ["-sS", "-m", "180", "-o", received.path,
                                                                  "http://198.18.0.100/\(file.lastPathComponent)"])
        let output = try lab.stopAll(log: log)
        #expect(status == 0, "curl: \(err)\n\(output)")
        #expect(Command.sha256(received.path) == Command.sha256(file.path), "\(output)")
        let frames = PcapFile.frames(capture)
        // Ethernet 14, IPv4 20, UDP 8, then GUE: two words of options, the private-flags flag,
        // GUE_PFLAG_REMCSUM, start 20 (the inner IPv4 header) and offset 36 (TCP's checksum).
        let option: [UInt8] = [0x02, 0x04, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 20, 0x00, 36]
        let withOption = frames.filter { $0.count >= 54 && Array($0[42..<54]) == option }
        #expect(!frames.isEmpty, "the capture on e1 saw no GUE frames\n\(output)")
        #expect(withOption.count == frames.count, "\(withOption.count) of \(frames.count) GUE frames carry the remote checksum option")
    }

    /// FTP over TUN as IPVS does it for DR and TUN: a persistent port-0 service sends the data
    /// connection (passive: the client to the VIP's passive port; active: the client's answers
    /// to the server's connection from VIP:20) to the control connection's real server, where
    /// vsftpd behind `lvsd realserver` answers the client directly. curl fetches a file in each
    /// of its four ways (EPSV, PASV, EPRT, PORT), the sha256 checked.
    @Test(.enabled(if: getuid() == 0, "TunnelTypesE2ETests need root: they build network namespaces (CI runs as root)"))
    func ftpThroughAPersistentTunnelServiceActiveAndPassive() throws {
        let lab = try TunnelLab()
        defer { lab.tearDown() }
        try lab.build()
        let (digest, vsftpd) = try lab.startFTPServer(kilobytes: 4096)
        try lab.startRealServer(vip: "198.18.0.100", guePort: nil)
        let log = try lab.startDirector(vip: "198.18.0.100", realServer: "198.18.1.2", options: "--tun-type ipip",
                                        port: 0, serviceOptions: "-s rr -p 60")
        var failures: [String] = []
        for (name, flags) in [("passive EPSV", ""), ("passive PASV", "--disable-epsv"),
                              ("active EPRT", "-P -"), ("active PORT", "-P - --disable-eprt")] {
            let (status, out, err) = try lab.inClient("/bin/sh", ["-c",
                "/usr/bin/curl -s -S -m 30 \(flags) ftp://198.18.0.100/blob | /usr/bin/sha256sum"])
            let sum = out.split(separator: " ").first.map(String.init) ?? ""
            if status != 0 || sum != digest || !err.isEmpty { failures.append("\(name): exit \(status), sha256 \(sum), \(err)") }
        }
        kill(vsftpd.processIdentifier, SIGKILL)
        vsftpd.waitUntilExit()
        let output = try lab.stopAll(log: log)
        #expect(failures.isEmpty, "\(failures)\n\(output)")
        #expect(output.contains("packets decapsulated"), "\(output)")
    }

    /// MTU 1400 on the director's veth toward the real server: with GUE's 32 bytes (IPv4
    /// outside) the client's 1500-byte segments no longer fit, lvsd answers ICMP
    /// fragmentation-needed with 1368 (ip_vs_xmit.c ensure_mtu_is_adequate), the client's
    /// kernel lowers its path MTU to the VIP, and a 4 MB upload completes with its hash intact.
    /// The same with IPv6 inside and packet-too-big.
    @Test(.enabled(if: getuid() == 0, "TunnelTypesE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: [("198.18.0.100", 1368), ("2001:db8::100", 1348)])
    func pathMTUDiscoveryCompletesAnUploadThroughTheTunnel(_ vip: String, _ mtu: Int) throws {
        let lab = try TunnelLab()
        defer { lab.tearDown() }
        try lab.build()
        try Command.ip(["-n", lab.director, "link", "set", "d1", "mtu", "1400"])
        try lab.startHashingServer()
        try lab.startRealServer(vip: vip, guePort: 6080)
        let realServer = vip.contains(":") ? "2001:db8:1::2" : "198.18.1.2"
        let log = try lab.startDirector(vip: vip, realServer: realServer, options: "--tun-type gue --tun-port 6080",
                                    port: 8080, mtu: 1400)
        let body = lab.directory.appendingPathComponent("body")
        var generator = SplitMix64(seed: 16)
        try Data((0..<(4 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }).write(to: body)
        let url = "http://\(vip.contains(":") ? "[\(vip)]" : vip):8080/"
        let (status, answer, err) = try lab.inClient("/usr/bin/curl", ["-sS", "-m", "60", "--data-binary", "@\(body.path)", url])
        let route = try lab.inClient("/usr/sbin/ip", ["route", "get", vip]).1
        let output = try lab.stopAll(log: log)
        #expect(status == 0, "curl: \(err)\n\(output)")
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == Command.sha256(body.path), "\(output)")
        #expect(route.contains("mtu \(mtu)"), "the client's route to the VIP: \(route)")
    }
}

/// Client c0 (198.18.0.2, 2001:db8::2), director d0 (198.18.0.1, 2001:db8::1) and the real
/// server's e0 (198.18.0.3, 2001:db8::3) on one bridged LAN with the VIPs 198.18.0.100 and
/// 2001:db8::100; the tunnels run over a second link, director d1 (198.18.1.1,
/// 2001:db8:1::1) — real server e1 (198.18.1.2, 2001:db8:1::2), and the real server answers
/// the client directly on the LAN. Namespaces `lvst-PID-tun-*`; nothing in the root namespace.
private final class TunnelLab {
    let client: String, director: String, realServer: String, lan: String
    var namespaces: [String] { [lan, client, director, realServer] }
    let directory: URL
    private var processes: [Process] = []
    private var logs: [URL] = []

    init() throws {
        let pid = getpid()
        lan = "lvst-\(pid)-tun-sw"
        client = "lvst-\(pid)-tun-c"
        director = "lvst-\(pid)-tun-d"
        realServer = "lvst-\(pid)-tun-r"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvst-tun-\(pid)-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o755)
        deleteNamespaces()
    }

    func build() throws {
        for ns in namespaces {
            try Command.ip(["netns", "add", ns])
            try Command.ip(["-n", ns, "link", "set", "lo", "up"])
        }
        // No multicast snooping: lvsd answers neighbour solicitations for the VIP without
        // joining its solicited-node group, so the bridge must flood them.
        try Command.ip(["-n", lan, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try Command.ip(["-n", lan, "link", "set", "br0", "up"])
        for (ns, name, port, v4, v6) in [(client, "c0", "pc", "198.18.0.2", "2001:db8::2"),
                                         (director, "d0", "pd", "198.18.0.1", "2001:db8::1"),
                                         (realServer, "e0", "pr", "198.18.0.3", "2001:db8::3")] {
            try Command.ip(["-n", lan, "link", "add", port, "type", "veth", "peer", "name", name, "netns", ns])
            try Command.ip(["-n", lan, "link", "set", port, "master", "br0", "up"])
            try Command.ip(["-n", ns, "address", "add", "\(v4)/24", "dev", name])
            try Command.ip(["-n", ns, "address", "add", "\(v6)/64", "dev", name, "nodad"])
            try Command.ip(["-n", ns, "link", "set", name, "up"])
        }
        try Command.ip(["-n", director, "link", "add", "d1", "type", "veth", "peer", "name", "e1", "netns", realServer])
        try Command.ip(["-n", director, "address", "add", "198.18.1.1/24", "dev", "d1"])
        try Command.ip(["-n", director, "address", "add", "2001:db8:1::1/64", "dev", "d1", "nodad"])
        try Command.ip(["-n", realServer, "address", "add", "198.18.1.2/24", "dev", "e1"])
        try Command.ip(["-n", realServer, "address", "add", "2001:db8:1::2/64", "dev", "e1", "nodad"])
        try Command.ip(["-n", director, "link", "set", "d1", "up"])
        try Command.ip(["-n", realServer, "link", "set", "e1", "up"])
    }

    func inClient(_ program: String, _ arguments: [String]) throws -> (Int32, String, String) {
        try Command.run("/usr/sbin/ip", ["netns", "exec", client, program] + arguments)
    }

    @discardableResult
    func start(in ns: String, _ program: String, _ arguments: [String], log name: String) throws -> Process {
        let log = directory.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns, program] + arguments
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        processes.append(p)
        logs.append(log)
        return p
    }

    func text(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// A file of `megabytes` random MB served by nginx on port 80 of the real server.
    func serveFile(megabytes: Int) throws -> URL {
        let root = directory.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        let file = root.appendingPathComponent("blob")
        // dd, not a Swift loop: a debug build takes seconds to write 100 MB a word at a time.
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(file.path)", "bs=1M", "count=\(megabytes)", "status=none"])
        guard dd == 0 else { throw Command.Failed(description: "dd failed: \(ddErr)") }
        chmod(file.path, 0o644)
        let prefix = directory.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        try """
            worker_processes 1;
            pid \(prefix.path)/nginx.pid;
            error_log \(prefix.path)/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(prefix.path)/body; proxy_temp_path \(prefix.path)/proxy;
                fastcgi_temp_path \(prefix.path)/fastcgi; uwsgi_temp_path \(prefix.path)/uwsgi; scgi_temp_path \(prefix.path)/scgi;
                server { listen 80; listen [::]:80; root \(root.path); }
            }
            """.write(to: prefix.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        try start(in: realServer, "/usr/sbin/nginx", ["-p", prefix.path, "-c", prefix.appendingPathComponent("nginx.conf").path,
                                                      "-g", "daemon off;"], log: "nginx.log")
        try waitUntil("nginx listens") {
            // HEAD: fetching the whole 100 MB file within the probe's second fails on a loaded machine.
            (try? Command.run("/usr/sbin/ip", ["netns", "exec", director, "/usr/bin/curl", "-s", "-f", "-I", "-m", "2", "-o", "/dev/null",
                                            "http://198.18.0.3/blob"]).0) == 0
        }
        return file
    }

    /// An HTTP server on port 8080 (both families) that answers a POST with the sha256 of its body.
    func startHashingServer() throws {
        try start(in: realServer, "/usr/bin/python3", ["-c", """
            import hashlib, signal, socket
            # The test runner's SIGTERM disposition and mask are inherited: restore both.
            signal.signal(signal.SIGTERM, signal.SIG_DFL); signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            from http.server import HTTPServer, BaseHTTPRequestHandler
            class H(BaseHTTPRequestHandler):
                def do_POST(self):
                    n = int(self.headers["Content-Length"]); h = hashlib.sha256(); left = n
                    while left > 0:
                        chunk = self.rfile.read(min(left, 65536))
                        if not chunk: break
                        h.update(chunk); left -= len(chunk)
                    body = (h.hexdigest() + "\\n").encode()
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            class S(HTTPServer):
                address_family = socket.AF_INET6
                def server_bind(self):
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                    self.socket.bind(self.server_address)
            S(("::", 8080), H).serve_forever()
            """], log: "hash.log")
        try waitUntil("the hashing server listens") {
            (try? Command.run("/usr/sbin/ip", ["netns", "exec", director, "/usr/bin/curl", "-s", "-m", "1",
                                            "--data-binary", "x", "http://198.18.0.3:8080/"]).0) == 0
        }
    }

    /// `lvsd realserver --mode tun` for `vip`, accepting tunnels from the director's d1 only.
    func startRealServer(vip: String, guePort: UInt16?) throws {
        var arguments = ["realserver", "--vip", vip, "--mode", "tun", "--director", "198.18.1.1", "--director", "2001:db8:1::1"]
        if let guePort { arguments += ["--gue-port", String(guePort)] }
        let p = try start(in: realServer, try BuiltExecutable.lvsd(), arguments, log: "realserver.log")
        let log = logs.last!
        try waitUntil("lvsd realserver decapsulates (\(text(log)))") { !p.isRunning || text(log).contains("decapsulating") }
        guard p.isRunning else { throw Command.Failed(description: "lvsd realserver exited: \(text(log))") }
    }

    /// lvsd with one TUN service on `vip`, ready once it has resolved the real server; `mtu`
    /// is d1's, as the rules file tells lvsd.
    func startDirector(vip: String, realServer address: String, options: String, port: Int = 80, mtu: Int = 1500,
                       serviceOptions: String = "-s rr") throws -> URL {
        let service = vip.contains(":") ? "[\(vip)]:\(port)" : "\(vip):\(port)"
        let rules = directory.appendingPathComponent("rules")
        try """
            interface d0 mac 00:00:00:00:00:00 address 198.18.0.1 address 2001:db8::1
            interface d1 mac 00:00:00:00:00:00 mtu \(mtu) address 198.18.1.1 address 2001:db8:1::1
            -A -t \(service) \(serviceOptions)
            -a -t \(service) -r \(address) -i \(options)

            """.write(to: rules, atomically: true, encoding: .utf8)
        let p = try start(in: director, try BuiltExecutable.lvsd(),
                          ["--config", rules.path, "--interface", "d0", "--interface", "d1", "--duration", "90", "--connections", "65536",
                           "--socket", directory.appendingPathComponent("lvsd.sock").path], log: "lvsd.log")
        let log = logs.last!
        try waitUntil("lvsd resolves \(address) (\(text(log)))") {
            !p.isRunning || text(log).contains("lvsd: neighbour \(address)")
        }
        guard p.isRunning else { throw Command.Failed(description: "lvsd exited early: \(text(log))") }
        return log
    }

    /// tcpdump on `interface` in `ns`, writing the first `count` frames that match `filter`
    /// (their first 128 bytes) to a file, whose URL it returns once tcpdump listens.
    func startCapture(in ns: String, interface: String, filter: String, count: Int) throws -> URL {
        let file = directory.appendingPathComponent("capture-\(interface).pcap")
        // -Z root: tcpdump would otherwise open the file as its own user, in a directory only root writes.
        try start(in: ns, "/usr/bin/tcpdump", ["-Z", "root", "-i", interface, "-n", "-U", "-s", "128", "-c", String(count),
                                               "-w", file.path, filter], log: "tcpdump-\(interface).log")
        let log = logs.last!
        try waitUntil("tcpdump listens on \(interface) (\(text(log)))") { text(log).contains("listening on") }
        return file
    }

    /// vsftpd on the real server (as FTPE2ETests starts it): anonymous read of one file of
    /// `kilobytes` KiB of random bytes, passive ports 50000–50999, active from port 20;
    /// returns the file's sha256 once the server answers on its LAN address, and the process
    /// (it inherits the test runner's blocked SIGTERM: stop it with SIGKILL).
    func startFTPServer(kilobytes: Int) throws -> (digest: String, process: Process) {
        let root = directory.appendingPathComponent("ftp")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let blob = root.appendingPathComponent("blob")
        let (dd, _, ddErr) = try Command.run("/bin/dd", ["if=/dev/urandom", "of=\(blob.path)", "bs=1K", "count=\(kilobytes)", "status=none"])
        guard dd == 0 else { throw Command.Failed(description: "dd failed: \(ddErr)") }
        chmod(root.path, 0o555)
        chmod(blob.path, 0o644)
        let conf = directory.appendingPathComponent("vsftpd.conf")
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

            """.write(to: conf, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/var/run/vsftpd/empty", withIntermediateDirectories: true)
        let vsftpd = try start(in: realServer, "/usr/sbin/vsftpd", [conf.path], log: "vsftpd.log")
        try waitUntil("vsftpd serves FTP") {
            (try? Command.run("/usr/sbin/ip", ["netns", "exec", director, "/usr/bin/curl", "-s", "-m", "2", "-o", "/dev/null",
                                            "ftp://198.18.0.3/blob"]).0) == 0
        }
        return (Command.sha256(blob.path), vsftpd)
    }

    /// A counter of the real server's namespace: in /proc/net/snmp a column `name` under the
    /// header line starting with `section`, in /proc/net/snmp6 (`section` empty) a named line.
    func realServerCounter(_ file: String, _ section: String, _ name: String) -> Int? {
        guard let text = try? Command.run("/usr/sbin/ip", ["netns", "exec", realServer, "/bin/cat", file]).1 else { return nil }
        let lines = text.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        if section.isEmpty { return lines.first { $0.first == name }.flatMap { $0.last }.flatMap { Int($0) } }
        guard let header = lines.firstIndex(where: { $0.first == section && $0.contains(name) }), header + 1 < lines.count,
              let column = lines[header].firstIndex(of: name), column < lines[header + 1].count else { return nil }
        return Int(lines[header + 1][column])
    }

    /// SIGTERM to every process (lvsd realserver prints its counts then); their logs.
    func stopAll(log: URL) throws -> String {
        for p in processes.reversed() where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            try waitUntil("\(p.arguments?.dropFirst(3).first ?? "") exits after SIGTERM") { !p.isRunning }
        }
        return logs.map { "== \($0.lastPathComponent)\n\(text($0))" }.joined(separator: "\n")
    }

    func tearDown() {
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            for _ in 0..<50 where p.isRunning { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        processes = []
        deleteNamespaces()
        try? FileManager.default.removeItem(at: directory)
    }

    private func deleteNamespaces() {
        for ns in namespaces { _ = try? Command.run("/usr/sbin/ip", ["netns", "delete", ns]) }
    }

    /// 60 s by default: on a loaded 2-core CI machine nginx took more than 15 s to answer.
    func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw Command.Failed(description: "timed out after \(seconds) s waiting until \(what())")
    }
}

/// The frames of a classic pcap file (microsecond or nanosecond, either byte order), each as
/// captured; none if the file is missing or not pcap.
enum PcapFile {
    static func frames(_ url: URL) -> [[UInt8]] {
        guard let data = try? Data(contentsOf: url), data.count >= 24 else { return [] }
        let bytes = [UInt8](data)
        func u32(_ at: Int, swapped: Bool) -> Int {
            let b = bytes[at..<at + 4].map(UInt32.init)
            return Int(swapped ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
        }
        let magic = u32(0, swapped: false)
        let swapped: Bool
        switch magic {
        case 0xA1B2_C3D4, 0xA1B2_3C4D: swapped = false
        case 0xD4C3_B2A1, 0x4D3C_B2A1: swapped = true
        default: return []
        }
        var frames: [[UInt8]] = []
        var at = 24
        while at + 16 <= bytes.count {
            let length = u32(at + 8, swapped: swapped)
            guard at + 16 + length <= bytes.count else { break }
            frames.append(Array(bytes[at + 16 ..< at + 16 + length]))
            at += 16 + length
        }
        return frames
    }
}
