import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Port-0 and firewall-mark services, `sloppy_tcp` and one-packet scheduling through the
/// built `lvsd`, with nginx, curl and Python sockets as the peers (Docs/rules-file.md).
@Suite(.serialized)
struct ServiceKindsE2ETests {
    static let interfaces = """
        interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
        interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
        interface d2 mac 00:00:00:00:00:00 address 198.18.2.1

        """

    /// `-A -t VIP:0 -p`: every port of the VIP, one real server per client. nginx on 8080
    /// and 8081 in both real servers; six requests alternating over the two ports all reach
    /// the server the first one chose (rr alone would alternate), on the port they asked for.
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"))
    func portZeroPersistentServiceServesTwoPortsFromOneServer() throws {
        let answers = try stickyTwoPorts(rules: Self.interfaces + """
            -A -t 198.18.0.100:0 -s rr -p 300
            -a -t 198.18.0.100:0 -r 198.18.1.2 -m -w 1
            -a -t 198.18.0.100:0 -r 198.18.2.2 -m -w 1
            """)
        #expect(answers.map(\.1) == [8080, 8081, 8080, 8081, 8080, 8081])
    }

    /// `-A -f 1 -p` with `fwmark 1 tcp VIP 8080,8081`: one template per client and mark
    /// across both ports; a port the mark does not cover is no service's.
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"))
    func firewallMarkServiceKeepsAClientAcrossItsPorts() throws {
        let answers = try stickyTwoPorts(rules: Self.interfaces + """
            fwmark 1 tcp 198.18.0.100 8080-8081
            -A -f 1 -s rr -p 300
            -a -f 1 -r 198.18.1.2 -m -w 1
            -a -f 1 -r 198.18.2.2 -m -w 1
            """, unmarkedPort: 8082, listing: """
            FWM  1 rr persistent 300
              -> 198.18.1.2:0                 Masq    1
              -> 198.18.2.2:0                 Masq    1

            """)
        #expect(answers.map(\.1) == [8080, 8081, 8080, 8081, 8080, 8081])
    }

    /// keepalived's `keepalived.conf.fwmark` sample in its shape (NAT, persistence, real
    /// servers without a port, TCP_CHECK on connect_port), on this lab's addresses, with the
    /// `lvsd_director` lines that name the interfaces and the marked traffic.
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"))
    func keepalivedFwmarkSampleRuns() throws {
        let answers = try stickyTwoPorts(rules: """
            ! keepalived.conf.fwmark, with lvsd's lines
            global_defs {
              router_id io
            }
            lvsd_director {
              interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
              interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
              interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
              fwmark 1 tcp 198.18.0.100 8080,8081
            }
            virtual_server fwmark 1 {
              delay_loop 6
              lb_algo rr
              lb_kind NAT
              persistence_timeout 900
              protocol TCP
              real_server 198.18.1.2 {
                weight 1
                TCP_CHECK {
                  connect_port    8080
                  connect_timeout 3
                }
              }
              real_server 198.18.2.2 {
                weight 1
                TCP_CHECK {
                  connect_port    8080
                  connect_timeout 3
                }
              }
            }
            """, unmarkedPort: 8082)
        #expect(answers.map(\.1) == [8080, 8081, 8080, 8081, 8080, 8081])
    }

