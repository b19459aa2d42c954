import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15 end to end: `lvsd` with a keepalived.conf in the director's namespace, its
/// DNS_CHECK against Debian's dnsmasq and SMTP_CHECK against aiosmtpd, and health state across
/// a SIGHUP and an lvsadm edit, read back with `lvsadm -L -n` and proven with real requests
/// through the VIP (DR). Timers are short (`delay_loop 1`, `connect_timeout 1`, `retry 0`):
/// a stopped server is out within delay_loop + connect_timeout = 2 s, back within one
/// delay_loop; the bounds below add the slack a shared 2-core machine needs.
@Suite(.serialized, .enabled(if: getuid() == 0, "the checker lab builds network namespaces and needs root"))
struct CheckerE2ETests {
    static let downBound = 2.0 + 3.0
    static let upBound = 1.0 + 3.0
    static let timing = "            connect_timeout 1\n            retry 0\n"

    @Test("DNS_CHECK and SMTP_CHECK: a stopped dnsmasq or aiosmtpd takes its server out, a resumed one brings it back",
          .timeLimit(.minutes(3)))
    func dnsAndSMTPServersLeaveAndReturn() throws {
        let lab = try CheckerE2ELab(tag: "p")
        defer { lab.close() }
        try lab.startDNS()
        try lab.startSMTP()
        // alpha: a server is listed only once its check has passed.
        try lab.startLVSD("""
            virtual_server 198.18.0.100 53 {
                delay_loop 1
                lb_algo rr
                lb_kind DR
                protocol UDP
                real_server 198.18.0.21 53 {
                    weight 1
                    DNS_CHECK {
                        type A
                        name www.example.test
                        alpha
            \(Self.timing)        }
                }
            }
            virtual_server 198.18.0.100 25 {
                delay_loop 1
                lb_algo rr
                lb_kind DR
                protocol TCP
                real_server 198.18.0.22 25 {
                    weight 1
                    SMTP_CHECK {
                        helo_name director.example.test
                        alpha
            \(Self.timing)        }
                }
            }

            """)
        let dns = "UDP 198.18.0.100:53", smtp = "TCP 198.18.0.100:25"
        try lab.waitForServers(dns, "r1:53 in after its first DNS_CHECK passed", timeout: Self.upBound) { $0["198.18.0.21:53"] == 1 }
        try lab.waitForServers(smtp, "r2:25 in after its first SMTP_CHECK passed", timeout: Self.upBound) { $0["198.18.0.22:25"] == 1 }
        #expect(lab.dnsQuery(server: CheckerE2ELab.vip) == 0, "a DNS query through the VIP")

        // dnsmasq stops answering (SIGSTOP keeps its socket: no ICMP, only silence).
        lab.signal("dnsmasq", SIGSTOP)
        let dnsDown = try lab.waitForServers(dns, "r1:53 out after dnsmasq stopped", timeout: Self.downBound) { $0["198.18.0.21:53"] == nil }
        lab.signal("dnsmasq", SIGCONT)
        let dnsUp = try lab.waitForServers(dns, "r1:53 back after dnsmasq resumed", timeout: Self.upBound) { $0["198.18.0.21:53"] == 1 }
        #expect(lab.dnsQuery(server: CheckerE2ELab.vip) == 0, "a DNS query through the VIP after the return")

        lab.signal("smtpd", SIGSTOP)
        let smtpDown = try lab.waitForServers(smtp, "r2:25 out after aiosmtpd stopped", timeout: Self.downBound) { $0["198.18.0.22:25"] == nil }
        lab.signal("smtpd", SIGCONT)
        let smtpUp = try lab.waitForServers(smtp, "r2:25 back after aiosmtpd resumed", timeout: Self.upBound) { $0["198.18.0.22:25"] == 1 }

        let log = lab.lvsdLog
        #expect(log.contains("DNS_CHECK 198.18.0.21:53 no DNS reply within 1 s"), "\(log)")
        #expect(log.contains("SMTP_CHECK 198.18.0.22:25 timed out after 1 s waiting for the 220 banner"), "\(log)")
        #expect(!log.contains("not implemented"), "\(log)")
        print("checker e2e: DNS_CHECK out \(Self.ms(dnsDown)) ms after SIGSTOP, back \(Self.ms(dnsUp)) ms after SIGCONT; SMTP_CHECK out \(Self.ms(smtpDown)) ms, back \(Self.ms(smtpUp)) ms")
    }

