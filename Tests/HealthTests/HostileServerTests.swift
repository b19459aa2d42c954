import Core
import Foundation
import Health
import Synchronization
import Testing
import Wire

/// Issue 12, "hostile real servers": whatever a real server answers, the check ends within its
/// deadline with a sentence, lvsd does not trap, and the other checks keep their schedule.
/// Servers run in the test process on 127.0.0.1: no namespace, no root.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HostileServerTests {
    static let timeout: Duration = .milliseconds(800)

    func http(_ port: UInt16, digest: MD5Digest? = nil, tls: Bool = false, timeout: Duration = HostileServerTests.timeout,
              delay: Duration = .seconds(60)) -> CheckerConfig {
        let urls = HTTPGetConfig(urls: [HTTPURLCheck(path: "/", digest: digest)])
        let timing = CheckerTiming(delayLoop: delay, connectTimeout: timeout, retry: 0, delayBeforeRetry: .milliseconds(100),
                                   warmup: .zero)
        return CheckerConfig(target: CheckTarget(service: vip, realServer: ep("127.0.0.1", port)),
                             spec: tls ? .sslGet(urls, TLSOptions()) : .httpGet(urls), timing: timing)
    }

    /// Runs one check against `behaviour`; the failure reason and how long it took.
    func check(_ behaviour: HostileServer.Behaviour, digest: MD5Digest? = nil, tls: Bool = false) throws -> (reason: String?, seconds: Double) {
        let server = try HostileServer(behaviour)
        defer { server.stop() }
        let start = Date()
        let outcome = ProbeDriver.run(http(server.port, digest: digest, tls: tls).makeChecker().makeProbe())
        let elapsed = Date().timeIntervalSince(start)
        if case .failure(let f) = outcome { return (f.reason, elapsed) }
        return (nil, elapsed)
    }

    /// The hostile servers stream forever: a check whose deadline failed would never end, so
    /// "ended well within this" separates right from wrong without betting on the machine's load.
    var hangBound: Double { deadline + 10 }

    var deadline: Double { Double(HostileServerTests.timeout.components.seconds) + Double(HostileServerTests.timeout.components.attoseconds) / 1e18 }

    @Test func healthyServerPasses() throws {
        let r = try check(.healthy, digest: MD5Digest.of(Array("ok".utf8)))
        #expect(r.reason == nil)
    }

    /// Before the fix `+ digit` overflowed and trapped the whole daemon.
    @Test func hugeContentLengthIsAFailedCheck() throws {
        let r = try check(.hugeContentLength, digest: MD5Digest.of(Array("abc".utf8)))
        #expect(r.reason == "malformed response: Content-Length 9223372036854775808 is too large for any body")
        #expect(r.seconds < hangBound)
    }

    @Test func malformedStatusLineFails() throws {
        let r = try check(.malformedStatusLine)
        #expect(r.reason == "status 0, expected 200-299")
    }

    /// keepalived re-arms connect_timeout for every read: these never ended before.
    @Test func oneByteAtATimeEndsAtTheDeadline() throws {
        let r = try check(.oneBytePerInterval)
        #expect(r.reason == "timed out after 800 ms waiting for the rest of the body (3 bytes read)"
                || r.reason == "timed out after 800 ms waiting for the rest of the body (4 bytes read)",
                "\(r.reason ?? "passed")")
        #expect(r.seconds >= deadline - 0.05 && r.seconds < hangBound, "\(r.seconds) s")
    }

    @Test func endlessHeadersEndAtTheDeadline() throws {
        let r = try check(.endlessHeaders)
        #expect(r.reason == "timed out after 800 ms waiting for the response")
        #expect(r.seconds < hangBound)
    }

    /// An endless fast body hits the read cap (16 MiB) or the deadline, whichever comes first.
    @Test(arguments: [false, true])
    func endlessBodyIsCapped(_ digest: Bool) throws {
        let r = try check(.endlessBody, digest: digest ? MD5Digest.of(Array("ok".utf8)) : nil)
        let capped = r.reason == "the body is longer than \(HTTPResponseReader.maximumBodyLength) bytes, the most a check reads"
        let late = r.reason?.hasPrefix("timed out after 800 ms waiting for the rest of the body") == true
        #expect(capped || late, "\(r.reason ?? "passed")")
        #expect(r.seconds < hangBound)
    }

    @Test func tlsGarbageFailsTheHandshake() throws {
        let r = try check(.tlsGarbage, tls: true)
        #expect(r.reason?.hasPrefix("TLS handshake failed") == true, "\(r.reason ?? "passed")")
        #expect(r.seconds < hangBound)
    }

    /// The runner's view: a hostile server's checks end within their deadline while a healthy
    /// server's checks, every 200 ms on the same thread, start on time.
    @Test(arguments: ["endless body", "one byte at a time", "endless headers"])
    func otherChecksKeepTheirSchedule(_ name: String) throws {
        let behaviour: HostileServer.Behaviour = switch name {
        case "endless body": .endlessBody
        case "endless headers": .endlessHeaders
        default: .oneBytePerInterval
        }
        let hostile = try HostileServer(behaviour)
        let healthy = try HostileServer(.healthy)
        defer { hostile.stop(); healthy.stop() }
        let bad = ep("127.0.0.1", hostile.port), good = ep("127.0.0.1", healthy.port)
        let plan = HealthPlan(services: [ServiceHealthPlan(key: vip, realServers: [
            RealServerHealthPlan(endpoint: bad, weight: 1, checkers: [http(hostile.port, delay: .seconds(1))]),
            RealServerHealthPlan(endpoint: good, weight: 1, checkers: [http(healthy.port, delay: .milliseconds(200))]),
        ])])
        let runs = Mutex<[HealthRunner.CheckRun]>([])
        let runner = try HealthRunner(plan: plan, base: baseConfig([bad, good]),
                                      options: HealthRunner.Options(seed: 1, checkObserver: { run in runs.withLock { $0.append(run) } })) { _ in }
        try runner.start()
        Thread.sleep(forTimeInterval: 2.5)
        runner.stop()
        let all = runs.withLock { $0 }
        let badRuns = all.filter { $0.checker == CheckerID(0) }, goodRuns = all.filter { $0.checker == CheckerID(1) }
        #expect(!badRuns.isEmpty, "\(name): the hostile check never finished")
        for run in badRuns {
            #expect(run.outcome != .success(), "\(name)")
            #expect(run.finished - run.started < HostileServerTests.timeout + .milliseconds(300), "\(name): \(run.finished - run.started)")
        }
        // 2.5 s at 200 ms: about 12 runs; the healthy checks must neither stall nor start late.
        #expect(goodRuns.count >= 9, "\(name): \(goodRuns.count) healthy checks")
        for run in goodRuns {
            #expect(run.outcome == .success())
            // Blocked behind the hostile check it would start its whole deadline (800 ms) late;
            // the bound leaves room for a loaded machine without letting that through.
            #expect(run.started - run.due < .milliseconds(400), "\(name): started \(run.started - run.due) late")
        }
    }
}