    /// keepalived's `keepalived.conf.virtual_server_group` sample in its shape: one group of
    /// address entries and `fwmark` entries behind one virtual server (NAT, persistence), on
    /// this lab's addresses; the address member and the marked VIP both answer, each client
    /// request on the port it asked for.
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"))
    func keepalivedVirtualServerGroupSampleRuns() throws {
        let lab = try ServiceKindsLab()
        defer { lab.tearDown() }
        try lab.startNginx(ports: [8080, 8081])
        let log = try lab.startDirector(rules: """
            global_defs {
               router_id LVS_DEVEL
            }
            lvsd_director {
              interface d0 mac 00:00:00:00:00:00 address 198.18.0.1
              interface d1 mac 00:00:00:00:00:00 address 198.18.1.1
              interface d2 mac 00:00:00:00:00:00 address 198.18.2.1
              fwmark 1 tcp 198.18.0.101 8081
            }
            virtual_server_group VSG_1 {
                198.18.0.100 8080
                198.18.0.102-103 8080
                fwmark 1
                fwmark 2
            }
            virtual_server group VSG_1 {
                delay_loop 6
                lb_algo rr
                lb_kind NAT
                persistence_timeout 50
                protocol TCP
                real_server 198.18.1.2 8080 {
                    weight 1
                }
                real_server 198.18.2.2 8080 {
                    weight 1
                }
            }
            """, servers: ["198.18.1.2", "198.18.2.2"])
        var answers: [String] = []
        for url in ["http://198.18.0.100:8080/", "http://198.18.0.101:8081/", "http://198.18.0.100:8080/", "http://198.18.0.101:8081/"] {
            let (status, out, err) = try lab.inClient("/usr/bin/curl", ["-s", "-S", "-m", "5", url])
            answers.append(status == 0 ? out.trimmingCharacters(in: .whitespacesAndNewlines) : "curl \(status): \(err)")
        }
        let output = try lab.stopDirector(log: log)
        print("ServiceKindsE2ETests virtual_server_group: \(answers)\n\(output)")
        #expect(answers.count == 4 && answers.allSatisfy { $0.hasPrefix("real-server-") }, "\(answers)")
        #expect(answers.map { $0.split(separator: " ").last.map(String.init) ?? "" } == ["8080", "8081", "8080", "8081"],
                "the address member's server port, the marked VIP's own port")
        #expect(answers[0] == answers[2] && answers[1] == answers[3], "each service keeps the client on its server: \(answers)")
    }

    /// Returns (server, port) per answer after checking all six came from one server.
    private func stickyTwoPorts(rules: String, unmarkedPort: Int? = nil, listing: String? = nil) throws -> [(String, Int)] {
        let lab = try ServiceKindsLab()
        defer { lab.tearDown() }
        try lab.startNginx(ports: [8080, 8081, 8082])
        let log = try lab.startDirector(rules: rules, servers: ["198.18.1.2", "198.18.2.2"])
        var answers: [(String, Int)] = []
        var failures: [String] = []
        for i in 0..<6 {
            let port = 8080 + i % 2
            let (status, out, err) = try lab.inClient("/usr/bin/curl", ["-s", "-S", "-m", "5", "http://198.18.0.100:\(port)/"])
            let words = out.split(separator: " ")
            if status == 0, words.count == 2, let served = Int(words[1].trimmingCharacters(in: .whitespacesAndNewlines)) {
                answers.append((String(words[0]), served))
            } else {
                failures.append("request \(i) to :\(port): curl exited \(status): \(out) \(err)")
            }
        }
        if let listing {
            let (status, out, err) = try Command.run(try BuiltExecutable.lvsadm(), ["--socket", lab.socket, "-Ln"])
            #expect(status == 0, "\(err)")
            // ipvsadm's rows with the connection counts cut off (they are the test's six
            // connections on the chosen server, active or inactive by the time they are read).
            let rows = out.split(separator: "\n").dropFirst(3).map { $0.count > 43 ? String($0.prefix(43)) : String($0) }
            #expect(rows.joined(separator: "\n") + "\n" == listing, "lvsadm -Ln:\n\(out)")
            let counts = out.split(separator: "\n").filter { $0.hasPrefix("  -> 198") }
                .map { $0.split(separator: " ").suffix(2).compactMap { Int($0) }.reduce(0, +) }
            #expect(counts.sorted() == [0, 6], "six connections, all on one server: \(out)")
        }
        var unmarked: Int32?
        if let unmarkedPort {
            unmarked = try lab.inClient("/usr/bin/curl", ["-s", "-m", "2", "http://198.18.0.100:\(unmarkedPort)/"]).0
        }
        let output = try lab.stopDirector(log: log)
        print("ServiceKindsE2ETests: answers \(answers), failures \(failures)\n\(output)")
        #expect(failures.isEmpty, "\(failures)")
        #expect(Set(answers.map(\.0)).count == 1, "one client stays on one real server over both ports: \(answers)")
        if let unmarked {
            #expect(unmarked != 0, "port \(unmarkedPort!) carries no mark, so no service answers")
            #expect(output.contains("no-service"), "the unmarked SYNs are counted as no-service: \(output)")
        }
        return answers
    }

    /// `tunable sloppy_tcp 1`: a TCP connection opened through one lvsd run continues
    /// through the next, which has never seen its SYN (no sync), as IPVS's sloppy_tcp allows.
    /// With IPVS's default 0 the next run drops the mid-stream segments (`no-connection`).
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"),
          arguments: [true, false])
    func sloppyTCPCarriesAConnectionAcrossARestart(sloppy: Bool) throws {
        let lab = try ServiceKindsLab()
        defer { lab.tearDown() }
        try lab.startEchoServer(in: lab.realServers[0], port: 7000)
        let rules = Self.interfaces + """
            tunable sloppy_tcp \(sloppy ? 1 : 0)
            -A -t 198.18.0.100:7000 -s rr
            -a -t 198.18.0.100:7000 -r 198.18.1.2 -m -w 1
            """
        var log = try lab.startDirector(rules: rules, servers: ["198.18.1.2"])
        let go = lab.directory.appendingPathComponent("go")
        let client = try lab.startInClient("/usr/bin/python3", ["-c", """
            import os, socket, sys, time
            s = socket.create_connection(("198.18.0.100", 7000), timeout=10)
            s.sendall(b"before\\n"); print(s.recv(100).decode().strip(), flush=True)
            deadline = time.time() + 30
            while not os.path.exists(sys.argv[1]) and time.time() < deadline: time.sleep(0.05)
            s.settimeout(4)
            s.sendall(b"after\\n"); print(s.recv(100).decode().strip(), flush=True)
            """, go.path])
        try lab.waitUntil("the client's first echo") { client.output.contains("before") || !client.process.isRunning }
        let first = try lab.stopDirector(log: log)
        log = try lab.startDirector(rules: rules, servers: ["198.18.1.2"])
        FileManager.default.createFile(atPath: go.path, contents: nil)
        try lab.waitUntil("the client ends", seconds: 20) { !client.process.isRunning }
        let second = try lab.stopDirector(log: log)
        print("ServiceKindsE2ETests sloppy_tcp \(sloppy): client \(client.output)\nfirst run:\n\(first)\nsecond run:\n\(second)")
        if sloppy {
            #expect(client.process.terminationStatus == 0, "the client's connection survived the restart: \(client.output)")
            #expect(client.output == "echo before\necho after\n")
        } else {
            #expect(client.process.terminationStatus != 0, "without sloppy_tcp the restarted lvsd has no connection to continue")
            #expect(client.output.hasPrefix("echo before\n") && !client.output.contains("echo after"))
            #expect(second.contains("dropped no-connection"), "\(second)")
        }
    }

    /// `-o`: each datagram of one UDP socket is scheduled on its own, so rr spreads six
    /// datagrams 3/3 over two servers (without `-o` all six would follow one connection).
    @Test(.enabled(if: getuid() == 0, "ServiceKindsE2ETests need root: they build network namespaces (CI runs as root)"))
    func onePacketSchedulingSpreadsTheDatagramsOfOneSocket() throws {
        let lab = try ServiceKindsLab()
        defer { lab.tearDown() }
        for rs in lab.realServers { try lab.startUDPCounter(in: rs, port: 5353) }
        let log = try lab.startDirector(rules: Self.interfaces + """
            -A -u 198.18.0.100:5353 -s rr -o
            -a -u 198.18.0.100:5353 -r 198.18.1.2 -m -w 1
            -a -u 198.18.0.100:5353 -r 198.18.2.2 -m -w 1
            """, servers: ["198.18.1.2", "198.18.2.2"])
        let (status, _, err) = try lab.inClient("/usr/bin/python3", ["-c", """
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.18.0.2", 45353))
            for i in range(6): s.sendto(b"datagram %d" % i, ("198.18.0.100", 5353)); time.sleep(0.05)
            """])
        #expect(status == 0, "\(err)")
        func received(_ i: Int) -> [String] {
            let file = lab.directory.appendingPathComponent("udp-\(lab.realServers[i])")
            return ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        try? lab.waitUntil("six datagrams arrive", seconds: 5) { received(0).count + received(1).count >= 6 }
        let output = try lab.stopDirector(log: log)
        print("ServiceKindsE2ETests -o: \(received(0)) / \(received(1))\n\(output)")
        #expect(received(0).count == 3 && received(1).count == 3, "rr per datagram: \(received(0)) / \(received(1))")
        #expect(Set(received(0) + received(1)).count == 6)
        #expect(received(0).allSatisfy { $0.hasSuffix("198.18.0.2:45353") }, "one client socket")
    }
}

