import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15, interfaces from the kernel, end to end: lvsd started the way a new user starts it
/// (`lvsd run --config empty.rules --interface d0 --interface d1`, no `interface` line), the
/// service built with lvsadm, real traffic from curl through lvsd NAT to nginx; addresses the
/// kernel adds to and removes from d0 while lvsd runs; a keepalived.conf with no
/// `lvsd_director` block; the sentences for an interface that is missing or down.
///
/// Each test builds its own three namespaces in a `NamespaceLab` (`lvst-PID-labifN-c` client,
/// `-d` director, `-r` real server with nginx), with the kernel's defaults, and removes them and the
/// processes it started (by PID) in a `defer`.
@Suite(.serialized) struct KernelInterfacesE2ETests {
    static let vip = "198.18.0.10"
    static let vip6 = "2001:db8::10"
    static let secondVIP = "198.18.0.20"
    static let realServer = "198.18.1.11"
    static let realServer6 = "2001:db8:1::11"
    /// A MAC no host of the test has: where the client believes the second VIP is.
    static let elsewhere = "02:00:00:00:99:99"

    @Test("the new-user command: empty rules, --interface d0 --interface d1, lvsadm builds NAT services (IPv4 and IPv6) and curl reaches nginx",
          .enabled(if: getuid() == 0, "needs root to create network namespaces"))
    func newUserCommand() throws {
        let lab = try Topology(tag: 1)
        defer { lab.tearDown() }
        try lab.startLVSD(config: "", name: "empty.rules")
        // What lvsd read from the kernel: each interface's MAC, MTU and addresses, IPv6 included.
        #expect(lab.log.contains("lvsd: interface d0: MAC \(lab.mac("d0")), MTU 1500, addresses 198.18.0.1/24 2001:db8::1/64 (from the kernel"), "\(lab.log)")
        #expect(lab.log.contains("lvsd: interface d1: MAC \(lab.mac("d1")), MTU 1500, addresses 198.18.1.1/24 2001:db8:1::1/64 (from the kernel"), "\(lab.log)")

        try lab.lvsadm(["-A", "-t", "\(Self.vip):80", "-s", "rr"])
        try lab.lvsadm(["-a", "-t", "\(Self.vip):80", "-r", "\(Self.realServer):80", "-m"])
        // The real server sits on d1's IPv6 network, which lvsd knows only from the kernel: its
        // neighbour solicitation goes out on d1 from 2001:db8:1::1.
        try lab.lvsadm(["-A", "-t", "[\(Self.vip6)]:80", "-s", "rr"])
        try lab.lvsadm(["-a", "-t", "[\(Self.vip6)]:80", "-r", "[\(Self.realServer6)]:80", "-m"])
        for _ in 0..<3 {
            #expect(try lab.get(Self.vip) == "rs1", "\(lab.log)")
            #expect(try lab.get("[\(Self.vip6)]") == "rs1", "\(lab.log)")
        }
        let listing = try lab.lvsadm(["-L", "-n"])
        #expect(listing.contains("\(Self.realServer):80"), "\(listing)")
        #expect(!lab.log.contains("cannot be resolved"), "\(lab.log)")
    }

