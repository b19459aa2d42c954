/// Holds back repetitive log lines: per key at most `burst` lines in a window of `interval`
/// nanoseconds from the key's first line; the lines past that are counted, and once the window
/// has closed the count is handed back (with the key) so the log can say "N similar messages
/// suppressed". The clock is the caller's (`now`), so tests walk time by hand.
///
/// Windows are checked when a line arrives, for any key: a burst that ends a quiet spell is
/// reported with the next line lvsd logs. At most `capacity` keys are tracked; a key beyond
/// them is let through unlimited rather than evicting another's count.
public struct LogRateLimiter<Key: Hashable> {
    public let burst: Int
    public let interval: UInt64
    public let capacity: Int

    private struct Window {
        var start: UInt64
        var admitted: Int
        var suppressed: Int
    }

    private var windows: [Key: Window] = [:]
    /// The earliest time a window may close; below it no window needs looking at.
    private var nextClose = UInt64.max

    public init(burst: Int, interval: UInt64, capacity: Int = 1024) {
        precondition(burst > 0 && interval > 0 && capacity > 0, "a rate limit needs a burst, an interval and room for keys")
        self.burst = burst
        self.interval = interval
        self.capacity = capacity
    }

    /// What to do with a line under `key` at `now`: whether to write it, and the counts of
    /// windows that closed (each key's suppressed lines; keys with nothing suppressed are left out).
    public mutating func admit(_ key: Key, now: UInt64) -> (write: Bool, closed: [(key: Key, suppressed: Int)]) {
        let closed = close(now: now)
        if var window = windows[key] {
            if window.admitted < burst {
                window.admitted += 1
                windows[key] = window
                return (true, closed)
            }
            window.suppressed += 1
            windows[key] = window
            return (false, closed)
        }
        if windows.count < capacity {
            windows[key] = Window(start: now, admitted: 1, suppressed: 0)
            nextClose = min(nextClose, end(of: now))
        }
        return (true, closed)
    }

    /// Ends every window older than `interval` at `now` and returns the suppressed counts.
    public mutating func close(now: UInt64) -> [(key: Key, suppressed: Int)] {
        guard now >= nextClose else { return [] }
        var closed: [(key: Key, suppressed: Int)] = []
        var earliest = UInt64.max
        for (key, window) in windows {
            if now &- window.start >= interval || now < window.start {
                if window.suppressed > 0 { closed.append((key, window.suppressed)) }
                windows[key] = nil
            } else {
                earliest = min(earliest, end(of: window.start))
            }
        }
        nextClose = earliest
        return closed
    }

    /// When a window opened at `start` closes; a clock near its end saturates.
    private func end(of start: UInt64) -> UInt64 {
        let (end, overflow) = start.addingReportingOverflow(interval)
        return overflow ? .max : end
    }

    /// Keys with an open window.
    public var tracked: Int { windows.count }
}