/// `NamespaceLab.Star` with two real servers (tag `fm`), and what this suite starts in it:
/// nginx, a line echo and a datagram recorder in the real servers, curl and Python clients,
/// lvsd with its own control socket. VIP 198.18.0.100 on the client's subnet.
private final class ServiceKindsLab {
    let lab: NamespaceLab
    let star: NamespaceLab.Star
    var realServers: [String] { star.realServers }
    var directory: URL { lab.directory }
    /// lvsd's control socket, this lab's own.
    var socket: String { lab.file("lvsd.sock").path }

    init() throws {
        lab = try NamespaceLab(tag: "fm")
        do { star = try lab.buildStar(realServers: 2) } catch { lab.tearDown(); throw error }
    }

    func tearDown() { lab.tearDown() }

    func inClient(_ program: String, _ arguments: [String]) throws -> (Int32, String, String) {
        try lab.run(in: star.client, [program] + arguments)
    }

    func startInClient(_ program: String, _ arguments: [String]) throws -> Spawned {
        try lab.start(in: star.client, [program] + arguments, output: .capture)
    }

    func startNginx(ports: [Int]) throws { try lab.startNginx(star, ports: ports) }

    /// A TCP line echo ("echo LINE") on `port`, one connection at a time.
    func startEchoServer(in ns: String, port: Int) throws {
        try lab.start(in: ns, ["/usr/bin/python3", "-c", """
            import socket
            l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("", \(port))); l.listen(4)
            while True:
                c, _ = l.accept()
                f = c.makefile("rb")
                for line in f: c.sendall(b"echo " + line)
                c.close()
            """])
        let address = star.realServerAddress(realServers.firstIndex(of: ns)! + 1)
        try waitUntil("the echo server listens") {
            (try? lab.run(in: star.director, ["/usr/bin/python3", "-c",
                                              "import socket; socket.create_connection((\"\(address)\", \(port)), timeout=1).close()"]).0) == 0
        }
    }

