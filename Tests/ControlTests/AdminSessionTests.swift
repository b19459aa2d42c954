import Control
import Core
import Foundation
import Testing
import Wire

/// lvsadm from argv to printed output against an in-process lvsd stand-in: the real
/// `AdminResponder` with a fake engine whose counters the test sets.
@Suite struct AdminSessionTests {
    /// A fake engine: installs whatever it is given, reports counters the test sets.
    final class FakeEngine: @unchecked Sendable {
        var installed: [DirectorConfig] = []
        var refuse: AdminError?
        var totals: [ServiceKey: [Endpoint: AdminSnapshot.Counters]] = [:]
        var now: UInt64 = 0

        func install(_ config: DirectorConfig) -> AdminError? {
            if let refuse { return refuse }
            installed.append(config)
            return nil
        }

        func observe(_ connections: Bool) -> AdminSnapshot {
            var snapshot = AdminSnapshot(config: installed.last ?? DirectorConfig(), tableSize: 4096)
            for s in snapshot.services.indices {
                var sum = TrafficStats()
                for r in snapshot.services[s].realServers.indices {
                    let server = snapshot.services[s].realServers[r]
                    let counters = totals[snapshot.services[s].key]?[server.endpoint] ?? AdminSnapshot.Counters()
                    snapshot.services[s].realServers[r].stats = counters
                    sum = sum &+ counters.trafficStats
                }
                snapshot.services[s].stats = AdminSnapshot.Counters(sum)
            }
            return snapshot
        }
    }

    struct Session {
        let engine = FakeEngine()
        let responder: AdminResponder

        init() {
            let engine = self.engine
            responder = AdminResponder(config: DirectorConfig(), install: engine.install, observe: engine.observe, clock: { engine.now })
        }

        func run(_ arguments: [String], stdin: String = "") -> LvsadmOutcome {
            let invocation: LvsadmInvocation
            do {
                invocation = try LvsadmCommandLine.parse(arguments)
            } catch {
                return LvsadmOutcome(standardError: error.description + "\n", exitCode: error.exitCode)
            }
            return Lvsadm.run(invocation, standardInput: { stdin }, send: { request in
                // Through the wire format both ways, as over the socket.
                do {
                    let decodedRequest = try ControlFrame.decode(ControlRequest.self, body: try ControlFrame.encode(request).dropFirst(4))
                    let response = responder.handle(decodedRequest)
                    return .success(try ControlFrame.decode(ControlResponse.self, body: try ControlFrame.encode(response).dropFirst(4)))
                } catch {
                    return .failure(AdminError("frame: \(error)", exitCode: 255))
                }
            })
        }
    }

