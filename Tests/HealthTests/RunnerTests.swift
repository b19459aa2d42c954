import Core
import Foundation
import Health
import Synchronization
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Collects what a runner reports.
final class Recorder: Sendable {
    private let updates = Mutex<[HealthRunner.Update]>([])
    private let runs = Mutex<[HealthRunner.CheckRun]>([])

    func record(_ u: HealthRunner.Update) { updates.withLock { $0.append(u) } }
    func record(_ r: HealthRunner.CheckRun) { runs.withLock { $0.append(r) } }
    var all: [HealthRunner.Update] { updates.withLock { $0 } }
    var checkRuns: [HealthRunner.CheckRun] { runs.withLock { $0 } }

    /// The first event of `kind` for `server` in `service` at or after `since`.
    func event(_ kind: HealthEvent.Kind, _ service: ServiceKey, _ server: Endpoint, since: Duration) -> (Duration, HealthEvent)? {
        for u in all where u.time >= since {
            if let e = u.events.first(where: { $0.kind == kind && $0.service == service && $0.realServer == server }) { return (u.time, e) }
        }
        return nil
    }

    var lastDesired: DirectorConfig? { all.last(where: { $0.desired != nil })?.desired }
}

/// The runner: real checks on its own thread in the checker namespace, transitions and
/// desired configs through the callback, timing measured.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct RunnerTests {
    static let tcpService = ServiceKey(.tcp, ip("198.18.0.100"), 80)
    static let httpService = ServiceKey(.tcp, ip("198.18.0.101"), 80)

    @Test func planErrorsAreSentences() throws {
        var plan = HealthPlan(base: baseConfig())
        try plan.addChecker(tcpChecker(rs1))
        #expect(throws: HealthConfigError.self) {
            _ = try HealthRunner(plan: plan, base: baseConfig([rs2, rs3])) { _ in }
        }
        do {
            _ = try HealthRunner(plan: plan, base: baseConfig([rs2, rs3])) { _ in }
        } catch {
            #expect(error.message == "real server 198.18.1.11:80 of VS TCP 198.18.0.100:80 has health checks but is not in the configuration")
        }
        let runner = try HealthRunner(plan: plan, base: baseConfig(),
                                      options: HealthRunner.Options(threadSetup: { throw LabFailure(description: "no such namespace") })) { _ in }
        #expect(throws: HealthConfigError.self) { try runner.start() }
        #expect(!runner.isRunning)
        // What lvsd checks before it swaps a reload in: the same sentence, nothing started.
        #expect(throws: HealthConfigError("real server 198.18.1.11:80 of VS TCP 198.18.0.100:80 has health checks but is not in the configuration")) {
            try HealthRunner.validate(plan: plan, base: baseConfig([rs2, rs3]))
        }
        // A server lvsadm removed loses its checks; the others keep theirs (the whole plan used
        // to be refused, leaving every server unchecked).
        try plan.addChecker(tcpChecker(rs2))
        let limited = plan.limited(to: baseConfig([rs2, rs3]))
        #expect(limited.services[0].realServers.map(\.endpoint) == [rs2, rs3] && limited.checkers.map(\.target.realServer) == [rs2])
        try HealthRunner.validate(plan: limited, base: baseConfig([rs2, rs3]))
        #expect(plan.limited(to: DirectorConfig(services: [])).services.isEmpty)
    }

    /// Kill one of two real servers (TCP_CHECK and HTTP_GET on both): it leaves the desired
    /// table of both services within delay_loop + connect_timeout × (retry + 1) + retry ×
    /// delay_before_retry, the other server stays; restart it: it is back within one
    /// delay_loop. Then hang it (SIGSTOP): TCP still connects, HTTP_GET times out. Three rounds
    /// each, times printed.
    @Test(.enabled(if: isRoot, "runner tests build network namespaces and need root (CI runs as root)"))
    func detectionAndRecoveryTimes() throws {
        let lab = try CheckerLab("r")
        defer { lab.tearDown() }
        let page = "runner page\n"
        _ = try lab.write(page, to: "index.html")
        try lab.startHTTP("victim", port: 8080, root: lab.directory)
        try lab.startHTTP("steady", port: 8090, root: lab.directory)
        let victim = ep(CheckerLab.serverAddress, 8080), steady = ep(CheckerLab.serverAddress, 8090)

        let delayLoop: Duration = .seconds(1), connectTimeout: Duration = .seconds(1), beforeRetry: Duration = .milliseconds(500)
        let timing = CheckerTiming(delayLoop: delayLoop, connectTimeout: connectTimeout, retry: 1, delayBeforeRetry: beforeRetry)
        var base = DirectorConfig()
        for key in [Self.tcpService, Self.httpService] {
            base.services.append(VirtualServiceConfig(key: key, scheduler: .roundRobin, realServers: [
                RealServerConfig(address: victim.address, port: victim.port, weight: 1, method: .nat),
                RealServerConfig(address: steady.address, port: steady.port, weight: 2, method: .nat)]))
        }
        var plan = HealthPlan(base: base)
        let digest = MD5Digest.of(Array(page.utf8))!
        for server in [victim, steady] {
            try plan.addChecker(CheckerConfig(target: CheckTarget(service: Self.tcpService, realServer: server), spec: .tcp, timing: timing))
            try plan.addChecker(CheckerConfig(target: CheckTarget(service: Self.httpService, realServer: server),
                                              spec: .httpGet(HTTPGetConfig(urls: [HTTPURLCheck(path: "/index.html", digest: digest)])),
                                              timing: timing))
        }
        let marker = lab.directory.appendingPathComponent("down-marker")
        plan.services[0].realServers[0].notifyDown = ScriptCommand(["/bin/sh", "-c", "echo down >> \(marker.path)"])
        plan.services[1].realServers[0].notifyUp = ScriptCommand(["/bin/sh", "-c", "sleep 30"])

        let recorder = Recorder()
        let runner = try HealthRunner(plan: plan, base: base,
                                      options: HealthRunner.Options(notifyTimeout: .seconds(1), threadSetup: lab.enterChecker)) {
            recorder.record($0)
        }
        try runner.start()
        defer { runner.stop() }
        try lab.waitUntil("the runner reports its first desired table") { recorder.lastDesired != nil }
        #expect(recorder.lastDesired.map { weights($0) } == [victim: 1, steady: 2])
        try lab.waitUntil("every checker ran once") {
            runner.status().allSatisfy { $0.realServers.allSatisfy { $0.alive && $0.checkers.allSatisfy { $0.hasRun } } }
        }

        func desiredWeights(_ service: ServiceKey) -> [Endpoint: Int32] {
            let config = recorder.lastDesired ?? base
            let s = config.services.first { $0.key == service }!
            return Dictionary(uniqueKeysWithValues: s.realServers.map { ($0.endpoint, $0.weight) })
        }
        let downBound = delayLoop + connectTimeout * 2 + beforeRetry + .milliseconds(750)
        let upBound = delayLoop + .milliseconds(500)
        var measured: [String: [Duration]] = [:]

        for round in 0..<3 {
            // Killed: connections are refused at once.
            var t0 = runner.clock.now
            lab.stop("victim")
            for service in [Self.tcpService, Self.httpService] {
                try lab.waitUntil("round \(round): \(victim) leaves \(service)", seconds: 8) {
                    recorder.event(.realServerDown, service, victim, since: t0) != nil
                }
                let (at, _) = recorder.event(.realServerDown, service, victim, since: t0)!
                measured["\(service == Self.tcpService ? "TCP_CHECK" : "HTTP_GET") killed: detection", default: []].append(at - t0)
                #expect(at - t0 <= downBound, "detection \(at - t0) > \(downBound)")
            }
            #expect(desiredWeights(Self.tcpService) == [steady: 2])
            #expect(desiredWeights(Self.httpService) == [steady: 2])

            // Recovery counts from the moment the restarted server listens (python needs a
            // moment to start; a check may even catch it before the "ready" line is read).
            let restart = runner.clock.now
            try lab.startHTTP("victim", port: 8080, root: lab.directory)
            let listening = runner.clock.now
            for service in [Self.tcpService, Self.httpService] {
                try lab.waitUntil("round \(round): \(victim) returns to \(service)", seconds: 8) {
                    recorder.event(.realServerUp, service, victim, since: restart) != nil
                }
                let (at, _) = recorder.event(.realServerUp, service, victim, since: restart)!
                let recovery = max(.zero, at - listening)
                measured["\(service == Self.tcpService ? "TCP_CHECK" : "HTTP_GET") restarted (listening): recovery", default: []].append(recovery)
                #expect(recovery <= upBound, "recovery \(recovery) > \(upBound)")
            }
            #expect(desiredWeights(Self.tcpService) == [victim: 1, steady: 2])
            #expect(desiredWeights(Self.httpService) == [victim: 1, steady: 2])

            // Hung: the kernel still completes the handshake, the HTTP response never comes.
            t0 = runner.clock.now
            lab.signal("victim", SIGSTOP)
            try lab.waitUntil("round \(round): hung \(victim) leaves the HTTP service", seconds: 8) {
                recorder.event(.realServerDown, Self.httpService, victim, since: t0) != nil
            }
            let (hungAt, hungEvent) = recorder.event(.realServerDown, Self.httpService, victim, since: t0)!
            measured["HTTP_GET hung: detection", default: []].append(hungAt - t0)
            #expect(hungAt - t0 <= downBound, "detection \(hungAt - t0) > \(downBound)")
            let reasons = recorder.all.filter { $0.time >= t0 }.flatMap(\.events).filter { $0.kind == .checkerDown && $0.realServer == victim }
            #expect(reasons.contains { $0.message == "HTTP_GET 198.18.60.2:8080 /index.html: timed out after 1 s waiting for the response (after 1 retry)" },
                    "\(reasons.map(\.message)) / \(hungEvent)")
            #expect(recorder.event(.realServerDown, Self.tcpService, victim, since: t0) == nil, "TCP_CHECK still connects to a hung server")
            let t2 = runner.clock.now
            lab.signal("victim", SIGCONT)
            try lab.waitUntil("round \(round): \(victim) answers again", seconds: 8) {
                recorder.event(.realServerUp, Self.httpService, victim, since: t2) != nil
            }
            let (backAt, _) = recorder.event(.realServerUp, Self.httpService, victim, since: t2)!
            measured["HTTP_GET resumed: recovery", default: []].append(backAt - t2)
        }

        // notify_down ran for every kill; the hanging notify_up was killed after 1 s.
        let downs = (try? String(contentsOf: marker, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(downs == 3, "notify_down ran \(downs) times")
        let scriptLines = recorder.all.flatMap(\.scripts)
        #expect(scriptLines.contains("notify_up for 198.18.60.2:8080 of VS TCP 198.18.0.101:80: timed out after 1 s"), "\(scriptLines)")
        #expect(scriptLines.contains("notify_down for 198.18.60.2:8080 of VS TCP 198.18.0.100:80: exited with status 0"), "\(scriptLines)")
        // The steady server never left.
        #expect(recorder.all.flatMap(\.events).allSatisfy { !($0.realServer == steady && $0.kind == .realServerDown) })

        var lines = ["RunnerTests: delay_loop 1 s, connect_timeout 1 s, retry 1, delay_before_retry 500 ms (bounds: down \(downBound), up \(upBound))"]
        for (name, values) in measured.sorted(by: { $0.key < $1.key }) {
            let ms = values.map { CheckSchedule.nanoseconds($0) / 1_000_000 }
            lines.append("  \(name): \(ms.map { "\($0) ms" }.joined(separator: ", ")) (max \(ms.max()!) ms)")
        }
        print(lines.joined(separator: "\n"))
    }

    /// 200 checkers (1 s delay_loop, spread over a 1 s warmup) against one server for ~5.5 s:
    /// every run is due exactly on its checker's grid (no drift), and starts within a few
    /// milliseconds of it.
    @Test(.enabled(if: isRoot, "runner tests build network namespaces and need root (CI runs as root)"))
    func hundredsOfChecksWithoutDrift() throws {
        let lab = try CheckerLab("d")
        defer { lab.tearDown() }
        try lab.startHTTP("steady", port: 8090, root: lab.directory)
        let count = 200
        let servers = (0..<count).map { ep("198.18.61.\($0 % 250 + 1)", UInt16(1000 + $0)) }
        let base = baseConfig(servers)
        var plan = HealthPlan(base: base)
        let timing = CheckerTiming(delayLoop: .seconds(1), connectTimeout: .seconds(1), retry: 1, delayBeforeRetry: .milliseconds(500),
                                   warmup: .seconds(1))
        for server in servers {
            try plan.addChecker(CheckerConfig(target: CheckTarget(service: vip, realServer: server,
                                                                  connectAddress: ip(CheckerLab.serverAddress), connectPort: 8090),
                                              spec: .tcp, timing: timing))
        }
        let recorder = Recorder()
        let runner = try HealthRunner(plan: plan, base: base,
                                      options: HealthRunner.Options(seed: 42, threadSetup: lab.enterChecker,
                                                                    checkObserver: { recorder.record($0) })) { recorder.record($0) }
        try runner.start()
        usleep(5_500_000)
        let alive = runner.status()[0].realServers.filter { $0.alive }.count
        runner.stop()
        #expect(runner.status()[0].realServers.allSatisfy { !$0.alive }, "stopped: shutdown takes every server out")

        let runs = recorder.checkRuns
        var byChecker: [Int: [HealthRunner.CheckRun]] = [:]
        for r in runs { byChecker[r.checker.index, default: []].append(r) }
        #expect(byChecker.count == count)
        var maxGridError: Int64 = 0
        var lateness: [Int64] = []
        var failures = 0
        for (_, list) in byChecker {
            let sorted = list.sorted { $0.due < $1.due }
            #expect(sorted.count >= 4 && sorted.count <= 6, "\(sorted.count) runs in 5.5 s at 1 s")
            let anchor = sorted[0].due
            for (k, r) in sorted.enumerated() {
                let error = abs(CheckSchedule.nanoseconds(r.due - anchor - .seconds(k)))
                maxGridError = max(maxGridError, error)
                lateness.append(CheckSchedule.nanoseconds(r.started - r.due))
                if !r.outcome.isSuccess { failures += 1 }
            }
        }
        lateness.sort()
        let p50 = lateness[lateness.count / 2], p99 = lateness[lateness.count * 99 / 100], worst = lateness.last!
        let firsts = byChecker.values.map { $0.map(\.due).min()! }
        let spread = CheckSchedule.nanoseconds(firsts.max()! - firsts.min()!)
        print("RunnerTests: \(count) TCP_CHECKs, \(runs.count) checks in 5.5 s, grid error max \(maxGridError) ns, start lateness p50 \(p50 / 1000) µs, p99 \(p99 / 1000) µs, max \(worst / 1000) µs, first runs spread over \(spread / 1_000_000) ms, \(failures) failed")
        #expect(maxGridError == 0, "every run is due on anchor + k × delay_loop")
        #expect(p99 < 50_000_000, "p99 lateness \(p99) ns")
        #expect(spread > 800_000_000, "warmup spreads first runs over the second")
        #expect(failures == 0)
        #expect(alive == count)
    }
}