    /// Appends "PAYLOAD from ADDRESS:PORT" per datagram received on `port` to udp-NS.
    func startUDPCounter(in ns: String, port: Int) throws {
        let file = lab.file("udp-\(ns)")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        try lab.start(in: ns, ["/usr/bin/python3", "-c", """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", \(port)))
            while True:
                d, a = s.recvfrom(2048)
                with open(sys.argv[1], "a") as f: f.write("%s from %s:%d\\n" % (d.decode(), a[0], a[1]))
            """, file.path])
    }

    /// `lvsd --config RULES --interface d0 d1 d2 --duration 30` in the director namespace,
    /// ready once it has resolved `servers`.
    func startDirector(rules: String, servers: [String]) throws -> NamespaceLab.Director {
        try lab.startLVSD(in: star.director, config: rules,
                          arguments: star.interfaceArguments + ["--duration", "30", "--connections", "65536", "--socket", socket]) { log in
            servers.allSatisfy { log.contains("lvsd: neighbour \($0)") }
        }
    }

    /// SIGTERM to lvsd, waits for it (bounded) and returns its log.
    func stopDirector(log director: NamespaceLab.Director) throws -> String { try lab.stopLVSD(director) }

    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
        try lab.waitUntil(what, seconds: seconds, condition)
    }
}