    @Test func buildAServiceAndListIt() {
        let session = Session()
        #expect(session.run(["-A", "-t", "198.18.0.10:80", "-s", "rr"]) == LvsadmOutcome())
        #expect(session.run(["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.11:8080", "-m", "-w", "2"]) == LvsadmOutcome())
        #expect(session.run(["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.12:8080", "-m"]) == LvsadmOutcome())
        #expect(session.engine.installed.count == 3)
        #expect(session.run(["-L", "-n"]).standardOutput == """
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
            TCP  198.18.0.10:80 rr
              -> 198.18.1.11:8080             Masq    2      0          0         \n\
              -> 198.18.1.12:8080             Masq    1      0          0         \n
            """)
        #expect(session.run(["-S", "-n"]).standardOutput == """
            -A -t 198.18.0.10:80 -s rr
            -a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2
            -a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1

            """)
    }

    @Test func refusalsPrintIpvsadmsLineAndExit255() {
        let session = Session()
        _ = session.run(["-A", "-t", "198.18.0.10:80"])
        let again = session.run(["-A", "-t", "198.18.0.10:80"])
        #expect(again == LvsadmOutcome(standardError: "Service already exists\nservice TCP 198.18.0.10:80 already exists\n", exitCode: 255))
        let missing = session.run(["-d", "-t", "198.18.0.10:80", "-r", "198.18.1.1"])
        #expect(missing.standardError.hasPrefix("No such destination\n"))
        #expect(missing.exitCode == 255)
        #expect(session.run(["-L", "-n", "-t", "198.18.0.10:81"]).exitCode == 1)
        #expect(session.run(["-L", "-n", "-t", "198.18.0.10:81"]).standardError.hasPrefix("No such service\n"))
        // A parse error never reaches the daemon.
        let before = session.engine.installed.count
        #expect(session.run(["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.1", "-w", "x"]).exitCode == 2)
        #expect(session.engine.installed.count == before)
    }

    @Test func restoreIsAllOrNothing() {
        let session = Session()
        let good = session.run(["-R"], stdin: "-A -t 198.18.0.10:80 -s rr\n-a -t 198.18.0.10:80 -r 198.18.1.11 -m\n")
        #expect(good == LvsadmOutcome())
        let bad = session.run(["-R"], stdin: "-C\n-A -t 198.18.0.11:80\n-a -t 198.18.0.12:80 -r 198.18.1.11 -m\n")
        #expect(bad.exitCode == 255)
        #expect(bad.standardError == "Service not defined\nline 3 ('-a -t 198.18.0.12:80 -r 198.18.1.11 -m'): service TCP 198.18.0.12:80 does not exist; nothing was restored\n")
        // The -C of the refused batch did not happen.
        #expect(session.responder.configuration.services.map(\.key) == [tcp("198.18.0.10", 80)])
        let syntax = session.run(["-R"], stdin: "-C\n-A -t 198.18.0.11:80 -s\n")
        #expect(syntax.exitCode == 255)
        #expect(syntax.standardError.hasPrefix("-s: missing argument\n"))
        #expect(session.responder.configuration.services.count == 1)
    }

    @Test func anEngineRefusalKeepsTheOldConfiguration() {
        let session = Session()
        _ = session.run(["-A", "-t", "198.18.0.10:80"])
        session.engine.refuse = AdminError("Memory allocation problem", detail: "the connection table is full", exitCode: 255)
        let outcome = session.run(["-A", "-t", "198.18.0.11:80"])
        #expect(outcome == LvsadmOutcome(standardError: "Memory allocation problem\nthe connection table is full\n", exitCode: 255))
        #expect(session.responder.configuration.services.count == 1)
    }

    /// --stats shows counters since the last -Z; --rate the estimator's view.
    @Test func statsRatesAndZero() {
        let session = Session()
        _ = session.run(["-R"], stdin: """
            -A -t 198.18.0.10:80 -s rr
            -a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m
            -A -u 198.18.0.10:53
            -a -u 198.18.0.10:53 -r 198.18.1.11 -m
            """)
        let key = tcp("198.18.0.10", 80)
        let server = Endpoint(ip("198.18.1.11"), 8080)
        let dns = udp("198.18.0.10", 53)
        let dnsServer = Endpoint(ip("198.18.1.11"), 53)
        session.engine.totals = [key: [server: AdminFixtures.counters(10, 100, 80, 10_000, 50_000)],
                                 dns: [dnsServer: AdminFixtures.counters(4, 4, 4, 400, 400)]]
        session.engine.now = 2_000_000_000
        session.responder.tick()
        let stats = session.run(["-L", "-n", "--stats"]).standardOutput.split(separator: "\n").map(String.init)
        #expect(stats[3] == "TCP  198.18.0.10:80                     10      100       80    10000    50000")
        #expect(stats[4] == "  -> 198.18.1.11:8080                   10      100       80    10000    50000")
        // One sample of 10 connections in 2 s: (10 << 9) >> 2 = 1280 → 1/s; 50000 B → 6250 B/s.
        let rate = session.run(["-L", "-n", "--rate"]).standardOutput.split(separator: "\n").map(String.init)
        #expect(rate[3] == "TCP  198.18.0.10:80                      1       12       10     1250     6250")
        #expect(rate[4] == "  -> 198.18.1.11:8080                    1       12       10     1250     6250")

        #expect(session.run(["-Z", "-t", "198.18.0.10:80"]) == LvsadmOutcome())
        session.engine.totals[key] = [server: AdminFixtures.counters(12, 110, 90, 11_000, 51_000)]
        let after = session.run(["-L", "-n", "--stats"]).standardOutput.split(separator: "\n").map(String.init)
        #expect(after[3] == "TCP  198.18.0.10:80                      2       10       10     1000     1000")
        #expect(after[4] == "  -> 198.18.1.11:8080                    2       10       10     1000     1000")
        // The other service was not zeroed.
        #expect(after[5] == "UDP  198.18.0.10:53                      4        4        4      400      400")
        let zeroedRate = session.run(["-L", "-n", "--rate"]).standardOutput.split(separator: "\n").map(String.init)
        #expect(zeroedRate[3] == "TCP  198.18.0.10:80                      0        0        0        0        0")

        #expect(session.run(["-Z"]) == LvsadmOutcome())
        let all = session.run(["-L", "-n", "--stats"]).standardOutput.split(separator: "\n").map(String.init)
        #expect(all[5] == "UDP  198.18.0.10:53                      0        0        0        0        0")
        #expect(session.run(["-Z", "-t", "198.18.0.10:81"]).standardError.hasPrefix("No such service\n"))
    }

    @Test func helpVersionTimeoutsAndUnreachableDaemon() {
        let session = Session()
        let help = session.run(["-h"])
        #expect(help.exitCode == 0)
        #expect(help.standardOutput.contains("  lvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags]\n"))
        #expect(session.run(["-v"]).standardOutput == "lvsadm v1.31 (SwiftLVS; ipvsadm 1.31 command line, IPVS v1.2.1)\n")
        #expect(session.run(["--set", "7200", "0", "60"]) == LvsadmOutcome())
        #expect(session.run(["-L", "--timeout"]).standardOutput == "Timeout (tcp tcpfin udp): 7200 120 60\n")
        let invocation = try? LvsadmCommandLine.parse(["-L", "-n"])
        let unreachable = Lvsadm.run(invocation!, standardInput: { "" }, send: { _ in
            .failure(AdminError("Can't initialize ipvs: lvsd does not answer at /x: No such file or directory", exitCode: 2))
        })
        #expect(unreachable == LvsadmOutcome(standardError: "Can't initialize ipvs: lvsd does not answer at /x: No such file or directory\n", exitCode: 2))
    }

    @Test func statisticsBookRestartsWhenCountersGoDown() {
        var book = StatisticsBook()
        var raw = AdminSnapshot(tableSize: 1, services: [AdminSnapshot.Service(key: tcp("198.18.0.10", 80),
                                                                              stats: AdminFixtures.counters(100, 0, 0, 0, 0))])
        book.tick(raw, now: 0)
        #expect(book.present(raw).services[0].stats.connections == 100)
        book.zero(nil, in: raw, now: 0)
        #expect(book.present(raw).services[0].stats.connections == 0)
        // The engine rebuilt its counters: 3 is less than 100, so it counts from 0 again.
        raw.services[0].stats = AdminFixtures.counters(3, 0, 0, 0, 0)
        book.tick(raw, now: 1)
        #expect(book.present(raw).services[0].stats.connections == 3)
        // A service that goes away loses its account; back, it starts from what it counts.
        let empty = AdminSnapshot(tableSize: 1)
        book.tick(empty, now: 2)
        raw.services[0].stats = AdminFixtures.counters(7, 0, 0, 0, 0)
        book.tick(raw, now: 3)
        #expect(book.present(raw).services[0].stats.connections == 7)
    }
}