    @Test("an address added to d0 while lvsd runs: a service on it answers ARP and forwards; removed, lvsd stops answering; back, lvsd announces it and answers again",
          .enabled(if: getuid() == 0, "needs root to create network namespaces"))
    func addressFollowed() throws {
        let lab = try Topology(tag: 2)
        defer { lab.tearDown() }
        try lab.startLVSD(config: "", name: "empty.rules")

        try lab.director(["ip", "addr", "add", "\(Self.secondVIP)/24", "dev", "d0"])
        try lab.waitForLog("lvsd: d0: address \(Self.secondVIP)/24 added")
        try lab.lvsadm(["-A", "-t", "\(Self.secondVIP):80", "-s", "rr"])
        try lab.lvsadm(["-a", "-t", "\(Self.secondVIP):80", "-r", "\(Self.realServer):80", "-m"])
        #expect(try lab.get(Self.secondVIP) == "rs1", "\(lab.log)")
        // Two replies to one request: the kernel's (the address is d0's) and lvsd's.
        #expect(try lab.arpReplies(Self.secondVIP) == 2)

        try lab.director(["ip", "addr", "del", "\(Self.secondVIP)/24", "dev", "d0"])
        try lab.waitForLog("lvsd: \(Self.secondVIP) left d0: lvsd stops answering ARP/ND for it")
        try lab.client(["ip", "neigh", "flush", "dev", "c0"])
        #expect(try lab.arpReplies(Self.secondVIP) == 0, "lvsd still answers for an address that left d0")
        #expect(try lab.get(Self.secondVIP, timeout: 2) == nil, "a connection to the released address went through")
        let listing = try lab.lvsadm(["-L", "-n"])
        #expect(listing.contains("\(Self.secondVIP):80"), "the service stays configured: \(listing)")

        // Back: lvsd announces it (gratuitous ARP), which corrects a neighbour entry the client
        // still holds from elsewhere (Linux updates an existing entry from one; arp_accept=0
        // keeps it from creating new ones).
        try lab.client(["ip", "neigh", "replace", Self.secondVIP, "lladdr", Self.elsewhere, "dev", "c0", "nud", "stale"])
        let announcement = "gratuitous ARP (\(Self.secondVIP) on d0, d1)"
        let announced = lab.log.components(separatedBy: announcement).count
        try lab.director(["ip", "addr", "add", "\(Self.secondVIP)/24", "dev", "d0"])
        try lab.waitForLog("lvsd: \(Self.secondVIP) is back")
        try lab.waitUntil("lvsd announces \(Self.secondVIP) again") { lab.log.components(separatedBy: announcement).count > announced }
        let entry = try lab.clientOutput(["ip", "neigh", "show", Self.secondVIP, "dev", "c0"])
        #expect(entry.contains(lab.mac("d0")), "the client's entry still points elsewhere: \(entry)")
        #expect(try lab.arpReplies(Self.secondVIP) == 2)
        #expect(try lab.get(Self.secondVIP) == "rs1", "\(lab.log)")

        // The link itself: down and up again, each logged (the kernel drops d0's IPv6
        // addresses with it, which lvsd follows too).
        try lab.director(["ip", "link", "set", "d0", "down"])
        try lab.waitForLog("lvsd: d0: down")
        try lab.waitForLog("lvsd: d0: address 2001:db8::1/64 removed")
        try lab.director(["ip", "link", "set", "d0", "up"])
        try lab.waitForLog("lvsd: d0: up")
        #expect(try lab.get(Self.secondVIP) == "rs1", "after the link came back: \(lab.log)")
    }

    @Test("a keepalived.conf with no lvsd_director block runs on --interface alone",
          .enabled(if: getuid() == 0, "needs root to create network namespaces"))
    func keepalivedWithoutDirectorBlock() throws {
        let lab = try Topology(tag: 3)
        defer { lab.tearDown() }
        try lab.startLVSD(config: """
            global_defs {
                router_id lvst
            }
            virtual_server \(Self.vip) 80 {
                lb_algo rr
                lb_kind NAT
                protocol TCP
                real_server \(Self.realServer) 80 {
                    weight 1
                }
            }

            """, name: "keepalived.conf")
        #expect(try lab.get(Self.vip) == "rs1", "\(lab.log)")
        #expect(try lab.get(Self.vip) == "rs1", "\(lab.log)")
    }