    static func web(omega: Bool = true, weight1: Int = 1, weight2: Int = 1, notify: String) -> String {
        func rs(_ i: Int, _ weight: Int) -> String {
            """
                real_server 198.18.0.2\(i) 80 {
                    weight \(weight)
                    notify_up "\(notify) rs\(i)-up"
                    notify_down "\(notify) rs\(i)-down"
                    HTTP_GET {
                        url {
                            path /health.html
                        }
            \(timing)        }
                }

            """
        }
        return "virtual_server 198.18.0.100 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n"
            + (omega ? "    omega\n" : "") + rs(1, weight1) + rs(2, weight2) + "}\n"
    }

    @Test("A DOWN real server stays DOWN across a SIGHUP and an lvsadm edit that do not touch it; no omega or notify script re-runs",
          .timeLimit(.minutes(3)))
    func downServerStaysDownAcrossReload() throws {
        let lab = try CheckerE2ELab(tag: "r")
        defer { lab.close() }
        try lab.startWebServers()
        let notifyLog = lab.directory.appendingPathComponent("notify.log").path
        let notify = lab.directory.appendingPathComponent("notify.sh").path
        try "#!/bin/sh\necho \"$1\" >> \(notifyLog)\n".write(toFile: notify, atomically: true, encoding: .utf8)
        chmod(notify, 0o755)
        func notifications() -> [String] {
            ((try? String(contentsOfFile: notifyLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        let web = "TCP 198.18.0.100:80", rs1 = "198.18.0.21:80", rs2 = "198.18.0.22:80"

        try lab.startLVSD(Self.web(notify: notify))
        try lab.waitForServers(web, "both servers in", timeout: Self.upBound) { $0.count == 2 }
        // Each checker has run once (warmup ≤ delay_loop) before rs2's page goes.
        usleep(1_500_000)
        try FileManager.default.removeItem(at: lab.webRoot(2).appendingPathComponent("health.html"))
        try lab.waitForServers(web, "rs2 out on a 404", timeout: Self.downBound) { $0[rs2] == nil }
        try lab.waitUntil("notify_down for rs2 ran") { notifications() == ["rs2-down"] }

        // A reload that edits rs1 only: rs2 must not come back, not even for a moment.
        try lab.reload(Self.web(weight1: 2, notify: notify))
        let afterReload = lab.listing()[web]
        #expect(afterReload?[rs2] == nil, "rs2 is in the table right after the reload: \(String(describing: afterReload))")
        var answers: [String?] = []
        for _ in 0..<6 { answers.append(try lab.curl("http://\(CheckerE2ELab.vip)/who")) }
        #expect(answers.allSatisfy { $0 == "rs1" }, "requests right after the reload: \(answers)")
        #expect(lab.logSinceMark.contains("checkers keep their state"), "\(lab.logSinceMark)")
        try lab.waitForServers(web, "rs1 at its new weight", timeout: Self.upBound) { $0[rs1] == 2 && $0[rs2] == nil }

        // An lvsadm edit of rs1: rs2 stays out too.
        let edit = try Command.run(lab.lvsadm, ["--socket", lab.socket, "-e", "-t", "198.18.0.100:80", "-r", rs1, "-g", "-w", "3"])
        #expect(edit.status == 0, "lvsadm -e: \(edit.stderr)")
        #expect(lab.listing()[web]?[rs2] == nil, "rs2 is in the table right after the lvsadm edit: \(lab.listing())")
        answers = []
        for _ in 0..<4 { answers.append(try lab.curl("http://\(CheckerE2ELab.vip)/who")) }
        #expect(answers.allSatisfy { $0 == "rs1" }, "requests right after the lvsadm edit: \(answers)")

        // Neither the reload nor the edit ran a script: no omega notify_down for rs1, no second rs2-down.
        #expect(notifications() == ["rs2-down"], "scripts ran on reload: \(notifications())")

        // rs2's page is back: it returns on its own check, with its notify_up.
        try "ok\n".write(to: lab.webRoot(2).appendingPathComponent("health.html"), atomically: true, encoding: .utf8)
        try lab.waitForServers(web, "rs2 back", timeout: Self.upBound) { $0[rs2] != nil }
        try lab.waitUntil("notify_up for rs2 ran") { notifications() == ["rs2-down", "rs2-up"] }

        // A reload that edits rs2 restarts its checker (keepalived treats it as a new server).
        lab.markLog()
        try lab.reload(Self.web(weight1: 2, weight2: 5, notify: notify))
        #expect(lab.logSinceMark.contains("Activating healthchecker HTTP_GET for service \(rs2)"), "\(lab.logSinceMark)")
        #expect(!lab.logSinceMark.contains("Activating healthchecker HTTP_GET for service \(rs1)"), "\(lab.logSinceMark)")
    }

    static func ms(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
}
