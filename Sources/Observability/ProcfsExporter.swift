import Dispatch
import Foundation
import Logging

/// `--ipvs-procfs DIR`: keeps DIR/net/ip_vs and DIR/net/ip_vs_stats current (once a second)
/// in the kernel's text (`ProcNetIPVS`), for node_exporter `--collector.ipvs
/// --path.procfs=DIR` and anything else that reads kernel IPVS through procfs. Each file is
/// replaced whole (written beside it, then renamed), so a reader never sees half a file.
public final class ProcfsExporter: @unchecked Sendable {
    // Safety (@unchecked): `timer` is set in `start` and cancelled in `stop`, both on lvsd's
    // main thread; `write` runs only on the timer's serial queue.
    private let directory: String
    private let cache: ObservationCache
    private let logger: Logger
    private let interval: DispatchTimeInterval
    private let queue = DispatchQueue(label: "lvsd.procfs")
    private var timer: DispatchSourceTimer?
    private var lastError: String?

    public init(directory: String, cache: ObservationCache, logger: Logger, interval: DispatchTimeInterval = .seconds(1)) {
        self.directory = directory
        self.cache = cache
        self.logger = logger
        self.interval = interval
    }

    var netDirectory: String { (directory as NSString).appendingPathComponent("net") }

    /// Creates DIR/net, writes both files once (a failure throws: the operator asked for
    /// them), then keeps them current.
    public func start() throws(MonitorConfigError) {
        do {
            try FileManager.default.createDirectory(atPath: netDirectory, withIntermediateDirectories: true)
            try write(cache.currentBlocking())
        } catch {
            throw MonitorConfigError("--ipvs-procfs \(directory): cannot write \(netDirectory)/ip_vs: \(error.localizedDescription)")
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        self.timer = timer
        logger.info("lvsd: writing \(netDirectory)/ip_vs and ip_vs_stats every second (node_exporter --collector.ipvs --path.procfs=\(directory))")
    }

    public func stop() {
        timer?.cancel()
        timer = nil
    }

    private func tick() {
        do {
            try write(cache.currentBlocking())
            lastError = nil
        } catch {
            // Once per distinct failure, not once a second.
            let text = "\(error.localizedDescription)"
            if text != lastError { logger.warning("lvsd: warning: cannot update \(netDirectory)/ip_vs: \(text)") }
            lastError = text
        }
    }

    func write(_ observation: DirectorObservation) throws {
        try replace("ip_vs", with: ProcNetIPVS.services(observation.snapshot))
        try replace("ip_vs_stats", with: ProcNetIPVS.stats(totals: observation.totals, rates: observation.totalRates))
    }

    private func replace(_ name: String, with text: String) throws {
        let path = (netDirectory as NSString).appendingPathComponent(name)
        let temporary = path + ".lvsd-new"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw POSIXErrorCode(rawValue: errno).map { POSIXError($0) } ?? POSIXError(.EIO) }
    }
}
