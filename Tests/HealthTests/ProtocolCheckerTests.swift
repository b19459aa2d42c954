import Core
import Foundation
import Health
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// DNS_CHECK against Debian's dnsmasq and SMTP_CHECK against Debian's aiosmtpd (and a scripted
/// line server for the replies a real server would rarely give), in the checker lab's
/// namespaces, run by `ProbeDriver` inside the checker namespace.
@Suite(.serialized, .enabled(if: isRoot, "checker tests build network namespaces and need root (CI runs as root)"),
       .timeLimit(.minutes(3)))
struct ProtocolCheckerTests {
    func config(_ spec: CheckerSpec, port: UInt16, timeout: Duration = .milliseconds(800)) -> CheckerConfig {
        var t = CheckerTiming.defaults(for: spec.kind)
        t.connectTimeout = timeout
        return CheckerConfig(target: CheckTarget(service: ServiceKey(.udp, ip("198.18.0.100"), port),
                                                 realServer: ep(CheckerLab.serverAddress, port)),
                             spec: spec, timing: t)
    }

    func failure(_ outcome: CheckOutcome) -> CheckFailure? {
        if case .failure(let f) = outcome { return f }
        return nil
    }

    @Test func dnsCheckAgainstDnsmasq() throws {
        let lab = try CheckerLab("d")
        defer { lab.tearDown() }
        let a = config(.dns(DNSCheckConfig(type: .a, name: "www.example.test")), port: 53)
        // Nothing listens yet: the ICMP port unreachable fails the check at once.
        #expect(failure(try lab.check(a))?.reason == "port unreachable")
        try lab.startDNS("dnsmasq", check: a)
        #expect(try lab.check(a) == .success())
        #expect(try lab.check(config(.dns(DNSCheckConfig(type: .a, name: "www.example.test.")), port: 53)) == .success(),
                "a fully qualified name is the same name")
        // A name dnsmasq does not know goes upstream, and there is none.
        #expect(failure(try lab.check(config(.dns(DNSCheckConfig(type: .aaaa, name: "www.example.test")), port: 53)))?.reason
                .hasPrefix("the server answered ") == true)
        // keepalived's default query (SOA of the root) goes upstream, and there is none: REFUSED.
        #expect(failure(try lab.check(config(.dns(DNSCheckConfig()), port: 53)))?.reason == "the server answered REFUSED")
        // A stopped server keeps its socket: no answer, no ICMP, the timeout fails the check.
        lab.signal("dnsmasq", SIGSTOP)
        #expect(failure(try lab.check(a))?.reason == "no DNS reply within 800 ms")
        lab.signal("dnsmasq", SIGCONT)
        try lab.waitUntil("dnsmasq answers again") { (try? lab.check(a)) == .success() }
    }

    @Test func smtpCheckAgainstAiosmtpd() throws {
        let lab = try CheckerLab("s")
        defer { lab.tearDown() }
        let smtp = config(.smtp(SMTPCheckConfig()), port: 2525)
        #expect(failure(try lab.check(smtp))?.reason == "connection refused")
        try lab.startPython("smtpd", script: CheckerLab.smtpServer, arguments: [CheckerLab.serverAddress, "2525"])
        #expect(try lab.check(smtp) == .success())
        #expect(try lab.check(config(.smtp(SMTPCheckConfig(heloName: "director.example.test")), port: 2525)) == .success())
        // Stopped: the kernel still completes the handshake, the banner never comes.
        lab.signal("smtpd", SIGSTOP)
        #expect(failure(try lab.check(smtp))?.reason == "timed out after 800 ms waiting for the 220 banner")
        lab.signal("smtpd", SIGCONT)
        try lab.waitUntil("aiosmtpd answers again") { (try? lab.check(smtp)) == .success() }

        // Replies a broken server gives: keepalived's rules, multi-line replies read to the end.
        try lab.startPython("busy", script: CheckerLab.lineServer, arguments: ["2526", "554 no service here|", "250 ok"])
        #expect(failure(try lab.check(config(.smtp(SMTPCheckConfig()), port: 2526)))?.reason == "bad greeting: 554, expected 220")
        try lab.startPython("picky", script: CheckerLab.lineServer, arguments: ["2527", "220 hi|", "550 go away"])
        #expect(failure(try lab.check(config(.smtp(SMTPCheckConfig()), port: 2527)))?.reason == "bad HELO response: 550, expected 250")
        try lab.startPython("chatty", script: CheckerLab.lineServer, arguments: ["2528", "220-welcome|220-to the lab|220 ready|", "250 ok"])
        #expect(try lab.check(config(.smtp(SMTPCheckConfig()), port: 2528)) == .success())
        try lab.startPython("noise", script: CheckerLab.lineServer, arguments: ["2529", "hello there|", "250 ok"])
        #expect(failure(try lab.check(config(.smtp(SMTPCheckConfig()), port: 2529)))?.reason
                == "malformed reply: a reply line does not start with a 3-digit code")
    }

    @Test func httpGetRegexAgainstARealServer() throws {
        let lab = try CheckerLab("x")
        defer { lab.tearDown() }
        _ = try lab.write("<html>service: healthy, 3 workers</html>\n", to: "index.html")
        try lab.startHTTP("web", port: 8080, root: lab.directory)
        func http(_ regex: BodyRegex) -> CheckerConfig {
            var c = config(.httpGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/index.html", regex: regex)])), port: 8080)
            c.target.service = ServiceKey(.tcp, ip("198.18.0.100"), 8080)
            return c
        }
        #expect(try lab.check(http(BodyRegex(pattern: "healthy, [0-9]+ workers"))) == .success())
        #expect(failure(try lab.check(http(BodyRegex(pattern: "degraded"))))?.description
                == "/index.html: the body does not match regex 'degraded'")
        #expect(failure(try lab.check(http(BodyRegex(pattern: "healthy", noMatch: true))))?.reason
                == "the body matches regex 'healthy' at offset 15 (regex_no_match)")
        #expect(try lab.check(http(BodyRegex(pattern: "HEALTHY", options: ["caseless"]))) == .success())
    }

    /// keepalived.conf's `SSL { ca certificate key }`: the server's certificate must verify
    /// against `ca`, and the client certificate gets through a server that demands one.
    @Test func sslGetVerifiesTheServerAndPresentsAClientCertificate() throws {
        let lab = try CheckerLab("v")
        defer { lab.tearDown() }
        let ca = try lab.makeCertificate("ca", subject: "lab CA", signedBy: nil)
        let otherCA = try lab.makeCertificate("other-ca", subject: "other CA", signedBy: nil)
        let server = try lab.makeCertificate("server", subject: "rs.example.test", signedBy: ca)
        let client = try lab.makeCertificate("client", subject: "director.example.test", signedBy: ca)
        let stranger = try lab.makeCertificate("stranger", subject: "director.example.test", signedBy: otherCA)
        _ = try lab.write("ok\n", to: "index.html")
        try lab.startHTTP("tls", port: 8443, root: lab.directory, tls: server, clientCA: ca.cert)
        func ssl(_ tls: TLSOptions) -> CheckerConfig {
            var c = config(.sslGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/index.html")]), tls), port: 8443)
            c.target.service = ServiceKey(.tcp, ip("198.18.0.100"), 8443)
            return c
        }
        let good = TLSOptions(caFile: ca.cert.path, certificateFile: client.cert.path, keyFile: client.key.path)
        #expect(try lab.check(ssl(good)) == .success())
        // The wrong CA: the server's certificate does not verify.
        var wrongCA = good
        wrongCA.caFile = otherCA.cert.path
        #expect(failure(try lab.check(ssl(wrongCA)))?.reason.contains("certificate verify failed") == true)
        // No client certificate, or one from another CA: the server refuses the handshake.
        #expect(failure(try lab.check(ssl(TLSOptions(caFile: ca.cert.path)))) != nil)
        #expect(failure(try lab.check(ssl(TLSOptions(caFile: ca.cert.path, certificateFile: stranger.cert.path, keyFile: stranger.key.path)))) != nil)
        // A key that is not the certificate's: named before any connection.
        let mismatched = TLSOptions(certificateFile: client.cert.path, keyFile: stranger.key.path)
        let keyFailure = failure(try lab.check(ssl(mismatched)))?.reason ?? ""
        #expect(keyFailure.hasPrefix("cannot load the SSL key \(stranger.key.path)") && keyFailure.contains("mismatch"), "\(keyFailure)")
        #expect(failure(try lab.check(ssl(TLSOptions(caFile: "/nonexistent/ca.pem"))))?.reason.hasPrefix("cannot load the SSL CA file /nonexistent/ca.pem") == true)
    }
}
