import Core
import Health
import Testing
import Wire

/// The pure state machine with injected time: keepalived's retry, alpha, inhibit, quorum,
/// hysteresis, sorry server and misc_dynamic rules, and the desired table they produce.
@Suite struct HealthModelTests {
    /// One TCP_CHECK per real server.
    func plan(_ t: CheckerTiming = timing(), inhibit: Bool = false, configure: (inout ServiceHealthPlan) -> Void = { _ in }) -> HealthPlan {
        var plan = HealthPlan(base: baseConfig())
        for i in plan.services[0].realServers.indices {
            plan.services[0].realServers[i].inhibitOnFailure = inhibit
            plan.services[0].realServers[i].checkers = [tcpChecker(plan.services[0].realServers[i].endpoint, t)]
        }
        configure(&plan.services[0])
        return plan
    }

    func started(_ plan: HealthPlan) -> (HealthModel, HealthReport) {
        var m = HealthModel(plan: plan, start: .zero, seed: 1)
        let report = m.start()
        return (m, report)
    }

    @Test func allServersStartAliveWithoutAlpha() {
        let (m, report) = started(plan())
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1, rs3: 1])
        #expect(report.desiredChanged)
        #expect(report.events.contains { $0.kind == .quorumGained && $0.message == "Gained quorum 1+0=1 <= 3 for VS TCP 198.18.0.100:80" })
        #expect(m.status[0].realServers.allSatisfy { $0.alive })
    }

    /// retry 1: an up server needs two failed attempts, delay_before_retry apart, to go down;
    /// the retry runs off-grid, the next check is back on anchor + k × delay_loop.
    @Test func retryCountsBeforeRemoval() {
        var (m, _) = started(plan(timing(delay: 10, retry: 1, beforeRetry: .seconds(1))))
        let c = CheckerID(1) // rs2's checker
        var r = m.record(.success(), for: c, at: .milliseconds(300))
        #expect(r.nextRun == .seconds(10) && !r.desiredChanged && r.events.isEmpty)

        r = m.record(refused, for: c, at: .milliseconds(10_200))
        #expect(r.nextRun == .milliseconds(11_200), "a retry runs delay_before_retry after the failed attempt")
        #expect(!r.desiredChanged)
        #expect(r.events.map(\.kind) == [.retrying])
        #expect(r.events[0].message == "TCP_CHECK 198.18.1.12:80 connection refused (retry 1 of 1 in 1 s)")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1, rs3: 1])

        r = m.record(refused, for: c, at: .milliseconds(11_250))
        #expect(r.nextRun == .seconds(20), "after the retry round the checker returns to its grid")
        #expect(r.desiredChanged)
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown])
        #expect(r.events[0].message == "TCP_CHECK 198.18.1.12:80 connection refused (after 1 retry)")
        #expect(r.events[1].message == "Removing service 198.18.1.12:80 from VS TCP 198.18.0.100:80")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs3: 1])

        // Down: failures are not retried and change nothing.
        r = m.record(refused, for: c, at: .milliseconds(20_100))
        #expect(r.nextRun == .seconds(30) && !r.desiredChanged && r.events.isEmpty)

        // One success brings it back.
        r = m.record(.success(), for: c, at: .milliseconds(30_050))
        #expect(r.desiredChanged && r.nextRun == .seconds(40))
        #expect(r.events.map(\.kind) == [.checkerUp, .realServerUp])
        #expect(r.events[1].message == "Adding service 198.18.1.12:80 to VS TCP 198.18.0.100:80")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1, rs3: 1])
    }

    @Test func threeRetriesNeedFourFailures() {
        var (m, _) = started(plan(timing(delay: 5, retry: 3, beforeRetry: .milliseconds(500))))
        let c = CheckerID(0)
        _ = m.record(.success(), for: c, at: .zero)
        var t: Duration = .seconds(5)
        var kinds: [[HealthEvent.Kind]] = []
        for _ in 0..<4 {
            let r = m.record(refused, for: c, at: t)
            kinds.append(r.events.map(\.kind))
            t = r.nextRun!
        }
        #expect(kinds == [[.retrying], [.retrying], [.retrying], [.checkerDown, .realServerDown]])
        #expect(t == .seconds(10))
        // A success between failures resets the count.
        var (m2, _) = started(plan(timing(delay: 5, retry: 1)))
        _ = m2.record(.success(), for: c, at: .zero)
        _ = m2.record(refused, for: c, at: .seconds(5))
        _ = m2.record(.success(), for: c, at: .seconds(6))
        let r = m2.record(refused, for: c, at: .seconds(10))
        #expect(r.events.map(\.kind) == [.retrying], "the success reset the retry count")
    }

    /// keepalived starts retry_it at `retry`: on the first run one failure is enough.
    @Test func firstFailureRemovesAtOnce() {
        var (m, _) = started(plan(timing(retry: 3)))
        let r = m.record(refused, for: CheckerID(2), at: .milliseconds(100))
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown])
        #expect(r.events[0].message == "TCP_CHECK 198.18.1.13:80 connection refused", "no 'after N retries' on the first run")
        #expect(r.nextRun == .seconds(10))
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1])
    }

    @Test func retryZeroRemovesOnFirstFailureWhileUp() {
        var (m, _) = started(plan(timing(retry: 0)))
        _ = m.record(.success(), for: CheckerID(0), at: .zero)
        let r = m.record(refused, for: CheckerID(0), at: .seconds(10))
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown])
    }

    /// alpha: servers start out of the pool and enter on their first success; a first failure
    /// only reports the state (notify_down), as update_svr_checker_state does.
    @Test func alphaStartsFailed() {
        let down = ScriptCommand(["/bin/true", "down"]), up = ScriptCommand(["/bin/true", "up"])
        var p = plan(timing(alpha: true))
        for i in p.services[0].realServers.indices {
            p.services[0].realServers[i].notifyDown = down
            p.services[0].realServers[i].notifyUp = up
        }
        var (m, report) = started(p)
        #expect(weights(m.desiredConfig(from: baseConfig())).isEmpty)
        #expect(!report.events.contains { $0.kind == .quorumGained }, "no live weight: quorum stays down")
        var r = m.record(.success(), for: CheckerID(0), at: .seconds(1))
        #expect(r.events.map(\.kind) == [.checkerUp, .realServerUp, .quorumGained])
        #expect(r.scripts.map(\.command) == [up])
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1])
        r = m.record(refused, for: CheckerID(1), at: .seconds(1))
        #expect(r.events.map(\.kind) == [.checkerDown])
        #expect(r.scripts.map(\.command) == [down], "alpha's first failure reports the server down")
        #expect(!r.desiredChanged)
    }

    /// inhibit_on_failure: a failed server stays with weight 0 (its connections continue).
    @Test func inhibitOnFailureKeepsWeightZero() {
        var (m, _) = started(plan(timing(retry: 0), inhibit: true))
        _ = m.record(.success(), for: CheckerID(1), at: .zero)
        let r = m.record(refused, for: CheckerID(1), at: .seconds(10))
        #expect(r.desiredChanged)
        #expect(r.events[1].message == "Disabling service 198.18.1.12:80 of VS TCP 198.18.0.100:80 (inhibit_on_failure: weight 0, connections continue)")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 0, rs3: 1])
        let back = m.record(.success(), for: CheckerID(1), at: .seconds(20))
        #expect(back.events.last?.message == "Enabling service 198.18.1.12:80 of VS TCP 198.18.0.100:80")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1, rs3: 1])
        // alpha + inhibit: in the table at weight 0 from the start.
        var (a, _) = started(plan(timing(alpha: true), inhibit: true))
        #expect(weights(a.desiredConfig(from: baseConfig())) == [rs1: 0, rs2: 0, rs3: 0])
        _ = a.record(.success(), for: CheckerID(2), at: .zero)
        #expect(weights(a.desiredConfig(from: baseConfig())) == [rs1: 0, rs2: 0, rs3: 1])
    }

    /// quorum 2, hysteresis 1: lost below 2 - 1 (or at 0), regained at 2 + 1; the sorry server
    /// holds the service in between and real servers coming back wait for quorum.
    @Test func quorumHysteresisAndSorryServer() {
        let sorry = SorryServer(endpoint: ep("198.18.9.9", 8080), method: .nat)
        let quorumUp = ScriptCommand(["/bin/true", "qup"]), quorumDown = ScriptCommand(["/bin/true", "qdown"])
        var (m, start) = started(plan(timing(retry: 0)) {
            $0.quorum = 2
            $0.hysteresis = 1
            $0.sorryServer = sorry
            $0.quorumUpScript = quorumUp
            $0.quorumDownScript = quorumDown
        })
        #expect(start.events.contains { $0.message == "Gained quorum 2+1=3 <= 3 for VS TCP 198.18.0.100:80" })
        #expect(start.scripts.map(\.command) == [quorumUp])
        for c in 0..<3 { _ = m.record(.success(), for: CheckerID(c), at: .zero) }

        var r = m.record(refused, for: CheckerID(0), at: .seconds(10))
        #expect(!r.events.contains { $0.kind == .quorumLost }, "live weight 2 >= 2 - 1")
        r = m.record(refused, for: CheckerID(1), at: .seconds(10))
        #expect(!r.events.contains { $0.kind == .quorumLost }, "live weight 1 is not below 2 - 1")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs3: 1])
        r = m.record(refused, for: CheckerID(2), at: .seconds(10))
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown, .quorumLost, .sorryServerIn])
        #expect(r.events[2].message == "Lost quorum 2-1=1 > 0 for VS TCP 198.18.0.100:80")
        #expect(r.scripts.map(\.command) == [quorumDown])
        var config = m.desiredConfig(from: baseConfig())
        #expect(weights(config) == [sorry.endpoint: 1])
        #expect(config.services[0].realServers[0].method == .nat)
        #expect(m.status[0].sorryServerActive && !m.status[0].quorumUp)

        // Two come back: live weight 2 < 2 + 1, the sorry server stays alone.
        r = m.record(.success(), for: CheckerID(0), at: .seconds(20))
        #expect(r.events.last?.message == "Adding service 198.18.1.11:80 to VS TCP 198.18.0.100:80 (the sorry server holds the service until quorum returns)")
        #expect(!r.desiredChanged)
        _ = m.record(.success(), for: CheckerID(1), at: .seconds(20))
        #expect(weights(m.desiredConfig(from: baseConfig())) == [sorry.endpoint: 1])
        // The third: 3 >= 3, quorum regained, the sorry server leaves.
        r = m.record(.success(), for: CheckerID(2), at: .seconds(20))
        #expect(r.events.map(\.kind) == [.checkerUp, .realServerUp, .quorumGained, .sorryServerOut])
        #expect(r.scripts.map(\.command) == [quorumUp])
        config = m.desiredConfig(from: baseConfig())
        #expect(weights(config) == [rs1: 1, rs2: 1, rs3: 1])
    }

    /// Without hysteresis, quorum 2 of weight 3 is lost when one live server is left.
    @Test func quorumWithoutHysteresis() {
        let sorry = SorryServer(endpoint: ep("198.18.9.9", 80), inhibit: true)
        var (m, _) = started(plan(timing(retry: 0)) {
            $0.quorum = 2
            $0.sorryServer = sorry
        })
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs1: 1, rs2: 1, rs3: 1, sorry.endpoint: 0],
                "sorry_server_inhibit keeps the sorry server at weight 0 while unused")
        for c in 0..<3 { _ = m.record(.success(), for: CheckerID(c), at: .zero) }
        _ = m.record(refused, for: CheckerID(0), at: .seconds(10))
        #expect(m.status[0].quorumUp)
        let r = m.record(refused, for: CheckerID(1), at: .seconds(10))
        #expect(r.events.contains { $0.message == "Lost quorum 2-0=2 > 1 for VS TCP 198.18.0.100:80" })
        #expect(weights(m.desiredConfig(from: baseConfig())) == [sorry.endpoint: 1],
                "while the sorry server holds the service the alive server is out too")
    }

    /// MISC_CHECK misc_dynamic: exit 2...255 sets weight exit - 2; exit 0 restores the
    /// configured weight; a failure gives the contribution back and removes the server.
    @Test func miscDynamicWeights() {
        var p = HealthPlan(base: baseConfig(weights: [5, 1, 1]))
        let misc = CheckerConfig(target: CheckTarget(service: vip, realServer: rs1),
                                 spec: .misc(MiscCheckConfig(command: ["/bin/true"], dynamic: true)),
                                 timing: timing(retry: 0))
        try! p.addChecker(misc)
        var (m, _) = started(p)
        let base = baseConfig(weights: [5, 1, 1])
        var r = m.record(.success(weight: 3), for: CheckerID(0), at: .zero) // exit 5
        #expect(r.events.map(\.message) == ["Changing weight from 5 to 3 for active service 198.18.1.11:80 of VS TCP 198.18.0.100:80"])
        #expect(r.desiredChanged)
        #expect(weights(m.desiredConfig(from: base)) == [rs1: 3, rs2: 1, rs3: 1])
        r = m.record(.success(weight: 3), for: CheckerID(0), at: .seconds(10))
        #expect(r.events.isEmpty && !r.desiredChanged, "the same exit status changes nothing")
        r = m.record(.success(weight: 0), for: CheckerID(0), at: .seconds(20)) // exit 2: up at weight 0
        #expect(weights(m.desiredConfig(from: base)) == [rs1: 0, rs2: 1, rs3: 1])
        #expect(m.status[0].realServers[0].alive)
        r = m.record(.success(), for: CheckerID(0), at: .seconds(30)) // exit 0
        #expect(weights(m.desiredConfig(from: base)) == [rs1: 5, rs2: 1, rs3: 1])
        _ = m.record(.success(weight: 10), for: CheckerID(0), at: .seconds(40))
        r = m.record(.failure(CheckFailure("exited with status 1", subject: "/bin/true")), for: CheckerID(0), at: .seconds(50))
        #expect(r.events.first?.message == "MISC_CHECK 198.18.1.11:80 /bin/true: exited with status 1")
        #expect(weights(m.desiredConfig(from: base)) == [rs2: 1, rs3: 1])
        #expect(m.status[0].realServers[0].effectiveWeight == 5, "the failed dynamic checker gave its contribution back")
        r = m.record(.success(weight: 7), for: CheckerID(0), at: .seconds(60))
        #expect(weights(m.desiredConfig(from: base)) == [rs1: 7, rs2: 1, rs3: 1])
    }

    /// A weight change can cost quorum: live weight is what counts.
    @Test func dynamicWeightCanLoseQuorum() {
        var p = HealthPlan(base: baseConfig([rs1]))
        p.services[0].quorum = 1
        p.services[0].sorryServer = SorryServer(endpoint: ep("198.18.9.9", 80))
        try! p.addChecker(CheckerConfig(target: CheckTarget(service: vip, realServer: rs1),
                                        spec: .misc(MiscCheckConfig(command: ["/bin/true"], dynamic: true)), timing: timing()))
        var (m, _) = started(p)
        let r = m.record(.success(weight: 0), for: CheckerID(0), at: .zero)
        #expect(r.events.map(\.kind) == [.weightChanged, .quorumLost, .sorryServerIn])
        #expect(weights(m.desiredConfig(from: baseConfig([rs1]))) == [ep("198.18.9.9", 80): 1])
    }

    /// A server with two checkers is alive only while both are up.
    @Test func everyCheckerMustBeUp() {
        var p = HealthPlan(base: baseConfig())
        try! p.addChecker(tcpChecker(rs1, timing(retry: 0)))
        try! p.addChecker(CheckerConfig(target: CheckTarget(service: vip, realServer: rs1, connectPort: 8080), spec: .tcp,
                                        timing: timing(retry: 0)))
        var (m, _) = started(p)
        for c in 0..<2 { _ = m.record(.success(), for: CheckerID(c), at: .zero) }
        var r = m.record(refused, for: CheckerID(0), at: .seconds(10))
        #expect(r.events.map(\.kind) == [.checkerDown, .realServerDown])
        r = m.record(refused, for: CheckerID(1), at: .seconds(10))
        #expect(r.events.map(\.kind) == [.checkerDown])
        #expect(r.events[0].message == "TCP_CHECK 198.18.1.11:80 via 198.18.1.11:8080 connection refused")
        r = m.record(.success(), for: CheckerID(0), at: .seconds(20))
        #expect(r.events.map(\.kind) == [.checkerUp], "the other checker still fails")
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs2: 1, rs3: 1])
        r = m.record(.success(), for: CheckerID(1), at: .seconds(20))
        #expect(r.events.map(\.kind) == [.checkerUp, .realServerUp])
    }

    @Test func notifyScriptsFollowTransitions() {
        let up = ScriptCommand(["/usr/local/bin/up", "198.18.1.11"]), down = ScriptCommand(["/usr/local/bin/down"])
        var p = plan(timing(retry: 0))
        p.services[0].realServers[0].notifyUp = up
        p.services[0].realServers[0].notifyDown = down
        var (m, start) = started(p)
        #expect(start.scripts.isEmpty, "keepalived does not notify the initial state (rs_init_notifies off)")
        _ = m.record(.success(), for: CheckerID(0), at: .zero)
        var r = m.record(refused, for: CheckerID(0), at: .seconds(10))
        #expect(r.scripts == [ScriptRequest(down, reason: "notify_down for 198.18.1.11:80 of VS TCP 198.18.0.100:80")])
        r = m.record(.success(), for: CheckerID(0), at: .seconds(20))
        #expect(r.scripts == [ScriptRequest(up, reason: "notify_up for 198.18.1.11:80 of VS TCP 198.18.0.100:80")])
        // omega: shutdown runs the down notifications.
        var omega = p
        omega.services[0].omega = true
        omega.services[0].quorumDownScript = ScriptCommand(["/bin/qdown"])
        var (o, _) = started(omega)
        let stop = o.shutdown()
        #expect(stop.scripts.map(\.command) == [down, ScriptCommand(["/bin/qdown"])])
        var (plain, _) = started(p)
        #expect(plain.shutdown().scripts.isEmpty, "without omega nothing runs at shutdown")
    }

    /// HTTP failure lines carry the url path and the reason.
    @Test func failureLinesNameTheReason() {
        var p = HealthPlan(base: baseConfig())
        let http = HTTPGetConfig(urls: [HTTPURLCheck(path: "/")])
        try! p.addChecker(CheckerConfig(target: CheckTarget(service: vip, realServer: rs2), spec: .httpGet(http), timing: timing()))
        var (m, _) = started(p)
        _ = m.record(.success(), for: CheckerID(0), at: .zero)
        let failure = CheckOutcome.failure(CheckFailure("status 503, expected 200-299", subject: "/"))
        _ = m.record(failure, for: CheckerID(0), at: .seconds(10))
        let r = m.record(failure, for: CheckerID(0), at: .seconds(11))
        #expect(r.events.first?.message == "HTTP_GET 198.18.1.12:80 /: status 503, expected 200-299 (after 1 retry)")
        #expect(m.status[0].realServers[1].checkers[0].lastFailure?.reason == "status 503, expected 200-299")
    }

    /// keepalived's configuration fix-ups.
    @Test func quorumAndHysteresisAreNormalized() {
        var p = plan()
        p.services[0].quorum = 10
        p.services[0].hysteresis = 7
        let (n, warnings) = p.normalized()
        #expect(n.services[0].quorum == 3)
        #expect(n.services[0].hysteresis == 2)
        #expect(warnings == ["quorum 10 for VS TCP 198.18.0.100:80 exceeds the total weight of its real servers 3, reducing quorum to 3",
                             "VS TCP 198.18.0.100:80: hysteresis 7 >= quorum 3; setting hysteresis to 2"])
    }

    /// Services and real servers the plan does not manage pass through untouched.
    @Test func unmanagedServersPassThrough() {
        var base = baseConfig()
        base.services[0].realServers.append(RealServerConfig(address: ip("198.18.1.99"), port: 80, weight: 4, method: .directRouting))
        let other = ServiceKey(.udp, ip("198.18.0.101"), 53)
        base.services.append(VirtualServiceConfig(key: other, realServers: [RealServerConfig(address: ip("198.18.2.1"), port: 53)]))
        var (m, _) = started(plan(timing(retry: 0)))
        _ = m.record(refused, for: CheckerID(0), at: .zero)
        let out = m.desiredConfig(from: base)
        #expect(weights(out) == [rs2: 1, rs3: 1, ep("198.18.1.99", 80): 4])
        #expect(out.services[1] == base.services[1])
        #expect(out.services[0].realServers.last?.method == .directRouting)
    }

    /// A sorry server that is also a real server keeps one table entry.
    @Test func sorryServerThatIsARealServer() {
        var (m, _) = started(plan(timing(retry: 0)) { $0.sorryServer = SorryServer(endpoint: rs3) })
        _ = m.record(refused, for: CheckerID(0), at: .zero)
        _ = m.record(refused, for: CheckerID(1), at: .zero)
        _ = m.record(refused, for: CheckerID(2), at: .zero)
        #expect(weights(m.desiredConfig(from: baseConfig())) == [rs3: 1])
        #expect(m.desiredConfig(from: baseConfig()).services[0].realServers.count == 1)
    }

    /// The plan rejects a checker for a server that is not configured.
    @Test func checkerForUnknownServerIsAnError() {
        var p = HealthPlan(base: baseConfig())
        #expect(throws: HealthConfigError.self) { try p.addChecker(tcpChecker(ep("198.18.7.7", 80))) }
        var bad = plan()
        bad.services[0].realServers[0].checkers[0].timing.delayLoop = .zero
        #expect(bad.problems == ["TCP_CHECK 198.18.1.11:80: delay_loop must be positive (keepalived's minimum is 1 µs)"])
    }

    /// Warmup spreads first runs over [0, warmup], deterministically per seed.
    @Test func warmupSpreadsFirstRuns() {
        var t = timing(delay: 60)
        t.warmup = nil // defaults to delay_loop
        var p = HealthPlan(base: baseConfig())
        for _ in 0..<50 { try! p.addChecker(tcpChecker(rs1, t)) }
        let a = HealthModel(plan: p, start: .seconds(100), seed: 7), b = HealthModel(plan: p, start: .seconds(100), seed: 7)
        let runs = (0..<50).map { a.firstRun(of: CheckerID($0)) }
        #expect(runs == (0..<50).map { b.firstRun(of: CheckerID($0)) })
        #expect(runs.allSatisfy { $0 >= .seconds(100) && $0 < .seconds(160) })
        #expect(Set(runs).count == 50)
        #expect(runs.min()! < .seconds(115) && runs.max()! > .seconds(145), "spread over the minute: \(runs.min()!) ... \(runs.max()!)")
    }
}