    @Test("an interface that does not exist, or is down, is named in one sentence before lvsd changes anything",
          .enabled(if: getuid() == 0, "needs root to create network namespaces"))
    func missingOrDown() throws {
        let lab = try Topology(tag: 4, withServer: false)
        defer { lab.tearDown() }
        let missing = try lab.runLVSD(["--interface", "d0", "--interface", "d9"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("interface d9 does not exist in this network namespace"), "\(missing.stderr)")

        try lab.director(["ip", "link", "set", "d1", "down"])
        let down = try lab.runLVSD(["--interface", "d0", "--interface", "d1"])
        #expect(down.status != 0)
        #expect(down.stderr.contains("interface d1 is down; bring it up with 'ip link set d1 up'"), "\(down.stderr)")
        // Nothing on the host changed: no nftables table, forwarding as the kernel had it.
        let tables = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.namespace("d"), "/usr/sbin/nft", "list", "tables"])
        #expect(!tables.stdout.contains("swiftlvs"), "\(tables.stdout)")
    }

    @Test("no --interface: lvsd says to name them, and does not take a vrrp_instance's interface as one")
    func noInterfaceGiven() throws {
        let lvsd = try BuiltExecutable.lvsd()
        let path = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/lvst-\(getpid())-if-vrrp.conf"
        defer { unlink(path) }
        try """
            vrrp_instance VI_1 {
                state MASTER
                interface eth0
                virtual_router_id 51
                priority 100
                virtual_ipaddress {
                    \(Self.vip)
                }
            }
            virtual_server \(Self.vip) 80 {
                lb_kind NAT
                protocol TCP
                real_server \(Self.realServer) 80 {
                }
            }

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try Command.run(lvsd, ["run", "--config", path, "--socket", "none"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("give every interface lvsd forwards on with --interface NAME"), "\(run.stderr)")
        #expect(run.stderr.contains("does not take them from a keepalived.conf's vrrp_instance"), "\(run.stderr)")
    }

    // MARK: The namespaces

    final class Topology {
        let lab: NamespaceLab
        let socket: String
        let lvsdPath: String
        let lvsadmPath: String
        private var lvsd: NamespaceLab.Director?
        private var directory: String { lab.directory.path }

        func namespace(_ role: String) -> String { lab.namespace(role) }
        var log: String { (try? String(contentsOf: lab.file("lvsd.log"), encoding: .utf8)) ?? "" }

        /// client c0 198.18.0.2/24, 2001:db8::2/64 ─ d0 198.18.0.1/24, 2001:db8::1/64 [director]
        /// d1 198.18.1.1/24, 2001:db8:1::1/64 ─ r0 198.18.1.11/24, 2001:db8:1::11/64 [real
        /// server, nginx on port 80, routes via the director], in `NamespaceLab` `if<tag>`.
        /// The test's IPv6 addresses skip duplicate address detection, so they are usable at once.
        init(tag: Int, withServer: Bool = true) throws {
            lvsdPath = try BuiltExecutable.lvsd()
            lvsadmPath = try BuiltExecutable.lvsadm()
            lab = try NamespaceLab(tag: "if\(tag)")
            socket = lab.file("lvsd.sock").path
            do {
                try build(withServer: withServer)
            } catch {
                tearDown()
                throw error
            }
        }

        private func build(withServer: Bool) throws {
            let (c, d, r) = (try lab.addNamespace("c", ipv6: .on), try lab.addNamespace("d", ipv6: .on),
                             try lab.addNamespace("r", ipv6: .on))
            try lab.addVeth(.init(d, "d0", "198.18.0.1/24", "2001:db8::1/64"), .init(c, "c0", "198.18.0.2/24", "2001:db8::2/64"))
            try lab.addVeth(.init(d, "d1", "198.18.1.1/24", "2001:db8:1::1/64"), .init(r, "r0", "198.18.1.11/24", "2001:db8:1::11/64"))
            try lab.addRoute(r, "default", "via", "198.18.1.1")
            try lab.addRoute(r, "default", "via", "2001:db8:1::1")
            guard withServer else { return }
            try FileManager.default.createDirectory(atPath: directory + "/www", withIntermediateDirectories: true)
            try "rs1\n".write(toFile: directory + "/www/index.html", atomically: true, encoding: .utf8)
            try lab.startNginx(in: r, name: "nginx", server: "listen 80; listen [::]:80; root \(directory)/www;")
            try waitUntil("nginx listens on port 80") {
                (try? lab.run(in: r, ["ss", "-Hltn", "sport = :80"]).stdout.contains(":80")) == true
            }
        }

        /// Stops what this test started (by PID), deletes the namespaces and the files.
        func tearDown() { lab.tearDown(grace: 10) }

        func waitUntil(_ what: String, timeout: Double = 20, _ condition: () -> Bool) throws {
            do {
                try lab.waitUntil(what, seconds: timeout, condition)
            } catch {
                Issue.record("not within \(timeout) s: \(what)\nlvsd log:\n\(log)")
                throw CancellationError()
            }
        }

        func waitForLog(_ line: String) throws {
            try waitUntil("lvsd logs '\(line)'") { log.contains(line) }
        }

        /// `lvsd run --config FILE --interface d0 --interface d1` in the director's namespace,
        /// for two minutes at most; returns once it runs.
        func startLVSD(config: String, name: String) throws {
            do {
                lvsd = try lab.startLVSD(in: namespace("d"), command: ["run"], config: config, configName: name,
                                         arguments: ["--interface", "d0", "--interface", "d1", "--socket", socket, "--duration", "120"],
                                         log: lab.file("lvsd.log"), seconds: 20) { $0.contains("lvsd: running on d0, d1") }
            } catch {
                Issue.record("lvsd stopped at start or did not run in time: \(error)")
                throw CancellationError()
            }
        }

        /// lvsd with an empty rules file and `arguments`, to completion (it is expected to refuse).
        func runLVSD(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let path = directory + "/empty.rules"
            try "".write(toFile: path, atomically: true, encoding: .utf8)
            return try lab.run(in: namespace("d"), [lvsdPath, "run", "--config", path, "--socket", "none", "--duration", "5"] + arguments)
        }

        /// lvsadm over this lvsd's socket; must succeed. Its standard output.
        @discardableResult
        func lvsadm(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let run = try Command.run(lvsadmPath, ["--socket", socket] + arguments)
            #expect(run.status == 0, "lvsadm \(arguments.joined(separator: " ")): \(run.stderr)", sourceLocation: sourceLocation)
            return run.stdout
        }

        func director(_ argv: [String]) throws {
            let run = try lab.run(in: namespace("d"), argv)
            guard run.status == 0 else { throw Command.Failed(description: "\(argv.joined(separator: " ")) in the director: \(run.stderr)") }
        }

        func clientOutput(_ argv: [String]) throws -> String {
            let run = try lab.run(in: namespace("c"), argv)
            guard run.status == 0 else { throw Command.Failed(description: "\(argv.joined(separator: " ")) in the client: \(run.stderr)") }
            return run.stdout
        }

        func client(_ argv: [String]) throws {
            let run = try lab.run(in: namespace("c"), argv)
            guard run.status == 0 else { throw Command.Failed(description: "\(argv.joined(separator: " ")) in the client: \(run.stderr)") }
        }

        /// The kernel's MAC of a director interface.
        func mac(_ interface: String) -> String {
            let run = try? lab.run(in: namespace("d"), ["cat", "/sys/class/net/\(interface)/address"])
            return run?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        }

        /// One HTTP GET from the client: the page's text, or nil when curl failed.
        func get(_ host: String, timeout: Int = 5) throws -> String? {
            let run = try lab.run(in: namespace("c"), ["curl", "-sS", "-g", "--connect-timeout",
                                                       String(timeout), "--max-time", String(timeout + 2), "http://\(host)/"])
            return run.status == 0 ? run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }

        /// Sends one ARP request for `address` from the client's c0 and counts the replies in
        /// the next two seconds (a small AF_PACKET program: the distribution's arping is not installed).
        func arpReplies(_ address: String) throws -> Int {
            let script = directory + "/arp-probe.py"
            try Self.arpProbe.write(toFile: script, atomically: true, encoding: .utf8)
            let run = try lab.run(in: namespace("c"), ["/usr/bin/python3", script, "c0", address, "2"])
            guard run.status == 0, let count = Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Command.Failed(description: "the ARP probe failed (\(run.status)): \(run.stderr)")
            }
            return count
        }

        static let arpProbe = """
            import socket, struct, sys, time, fcntl
            iface, target, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
            s.bind((iface, 0))
            mac = s.getsockname()[4]
            source = fcntl.ioctl(s.fileno(), 0x8915, struct.pack('256s', iface.encode()))[20:24]  # SIOCGIFADDR
            tip = socket.inet_aton(target)
            s.send(b'\\xff' * 6 + mac + b'\\x08\\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac + source + b'\\x00' * 6 + tip)
            s.settimeout(0.1)
            end, replies = time.time() + wait, 0
            while time.time() < end:
                try:
                    d = s.recv(2048)
                except socket.timeout:
                    continue
                if len(d) >= 42 and d[12:14] == b'\\x08\\x06' and d[20:22] == b'\\x00\\x02' and d[28:32] == tip:
                    replies += 1
            print(replies)

            """
    }
}
