import Core
import Foundation
import Health
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Every checker kind against real servers in a network namespace (Python HTTP/HTTPS/UDP
/// servers, shell scripts, the kernel's ICMP echo), run by `ProbeDriver` on a thread inside
/// the checker namespace.
@Suite(.serialized, .enabled(if: isRoot, "checker tests build network namespaces and need root (CI runs as root)"),
       .timeLimit(.minutes(3)))
struct CheckerTests {
    static let server = CheckerLab.serverAddress

    func target(_ address: String, _ port: UInt16) -> CheckTarget {
        CheckTarget(service: ServiceKey(.tcp, ip("198.18.0.100"), 80), realServer: ep(address, port))
    }

    func target(_ port: UInt16) -> CheckTarget { target(CheckerTests.server, port) }

    func config(_ spec: CheckerSpec, _ target: CheckTarget, timeout: Duration = .seconds(1)) -> CheckerConfig {
        var t = CheckerTiming.defaults(for: spec.kind)
        t.connectTimeout = timeout
        return CheckerConfig(target: target, spec: spec, timing: t)
    }

    func failure(_ outcome: CheckOutcome) -> CheckFailure? {
        if case .failure(let f) = outcome { return f }
        return nil
    }

    @Test func tcpCheckOpenClosedAndSilent() throws {
        let lab = try CheckerLab("t")
        defer { lab.tearDown() }
        try lab.startHTTP("web", port: 8080, root: lab.directory)
        #expect(try lab.check(config(.tcp, target(8080))) == .success())
        #expect(failure(try lab.check(config(.tcp, target(8081))))?.reason == "connection refused")
        // connect_ip / connect_port: the real server is :80, the probe goes to :8080.
        var redirected = target(80)
        redirected.connectPort = 8080
        #expect(try lab.check(config(.tcp, redirected)) == .success())
        // bindto: the probe leaves from the checker's address.
        var bound = target(8080)
        bound.bindAddress = ip(CheckerLab.checkerAddress)
        #expect(try lab.check(config(.tcp, bound)) == .success())
        bound.bindAddress = ip("198.18.99.1")
        #expect(failure(try lab.check(config(.tcp, bound)))?.reason.hasPrefix("cannot bind to 198.18.99.1:0") == true)
        // No host answers 198.18.60.77: the SYN goes nowhere until connect_timeout. Without
        // the deadline the kernel gives up only after its SYN retries (about 127 s), so a
        // bound far above the deadline still tells the two apart on a loaded machine.
        let start = Date()
        #expect(failure(try lab.check(config(.tcp, target("198.18.60.77", 80), timeout: .milliseconds(700))))?.reason
                == "connect timed out after 700 ms")
        #expect(Date().timeIntervalSince(start) < 15)
        // IPv6.
        #expect(try lab.check(config(.tcp, target(CheckerLab.serverAddress6, 8080))) == .success())
    }

    @Test func httpGetStatusDigestAndVirtualhost() throws {
        let lab = try CheckerLab("h")
        defer { lab.tearDown() }
        let page = "<html><body>real server 1</body></html>\n"
        let file = try lab.write(page, to: "index.html")
        try lab.startHTTP("web", port: 8080, root: lab.directory)
        let digest = MD5Digest.of(Array(page.utf8))!

        func http(_ urls: [HTTPURLCheck], virtualhost: String? = nil, _ port: UInt16 = 8080) -> CheckerConfig {
            config(.httpGet(HTTPGetConfig(urls: urls, virtualhost: virtualhost)), target(port))
        }
        #expect(try lab.check(http([HTTPURLCheck(path: "/index.html", digest: digest)])) == .success())
        #expect(failure(try lab.check(http([HTTPURLCheck(path: "/missing.html")])))
                == CheckFailure("status 404, expected 200-299", subject: "/missing.html"))
        #expect(failure(try lab.check(http([HTTPURLCheck(path: "/status/503")])))?.description == "/status/503: status 503, expected 200-299")
        // status_code 503 accepts it; a list of urls must all pass, the first failure is reported.
        let accept503 = HTTPURLCheck(path: "/status/503", statusCodes: try HTTPStatusCodes(parsing: ["500-503"]))
        #expect(try lab.check(http([HTTPURLCheck(path: "/index.html"), accept503])) == .success())
        #expect(failure(try lab.check(http([accept503, HTTPURLCheck(path: "/nope"), HTTPURLCheck(path: "/status/500")])))?.subject == "/nope")
        // virtualhost sets the Host header; without it keepalived sends ADDRESS:PORT.
        let hostDigest = MD5Digest.of(Array("Host: www.example.test\n".utf8))!
        #expect(try lab.check(http([HTTPURLCheck(path: "/host", digest: hostDigest)], virtualhost: "www.example.test")) == .success())
        let plainHost = MD5Digest.of(Array("Host: \(Self.server):8080\n".utf8))!
        #expect(try lab.check(http([HTTPURLCheck(path: "/host", digest: plainHost)])) == .success())
        // The page changes: the digest no longer matches.
        let changed = "<html><body>maintenance</body></html>\n"
        try changed.write(to: file, atomically: true, encoding: .utf8)
        let now = MD5Digest.of(Array(changed.utf8))!
        #expect(failure(try lab.check(http([HTTPURLCheck(path: "/index.html", digest: digest)])))?.reason
                == "digest \(now), expected \(digest)")
        // Nothing listening / not HTTP at all.
        #expect(failure(try lab.check(http([HTTPURLCheck(path: "/")], 8081)))?.reason == "connection refused")
        try lab.startUDP("sink", port: 9999, prefix: "-")
        try lab.startPython("silent", script: "import socket\ns=socket.socket()\ns.bind(('0.0.0.0',8090))\ns.listen()\nprint('ready',flush=True)\nc=s.accept()\nimport time\ntime.sleep(30)\n", arguments: [])
        #expect(failure(try lab.check(http([HTTPURLCheck(path: "/")], 8090)))?.reason == "timed out after 1 s waiting for the response")
    }

    /// genhash prints the digest HTTP_GET compares, the same as curl | md5sum.
    @Test func genhashMatchesTheChecker() throws {
        let lab = try CheckerLab("g")
        defer { lab.tearDown() }
        var page = "genhash page\n"
        for i in 0..<2000 { page += "line \(i) of a page longer than one read\n" }
        _ = try lab.write(page, to: "big.html")
        try lab.startHTTP("web", port: 8080, root: lab.directory)
        let expected = MD5Digest.of(Array(page.utf8))!.description
        let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.checker, try BuiltExecutable.lvsd(), "genhash",
                                                                   "-s", Self.server, "-p", "8080", "-u", "/big.html", "-v"])
        #expect(status == 0, "\(err)")
        #expect(out == expected + "\n")
        #expect(err.contains("HTTP status 200, \(page.utf8.count) body bytes"))
        let (_, curl, _) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.checker, "/bin/sh", "-c",
                                                           "curl -s http://\(Self.server):8080/big.html | md5sum"])
        #expect(curl.hasPrefix(expected), "curl | md5sum: \(curl)")
        let (bad, _, badErr) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.checker, try BuiltExecutable.lvsd(), "genhash",
                                                                 "-s", Self.server, "-p", "8081", "-u", "/", "-t", "1"])
        #expect(bad == 1)
        #expect(badErr.contains("http://198.18.60.2:8081/: connection refused"), "\(badErr)")
    }

    @Test func sslGetOverTLS() throws {
        let lab = try CheckerLab("s")
        defer { lab.tearDown() }
        let page = "secure page\n"
        _ = try lab.write(page, to: "index.html")
        let tls = try lab.makeCertificate()
        try lab.startHTTP("tls", port: 8443, root: lab.directory, tls: tls)
        try lab.startHTTP("plain", port: 8080, root: lab.directory)
        let digest = MD5Digest.of(Array(page.utf8))!
        func ssl(_ path: String, digest: MD5Digest? = nil, port: UInt16 = 8443, sni: Bool = false) -> CheckerConfig {
            config(.sslGet(HTTPGetConfig(urls: [HTTPURLCheck(path: path, digest: digest)], virtualhost: "rs.example.test"),
                           TLSOptions(enableSNI: sni)), target(port))
        }
        #expect(try lab.check(ssl("/index.html", digest: digest)) == .success())
        #expect(try lab.check(ssl("/index.html", digest: digest, sni: true)) == .success())
        #expect(failure(try lab.check(ssl("/missing")))?.reason == "status 404, expected 200-299")
        let wrong = try MD5Digest(hex: "00000000000000000000000000000000")
        #expect(failure(try lab.check(ssl("/index.html", digest: wrong)))?.reason == "digest \(digest), expected \(wrong)")
        // TLS to a plain HTTP port fails the handshake; plain HTTP to the TLS port gets no HTTP.
        #expect(failure(try lab.check(ssl("/", port: 8080)))?.reason.hasPrefix("TLS handshake failed") == true)
        let plain = config(.httpGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/")])), target(8443))
        #expect(failure(try lab.check(plain)) != nil)
        // genhash -S.
        let (status, out, err) = try Command.run("/usr/sbin/ip", ["netns", "exec", lab.checker, try BuiltExecutable.lvsd(), "genhash",
                                                                   "-S", "-s", Self.server, "-p", "8443", "-u", "/index.html"])
        #expect(status == 0, "\(err)")
        #expect(out == "\(digest)\n")
    }

    @Test func miscCheckExitCodesTimeoutAndUser() throws {
        let lab = try CheckerLab("m")
        defer { lab.tearDown() }
        let codeFile = lab.directory.appendingPathComponent("code")
        let script = try lab.write("#!/bin/sh\nid -u > \(lab.directory.path)/uid\nexit $(cat \(codeFile.path))\n", to: "check.sh")
        chmod(script.path, 0o755)
        func misc(dynamic: Bool = false, user: String? = nil, timeout: Duration? = nil, command: [String]? = nil) -> CheckerConfig {
            config(.misc(MiscCheckConfig(command: command ?? [script.path], user: user, timeout: timeout, dynamic: dynamic)), target(80))
        }
        func run(_ code: Int, _ c: CheckerConfig) throws -> CheckOutcome {
            try "\(code)\n".write(to: codeFile, atomically: true, encoding: .utf8)
            return try lab.check(c)
        }
        #expect(try run(0, misc()) == .success())
        #expect(failure(try run(1, misc())) == CheckFailure("exited with status 1", subject: script.path))
        #expect(failure(try run(5, misc()))?.reason == "exited with status 5", "without misc_dynamic any non-zero exit is down")
        #expect(try run(5, misc(dynamic: true)) == .success(weight: 3), "misc_dynamic: weight = exit - 2")
        #expect(try run(2, misc(dynamic: true)) == .success(weight: 0))
        #expect(try run(255, misc(dynamic: true)) == .success(weight: 253))
        #expect(try run(0, misc(dynamic: true)) == .success())
        #expect(failure(try run(1, misc(dynamic: true)))?.reason == "exited with status 1")
        // user: the script runs as nobody (the root runs left a root-owned uid file).
        try FileManager.default.removeItem(at: lab.directory.appendingPathComponent("uid"))
        #expect(try run(0, misc(user: "nobody")) == .success())
        #expect(try String(contentsOf: lab.directory.appendingPathComponent("uid"), encoding: .utf8) == "65534\n")
        #expect(failure(try run(0, misc(user: "no-such-user-x")))?.reason == "unknown user no-such-user-x")
        // misc_timeout: SIGTERM to the process group at the deadline. Unkilled, the script
        // would run its whole 60 s.
        let start = Date()
        let slow = misc(timeout: .milliseconds(500), command: ["/bin/sh", "-c", "sleep 60"])
        #expect(failure(try lab.check(slow))?.reason == "timed out after 500 ms")
        #expect(Date().timeIntervalSince(start) < 15)
        // A script that ignores SIGTERM is killed 2 s later.
        let stubborn = misc(timeout: .milliseconds(300), command: ["/bin/sh", "-c", "trap '' TERM; sleep 60"])
        let start2 = Date()
        #expect(failure(try lab.check(stubborn))?.reason == "timed out after 300 ms")
        let took = Date().timeIntervalSince(start2)
        // Not before the grace (SIGTERM alone is ignored), long before the script's own end.
        #expect(took > 2 && took < 15, "SIGKILL after the 2 s grace: \(took) s")
        #expect(failure(try lab.check(misc(command: ["/no/such/script"])))?.reason == "cannot run /no/such/script: not found or not executable")
        // Bare names are looked up in PATH.
        #expect(try lab.check(misc(command: ["true"])) == .success())
    }

    @Test func pingCheckIPv4AndIPv6() throws {
        let lab = try CheckerLab("p")
        defer { lab.tearDown() }
        #expect(try lab.check(config(.ping, target(80))) == .success())
        #expect(try lab.check(config(.ping, target(CheckerLab.serverAddress2, 80))) == .success())
        let v6 = try lab.check(config(.ping, target(CheckerLab.serverAddress6, 80)))
        #expect(v6 == .success(), "\(v6)")
        // One checker, several probes: the sequence number advances and each reply matches.
        let checker = config(.ping, target(80)).makeChecker()
        nonisolated(unsafe) let c = checker
        let outcomes = try lab.inChecker { (0..<3).map { _ in ProbeDriver.run(c.makeProbe()) } }
        #expect(outcomes == [.success(), .success(), .success()])
        // Without the deadline nothing would ever answer: a generous bound still catches it.
        let start = Date()
        #expect(failure(try lab.check(config(.ping, target("198.18.60.77", 80), timeout: .milliseconds(500))))?.reason
                == "no echo reply within 500 ms")
        #expect(Date().timeIntervalSince(start) < 15)
    }

    @Test func udpCheckReplyRules() throws {
        let lab = try CheckerLab("u")
        defer { lab.tearDown() }
        try lab.startUDP("echo", port: 5353, prefix: "OK:")
        try lab.startUDP("sink", port: 5354, prefix: "-")
        func udp(_ u: UDPCheckConfig, _ port: UInt16) -> CheckerConfig { config(.udp(u), target(port), timeout: .milliseconds(500)) }
        let payload = Array("ping".utf8)
        #expect(try lab.check(udp(UDPCheckConfig(payload: payload), 5353)) == .success())
        #expect(try lab.check(udp(UDPCheckConfig(payload: payload, requireReply: true), 5353)) == .success())
        let okPing = try HexPattern(parsing: "4f 4b 3a 70 69 6e 67", allowWildcards: true) // "OK:ping"
        #expect(try lab.check(udp(UDPCheckConfig(payload: payload, reply: okPing), 5353)) == .success())
        let wild = try HexPattern(parsing: "4f 4b 3a xx", allowWildcards: true)
        #expect(try lab.check(udp(UDPCheckConfig(payload: payload, reply: wild), 5353)) == .success())
        let other = try HexPattern(parsing: "4e 4f", allowWildcards: true) // "NO"
        #expect(failure(try lab.check(udp(UDPCheckConfig(payload: payload, reply: other), 5353)))?.reason == "reply data mismatch")
        #expect(failure(try lab.check(udp(UDPCheckConfig(payload: payload, reply: okPing, maxReplyLength: 4), 5353)))?.reason
                == "reply of 7 bytes, expected 0-4")
        // keepalived's default payload is echoed too.
        #expect(try lab.check(udp(UDPCheckConfig(requireReply: true), 5353)) == .success())
        // A silent service: fine without require_reply, a failure with it.
        #expect(try lab.check(udp(UDPCheckConfig(payload: payload), 5354)) == .success())
        #expect(failure(try lab.check(udp(UDPCheckConfig(payload: payload, requireReply: true), 5354)))?.reason == "no reply within 500 ms")
        // Nobody on the port: ICMP port unreachable fails it either way.
        #expect(failure(try lab.check(udp(UDPCheckConfig(payload: payload), 5355)))?.reason == "port unreachable")
        #expect(failure(try lab.check(udp(UDPCheckConfig(payload: payload, requireReply: true), 5355)))?.reason == "port unreachable")
        // IPv6.
        #expect(try lab.check(config(.udp(UDPCheckConfig(payload: payload, requireReply: true)), target(CheckerLab.serverAddress6, 5353))) == .success())
    }
}
