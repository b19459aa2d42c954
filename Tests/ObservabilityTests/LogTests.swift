import Foundation
import Logging
@testable import Observability
import Synchronization
import Testing

/// lvsd's log output: the line formats, journald detection, and the rate limiter with a
/// hand-driven clock.
@Suite struct LogTests {
    static let second: UInt64 = 1_000_000_000

    // MARK: LogRateLimiter

    @Test func limiterAdmitsABurstThenCountsAndReportsWhenTheWindowCloses() {
        var limiter = LogRateLimiter<String>(burst: 3, interval: 10 * Self.second)
        var admitted = 0
        for k in 0..<8 {
            let (write, closed) = limiter.admit("a", now: UInt64(k) * Self.second)
            if write { admitted += 1 }
            #expect(closed.isEmpty)
        }
        #expect(admitted == 3)
        // Still inside the window (started at 0): nothing to report yet.
        #expect(limiter.close(now: 9 * Self.second).isEmpty)
        // The window closes at 10 s: five held back, and "a" starts afresh.
        let (write, closed) = limiter.admit("a", now: 10 * Self.second)
        #expect(write)
        #expect(closed.count == 1 && closed.first?.key == "a" && closed.first?.suppressed == 5)
        #expect(limiter.tracked == 1)
    }

    @Test func limiterKeepsKeysApartAndReportsOnAnyKeysLine() {
        var limiter = LogRateLimiter<String>(burst: 1, interval: 5 * Self.second)
        #expect(limiter.admit("a", now: 0).write)
        #expect(!limiter.admit("a", now: 1).write)
        #expect(!limiter.admit("a", now: 2).write)
        #expect(limiter.admit("b", now: 3).write)
        // Another key's line after a's window closed carries a's count.
        let (write, closed) = limiter.admit("b", now: 6 * Self.second)
        #expect(write)
        #expect(closed.map(\.key) == ["a"] && closed.map(\.suppressed) == [2])
        // A window with nothing held back closes silently.
        #expect(limiter.close(now: 20 * Self.second).isEmpty)
        #expect(limiter.tracked == 0)
    }

    @Test func limiterLetsKeysBeyondItsCapacityThrough() {
        var limiter = LogRateLimiter<Int>(burst: 1, interval: Self.second, capacity: 2)
        #expect(limiter.admit(1, now: 0).write)
        #expect(limiter.admit(2, now: 0).write)
        #expect(limiter.admit(3, now: 0).write)
        #expect(limiter.admit(3, now: 0).write, "untracked keys are never held back")
        #expect(!limiter.admit(1, now: 0).write)
        #expect(limiter.tracked == 2)
    }

    @Test func limiterSurvivesTheClocksEdges() {
        var limiter = LogRateLimiter<Int>(burst: 1, interval: UInt64.max)
        #expect(limiter.admit(1, now: UInt64.max - 1).write)
        #expect(!limiter.admit(1, now: UInt64.max).write)
        #expect(limiter.close(now: UInt64.max).isEmpty)
    }

    // MARK: LogFormat

    @Test func formatsPlainFieldsAndJournal() {
        let metadata: Logger.Metadata = ["service": "TCP 198.18.0.10:80", "real_server": "198.18.1.3:8080",
                                         "reason": "HTTP status 503 \"Service Unavailable\"", "count": "3"]
        let message = "lvsd: health: Removing service 198.18.1.3:8080 from VS TCP 198.18.0.10:80"
        #expect(LogFormat.plain.line(level: .notice, message: message, metadata: metadata) == message)
        let fields = message + #" count=3 real_server=198.18.1.3:8080 reason="HTTP status 503 \"Service Unavailable\"" service="TCP 198.18.0.10:80""#
        #expect(LogFormat.fields.line(level: .notice, message: message, metadata: metadata) == fields)
        #expect(LogFormat.journal.line(level: .notice, message: message, metadata: metadata) == "<5>" + fields)
    }

    @Test func journalPrioritiesFollowSyslog() {
        let expected: [(Logger.Level, String)] = [(.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"),
                                                  (.warning, "<4>"), (.error, "<3>"), (.critical, "<2>")]
        for (level, prefix) in expected {
            #expect(LogFormat.journal.line(level: level, message: "m", metadata: [:]) == prefix + "m")
        }
    }

    @Test func quotingKeepsOneEventOnOneLine() {
        #expect(LogFormat.quoted("plain") == "plain")
        #expect(LogFormat.quoted("") == #""""#)
        #expect(LogFormat.quoted("a=b") == #""a=b""#)
        #expect(LogFormat.quoted("two\nlines\t\u{1}") == #""two\nlines\t\u{1}""#)
        #expect(LogFormat.quoted(#"back\slash"#) == #""back\\slash""#)
        let nested: Logger.Metadata = ["list": ["a", "b"], "map": ["k": "v"]]
        #expect(LogFormat.fields.line(level: .info, message: "m", metadata: nested) == "m list=a,b map=k:v")
    }

    // MARK: JournalStream

    @Test func journalStreamMatchesTheDescriptorsDeviceAndInode() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lvsd-obs-journal-\(getpid())").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        #expect(JournalStream.isConnected(fd: fd, environment: "\(st.st_dev):\(st.st_ino)"))
        #expect(!JournalStream.isConnected(fd: fd, environment: "\(st.st_dev):\(st.st_ino &+ 1)"))
        #expect(!JournalStream.isConnected(fd: fd, environment: nil))
        for malformed in ["", ":", "1", "1:2:3", "x:1", "-1:5", "1:"] {
            #expect(!JournalStream.isConnected(fd: fd, environment: malformed), "\(malformed)")
        }
    }

    // MARK: LineLogHandler

    /// The handler through a Logger: levels from the call site, the logger's and the event's
    /// metadata merged, repeated warnings held back and counted, notices never.
    @Test func handlerWritesFieldsAndHoldsBackRepeatedWarnings() {
        let clock = Atomic<UInt64>(0)
        let lines = Mutex<[String]>([])
        var policy = LogOutput.Policy()
        policy.burst = 2
        policy.interval = 30 * Self.second
        let output = LogOutput(format: .journal, policy: policy, clock: { clock.load(ordering: .relaxed) },
                               sink: { line in lines.withLock { $0.append(line) } })
        var logger = Logger(label: "test") { _ in LineLogHandler(output: output) }
        logger.logLevel = .info
        logger[metadataKey: "instance"] = "VI_1"

        for _ in 0..<5 {
            logger.warning("lvsd: vrrp: VI_1: cannot send an advert", metadata: ["reason": "ENETUNREACH"])
        }
        for _ in 0..<4 { logger.notice("lvsd: health: Removing service 198.18.1.3:8080") }
        logger.debug("below the level")
        clock.store(31 * Self.second, ordering: .relaxed)
        logger.info("lvsd: reload: done")

        let advert = "<4>lvsd: vrrp: VI_1: cannot send an advert instance=VI_1 reason=ENETUNREACH\n"
        let notice = "<5>lvsd: health: Removing service 198.18.1.3:8080 instance=VI_1\n"
        let expected = [advert, advert, notice, notice, notice, notice,
                        "<4>lvsd: log: 3 similar messages suppressed in the last 30 s: lvsd: vrrp: VI_1: cannot send an advert suppressed=3\n",
                        "<6>lvsd: reload: done instance=VI_1\n"]
        #expect(lines.withLock { $0 } == expected)
    }
}
