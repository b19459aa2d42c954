import Foundation
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// The process families every Prometheus client exports (client_golang's process collector:
/// process_cpu_seconds_total, process_resident_memory_bytes, ...), read from /proc/self.
public struct ProcessSample: Sendable, Hashable {
    public var cpuSeconds: Double
    public var residentBytes: Int64
    public var virtualBytes: Int64
    public var openFileDescriptors: Int64
    public var maxFileDescriptors: Int64
    /// Unix time the process started.
    public var startTime: Double

    public init(cpuSeconds: Double, residentBytes: Int64, virtualBytes: Int64, openFileDescriptors: Int64,
                maxFileDescriptors: Int64, startTime: Double) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
        self.startTime = startTime
    }

    /// This process now; nil where /proc is not Linux's.
    public static func current() -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let boot = bootTime() else { return nil }
        return parse(stat: stat, bootTime: boot, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
                     pageSize: Int64(sysconf(Int32(_SC_PAGESIZE))), openFileDescriptors: openDescriptors(),
                     maxFileDescriptors: maxDescriptors())
    }

    /// /proc/PID/stat (proc(5)): fields after the parenthesised command name, which may
    /// itself hold spaces and parentheses, so the split starts after its last ')'.
    static func parse(stat: String, bootTime: Double, ticksPerSecond: Double, pageSize: Int64,
                      openFileDescriptors: Int64, maxFileDescriptors: Int64) -> ProcessSample? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        // fields[0] is field 3 (state).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ n: Int) -> Double? { n - 3 < fields.count ? Double(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
              let rss = field(24), ticksPerSecond > 0 else { return nil }
        return ProcessSample(cpuSeconds: (utime + stime) / ticksPerSecond, residentBytes: Int64(rss) &* pageSize,
                             virtualBytes: Int64(vsize), openFileDescriptors: openFileDescriptors,
                             maxFileDescriptors: maxFileDescriptors, startTime: bootTime + start / ticksPerSecond)
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private static func openDescriptors() -> Int64 {
        Int64((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
    }

    private static func maxDescriptors() -> Int64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Int64(clamping: limit.rlim_cur)
    }

    func register(in registry: PrometheusCollectorRegistry) {
        registry.counter(name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
            .increment(by: cpuSeconds)
        registry.gauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.").set(residentBytes)
        registry.gauge(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.").set(virtualBytes)
        registry.gauge(name: "process_open_fds", help: "Number of open file descriptors.").set(openFileDescriptors)
        registry.gauge(name: "process_max_fds", help: "Maximum number of open file descriptors.").set(maxFileDescriptors)
        registry.gauge(name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.")
            .set(startTime)
    }
}
